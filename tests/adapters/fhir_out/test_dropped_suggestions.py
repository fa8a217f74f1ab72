"""CLINICAL-RULES.md 0.2 section 6 step 6: a suggestion the coherence rules dropped is listed in the
Provenance with the rule that dropped it (never silently); C9: an activity states its evidence tier."""

# ruff: noqa: N802  # test names carry the rule IDs of CLINICAL-RULES.md (test_C9_...), as issue 14 asks

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from fhir.resources import get_fhir_model_class as r5_model
from fhir.resources.R4B import get_fhir_model_class as r4b_model

from service.domain.coherence import DroppedSuggestion
from service.domain.rules import Rule
from service.domain.suggestions import CareSuggestion, SuggestedAction
from tests.adapters.fhir_out.assessment_factory import CANON, build, progression, resources

CONTINUE = SuggestedAction(CareSuggestion.CONTINUE_CURRENT_THERAPY, (), None, (Rule.A6,))
REGIMEN = SuggestedAction(
    CareSuggestion.SWITCH_THERAPY, ("carboplatin", "pemetrexed"), None, (Rule.X27, Rule.A12)
)
DROPPED = (DroppedSuggestion(CONTINUE, Rule.C2), DroppedSuggestion(REGIMEN, Rule.C7))


def provenance_of(version: str = "4.0", language: str = "en") -> dict[str, Any]:
    assessment = dataclasses.replace(progression(), dropped=DROPPED)
    return resources(build(assessment, version, language), "Provenance")[0]


def removals(version: str = "4.0", language: str = "en") -> list[dict[str, Any]]:
    return [e for e in provenance_of(version, language)["entity"] if e["role"] == "removal"]


@pytest.mark.parametrize("version", ["4.0", "5.0"])
def test_step6_each_dropped_suggestion_is_a_removal_entity(version: str) -> None:
    """One removal entity per dropped suggestion: code, drugs and rule in its extension; valid R4B and R5."""
    found = removals(version)
    extension = found[1]["extension"][0]
    assert extension["url"] == f"{CANON}/StructureDefinition/dropped-suggestion"
    code, *rest = extension["extension"]
    assert (code["url"], code["valueCoding"]["code"]) == ("code", "switch-therapy")
    assert code["valueCoding"]["system"] == f"{CANON}/CodeSystem/care-suggestion"
    assert rest == [
        {"url": "rule", "valueCode": "C7"},
        {"url": "drug", "valueString": "carboplatin"},
        {"url": "drug", "valueString": "pemetrexed"},
    ]
    assert [e["extension"][0]["extension"][1]["valueCode"] for e in found] == ["C2", "C7"]
    model = r5_model if version == "5.0" else r4b_model
    model("Provenance").model_validate(provenance_of(version))


def test_step6_the_removal_says_what_and_why_in_the_language() -> None:
    """English: the suggestion in words and the rule; zh-CN: full-width stop and colon (Z1)."""
    assert (
        removals()[0]["what"]["display"]
        == "[en] care-suggestion.continue-current-therapy. [en] label.rules: C2"
    )
    chinese = removals(language="zh-CN")[1]["what"]["display"]
    assert chinese.endswith("。【中文】label.rules\uff1aC7")


def test_step6_nothing_dropped_no_removal() -> None:
    """Without dropped suggestions the entities are the inputs only."""
    provenance = resources(build(progression()), "Provenance")[0]
    assert {e["role"] for e in provenance["entity"]} == {"source"}


@pytest.mark.parametrize(
    ("tier", "language", "expected"),
    [("I-A", "en", "label.evidence-tier: I-A"), ("I-A", "zh-CN", "I-A级"), ("standard-of-care", "en", None)],
)
def test_C9_a_standard_option_states_its_own_tier(tier: str, language: str, expected: str | None) -> None:
    """A12 regimens have no finding to take a tier from: the action's own tier is stated (standard of care
    is already said by the evidence label)."""
    regimen = dataclasses.replace(REGIMEN, tier=tier, label="standard-of-care")
    bundle = build(dataclasses.replace(progression(), suggestions=(regimen,), findings=()), language=language)
    description = resources(bundle, "CarePlan")[0]["activity"][0]["detail"]["description"]
    if expected is None:
        assert "label.evidence-tier" not in description
    else:
        assert expected in description
