"""The delivery worker (``service/app/delivery.py``) on the in-memory outbox (``fake_outbox.py``), with a
hand-set clock: what each answer does to a row and to its subscription, per-target order behind a retry,
one stuck endpoint not holding up another, heartbeats. No database, no HTTP, no sleeping."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from service.app.delivery import DeliveryWorker, RetryPolicy
from service.app.delivery_records import DeliveryResult
from service.app.store_records import HANDSHAKE, HEARTBEAT, NOTIFICATION, WRITE_BACK, SubscriptionRow
from tests.app.fake_outbox import DELIVERED, FAILED, PENDING, REJECTED, FakeOutbox

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
EHR = "fhir-server"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Endpoints:
    """The subscribers (by URL) and the EHR's FHIR server: each answers from its script, 200 by default,
    and records what it was sent; a gated URL answers only once its gate is opened."""

    answers: dict[str, list[DeliveryResult]] = field(default_factory=dict)
    sent: list[tuple[str, Any]] = field(default_factory=list)
    gates: dict[str, asyncio.Event] = field(default_factory=dict)
    arrived: dict[str, asyncio.Event] = field(default_factory=dict)

    async def post(
        self, url: str, body: dict[str, Any], headers: Sequence[tuple[str, str]], timeout: float | None
    ) -> DeliveryResult:
        return await self._answer(url, body)

    async def transaction(self, bundle: dict[str, Any]) -> DeliveryResult:
        return await self._answer(EHR, bundle)

    async def _answer(self, url: str, body: dict[str, Any]) -> DeliveryResult:
        self.arrived.setdefault(url, asyncio.Event()).set()
        if url in self.gates:
            await self.gates[url].wait()
        self.sent.append((url, body))
        script = self.answers.get(url)
        return script.pop(0) if script else DeliveryResult(True, 200, False, None, "HTTP 200")

    def bodies(self, url: str) -> list[Any]:
        return [body for to, body in self.sent if to == url]


def unavailable(retry_after: float | None = None) -> DeliveryResult:
    return DeliveryResult(False, 503, True, retry_after, "HTTP 503")


def subscription(sub_id: str, status: str = "active", heartbeat: int | None = None) -> SubscriptionRow:
    return SubscriptionRow(
        sub_id, "response-assessment", None, f"https://{sub_id}.example/hook", "id-only",
        "application/fhir+json", (), heartbeat, None, None, "4.0.1", status, 0, None, T0,
    )  # fmt: skip


def setup(
    *subs: SubscriptionRow, allowed: tuple[str, ...] = ()
) -> tuple[FakeOutbox, Endpoints, Clock, DeliveryWorker]:
    outbox, endpoints, clock = FakeOutbox(), Endpoints(), Clock()
    outbox.subs = {sub.id: sub for sub in subs}
    worker = DeliveryWorker(
        outbox,
        endpoints,
        endpoints,
        RetryPolicy(max_attempts=3, base_seconds=10.0, max_seconds=60.0),
        heartbeat_body=lambda sub, now: {"heartbeat": sub.id},
        clock=clock,
        jitter=lambda: 0.0,
        allowed_endpoints=allowed,
    )
    return outbox, endpoints, clock, worker


def url(sub_id: str) -> str:
    return f"https://{sub_id}.example/hook"


async def test_a_targets_later_rows_wait_behind_a_retried_one_and_keep_their_order() -> None:
    """A 503 with Retry-After 5 s on the first event: the later two are given back, not sent; 5 s later the
    three go out in order."""
    outbox, endpoints, clock, worker = setup(subscription("a"))
    for n in (1, 2, 3):
        outbox.add(NOTIFICATION, "a", {"event": n}, T0, n)
    endpoints.answers[url("a")] = [unavailable(retry_after=5)]
    await worker.drain()
    assert endpoints.bodies(url("a")) == [{"event": 1}] and outbox.status_of("a") == [PENDING] * 3
    clock.advance(5)
    await worker.drain()
    assert endpoints.bodies(url("a")) == [{"event": n} for n in (1, 1, 2, 3)]
    assert outbox.status_of("a") == [DELIVERED] * 3


async def test_a_failed_handshake_is_not_retried_and_puts_the_subscription_in_error() -> None:
    """Even a retryable answer rejects a handshake; the subscription goes from requested to error, and the
    next event delivered to it makes it active."""
    outbox, endpoints, _, worker = setup(subscription("a", status="requested"))
    outbox.add(HANDSHAKE, "a", {"handshake": True}, T0)
    endpoints.answers[url("a")] = [unavailable()]
    await worker.drain()
    assert outbox.status_of("a") == [REJECTED] and outbox.subs["a"].status == "error"
    outbox.add(NOTIFICATION, "a", {"event": 1}, T0, 1)
    await worker.drain()
    assert outbox.status_of("a") == [REJECTED, DELIVERED] and outbox.subs["a"].status == "active"
    assert outbox.subs["a"].last_sent_at == T0


async def test_a_4xx_is_kept_with_the_servers_outcome_and_never_sent_again() -> None:
    """A 400 rejects the row at once with the OperationOutcome the server gave, and the active
    subscription goes to error; an hour later it has not been sent again."""
    outbox, endpoints, clock, worker = setup(subscription("a"))
    outcome = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "invalid"}]}
    row = outbox.add(NOTIFICATION, "a", {"event": 1}, T0, 1)
    endpoints.answers[url("a")] = [DeliveryResult(False, 400, False, None, "HTTP 400", outcome)]
    await worker.drain()
    clock.advance(3600)
    await worker.drain()
    assert (row.status, row.attempts, row.last_status, row.outcome) == (REJECTED, 1, 400, outcome)
    assert len(endpoints.sent) == 1 and outbox.subs["a"].status == "error"


async def test_a_write_back_is_tried_max_attempts_times_with_backoff_then_parked_failed() -> None:
    """Three 503s: tried at 0 s, 10 s and 30 s (the delay doubling from 10 s), then failed, not retried."""
    outbox, endpoints, clock, worker = setup()
    row = outbox.add(WRITE_BACK, EHR, {"resourceType": "Bundle"}, T0)
    endpoints.answers[EHR] = [unavailable(), unavailable(), unavailable()]
    await worker.drain()
    assert (row.status, row.next_attempt_at) == (PENDING, T0 + timedelta(seconds=10))
    clock.advance(10)
    await worker.drain()
    assert (row.status, row.next_attempt_at) == (PENDING, T0 + timedelta(seconds=30))
    clock.advance(20)
    await worker.drain()
    clock.advance(3600)
    await worker.drain()
    assert (row.status, row.attempts, len(endpoints.sent)) == (FAILED, 3, 3)


async def test_a_stuck_endpoint_does_not_hold_up_another() -> None:
    """While one subscriber has not answered, another's event is delivered, and the stuck target's next row
    is not claimed beside the one on the wire."""
    outbox, endpoints, _, worker = setup(subscription("a"), subscription("b"))
    endpoints.gates[url("a")] = asyncio.Event()
    outbox.add(NOTIFICATION, "a", {"event": 1}, T0, 1)
    outbox.add(NOTIFICATION, "b", {"event": 1}, T0, 1)
    await asyncio.wait_for(worker.tick(), 5)  # it starts one task per target and returns
    await asyncio.wait_for(endpoints.arrived.setdefault(url("b"), asyncio.Event()).wait(), 5)
    await asyncio.wait_for(endpoints.arrived.setdefault(url("a"), asyncio.Event()).wait(), 5)
    outbox.add(NOTIFICATION, "a", {"event": 2}, T0, 2)
    assert await worker.tick() == 0
    endpoints.gates[url("a")].set()
    await worker.drain()
    assert [to for to, _ in endpoints.sent] == [url("b"), url("a"), url("a")]
    assert outbox.status_of("a") == [DELIVERED, DELIVERED] and endpoints.bodies(url("a"))[1] == {"event": 2}


async def test_a_row_to_an_endpoint_no_longer_listed_is_rejected_unsent() -> None:
    """ONCO_SUBSCRIPTION_ENDPOINTS is checked again at each send: an endpoint taken off it gets nothing."""
    outbox, endpoints, _, worker = setup(subscription("a"), allowed=("https://b.example/",))
    row = outbox.add(NOTIFICATION, "a", {"event": 1}, T0, 1)
    await worker.drain()
    assert endpoints.sent == [] and row.status == REJECTED
    assert row.last_error == "the endpoint is not in ONCO_SUBSCRIPTION_ENDPOINTS"


async def test_a_quiet_subscription_gets_a_heartbeat_once_per_period() -> None:
    """Active with a 60 s heartbeat: nothing at 59 s, one heartbeat at 60 s, no second one 30 s later."""
    outbox, endpoints, clock, worker = setup(subscription("a", heartbeat=60))
    clock.advance(59)
    await worker.drain()
    clock.advance(1)
    await worker.drain()
    clock.advance(30)
    await worker.drain()
    assert endpoints.bodies(url("a")) == [{"heartbeat": "a"}]
    assert [(r.kind, r.status) for r in outbox.rows] == [(HEARTBEAT, DELIVERED)]
