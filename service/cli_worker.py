"""``oncoresponse worker`` (issue 17): the evaluation worker and the delivery worker, without the HTTP API.

Run beside the served replicas, it makes the reports they leave to the workers (a post changing more patients
than ``ONCO_INLINE_REPORT_PATIENTS``, a crash's, a failure's, a re-evaluation's) and delivers the outbox, on a
core of its own: Python runs one thread of Python at a time per process, so a report made here does not
hold up the server's next request. Replicas started with ``ONCO_DELIVERY_WORKER=false`` leave all of it to
such processes; any number of them may run (claims are leased, ``SKIP LOCKED`` on PostgreSQL). A request
found due is evaluated at once; an idle worker looks again every ``ONCO_DELIVERY_POLL_SECONDS``. SIGTERM or
SIGINT stops it after its current batch.
"""

from __future__ import annotations

import asyncio
import signal
from typing import TYPE_CHECKING

import structlog

from service import collector

if TYPE_CHECKING:
    from service.config import Settings

log = structlog.get_logger("service.worker")


def worker_command() -> None:
    """Run the evaluation and delivery workers (no HTTP) until SIGTERM or SIGINT."""
    from service.cli import load_settings
    from service.log import configure_logging

    settings = load_settings()
    configure_logging(settings)
    asyncio.run(run_workers(settings))


async def run_workers(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Both workers of one process until ``stop`` is set (by SIGTERM or SIGINT when not given)."""
    from service.bootstrap import build, stop_workers

    container = build(settings)
    await container.store.migrate()
    collector.settle()  # a long run: the collector tuned as in the served app
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
    running = [
        asyncio.create_task(container.evaluations.run(), name="evaluations"),
        asyncio.create_task(container.delivery.run(), name="delivery"),
    ]
    log.info("worker_started")
    try:
        await stop.wait()
    finally:
        await stop_workers(container, running)  # both at once, within 15 s of SIGTERM
        await container.http.aclose()
        await container.store.close()
        log.info("worker_stopped")
