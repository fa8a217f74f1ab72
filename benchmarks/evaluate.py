"""$evaluate latency and throughput next to an echo and a parse-only endpoint of the same server, measured
in one run over loopback (issue 6); and how evaluation cost grows with the number of time points."""

from __future__ import annotations

import asyncio
import gc
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import orjson

from benchmarks.synthetic import collection
from benchmarks.timing import median_seconds_async
from service.adapters.fhir_in.evaluate_params import EvaluateParams
from service.adapters.fhir_in.versions import FhirVersion
from service.app.evaluate import EvaluationRequest
from service.app.ingest import Endpoint
from service.cli_evaluate import evaluate_bundle, scratch_container

ENDPOINTS = (
    ("echo", "/bench/echo"),
    ("orjson parse", "/bench/parse"),
    ("$evaluate", "/fhir/$evaluate"),
    ("bound: $evaluate with normalisation cached", "/bench/evaluate-prenormalised"),
)
HEADERS = {"content-type": "application/fhir+json"}


@dataclass(frozen=True)
class HttpRow:
    name: str
    p50_ms: float
    p99_ms: float
    per_second: float


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _wait_ready(client: httpx.AsyncClient) -> None:
    for _ in range(200):
        try:
            if (await client.get("/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            await asyncio.sleep(0.1)
    raise RuntimeError("the benchmark server did not start")


async def _latencies(client: httpx.AsyncClient, path: str, body: bytes, count: int) -> list[float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        response = await client.post(path, content=body, headers=HEADERS)
        samples.append(time.perf_counter() - started)
        response.raise_for_status()
    return samples


async def _throughput(
    client: httpx.AsyncClient, path: str, body: bytes, count: int, concurrency: int
) -> float:
    queue = iter(range(count))

    async def worker() -> None:
        for _ in queue:
            (await client.post(path, content=body, headers=HEADERS)).raise_for_status()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return count / (time.perf_counter() - started)


async def _measure(port: int, body: bytes, count: int) -> list[HttpRow]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
        await _wait_ready(client)
        rows = []
        for name, path in ENDPOINTS:
            await _latencies(client, path, body, 5)  # warm-up
            samples = sorted(await _latencies(client, path, body, count))
            p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
            rate = await _throughput(client, path, body, count, concurrency=4)
            rows.append(HttpRow(name, statistics.median(samples) * 1e3, p99 * 1e3, rate))
        return rows


def http_rows(count: int = 200) -> list[HttpRow]:
    body = orjson.dumps(collection(1, 6))
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-m", "benchmarks.server", str(port), f"sqlite:///{tmp}/bench.db"]
        server = subprocess.Popen(command)
        try:
            return asyncio.run(_measure(port, body, count))
        finally:
            server.terminate()
            server.wait(timeout=30)


async def _scaling(points: tuple[int, ...]) -> list[tuple[int, int, float, float]]:
    """Per count of time points: the posted Bundle evaluated (``$evaluate``), and the same patient, once
    stored, evaluated from the store as after every ingestion (read and decode its facts, assess, render)."""
    rows = []
    async with scratch_container() as container:
        gc.freeze()  # as the served app does at the end of start-up (service/api/app.py)
        for count in points:
            raw = orjson.dumps(collection(1, count, spacing_days=14)).replace(
                b"bench-", f"s{count}-".encode()
            )
            bundle = orjson.loads(raw)

            async def posted(_: int, raw: bytes = raw) -> None:
                await evaluate_bundle(container, raw, EvaluateParams(), "4.0")

            result = await container.ingest(bundle, raw, Endpoint.BUNDLE, FhirVersion.R4)
            (patient,) = result.patients

            async def stored(_: int, patient: str = patient) -> None:
                assessment = await container.evaluate(EvaluationRequest(patient))
                container.render(assessment, "en", "4.0", datetime.now(UTC))

            rows.append(
                (
                    count,
                    len(bundle["entry"]),
                    await median_seconds_async(posted, 3),
                    await median_seconds_async(stored, 3),
                )
            )
    return rows


def report() -> list[str]:
    rows = http_rows()
    parse = next(r for r in rows if r.name == "orjson parse")
    lines = [
        "## $evaluate (issue 6)",
        "",
        "One uvicorn worker on 127.0.0.1 (`benchmarks/server.py`), a one-patient, six-time-point Bundle (63",
        "resources) posted to each endpoint by one httpx client in the same run: latency over 200 sequential",
        "requests, throughput with 4 concurrent requests. The client shares the machine's 2 cores with the",
        "server, so the bare endpoints are partly client-bound.",
        "",
        "| endpoint | p50 ms | p99 ms | requests/s | throughput ÷ parse-only |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        ratio = r.per_second / parse.per_second
        lines.append(f"| {r.name} | {r.p50_ms:.1f} | {r.p99_ms:.1f} | {r.per_second:.0f} | {ratio:.2f} |")
    evaluate = next(r for r in rows if r.name == "$evaluate")
    bound = rows[-1]
    met = "met" if evaluate.per_second * 2 >= parse.per_second else "not met"
    lines += [
        "",
        f"Target: $evaluate throughput at least half of the parse-only endpoint's: {met}. The bound row runs",
        "the same request with the posted Bundle's normalised facts cached from its first run (parsing, the",
        "store read, the domain, rendering and the response all still run): it reaches "
        f"{bound.per_second / parse.per_second:.2f} of the",
        "parse-only throughput, so even a normaliser that cost nothing would leave $evaluate short of the",
        "target. In process, normalising the posted resources is about half of an evaluation (plain-dict",
        "reads that check every element they use), the domain rules a fifth, rendering the result Bundle",
        "with its narrative an eighth, and the store read, parsing and planning the rest; no single hot",
        "spot is left. On SQLite the store's statements run in the event loop (no thread hop), the app's",
        "dependencies are async, and start-up ends with `gc.freeze()`.",
        "",
    ]
    scaling = asyncio.run(_scaling((6, 60, 600)))
    lines += [
        "Evaluation cost by number of time points, in process, median of 3, after `gc.freeze()` as the",
        "served app does at the end of start-up (so full collections do not walk the start-up heap).",
        "Posted: `$evaluate` of the Bundle (normalise, assess, render).",
        "Stored: the same patient evaluated from the store, as after each ingestion (read and decode its",
        "facts, assess, render).",
        "",
        "| time points | resources | posted ms | posted µs/resource | stored ms | stored µs/resource |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {n} | {res} | {p * 1e3:.0f} | {p / res * 1e6:.0f} | {st * 1e3:.0f} | {st / res * 1e6:.0f} |"
        for n, res, p, st in scaling
    ]
    return lines
