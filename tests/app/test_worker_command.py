"""Issue 17: ``run_workers``, the body of ``oncoresponse worker``, in process: it makes the reports a
deferring post left requested, and returns once told to stop. (tests/e2e/test_worker_e2e.py runs the
command itself, with SIGTERM and SIGKILL.)"""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest
import structlog

from service import bootstrap
from service.adapters.fhir_in.versions import FhirVersion
from service.app.ingest import Endpoint
from service.bootstrap import build, stop_workers
from service.cli_worker import run_workers
from service.config import Settings
from tests.app.test_pipeline_deferred import PATIENTS, _assessments, _bundle, _jobs

BOUND_S = 30.0


async def test_run_workers_makes_the_reports_left_requested_and_stops(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'onco.db'}",
        delivery_worker=False,
        inline_report_patients=0,
        delivery_poll_seconds=0.05,
    )
    server = build(settings)  # the serving side, without workers: it only posts
    await server.store.migrate()  # before the worker's own migration, which then finds nothing to do
    stop = asyncio.Event()
    worker = asyncio.create_task(run_workers(settings, stop))
    try:
        bundle = _bundle(PATIENTS)
        result = await server.pipeline.accept(bundle, orjson.dumps(bundle), Endpoint.BUNDLE, FhirVersion.R4)
        assert result.reports == []

        async def reported() -> None:
            while await _jobs(server) or not all([await _assessments(server, p) for p in PATIENTS]):
                await asyncio.sleep(0.05)

        await asyncio.wait_for(reported(), BOUND_S)
    finally:
        stop.set()
        await asyncio.wait_for(worker, BOUND_S)
        await server.http.aclose()
        await server.store.close()
    assert worker.done() and worker.exception() is None


async def test_stop_workers_cancels_a_worker_still_busy_after_the_grace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both workers are asked to stop; each that has not stopped within the grace is cancelled and named in a
    warning (so a stuck worker never holds up the shutdown)."""
    monkeypatch.setattr(bootstrap, "WORKER_STOP_SECONDS", 0.5)
    container = build(Settings(database_url=f"sqlite:///{tmp_path / 'onco.db'}"))
    stuck = [asyncio.create_task(asyncio.sleep(60), name=name) for name in ("evaluations", "delivery")]
    with structlog.testing.capture_logs() as logs:
        await stop_workers(container, stuck)
    assert all(task.cancelled() for task in stuck)
    warned = sorted(e["worker"] for e in logs if e["event"] == "worker_stop_timed_out")
    assert warned == ["delivery", "evaluations"]
    await container.http.aclose()
    await container.store.close()
