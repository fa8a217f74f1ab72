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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

from service.domain.facts import TherapyFact, TherapyRecordKind
from service.domain.rules import Flag, Rule

UNMAPPED = "unmapped"  # the drugs.yaml class of a record whose drug is not known (R4)
EPISODE_GAP_DAYS = 42  # R1
LINE_COMBINE_DAYS = 14  # R5, R7b
PROGRESSED_AFTER_END_DAYS = 28  # R11: a PD up to 28 days after a line's end is progression on it


class DrugRole(StrEnum):
    """What a drug class is in a line (drugs.yaml ``classes[].role``)."""

    TARGETED = "targeted"
    IMMUNOTHERAPY = "immunotherapy"
    CHEMOTHERAPY = "chemotherapy"
    ANTIANGIOGENIC = "antiangiogenic"
    ANTINEOPLASTIC = "antineoplastic"
    SUPPORTIVE = "supportive"
    UNMAPPED = "unmapped"


class LineOutcome(StrEnum):
    """R11: how a line ended (``ongoing`` while it runs)."""

    ONGOING = "ongoing"
    PROGRESSED = "progressed"
    STOPPED_TOXICITY = "stopped-toxicity"
    COMPLETED = "completed"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Component:
    """One drug of a line: an episode of its records (R1)."""

    drug: str
    drug_class: str
    role: DrugRole
    started_on: dt.date
    ended_on: dt.date | None  # None: still given on ``as_of``
    on_hold: bool
    sources: tuple[str, ...]
    groups: frozenset[str] = frozenset()
    completed: bool = False  # every record of the episode says ``completed``


@dataclass(frozen=True, slots=True)
class TherapyLine:
    """A line of therapy: its components, dates and outcome; ``backbone`` is the resistance context (R8)."""

    number: int
    components: tuple[Component, ...]
    started_on: dt.date
    outcome: LineOutcome = LineOutcome.ONGOING
    progression_on: dt.date | None = None
    switch_without_pd: bool = False

    @property
    def drugs(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.drug for c in self.components))

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s for c in self.components for s in c.sources))

    @property
    def ended_on(self) -> dt.date | None:
        ends = [c.ended_on for c in self.components]
        return None if any(e is None for e in ends) else max(e for e in ends if e is not None)

    @property
    def backbone(self) -> Component | None:
        """R8: the targeted component; an EGFR-MET bispecific antibody leads its line (X28), a MET TKI
        added to another targeted drug is its partner (osimertinib + savolitinib is "EGFR; osimertinib")."""
        targeted = [c for c in self.components if c.role is DrugRole.TARGETED]
        return min(targeted, key=lambda c: (_backbone_rank(c.drug_class), c.started_on), default=None)

    @property
    def immunotherapy(self) -> bool:
        """R9: the line contains an immune checkpoint inhibitor (amivantamab is not one: its class is
        targeted)."""
        return any(c.role is DrugRole.IMMUNOTHERAPY for c in self.components)

    @property
    def on_hold(self) -> bool:
        return any(c.on_hold for c in self.components)


def _backbone_rank(drug_class: str) -> int:
    if drug_class == "egfr-met-bispecific-antibody":
        return 0
    return 2 if drug_class.startswith("met-tki") else 1


@dataclass(frozen=True, slots=True)
class IgnoredRecord:
    """A medication record that did not count, and the rule that set it aside (R12)."""

    source: str
    drug: str
    rule: Rule
    reason: str


@dataclass(frozen=True, slots=True)
class TherapyContext:
    """The lines up to ``as_of``: the current (last) one, the ones before it, and what was ignored."""

    lines: tuple[TherapyLine, ...] = ()
    ignored: tuple[IgnoredRecord, ...] = ()
    flags: tuple[Flag, ...] = ()
    active: bool = False  # R6: a component of the last line is active, on hold or covers ``as_of``

    @property
    def current(self) -> TherapyLine | None:
        return self.lines[-1] if self.lines else None

    @property
    def prior(self) -> tuple[TherapyLine, ...]:
        return self.lines[:-1]

    @property
    def started_on(self) -> dt.date | None:
        return self.current.started_on if self.current else None

    @property
    def progressed_on(self) -> frozenset[str]:
        """R11: every drug of a line the patient progressed on."""
        return frozenset(
            d for line in self.lines if line.outcome is LineOutcome.PROGRESSED for d in line.drugs
        )

    @property
    def rules(self) -> tuple[Rule, ...]:
        used = [Rule.R1, Rule.R2, Rule.R5, Rule.R6] if self.lines else []
        used += [r.rule for r in self.ignored]
        used += [Rule.R7, Rule.R10, Rule.R11] if len(self.lines) > 1 else []
        return tuple(dict.fromkeys(used))


