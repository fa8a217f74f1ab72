"""Per-client write rate limit (``ONCO_RATE_LIMIT_WRITES_PER_MINUTE``): a token bucket per client id, in
this replica's memory, so the limit a client sees is per replica (documented in docs/security.md)."""

from __future__ import annotations

import math
import time

from service.errors import TooManyRequests

_MAX_CLIENTS = 10_000  # buckets kept; full (idle) ones are dropped first beyond this


class WriteRateLimiter:
    def __init__(self, per_minute: int) -> None:
        self.capacity = float(per_minute)
        self.per_second = per_minute / 60.0
        self.buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, at)

    def take(self, client_id: str) -> None:
        """Spend one write of ``client_id``'s allowance, or raise 429 with ``Retry-After``."""
        if self.capacity <= 0:
            return
        now = time.monotonic()
        tokens, at = self.buckets.get(client_id, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - at) * self.per_second)
        if tokens < 1.0:
            wait = math.ceil((1.0 - tokens) / self.per_second)
            self.buckets[client_id] = (tokens, now)
            raise TooManyRequests(
                f"Too many writes from this client; retry in {wait} s", headers={"Retry-After": str(wait)}
            )
        self.buckets[client_id] = (tokens - 1.0, now)
        if len(self.buckets) > _MAX_CLIENTS:
            self._forget_idle(now)

    def _forget_idle(self, now: float) -> None:
        for client, (tokens, at) in list(self.buckets.items()):
            if tokens + (now - at) * self.per_second >= self.capacity:
                del self.buckets[client]
