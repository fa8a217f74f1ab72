"""Load shedding (issue 20): past the bounded writes in flight, or when the store cannot give a connection or
a lock in time, the answer is a 503 OperationOutcome with Retry-After and a counted metric, never a 500."""

from __future__ import annotations

import sqlite3

import httpx
import pytest
import sqlalchemy.exc
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route, Router

from service.api.backpressure import BackpressureMiddleware, WriteGate, is_overload
from service.api.metrics import HttpMetrics


class _PgError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def _wrapped(orig: Exception) -> sqlalchemy.exc.OperationalError:
    return sqlalchemy.exc.OperationalError("BEGIN IMMEDIATE", {}, orig)


@pytest.mark.parametrize(
    ("error", "overload"),
    [
        (sqlalchemy.exc.TimeoutError("QueuePool limit of size 5 overflow 10 reached"), True),
        (_wrapped(sqlite3.OperationalError("database is locked")), True),
        (sqlite3.OperationalError("database is locked"), True),
        (_wrapped(_PgError("55P03")), True),  # lock_not_available
        (_wrapped(_PgError("57014")), True),  # statement or lock timeout
        (_wrapped(sqlite3.OperationalError("no such table: resources")), False),
        (_wrapped(_PgError("42P01")), False),  # undefined_table: broken, not busy
        (ValueError("a bug"), False),
    ],
)
def test_store_busy_errors_are_overloads_and_others_are_not(error: Exception, overload: bool) -> None:
    """A full pool or a lock that cannot be had is an overload; a missing table or a bug stays a 500."""
    assert is_overload(error) is overload


async def test_the_gate_refuses_at_once_when_its_queue_is_full() -> None:
    """With every slot taken and no room to queue, a write is refused without waiting."""
    gate = WriteGate(writes=1, queued=0, wait=30)
    assert await gate.enter() is None
    assert await gate.enter() == "queue-full"
    gate.leave()
    assert await gate.enter() is None


async def test_a_queued_write_gives_up_after_its_bounded_wait() -> None:
    """A write that waits past the queue bound is refused rather than held."""
    gate = WriteGate(writes=1, queued=4, wait=0)
    assert await gate.enter() is None
    assert await gate.enter() == "queue-timeout"


async def _busy(_request: Request) -> PlainTextResponse:
    raise sqlalchemy.exc.TimeoutError("QueuePool limit of size 5 overflow 10 reached, connection timed out")


async def _bug(_request: Request) -> PlainTextResponse:
    raise ValueError("a bug")


async def _fine(_request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


def _client(gate: WriteGate, metrics: HttpMetrics) -> httpx.AsyncClient:
    routes = [Route("/fhir/busy", _busy, methods=["POST", "GET"]), Route("/fhir/bug", _bug, methods=["POST"])]
    routes.append(Route("/fhir/fine", _fine, methods=["POST", "GET"]))
    app = BackpressureMiddleware(Router(routes=routes), metrics=metrics, gate=gate)
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://t"
    )


async def test_a_shed_write_is_a_503_with_retry_after_and_is_counted() -> None:
    """Past the bound: 503, Retry-After, an OperationOutcome 'throttled', and the shed metric."""
    metrics, gate = HttpMetrics(), WriteGate(writes=1, queued=0)
    await gate.enter()  # one write in flight
    async with _client(gate, metrics) as client:
        response = await client.post("/fhir/fine", content=b"{}")
        assert (await client.get("/fhir/fine")).status_code == 200  # reads are never shed
    assert response.status_code == 503
    assert response.headers["retry-after"] == "2"
    assert response.json()["issue"][0]["code"] == "throttled"
    assert b'oncoresponse_shed_requests_total{reason="queue-full"} 1.0' in metrics.render()


async def test_an_exhausted_pool_is_a_503_not_a_500() -> None:
    """SQLAlchemy's QueuePool TimeoutError (issue 20's 500) is answered as an overload."""
    metrics = HttpMetrics()
    async with _client(WriteGate(), metrics) as client:
        response = await client.post("/fhir/busy", content=b"{}")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "2"
    assert response.json()["resourceType"] == "OperationOutcome"
    assert b'oncoresponse_shed_requests_total{reason="store-busy"} 1.0' in metrics.render()


async def test_a_busy_store_is_a_503_for_a_read_too() -> None:
    """Reads are never queued, but a pool that cannot give them a connection is still an overload."""
    metrics = HttpMetrics()
    async with _client(WriteGate(), metrics) as client:
        response = await client.get("/fhir/busy")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "2"
    assert b'oncoresponse_shed_requests_total{reason="store-busy"} 1.0' in metrics.render()


async def test_other_errors_are_left_to_the_last_line_of_defence_and_free_their_slot() -> None:
    """A bug is not an overload: it propagates (the request middleware answers 500); the slot is released."""
    gate = WriteGate(writes=1, queued=0)
    async with _client(gate, HttpMetrics()) as client:
        assert (await client.post("/fhir/bug", content=b"{}")).status_code == 500
        assert (await client.post("/fhir/fine", content=b"{}")).status_code == 200