# A PD dated on a line: (line start, up to) → the first PD date after the start and on or before ``up to``.
ProgressionFinder = Callable[[dt.date, dt.date], dt.date | None]


def therapy_context(
    records: Sequence[TherapyFact],
    roles: Mapping[str, DrugRole],
    as_of: dt.date,
    progression: ProgressionFinder,
) -> TherapyContext:
    """R1-R11 over the medication records of one patient."""
    ignored: list[IgnoredRecord] = []
    flags: list[Flag] = []
    counted = []
    for record in records:
        reason = _ignored(record, roles, as_of)
        if reason is None:
            counted.append(record)
        else:
            ignored.append(reason)
    flags += [Flag.UNMAPPED_MEDICATION for r in ignored if r.rule is Rule.R4][:1]
    episodes, unknown_end = _episodes(counted, roles, as_of)
    flags += [Flag.THERAPY_END_UNKNOWN] if unknown_end else []
    lines = _lines(episodes, progression, as_of)
    active = bool(lines) and any(c.ended_on is None or c.ended_on >= as_of for c in lines[-1].components)
    if lines and lines[-1].on_hold:
        flags.append(Flag.THERAPY_ON_HOLD)
    if lines and lines[-1].switch_without_pd:
        flags.append(Flag.SWITCH_WITHOUT_PD)
    return TherapyContext(tuple(lines), tuple(ignored), tuple(flags), active)


_IGNORED_REQUEST_STATUS = frozenset({"entered-in-error", "cancelled", "draft"})
_IGNORED_INTENT = frozenset({"proposal", "option"})
_PLAN_STATUS = frozenset({"active", "completed", "stopped", "on-hold"})
_IGNORED_STATEMENT_STATUS = frozenset({"entered-in-error", "not-taken", "intended"})
_IGNORED_ADMINISTRATION_STATUS = frozenset({"entered-in-error", "not-done"})
_OPEN_STATUS = frozenset({"active", "on-hold", "in-progress", "unknown", "recorded", None})


def _ignored(record: TherapyFact, roles: Mapping[str, DrugRole], as_of: dt.date) -> IgnoredRecord | None:
    """R2, R3, R4: why a record does not count, or None when it does."""
    status, kind = record.status, record.record
    if kind is TherapyRecordKind.REQUEST:
        if status in _IGNORED_REQUEST_STATUS or record.intent in _IGNORED_INTENT:
            return _ignore(record, Rule.R2, f"order {status or ''} {record.intent or ''}".strip())
        if record.intent == "plan" and status not in _PLAN_STATUS:
            return _ignore(record, Rule.R2, f"plan {status}")
    elif kind is TherapyRecordKind.STATEMENT and status in _IGNORED_STATEMENT_STATUS:
        return _ignore(record, Rule.R2, f"statement {status}")
    elif kind is TherapyRecordKind.ADMINISTRATION and status in _IGNORED_ADMINISTRATION_STATUS:
        return _ignore(record, Rule.R2, f"administration {status}")
    start = _start(record)
    if start is None or start > as_of:
        return _ignore(record, Rule.R2, "no start on or before the assessment date")
    role = roles.get(record.drug_class, DrugRole.UNMAPPED)
    if role is DrugRole.UNMAPPED:
        return _ignore(record, Rule.R4, "drug not in the knowledge base")
    if role is DrugRole.SUPPORTIVE:
        return _ignore(record, Rule.R3, "supportive or non-antineoplastic drug")
    return None


def _ignore(record: TherapyFact, rule: Rule, reason: str) -> IgnoredRecord:
    return IgnoredRecord(record.source, record.drug, rule, reason)


