"""Small timing helpers: medians of repeated runs, in one process, after a warm-up."""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up: imports, caches
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


async def median_seconds_async(make: Callable[[int], Awaitable[object]], repeats: int) -> float:
    """``make(i)`` must do fresh work each call (e.g. a new patient), so no run hits a cache of another."""
    await make(-1)
    samples = []
    for i in range(repeats):
        started = time.perf_counter()
        await make(i)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)
