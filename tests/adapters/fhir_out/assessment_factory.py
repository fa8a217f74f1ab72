"""Hand-built Assessments for the FHIR output tests, fake report texts, and the committed knowledge."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from functools import cache
from typing import Any

import msgspec

from service.adapters.fhir_out.report import build_result_bundle
from service.adapters.fhir_out.summary import TEXT_CODES
from service.domain.assessment import (
    Assessment,
    Criteria,
    DiseaseStatus,
    EvidenceType,
    MarkerPoint,
    ProgressionStatus,
    SumPoint,
)
from service.domain.resistance import ResistanceFinding
from service.domain.resistance_kb import FindingCategory, SampleKind
from service.domain.response import (
    BestOverallResponse,
    NewLesions,
    NonTargetResponse,
    OverallResponse,
    ProgressionSource,
    SumOfDiameters,
    TargetResponse,
    TimePointResponse,
)
from service.domain.rules import Flag, Rule
from service.domain.suggestions import CareSuggestion, SuggestedAction
from service.domain.thresholds import ConfirmationMode
from service.knowledge import Knowledge, load_knowledge
from tests.conftest import REPO

CANON = "http://oncoresponse.org/fhir"
ISSUED = dt.datetime(2025, 3, 2, 9, 30, tzinfo=dt.UTC)
HOSTILE = '<script>alert("x")</script> & <b>'
DAY = dt.date(2025, 3, 1)


@cache
def knowledge() -> Knowledge:
    return load_knowledge(REPO / "mappings")


def fake_texts(code: str, language: str) -> str:
    """Report texts for any code in en and zh-CN, tagged so a test can tell the language."""
    punctuation = {
        "format.colon": (": ", "\uff1a"),  # full-width colon
        "format.list-separator": (", ", "、"),
        "format.sentence-end": (". ", "。"),
    }
    if code in punctuation:
        return punctuation[code][0 if language == "en" else 1]
    return f"[en] {code}" if language == "en" else f"【中文】{code}"


def strict_texts(code: str, language: str) -> str:
    """Texts that know only TEXT_CODES, as a texts file without coded displays would."""
    if code not in TEXT_CODES:
        raise KeyError(code)
    return fake_texts(code, language)


def build(
    assessment: Assessment, version: str = "4.0", language: str = "en", **kwargs: Any
) -> dict[str, Any]:
    """The result Bundle of an Assessment with the committed knowledge and the fake texts."""
    options: dict[str, Any] = {"texts": fake_texts, "issued": ISSUED, "canonical_base": CANON} | kwargs
    return build_result_bundle(
        assessment, knowledge=knowledge(), language=language, fhir_version=version, **options
    )


def resources(bundle: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == resource_type]


def met_finding() -> ResistanceFinding:
    """X6 high-level MET amplification in tissue (CLINICAL-RULES T38)."""
    action = SuggestedAction(
        CareSuggestion.ADD_TARGETED_AGENT, ("savolitinib", "tepotinib"), HOSTILE, (Rule.X6, Rule.A5)
    )
    return ResistanceFinding(
        rule=Rule.X6,
        mechanism="MET-AMP-HIGH",
        category=FindingCategory.BYPASS,
        actionable=True,
        actions=(action,),
        tier="II-B",
        evidence_basis="SAVANNAH phase II",
        citations=(30, 31, 32),
        note=None,
        supersedes=("MET-AMP",),
        alterations=("MET copy number 11",),
        samples=(SampleKind.TISSUE,),
        evidence=("Observation/met-cn", "Specimen/tissue-1"),
    )


def progression(**changes: Any) -> Assessment:
    """Osimertinib, PD at the third scan (67 → 45 → 60 mm), oligoprogression, MET-AMP-HIGH (T38, T44)."""
    finding = met_finding()
    point = TimePointResponse(
        date=DAY,
        study_id="ImagingStudy/ct-3",
        overall=OverallResponse.PD,
        target=TargetResponse.PD,
        non_target=NonTargetResponse.NON_CR_NON_PD,
        new_lesions=NewLesions.NONE,
        new_lesion_ids=(),
        equivocal_new_lesion_ids=(),
        sums=SumOfDiameters(Decimal(60), Decimal(67), Decimal(45), dt.date(2024, 12, 1), Decimal(45)),
        target_sizes=(("lesion-1", Decimal(12)), ("lesion-2", Decimal(15)), ("lesion-3", Decimal(33))),
        progression_sources=(ProgressionSource.TARGET_SUM,),
        progression_date=DAY,
        rules=(Rule.S1, Rule.T4, Rule.O1),
        flags=(),
    )
    best = BestOverallResponse(
        OverallResponse.PR, dt.date(2024, 12, 1), True, ConfirmationMode.NOT_REQUIRED, None, (Rule.B1,), ()
    )
    suggestions = (
        *finding.actions,
        SuggestedAction(CareSuggestion.LOCAL_ABLATIVE_THERAPY, (), None, (Rule.X20, Rule.A6)),
        SuggestedAction(CareSuggestion.CONTINUE_CURRENT_THERAPY, (), None, (Rule.A6,)),
        SuggestedAction(CareSuggestion.TISSUE_REBIOPSY, (), None, (Rule.A3,)),
    )
    assessment = Assessment(
        patient="Patient/p1",
        as_of=DAY,
        criteria=Criteria.RECIST_1_1,
        time_point=point,
        response_category="PD",
        best=best,
        best_category="PR",
        progression=ProgressionStatus.SUPPORTED,
        disease_status=DiseaseStatus.WORSENED,
        evidence_types=(EvidenceType.IMAGING, EvidenceType.TUMOR_MARKER),
        flags=(Flag.OLIGOPROGRESSION, Flag.LOCAL_THERAPY_AMENABILITY_UNKNOWN, Flag.CEA_RISE_SIGNIFICANT),
        findings=(finding,),
        suggestions=suggestions,
        rules=(Rule.T4, Rule.X6, Rule.A5, Rule.A6, Rule.A3),
        evidence=(
            "Observation/lesion-1-d3",
            "ImagingStudy/ct-3",
            "Observation/met-cn",
            "Specimen/tissue-1",
            "MedicationRequest/osimertinib",
            "Condition/nsclc",
            "Observation/cea-3",
        ),
        imaging_evidence=("Observation/lesion-1-d3", "ImagingStudy/ct-3"),
        sums=(
            SumPoint(dt.date(2024, 9, 1), Decimal(67), "SD"),
            SumPoint(dt.date(2024, 12, 1), Decimal(45), "PR"),
            SumPoint(DAY, Decimal(60), "PD"),
        ),
        cea=(
            MarkerPoint(dt.date(2024, 9, 1), Decimal("4.2"), Decimal(5), "Observation/cea-1"),
            MarkerPoint(DAY, Decimal("9.8"), Decimal(5), "Observation/cea-3"),
        ),
        ctdna=(),
        current_drug="osimertinib",
        drug_class="egfr-tki-3rd-generation",
        condition="Condition/nsclc",
        knowledge_base_version="2026.11.0",
    )
    return dataclasses.replace(assessment, **changes)


def stable_without_sums() -> Assessment:
    """Non-target disease only (Table 2), no findings, no condition, no drug: the minimal report."""
    base = progression()
    point = msgspec.structs.replace(
        base.time_point,
        overall=OverallResponse.NON_CR_NON_PD,
        target=TargetResponse.NONE,
        sums=None,
        progression_date=None,
        progression_sources=(),
    )
    return dataclasses.replace(
        base,
        time_point=point,
        response_category="NON-CR-NON-PD",
        best_category="NON-CR-NON-PD",
        progression=ProgressionStatus.NO_PROGRESSION,
        disease_status=DiseaseStatus.STABLE,
        evidence_types=(),
        flags=(),
        findings=(),
        suggestions=(SuggestedAction(CareSuggestion.CONTINUE_CURRENT_THERAPY, (), None, (Rule.A0,)),),
        sums=(),
        cea=(),
        current_drug=None,
        condition=None,
    )


def bare() -> Assessment:
    """A finding without alterations or evidence, no inputs, no drug; a suggested drug without RxNorm."""
    finding = dataclasses.replace(met_finding(), alterations=(), evidence=())
    action = SuggestedAction(CareSuggestion.ADD_TARGETED_AGENT, ("savolitinib",), None, (Rule.X6, Rule.A5))
    return progression(
        findings=(finding,),
        suggestions=(action,),
        evidence=(),
        imaging_evidence=(),
        current_drug=None,
        cea=(),
    )
