"""NSE and ProGRP read inbound (CLINICAL-RULES.md 0.2 K16; the codes are in mappings/markers.yaml)."""

# ruff: noqa: N802  # test names carry the rule IDs of CLINICAL-RULES.md (test_K16_...), as issue 5 asks

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

from service.adapters.fhir_in.references import Entry
from service.domain.facts import MarkerResult
from service.knowledge import Knowledge
from service.knowledge.markers import MarkerSettings
from tests.adapters.fhir_in.conftest import facts_of, run

UCUM = "http://unitsofmeasure.org"
LOCAL = "http://hospital.example.org/lab-codes"


def observation(system: str, code: str, value: float, unit: str, high: float | None) -> list[Entry]:
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": f"lab-{code}",
        "status": "final",
        "code": {"coding": [{"system": system, "code": code}]},
        "subject": {"reference": "Patient/p"},
        "effectiveDateTime": "2026-06-15T08:00:00Z",
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
    }
    if high is not None:
        resource["referenceRange"] = [{"high": {"value": high, "unit": unit, "system": UCUM, "code": unit}}]
    patient = {"resourceType": "Patient", "id": "p"}
    return [Entry(0, "urn:uuid:p", patient), Entry(1, "urn:uuid:o", resource)]


def test_K16_nse_loinc_read_with_the_labs_upper_limit(knowledge: Knowledge) -> None:
    """K16: NSE by LOINC 15060-7 in ug/L becomes an nse MarkerResult in ng/mL with referenceRange.high."""
    result = run(knowledge, observation("http://loinc.org", "15060-7", 22.0, "ug/L", 16.3))
    (nse,) = facts_of(result, MarkerResult)
    assert (nse.marker, nse.value, nse.unit, nse.upper_limit) == (
        "nse",
        Decimal("22.0"),
        "ng/mL",
        Decimal("16.3"),
    )


def test_K16_progrp_loinc_read_without_a_default_limit(knowledge: Knowledge) -> None:
    """K16: ProGRP by LOINC 96461-9 in pg/mL; without a reference range its limit stays unknown."""
    result = run(knowledge, observation("http://loinc.org", "96461-9", 95, "pg/mL", None))
    (progrp,) = facts_of(result, MarkerResult)
    assert (progrp.marker, progrp.unit, progrp.upper_limit) == ("progrp", "pg/mL", None)


def test_K16_a_sites_local_code_is_accepted(knowledge: Knowledge) -> None:
    """K16: a local NSE code added to markers.yaml's codes is read like the LOINC one."""
    data = knowledge.markers.model_dump()
    nse = data["neuroendocrine"][0]
    nse["codes"] = (*nse["codes"], {"system": LOCAL, "code": "NSE"})
    site = dataclasses.replace(knowledge, markers=MarkerSettings.model_validate(data))
    (fact,) = facts_of(run(site, observation(LOCAL, "NSE", 30, "ng/mL", 16.3)), MarkerResult)
    assert fact.marker == "nse" and knowledge.markers.marker(LOCAL, "NSE") is None
