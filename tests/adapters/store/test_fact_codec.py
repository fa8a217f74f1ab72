"""Facts round-trip through the store's JSON exactly, in the format the rows have always had: rows written by
the dataclass codec before issue 19 decode, and a fact is encoded to the same dict and bytes as then."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import msgspec
import orjson
import pytest

from service.adapters.store.fact_codec import decode, decode_rows, encode
from service.domain.facts import (
    FACT_CLASSES,
    CancerCondition,
    Fact,
    HistologyFact,
    LesionObservation,
    MarkerResult,
    MolecularCall,
    MrdResult,
    PerformanceScale,
    PerformanceStatus,
    SourceCode,
    SpecimenKind,
    TherapyFact,
    TherapyRecordKind,
    TimepointBasis,
    TumourFractionResult,
    VariantFact,
    VariantPresence,
)
from service.domain.model import LesionRole, LesionStatus

_AT = datetime(2025, 3, 4, 9, 30, 15, 250000, tzinfo=UTC)
_DAY = date(2025, 3, 4)

# One fact of each class, with the rows the dataclass codec wrote for it (orjson.dumps of its encode()),
# copied literally: UTC written "+00:00", other offsets, microseconds, Decimals as written, None, nested
# codes without a kind, tuples as lists, text outside ASCII.
ROWS: list[tuple[Fact, str]] = [
    (
        LesionObservation(
            patient="Patient/p1", source="Observation/l1", lesion_id="urn:lesion|T1", body_structure=None,
            observed_on=_DAY, observed_at=_AT, timepoint_key="ImagingStudy/s1",
            timepoint_basis=TimepointBasis.IMAGING_STUDY, longest_diameter_mm=Decimal("21.50"),
            short_axis_mm=None,
            sites=(SourceCode("http://snomed.info/sct", "39607008", "Lung"), SourceCode("urn:x", "y")),
            nodal=False, role=LesionRole.TARGET, status=LesionStatus.PRESENT, reader="Practitioner/r1",
            scanner=None, modality="CT", site_text="右肺上叶",
        ),
        '{"kind":"LesionObservation","patient":"Patient/p1","source":"Observation/l1","lesion_id":"urn:lesion|T1",'
        '"body_structure":null,"observed_on":"2025-03-04","observed_at":"2025-03-04T09:30:15.250000+00:00",'
        '"timepoint_key":"ImagingStudy/s1","timepoint_basis":"imaging-study","longest_diameter_mm":"21.50",'
        '"short_axis_mm":null,"sites":[{"system":"http://snomed.info/sct","code":"39607008","display":"Lung"},'
        '{"system":"urn:x","code":"y","display":null}],"nodal":false,"role":"target","status":"present",'
        '"reader":"Practitioner/r1","scanner":null,"modality":"CT","site_text":"右肺上叶"}',
    ),
    (
        TherapyFact(
            patient="Patient/p1", source="MedicationRequest/m1", record=TherapyRecordKind.REQUEST,
            drug="osimertinib", drug_class="egfr-tki-3rd-generation",
            codes=(SourceCode("http://www.nlm.nih.gov/research/umls/rxnorm", "1721560"),), status="active",
            started_on=date(2025, 1, 2), ended_on=None, authored_on=date(2024, 12, 30), intent="order",
            groups=("urn:g|1", "CarePlan/c1"),
        ),
        '{"kind":"TherapyFact","patient":"Patient/p1","source":"MedicationRequest/m1","record":"request",'
        '"drug":"osimertinib","drug_class":"egfr-tki-3rd-generation","codes":[{"system":'
        '"http://www.nlm.nih.gov/research/umls/rxnorm","code":"1721560","display":null}],"status":"active",'
        '"started_on":"2025-01-02","ended_on":null,"authored_on":"2024-12-30","intent":"order",'
        '"groups":["urn:g|1","CarePlan/c1"]}',
    ),
    (
        CancerCondition(
            patient="Patient/p1", source="Condition/c1",
            code=SourceCode("http://snomed.info/sct", "254637007", "NSCLC"), histology="adenocarcinoma",
            small_cell=False, clinical_status="active", onset_on=None,
        ),
        '{"kind":"CancerCondition","patient":"Patient/p1","source":"Condition/c1","code":{"system":'
        '"http://snomed.info/sct","code":"254637007","display":"NSCLC"},"histology":"adenocarcinoma",'
        '"small_cell":false,"clinical_status":"active","onset_on":null}',
    ),
    (
        HistologyFact(
            patient="Patient/p1", source="Observation/h1", histology="small-cell", small_cell=True,
            code=SourceCode("http://snomed.info/sct", "254632001"), observed_on=date(2025, 6, 1),
        ),
        '{"kind":"HistologyFact","patient":"Patient/p1","source":"Observation/h1","histology":"small-cell",'
        '"small_cell":true,"code":{"system":"http://snomed.info/sct","code":"254632001","display":null},'
        '"observed_on":"2025-06-01"}',
    ),
    (
        VariantFact(
            patient="Patient/p1", source="Observation/v1", presence=VariantPresence.PRESENT, gene="EGFR",
            hgnc_id="HGNC:3236", coding_hgvs="c.2369C>T", protein_hgvs="p.Thr790Met", genomic_hgvs=None,
            allele_fraction=Decimal("0.012"), copy_number=None, genomic_source="somatic",
            specimen_kind=SpecimenKind.PLASMA, specimen="Specimen/s1", observed_on=_DAY,
            observed_at=datetime(2025, 3, 4, 17, 30, tzinfo=timezone(timedelta(hours=8))),
            copy_ratio=Decimal("2.2"),
        ),
        '{"kind":"VariantFact","patient":"Patient/p1","source":"Observation/v1","presence":"present",'
        '"gene":"EGFR","hgnc_id":"HGNC:3236","coding_hgvs":"c.2369C>T","protein_hgvs":"p.Thr790Met",'
        '"genomic_hgvs":null,"allele_fraction":"0.012","copy_number":null,"genomic_source":"somatic",'
        '"specimen_kind":"plasma","specimen":"Specimen/s1","observed_on":"2025-03-04",'
        '"observed_at":"2025-03-04T17:30:00+08:00","copy_ratio":"2.2"}',
    ),
    (
        MarkerResult(
            patient="Patient/p1", source="Observation/k1", marker="cea", value=Decimal("12.0"), unit="ng/mL",
            upper_limit=Decimal(5), observed_on=_DAY, observed_at=None,
        ),
        '{"kind":"MarkerResult","patient":"Patient/p1","source":"Observation/k1","marker":"cea","value":"12.0",'
        '"unit":"ng/mL","upper_limit":"5","observed_on":"2025-03-04","observed_at":null}',
    ),
    (
        PerformanceStatus(
            patient="Patient/p1", source="Observation/ps1", scale=PerformanceScale.KARNOFSKY, score=70,
            observed_on=_DAY, observed_at=_AT,
        ),
        '{"kind":"PerformanceStatus","patient":"Patient/p1","source":"Observation/ps1","scale":"karnofsky",'
        '"score":70,"observed_on":"2025-03-04","observed_at":"2025-03-04T09:30:15.250000+00:00"}',
    ),
    (
        MrdResult(
            patient="Patient/p1", source="Observation/mrd1", call=MolecularCall.POSITIVE,
            value=Decimal("0.0001"), unit="MTM/mL", observed_on=_DAY, observed_at=None,
        ),
        '{"kind":"MrdResult","patient":"Patient/p1","source":"Observation/mrd1","call":"positive",'
        '"value":"0.0001","unit":"MTM/mL","observed_on":"2025-03-04","observed_at":null}',
    ),
    (
        TumourFractionResult(
            patient="Patient/p1", source="Observation/tf1", fraction=Decimal("0.035"), observed_on=_DAY,
            observed_at=datetime(2025, 3, 4, 8, tzinfo=timezone(timedelta(hours=-5))),
        ),
        '{"kind":"TumourFractionResult","patient":"Patient/p1","source":"Observation/tf1","fraction":"0.035",'
        '"observed_on":"2025-03-04","observed_at":"2025-03-04T08:00:00-05:00"}',
    ),
]  # fmt: skip


def test_every_fact_class_has_a_stored_row_here() -> None:
    assert sorted(type(fact).__name__ for fact, _ in ROWS) == sorted(FACT_CLASSES)


@pytest.mark.parametrize(("fact", "row"), ROWS, ids=[type(fact).__name__ for fact, _ in ROWS])
def test_a_row_of_the_dataclass_codec_decodes_and_is_written_again_alike(fact: Fact, row: str) -> None:
    """The stored row decodes to the fact, parsed first (``decode``) or as text (``decode_rows``); the fact
    encodes to the same dict and, through orjson as the writer stores it, to the same bytes."""
    assert decode(orjson.loads(row)) == fact
    assert decode_rows([row]) == [fact]
    assert encode(fact) == orjson.loads(row)
    assert orjson.dumps(encode(fact)).decode() == row


def test_the_rows_of_a_patient_decode_in_order_and_typed() -> None:
    """Several rows in one pass come back in their order, each of its own class, with Decimals exact and
    datetimes with their offsets."""
    facts = decode_rows([row for _, row in ROWS])
    assert facts == [fact for fact, _ in ROWS]
    lesion, variant = facts[0], facts[4]
    assert isinstance(lesion, LesionObservation) and lesion.longest_diameter_mm == Decimal("21.50")
    assert str(lesion.longest_diameter_mm) == "21.50" and isinstance(lesion.sites[0], SourceCode)
    assert isinstance(variant, VariantFact) and variant.observed_at is not None
    assert variant.observed_at.utcoffset() == timedelta(hours=8)
    assert decode_rows([]) == []


def test_a_row_from_before_a_field_with_a_default_was_added_decodes_with_the_default() -> None:
    """Fields with a default came later (site_text, intent, groups): rows without them read as the default;
    a key the fact does not have is ignored, as the dataclass codec ignored it."""
    lesion, therapy = ROWS[0][1], ROWS[1][1]
    old_lesion = orjson.loads(lesion)
    del old_lesion["site_text"]
    old_therapy = {k: v for k, v in orjson.loads(therapy).items() if k not in ("intent", "groups")}
    old_therapy["retired"] = "x"
    decoded = decode_rows([orjson.dumps(old_lesion).decode(), orjson.dumps(old_therapy).decode()])
    assert isinstance(decoded[0], LesionObservation) and decoded[0].site_text is None
    assert isinstance(decoded[1], TherapyFact) and (decoded[1].intent, decoded[1].groups) == (None, ())
    assert decode(old_therapy) == decoded[1]


def test_facts_are_values() -> None:
    """Equal by value, hashable, immutable: a fact can be a set member or a key, as with the dataclasses."""
    fact, row = ROWS[4]
    again = decode(orjson.loads(row))
    assert again == fact and hash(again) == hash(fact) and len({fact, again}) == 1
    assert again != msgspec.structs.replace(fact, gene="KRAS")
    with pytest.raises(AttributeError):
        fact.gene = "KRAS"  # type: ignore[misc]


@pytest.mark.parametrize(
    "change", [{"presence": "maybe"}, {"allele_fraction": "a lot"}, {"observed_on": "2025-02-30"}]
)
def test_a_payload_that_is_no_fact_is_refused(change: dict[str, str]) -> None:
    """An unknown enum value or a malformed Decimal or date is an error, never a guess."""
    payload = {**orjson.loads(ROWS[4][1]), **change}
    with pytest.raises(msgspec.ValidationError):
        decode(payload)
    with pytest.raises(msgspec.ValidationError):
        decode_rows([orjson.dumps(payload).decode()])


def test_a_payload_of_an_unknown_kind_is_refused() -> None:
    payload = {**orjson.loads(ROWS[4][1]), "kind": "Unknown"}
    with pytest.raises(KeyError):
        decode(payload)
    with pytest.raises(msgspec.ValidationError, match="Unknown"):
        decode_rows([orjson.dumps(payload).decode()])
