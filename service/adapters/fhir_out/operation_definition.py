"""The OperationDefinition of ``$evaluate`` (FHIR-CONTRACT.md section 2), which the CapabilityStatement names
and ``GET /fhir/OperationDefinition/evaluate`` serves (issue 15: every definition the statement names
resolves). R4 shape (https://hl7.org/fhir/R4/operationdefinition.html); the parameters are those
``service/adapters/fhir_in/evaluate_params.py`` reads."""

from __future__ import annotations

from typing import Any

from service import __version__
from service.adapters.fhir_in.evaluate_params import CRITERIA, LANGUAGES

# The operations this service defines itself, by id; the others the statement names are HL7's.
OWN_OPERATIONS = ("evaluate",)

_PARAMETERS: tuple[tuple[str, str, int, str, str], ...] = (  # name, use, max, type, documentation
    (
        "bundle",
        "in",
        1,
        "Bundle",
        "Data to evaluate, with what is stored for its patient",
    ),
    ("patient", "in", 1, "Reference", "The patient to evaluate from stored data (or with the bundle)"),
    ("asOf", "in", 1, "date", "Assess the latest imaging time point on or before this date"),
    ("criteria", "in", 1, "code", f"Response criteria: {', '.join(CRITERIA)} (default from the drug class)"),
    ("language", "in", 1, "code", f"Language of the texts: {', '.join(LANGUAGES)} (default en)"),
    ("persist", "in", 1, "boolean", "Store the posted data and the result (default false)"),
    ("presentedForm", "in", 1, "boolean", "Add the report's HTML rendering, presentedForm (default false)"),
    (
        "return",
        "out",
        1,
        "Bundle",
        "DiagnosticReport, Observations, CarePlan, Provenance, Device",
    ),
)


def operation_definition(operation_id: str, canonical_base: str) -> dict[str, Any] | None:
    """The definition of one of :data:`OWN_OPERATIONS`, or None."""
    if operation_id != "evaluate":
        return None
    return {
        "resourceType": "OperationDefinition",
        "id": "evaluate",
        "text": {
            "status": "generated",
            "div": '<div xmlns="http://www.w3.org/1999/xhtml"><p>$evaluate: tumour response and '
            "targeted-therapy resistance assessment, as decision support</p></div>",
        },
        "url": f"{canonical_base}/OperationDefinition/evaluate",
        "version": __version__,
        "name": "Evaluate",
        "title": "Response and resistance assessment",
        "status": "active",
        "kind": "operation",
        "description": "Evaluates tumour response (RECIST 1.1, iRECIST) and targeted-therapy resistance for "
        "one patient from a posted Bundle and/or the stored data; answers a collection Bundle whose report "
        "is preliminary and whose care plan is a proposal.",
        "code": "evaluate",
        "system": True,
        "type": False,
        "instance": False,
        "parameter": [_parameter(*row) for row in _PARAMETERS],
    }


def _parameter(name: str, use: str, most: int, kind: str, documentation: str) -> dict[str, Any]:
    return {
        "name": name,
        "use": use,
        "min": 1 if use == "out" else 0,
        "max": str(most),
        "documentation": documentation,
        "type": kind,
    }
