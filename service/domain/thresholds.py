"""The numbers of response evaluation, received as one plain value (loaded from ``mappings/``).

There are no defaults here on purpose: thresholds are data (HOUSE-STYLE rule 3), and the values with their
citations live in ``mappings/response-criteria.yaml``. Fractions are ``Decimal`` so that every comparison
is exact (CLINICAL-RULES.md, "Conventions": 25 -> 30 mm is +20 % and PD).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class ConfirmationMode(StrEnum):
    """B2: whether CR and PR need a confirming assessment to count as best overall response."""

    REQUIRED = "required"
    NOT_REQUIRED = "not_required"


@dataclass(frozen=True, slots=True)
class ResponseThresholds:
    """Every threshold and option of RECIST 1.1, iRECIST and the variability flags (rule IDs in comments)."""

    # M1-M3 measurability, M4 target selection
    measurable_min_mm: Decimal  # M1: CT/MR and calipers
    measurable_slice_multiple: Decimal  # M1: minimum = this x slice thickness when slices are thicker
    measurable_slice_max_mm: Decimal  # M1: slice thickness up to which measurable_min_mm applies
    xray_measurable_min_mm: Decimal  # M1: chest X-ray
    node_pathological_min_mm: Decimal  # M2: short axis from which a node is disease (also L4)
    node_measurable_min_mm: Decimal  # M2: short axis from which a node can be a target
    max_targets: int  # M4
    max_targets_per_organ: int  # M4
    # S3, T1-T5
    too_small_to_measure_mm: Decimal  # S3
    pd_rel: Decimal  # T4
    pd_abs_mm: Decimal  # T4
    pr_rel: Decimal  # T2
    pr_carry_forward: bool  # T5
    # B2, B3
    confirmation_mode: ConfirmationMode
    confirm_min_days: int
    sd_min_days: int
    # V1-V4
    var_abs_mm: Decimal
    var_rel_same_context: Decimal
    var_rel_changed_context: Decimal
    var_rel_single_target_other_reader: Decimal
    borderline_pd_rel: Decimal
    borderline_pd_abs_mm: Decimal
    context_slice_tolerance_mm: Decimal
    small_lesion_mm: Decimal
    # I3-I5
    iconfirm_min_days: int
    iconfirm_max_days: int
    iconfirm_tolerance_days: int
    icpd_abs_mm: Decimal
    new_lesion_max_targets: int
    new_lesion_max_per_organ: int
