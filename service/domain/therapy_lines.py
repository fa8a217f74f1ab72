"""Therapy context: medication records → lines of therapy (CLINICAL-RULES.md section 10, R1-R11).

The current line decides the RECIST baseline (R10), whether iRECIST runs (R9), which X-rules apply (R8) and
which drugs may be suggested (R11). Everything here comes from the medication facts; nothing from free text.

1. Records that count (R2): orders in error, cancelled, draft, proposed or optional are ignored; a plan counts
   only when it is active, completed, stopped or on hold; a record starting after ``as_of`` is ignored.
   Supportive drugs (R3) and drugs the knowledge base does not know (R4) never make a line; each ignored
   record is kept with the rule that ignored it (R12).
2. Episodes (R1): the records of one drug whose starts lie within ``EPISODE_GAP_DAYS`` of the previous
   record's end (or start, when its end is not known) are one episode of that drug.
3. Lines (R5, R7): an episode starting within ``LINE_COMBINE_DAYS`` of its line's start, or sharing an order
   group or a CarePlan with a component, joins the line. A later new drug starts a new line when a PD is
   dated on the line before it (R7a) or every component has stopped by 14 days after it (R7b, flagged
   ``SWITCH_WITHOUT_PD`` without a PD); otherwise it joins the continuing line (a partner added on the way).

Readings taken where the rules leave room:
- MedicationAdministration ``not-done`` is ignored like an order in error (it records a dose not given).
- A record whose status is ``completed`` or ``stopped`` without an end is taken to end at its last
  administration, else at its own start (``THERAPY_END_UNKNOWN``).
- The PD that separates lines (R7a) is a RECIST 1.1 PD of that line's imaging, computed by the caller.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from service.domain.facts import TherapyFact
from service.domain.rules import Flag, Rule
from service.domain.therapy_records import counted, episodes
from service.domain.therapy_types import (
    UNMAPPED,
    Component,
    DrugRole,
    IgnoredRecord,
    LineOutcome,
    ProgressionFinder,
    TherapyContext,
    TherapyLine,
)

LINE_COMBINE_DAYS = 14  # R5, R7b
PROGRESSED_AFTER_END_DAYS = 28  # R11: a PD up to 28 days after a line's end is progression on it

__all__ = [
    "UNMAPPED",
    "Component",
    "DrugRole",
    "IgnoredRecord",
    "LineOutcome",
    "ProgressionFinder",
    "TherapyContext",
    "TherapyLine",
    "therapy_context",
]


def therapy_context(
    records: Sequence[TherapyFact],
    roles: Mapping[str, DrugRole],
    as_of: dt.date,
    progression: ProgressionFinder,
) -> TherapyContext:
    """R1-R11 over the medication records of one patient."""
    kept, ignored = counted(records, roles, as_of)
    flags = [Flag.UNMAPPED_MEDICATION for r in ignored if r.rule is Rule.R4][:1]
    components, unknown_end = episodes(kept, roles, as_of)
    flags += [Flag.THERAPY_END_UNKNOWN] if unknown_end else []
    lines = _lines(components, progression, as_of)
    active = bool(lines) and any(c.ended_on is None or c.ended_on >= as_of for c in lines[-1].components)
    if lines and lines[-1].on_hold:
        flags.append(Flag.THERAPY_ON_HOLD)
    if lines and lines[-1].switch_without_pd:
        flags.append(Flag.SWITCH_WITHOUT_PD)
    return TherapyContext(tuple(lines), tuple(ignored), tuple(flags), active)


def _lines(
    components: Iterable[Component], progression: ProgressionFinder, as_of: dt.date
) -> list[TherapyLine]:
    """R5, R7: components grouped into lines in the order they started."""
    lines: list[TherapyLine] = []
    for component in components:
        line = lines[-1] if lines else None
        if line is None:
            lines.append(TherapyLine(1, (component,), component.started_on))
            continue
        joins, pd_on = _joins(line, component, progression)
        if joins:
            lines[-1] = replace(line, components=(*line.components, component))
            continue
        switch = pd_on is None
        lines[-1] = replace(line, outcome=_closed(line, pd_on), progression_on=pd_on)
        carried = tuple(c for c in line.components if _continues(c, component.started_on))
        lines.append(
            TherapyLine(
                line.number + 1, (*carried, component), component.started_on, switch_without_pd=switch
            )
        )
    if lines:
        lines[-1] = _last(lines[-1], progression, as_of)
    return lines


def _joins(
    line: TherapyLine, component: Component, progression: ProgressionFinder
) -> tuple[bool, dt.date | None]:
    """(joins the line, the PD that ends it): R5 combination window or shared order group; R7 new line."""
    if (component.started_on - line.started_on).days <= LINE_COMBINE_DAYS:
        return True, None
    if any(component.groups & c.groups for c in line.components):
        return True, None
    pd_on = progression(line.started_on, component.started_on)
    if pd_on is not None:
        return False, pd_on
    limit = component.started_on + dt.timedelta(days=LINE_COMBINE_DAYS)
    stopped = all(c.ended_on is not None and c.ended_on <= limit for c in line.components)
    return not stopped, None


def _continues(component: Component, new_start: dt.date) -> bool:
    """R7: a component still given after a new line starts continues in it (osimertinib → osimertinib +
    savolitinib after PD keeps the osimertinib backbone)."""
    limit = new_start + dt.timedelta(days=LINE_COMBINE_DAYS)
    return component.ended_on is None or component.ended_on > limit


def _closed(line: TherapyLine, pd_on: dt.date | None) -> LineOutcome:
    """R11 for a line a new one replaced: progressed; completed when every component says so; otherwise the
    switch without PD that R7b calls a switch for toxicity."""
    if pd_on is not None:
        return LineOutcome.PROGRESSED
    if all(c.completed for c in line.components):
        return LineOutcome.COMPLETED
    return LineOutcome.STOPPED_TOXICITY


def _last(line: TherapyLine, progression: ProgressionFinder, as_of: dt.date) -> TherapyLine:
    """The last line: progressed when a PD is dated on it (or up to 28 days after its end), else ongoing
    while a component runs, completed when every component ended."""
    end = line.ended_on
    limit = min(as_of, end + dt.timedelta(days=PROGRESSED_AFTER_END_DAYS)) if end else as_of
    pd_on = progression(line.started_on, limit)
    if pd_on is not None:
        return replace(line, outcome=LineOutcome.PROGRESSED, progression_on=pd_on)
    return line if end is None or end >= as_of else replace(line, outcome=LineOutcome.COMPLETED)
