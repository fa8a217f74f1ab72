"""Section 6 step 3 (progression status) and the action table (A0-A9), as tables (A10-A13 and the
coherence rules C1-C9: test_coherence.py)."""

from __future__ import annotations

import pytest

from service.domain.assessment import ProgressionStatus as S
from service.domain.assessment_parts import MarkerReading, progression_status, suggestions_for
from service.domain.resistance_workup import ResistanceAssessment
from service.domain.rules import Flag as F  # noqa: N817  # a one-letter alias keeps the tables readable
from service.domain.suggestions import CareSuggestion as C
from service.domain.therapy_lines import TherapyContext


@pytest.mark.parametrize(
    ("category", "flags", "expected"),
    [
        ("SD", [F.WITHIN_MEASUREMENT_ERROR], S.NO_PROGRESSION),
        ("PD", [], S.SUPPORTED),
        ("PD", [F.BORDERLINE_PD], S.UNCERTAIN),
        ("PD", [F.BORDERLINE_PD, F.CEA_RISE_SIGNIFICANT], S.SUPPORTED),
        ("PD", [F.BORDERLINE_PD, F.MOLECULAR_PROGRESSION], S.SUPPORTED),
        ("PD", [F.BORDERLINE_PD, F.PS_DETERIORATION], S.SUPPORTED),
        ("PD", [F.MARKER_DISCORDANT, F.CTDNA_CLEARANCE], S.UNCERTAIN),
        ("PD", [F.MARKER_DISCORDANT, F.MOLECULAR_RESPONSE, F.PS_DETERIORATION], S.SUPPORTED),
        ("PD", [F.MARKER_DISCORDANT], S.SUPPORTED),
        ("iUPD", [F.BORDERLINE_PD], S.IUPD),
        ("iCPD", [], S.ICPD),
    ],
)
def test_step3_progression_status(category: str, flags: list[F], expected: S) -> None:
    """Borderline needs corroboration; discordant markers with molecular good news make PD uncertain unless
    PS worsened; iUPD / iCPD take precedence over uncertainty."""
    assert progression_status(category, flags, None) is expected


def test_K3_a_cea_rise_in_the_surge_window_does_not_corroborate_a_borderline_pd() -> None:  # noqa: N802  # rule ID
    """K3: within 56 days of the line start a confirmed CEA rise is shown, but a borderline PD stays
    uncertain; outside the window the same rise corroborates it (section 6 step 3)."""
    early = [F.BORDERLINE_PD, F.CEA_RISE_SIGNIFICANT, F.CEA_EARLY_SURGE_CAUTION]
    assert progression_status("PD", early, None) is S.UNCERTAIN
    assert progression_status("PD", [*early, F.MOLECULAR_PROGRESSION], None) is S.SUPPORTED
    assert progression_status("PD", early[:2], None) is S.SUPPORTED


@pytest.mark.parametrize(
    ("status", "flags", "targeted", "codes"),
    [
        (S.NO_PROGRESSION, [], True, [C.CONTINUE_CURRENT_THERAPY]),
        (S.UNCERTAIN, [], True, [C.CONTINUE_CURRENT_THERAPY, C.REMEASURE_OR_REPEAT_IMAGING]),
        (S.IUPD, [], False, [C.CONTINUE_CURRENT_THERAPY, C.CONFIRM_PROGRESSION_IMAGING]),
        (S.IUPD, [F.NOT_CLINICALLY_STABLE], False, [C.URGENT_CLINICAL_REVIEW, C.CONFIRM_PROGRESSION_IMAGING]),
        (S.SUPPORTED, [], False, [C.CLINICAL_TRIAL_REFERRAL]),
        (S.SUPPORTED, [F.PS_DETERIORATION], False, [C.URGENT_CLINICAL_REVIEW, C.CLINICAL_TRIAL_REFERRAL]),
        (S.SUPPORTED, [F.OLIGOPROGRESSION], True, [C.LOCAL_ABLATIVE_THERAPY, C.CONTINUE_CURRENT_THERAPY]),
        (S.ICPD, [], False, [C.CLINICAL_TRIAL_REFERRAL]),
    ],
)
def test_action_table(status: S, flags: list[F], targeted: bool, codes: list[C]) -> None:
    """A9 first when unwell (ECOG 2 here); A0, A1, A2 by status; after progression A6 if oligoprogressive,
    A8 off target."""
    empty = ResistanceAssessment("cls", "v", (), (), (), (), ()) if targeted else None
    found = suggestions_for(status, flags, empty, TherapyContext(), MarkerReading(ecog=2))
    assert [s.code for s in found.kept] == codes
