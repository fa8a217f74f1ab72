"""$evaluate in process (issue 19): the served app called as ASGI with no network, and the evaluation's cost
by number of time points. Each figure is given as wall time and as the thread's CPU time: on a shared
machine the wall time grows with the load, the CPU time much less, so the two side by side show how much of
a figure is the machine rather than the code."""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from benchmarks.server import bench_app
from benchmarks.synthetic import collection
from service import collector
from service.adapters.fhir_in.evaluate_params import EvaluateParams
from service.adapters.fhir_in.versions import FhirVersion
from service.app.evaluate import EvaluationRequest
from service.app.ingest import Endpoint
from service.cli_evaluate import read_bundle, scratch_container


@dataclass(frozen=True)
class Cost:
    wall_ms: float
    cpu_ms: float


async def _cost(make: Callable[[], Awaitable[object]], repeats: int) -> Cost:
    """Medians of ``repeats`` runs after one warm-up, wall and thread CPU time."""
    await make()
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.thread_time()
        await make()
        cpus.append(time.thread_time() - cpu)
        walls.append(time.perf_counter() - wall)
    return Cost(statistics.median(walls) * 1e3, statistics.median(cpus) * 1e3)


def _scope(path: str, query: bytes, length: int) -> dict[str, Any]:
    headers = [(b"host", b"127.0.0.1"), (b"content-type", b"application/fhir+json")]
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
            "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query,
            "root_path": "", "headers": [*headers, (b"content-length", str(length).encode())],
            "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8080), "state": {}}  # fmt: skip


async def _post(app: Any, path: str, query: bytes, body: bytes) -> None:
    """One request through the whole app (middleware, guard, route, response), answered in memory."""
    messages: list[dict[str, Any]] = []
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if delivered:  # the app asks again only to watch for a disconnect: there is none
            await asyncio.Event().wait()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    await app(_scope(path, query, len(body)), receive, send)
    if messages[0]["status"] != 200:
        raise RuntimeError(f"{path}: {messages[0]['status']} {messages[-1].get('body', b'')[:300]!r}")


_ROUNDS = 10  # each endpoint measured in turn, round after round: a slow minute of the machine falls on all


async def _asgi(repeats: int) -> dict[str, Cost]:
    body = orjson.dumps(collection(1, 6))
    asked = {
        "orjson parse": ("/bench/parse", b""),
        "$evaluate": ("/fhir/$evaluate", b""),
        "$evaluate with presentedForm": ("/fhir/$evaluate", b"presentedForm=true"),
    }
    walls: dict[str, list[float]] = {name: [] for name in asked}
    cpus: dict[str, list[float]] = {name: [] for name in asked}
    with tempfile.TemporaryDirectory() as tmp:
        app = bench_app(f"sqlite:///{tmp}/bench.db")
        async with app.router.lifespan_context(app):  # migrations, collector.settle(), the workers: as served
            for _ in range(_ROUNDS):
                for name, (path, query) in asked.items():
                    await _post(app, path, query, body)  # a warm-up after the other endpoints' requests
                    for _ in range(max(1, repeats // _ROUNDS)):
                        wall, cpu = time.perf_counter(), time.thread_time()
                        await _post(app, path, query, body)
                        cpus[name].append(time.thread_time() - cpu)
                        walls[name].append(time.perf_counter() - wall)
    median_ms = statistics.median
    return {name: Cost(median_ms(walls[name]) * 1e3, median_ms(cpus[name]) * 1e3) for name in asked}


def asgi_costs(repeats: int = 300) -> dict[str, Cost]:
    """The app in process on the one-patient, six-time-point Bundle, per endpoint: medians of ``repeats``
    requests each, the endpoints taken in turn over ten rounds. Its request log lines are written, as when
    served, to a null device rather than into the report's output."""
    with Path(os.devnull).open("w") as null, contextlib.redirect_stderr(null):
        return asyncio.run(_asgi(repeats))


@dataclass(frozen=True)
class Scaling:
    time_points: int
    resources: int
    posted: Cost  # $evaluate of the posted Bundle, as the route does it (no HTML unless asked)
    stored: Cost  # the stored patient, as after each ingestion (read, decode, assess, render with the HTML)


async def _scaling(points: tuple[int, ...], repeats: int) -> list[Scaling]:
    rows = []
    async with scratch_container() as container:
        collector.settle()  # as the served app does at the end of start-up (service/api/app.py)
        for count in points:
            raw = orjson.dumps(collection(1, count, spacing_days=14)).replace(
                b"bench-", f"s{count}-".encode()
            )
            bundle = orjson.loads(raw)

            async def posted(raw: bytes = raw) -> None:
                params = EvaluateParams(bundle=read_bundle(raw))
                assessment = await container.evaluate_operation(params, raw, FhirVersion.R4)
                container.render(assessment, "en", "4.0", datetime.now(UTC), with_html=False)

            posted_cost = await _cost(posted, repeats)
            result = await container.ingest(bundle, raw, Endpoint.BUNDLE, FhirVersion.R4)
            (patient,) = result.patients

            async def stored(patient: str = patient) -> None:
                assessment = await container.evaluate(EvaluationRequest(patient))
                container.render(assessment, "en", "4.0", datetime.now(UTC))

            stored_cost = await _cost(stored, repeats)
            rows.append(Scaling(count, len(bundle["entry"]), posted_cost, stored_cost))
    return rows


def scaling(points: tuple[int, ...] = (6, 60, 600), repeats: int = 5) -> list[Scaling]:
    return asyncio.run(_scaling(points, repeats))


def scaling_lines() -> list[str]:
    rows = scaling()
    lines = [
        "Evaluation cost by number of time points, in process, median of 5 after `collector.settle()` as the",
        "served app does at the end of start-up. Posted: `$evaluate` of the Bundle as the route does it",
        "(plan, normalise, the store read of a patient with nothing stored, assess, render without the",
        "HTML). Stored: the same patient evaluated from the store, as after each ingestion (read and decode",
        "its facts, assess, render with the HTML the stored report carries).",
        "",
        "| time points | resources | posted ms | posted CPU ms | posted µs/resource | stored ms"
        " | stored CPU ms | stored µs/resource |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        per = 1e3 / r.resources
        lines.append(
            f"| {r.time_points} | {r.resources} | {r.posted.wall_ms:.1f} | {r.posted.cpu_ms:.1f}"
            f" | {r.posted.cpu_ms * per:.0f} | {r.stored.wall_ms:.1f} | {r.stored.cpu_ms:.1f}"
            f" | {r.stored.cpu_ms * per:.0f} |"
        )
    return lines
