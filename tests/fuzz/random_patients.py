"""Seeded random patients, as facts, for pinning the domain (``test_assessment_digest.py``).

The examples and golden cases are tidy; these are not. Each patient has a few lesions with roles sent or
not, nodes, lesions first seen after baseline, every lesion status, missing and split measurements, PET and
ultrasound studies, readers and scanners that change, one to three medication records (targeted, ICI,
chemotherapy, supportive, unknown; some stopped, so lines switch and the progression finder runs), CEA,
ECOG or Karnofsky, and plasma and tissue variants. Nothing here is clinically meaningful; the point is to
reach the rules' corners with the same inputs every run.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import NamedTuple

from service.domain.facts import (
    Fact,
    LesionObservation,
    MarkerResult,
    PerformanceScale,
    PerformanceStatus,
    SourceCode,
    SpecimenKind,
    TherapyFact,
    TherapyRecordKind,
    TimepointBasis,
    VariantFact,
    VariantPresence,
)
from service.domain.model import LesionRole, LesionStatus

SNOMED = "http://snomed.info/sct"
_SITES = (
    ("39607008", "lung"),
    ("10200004", "liver"),
    ("23451007", "adrenal gland"),
    ("12738006", "brain"),
    ("3120008", "malignant pleural effusion"),
    ("59441001", "lymph node"),
)
_DRUGS = (
    ("gefitinib", "egfr-tki-1st-generation"),
    ("osimertinib", "egfr-tki-3rd-generation"),
    ("pembrolizumab", "immune-checkpoint-inhibitor"),
    ("carboplatin", "platinum-chemotherapy"),
    ("dexamethasone", "corticosteroid"),
    ("mystery", "unmapped"),
)
_STATUSES = (
    (LesionStatus.PRESENT, 70),
    (LesionStatus.ABSENT, 6),
    (LesionStatus.TOO_SMALL_TO_MEASURE, 5),
    (LesionStatus.UNEQUIVOCAL_PROGRESSION, 5),
    (LesionStatus.EQUIVOCAL, 5),
    (LesionStatus.NOT_EVALUATED, 4),
    (LesionStatus.FURTHER_INCREASE, 3),
)
START = dt.date(2025, 3, 3)


def random_patients(seed: int, count: int) -> list[list[Fact]]:
    rng = random.Random(seed)  # noqa: S311  # a fixed test sequence, not a secret
    return [_patient(rng, f"Patient/rand-{index}") for index in range(count)]


def _patient(rng: random.Random, patient: str) -> list[Fact]:
    days = [rng.choice((-30, -10, -3, 0, 4))]
    for _ in range(rng.randint(1, 8)):
        days.append(days[-1] + rng.choice((21, 35, 42, 56, 63, 90)))
    dates = [START + dt.timedelta(days=d) for d in days]
    facts: list[Fact] = []
    roles_sent = rng.random() < 0.6
    for number in range(rng.randint(1, 6)):
        facts += _lesion(rng, patient, f"L{number}", dates, roles_sent)
    facts += _therapies(rng, patient, dates)
    facts += _markers(rng, patient, dates)
    facts += _performance(rng, patient, dates)
    facts += _variants(rng, patient, dates)
    return facts


class _Lesion(NamedTuple):
    patient: str
    name: str
    code: str
    text: str
    nodal: bool
    role: LesionRole | None


def _lesion(
    rng: random.Random, patient: str, name: str, dates: list[dt.date], roles_sent: bool
) -> list[LesionObservation]:
    first = 0 if rng.random() < 0.75 else rng.randrange(len(dates))
    code, text = rng.choice(_SITES)
    roles = (LesionRole.TARGET, LesionRole.TARGET, LesionRole.NON_TARGET, None)
    role = rng.choice(roles) if roles_sent else None
    lesion = _Lesion(patient, name, code, text, code == "59441001" or rng.random() < 0.1, role)
    size = rng.uniform(4, 60)
    observations = []
    for index in range(first, len(dates)):
        size = max(0.0, size * rng.uniform(0.55, 1.45) + rng.choice((0, 0, 0, -3, 2, 6)))
        if rng.random() < 0.08:
            continue  # not reported on this study
        status = rng.choices([s for s, _ in _STATUSES], [w for _, w in _STATUSES])[0]
        parts = 2 if rng.random() < 0.07 else 1
        for part in range(parts):
            observations.append(_observation(rng, lesion, part, dates[index], index, size / parts, status))
    return observations


_SIZED = (LesionStatus.PRESENT, LesionStatus.UNEQUIVOCAL_PROGRESSION, LesionStatus.FURTHER_INCREASE)


def _observation(
    rng: random.Random,
    lesion: _Lesion,
    part: int,
    day: dt.date,
    index: int,
    size: float,
    status: LesionStatus,
) -> LesionObservation:
    diameter = _mm(size) if status in _SIZED or rng.random() < 0.2 else None
    by_study = rng.random() < 0.9  # else grouped by date: a study and a date group may share a day
    who = lesion.patient[8:]
    return LesionObservation(
        patient=lesion.patient,
        source=f"Observation/{who}-{lesion.name}-{index}-{part}",
        lesion_id=f"urn:lesion|{who}-{lesion.name}" if rng.random() < 0.97 else None,
        body_structure=None,
        observed_on=day,
        observed_at=None,
        timepoint_key=f"study-{index}" if by_study else day.isoformat(),
        timepoint_basis=TimepointBasis.IMAGING_STUDY if by_study else TimepointBasis.CALENDAR_DATE,
        longest_diameter_mm=diameter,
        short_axis_mm=_mm(size * 0.7)
        if lesion.nodal and diameter is not None and rng.random() < 0.8
        else None,
        sites=(SourceCode(SNOMED, lesion.code, lesion.text),) if rng.random() < 0.8 else (),
        nodal=lesion.nodal,
        role=lesion.role,
        status=status,
        reader=rng.choice(("reader-1", "reader-1", "reader-2", None)),
        scanner=rng.choice(("scanner-a", "scanner-a", "scanner-b", None)),
        modality=rng.choices(("CT", "PT", "US", "MR", None, "XX"), (70, 8, 3, 8, 8, 3))[0],
        site_text=lesion.text if rng.random() < 0.5 else None,
    )


def _mm(size: float) -> Decimal:
    return Decimal(str(round(size, 1))) if size % 1 > 0.2 else Decimal(int(size))


def _therapies(rng: random.Random, patient: str, dates: list[dt.date]) -> list[TherapyFact]:
    records = []
    started = START
    for number in range(rng.randint(0, 3)):
        drug, drug_class = rng.choice(_DRUGS)
        ended = started + dt.timedelta(days=rng.choice((30, 90, 150, 400))) if rng.random() < 0.5 else None
        records.append(
            TherapyFact(
                patient=patient,
                source=f"MedicationRequest/{patient[8:]}-{number}",
                record=rng.choice((TherapyRecordKind.REQUEST, TherapyRecordKind.STATEMENT)),
                drug=drug,
                drug_class=drug_class,
                codes=(),
                status=rng.choice(("active", "completed", "stopped", "cancelled")) if ended else "active",
                started_on=started,
                ended_on=ended,
                authored_on=started,
                intent="order",
                groups=("urn:group|1",) if rng.random() < 0.2 else (),
            )
        )
        started = started + dt.timedelta(days=rng.choice((7, 60, 120, 200)))
        if started > dates[-1]:
            break
    return records


def _markers(rng: random.Random, patient: str, dates: list[dt.date]) -> list[MarkerResult]:
    value = rng.uniform(1, 12)
    results = []
    for index, day in enumerate(dates):
        if rng.random() < 0.6:
            value *= rng.uniform(0.6, 1.8)
            results.append(
                MarkerResult(
                    patient=patient,
                    source=f"Observation/{patient[8:]}-cea-{index}",
                    marker="cea",
                    value=_mm(value),
                    unit="ng/mL",
                    upper_limit=Decimal(5) if rng.random() < 0.5 else None,
                    observed_on=day - dt.timedelta(days=rng.choice((0, 2, 9))),
                    observed_at=None,
                )
            )
    return results


def _performance(rng: random.Random, patient: str, dates: list[dt.date]) -> list[PerformanceStatus]:
    results = []
    for index, day in enumerate(dates):
        if rng.random() < 0.5:
            karnofsky = rng.random() < 0.2
            results.append(
                PerformanceStatus(
                    patient=patient,
                    source=f"Observation/{patient[8:]}-ps-{index}",
                    scale=PerformanceScale.KARNOFSKY if karnofsky else PerformanceScale.ECOG,
                    score=rng.choice((90, 70, 50)) if karnofsky else rng.choice((0, 1, 1, 2, 3)),
                    observed_on=day,
                    observed_at=None,
                )
            )
    return results


def _variants(rng: random.Random, patient: str, dates: list[dt.date]) -> list[VariantFact]:
    found = []
    for index, day in enumerate(dates):
        if rng.random() < 0.35:
            plasma = rng.random() < 0.7
            change = rng.choice(("p.L858R", "p.T790M", "p.C797S"))
            found.append(
                VariantFact(
                    patient=patient,
                    source=f"Observation/{patient[8:]}-var-{index}",
                    presence=VariantPresence.PRESENT if rng.random() < 0.85 else VariantPresence.ABSENT,
                    gene="EGFR",
                    hgnc_id="HGNC:3236",
                    coding_hgvs=None,
                    protein_hgvs=change,
                    genomic_hgvs=None,
                    allele_fraction=Decimal(str(round(rng.uniform(0, 0.4), 3))),
                    copy_number=None,
                    genomic_source="somatic",
                    specimen_kind=SpecimenKind.PLASMA if plasma else SpecimenKind.TISSUE,
                    specimen=f"Specimen/{patient[8:]}-{index}",
                    observed_on=day,
                    observed_at=None,
                )
            )
    return found
