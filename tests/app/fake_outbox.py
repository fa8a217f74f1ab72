"""An in-memory fake of the ``DeliveryOutbox`` port (``service/app/ports.py``), for the delivery worker's
tests.

It keeps the claim rules of the SQL outbox (``service/adapters/store/outbox_claim.py``), which the worker's
ordering relies on: a due, unleased, pending row is claimable only when no row of its target is under an
unexpired lease, no earlier pending row of its target waits for a retry, and (for a notification or a
heartbeat) its subscription is ``active`` or ``error``. Recording an outcome needs the lease, as there.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from service.app.store_records import (
    HANDSHAKE,
    HEARTBEAT,
    WRITE_BACK,
    Delivery,
    SubscriptionRow,
)

PENDING, DELIVERED, REJECTED, FAILED = "pending", "delivered", "rejected", "failed"


@dataclass
class Row:
    pk: int
    kind: str
    target: str
    body: dict[str, Any]
    created_at: datetime
    next_attempt_at: datetime
    event_number: int | None = None
    status: str = PENDING
    attempts: int = 0
    lease_until: datetime | None = None
    leased_by: str | None = None
    delivered_at: datetime | None = None
    last_status: int | None = None
    last_error: str | None = None
    outcome: Any = None


class FakeOutbox:
    def __init__(self) -> None:
        self.rows: list[Row] = []
        self.subs: dict[str, SubscriptionRow] = {}

    # --- what the producing transactions add (the store's Enqueue), for the tests to set up ---

    def add(
        self, kind: str, target: str, body: dict[str, Any], now: datetime, number: int | None = None
    ) -> Row:
        self.rows.append(Row(len(self.rows) + 1, kind, target, body, now, now, number))
        return self.rows[-1]

    def status_of(self, target: str) -> list[str]:
        return [row.status for row in self.rows if row.target == target]

    # --- the port ---

    async def claim(
        self, worker: str, now: datetime, lease: timedelta, limit: int, busy: Sequence[str] = ()
    ) -> list[Delivery]:
        claimed = [row for row in self.rows if self._claimable(row, now, busy)][:limit]
        for row in claimed:
            row.lease_until, row.leased_by = now + lease, worker
        return [self._delivery(row) for row in claimed]

    async def renew(self, worker: str, until: datetime) -> int:
        mine = [row for row in self.rows if row.leased_by == worker and row.status == PENDING]
        for row in mine:
            row.lease_until = until
        return len(mine)

    async def delivered(self, pk: int, worker: str, now: datetime, http_status: int | None) -> bool:
        return self._finish(pk, worker, status=DELIVERED, delivered_at=now, last_status=http_status)

    async def retry(
        self,
        pk: int,
        worker: str,
        *,
        at: datetime,
        attempts: int,
        give_up: bool,
        http_status: int | None,
        error: str,
        outcome: dict[str, Any] | None,
    ) -> bool:
        status = FAILED if give_up else PENDING
        return self._finish(
            pk,
            worker,
            status=status,
            attempts=attempts,
            next_attempt_at=at,
            last_status=http_status,
            last_error=error,
            outcome=outcome,
        )

    async def reject(
        self, pk: int, worker: str, attempts: int, http_status: int | None, error: str, outcome: Any
    ) -> bool:
        return self._finish(
            pk,
            worker,
            status=REJECTED,
            attempts=attempts,
            last_status=http_status,
            last_error=error,
            outcome=outcome,
        )

    async def hold_back(self, target: str, until: datetime) -> None:
        for row in self.rows:
            if row.target == target and row.status == PENDING and row.next_attempt_at < until:
                row.next_attempt_at = until

    async def release(self, worker: str, pks: Sequence[int] | None = None) -> None:
        for row in self.rows:
            if row.leased_by == worker and row.status == PENDING and (pks is None or row.pk in pks):
                row.lease_until, row.leased_by = None, None

    async def subscription(self, sub_id: str) -> SubscriptionRow | None:
        return self.subs.get(sub_id)

    async def set_status(self, sub_id: str, status: str, *, only_from: Sequence[str] = ()) -> bool:
        sub = self.subs.get(sub_id)
        if sub is None or sub.status == status or (only_from and sub.status not in only_from):
            return False
        self.subs[sub_id] = dataclasses.replace(sub, status=status)
        return True

    async def sent(self, sub_id: str, now: datetime) -> None:
        self.subs[sub_id] = dataclasses.replace(self.subs[sub_id], last_sent_at=now)

    async def heartbeat_due(self, now: datetime) -> list[SubscriptionRow]:
        return [
            sub
            for sub in self.subs.values()
            if sub.status == "active"
            and sub.heartbeat_seconds is not None
            and (sub.last_sent_at or sub.created_at) + timedelta(seconds=sub.heartbeat_seconds) <= now
        ]

    async def add_heartbeat(self, sub: SubscriptionRow, body: dict[str, Any], now: datetime) -> bool:
        if self.subs[sub.id].last_sent_at != sub.last_sent_at:  # another worker queued one since
            return False
        await self.sent(sub.id, now)
        self.add(HEARTBEAT, sub.id, body, now)
        return True

    def _claimable(self, row: Row, now: datetime, busy: Sequence[str]) -> bool:
        same_target = [r for r in self.rows if r.target == row.target and r.status == PENDING]
        sub = self.subs.get(row.target)
        return (
            row.status == PENDING
            and row.next_attempt_at <= now
            and (row.lease_until is None or row.lease_until < now)
            and (
                row.kind in (WRITE_BACK, HANDSHAKE) or (sub is not None and sub.status in ("active", "error"))
            )
            and row.target not in busy
            and not any(r.lease_until is not None and r.lease_until >= now for r in same_target)
            and not any(r.pk < row.pk and r.next_attempt_at > now for r in same_target)
        )

    def _delivery(self, row: Row) -> Delivery:
        sub = None if row.kind == WRITE_BACK else self.subs.get(row.target)
        return Delivery(row.pk, row.kind, row.target, row.event_number, row.body, row.attempts, sub)

    def _finish(self, pk: int, worker: str, **values: Any) -> bool:
        row = self.rows[pk - 1]
        if row.leased_by != worker:
            return False
        for name, value in {"lease_until": None, "leased_by": None, **values}.items():
            setattr(row, name, value)
        return True
