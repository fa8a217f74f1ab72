"""Load shedding (issue 20, docs/load-shedding.md): an overload is a fast 503 with ``Retry-After``, never a
500 and never a wait past a sender's timeout.

- At most ``MAX_WRITES`` requests that may write (POST, PUT, DELETE, PATCH under ``/fhir``) run at once in a
  process; up to ``MAX_QUEUED`` more wait for a slot, each at most ``QUEUE_SECONDS``. Past either bound the
  request is shed: its body is read and discarded (bounded) and it is answered 503 at once. Fewer writers
  than the store's pool has connections also means a write never waits long for a connection or a lock.
- A store that still cannot give a connection or a lock in time (SQLAlchemy's ``QueuePool limit ...``
  ``TimeoutError``, SQLite's ``database is locked``, PostgreSQL's lock, statement or connection limits) is
  the same overload, answered the same way, for a read (never queued) as for a write.

Each shed request is counted in ``oncoresponse_shed_requests{reason}``.
"""

from __future__ import annotations

import asyncio
import sqlite3

import sqlalchemy.exc
from prometheus_client import Counter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.fhir_json import outcome_response
from service.api.metrics import HttpMetrics
from service.api.middleware import drain
from service.errors import Overloaded

MAX_WRITES = 8  # below the PostgreSQL pool (5 + 10 overflow), so reads keep connections too
MAX_QUEUED = 64
QUEUE_SECONDS = 10.0  # well under a sender's usual 30-60 s timeout, with the write itself after it
RETRY_AFTER_SECONDS = 2
_WRITE_METHODS = frozenset({"POST", "PUT", "DELETE", "PATCH"})
# PostgreSQL SQLSTATEs that mean "not now": lock_not_available, query_canceled (statement/lock timeout),
# too_many_connections, deadlock_detected, serialization_failure, cannot_connect_now.
_PG_TRANSIENT = frozenset({"55P03", "57014", "53300", "40P01", "40001", "57P03"})


def is_overload(exc: BaseException) -> bool:
    """Whether a store error means the store is busy (retry later) rather than broken."""
    if isinstance(exc, sqlalchemy.exc.TimeoutError):  # QueuePool limit ... connection timed out
        return True
    orig = exc.orig if isinstance(exc, sqlalchemy.exc.DBAPIError) else exc
    if isinstance(orig, sqlite3.OperationalError):
        return "locked" in str(orig) or "busy" in str(orig)
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return isinstance(state, str) and state in _PG_TRANSIENT


class WriteGate:
    """The bounded number of writes in flight in this process, and the bounded queue in front of it."""

    def __init__(self, writes: int = MAX_WRITES, queued: int = MAX_QUEUED, wait: float = QUEUE_SECONDS):
        self._slots, self._queued, self._max_queued, self._wait = asyncio.Semaphore(writes), 0, queued, wait

    async def enter(self) -> str | None:
        """Take a slot; the reason it was refused (``queue-full``, ``queue-timeout``) otherwise."""
        if not self._slots.locked():
            await self._slots.acquire()  # free: taken without suspending
            return None
        if self._queued >= self._max_queued:
            return "queue-full"
        self._queued += 1
        try:
            await asyncio.wait_for(self._slots.acquire(), self._wait)
        except TimeoutError:
            return "queue-timeout"
        finally:
            self._queued -= 1
        return None

    def leave(self) -> None:
        self._slots.release()


class BackpressureMiddleware:
    """Runs writes through the :class:`WriteGate` and answers any overload with 503 and ``Retry-After``."""

    def __init__(self, app: ASGIApp, *, metrics: HttpMetrics, gate: WriteGate | None = None) -> None:
        self.app, self.gate = app, gate or WriteGate()
        self.shed = Counter(
            "oncoresponse_shed_requests",
            "Requests answered 503 to shed load, by reason (queue-full, queue-timeout, store-busy).",
            ["reason"],
            registry=metrics.registry,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not _is_write(scope):  # never queued, but a busy store is a 503 for a read too
            await self._run(scope, receive, send)
            return
        refused = await self.gate.enter()
        if refused:
            await drain(receive)
            await self._answer(refused, scope, receive, send)
            return
        try:
            await self._run(scope, receive, send)
        finally:
            self.gate.leave()

    async def _run(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The request; a store overload raised before the answer started becomes the 503."""
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started or not is_overload(exc):
                raise
            await self._answer("store-busy", scope, receive, send)

    async def _answer(self, reason: str, scope: Scope, receive: Receive, send: Send) -> None:
        self.shed.labels(reason).inc()
        error = Overloaded(
            f"The service is busy ({reason}); send the request again after the Retry-After delay"
        )
        await outcome_response(error.status, error.issues, headers=error.headers)(scope, receive, send)


def _is_write(scope: Scope) -> bool:
    return scope["method"] in _WRITE_METHODS and scope["path"].startswith("/fhir")
