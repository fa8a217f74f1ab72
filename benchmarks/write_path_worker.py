"""Bulk ingest with the reports made by a worker process (issue 17).

The same posts as :func:`benchmarks.write_path.through_http`, to a server started with
``ONCO_INLINE_REPORT_PATIENTS=1`` and ``ONCO_DELIVERY_WORKER=false``: each 40-patient Bundle is answered once
its data and its patients' evaluation requests are committed, and one ``oncoresponse worker`` process beside
it makes the reports, on the machine's other core. The clock stops when the last report is stored (no
request owed is left), not at the last answer; a request left failing fails the benchmark.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

import httpx
from sqlalchemy import func, select

from benchmarks.evaluate import _cpu_seconds as process_cpu_seconds
from benchmarks.write_path import _HEADERS, PATIENTS_PER_BUNDLE, _free_port, _serve, _wait_ready
from service.adapters.store import SqlStore
from service.adapters.store.tables import report_versions

_POLL = 0.02  # how often the benchmark looks whether every report is stored
_WORKER_POLL = "0.05"  # the idle worker's ONCO_DELIVERY_POLL_SECONDS: the last report's delay is within it


def _environment(database_url: str) -> dict[str, str]:
    return {**os.environ, "ONCO_DATABASE_URL": database_url, "ONCO_LOG_LEVEL": "WARNING"}


def _worker(database_url: str) -> subprocess.Popen[bytes]:
    env = {**_environment(database_url), "ONCO_DELIVERY_POLL_SECONDS": _WORKER_POLL}
    return subprocess.Popen([sys.executable, "-c", "from service.cli import app; app()", "worker"], env=env)


async def _reports(store: SqlStore) -> int:
    """How many patients have a stored report (their evaluation's outcome recorded as one)."""
    query = select(func.count()).select_from(report_versions).where(report_versions.c.outcome == "report")
    async with store.engine.connect() as conn:
        return int((await conn.execute(query)).scalar_one())


async def _owed(store: SqlStore) -> tuple[int, int]:
    async with store.reading() as reader:
        pending, failing, _reevaluating = await reader.evaluation_jobs.counts()
    return pending, failing


def _until_reported(runner: asyncio.Runner, store: SqlStore) -> None:
    """Return once no report is owed; raise if one is failing."""
    while True:
        pending, failing = runner.run(_owed(store))
        if failing:
            raise RuntimeError(f"{failing} evaluations failed in the worker")
        if not pending:
            return
        time.sleep(_POLL)


def through_http_with_worker(database_url: str, bundles: list[bytes], warm_up: bytes) -> tuple[float, float]:
    """Seconds from the first post until every report is stored, and the CPU seconds per Bundle of the
    server and the worker together."""
    port = _free_port()
    server = _serve(database_url, port, "delivery_worker=False, inline_report_patients=1")
    worker = None
    store = SqlStore(database_url)
    try:
        with (
            asyncio.Runner() as runner,
            httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=300) as client,
        ):
            _wait_ready(client)  # the server has migrated the store before the worker starts
            worker = _worker(database_url)
            client.post("/fhir", content=warm_up, headers=_HEADERS).raise_for_status()
            _until_reported(runner, store)
            pids = (server.pid, worker.pid)
            cpu, started = sum(map(process_cpu_seconds, pids)), time.perf_counter()
            for raw in bundles:
                client.post("/fhir", content=raw, headers=_HEADERS).raise_for_status()
            _until_reported(runner, store)
            elapsed = time.perf_counter() - started
            cpu_per_bundle = (sum(map(process_cpu_seconds, pids)) - cpu) / len(bundles)
            patients = (len(bundles) + 1) * PATIENTS_PER_BUNDLE
            if (stored := runner.run(_reports(store))) != patients:
                raise RuntimeError(f"{stored} reports stored for {patients} patients")
            runner.run(store.close())
            return elapsed, cpu_per_bundle
    finally:
        for process in (server, worker):
            if process is not None:
                process.terminate()
                process.wait(30)
