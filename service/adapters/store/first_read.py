"""A PostgreSQL write transaction's first read of current versions, with what the rest of the transaction
will ask of its patients (issue 17): one round trip instead of one per question.

Beside the current versions asked for, the one statement reads the topics with a live subscription
(``Enqueue.matching``), the pending evaluation request of each patient the transaction has locked
(``EvaluationJobs.generations``), whether each one's history was fetched (``Writer.history_fetched``)
and each one's current facts (for the evaluation that follows the ingest, ``Writer.facts_as_read``: the
rows of the sources the transaction retires or writes are left out then, so the answer is what a query at
that moment would return).
It runs after the patients' locks are taken, so no other write of their data or their requests can come
in between (those are made under the same locks); each answer is kept for this transaction only, until
the transaction itself writes what it answers (a subscription, a request, a history mark). Nothing is kept
across transactions, so every replica always reads what is committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from service.adapters.store import raw
from service.adapters.store.connection import Executes
from service.app.store_records import CurrentVersion

_VERSION, _TOPIC, _REQUEST, _FETCHED, _FACT = 0, 1, 2, 3, 4

# The rows of each part told apart by the first column; every part on an index (uq_resource_version,
# ix_subscriptions_topic, the primary keys of evaluation_jobs and history_fetches).
_FIRST_READ_TEXT = (
    "SELECT 0, {columns}{current}"
    " UNION ALL SELECT DISTINCT 1, NULL::int, topic_id, NULL, NULL::int, NULL::timestamptz, NULL, NULL"
    " FROM subscriptions WHERE status <> 'off'"
    " UNION ALL SELECT 2, generation, patient_ref, NULL, NULL, NULL, NULL, NULL"
    " FROM evaluation_jobs WHERE patient_ref = ANY($3::text[])"
    " UNION ALL SELECT 3, NULL, patient_ref, NULL, NULL, NULL, NULL, NULL"
    " FROM history_fetches WHERE patient_ref = ANY($3::text[])"
    " UNION ALL SELECT 4, pk, patient_ref, source_ref, NULL, NULL, payload, NULL"
    " FROM facts WHERE patient_ref = ANY($3::text[]) AND is_current"
)
_FIRST_READ, _FIRST_READ_FEW = (
    _FIRST_READ_TEXT.format(columns=raw.CURRENT_COLUMNS, current=keys.format(types=1, ids=2))
    for keys in (raw.CURRENT_BY_KEYS, raw.CURRENT_BY_FEW_KEYS)
)


@dataclass
class FirstRead:
    current: dict[tuple[str, str], CurrentVersion] = field(default_factory=dict)
    live_topics: set[str] = field(default_factory=set)
    generations: dict[str, int] = field(default_factory=dict)
    fetched: set[str] = field(default_factory=set)
    facts: list[tuple[int, str, str, str]] = field(default_factory=list)  # (pk, patient, source, payload)


async def first_read(conn: Executes, grouped: dict[str, list[str]], patients: Sequence[str]) -> FirstRead:
    types = [t for t, ids in grouped.items() for _ in ids]
    ids = [i for group in grouped.values() for i in group]
    found = FirstRead()
    text = _FIRST_READ if len(ids) > raw.FEW_KEYS else _FIRST_READ_FEW
    for row in await raw.fetch(conn, text, types, ids, list(patients)):
        _add(found, row)
    found.facts.sort()  # in stored order, as every read of facts
    return found


def _add(found: FirstRead, row: Any) -> None:
    part = row[0]
    if part == _VERSION:
        found.current[(row[2], row[3])] = CurrentVersion(row[1], row[4], raw.py_time(row[5]), row[6], row[7])
    elif part == _TOPIC:
        found.live_topics.add(row[2])
    elif part == _REQUEST:
        found.generations[row[2]] = row[1]
    elif part == _FETCHED:
        found.fetched.add(row[2])
    else:
        found.facts.append((row[1], row[2], row[3], row[6]))
