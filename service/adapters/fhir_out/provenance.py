"""The Provenance of a result (FHIR-CONTRACT.md section 5: "records the service version, the criteria and
knowledge-base versions, and every input used") and the Device that stands for the service (section 4:
the report's performer)."""

from __future__ import annotations

from typing import Any

from service.adapters.fhir_out.result_context import SERVICE_NAME, ResultContext, references

VERSION_EXTENSIONS = {  # CANON-relative extension URLs
    "service": "StructureDefinition/service-version",
    "knowledge_base": "StructureDefinition/knowledge-base-version",
    "criteria": "StructureDefinition/response-criteria",
}


def provenance(ctx: ResultContext, targets: list[dict[str, Any]]) -> dict[str, Any]:
    """``targets`` are the resources made (report, observations, care plan); entities every input."""
    resource: dict[str, Any] = {
        "resourceType": "Provenance",
        "id": ctx.id_for("provenance"),
        "extension": _versions(ctx),
        "target": [{"reference": f"{r['resourceType']}/{r['id']}"} for r in targets],
        "recorded": ctx.issued.isoformat(),
        "agent": [{"who": ctx.device_reference}],
    }
    if inputs := references(ctx.assessment.evidence):
        resource["entity"] = [{"role": "source", "what": what} for what in inputs]
    return resource


def service_device(ctx: ResultContext) -> dict[str, Any]:
    """The service as a Device: its name and version (R4 ``deviceName``, R5 ``name``)."""
    device: dict[str, Any] = {
        "resourceType": "Device",
        "id": ctx.device_id,
        "identifier": [{"system": ctx.canon("device-id"), "value": SERVICE_NAME}],
        "status": "active",
        "version": [{"value": ctx.service_version}],
    }
    if ctx.r5:
        device["name"] = [{"value": SERVICE_NAME, "type": "user-friendly-name"}]
    else:
        device["deviceName"] = [{"name": SERVICE_NAME, "type": "user-friendly-name"}]
    return device


def _versions(ctx: ResultContext) -> list[dict[str, Any]]:
    a = ctx.assessment
    return [
        {"url": ctx.canon(VERSION_EXTENSIONS["service"]), "valueString": ctx.service_version},
        {"url": ctx.canon(VERSION_EXTENSIONS["knowledge_base"]), "valueString": a.knowledge_base_version},
        {
            "url": ctx.canon(VERSION_EXTENSIONS["criteria"]),
            "valueCoding": ctx.canon_coding("response-criteria", a.criteria.value),
        },
    ]
