"""The variant fast path (plain_variants.py, issue 19) and the checked reading (genomics.py) agree: every
single edge change and seeded random mutations of variant Observations and their Specimens give the same
facts and issues, in the same order, with the fast path as without it (see test_plain_lesions.py)."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

from service.adapters.fhir_in.normalise import Normalised
from service.adapters.fhir_in.versions import FhirVersion
from service.knowledge import Knowledge
from tests.adapters.fhir_in.conftest import CANON
from tests.adapters.fhir_in.fast_path_agreement import agree_on_every_edge_change, agree_on_mutations, both
from tests.adapters.fhir_in.test_plain_lesions import _mutate

LOINC, SCT, UCUM = "http://loinc.org", "http://snomed.info/sct", "http://unitsofmeasure.org"


def _concept(system: str, code: str, display: str | None = None, text: str | None = None) -> dict[str, Any]:
    coding = {"system": system, "code": code} | ({"display": display} if display else {})
    return {"coding": [coding]} | ({"text": text} if text else {})


def _part(code: str, **value: Any) -> dict[str, Any]:
    return {"code": _concept(LOINC, code)} | value


def _resources() -> list[dict[str, Any]]:
    """Two variants: every component the reading knows (a gene the hotspots name and one they do not, the
    three HGVS forms, one with a code and a text, a c.HGVS sent as genomic with and without a c.HGVS, text
    and valueString both sent, a fraction in % and in 1, a copy number and ratio, a source class), a tissue
    and a plasma Specimen, a contained one."""
    tissue = {"resourceType": "Specimen", "id": "t", "type": _concept(SCT, "119376003")}
    plasma = {"resourceType": "Specimen", "id": "pl", "type": _concept(SCT, "119361006")}
    common = {"resourceType": "Observation", "status": "final", "subject": {"reference": "Patient/p"}}
    present = {"valueCodeableConcept": _concept(LOINC, "LA9633-4")}
    first = (
        common
        | present
        | {
            "id": "v1",
            "code": _concept(LOINC, "69548-6"),
            "effectiveDateTime": "2026-01-05T08:00:00Z",
            "specimen": {"reference": "Specimen/t"},
            "component": [
                _part("48018-6", valueCodeableConcept=_concept("urn:hgnc", "HGNC:3236", "EGFR")),
                _part("48005-3", valueCodeableConcept=_concept("urn:hgvs", "p.L858R", text="p.Leu858Arg")),
                _part("81290-9", valueString="NC_000007.14:c.2573T>G"),
                _part("81258-6", valueQuantity={"value": 31, "system": UCUM, "code": "%"}),
                _part("48002-0", valueCodeableConcept=_concept(LOINC, "LA6684-0")),
                _part("82155-3", valueQuantity={"value": 4}),
                {"code": _concept(f"{CANON}/CodeSystem/observation-type", "gene-centromere-ratio")}
                | {"valueQuantity": {"value": 2.5}},
            ],
        }
    )
    second = (
        common
        | present
        | {
            "id": "v2",
            "code": _concept(LOINC, "69548-6"),
            "effectiveDateTime": "2026-02-01",
            "specimen": {"reference": "#s"},
            "contained": [plasma | {"id": "s"}],
            "component": [
                _part("48018-6", valueCodeableConcept=_concept("urn:hgnc", "HGNC:999999", "ABC")),
                _part("48004-6", valueCodeableConcept={"text": "c.2369C>T"}, valueString="c.2369C>G"),
                _part("81290-9", valueCodeableConcept=_concept("urn:hgvs", "NC_000007.14:c.2369C>T")),
                _part("81258-6", valueQuantity={"value": 0.005, "system": UCUM, "code": "1"}),
            ],
        }
    )
    # strings for the mutations to swap in: dates no variant may have, a plasma specimen, an absent answer
    patient = {
        "resourceType": "Patient",
        "id": "p",
        "birthDate": "1850-01-01",
        "deceasedDateTime": "2999-01-01",
    }
    patient |= {"extension": [{"valueString": "LA9634-2"}, {"valueString": "Specimen/pl"}]}
    return [patient, tissue, plasma, first, second]


def _both(
    knowledge: Knowledge, resources: list[dict[str, Any]], version: FhirVersion, taken: Counter[bool]
) -> tuple[Normalised, Normalised]:
    return both(knowledge, resources, version, taken, ["read_plain_variant"])


def test_every_single_edge_change_agrees(knowledge: Knowledge) -> None:
    taken = agree_on_every_edge_change(
        _resources, lambda resources, taken: _both(knowledge, resources, FhirVersion.R4, taken)
    )
    assert taken[True] > 1000 and taken[False] > 500


def test_fast_path_and_checked_reading_agree_on_mutated_resources(knowledge: Knowledge) -> None:
    taken = agree_on_mutations(
        _resources,
        _mutate,
        lambda resources, taken: _both(knowledge, resources, FhirVersion.R4, taken),
        seed=19,
        cases=1500,
    )
    assert taken[True] > 1000 and taken[False] > 300


def test_unmutated_variants_are_read_by_the_fast_path(knowledge: Knowledge) -> None:
    taken: Counter[bool] = Counter()
    fast, checked = _both(knowledge, _resources(), FhirVersion.R4, taken)
    assert taken == Counter({True: 2}) and fast.issues == [] == checked.issues
    assert fast.facts == checked.facts
    v1, v2 = sorted(fast.facts, key=lambda f: f.source)
    assert (v1.gene, v1.coding_hgvs, v1.genomic_hgvs, v1.specimen_kind) == (
        "EGFR",
        "NC_000007.14:c.2573T>G",
        None,
        "tissue",
    )
    assert (v2.gene, v2.coding_hgvs, v2.specimen_kind, v2.specimen) == ("ABC", "c.2369C>T", "plasma", "#s")
    assert v2.genomic_hgvs == "NC_000007.14:c.2369C>T" and v2.allele_fraction == Decimal("0.005")
    assert v1.protein_hgvs == "p.L858R"  # the code before the text
