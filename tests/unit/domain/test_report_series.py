"""What the report's per-lesion table reads from an Assessment (issue 18): the lesions in force and, for the
baseline and every follow-up, each target's size (adding up to that scan's sum, S1) and each other lesion's
status."""

from __future__ import annotations

from decimal import Decimal

from service.domain import facts as f
from service.domain.assess import assess
from service.domain.model import LesionRole, LesionStatus
from service.domain.timeline import PatientFacts
from tests.unit.domain.fact_builders import PATIENT, day
from tests.unit.domain.test_actions_v02 import POLICY, RESPONDING, order


def test_every_scan_carries_each_target_size() -> None:
    """Baseline 20 + 25 + 22, then 14 + 17 + 18 and 13 + 16 + 18: sizes per lesion, sums their totals."""
    facts = PatientFacts.of([*RESPONDING, order("osimertinib")]).up_to(day(105))
    result = assess(PATIENT, facts, day(105), POLICY)
    assert sorted(lesion.lesion_id for lesion in result.targets) == [
        "lesion|adrenal",
        "lesion|liver",
        "lesion|lung",
    ]
    sizes = [dict(point.sizes) for point in result.sums]
    assert sizes == [
        {"lesion|lung": 20, "lesion|liver": 25, "lesion|adrenal": 22},
        {"lesion|lung": 14, "lesion|liver": 17, "lesion|adrenal": 18},
        {"lesion|lung": 13, "lesion|liver": 16, "lesion|adrenal": 18},
    ]
    assert all(point.sum_mm == sum(dict(point.sizes).values(), Decimal(0)) for point in result.sums)


def non_target(on: int, status: LesionStatus) -> f.LesionObservation:
    return f.LesionObservation(
        PATIENT, f"Observation/pleura-{on}", "lesion|pleura", None, day(on), None, f"study-{on}",
        f.TimepointBasis.IMAGING_STUDY, None, None, (), False, LesionRole.NON_TARGET, status,
        None, None, "CT",
    )  # fmt: skip


def test_every_scan_carries_each_non_target_status() -> None:
    """A pleural non-target present at baseline and at the first follow-up, unequivocally progressing at the
    second: the Assessment names it, and each scan carries what the reader saw (N1-N4)."""
    seen = [
        non_target(-7, LesionStatus.PRESENT),
        non_target(49, LesionStatus.PRESENT),
        non_target(105, LesionStatus.UNEQUIVOCAL_PROGRESSION),
    ]
    facts = PatientFacts.of([*RESPONDING, *seen, order("osimertinib")]).up_to(day(105))
    result = assess(PATIENT, facts, day(105), POLICY)
    assert [lesion.lesion_id for lesion in result.non_targets] == ["lesion|pleura"]
    assert result.new_lesions == ()
    assert [dict(point.statuses) for point in result.sums] == [
        {"lesion|pleura": "present"},
        {"lesion|pleura": "present"},
        {"lesion|pleura": "unequivocal-progression"},
    ]
