"""CLINICAL-RULES.md 0.2 iRECIST confirmation: I4 (amended), I9 (what an NT further increase is) and I10
(an equivocal new lesion after iUPD); worked examples T50 (with variants A and B) and T51."""

# ruff: noqa: N802  # test names carry the rule IDs of CLINICAL-RULES.md (test_I9_...)

from __future__ import annotations

import datetime as dt

from service.domain.imaging_response import evaluate_imaging_response
from service.domain.irecist import evaluate_irecist
from service.domain.irecist_types import IrecistResponse, IrecistTimePoint
from service.domain.model import ClinicalStability, ImagingTimeline, LesionStatus, Measurement
from service.domain.recist import evaluate_recist
from service.domain.rules import Flag, Rule
from tests.unit.domain.builders import DEFAULTS, day, mm, new, non_target, seen, target, timeline, tp

IUPD, ICPD, ISD, NE = IrecistResponse.IUPD, IrecistResponse.ICPD, IrecistResponse.ISD, IrecistResponse.NE
UNEQUIVOCAL, FURTHER = LesionStatus.UNEQUIVOCAL_PROGRESSION, LesionStatus.FURTHER_INCREASE


def irecist(
    series: ImagingTimeline, clinical: dict[dt.date, ClinicalStability] | None = None
) -> list[IrecistTimePoint]:
    return list(evaluate_irecist(series, evaluate_recist(series, DEFAULTS), DEFAULTS, clinical))


def t50(*confirming_nt: Measurement, targets_mm: int = 52) -> ImagingTimeline:
    """T50: pembrolizumab; targets SD, the pleural NT unequivocal at TP2 (iUPD), TP3 six weeks later."""
    return timeline(
        [target("T"), non_target("P", "pleura")],
        tp(-7, mm("T", 50), seen("P")),
        tp(56, mm("T", 50), seen("P", UNEQUIVOCAL)),
        tp(98, mm("T", targets_mm), *confirming_nt),
    )


def test_I9_repeated_unequivocal_status_is_not_a_further_increase() -> None:
    """T50: the same NT lesion again ``unequivocal-progression`` and targets +2 mm stay iUPD, flagged."""
    points = irecist(t50(seen("P", UNEQUIVOCAL)))
    assert [p.category for p in points] == [IUPD, IUPD]
    assert Flag.NT_INCREASE_NOT_CONFIRMED in points[-1].flags and Rule.I9 in points[-1].rules


def test_I9_further_increase_confirms_T50_variant_A() -> None:
    """T50 variant A: the reader adds ``further-increase`` to the NT lesion: iCPD, no flag."""
    points = irecist(t50(seen("P", UNEQUIVOCAL), seen("P", FURTHER)))
    assert [p.category for p in points] == [IUPD, ICPD]
    assert Flag.NT_INCREASE_NOT_CONFIRMED not in points[-1].flags


def test_I9_equivocal_never_confirms_T50_variant_B() -> None:
    """T50 variant B (bug fix): an ``equivocal`` NT call neither confirms nor resets: iUPD, flagged."""
    points = irecist(t50(seen("P", LesionStatus.EQUIVOCAL)))
    assert [p.category for p in points] == [IUPD, IUPD]
    assert Flag.NT_INCREASE_NOT_CONFIRMED in points[-1].flags


def test_I9_unequivocal_on_a_lesion_not_so_at_iupd_confirms() -> None:
    """I9: another NT lesion newly ``unequivocal-progression`` after iUPD is a further increase: iCPD."""
    series = timeline(
        [target("T"), non_target("P", "pleura"), non_target("B")],
        tp(-7, mm("T", 50), seen("P"), seen("B")),
        tp(56, mm("T", 50), seen("P", UNEQUIVOCAL), seen("B")),
        tp(98, mm("T", 50), seen("P", UNEQUIVOCAL), seen("B", UNEQUIVOCAL)),
    )
    assert [p.category for p in irecist(series)] == [IUPD, ICPD]


def test_I9_a_larger_non_target_size_alone_does_not_confirm() -> None:
    """I9: an NT lesion measured larger without the reader's call is shown but does not confirm."""
    series = timeline(
        [target("T"), non_target("B")],
        tp(-7, mm("T", 50), mm("B", 20)),
        tp(56, mm("T", 60), mm("B", 20)),
        tp(98, mm("T", 62), mm("B", 30)),
    )
    points = irecist(series)
    assert [p.category for p in points] == [IUPD, IUPD]
    assert Flag.NT_INCREASE_NOT_CONFIRMED not in points[-1].flags  # the targets made this iUPD


def test_I9_flag_also_when_the_confirming_scan_is_not_evaluable() -> None:
    """I9 with I7: targets not evaluated and the NT lesion equivocal: NE, the iUPD stands, flagged."""
    points = irecist(_nt_ne(LesionStatus.EQUIVOCAL))
    assert [p.category for p in points] == [IUPD, NE]
    assert Flag.NT_INCREASE_NOT_CONFIRMED in points[-1].flags


def test_I9_no_flag_when_the_non_target_is_only_present() -> None:
    """I9: the flag needs an equivocal or repeated call; a plain ``present`` on an NE scan raises none."""
    points = irecist(_nt_ne(LesionStatus.PRESENT))
    assert points[-1].category is NE and Flag.NT_INCREASE_NOT_CONFIRMED not in points[-1].flags


