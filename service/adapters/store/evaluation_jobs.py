"""The durable evaluation requests (issue 17): a row per patient whose data changed, written in the same
transaction as the data, removed in the same transaction as the report. While a row exists, the report is
owed: the request evaluates inline, and the worker of any replica takes over what a crash or a failing
evaluation left behind.

- ``request``: in the ingest transaction; a new row, or the next ``generation`` of the existing one, due after
  a grace period during which the request that stored the data evaluates it itself.
- ``claim``: the worker moves a due row's ``due_at`` forward by a lease; a replica that dies holding it lets
  the lease run out and another takes the row. Evaluating twice is harmless: the report is written under the
  patient's write lock and only when its content changed.
- ``complete``: in the report transaction, only for the generation that was evaluated (a newer change keeps
  its row).
- ``fail``: the attempt count and the error's class (never a message: no PHI), due again after a backoff; a
  row is never dropped, so a fix to the knowledge base or the code is picked up by the next attempt.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, insert, select, update

from service.adapters.store.connection import Executes, utc
from service.adapters.store.tables import evaluation_jobs, facts

_JOBS = evaluation_jobs.c


@dataclass(frozen=True, slots=True)
class EvaluationJob:
    patient_ref: str
    generation: int
    requested_at: datetime
    due_at: datetime
    attempts: int
    last_error: str | None


class EvaluationJobs:
    """The evaluation requests, on the connection of the caller's transaction."""

    def __init__(self, conn: Executes) -> None:
        self.conn = conn

    async def request(self, patients: set[str], now: datetime, grace: timedelta) -> None:
        """Owe a report for each patient: a new row, or the next generation of the row already there."""
        existing = await self._generations(patients)
        for patient in sorted(patients):
            values = {"requested_at": now, "due_at": now + grace, "attempts": 0, "last_error": None}
            if patient in existing:
                await self.conn.execute(
                    update(evaluation_jobs)
                    .where(_JOBS.patient_ref == patient)
                    .values(generation=existing[patient] + 1, **values)
                )
            else:
                await self.conn.execute(
                    insert(evaluation_jobs).values(patient_ref=patient, generation=1, **values)
                )

    async def job(self, patient: str) -> EvaluationJob | None:
        row = (await self.conn.execute(select(evaluation_jobs).where(_JOBS.patient_ref == patient))).first()
        return _job(row._mapping) if row else None

    async def complete(self, patient: str, generation: int | None) -> None:
        """The report for this generation is stored (or nothing is assessable): the request is met."""
        if generation is not None:
            await self.conn.execute(
                delete(evaluation_jobs).where(_JOBS.patient_ref == patient, _JOBS.generation == generation)
            )

    async def fail(
        self, patient: str, generation: int, error: str, now: datetime, backoff: timedelta
    ) -> None:
        await self.conn.execute(
            update(evaluation_jobs)
            .where(_JOBS.patient_ref == patient, _JOBS.generation == generation)
            .values(attempts=_JOBS.attempts + 1, last_error=error[:200], due_at=now + backoff)
        )

    async def due(self, now: datetime, limit: int) -> list[EvaluationJob]:
        rows = await self.conn.execute(
            select(evaluation_jobs).where(_JOBS.due_at <= now).order_by(_JOBS.due_at).limit(limit)
        )
        return [_job(row._mapping) for row in rows]

    async def claim(self, job: EvaluationJob, now: datetime, lease: timedelta) -> bool:
        """Take a due row for ``lease``; False when another worker (or a newer change) got there first."""
        result = await self.conn.execute(
            update(evaluation_jobs)
            .where(
                _JOBS.patient_ref == job.patient_ref,
                _JOBS.generation == job.generation,
                _JOBS.due_at <= now,
            )
            .values(due_at=now + lease)
        )
        return bool(cast("CursorResult[Any]", result).rowcount)  # an UPDATE's result has a row count

    async def counts(self) -> tuple[int, int]:
        """(requests pending, of which failing: tried at least once without a report)."""
        failing = func.count().filter(_JOBS.attempts > 0).label("failing")
        query = select(func.count().label("pending"), failing).select_from(evaluation_jobs)
        counts = (await self.conn.execute(query)).one()._mapping
        return int(counts["pending"]), int(counts["failing"])

    async def known_patients(self) -> list[str]:
        """Every patient with current facts: the ones a re-evaluation of everything covers."""
        query = select(facts.c.patient_ref).where(facts.c.is_current).distinct()
        return sorted(row.patient_ref for row in await self.conn.execute(query))

    async def all(self) -> list[EvaluationJob]:
        rows = await self.conn.execute(select(evaluation_jobs).order_by(_JOBS.requested_at))
        return [_job(row._mapping) for row in rows]

    async def _generations(self, patients: set[str]) -> dict[str, int]:
        if not patients:
            return {}
        rows = await self.conn.execute(
            select(_JOBS.patient_ref, _JOBS.generation).where(_JOBS.patient_ref.in_(sorted(patients)))
        )
        return {row.patient_ref: row.generation for row in rows}


def _job(row: object) -> EvaluationJob:
    m = dict(row)  # type: ignore[call-overload]  # a RowMapping
    return EvaluationJob(
        m["patient_ref"],
        m["generation"],
        utc(m["requested_at"]),
        utc(m["due_at"]),
        m["attempts"],
        m["last_error"],
    )
