"""Every contract example (shared/examples/*.json) normalises to the facts its README describes."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pytest

from service.adapters.fhir_in.versions import FhirVersion
from service.domain.facts import (
    LesionObservation,
    LesionRole,
    LesionStatus,
    MarkerResult,
    PerformanceStatus,
    SpecimenKind,
    TherapyFact,
    TimepointBasis,
    VariantFact,
)
from service.knowledge import Knowledge
from tests.adapters.fhir_in.conftest import EXAMPLES, entries, errors, facts_of, run

EXAMPLE_FILES = sorted(EXAMPLES.glob("*.json"))


def _sums(knowledge: Knowledge, name: str, version: FhirVersion = FhirVersion.R4) -> list[Decimal]:
    """Sum of target longest diameters per time point, in time-point order."""
    result = run(knowledge, entries(EXAMPLES / name), version)
    by_point: dict[str, Decimal] = defaultdict(Decimal)
    for lesion in facts_of(result, LesionObservation):
        if lesion.role is LesionRole.TARGET:
            by_point[lesion.timepoint_key] += lesion.longest_diameter_mm
    return [by_point[key] for key in sorted(by_point)]


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_example_has_no_errors_and_one_patient(knowledge: Knowledge, path: object) -> None:
    """Each example is clean: no error issues, and every fact is about its one patient."""
    version = FhirVersion.R5 if "r5" in str(path) else FhirVersion.R4
    result = run(knowledge, entries(path), version)  # type: ignore[arg-type]
    assert errors(result) == []
    assert len(result.patients) == 1


@pytest.mark.parametrize(
    ("name", "version", "sums"),
    [
        ("seed-slightly-larger.json", FhirVersion.R4, ["75", "53", "57"]),
        ("seed-t790m-progression.json", FhirVersion.R4, ["75", "53", "57", "72"]),
        ("oligoprogression.json", FhirVersion.R4, ["67", "45", "60"]),
        ("r5-shapes.json", FhirVersion.R5, ["30", "32"]),
    ],
)
def test_target_sums_per_time_point(
    knowledge: Knowledge, name: str, version: FhirVersion, sums: list[str]
) -> None:
    """Target diameters group by ImagingStudy into the time points the README's story gives."""
    assert _sums(knowledge, name, version) == [Decimal(s) for s in sums]


def test_irecist_example_sums(knowledge: Knowledge) -> None:
    """The iRECIST story reads 50 → 40 → 50 → 56 mm."""
    assert _sums(knowledge, "irecist-iupd-icpd.json") == [Decimal(s) for s in ("50", "40", "50", "56")]


def test_lesion_observation_fields(knowledge: Knowledge) -> None:
    """A lesion carries its identifier, ImagingStudy time point, reader, scanner and modality."""
    result = run(knowledge, entries(EXAMPLES / "seed-t790m-progression.json"))
    first = facts_of(result, LesionObservation)[0]
    assert first.lesion_id == "urn:oncoresponse-test:lesion|A"
    assert first.timepoint_key == "ImagingStudy/p-e2-study-0"
    assert first.timepoint_basis is TimepointBasis.IMAGING_STUDY
    assert (first.reader, first.scanner, first.modality) == (
        "Practitioner/reader-1",
        "Device/scanner-1",
        "CT",
    )
    assert first.longest_diameter_mm == Decimal(30) and first.status is LesionStatus.PRESENT


def test_non_target_status_without_size(knowledge: Knowledge) -> None:
    """A lesion-assessment Observation gives a non-target lesion with a status and no size."""
    result = run(knowledge, entries(EXAMPLES / "oligoprogression.json"))
    statuses = [f for f in facts_of(result, LesionObservation) if f.role is LesionRole.NON_TARGET]
    assert len(statuses) == 3
    assert all(s.status is LesionStatus.PRESENT and s.longest_diameter_mm is None for s in statuses)


@pytest.mark.parametrize(
    ("name", "version", "drug", "drug_class"),
    [
        ("seed-slightly-larger.json", FhirVersion.R4, "gefitinib", "egfr-tki-1st-generation"),
        ("irecist-iupd-icpd.json", FhirVersion.R4, "pembrolizumab", "immune-checkpoint-inhibitor"),
        ("oligoprogression.json", FhirVersion.R4, "osimertinib", "egfr-tki-3rd-generation"),
        ("r5-shapes.json", FhirVersion.R5, "erlotinib", "egfr-tki-1st-generation"),
    ],
)
def test_current_drug_and_class(
    knowledge: Knowledge, name: str, version: FhirVersion, drug: str, drug_class: str
) -> None:
    """The drug maps to its class (R4 medicationCodeableConcept, R5 medication.concept)."""
    (therapy,) = facts_of(run(knowledge, entries(EXAMPLES / name), version), TherapyFact)
    assert (therapy.drug, therapy.drug_class) == (drug, drug_class)


def test_cea_values_and_upper_limit(knowledge: Knowledge) -> None:
    """CEA reads in ng/mL with the upper limit from referenceRange.high."""
    result = run(knowledge, entries(EXAMPLES / "seed-t790m-progression.json"))
    cea = facts_of(result, MarkerResult)
    assert [m.value for m in cea][-3:] == [Decimal("3.3"), Decimal("7.9"), Decimal("11.6")]
    assert {(m.marker, m.unit, m.upper_limit) for m in cea} == {("cea", "ng/mL", Decimal(5))}


def test_ecog_scores(knowledge: Knowledge) -> None:
    """ECOG valueInteger becomes a performance status on the ECOG scale."""
    result = run(knowledge, entries(EXAMPLES / "seed-t790m-progression.json"))
    assert [p.score for p in facts_of(result, PerformanceStatus)] == [1, 1]


def test_variants_with_specimen_kind(knowledge: Knowledge) -> None:
    """Tissue L858R at baseline, plasma T790M 3 % at progression."""
    result = run(knowledge, entries(EXAMPLES / "seed-t790m-progression.json"))
    variants = {(v.protein_hgvs, v.specimen_kind, v.allele_fraction) for v in facts_of(result, VariantFact)}
    assert ("NP_005219.2:p.Thr790Met", SpecimenKind.PLASMA, Decimal("0.03")) in variants
    assert ("NP_005219.2:p.Leu858Arg", SpecimenKind.TISSUE, Decimal("0.31")) in variants


def test_r5_sites_from_included_structure(knowledge: Knowledge) -> None:
    """R5 BodyStructure.includedStructure gives the lesion's site."""
    result = run(knowledge, entries(EXAMPLES / "r5-shapes.json"), FhirVersion.R5)
    sites = {s.code for lesion in facts_of(result, LesionObservation) for s in lesion.sites}
    assert sites == {"39607008", "3120008"}


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_facts_round_trip_through_the_store_codec(knowledge: Knowledge, path: object) -> None:
    """Every fact type is JSON-friendly: the store's codec encodes and decodes it unchanged."""
    from service.adapters.store.fact_codec import decode, encode

    version = FhirVersion.R5 if "r5" in str(path) else FhirVersion.R4
    facts = run(knowledge, entries(path), version).facts  # type: ignore[arg-type]
    assert [decode(encode(fact)) for fact in facts] == facts