def _start(record: TherapyFact) -> dt.date | None:
    """R1: the record's own start (effective, dosage bounds), else when the order was written."""
    return record.started_on or record.authored_on


@dataclass
class _Episode:
    drug: str
    drug_class: str
    started_on: dt.date
    last_on: dt.date  # latest start or end seen, for the R1 gap
    open: bool
    on_hold: bool
    ended_on: dt.date | None
    sources: list[str] = field(default_factory=list)
    groups: set[str] = field(default_factory=set)
    statuses: set[str | None] = field(default_factory=set)
    ordered: bool = False  # an order or statement is among its records (else administrations only)


def _episodes(
    records: list[TherapyFact], roles: Mapping[str, DrugRole], as_of: dt.date
) -> tuple[list[Component], bool]:
    """R1: one episode per drug and run of records no more than ``EPISODE_GAP_DAYS`` apart."""
    by_drug: dict[str, list[_Episode]] = {}
    unknown_end = False
    administered = _administrations(records)
    for record in sorted(records, key=lambda r: _start(r) or as_of):
        start = _start(record) or as_of
        end, open_, unknown = _end(record, administered, as_of)
        unknown_end |= unknown
        episodes = by_drug.setdefault(record.drug, [])
        last = episodes[-1] if episodes else None
        if last is None or (not last.open and (start - last.last_on).days > EPISODE_GAP_DAYS):
            last = _Episode(record.drug, record.drug_class, start, start, False, False, None)
            episodes.append(last)
        _add(last, record, start, end, open_)
    components = [_component(e, roles, as_of) for group in by_drug.values() for e in group]
    return sorted(components, key=lambda c: (c.started_on, c.drug)), unknown_end


def _administrations(records: list[TherapyFact]) -> dict[str, list[dt.date]]:
    days: dict[str, list[dt.date]] = {}
    for r in records:
        if r.record is TherapyRecordKind.ADMINISTRATION and (d := _start(r)) is not None:
            days.setdefault(r.drug, []).append(d)
    return days


def _end(
    record: TherapyFact, administered: dict[str, list[dt.date]], as_of: dt.date
) -> tuple[dt.date | None, bool, bool]:
    """(end, still open on ``as_of``, end unknown): R1 end from the period or bounds; a completed or stopped
    record without one ends at the drug's last administration, else its end is unknown."""
    if record.ended_on is not None:
        return record.ended_on, record.ended_on >= as_of and record.status in _OPEN_STATUS, False
    if record.record is TherapyRecordKind.ADMINISTRATION:
        return _start(record), False, False
    if record.status in _OPEN_STATUS:
        return None, True, False
    days = administered.get(record.drug, [])
    return (max(days), False, False) if days else (_start(record), False, True)


def _add(episode: _Episode, record: TherapyFact, start: dt.date, end: dt.date | None, open_: bool) -> None:
    """The latest order or statement says whether the episode still runs (records arrive by start date); an
    administration is one dose: it dates the episode but never closes one an order holds open."""
    episode.sources.append(record.source)
    episode.groups.update(record.groups)
    episode.statuses.add(record.status)
    episode.last_on = max(episode.last_on, end or start)
    if record.record is not TherapyRecordKind.ADMINISTRATION:
        episode.ordered = True
        episode.open = open_
        episode.on_hold = open_ and record.status == "on-hold"
    episode.ended_on = None if episode.open else max(d for d in (episode.ended_on, end, start) if d)


def _component(episode: _Episode, roles: Mapping[str, DrugRole], as_of: dt.date) -> Component:
    """An episode documented by administrations only (an eMAR feed) still runs while its last dose is no
    more than ``EPISODE_GAP_DAYS`` before ``as_of`` (R1: the gap that still joins two records)."""
    recent = not episode.ordered and (as_of - episode.last_on).days <= EPISODE_GAP_DAYS
    return Component(
        drug=episode.drug,
        drug_class=episode.drug_class,
        role=roles.get(episode.drug_class, DrugRole.UNMAPPED),
        started_on=episode.started_on,
        ended_on=None if recent else episode.ended_on,
        on_hold=episode.on_hold,
        sources=tuple(episode.sources),
        groups=frozenset(episode.groups),
        completed=episode.statuses == {"completed"},
    )


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
