"""What response evaluation returns: categories, the numbers behind them and the rules that fired.

Values of the category enums are the codes of ``CANON/CodeSystem/response-category`` (FHIR-CONTRACT.md
section 4). Percentages are exact ``Decimal`` values for display; no decision is taken on them (every
threshold is compared by multiplication, CLINICAL-RULES.md "Conventions").
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum

import msgspec

from service.domain.rules import Flag, Rule
from service.domain.thresholds import ConfirmationMode


class TargetResponse(StrEnum):
    CR = "CR"
    PR = "PR"
    SD = "SD"
    PD = "PD"
    NE = "NE"
    NONE = "NONE"  # no target lesions at baseline: Table 2 applies


class NonTargetResponse(StrEnum):
    CR = "CR"
    NON_CR_NON_PD = "NON-CR-NON-PD"
    PD = "PD"
    NE = "NE"
    NONE = "NONE"  # N4: no non-target lesions at baseline


class NewLesions(StrEnum):
    NONE = "none"
    EQUIVOCAL = "equivocal"  # L2, L3, L4: flagged, not PD
    UNEQUIVOCAL = "unequivocal"  # L1: PD


class OverallResponse(StrEnum):
    CR = "CR"
    PR = "PR"
    SD = "SD"
    PD = "PD"
    NE = "NE"
    NON_CR_NON_PD = "NON-CR-NON-PD"  # Table 2, instead of SD


class ProgressionSource(StrEnum):
    """Why a time point is PD; V2 and the pattern rules need to know."""

    TARGET_SUM = "target-sum"  # T4 (S7 with a partial sum)
    NON_TARGET = "non-target"  # N3
    NEW_LESION = "new-lesion"  # L1
    REAPPEARANCE_AFTER_CR = "reappearance-after-cr"  # T6


def percent_change(current: Decimal, reference: Decimal) -> Decimal | None:
    """100 x (current - reference) / reference; None when the reference is 0 (S8: never divide by zero)."""
    if reference == 0:
        return None
    return (current - reference) * 100 / reference


class SumOfDiameters(msgspec.Struct, frozen=True, gc=False):
    """The target sum on one time point with its references (S1, S6). ``partial`` means S7 applied."""

    sum_mm: Decimal
    baseline_mm: Decimal
    nadir_mm: Decimal
    nadir_date: dt.date
    previous_mm: Decimal
    partial: bool = False

    @property
    def change_from_nadir_mm(self) -> Decimal:
        return self.sum_mm - self.nadir_mm

    @property
    def percent_from_baseline(self) -> Decimal | None:
        return percent_change(self.sum_mm, self.baseline_mm)

    @property
    def percent_from_nadir(self) -> Decimal | None:
        return percent_change(self.sum_mm, self.nadir_mm)


class TimePointResponse(msgspec.Struct, frozen=True, gc=False):
    """RECIST 1.1 for one follow-up time point (Tables 1 and 2).

    ``progression_date`` is set with PD: it is the time point's date, or the date of the first scan that
    showed a new lesion later confirmed (L2, L3). ``target_sizes`` are the per-target millimetres used;
    ``new_lesion_ids`` are the unequivocal new lesions, ``equivocal_new_lesion_ids`` the flagged ones.
    """

    date: dt.date
    study_id: str | None
    overall: OverallResponse
    target: TargetResponse
    non_target: NonTargetResponse
    new_lesions: NewLesions
    new_lesion_ids: tuple[str, ...]
    equivocal_new_lesion_ids: tuple[str, ...]
    sums: SumOfDiameters | None
    target_sizes: tuple[tuple[str, Decimal], ...]
    progression_sources: tuple[ProgressionSource, ...]
    progression_date: dt.date | None
    rules: tuple[Rule, ...]
    flags: tuple[Flag, ...]


class DatedResponse(msgspec.Struct, frozen=True, gc=False):
    """The part of a time point that best overall response needs (B1-B5); ``non_target_only`` marks
    Table 2 (no target disease), where stable disease is called Non-CR/non-PD."""

    date: dt.date
    overall: OverallResponse
    progression_date: dt.date | None = None
    flags: tuple[Flag, ...] = ()
    non_target_only: bool = False

    @classmethod
    def of(cls, response: TimePointResponse) -> DatedResponse:
        only_nt = response.target is TargetResponse.NONE
        return cls(response.date, response.overall, response.progression_date, response.flags, only_nt)


class BestOverallResponse(msgspec.Struct, frozen=True, gc=False):
    """B1-B5. ``confirmed`` says whether a CR/PR was confirmed, in both confirmation modes (B2 asks to show
    "unconfirmed" even when confirmation is not required). ``alternative`` is the answer under the other
    reading of Table 3 footnote a (the first CR was doubtful), raised with ``REVIEW_CR_VALIDITY``."""

    category: OverallResponse
    date: dt.date | None
    confirmed: bool
    confirmation_mode: ConfirmationMode
    alternative: OverallResponse | None
    rules: tuple[Rule, ...]
    flags: tuple[Flag, ...]
