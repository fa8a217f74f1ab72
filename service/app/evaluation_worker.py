"""The evaluation worker (issue 17): in every replica that runs the delivery worker, it takes the evaluation
requests that are due (a crash between the ingest and the report, a request that failed, an evaluation that
kept failing until a fix, a re-evaluation after the knowledge changed) and evaluates them as the request
would have: history fetch, evaluation, report, notifications and write-back queued in the report's
transaction.

At its start it requests the re-evaluation of every patient whose last evaluation was made with another
knowledge-base or rules version (:func:`request_stale`). Due requests are claimed in batches under a lease
(their ``due_at`` moves forward; ``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so two replicas never take the
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
from service.app.reevaluation import BatchReports, request_stale
from service.app.reports import ReportWriter

log = structlog.get_logger("service.evaluations")

LEASE = timedelta(minutes=2)  # the default of ONCO_EVALUATION_LEASE_SECONDS: a dead replica's claim runs out
BATCH = 100


def _now() -> datetime:
    return datetime.now(UTC)


def _ignore(pending: int, failing: int, reevaluating: int) -> None:
    """The default observer: no /metrics (the CLI, tests)."""


@dataclass
class EvaluationWorker:
    store: Store
    report_writer: ReportWriter
    history: HistoryFetch | None = None
    poll_seconds: float = 1.0
    clock: Callable[[], datetime] = _now
    observe: Callable[[int, int, int], None] = _ignore  # the /metrics gauges
    batch: int = BATCH
    lease: timedelta = LEASE  # longer than any one batch takes
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)
    _poked: asyncio.Event = field(default_factory=asyncio.Event)  # stop, or a request due now

    def request_stop(self) -> None:
        self._stopping.set()
        self._poked.set()

    def wake(self) -> None:
        """Requests are due now (a post left them to the workers): poll at once, not in ``poll_seconds``."""
        self._poked.set()

    async def run(self) -> None:
        """Request the stale patients' re-evaluation, then poll until :meth:`request_stop`; a poll that fails
        (the database briefly away) is logged."""
        try:
            await self.request_stale()
        except Exception:
            log.exception("reevaluation_request_failed")
        while not self._stopping.is_set():
            try:
                done = await self.tick()
            except Exception:
                log.exception("evaluation_poll_failed")
                done = 0
            if not done:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._poked.wait(), self.poll_seconds)
                self._poked.clear()

    async def request_stale(self) -> int:
        """Owe a report to each patient last evaluated with another knowledge-base or rules version."""
        count = await request_stale(self.store, self.report_writer.versions, self.clock())
        if count:
            log.info("reevaluation_requested", count=count, **self.report_writer.versions.as_log())
        return count

    async def tick(self) -> int:
        """Claim a batch of the requests due now and evaluate it; how many were evaluated."""
        now = self.clock()
        async with self.store.reading() as reader:
            self.observe(*await reader.evaluation_jobs.counts())
            if not await reader.evaluation_jobs.any_due(now):
                return 0
        async with self.store.writing(set()) as writer:
            jobs = await writer.evaluation_jobs.claim_due(now, self.lease, self.batch)
        if not jobs:
            return 0
        if self.history is not None:
            await self.history({job.patient_ref for job in jobs})
        await BatchReports(self.report_writer)(jobs)
        log.info("evaluations_resumed", count=len(jobs))
        return len(jobs)

    async def drain(self, progress: Callable[[int], None] = lambda done: None) -> int:
        """Evaluate what is due until nothing is (the benchmark, ``reevaluate --here``); how many."""
        total = 0
        while done := await self.tick():
            total += done
            progress(done)
        return total
