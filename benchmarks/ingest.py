"""Ingest cost: server-side time per resource next to a plain orjson parse of the same bytes (issue 3).

Measured through the ingest use case (plan, normalise, write to a fresh SQLite file), which is what
``POST /fhir/Bundle`` runs after reading the body. Strict mode (full fhir.resources validation) beside it.
Peak memory (RSS) of ingesting a ~10 MB Bundle is measured in a child process.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sqlite3
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson

from benchmarks.synthetic import collection
from benchmarks.timing import median_seconds, median_seconds_async
from service import collector
from service.adapters.fhir_in.versions import FhirVersion
from service.api.app import create_app
from service.app.ingest import Endpoint
from service.bootstrap import build
from service.config import Settings


@dataclass(frozen=True)
class IngestRow:
    name: str
    resources: int
    nbytes: int
    parse_s: float
    ingest_s: float
    strict_s: float
    floor_s: float

    def per_resource_us(self, seconds: float) -> float:
        return seconds / self.resources * 1e6


def _bundles(patients: int, time_points: int, copies: int) -> list[tuple[dict[str, object], bytes]]:
    """Distinct copies (patient ids differ), so every measured run stores new resources."""
    out = []
    for copy in range(copies + 1):
        bundle = collection(patients, time_points)
        raw = orjson.dumps(bundle).replace(b"bench-", f"bench{copy}-".encode())
        out.append((orjson.loads(raw), raw))
    return out


async def _measure_ingest(bundles: list[tuple[dict[str, object], bytes]], strict: bool) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=f"sqlite:///{tmp}/bench.db", strict_validation=strict)
        container = build(settings)
        await container.store.migrate()

        async def run(i: int) -> None:
            bundle, raw = bundles[i + 1]
            await container.ingest(bundle, raw, Endpoint.BUNDLE, FhirVersion.R4)

        try:
            return await median_seconds_async(run, len(bundles) - 1)
        finally:
            await container.store.close()


def _measure_floor(bundles: list[tuple[dict[str, object], bytes]]) -> float:
    """A floor under any ingest that keeps every resource: each resource serialised and inserted as one row
    with plain ``sqlite3`` (one ``executemany``, one transaction, WAL and the default durability, as the
    service's store), with no normalisation, facts, identifiers, history or SQLAlchemy."""
    with tempfile.TemporaryDirectory() as tmp:
        db = sqlite3.connect(f"{tmp}/floor.db", isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(
            "CREATE TABLE r (type TEXT, id TEXT, version INT, body BLOB, PRIMARY KEY (type, id, version))"
        )

        def run(i: int) -> None:
            resources: list[dict[str, Any]] = [e["resource"] for e in bundles[i + 1][0]["entry"]]  # type: ignore[attr-defined]
            db.execute("BEGIN IMMEDIATE")
            db.executemany(
                "INSERT INTO r VALUES (?, ?, 1, ?)",
                ((r["resourceType"], r["id"], orjson.dumps(r)) for r in resources),
            )
            db.execute("COMMIT")

        runs = iter(range(-1, len(bundles) - 1))  # the warm-up stores copy 0, each timed run a new copy
        floor = median_seconds(lambda: run(next(runs)), len(bundles) - 1)
        db.close()
        return floor


def measure(name: str, patients: int, time_points: int, repeats: int) -> IngestRow:
    bundles = _bundles(patients, time_points, repeats)
    # As the served app does after start-up: the objects made so far (here the prepared Bundles) leave the
    # collector's view, so full collections during the timed runs do not walk them. Without this the
    # 100-patient parse baseline measured 4x slower, a cost of the benchmark's own copies, not of parsing.
    # The young generation is collected less often, as served too (service/collector.py).
    collector.settle()
    raw = bundles[0][1]
    parse = median_seconds(lambda: orjson.loads(raw), max(repeats, 20))
    ingest = asyncio.run(_measure_ingest(bundles, strict=False))
    strict = asyncio.run(_measure_ingest(bundles, strict=True))
    floor = _measure_floor(bundles)
    return IngestRow(name, len(bundles[0][0]["entry"]), len(raw), parse, ingest, strict, floor)  # type: ignore[arg-type]


def post_latency_ms(repeats: int = 15) -> float:
    """Median time of a one-patient ``POST /fhir/Bundle`` through the app in process (ASGI, no network): what
    a sender waits for, ingest plus the patient's re-evaluation and the stored report, events included."""
    bundles = _bundles(1, 6, repeats)

    async def run() -> float:
        with tempfile.TemporaryDirectory() as tmp:
            app = create_app(Settings(database_url=f"sqlite:///{tmp}/post.db", delivery_worker=False))
            transport = httpx.ASGITransport(app=app)
            async with (
                app.router.lifespan_context(app),
                httpx.AsyncClient(transport=transport, base_url="http://bench") as client,
            ):

                async def post(i: int) -> None:
                    response = await client.post(
                        "/fhir/Bundle",
                        content=bundles[i + 1][1],
                        headers={"content-type": "application/fhir+json"},
                    )
                    response.raise_for_status()

                return await median_seconds_async(post, len(bundles) - 1)

    return asyncio.run(run()) * 1e3


def peak_memory(target_bytes: int) -> dict[str, float]:
    """Write a Bundle of about ``target_bytes`` to a file, then run :func:`_memory_child` on it in a fresh
    interpreter, which prints its measurements as JSON."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bundle.json"
        path.write_bytes(orjson.dumps(collection(max(1, target_bytes // 36_000), 6)))
        code = f"from benchmarks.ingest import _memory_child; _memory_child({str(path)!r})"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _memory_child(path: str) -> None:
    """Peak RSS while reading and ingesting the file, over the RSS reached before the bytes were read."""

    async def ingest() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            container = build(Settings(database_url=f"sqlite:///{tmp}/mem.db"))
            await container.store.migrate()
            before = _rss_bytes()
            raw = Path(path).read_bytes()
            await container.ingest(orjson.loads(raw), raw, Endpoint.BUNDLE, FhirVersion.R4)
            after = _rss_bytes()
            await container.store.close()
            print(json.dumps({"bundle_bytes": len(raw), "rss_before": before, "peak_rss": after}))

    asyncio.run(ingest())


def _rss_bytes() -> int:
    # ru_maxrss is the peak resident set size so far, in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _verdict(met: bool) -> str:
    return "met" if met else "not met"


def report() -> list[str]:
    rows = [measure("1 patient, 6 time points", 1, 6, 15), measure("100 patients, 6 time points", 100, 6, 2)]
    lines = [
        "## Ingest (issue 3)",
        "",
        "Server-side time of the ingest use case (plan, normalise, store in a fresh SQLite file), median of",
        "repeated runs each storing new resources, next to `orjson.loads` of the same bytes in the same run.",
        "The floor is the least any ingest that keeps every resource durably could cost: each resource",
        "serialised and inserted as one row with plain `sqlite3` in one transaction (WAL, default",
        "durability, as the store), with no normalisation, facts, identifiers, history or SQLAlchemy.",
        "",
        "| Bundle | resources | bytes | orjson parse µs/resource | ingest µs/resource | ingest ÷ parse "
        "| strict µs/resource | strict ÷ parse | floor µs/resource | floor ÷ parse |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.name} | {r.resources} | {r.nbytes:,} | {r.per_resource_us(r.parse_s):.1f} "
            f"| {r.per_resource_us(r.ingest_s):.1f} | {r.ingest_s / r.parse_s:.1f}x "
            f"| {r.per_resource_us(r.strict_s):.1f} | {r.strict_s / r.parse_s:.1f}x "
            f"| {r.per_resource_us(r.floor_s):.1f} | {r.floor_s / r.parse_s:.1f}x |"
        )
    post_ms = post_latency_ms()
    memory = peak_memory(10 * 1024 * 1024)
    growth = memory["peak_rss"] - memory["rss_before"]
    one = rows[0]
    lines += [
        "",
        f"Peak memory for a {memory['bundle_bytes'] / 1e6:.1f} MB Bundle: RSS grew by {growth / 1e6:.0f} MB "
        f"while ingesting it, {growth / memory['bundle_bytes']:.1f}x the Bundle's size "
        f"(peak {memory['peak_rss'] / 1e6:.0f} MB).",
        "",
        "A one-patient `POST /fhir/Bundle` through the app in process (ASGI, no network), ingest plus the",
        f"patient's re-evaluation and its stored report: {post_ms:.0f} ms median.",
        "",
        "Targets of issue 3 on the default path: ingest at most 3x the orjson parse "
        f"({_verdict(max(r.ingest_s / r.parse_s for r in rows) <= 3)}), "
        f"peak memory under 30x the Bundle ({_verdict(growth / memory['bundle_bytes'] < 30)}).",
        f"For the one-patient Bundle the floor alone is {one.floor_s / one.parse_s:.1f}x the parse, so no "
        "implementation that",
        "stores what was posted durably can meet the 3x target there. The ingest figure includes",
        "normalising every resource into facts and writing resources, identifiers and facts in one",
        "transaction; profiling the one-patient run (cProfile, 200 runs) puts about three fifths in the",
        "store's transaction (its statements prepared SQL since issue 17; encoding the facts and the",
        "commit about a tenth each), three tenths in normalisation and a tenth in planning. The prepared",
        "Bundles are frozen out of the collector and its young generation collected less often",
        "(`service/collector.py`, as the served app does after start-up) before timing, so the baselines",
        "are not inflated by full collections walking the benchmark's own copies.",
    ]
    return lines
