"""Re-evaluation after a knowledge-base version change (issue 17): 10,000 stored patients, one process,
SQLite.

The patients (``benchmarks/synthetic.py``, six time points each, 63 resources) are ingested as collection
Bundles of 100 patients, their first reports are made by the evaluation worker, then the knowledge base's
version is bumped (nothing else changes, so no result does) and the timed run is what a replica does at
start-up: request every stale patient, then evaluate them in batches until none is owed. A second, profiled
run on a slice says where the time goes.
"""

from __future__ import annotations

import asyncio
import cProfile
import dataclasses
import io
import logging
import pstats
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson
import structlog

from benchmarks.synthetic import collection
from service import collector
from service.adapters.fhir_in.versions import FhirVersion
from service.app.ingest import EVALUATION_GRACE, Endpoint
from service.app.reevaluation import request_patients
from service.bootstrap import Container, build
from service.config import Settings
from service.knowledge import Knowledge

PATIENTS, PER_BUNDLE, TIME_POINTS = 10_000, 100, 6
TARGET_SECONDS = 20.0
PROFILED = 500  # patients in the profiled slice
# The profile's rows: the use case's steps, by their functions' qualified names (cumulative time).
_STEPS = {
    "claim the batch (one transaction)": "claim_due",
    "read and decode the facts": "stored_facts_of",  # a batch's facts in one read (issue 17)
    "assess (service/domain)": "assess",
    "render the FHIR result": "build_result_bundle",
    "compare and store the batch (one transaction)": "_store",
    "  of which fingerprints": "printed",  # report_versions.printed: each resource's comparable text, once
}


@dataclass(frozen=True)
class Measured:
    patients: int
    ingest_s: float
    first_s: float
    requested: int
    reevaluate_s: float
    reevaluate_cpu_s: float  # this process's CPU time: the wall time less what other processes took
    written: int  # submissions the re-evaluation wrote: 0 when no result changed
    profile: list[tuple[str, float]]


def bumped(knowledge: Knowledge, version: str) -> Knowledge:
    """The same knowledge under another version (a new release of unchanged content)."""
    return dataclasses.replace(knowledge, base=knowledge.base.model_copy(update={"version": version}))


def _after_grace() -> datetime:
    return datetime.now(UTC) + EVALUATION_GRACE + timedelta(seconds=1)


async def _ingest(container: Container, patients: int) -> None:
    template = orjson.dumps(collection(PER_BUNDLE, TIME_POINTS))
    for n in range(0, patients, PER_BUNDLE):
        raw = template.replace(b"bench-", f"b{n // PER_BUNDLE}-".encode())
        await container.ingest(orjson.loads(raw), raw, Endpoint.BUNDLE, FhirVersion.R4)


async def _timed(step: Callable[[], object]) -> float:
    started = time.perf_counter()
    await step()  # type: ignore[misc]  # an awaitable
    return time.perf_counter() - started


async def _submissions(container: Container) -> int:
    async with container.store.reading() as reader:
        return await reader.submission_count()


async def _measure(patients: int) -> Measured:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=f"sqlite:///{tmp}/reevaluate.db", delivery_worker=False)
        first = build(settings)
        await first.store.migrate()
        ingest_s = await _timed(lambda: _ingest(first, patients))
        first.evaluations.clock = _after_grace  # as if the requests were left by a crash: the worker's
        first_s = await _timed(first.evaluations.drain)
        await first.http.aclose()
        await first.store.close()

        second = build(settings, knowledge=bumped(first.knowledge, "2099.01.0"))
        collector.settle()  # as a replica ends its start-up, and `reevaluate --here`
        before = await _submissions(second)
        started, cpu = time.perf_counter(), time.process_time()
        requested = await second.evaluations.request_stale()
        await second.evaluations.drain()
        reevaluate_s, cpu_s = time.perf_counter() - started, time.process_time() - cpu
        written = await _submissions(second) - before
        profile = await _profile(
            second, [f"Patient/b{n // PER_BUNDLE}-{n % PER_BUNDLE}" for n in range(PROFILED)]
        )
        await second.http.aclose()
        await second.store.close()
    return Measured(patients, ingest_s, first_s, requested, reevaluate_s, cpu_s, written, profile)


async def _profile(container: Container, patients: list[str]) -> list[tuple[str, float]]:
    """The share of each step in re-evaluating ``patients`` once more, under cProfile."""
    await request_patients(container.store, patients, datetime.now(UTC))
    profiler = cProfile.Profile()
    profiler.enable()
    await container.evaluations.drain()
    profiler.disable()
    stats = pstats.Stats(profiler, stream=io.StringIO())
    by_name: dict[str, float] = {}
    total = 0.0
    for (_, _, name), (_, _, _, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        by_name[name] = max(by_name.get(name, 0.0), cumulative)
        if name == "drain":
            total = cumulative
    missing = [name for name in _STEPS.values() if name not in by_name]
    if missing:  # a step renamed in the service: say so rather than print 0 %
        raise RuntimeError(f"no profiled function named {missing}: update _STEPS")
    return [(label, by_name[name] / total if total else 0.0) for label, name in _STEPS.items()]


def measure(patients: int = PATIENTS) -> Measured:
    """Measured with the worker's info logs (one line a batch) silenced, then the logging restored."""
    saved = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    try:
        return asyncio.run(_measure(patients))
    finally:
        structlog.configure(**saved)


def report(patients: int = PATIENTS) -> list[str]:
    m = measure(patients)
    per_patient_ms = m.reevaluate_s / m.patients * 1e3
    # The target is for 10,000 patients; a smaller run (make bench: ONCO_BENCH_PATIENTS) is scaled linearly.
    projected_s = m.reevaluate_s * PATIENTS / m.patients
    met = "met" if projected_s <= TARGET_SECONDS else "not met"
    scaled = "" if m.patients == PATIENTS else f" (scaled to {PATIENTS:,}: {projected_s:.0f} s)"
    return [
        "## Re-evaluation after a knowledge-base version change (issue 17)",
        "",
        f"{m.patients:,} synthetic patients ({TIME_POINTS} time points, 63 resources each) stored on SQLite",
        f"by ingesting collection Bundles of {PER_BUNDLE} patients ({m.ingest_s:.0f} s), their first reports",
        f"made by the evaluation worker ({m.first_s:.0f} s, {m.first_s / m.patients * 1e3:.1f} ms each).",
        "Then the knowledge base's version is bumped, nothing else, and one process does what a replica",
        "does at start-up (the collector settled as `service/collector.py` does it): request every patient",
        "last evaluated with another version, and evaluate them in batches of 100.",
        "",
        "| patients requested | re-evaluation | per patient | CPU time | submissions written | target |",
        "|---|---|---|---|---|---|",
        f"| {m.requested:,} | {m.reevaluate_s:.1f} s | {per_patient_ms:.2f} ms | {m.reevaluate_cpu_s:.1f} s "
        f"| {m.written} | {PATIENTS:,} in ≤ {TARGET_SECONDS:.0f} s{scaled}: {met} |",
        "",
        "No result changed, so no report was amended and nothing was notified (0 submissions written); each",
        "patient's recorded versions moved to the new one. Where the time goes (cProfile, re-evaluating",
        f"{min(PROFILED, m.patients)} of them once more; cumulative shares of the worker's time):",
        "",
        "| step | share |",
        "|---|---|",
        *(f"| {label} | {share:.0%} |" for label, share in m.profile),
    ]


if __name__ == "__main__":
    import sys

    print("\n".join(report(int(sys.argv[1]) if len(sys.argv) > 1 else PATIENTS)))
