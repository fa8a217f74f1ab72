"""Non-target response on one time point (N1-N4).

Tumour markers enter only through N1/N2, as a :class:`MarkerStatus` worked out elsewhere. Markers that were
not assessed do not block a CR: RECIST 1.1 requires normal markers for CR where markers are followed, and
cannot require a value nobody measured; a marker above the ULN makes the non-targets Non-CR/non-PD.
Non-target PD is a reader's judgement (N3): it comes from the status ``unequivocal-progression`` and is
never computed from sizes.
"""

from __future__ import annotations

import msgspec

from service.domain.measurability import Presence, presence
from service.domain.model import Lesion, LesionStatus, MarkerStatus, TimePoint
from service.domain.response import NonTargetResponse
from service.domain.rules import Rule
from service.domain.thresholds import ResponseThresholds


class NonTargetAssessment(msgspec.Struct, frozen=True, gc=False):
    response: NonTargetResponse
    rules: tuple[Rule, ...]


def assess_non_targets(
    non_targets: tuple[Lesion, ...],
    time_point: TimePoint,
    markers: MarkerStatus,
    thresholds: ResponseThresholds,
) -> NonTargetAssessment:
    """N1-N4 for the non-target lesions chosen at baseline."""
    if not non_targets:
        return NonTargetAssessment(NonTargetResponse.NONE, (Rule.N4,))
    if any(_unequivocal_progression(les, time_point) for les in non_targets):
        return NonTargetAssessment(NonTargetResponse.PD, (Rule.N3,))
    states = {presence(les, time_point.of(les.lesion_id), thresholds) for les in non_targets}
    if Presence.UNKNOWN in states:
        return NonTargetAssessment(NonTargetResponse.NE, (Rule.N4,))
    if Presence.PRESENT in states:
        return NonTargetAssessment(NonTargetResponse.NON_CR_NON_PD, (Rule.N2,))
    if markers is MarkerStatus.ABOVE_ULN:
        return NonTargetAssessment(NonTargetResponse.NON_CR_NON_PD, (Rule.N1, Rule.N2))
    return NonTargetAssessment(NonTargetResponse.CR, (Rule.N1,))


# I9: a reader's "further increase" (after iUPD) is growth beyond an unequivocal progression: one too.
_PROGRESSING = frozenset({LesionStatus.UNEQUIVOCAL_PROGRESSION, LesionStatus.FURTHER_INCREASE})


def _unequivocal_progression(lesion: Lesion, time_point: TimePoint) -> bool:
    return any(m.status in _PROGRESSING for m in time_point.of(lesion.lesion_id))
