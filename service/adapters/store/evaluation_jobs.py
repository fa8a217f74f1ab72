"""The durable evaluation requests (issue 17): a row per patient whose data changed without its report being
stored in the same transaction, written with the data, removed in the same transaction as the report. While
a row exists, the report is owed: the worker of any replica makes what a failing evaluation, a history
fetch or a crash after the commit left behind.

- ``request``: in the ingest transaction, for each changed patient whose report that transaction did not
  store itself (its evaluation failed, or waits for the EHR's history, or the ingest ran without the
  pipeline); a new row, or the next ``generation`` of the existing one, due after a grace period during
  which the request that stored the data may still evaluate it.
- ``claim_due``: the worker takes a batch of due rows and moves their ``due_at`` forward by a lease, in one
  transaction; on PostgreSQL the rows are locked ``FOR UPDATE SKIP LOCKED``, so two replicas claiming at
  once take disjoint batches (on SQLite the write lock serialises the claims). A replica that dies holding
  rows lets the lease run out and another takes them. Evaluating twice would be harmless anyway: the report
  is written under the patient's write lock and only when its result changed.
- ``request_reevaluation``: after a knowledge-base or rules version change (``stale_patients``), a row for
  each patient that has none (reason ``reevaluation``); a pending request is evaluated with the new
  knowledge anyway.
- ``record_versions``: in the report's transaction, the knowledge-base and rules versions it was made with
  (table ``report_versions``), so ``stale_patients`` is one query.
- ``complete``: in the report transaction, only for the generation that was evaluated (a newer change keeps
  its row).
- ``fail``: the attempt count and the error's class (never a message: no PHI), due again after a backoff; a
  row is never dropped, so a fix to the knowledge base or the code is picked up by the next attempt.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, or_, select, update

from service.adapters.store import raw
from service.adapters.store.connection import Executes, utc
from service.adapters.store.tables import evaluation_jobs, facts, report_versions

# The values of the store port, defined with it (service/app/store_records.py) and re-exported here.
from service.app.store_records import DATA as DATA
from service.app.store_records import REEVALUATION as REEVALUATION
from service.app.store_records import EvaluatedWith as EvaluatedWith
from service.app.store_records import EvaluationJob as EvaluationJob

_JOBS = evaluation_jobs.c
_VERSIONS = report_versions.c
_CHUNK = 500  # bound parameters per IN list, well under SQLite's and asyncpg's limits


class EvaluationJobs:
    """The evaluation requests, on the connection of the caller's transaction."""

    def __init__(self, conn: Executes) -> None:
        self.conn = conn
        # The requests of the transaction's patients as its first read found them (first_read.py), kept
        # until this transaction writes one.
        self._known: tuple[frozenset[str], dict[str, int]] | None = None

    def know_generations(self, patients: frozenset[str], generations: dict[str, int]) -> None:
        self._known = patients, generations

    async def request(self, patients: set[str], now: datetime, grace: timedelta) -> None:
        """Owe a report for each patient: a new row, or the next generation of the row already there."""
        self._known = None
        requested, due = raw.db_time(self.conn, now), raw.db_time(self.conn, now + grace)
        rows = [(p, requested, due, DATA) for p in sorted(patients)]
        await raw.execute_many(self.conn, _REQUEST, rows)

    async def job(self, patient: str) -> EvaluationJob | None:
        row = (await self.conn.execute(select(evaluation_jobs).where(_JOBS.patient_ref == patient))).first()
        return _job(row._mapping) if row else None

    async def complete(self, patient: str, generation: int | None) -> None:
        """The report for this generation is stored (or nothing is assessable): the request is met."""
        self._known = None
        if generation is not None:
            await self.conn.execute(
                delete(evaluation_jobs).where(_JOBS.patient_ref == patient, _JOBS.generation == generation)
            )

    async def fail(
        self, patient: str, generation: int, error: str, now: datetime, backoff: timedelta
    ) -> None:
        self._known = None
        await self.conn.execute(
            update(evaluation_jobs)
            .where(_JOBS.patient_ref == patient, _JOBS.generation == generation)
            .values(attempts=_JOBS.attempts + 1, last_error=error[:200], due_at=now + backoff)
        )

    async def any_due(self, now: datetime) -> bool:
        query = select(_JOBS.patient_ref).where(_JOBS.due_at <= now).limit(1)
        return (await self.conn.execute(query)).first() is not None

    async def claim_due(self, now: datetime, lease: timedelta, limit: int) -> list[EvaluationJob]:
        """Take up to ``limit`` due rows for ``lease``, in the caller's write transaction. PostgreSQL locks
        them ``FOR UPDATE SKIP LOCKED``: a concurrent claimer skips them instead of waiting, then finds
        their ``due_at`` moved past its ``now``. (The SQLite dialect leaves the clause out: there the
        transaction already holds the database's one write lock.)"""
        self._known = None
        query = (
            select(evaluation_jobs)
            .where(_JOBS.due_at <= now)
            .order_by(_JOBS.due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        jobs = [_job(row._mapping) for row in await self.conn.execute(query)]
        if jobs:
            await self.conn.execute(
                update(evaluation_jobs)
                .where(_JOBS.patient_ref.in_([j.patient_ref for j in jobs]))
                .values(due_at=now + lease)
            )
        return jobs

    async def counts(self) -> tuple[int, int, int]:
        """(requests pending, of which failing: tried at least once without a report, and of which asked
        for by a knowledge change or an operator: re-evaluations)."""
        failing = func.count().filter(_JOBS.attempts > 0).label("failing")
        again = func.count().filter(_JOBS.reason == REEVALUATION).label("again")
        query = select(func.count().label("pending"), failing, again).select_from(evaluation_jobs)
        counts = (await self.conn.execute(query)).one()._mapping
        return int(counts["pending"]), int(counts["failing"]), int(counts["again"])

    async def stale_patients(self, knowledge_version: str, rules_version: str) -> list[str]:
        """Every patient with current facts whose last evaluation was made with other versions (or was
        never recorded: stored before the versions were)."""
        v = _VERSIONS
        differs = or_(
            v.patient_ref.is_(None),
            v.knowledge_version != knowledge_version,
            v.rules_version != rules_version,
        )
        query = (
            select(facts.c.patient_ref)
            .distinct()
            .select_from(facts.outerjoin(report_versions, v.patient_ref == facts.c.patient_ref))
            .where(facts.c.is_current, differs)
        )
        return sorted(row.patient_ref for row in await self.conn.execute(query))

    async def request_reevaluation(self, patients: list[str], now: datetime) -> int:
        """A row, due now, for each patient that has none; how many were added."""
        self._known = None
        existing = await self.generations(set(patients))
        rows = [
            {
                "patient_ref": p,
                "generation": 1,
                "requested_at": now,
                "due_at": now,
                "attempts": 0,
                "last_error": None,
                "reason": REEVALUATION,
            }
            for p in patients
            if p not in existing
        ]
        if rows:
            await self.conn.execute(insert(evaluation_jobs), rows)
        return len(rows)

    async def complete_all(self, met: list[tuple[str, int]]) -> None:
        """``complete`` for each (patient, generation), in one statement."""
        self._known = None
        await raw.execute_many(self.conn, _COMPLETE, met)

    async def record_versions(self, evaluated: list[EvaluatedWith], now: datetime) -> None:
        """The versions of each patient's evaluation (its last in the list), replacing what was recorded."""
        at = raw.db_time(self.conn, now)
        rows = {e.patient_ref: (*_columns(e).values(), at) for e in evaluated}
        if (owe := getattr(self.conn, "owe_report_versions", None)) is not None:
            owe(rows.values())  # PostgreSQL: with the transaction's next batch of versions (owed.py)
            return
        await raw.execute_many(self.conn, RECORD_VERSIONS, sorted(rows.values()))

    async def evaluated_with(self, patient: str) -> EvaluatedWith | None:
        query = select(report_versions).where(_VERSIONS.patient_ref == patient)
        row = (await self.conn.execute(query)).first()
        if row is None:
            return None
        m = row._mapping
        return EvaluatedWith(m["patient_ref"], m["knowledge_version"], m["rules_version"], m["outcome"])

    async def owed(self, patients: set[str]) -> tuple[int, int]:
        """Of these patients, how many are owed a report, and how many of those are failing."""
        pending = failing = 0
        refs = sorted(patients)
        for chunk in (refs[i : i + _CHUNK] for i in range(0, len(refs), _CHUNK)):
            query = select(_JOBS.attempts).where(_JOBS.patient_ref.in_(chunk))
            attempts = [row.attempts for row in await self.conn.execute(query)]
            pending, failing = pending + len(attempts), failing + sum(1 for a in attempts if a)
        return pending, failing

    async def known_patients(self) -> list[str]:
        """Every patient with current facts: the ones a re-evaluation of everything covers."""
        query = select(facts.c.patient_ref).where(facts.c.is_current).distinct()
        return sorted(row.patient_ref for row in await self.conn.execute(query))

    async def all(self) -> list[EvaluationJob]:
        rows = await self.conn.execute(select(evaluation_jobs).order_by(_JOBS.requested_at))
        return [_job(row._mapping) for row in rows]

    async def generations(self, patients: set[str]) -> dict[str, int]:
        """The pending generation of each patient that has a request, in one query."""
        if not patients:
            return {}
        if self._known is not None and patients <= self._known[0]:
            return {p: g for p, g in self._known[1].items() if p in patients}
        rows = await raw.fetch(self.conn, _GENERATIONS, raw.array(self.conn, sorted(patients)))
        return {row[0]: row[1] for row in rows}


# The statements of the ingest's and the report's transactions (issue 17: prepared, see raw.py).
_REQUEST = (
    "INSERT INTO evaluation_jobs (patient_ref, generation, requested_at, due_at, attempts, reason)"
    " VALUES ($1, 1, $2, $3, 0, $4) ON CONFLICT (patient_ref) DO UPDATE SET"
    " generation = evaluation_jobs.generation + 1, requested_at = excluded.requested_at,"
    " due_at = excluded.due_at, attempts = 0, last_error = NULL, reason = excluded.reason"
)
_COMPLETE = "DELETE FROM evaluation_jobs WHERE patient_ref = $1 AND generation = $2"
RECORD_VERSIONS = (
    "INSERT INTO report_versions (patient_ref, knowledge_version, rules_version, outcome, evaluated_at)"
    " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (patient_ref) DO UPDATE SET"
    " knowledge_version = excluded.knowledge_version, rules_version = excluded.rules_version,"
    " outcome = excluded.outcome, evaluated_at = excluded.evaluated_at"
)
_GENERATIONS = "SELECT patient_ref, generation FROM evaluation_jobs WHERE patient_ref = ANY($1::text[])"


def _job(row: object) -> EvaluationJob:
    m = dict(row)  # type: ignore[call-overload]  # a RowMapping
    return EvaluationJob(
        m["patient_ref"],
        m["generation"],
        utc(m["requested_at"]),
        utc(m["due_at"]),
        m["attempts"],
        m["last_error"],
        m["reason"],
    )


def _columns(e: EvaluatedWith) -> dict[str, str]:
    return {
        "patient_ref": e.patient_ref,
        "knowledge_version": e.knowledge_version,
        "rules_version": e.rules_version,
        "outcome": e.outcome,
    }
