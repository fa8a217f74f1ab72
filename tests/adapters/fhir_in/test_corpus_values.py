"""Specific normalised values from specific public corpus files (shared/corpus, SOURCES.md)."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest

from service.adapters.fhir_in.references import Entry
from service.adapters.fhir_in.versions import FhirVersion
from service.domain.facts import (
    CancerCondition,
    HistologyFact,
    LesionObservation,
    PerformanceScale,
    PerformanceStatus,
    TherapyFact,
    VariantFact,
)
from service.knowledge import Knowledge
from tests.adapters.fhir_in.conftest import CORPUS, entries, errors, facts_of, load, run

MCODE = CORPUS / "mcode-ig-4.0.0"
GR = CORPUS / "genomics-reporting-3.0.0"
SYNTHEA = CORPUS / "synthea-smart-generated-sample-data-r4"


def test_mcode_tumour_size_in_cm_is_read_in_mm(knowledge: Knowledge) -> None:
    """mCODE TumorSize 2.5 cm is 25 mm exactly; without focus it has no lesion identity."""
    (lesion,) = facts_of(
        run(knowledge, entries(MCODE / "Observation-tumor-size-jenny-m.json")), LesionObservation
    )
    assert lesion.longest_diameter_mm == Decimal(25) and lesion.lesion_id is None
    assert lesion.timepoint_key == "date:2018-04-01"


def test_mcode_tumour_size_with_its_body_structure(knowledge: Knowledge) -> None:
    """With the mCODE Tumor posted alongside, the lesion id is its identifier and the site its location."""
    items = entries(
        MCODE / "Observation-tumor-size-pathology.json",
        MCODE / "BodyStructure-tumor-lobular-carcinoma-left-breast.json",
    )
    (lesion,) = facts_of(run(knowledge, items), LesionObservation)
    assert lesion.lesion_id == "http://radiology.hospital.example.org|Tumor 1234"
    assert (lesion.longest_diameter_mm, lesion.short_axis_mm, lesion.nodal) == (Decimal(12), None, False)
    assert [s.code for s in lesion.sites] == ["80248007"]


def test_nodal_site_short_axis_is_the_smaller_dimension(knowledge: Knowledge) -> None:
    """The same measurement on a mediastinal node (site code from the mCODE radiotherapy volume) is nodal."""
    items = entries(
        MCODE / "Observation-tumor-size-pathology.json",
        MCODE / "BodyStructure-tumor-lobular-carcinoma-left-breast.json",
    )
    items[1].resource["location"] = load(
        MCODE / "BodyStructure-jenny-m-chest-wall-lymph-nodes-treatment-volume.json"
    )["location"]
    (lesion,) = facts_of(run(knowledge, items), LesionObservation)
    assert lesion.nodal and lesion.short_axis_mm == Decimal(5)


@pytest.mark.parametrize(
    ("file", "scale", "score"),
    [
        ("Observation-ecog-performance-status-fully-active.json", PerformanceScale.ECOG, 0),
        ("Observation-ecog-performance-status-jenny-m.json", PerformanceScale.ECOG, 0),
        ("Observation-karnofsky-performance-status-normal-activity.json", PerformanceScale.KARNOFSKY, 90),
    ],
)
def test_performance_status(knowledge: Knowledge, file: str, scale: PerformanceScale, score: int) -> None:
    """mCODE ECOG and Karnofsky examples give their scores."""
    (status,) = facts_of(run(knowledge, entries(MCODE / file)), PerformanceStatus)
    assert (status.scale, status.score) == (scale, score)


def test_ecog_answer_code_without_integer(knowledge: Knowledge) -> None:
    """An ECOG sent only as the LA answer code (mCODE's LA9622-7) reads as 0."""
    resource = load(MCODE / "Observation-ecog-performance-status-fully-active.json")
    resource["valueCodeableConcept"] = resource.pop("interpretation")[0]
    del resource["valueInteger"]
    (status,) = facts_of(run(knowledge, [Entry(0, None, resource)]), PerformanceStatus)
    assert status.score == 0


def test_unknown_tumour_marker_is_a_warning(knowledge: Knowledge) -> None:
    """The mCODE EGF marker (LOINC 39004-7) is not read: one warning, no fact, no error."""
    result = run(knowledge, entries(MCODE / "Observation-tumor-marker-test-egf.json"))
    assert result.facts == [] and errors(result) == []
    assert [i.expression for i in result.issues] == ["Bundle.entry[0].resource.code"]


def test_stu2_variant_vaf_in_percent(knowledge: Knowledge) -> None:
    """mCODE's genomic bundle (STU2-era naming) gives BAP1 with VAF 57.4 % as 0.574."""
    result = run(knowledge, entries(MCODE / "Bundle-gx-genomic-bundle-adam-anyperson.json"))
    bap1 = next(v for v in facts_of(result, VariantFact) if v.gene == "BAP1")
    assert (bap1.allele_fraction, bap1.coding_hgvs, bap1.genomic_source) == (
        Decimal("0.574"),
        "NM_004656.4:c.1768C>T",
        "somatic",
    )


def test_stu3_variant_egfr_l858r(knowledge: Knowledge) -> None:
    """Genomics Reporting 3.0.0 EGFR L858R: gene from HGNC, HGVS strings, VAF without a UCUM code."""
    (variant,) = facts_of(run(knowledge, entries(GR / "Observation-EGFR-L858R-var.json")), VariantFact)
    assert (variant.gene, variant.hgnc_id) == ("EGFR", "HGNC:3236")
    assert (variant.protein_hgvs, variant.coding_hgvs) == ("NP_005219.2:p.Leu858Arg", "NM_005228.4:c.2573T>G")
    assert variant.genomic_hgvs == "NC_000007.13:g.55259515T>G" and variant.allele_fraction == Decimal(
        "0.066"
    )


def test_older_mcode_c_hgvs_in_genomic_change_component(knowledge: Knowledge) -> None:
    """mCODE puts a c.HGVS under 81290-9; it is read as the coding change."""
    file = MCODE / "Observation-genomic-variant-somatic-single-nucleotide.json"
    (variant,) = facts_of(run(knowledge, entries(file)), VariantFact)
    assert (variant.gene, variant.coding_hgvs, variant.genomic_hgvs) == (
        "STK11",
        "NM_000455.5:c.725G>A",
        None,
    )


def test_molecular_sequence_off_hotspot_is_a_warning(knowledge: Knowledge) -> None:
    """The R4 MolecularSequence example (chr9) is no NSCLC hotspot: no fact, one warning."""
    result = run(knowledge, entries(CORPUS / "fhir-core-r4" / "MolecularSequence-example.json"))
    assert result.facts == [] and [i.severity for i in result.issues] == ["warning"]


def test_molecular_sequence_on_the_l858r_hotspot(knowledge: Knowledge) -> None:
    """The same R4 shape at the corpus's L858R coordinate (NC_000007.13:g.55259515T>G) is EGFR L858R."""
    resource = copy.deepcopy(load(CORPUS / "fhir-core-r4" / "MolecularSequence-example.json"))
    resource["referenceSeq"]["referenceSeqId"]["coding"][0]["code"] = "NC_000007.13"
    resource["variant"] = [
        {"start": 55259514, "end": 55259515, "referenceAllele": "T", "observedAllele": "G"}
    ]
    (variant,) = facts_of(run(knowledge, [Entry(0, None, resource)]), VariantFact)
    assert (variant.gene, variant.protein_hgvs, variant.patient) == ("EGFR", "p.Leu858Arg", "Patient/example")


def test_molecular_sequence_is_not_read_in_r5(knowledge: Knowledge) -> None:
    """R5 MolecularSequence has no variant element; nothing is read and nothing reported."""
    result = run(
        knowledge, entries(CORPUS / "fhir-core-r5" / "MolecularSequence-example.json"), FhirVersion.R5
    )
    assert result.facts == [] and result.issues == []


@pytest.mark.parametrize(
    ("patient_file", "drugs"),
    [
        (
            "Gilbert_Wunsch_ab591293-dc94-4290-a29f-f35522273600.json",
            {("cisplatin", "platinum-chemotherapy"), ("paclitaxel", "taxane-chemotherapy")},
        ),
        (
            "Sherman_McGlynn_8ef2ef98-48c5-427e-80d4-5e8f30ac8bf5.json",
            {
                ("cisplatin", "platinum-chemotherapy"),
                ("etoposide", "topoisomerase-ii-inhibitor"),
                ("docetaxel", "taxane-chemotherapy"),
                ("leuprolide", "hormone-therapy"),
            },
        ),
    ],
)
def test_synthea_lung_cancer_medications(
    knowledge: Knowledge, patient_file: str, drugs: set[tuple[str, str]]
) -> None:
    """Synthea lung-cancer patients: chemotherapy maps to drugs and classes; other drugs are warnings, kept
    with the class ``unmapped`` so the line model can flag them (R4) without making a line of them."""
    result = run(knowledge, entries(SYNTHEA / patient_file))
    assert any(i.diagnostics == "medication not recognised; kept, not used" for i in result.issues)
    therapies = facts_of(result, TherapyFact)
    assert {(t.drug, t.drug_class) for t in therapies if t.drug_class != "unmapped"} == drugs
    assert any(t.drug_class == "unmapped" for t in therapies)
    assert errors(result) == []


def test_synthea_small_cell_lung_cancer(knowledge: Knowledge) -> None:
    """Sherman McGlynn's small cell carcinoma of lung is a small-cell cancer condition."""
    result = run(knowledge, entries(SYNTHEA / "Sherman_McGlynn_8ef2ef98-48c5-427e-80d4-5e8f30ac8bf5.json"))
    assert any(c.small_cell for c in facts_of(result, CancerCondition))


def test_mcode_nsclc_condition_with_morphology(knowledge: Knowledge) -> None:
    """The mCODE NSCLC condition's morphology extension (adenocarcinoma) gives its histology."""
    (condition,) = facts_of(
        run(knowledge, entries(MCODE / "Condition-primary-cancer-condition-nsclc.json")), CancerCondition
    )
    assert (condition.code.code, condition.histology, condition.small_cell) == (
        "254637007",
        "adenocarcinoma",
        False,
    )


def test_pathology_histology_observation(knowledge: Knowledge) -> None:
    """mCODE's histologic behaviour and type Observation (ICD-O-3, malformed 80463/3) reads as NSCLC."""
    file = MCODE / "Observation-histologic-behavior-and-type-non-small-cell.json"
    (histology,) = facts_of(run(knowledge, entries(file)), HistologyFact)
    assert (histology.histology, histology.small_cell) == ("nsclc", False)
