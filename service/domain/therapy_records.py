"""Medication records → the episodes of each drug (CLINICAL-RULES.md R1-R4): which records count (R2),
which drugs never make a line (R3 supportive, R4 unknown; each record set aside is kept with its rule, R12),
and one episode per drug and run of records no more than ``EPISODE_GAP_DAYS`` apart (R1)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from service.domain.facts import TherapyFact, TherapyRecordKind
from service.domain.rules import Rule
from service.domain.therapy_types import Component, DrugRole, IgnoredRecord

EPISODE_GAP_DAYS = 42  # R1


def counted(
    records: Sequence[TherapyFact], roles: Mapping[str, DrugRole], as_of: dt.date
) -> tuple[list[TherapyFact], list[IgnoredRecord]]:
    """The records that count, and those set aside with the rule that set them aside."""
    kept: list[TherapyFact] = []
    ignored: list[IgnoredRecord] = []
    for record in records:
        reason = _ignored(record, roles, as_of)
        if reason is None:
            kept.append(record)
        else:
            ignored.append(reason)
    return kept, ignored


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
    start = record_start(record)
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


def record_start(record: TherapyFact) -> dt.date | None:
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


def episodes(
    records: list[TherapyFact], roles: Mapping[str, DrugRole], as_of: dt.date
) -> tuple[list[Component], bool]:
    """R1: one episode per drug and run of records no more than ``EPISODE_GAP_DAYS`` apart."""
    by_drug: dict[str, list[_Episode]] = {}
    unknown_end = False
    administered = _administrations(records)
    for record in sorted(records, key=lambda r: record_start(r) or as_of):
        start = record_start(record) or as_of
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
        if r.record is TherapyRecordKind.ADMINISTRATION and (d := record_start(r)) is not None:
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
        return record_start(record), False, False
    if record.status in _OPEN_STATUS:
        return None, True, False
    days = administered.get(record.drug, [])
    return (max(days), False, False) if days else (record_start(record), False, True)


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
