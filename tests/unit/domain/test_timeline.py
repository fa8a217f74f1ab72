"""Facts → the inputs of an assessment: the imaging timeline of the current line (R10)."""

# ruff: noqa: N802  # test names carry the rule IDs of CLINICAL-RULES.md (test_R10_...), as issue 14 asks

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from service.domain import facts as f
from service.domain.model import LesionStatus, Modality
from service.domain.rules import Flag
from service.domain.timeline import PatientFacts, imaging_timeline, line_timeline

D = dt.date


def therapy(drug: str, started: dt.date | None) -> f.TherapyFact:
    kind = f.TherapyRecordKind.REQUEST
    return f.TherapyFact(
        "Patient/p", f"MedicationRequest/{drug}", kind, drug, "cls", (), "active", started, None, None
    )


def lesion(day: dt.date, mm: str, key: str = "tp", lesion_id: str | None = "L1", modality: str | None = "CT"):  # type: ignore[no-untyped-def]
    return f.LesionObservation(
        "Patient/p",
        f"Observation/{lesion_id}-{day}",
        lesion_id,
        None,
        day,
        None,
        f"{key}-{day}",
        f.TimepointBasis.IMAGING_STUDY,
        Decimal(mm),
        None,
        (f.SourceCode("http://snomed.info/sct", "39607008"),),
        False,
        None,
        LesionStatus.PRESENT,
        None,
        None,
        modality,
    )


def test_baseline_is_the_last_scan_on_or_before_the_start() -> None:
    """Scans before the pre-treatment baseline are left out; without a start the first scan is baseline."""
    scans = [lesion(D(2025, 11, 1), "40"), lesion(D(2025, 12, 28), "30"), lesion(D(2026, 3, 1), "20")]
    with_start = imaging_timeline(scans, D(2026, 1, 5))
    without = imaging_timeline(scans, None)
    assert with_start is not None and [tp.date for tp in with_start.ordered] == [
        D(2025, 12, 28),
        D(2026, 3, 1),
    ]
    assert without is not None and without.ordered[0].date == D(2025, 11, 1)
    assert without.treatment_start == D(2025, 11, 1)


def test_no_lesion_observations_means_no_timeline() -> None:
    """Nothing to evaluate without imaging."""
    assert imaging_timeline([], D(2026, 1, 1)) is None


@pytest.mark.parametrize(("code", "modality"), [("CT", Modality.CT), ("XA", Modality.OTHER), (None, None)])
def test_modality_codes(code: str | None, modality: Modality | None) -> None:
    """DICOM modality codes the model knows are kept; others are OTHER; none stays none."""
    timeline = imaging_timeline([lesion(D(2026, 1, 1), "10", modality=code)], None)
    assert timeline is not None and timeline.ordered[0].modality is modality


def test_lesion_without_identifier_is_identified_by_its_observation() -> None:
    """A lesion with no identifier and no BodyStructure is tracked as its own observation."""
    timeline = imaging_timeline([lesion(D(2026, 1, 1), "10", lesion_id=None)], None)
    assert timeline is not None and timeline.lesions[0].lesion_id == "Observation/None-2026-01-01"


def test_facts_are_cut_at_the_assessment_date() -> None:
    """up_to keeps what is dated on or before the date; latest_date is the newest fact's date."""
    facts = PatientFacts.of([lesion(D(2026, 1, 1), "10"), lesion(D(2026, 6, 1), "12"), therapy("x", None)])
    assert facts.latest_date == D(2026, 6, 1)
    cut = facts.up_to(D(2026, 3, 1))
    assert [o.observed_on for o in cut.lesions] == [D(2026, 1, 1)] and len(cut.therapies) == 1
    assert PatientFacts().latest_date is None


def test_latest_date_is_the_newest_of_every_dated_fact_whatever_the_order_given() -> None:
    """The facts are sorted by kind and date (undated first), so the newest of each kind is read from the end:
    the same as the newest of all, undated therapies and a fact of the first day of the calendar included."""
    days = [D(2026, 6, 1), D(2026, 1, 1), D(2025, 3, 1)]
    therapies = [therapy("a", None), therapy("b", days[2]), therapy("c", None)]
    facts = [lesion(day, "10") for day in days] + therapies
    for order in (facts, facts[::-1], facts[2:] + facts[:2]):
        assert PatientFacts.of(order).latest_date == D(2026, 6, 1)
    for order in (therapies, therapies[::-1]):
        assert PatientFacts.of(order).latest_date == D(2025, 3, 1)
    assert PatientFacts.of([therapy("a", None), therapy("m", D.min), therapy("z", None)]).latest_date == D.min
    assert PatientFacts.of([therapy("a", None)]).latest_date is None


def test_R10_baseline_more_than_28_days_before_the_start_is_flagged() -> None:
    """The latest scan before the line is the baseline even when older than 4 weeks, flagged."""
    found = line_timeline([lesion(D(2025, 11, 1), "40"), lesion(D(2026, 3, 1), "20")], D(2026, 1, 5))
    assert found.timeline is not None and found.timeline.ordered[0].date == D(2025, 11, 1)
    assert found.flags == (Flag.BASELINE_OUTSIDE_WINDOW,)


def test_R10_first_scan_within_7_days_after_the_start_stands_in() -> None:
    """No scan before the line: the first scan up to 7 days after its start is the baseline, flagged."""
    found = line_timeline([lesion(D(2026, 1, 10), "40"), lesion(D(2026, 3, 1), "20")], D(2026, 1, 5))
    assert found.timeline is not None and found.timeline.ordered[0].date == D(2026, 1, 10)
    assert found.flags == (Flag.BASELINE_AFTER_START,)


def test_R10_no_baseline_for_the_line_means_no_timeline() -> None:
    """The first scan more than 7 days after the line start cannot be its baseline."""
    found = line_timeline([lesion(D(2026, 2, 1), "40"), lesion(D(2026, 3, 1), "20")], D(2026, 1, 5))
    assert found.timeline is None and found.flags == ()


def test_R10_a_new_line_restarts_the_baseline() -> None:
    """A line started later takes the scan before its own start as baseline; earlier scans are left out."""
    scans = [lesion(D(2024, 5, 2), "48"), lesion(D(2024, 6, 12), "52"), lesion(D(2024, 8, 30), "39")]
    found = line_timeline(scans, D(2024, 6, 20))
    assert found.timeline is not None
    assert [tp.date for tp in found.timeline.ordered] == [D(2024, 6, 12), D(2024, 8, 30)]
