"""The CarePlan suggestion and the Provenance (FHIR-CONTRACT.md section 5), R4 and R5 shapes."""

from __future__ import annotations

from typing import Any

from service.adapters.fhir_out.report import ResultRenderer
from tests.adapters.fhir_out.assessment_factory import (
    CANON,
    ISSUED,
    bare,
    build,
    knowledge,
    progression,
    resources,
    stable_without_sums,
)

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC = "http://www.whocc.no/atc"


def plan_of(bundle: dict[str, Any]) -> dict[str, Any]:
    return resources(bundle, "CarePlan")[0]


def implication_id(bundle: dict[str, Any]) -> str:
    return next(
        o["id"]
        for o in resources(bundle, "Observation")
        if o["code"]["coding"][0]["code"] == "therapeutic-implication"
    )


def test_care_plan_frame_r4() -> None:
    """Draft proposal for the patient, addressing the Condition, supported by the report."""
    bundle = build(progression())
    plan, report = plan_of(bundle), resources(bundle, "DiagnosticReport")[0]
    assert (plan["status"], plan["intent"], plan["subject"]) == (
        "draft",
        "proposal",
        {"reference": "Patient/p1"},
    )
    assert plan["addresses"] == [{"reference": "Condition/nsclc"}]
    assert plan["supportingInfo"] == [{"reference": f"DiagnosticReport/{report['id']}"}]
    assert plan["created"] == "2025-03-02T09:30:00+00:00"


def test_one_r4_activity_per_suggestion() -> None:
    """R4 activity.detail: the care-suggestion code in rank order, MedicationRequest where a drug is named."""
    details = [a["detail"] for a in plan_of(build(progression()))["activity"]]
    assert [d["code"]["coding"][0]["code"] for d in details] == [
        "add-targeted-agent",
        "local-ablative-therapy",
        "continue-current-therapy",
        "tissue-rebiopsy",
    ]
    assert [d["kind"] for d in details] == [
        "MedicationRequest",
        "ServiceRequest",
        "MedicationRequest",
        "ServiceRequest",
    ]
    assert all(d["code"]["coding"][0]["system"] == f"{CANON}/CodeSystem/care-suggestion" for d in details)


def test_suggested_drugs_carry_rxnorm_and_text() -> None:
    """Savolitinib (no code) and tepotinib (RxNorm 2477103, ATC L01EX21) by text and codes (C9); continuing
    names the current drug."""
    details = [a["detail"] for a in plan_of(build(progression()))["activity"]]
    added = details[0]["productCodeableConcept"]
    assert added["text"] == "savolitinib, tepotinib"
    assert [(c["system"], c["code"]) for c in added["coding"]] == [(RXNORM, "2477103"), (ATC, "L01EX21")]
    assert details[2]["productCodeableConcept"]["coding"][0]["code"] == "1721560"


def test_activity_cites_rules_tier_and_knowledge_base() -> None:
    """Rule IDs in the rule-id extension and the description, with the tier and knowledge-base version."""
    bundle = build(progression())
    activity = plan_of(bundle)["activity"][0]
    rules = [
        e["valueCode"] for e in activity["extension"] if e["url"] == f"{CANON}/StructureDefinition/rule-id"
    ]
    assert rules == ["X6", "A5"]
    description = activity["detail"]["description"]
    assert all(part in description for part in ("X6 A5", "II-B", "SAVANNAH phase II", "2026.11.0"))


def test_activity_reasons_are_the_findings() -> None:
    """The matched resistance finding and the progression assessment are the reasons of the action."""
    bundle = build(progression())
    reasons = [r["reference"] for r in plan_of(bundle)["activity"][0]["detail"]["reasonReference"]]
    assert f"Observation/{implication_id(bundle)}" in reasons and len(reasons) == 2


def test_r5_activities_name_contained_requests() -> None:
    """R5: plannedActivityReference names a contained request; addresses is a CodeableReference."""
    plan = plan_of(build(progression(), "5.0"))
    contained = {f"#{r['id']}": r for r in plan["contained"]}
    named = [contained[a["plannedActivityReference"]["reference"]] for a in plan["activity"]]
    assert [r["resourceType"] for r in named] == [
        "MedicationRequest",
        "ServiceRequest",
        "MedicationRequest",
        "ServiceRequest",
    ]
    assert named[0]["medication"]["concept"]["text"] == "savolitinib, tepotinib"
    assert named[1]["code"]["concept"]["coding"][0]["code"] == "local-ablative-therapy"
    assert all((r["status"], r["intent"]) == ("draft", "proposal") for r in named)
    assert plan["addresses"] == [{"reference": {"reference": "Condition/nsclc"}}]


def test_no_condition_no_addresses() -> None:
    """Without a known cancer Condition the CarePlan addresses nothing."""
    assert "addresses" not in plan_of(build(stable_without_sums()))


def test_provenance_targets_agent_and_inputs() -> None:
    """Targets: report, observations, care plan; agent: the service Device; entities: every input."""
    bundle = build(progression())
    provenance = resources(bundle, "Provenance")[0]
    made = [e["resource"] for e in bundle["entry"]][:7]
    assert [t["reference"] for t in provenance["target"]] == [f"{r['resourceType']}/{r['id']}" for r in made]
    assert provenance["agent"][0]["who"]["reference"] == f"Device/{resources(bundle, 'Device')[0]['id']}"
    assert [e["what"]["reference"] for e in provenance["entity"]] == list(progression().evidence)
    assert {e["role"] for e in provenance["entity"]} == {"source"}


def test_provenance_records_versions_and_criteria() -> None:
    """Service version, knowledge-base version and criteria, as extensions."""
    provenance = resources(build(progression()), "Provenance")[0]
    by_url = {e["url"].removeprefix(f"{CANON}/StructureDefinition/"): e for e in provenance["extension"]}
    assert by_url["knowledge-base-version"]["valueString"] == "2026.11.0"
    assert by_url["response-criteria"]["valueCoding"]["code"] == "recist-1.1"
    assert by_url["service-version"]["valueString"]


def test_bare_assessment_has_no_empty_elements() -> None:
    """No inputs, no drug, a drug without RxNorm: elements are left out rather than written empty."""
    bundle = build(bare())
    detail = plan_of(bundle)["activity"][0]["detail"]
    assert detail["productCodeableConcept"] == {"text": "savolitinib"}
    assert "entity" not in resources(bundle, "Provenance")[0]
    observations = resources(bundle, "Observation")
    # only best response and progression derive from another result; the others have no input to name
    assert ["derivedFrom" in o for o in observations] == [False, True, True, False, False]
    implication = observations[-1]
    assert "note" not in implication
    assert len(implication["component"]) == 3  # no medication-assessed without a current drug


def test_result_renderer_uses_the_knowledge_texts() -> None:
    """The renderer the container holds builds the same Bundle with the committed texts."""
    renderer = ResultRenderer(knowledge(), CANON)
    bundle = renderer(progression(), "en", "4.0", ISSUED)
    assert bundle == build(progression(), texts=knowledge().texts.text)
