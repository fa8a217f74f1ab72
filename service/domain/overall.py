"""Overall time-point response: RECIST 1.1 Table 1 (O1) and Table 2 (O2), and T6 after a CR."""

from __future__ import annotations

from service.domain.response import NewLesions, NonTargetResponse, OverallResponse, TargetResponse
from service.domain.rules import Rule

_NT_COMPLETE = frozenset({NonTargetResponse.CR, NonTargetResponse.NONE})  # N4: NONE counts as CR in Table 1

_TABLE_1 = {
    TargetResponse.PR: OverallResponse.PR,
    TargetResponse.SD: OverallResponse.SD,
    TargetResponse.NE: OverallResponse.NE,
}

_TABLE_2 = {
    NonTargetResponse.CR: OverallResponse.CR,
    NonTargetResponse.NON_CR_NON_PD: OverallResponse.NON_CR_NON_PD,
    NonTargetResponse.NE: OverallResponse.NE,
    # No disease at all at baseline: nothing to assess, so NE (only a new lesion can change it).
    NonTargetResponse.NONE: OverallResponse.NE,
}


def overall_response(
    target: TargetResponse, non_target: NonTargetResponse, new: NewLesions
) -> tuple[OverallResponse, Rule]:
    """The overall response of one time point and the table that gave it; equivocal new lesions are no PD."""
    table = Rule.O2 if target is TargetResponse.NONE else Rule.O1
    if has_progression_component(target, non_target, new):
        return OverallResponse.PD, table
    if table is Rule.O2:
        return _TABLE_2[non_target], table
    if target is TargetResponse.CR:
        return (OverallResponse.CR if non_target in _NT_COMPLETE else OverallResponse.PR), table
    return _TABLE_1[target], table


def has_progression_component(target: TargetResponse, non_target: NonTargetResponse, new: NewLesions) -> bool:
    """The last three rows of Table 1 and of Table 2: any PD component, or an unequivocal new lesion."""
    return target is TargetResponse.PD or non_target is NonTargetResponse.PD or new is NewLesions.UNEQUIVOCAL
