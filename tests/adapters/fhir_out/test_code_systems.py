"""The CodeSystem resources built from code-systems.yaml are valid R4B and R5 and complete."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fhir.resources import get_fhir_model_class as r5_model
from fhir.resources.R4B import get_fhir_model_class as r4b_model

from service.adapters.fhir_out.code_systems import code_system_resource, code_system_searchset
from tests.adapters.fhir_out.assessment_factory import CANON, knowledge


def test_code_system_resource_shape() -> None:
    """URL under CANON/CodeSystem, active, complete, knowledge-base version, each concept defined."""
    definition = knowledge().code_systems.get("assessment-flag")
    assert definition is not None
    resource = code_system_resource(definition, canonical_base=CANON + "/", version="2026.11.0")
    assert resource["url"] == f"{CANON}/CodeSystem/assessment-flag"
    assert (resource["status"], resource["content"], resource["version"]) == (
        "active",
        "complete",
        "2026.11.0",
    )
    assert resource["count"] == len(resource["concept"]) == len(definition.concepts)
    assert all(c["definition"] for c in resource["concept"])


@pytest.mark.parametrize("model", [r4b_model, r5_model], ids=["R4B", "R5"])
def test_searchset_is_valid(model: Callable[[str], Any]) -> None:
    """The searchset of every CodeSystem validates with fhir.resources R4B and R5."""
    bundle = code_system_searchset(
        knowledge().code_systems, canonical_base=CANON, version="1", self_url="http://x"
    )
    model("Bundle").model_validate(bundle)
    ids = [e["resource"]["id"] for e in bundle["entry"]]
    assert bundle["total"] == len(ids) and {"response-category", "report-type", "care-suggestion"} <= set(ids)
