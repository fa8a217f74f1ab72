"""The durable outbox and the subscriptions' delivery state (issue 7), over the store's connections.

Rows are added inside the transaction that produced them (``enqueue.Enqueue``). ``Outbox`` is what the
worker uses: it claims due rows of targets no other worker holds by a short lease, in a short transaction
of its own serialised across replicas (``outbox_claim``), renews the lease while it sends, delivers
outside any transaction, and records the result only if it still holds the lease.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from service.adapters.store.connection import utc
from service.adapters.store.enqueue import Enqueue
from service.adapters.store.outbox_claim import claimable, serialise_claims
from service.adapters.store.outbox_rows import (
    DELIVERED,
    FAILED,
    HEARTBEAT,
    PENDING,
    REJECTED,
    Delivery,
    EventRow,
    OutboxEntry,
    SubscriptionRow,
    delivery_row,
    outbox_entry,
    subscription_row,
)
from service.adapters.store.tables import outbox, subscription_events, subscriptions


class Outbox:
    """The worker's side: claim due rows under a lease, record what delivering them gave."""

    def __init__(self, reader: AsyncEngine, writer: AsyncEngine) -> None:
        self._reader = reader
        self._writer = writer

    async def claim(
        self, worker: str, now: datetime, lease: timedelta, limit: int, busy: Sequence[str] = ()
    ) -> list[Delivery]:
        """Lease up to ``limit`` due rows, oldest first, of targets no worker holds (``outbox_claim``),
        skipping ``busy`` ones; subscription rows wait until their subscription may receive them."""
        o, s = outbox.c, subscriptions.c
        query = claimable(now, busy)
        async with self._reader.connect() as peek:  # an idle poll never takes the write lock
            if (await peek.execute(query.limit(1))).first() is None:
                return []
        async with self._writer.begin() as conn:
            await serialise_claims(conn)
            pks = list((await conn.execute(query.limit(limit))).scalars())
            if not pks:
                return []
            await conn.execute(
                update(outbox)
                .where(o.pk.in_(pks), o.status == PENDING)
                .values(lease_until=now + lease, leased_by=worker)
            )
            rows = await conn.execute(
                select(outbox, *[c.label(f"s_{c.name}") for c in subscriptions.c])
                .select_from(outbox.outerjoin(subscriptions, s.id == o.target))
                .where(o.pk.in_(pks), o.leased_by == worker)
                .order_by(o.pk)
            )
            return [delivery_row(row) for row in rows]

    async def renew(self, worker: str, until: datetime) -> int:
        """Extend the leases of the rows ``worker`` holds (it is still sending): a short lease renewed while
        alive means a worker that dies holds its targets for one lease at most."""
        o = outbox.c
        async with self._writer.begin() as conn:
            result = await conn.execute(
                update(outbox).where(o.leased_by == worker, o.status == PENDING).values(lease_until=until)
            )
        return int(result.rowcount)

    async def delivered(self, pk: int, worker: str, now: datetime, http_status: int | None) -> bool:
        """Mark a row delivered; False if the lease was lost meanwhile (another worker may retry it)."""
        return await self._finish(
            pk, worker, status=DELIVERED, delivered_at=now, last_status=http_status, last_error=None
        )

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
        """Record a failed attempt: due again ``at``, or parked as failed when attempts are exhausted."""
        return await self._finish(
            pk,
            worker,
            status=FAILED if give_up else PENDING,
            attempts=attempts,
            next_attempt_at=at,
            last_status=http_status,
            last_error=error,
            outcome=orjson.dumps(outcome).decode() if outcome else None,
        )

    async def reject(
        self, pk: int, worker: str, attempts: int, http_status: int | None, error: str, outcome: Any
    ) -> bool:
        """A failure a retry cannot fix (a 4xx other than 408/409/429): kept with the server's answer."""
        return await self._finish(
            pk,
            worker,
            status=REJECTED,
            attempts=attempts,
            last_status=http_status,
            last_error=error,
            outcome=orjson.dumps(outcome).decode() if outcome else None,
        )

    async def hold_back(self, target: str, until: datetime) -> None:
        """Keep a target's later rows behind its failed one, so a subscriber gets events in order."""
        o = outbox.c
        async with self._writer.begin() as conn:
            await conn.execute(
                update(outbox)
                .where(o.target == target, o.status == PENDING, o.next_attempt_at < until)
                .values(next_attempt_at=until)
            )

    async def release(self, worker: str, pks: Sequence[int] | None = None) -> None:
        """Give leased rows back without counting an attempt (shutdown, or a target that stopped)."""
        o = outbox.c
        where = [o.leased_by == worker, o.status == PENDING]
        if pks is not None:
            where.append(o.pk.in_(list(pks)))
        async with self._writer.begin() as conn:
            await conn.execute(update(outbox).where(*where).values(lease_until=None, leased_by=None))

    async def replay(self, pks: Sequence[int], now: datetime) -> int:
        """Put failed or rejected rows back in the queue, with their attempts counted from zero."""
        o = outbox.c
        async with self._writer.begin() as conn:
            result = await conn.execute(
                update(outbox)
                .where(o.pk.in_(list(pks)), o.status.in_((FAILED, REJECTED)))
                .values(status=PENDING, attempts=0, next_attempt_at=now, lease_until=None)
            )
        return int(result.rowcount)

    async def entries(self, target: str | None = None, status: str | None = None) -> list[OutboxEntry]:
        o = outbox.c
        where = []
        if target is not None:
            where.append(o.target == target)
        if status is not None:
            where.append(o.status == status)
        query = select(outbox).where(*where).order_by(o.pk)
        async with self._reader.connect() as conn:
            return [outbox_entry(row) for row in await conn.execute(query)]

    async def subscription(self, sub_id: str) -> SubscriptionRow | None:
        async with self._reader.connect() as conn:
            return await Enqueue(conn).subscription(sub_id)

    async def subscriptions(self, sub_ids: Sequence[str]) -> dict[str, SubscriptionRow]:
        """The rows of these subscriptions, by id, in one query (a search shows each with its live status)."""
        if not sub_ids:
            return {}
        query = select(subscriptions).where(subscriptions.c.id.in_(list(sub_ids)))
        async with self._reader.connect() as conn:
            return {row.id: subscription_row(row._mapping) for row in await conn.execute(query)}

    async def set_status(self, sub_id: str, status: str, *, only_from: Sequence[str] = ()) -> bool:
        """Change a subscription's status (optionally only from given ones); True if it changed."""
        s = subscriptions.c
        where = [s.id == sub_id, s.status != status]
        if only_from:
            where.append(s.status.in_(list(only_from)))
        async with self._writer.begin() as conn:
            result = await conn.execute(update(subscriptions).where(*where).values(status=status))
        return bool(result.rowcount)

    async def sent(self, sub_id: str, now: datetime) -> None:
        async with self._writer.begin() as conn:
            await conn.execute(
                update(subscriptions).where(subscriptions.c.id == sub_id).values(last_sent_at=now)
            )

    async def heartbeat_due(self, now: datetime) -> list[SubscriptionRow]:
        """Active subscriptions with a heartbeat period and nothing sent for that long."""
        s = subscriptions.c
        query = select(subscriptions).where(s.status == "active", s.heartbeat_seconds.is_not(None))
        async with self._reader.connect() as conn:
            rows = [subscription_row(row._mapping) for row in await conn.execute(query)]
        return [r for r in rows if _quiet_since(r) + timedelta(seconds=r.heartbeat_seconds or 0) <= now]

    async def add_heartbeat(self, sub: SubscriptionRow, body: dict[str, Any], now: datetime) -> bool:
        """Queue one heartbeat, unless another worker queued one since ``sub`` was read."""
        s = subscriptions.c
        seen = s.last_sent_at.is_(None) if sub.last_sent_at is None else s.last_sent_at == sub.last_sent_at
        async with self._writer.begin() as conn:
            claimed = await conn.execute(
                update(subscriptions).where(s.id == sub.id, seen).values(last_sent_at=now)
            )
            if not claimed.rowcount:
                return False
            await Enqueue(conn).add(HEARTBEAT, sub.id, body, now)
        return True

    async def events(self, sub_id: str, first: int, last: int) -> list[EventRow]:
        e = subscription_events.c
        query = (
            select(subscription_events)
            .where(e.subscription_id == sub_id, e.event_number >= first, e.event_number <= last)
            .order_by(e.event_number)
        )
        async with self._reader.connect() as conn:
            return [
                EventRow(
                    row.subscription_id,
                    row.event_number,
                    row.focus_ref,
                    tuple(orjson.loads(row.context)),
                    utc(row.occurred_at),
                    row.focus_version,
                )
                for row in await conn.execute(query)
            ]

    async def _finish(self, pk: int, worker: str, **values: Any) -> bool:
        o = outbox.c
        async with self._writer.begin() as conn:
            result = await conn.execute(
                update(outbox)
                .where(and_(o.pk == pk, o.leased_by == worker))
                .values(lease_until=None, leased_by=None, **values)
            )
        return bool(result.rowcount)


def _quiet_since(sub: SubscriptionRow) -> datetime:
    return sub.last_sent_at or sub.created_at