def test_I4_amended_targets_newly_meeting_pd_confirm() -> None:
    """I4 (d): iUPD from NT; the targets then meet PD over the nadir (+8 mm, +20 %) with only +4 mm over the
    iUPD sum: new progression in another category confirms."""
    series = timeline(
        [target("T"), non_target("P", "pleura")],
        tp(-7, mm("T", 50), seen("P")),
        tp(28, mm("T", 40), seen("P")),
        tp(56, mm("T", 44), seen("P", UNEQUIVOCAL)),
        tp(98, mm("T", 48), seen("P", UNEQUIVOCAL)),
    )
    points = irecist(series)
    assert [p.category for p in points] == [ISD, IUPD, ICPD]
    assert points[-1].target_increase_mm == 4


def test_I4_amended_new_non_target_lesion_called_further_increase_confirms() -> None:
    """I4 (c) "any increase in NLNT" read through the reader's call as in I9."""
    series = timeline(
        [target("T"), new("X")],
        tp(-7, mm("T", 50)),
        tp(56, mm("T", 50), seen("X")),
        tp(98, mm("T", 50), seen("X", FURTHER)),
    )
    assert [p.category for p in irecist(series)] == [IUPD, ICPD]


def test_I10_additional_equivocal_new_lesion_leaves_iupd() -> None:
    """I10: an additional new lesion called equivocal gives EQUIVOCAL_NEW_LESION and stays iUPD; shown
    unequivocally on the next scan it confirms."""
    series = timeline(
        [target("T"), new("Y", "bone")],
        tp(-7, mm("T", 50)),
        tp(56, mm("T", 60)),
        tp(98, mm("T", 61), seen("Y", LesionStatus.EQUIVOCAL)),
        tp(140, mm("T", 61), mm("Y", 12)),
    )
    points = irecist(series)
    assert [p.category for p in points] == [IUPD, IUPD, ICPD]
    assert Flag.EQUIVOCAL_NEW_LESION in points[1].flags and Rule.I10 in points[1].rules


def test_T51_new_lesion_target_growth_adds_up_to_icpd() -> None:
    """T51: nivolumab; new 12-mm liver NLT at TP2 (iUPD), 15 mm at TP3 (+3: iUPD), 17 mm at TP4 (+5: iCPD)."""
    series = timeline(
        [target("T"), new("X")],
        tp(-7, mm("T", 50)),
        tp(56, mm("T", 50), mm("X", 12)),
        tp(98, mm("T", 50), mm("X", 15)),
        tp(140, mm("T", 50), mm("X", 17)),
    )
    assert [p.category for p in irecist(series)] == [IUPD, IUPD, ICPD]


def test_T51_variant_second_unequivocal_new_lesion_confirms() -> None:
    """T51 variant: a second, unequivocal new lesion at TP3 confirms (I4 c)."""
    series = timeline(
        [target("T"), new("X"), new("Y", "bone")],
        tp(-7, mm("T", 50)),
        tp(56, mm("T", 50), mm("X", 12)),
        tp(98, mm("T", 50), mm("X", 15), mm("Y", 11)),
    )
    points = irecist(series)
    assert [p.category for p in points] == [IUPD, ICPD] and points[-1].additional_new_lesions == ("Y",)


def test_I8_keeps_the_confirmation_flags() -> None:
    """I8 adds NOT_CLINICALLY_STABLE beside the I9 flag, never instead of it."""
    unstable = ClinicalStability(performance_status_worsened=True)
    points = irecist(t50(seen("P", UNEQUIVOCAL)), {day(98): unstable})
    assert {Flag.NT_INCREASE_NOT_CONFIRMED, Flag.NOT_CLINICALLY_STABLE} <= set(points[-1].flags)


def _nt_ne(status: LesionStatus) -> ImagingTimeline:
    """iUPD from the NT lesion, then a scan with the target not evaluated and the NT lesion as given."""
    return timeline(
        [target("T"), non_target("P", "pleura")],
        tp(-7, mm("T", 50), seen("P")),
        tp(56, mm("T", 50), seen("P", UNEQUIVOCAL)),
        tp(98, seen("T", LesionStatus.NOT_EVALUATED), seen("P", status)),
    )


def test_V1_amended_no_within_measurement_error_while_iupd_stands() -> None:
    """V1 (amended): T50 variant B is RECIST SD at TP3 (+2 mm) but iUPD from NT progression: no
    WITHIN_MEASUREMENT_ERROR; an iSD time point keeps its V flags."""
    series = t50(seen("P", LesionStatus.EQUIVOCAL))
    imaging = evaluate_imaging_response(series, DEFAULTS, immune_checkpoint_inhibitor=True)
    assert Flag.WITHIN_MEASUREMENT_ERROR not in imaging.variability[-1].flags
    plain = evaluate_imaging_response(series, DEFAULTS, immune_checkpoint_inhibitor=False)
    assert Flag.WITHIN_MEASUREMENT_ERROR in plain.variability[-1].flags
    isd = evaluate_imaging_response(
        timeline([target("T")], tp(-7, mm("T", 50)), tp(56, mm("T", 48))),
        DEFAULTS,
        immune_checkpoint_inhibitor=True,
    )
    assert Flag.WITHIN_MEASUREMENT_ERROR in isd.variability[-1].flags
