"""The durable write path against its floor (issue 17).

Bulk ingest through HTTP: transaction Bundles of 40 patients (63 resources each) posted one after another by
one client to one uvicorn worker on 127.0.0.1, each answered after its data, every patient's re-evaluation and
stored report are committed. Beside it, in the same run, the durable floor: the same resources stored
verbatim, one transaction per Bundle, with no normalisation, facts, reports or HTTP (plain ``sqlite3`` with
WAL and ``synchronous=FULL``; ``asyncpg`` ``executemany`` for PostgreSQL).

And the one-patient post in process (ASGI, no network): what a sender waits for, ingest plus report.

Wall times and the floor vary with the machine's load and the disk's flushes; the server's CPU per Bundle
(read from /proc) and the one-patient post's CPU (``time.thread_time``) are the steadier figures to compare
versions by.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

import asyncpg
import httpx
import orjson

from benchmarks.evaluate import _cpu_seconds as process_cpu_seconds
from benchmarks.synthetic import patient_resources
from benchmarks.timing import median_seconds_async
from service.api.app import create_app
from service.config import Settings
from service.log import configure_logging

PATIENTS_PER_BUNDLE = 40
# 24 (8 until the worker's way was measured): a back-fill is many Bundles, and the worker's way ends with a
# fixed tail, the last Bundle's reports made after its answer, which a shorter run would weigh as throughput.
BUNDLES = int(os.environ.get("ONCO_BENCH_BUNDLES", "24"))
# A database of the benchmark's own, created when missing: it is emptied before each measurement.
POSTGRES_URL = os.environ.get(
    "ONCO_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/oncoresponse_bench"
)
_HEADERS = {"content-type": "application/fhir+json"}


def transaction(tag: str, patients: int, time_points: int = 6) -> bytes:
    """A transaction Bundle of ``patients`` synthetic patients, each resource a PUT of its own id."""
    entries = [
        {"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}}
        for p in range(patients)
        for r in patient_resources(f"{tag}-{p}", time_points)
    ]
    return orjson.dumps({"resourceType": "Bundle", "type": "transaction", "entry": entries})


def _resources(raw: bytes) -> list[dict[str, Any]]:
    return [e["resource"] for e in orjson.loads(raw)["entry"]]


def sqlite_floor(bundles: list[bytes]) -> float:
    """Seconds to store every Bundle's resources verbatim, one durable transaction per Bundle."""
    with tempfile.TemporaryDirectory() as tmp:
        db = sqlite3.connect(f"{tmp}/floor.db", isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute(
            "CREATE TABLE r (type TEXT, id TEXT, version INT, body BLOB, PRIMARY KEY (type, id, version))"
        )
        started = time.perf_counter()
        for raw in bundles:
            rows = [(r["resourceType"], r["id"], orjson.dumps(r)) for r in _resources(raw)]
            db.execute("BEGIN IMMEDIATE")
            db.executemany("INSERT INTO r VALUES (?, ?, 1, ?)", rows)
            db.execute("COMMIT")
        elapsed = time.perf_counter() - started
        db.close()
        return elapsed


async def postgres_floor(bundles: list[bytes]) -> float:
    conn = await asyncpg.connect(POSTGRES_URL)
    try:
        await conn.execute("DROP TABLE IF EXISTS bench_floor")
        await conn.execute(
            "CREATE TABLE bench_floor (type TEXT, id TEXT, version INT, body JSONB,"
            " PRIMARY KEY (type, id, version))"
        )
        started = time.perf_counter()
        for raw in bundles:
            rows = [(r["resourceType"], r["id"], orjson.dumps(r).decode()) for r in _resources(raw)]
            async with conn.transaction():
                await conn.executemany("INSERT INTO bench_floor VALUES ($1, $2, 1, $3)", rows)
        elapsed = time.perf_counter() - started
        await conn.execute("DROP TABLE bench_floor")
        return elapsed
    finally:
        await conn.close()


async def reset_postgres() -> None:
    """The benchmark owns the database it is given: every table of the service is dropped first."""
    try:
        conn = await asyncpg.connect(POSTGRES_URL)
    except asyncpg.InvalidCatalogNameError:
        name = POSTGRES_URL.rsplit("/", 1)[1]
        admin = await asyncpg.connect(POSTGRES_URL.rsplit("/", 1)[0] + "/postgres")
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()
        conn = await asyncpg.connect(POSTGRES_URL)
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        await conn.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(database_url: str, port: int, settings: str = "") -> subprocess.Popen[bytes]:
    """A uvicorn server process; ``settings``: more ``Settings`` arguments, as Python source."""
    code = (
        "import uvicorn; from service.api.app import create_app; from service.config import Settings; "
        "from service.log import configure_logging; "
        f"s = Settings(database_url={database_url!r}, log_level='WARNING', {settings}); "
        "configure_logging(s); "
        f"uvicorn.run(create_app(s), host='127.0.0.1', port={port}, access_log=False, log_level='warning')"
    )
    return subprocess.Popen([sys.executable, "-c", code])


def _wait_ready(client: httpx.Client) -> None:
    for _ in range(300):
        try:
            if client.get("/healthz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the service did not start")


def through_http(database_url: str, bundles: list[bytes], warm_up: bytes) -> tuple[float, float]:
    """Seconds to post every Bundle, one at a time, to a fresh service process (each must be a 200), and
    the server process's CPU seconds per Bundle meanwhile."""
    port = _free_port()
    server = _serve(database_url, port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=300) as client:
            _wait_ready(client)
            client.post("/fhir", content=warm_up, headers=_HEADERS).raise_for_status()
            cpu, started = process_cpu_seconds(server.pid), time.perf_counter()
            for raw in bundles:
                response = client.post("/fhir", content=raw, headers=_HEADERS)
                response.raise_for_status()
            elapsed = time.perf_counter() - started
            return elapsed, (process_cpu_seconds(server.pid) - cpu) / len(bundles)
    finally:
        server.terminate()
        server.wait(30)


def one_patient_post_ms(database_url: str, repeats: int = 15) -> tuple[float, float]:
    """Median wall and CPU milliseconds of a one-patient transaction ``POST /fhir`` in process: ingest,
    report, events."""
    bundles = [transaction(f"one{i}", 1) for i in range(repeats + 1)]
    cpu: list[float] = []

    async def run() -> float:
        settings = Settings(database_url=database_url, delivery_worker=False, log_level="WARNING")
        configure_logging(settings)
        app = create_app(settings)
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://bench") as client,
        ):

            async def post(i: int) -> None:
                started = time.thread_time()
                (await client.post("/fhir", content=bundles[i + 1], headers=_HEADERS)).raise_for_status()
                cpu.append(time.thread_time() - started)

            return await median_seconds_async(post, repeats)

    wall = asyncio.run(run())
    return wall * 1e3, statistics.median(cpu[1:]) * 1e3  # the first is the warm-up
