"""The evaluation worker (issue 17): in every replica that runs the delivery worker, it takes the evaluation
requests that are due (a crash between the ingest and the report, a request that failed, an evaluation that
kept failing until a fix) and evaluates them as the request would have: history fetch, evaluation, report,
notifications and write-back queued in the report's transaction.

A due request is claimed under a lease (its ``due_at`` moves forward), so two replicas never evaluate the
same patient at once and a dead replica's claim runs out. Nothing here can lose a request: a request only
disappears in the transaction that stores its report (``ReportWriter``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import structlog

from service.app.history import HistoryFetch
from service.app.ports import Store
from service.app.reports import ReportWriter

log = structlog.get_logger("service.evaluations")

LEASE = timedelta(minutes=2)  # longer than any one evaluation; a dead replica's claim runs out after it
BATCH = 50


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class EvaluationWorker:
    store: Store
    report_writer: ReportWriter
    history: HistoryFetch | None = None
    poll_seconds: float = 1.0
    clock: Callable[[], datetime] = _now
    observe: Callable[[int, int], None] = lambda pending, failing: None  # the /metrics gauges
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)

    def request_stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        """Poll until :meth:`request_stop`; a poll that fails (the database briefly away) is logged."""
        while not self._stopping.is_set():
            try:
                done = await self.tick()
            except Exception:
                log.exception("evaluation_poll_failed")
                done = 0
            if not done:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self.poll_seconds)

    async def tick(self) -> int:
        """Evaluate the requests due now; how many were evaluated."""
        now = self.clock()
        async with self.store.reading() as reader:
            self.observe(*await reader.evaluation_jobs.counts())
            jobs = await reader.evaluation_jobs.due(now, BATCH)
        done = 0
        for job in jobs:
            async with self.store.writing({job.patient_ref}) as writer:
                claimed = await writer.evaluation_jobs.claim(job, now, LEASE)
            if not claimed:
                continue
            if self.history is not None:
                await self.history({job.patient_ref})
            await self.report_writer.evaluate_patient(job.patient_ref)
            done += 1
        if done:
            self.report_writer.wake()
            log.info("evaluations_resumed", count=done)
        return done
