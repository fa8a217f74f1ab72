"""The outbox worker (issue 7): delivers notifications, handshakes, heartbeats and write-backs, at least
once, in order per target, and never lets one failing endpoint hold up another.

Each poll claims due rows of targets no replica holds, under a short lease renewed while sending, and
starts one task per target (a subscription, or the FHIR server for write-back); a target whose rows are
leased is not claimed again by any replica (``adapters/store/outbox_claim.py``), so each target has one
sender at a time and a slow or dead endpoint only ever occupies its own task. A failed row is retried
with exponential backoff and jitter (or after the server's ``Retry-After``), and the target's later rows
wait behind it, so a subscriber receives its events in order. Any number of processes may run a worker
on one database.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from service.app.delivery_policy import RetryPolicy as RetryPolicy  # re-exported: bootstrap builds it here
from service.app.delivery_records import DeliveryResult
from service.app.egress import endpoint_allowed
from service.app.ports import DeliveryOutbox, RestHook, WriteBack
from service.app.store_records import HANDSHAKE, WRITE_BACK, Delivery, SubscriptionRow

log = structlog.get_logger("service.delivery")

CLAIM_LIMIT = 50
# A claimed row's lease, renewed every RENEW_SECONDS while the worker is sending: a worker that dies
# holding a target gives it up within one lease, one that stops cleanly gives it back at once.
LEASE = timedelta(seconds=30)
RENEW_SECONDS = 10.0
# On shutdown, how long deliveries already on the wire may take before they are cut off.
STOP_GRACE_SECONDS = 5.0


def _now() -> datetime:
    return datetime.now(UTC)


def worker_name() -> str:
    return f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"


@dataclass
class DeliveryWorker:
    outbox: DeliveryOutbox
    rest_hook: RestHook
    write_back: WriteBack | None
    policy: RetryPolicy
    heartbeat_body: Callable[[SubscriptionRow, datetime], dict[str, Any]]
    poll_seconds: float = 1.0
    timeout_seconds: float = 10.0
    name: str = field(default_factory=worker_name)
    clock: Callable[[], datetime] = _now
    jitter: Callable[[], float] = random.random
    observe: Callable[[str, str], None] = lambda _kind, _outcome: None  # (kind, outcome) → metrics
    allowed_endpoints: tuple[str, ...] = ()  # ONCO_SUBSCRIPTION_ENDPOINTS, checked again at each send
    _tasks: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)

    def wake(self) -> None:
        """Look for work now rather than at the next poll (called after a report is stored)."""
        self._wake.set()

    def request_stop(self) -> None:
        """Ask :meth:`run` to finish after the current poll: never cancel it inside a transaction."""
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        """Poll until :meth:`request_stop`; then let in-flight deliveries finish (for a grace period) and
        give every leased row back."""
        renewer = asyncio.create_task(self._renew_leases())
        try:
            while not self._stopping.is_set():
                try:
                    await self.tick()
                except Exception:  # the database may be briefly away: log, wait, go on
                    log.exception("delivery_poll_failed")
                self._wake.clear()
                if not self._stopping.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
        finally:
            await renewer  # it returns once stopping is set, never inside a transaction
            await self.stop()

    async def _renew_leases(self) -> None:
        """Keep the leases of the rows being sent alive until :meth:`request_stop` (:meth:`stop` then gives
        them back); a renewal that fails is logged and tried again, the lease covering the gap."""
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), RENEW_SECONDS)
            if self._stopping.is_set() or all(task.done() for task in self._tasks.values()):
                continue
            try:
                await self.outbox.renew(self.name, self.clock() + LEASE)
            except Exception:  # the database may be briefly away
                log.exception("delivery_renew_failed")

    async def stop(self) -> None:
        """In-flight deliveries get :data:`STOP_GRACE_SECONDS`; the rest are cancelled while sending (their
        results are recorded under a shield, so no transaction is cut short), and leases go back."""
        tasks = list(self._tasks.values())
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=STOP_GRACE_SECONDS)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        self._tasks.clear()
        await self.outbox.release(self.name)

    async def tick(self) -> int:
        """Queue due heartbeats, claim due rows and start a task per idle target; rows claimed."""
        now = self.clock()
        for sub in await self.outbox.heartbeat_due(now):
            await self.outbox.add_heartbeat(sub, self.heartbeat_body(sub, now), now)
        self._tasks = {t: task for t, task in self._tasks.items() if not task.done()}
        claimed = await self.outbox.claim(self.name, now, LEASE, CLAIM_LIMIT, busy=list(self._tasks))
        by_target: dict[str, list[Delivery]] = {}
        for row in claimed:
            by_target.setdefault(row.target, []).append(row)
        for target, rows in by_target.items():
            self._tasks[target] = asyncio.create_task(self._deliver_in_order(target, rows))
        return len(claimed)

    async def drain(self, max_rounds: int = 100) -> None:
        """Deliver until nothing is due or in flight (tests and one-shot runs)."""
        for _ in range(max_rounds):
            claimed = await self.tick()
            running = [t for t in self._tasks.values() if not t.done()]
            if running:
                await asyncio.gather(*running, return_exceptions=True)
            elif not claimed:
                return

    async def _deliver_in_order(self, target: str, rows: list[Delivery]) -> None:
        for index, row in enumerate(rows):
            try:
                ok = await self._deliver(row)
            except Exception:
                log.exception("delivery_crashed", kind=row.kind, outbox_id=row.pk)
                ok = False
            if not ok:  # the rest wait behind it, so the subscriber sees its events in order
                await self.outbox.release(self.name, [r.pk for r in rows[index + 1 :]])
                return

    async def _deliver(self, row: Delivery) -> bool:
        result = await self._send(row)
        # Recording the result is a database transaction: a shutdown must not cut it short (an SQLite
        # write lock left behind would hold up every other writer until the connection is collected).
        return await asyncio.shield(self._record(row, result))

    async def _record(self, row: Delivery, result: DeliveryResult) -> bool:
        now = self.clock()
        attempts = row.attempts + 1
        log.info(
            "delivery",
            kind=row.kind,
            outbox_id=row.pk,
            event_number=row.event_number,
            attempt=attempts,
            status=result.status,
            delivered=result.delivered,
        )
        if result.delivered:
            self.observe(row.kind, "delivered")
            await self.outbox.delivered(row.pk, self.name, now, result.status)
            await self._delivered_to_subscription(row, now)
            return True
        await self._failed(row, result, attempts, now)
        return False

    async def _send(self, row: Delivery) -> DeliveryResult:
        if row.kind == WRITE_BACK:
            if self.write_back is None or row.body is None:
                return DeliveryResult(False, None, True, None, "write-back is not configured", None, None)
            return await self.write_back.transaction(row.body)
        sub = row.subscription
        assert sub is not None and row.body is not None, "a subscription row without its subscription"
        if not endpoint_allowed(sub.endpoint, self.allowed_endpoints):  # the list changed since it was made
            return DeliveryResult(
                False, None, False, None, "the endpoint is not in ONCO_SUBSCRIPTION_ENDPOINTS"
            )
        timeout = float(sub.timeout_seconds) if sub.timeout_seconds else self.timeout_seconds
        headers = [("Content-Type", sub.content_type), *sub.headers]
        return await self.rest_hook.post(sub.endpoint, row.body, headers, timeout)

    async def _delivered_to_subscription(self, row: Delivery, now: datetime) -> None:
        if row.subscription is None:
            return
        await self.outbox.sent(row.target, now)
        only_from = ("requested",) if row.kind == HANDSHAKE else ("error",)
        await self.outbox.set_status(row.target, "active", only_from=only_from)

    async def _failed(self, row: Delivery, result: DeliveryResult, attempts: int, now: datetime) -> None:
        if row.kind == HANDSHAKE:  # R5 and the Backport IG: a failed handshake puts it in error
            self.observe(row.kind, "rejected")
            await self.outbox.reject(row.pk, self.name, attempts, result.status, result.detail, None)
            await self.outbox.set_status(row.target, "error", only_from=("requested",))
            return
        if row.subscription is not None:
            await self.outbox.set_status(row.target, "error", only_from=("active",))
        if not result.retryable:
            self.observe(row.kind, "rejected")
            await self.outbox.reject(
                row.pk, self.name, attempts, result.status, result.detail, result.outcome
            )
            log.warning("delivery_rejected", kind=row.kind, outbox_id=row.pk, status=result.status)
            return
        give_up = attempts >= self.policy.max_attempts
        self.observe(row.kind, "failed" if give_up else "retry")
        at = now + timedelta(seconds=self.policy.delay(attempts, result.retry_after, self.jitter()))
        await self.outbox.retry(
            row.pk,
            self.name,
            at=at,
            attempts=attempts,
            give_up=give_up,
            http_status=result.status,
            error=result.detail,
            outcome=result.outcome,
        )
        if give_up:
            log.error("delivery_gave_up", kind=row.kind, outbox_id=row.pk, attempts=attempts)
        else:
            await self.outbox.hold_back(row.target, at)
