"""The imaging timelines of one patient's lines of therapy, each built and evaluated once per assessment.

The therapy context asks, for each line, for the first RECIST 1.1 PD of that line's own imaging (R7a, R11);
the assessment then evaluates the current line's imaging again, with the tumour markers (N1). For the current
line the two are one timeline, since the facts are already cut at the assessment date. This keeps each
timeline, and its evaluation without markers, under the line start and the observations it reads, so that
the timeline is built and RECIST run once where they were built and run twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from service.domain.facts import LesionObservation
from service.domain.recist import RecistEvaluation, evaluate_recist
from service.domain.thresholds import ResponseThresholds
from service.domain.timeline import LineTimeline, line_timeline

# The line start, and how many observations the timeline reads: the observations on or before a date are
# fewer the earlier the date, so their number tells one cut-off's observations from another's.
_Key = tuple[dt.date | None, int]


@dataclass
class LineImaging:
    """One patient's lesion observations (up to the assessment date) and the thresholds; private to one
    assessment, like the answers it keeps."""

    observations: Sequence[LesionObservation]
    thresholds: ResponseThresholds
    _timelines: dict[_Key, LineTimeline] = field(default_factory=dict)
    _evaluations: dict[_Key, RecistEvaluation | None] = field(default_factory=dict)

    def timeline(self, start: dt.date | None, until: dt.date | None = None) -> LineTimeline:
        """The line's timeline (R10) from the observations on or before ``until`` (every one without it)."""
        return self._timelines[self._key(start, until)]

    def recist(self, start: dt.date | None, until: dt.date | None = None) -> RecistEvaluation | None:
        """RECIST 1.1 without markers over the line's timeline; None without a follow-up time point."""
        key = self._key(start, until)
        if key not in self._evaluations:
            timeline = self._timelines[key].timeline
            if timeline is None or len(timeline.time_points) < 2:
                self._evaluations[key] = None
            else:
                self._evaluations[key] = evaluate_recist(timeline, self.thresholds)
        return self._evaluations[key]

    def first_pd(self, start: dt.date, until: dt.date) -> dt.date | None:
        """R7a, R11: the first RECIST 1.1 PD of a line's own imaging (baseline per R10) after its start."""
        recist = self.recist(start, until)
        if recist is None:
            return None
        pds = [tp.progression_date or tp.date for tp in recist.time_points if tp.overall.value == "PD"]
        return min((d for d in pds if d > start), default=None)

    def _key(self, start: dt.date | None, until: dt.date | None) -> _Key:
        """The key of the line's timeline, built here the first time it is asked for."""
        kept = self.observations
        if until is not None:
            kept = [o for o in kept if o.observed_on <= until]
        key = (start, len(kept))
        if key not in self._timelines:
            self._timelines[key] = line_timeline(kept, start)
        return key
