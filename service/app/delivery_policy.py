"""When a failed delivery is tried again: exponential backoff with jitter, or the server's Retry-After."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int
    base_seconds: float
    max_seconds: float
    retry_after_cap_seconds: float = 3600.0

    def delay(self, attempts: int, retry_after: float | None, jitter: float) -> float:
        """Seconds before the next attempt after ``attempts`` failed ones; ``jitter`` in [0, 1).

        The server's Retry-After wins (bounded, so a bogus one cannot park a row for a year); otherwise
        the delay doubles from ``base_seconds`` up to ``max_seconds``, stretched by up to a quarter so
        that replicas retrying the same endpoint spread out, never shortened below the schedule.
        """
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.retry_after_cap_seconds)
        nominal = min(self.max_seconds, self.base_seconds * 2.0 ** max(attempts - 1, 0))
        return nominal * (1 + 0.25 * jitter)

    def schedule_seconds(self) -> float:
        """How long the nominal schedule keeps retrying before the last attempt gives up."""
        return sum(self.delay(n, None, 0.0) for n in range(1, self.max_attempts))
