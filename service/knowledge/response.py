"""Model of ``mappings/response-criteria.yaml``: every response threshold with its rule and source.

Each entry is validated for a sane range (a fraction strictly between 0 and 1, a positive length, ...) and
the file as a whole for consistency (a node is pathological before it is measurable, the iRECIST window
opens before it closes). :meth:`ResponseCriteriaFile.thresholds` hands the domain its plain value.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Generic, TypeVar

from pydantic import Field, model_validator

from service.domain.thresholds import ConfirmationMode, ResponseThresholds
from service.knowledge.loader import MappingModel

V = TypeVar("V")

Millimetres = Annotated[Decimal, Field(gt=0, le=100)]
Fraction = Annotated[Decimal, Field(gt=0, lt=1)]
Days = Annotated[int, Field(ge=0, le=365)]
Count = Annotated[int, Field(ge=1, le=10)]


class Cited(MappingModel, Generic[V]):
    """One value with the rule that uses it and its references in CLINICAL-RULES.md section 9."""

    value: V
    rule: str = Field(pattern=r"^[MSTNLOBIV]\d$")
    source: tuple[Annotated[int, Field(ge=1, le=49)], ...]


class Measurability(MappingModel):
    measurable_min_mm: Cited[Millimetres]
    measurable_slice_max_mm: Cited[Millimetres]
    measurable_slice_multiple: Cited[Annotated[Decimal, Field(ge=1, le=5)]]
    xray_measurable_min_mm: Cited[Millimetres]
    node_pathological_min_mm: Cited[Millimetres]
    node_measurable_min_mm: Cited[Millimetres]
    max_targets: Cited[Count]
    max_targets_per_organ: Cited[Count]

    @model_validator(mode="after")
    def _consistent(self) -> Measurability:
        if self.node_pathological_min_mm.value >= self.node_measurable_min_mm.value:
            raise ValueError("node_pathological_min_mm must be below node_measurable_min_mm (M2)")
        if self.max_targets_per_organ.value > self.max_targets.value:
            raise ValueError("max_targets_per_organ cannot exceed max_targets (M4)")
        return self


class TargetCriteria(MappingModel):
    too_small_to_measure_mm: Cited[Millimetres]
    pd_rel: Cited[Fraction]
    pd_abs_mm: Cited[Millimetres]
    pr_rel: Cited[Fraction]
    pr_carry_forward: Cited[bool]


class BestResponseCriteria(MappingModel):
    confirmation_mode: Cited[ConfirmationMode]
    confirm_min_days: Cited[Annotated[int, Field(ge=1, le=365)]]
    sd_min_days: Cited[Days]


class VariabilityCriteria(MappingModel):
    var_abs_mm: Cited[Millimetres]
    var_rel_same_context: Cited[Fraction]
    var_rel_changed_context: Cited[Fraction]
    var_rel_single_target_other_reader: Cited[Fraction]
    borderline_pd_rel: Cited[Fraction]
    borderline_pd_abs_mm: Cited[Millimetres]
    context_slice_tolerance_mm: Cited[Annotated[Decimal, Field(ge=0, le=10)]]
    small_lesion_mm: Cited[Millimetres]

    @model_validator(mode="after")
    def _bands_widen(self) -> VariabilityCriteria:
        same, changed = self.var_rel_same_context.value, self.var_rel_changed_context.value
        if not same <= changed <= self.var_rel_single_target_other_reader.value:
            raise ValueError("V1 bands must widen: same context <= changed context <= single target")
        return self


class IrecistCriteria(MappingModel):
    iconfirm_min_days: Cited[Days]
    iconfirm_max_days: Cited[Days]
    iconfirm_tolerance_days: Cited[Days]
    icpd_abs_mm: Cited[Millimetres]
    new_lesion_max_targets: Cited[Count]
    new_lesion_max_per_organ: Cited[Count]

    @model_validator(mode="after")
    def _window_opens_before_it_closes(self) -> IrecistCriteria:
        if self.iconfirm_min_days.value > self.iconfirm_max_days.value:
            raise ValueError("iconfirm_min_days must not exceed iconfirm_max_days (I3)")
        if self.iconfirm_tolerance_days.value >= self.iconfirm_min_days.value:
            raise ValueError("iconfirm_tolerance_days must be smaller than iconfirm_min_days (I3)")
        return self


class ResponseCriteriaFile(MappingModel):
    measurability: Measurability
    target: TargetCriteria
    best_response: BestResponseCriteria
    variability: VariabilityCriteria
    irecist: IrecistCriteria

    def thresholds(self) -> ResponseThresholds:
        """The domain's plain value: every entry's ``value``, under the same name."""
        sections = (self.measurability, self.target, self.best_response, self.variability, self.irecist)
        values = {name: getattr(part, name).value for part in sections for name in type(part).model_fields}
        return ResponseThresholds(**values)
