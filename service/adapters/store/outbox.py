"""The durable outbox and the subscriptions' delivery state (issue 7), over the store's connections.

Rows are added inside the transaction that produced them (``Enqueue``, on a writer's connection), so a
report is never stored without its deliveries, nor a delivery without its report. ``Outbox`` is what the
worker uses: it claims due rows by a lease, in a short transaction of its own (``FOR UPDATE SKIP
LOCKED`` on PostgreSQL; SQLite's single writer lock does the same there), delivers outside any
transaction, and records the result only if it still holds the lease.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import and_, insert, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncEngine

from service.adapters.store.connection import Executes
from service.adapters.store.tables import history_fetches, outbox, subscription_events, subscriptions

# Outbox row kinds and states.
WRITE_BACK, NOTIFICATION, HANDSHAKE, HEARTBEAT = "write-back", "notification", "handshake", "heartbeat"
PENDING, DELIVERED, REJECTED, FAILED, CANCELLED = "pending", "delivered", "rejected", "failed", "cancelled"
WRITE_BACK_TARGET = "fhir-server"  # the target of write-back rows; subscription rows name the subscription
# Subscription states for which events are delivered; a `requested` one waits for its handshake.
DELIVERING = ("active", "error")


def utc(value: datetime) -> datetime:
    """SQLite hands datetimes back without a zone; every stored time is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class SubscriptionRow:
    id: str
    topic_id: str
    patient_ref: str | None
    endpoint: str
    payload: str
    content_type: str
    headers: tuple[tuple[str, str], ...]
    heartbeat_seconds: int | None
    timeout_seconds: int | None
    max_count: int | None
    fhir_version: str
    status: str
    events_since_start: int
    last_sent_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class EventRow:
    subscription_id: str
    number: int
    focus: str
    context: tuple[str, ...]
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class Delivery:
    """A claimed outbox row, with the subscription it goes to (None for write-back)."""

    pk: int
    kind: str
    target: str
    event_number: int | None
    body: dict[str, Any] | None
    attempts: int
    subscription: SubscriptionRow | None


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """An outbox row as an operator sees it: never its body, which may hold patient data."""

    pk: int
    kind: str
    target: str
    event_number: int | None
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    delivered_at: datetime | None
    last_status: int | None
    last_error: str | None


def _subscription(columns: Mapping[Any, Any]) -> SubscriptionRow:
    """A subscriptions row (its columns by name) as a SubscriptionRow: the fields are the columns."""
    values = {f.name: columns[f.name] for f in fields(SubscriptionRow)}
    values["headers"] = tuple((name, value) for name, value in orjson.loads(values["headers"]))
    values["last_sent_at"] = utc(values["last_sent_at"]) if values["last_sent_at"] else None
    values["created_at"] = utc(values["created_at"])
    return SubscriptionRow(**values)


def subscription_values(sub: SubscriptionRow) -> dict[str, Any]:
    """The columns of a subscriptions row; headers are kept as a JSON list of [name, value] pairs."""
    return {**asdict(sub), "headers": orjson.dumps([list(h) for h in sub.headers]).decode()}


class Enqueue:
    """Writes that belong to another transaction: subscriptions, their events and outbox rows."""

    def __init__(self, conn: Executes) -> None:
        self.conn = conn

    async def subscription(self, sub_id: str) -> SubscriptionRow | None:
        row = (await self.conn.execute(select(subscriptions).where(subscriptions.c.id == sub_id))).first()
        return _subscription(row._mapping) if row else None

    async def put_subscription(self, sub: SubscriptionRow) -> None:
        """Create, or replace the channel of, a subscription; its event counter is kept on replace."""
        values = subscription_values(sub)
        if await self.subscription(sub.id) is None:
            await self.conn.execute(insert(subscriptions).values(values))
            return
        kept = {k: v for k, v in values.items() if k not in ("id", "events_since_start", "created_at")}
        await self.conn.execute(update(subscriptions).where(subscriptions.c.id == sub.id).values(kept))

    async def set_status(self, sub_id: str, status: str) -> None:
        await self.conn.execute(
            update(subscriptions).where(subscriptions.c.id == sub_id).values(status=status)
        )

    async def cancel_pending(self, target: str) -> None:
        """A deleted subscription's undelivered rows: kept, marked cancelled, never sent."""
        o = outbox.c
        await self.conn.execute(
            update(outbox)
            .where(o.target == target, o.status == PENDING)
            .values(status=CANCELLED, lease_until=None)
        )

    async def matching(self, topic_id: str, patient_ref: str) -> list[SubscriptionRow]:
        """Subscriptions to a topic whose filter lets this patient through, in a fixed order."""
        s = subscriptions.c
        query = (
            select(subscriptions)
            .where(
                s.topic_id == topic_id,
                s.status != "off",
                or_(s.patient_ref.is_(None), s.patient_ref == patient_ref),
            )
            .order_by(s.id)
        )
        return [_subscription(row._mapping) for row in await self.conn.execute(query)]

    async def add_event(self, sub_id: str, focus: str, context: Sequence[str], occurred_at: datetime) -> int:
        """Number the subscription's next event; the counter's row lock orders concurrent writers."""
        s = subscriptions.c
        number = (
            await self.conn.execute(
                update(subscriptions)
                .where(s.id == sub_id)
                .values(events_since_start=s.events_since_start + 1)
                .returning(s.events_since_start)
            )
        ).scalar_one()
        await self.conn.execute(
            insert(subscription_events).values(
                subscription_id=sub_id,
                event_number=number,
                focus_ref=focus,
                context=orjson.dumps(list(context)).decode(),
                occurred_at=occurred_at,
            )
        )
        return int(number)

    async def add(
        self,
        kind: str,
        target: str,
        body: dict[str, Any],
        now: datetime,
        event_number: int | None = None,
    ) -> None:
        await self.conn.execute(
            insert(outbox).values(
                kind=kind,
                target=target,
                event_number=event_number,
                body=orjson.dumps(body).decode(),
                status=PENDING,
                attempts=0,
                created_at=now,
                next_attempt_at=now,
            )
        )


class Outbox:
    """The worker's side: claim due rows under a lease, record what delivering them gave."""

    def __init__(self, reader: AsyncEngine, writer: AsyncEngine) -> None:
        self._reader = reader
        self._writer = writer

    async def claim(
        self, worker: str, now: datetime, lease: timedelta, limit: int, busy: Sequence[str] = ()
    ) -> list[Delivery]:
        """Lease up to ``limit`` due rows, oldest first, skipping targets this worker is busy with and
        rows another worker holds; subscription rows wait until their subscription may receive them."""
        o, s = outbox.c, subscriptions.c
        deliverable = or_(
            o.kind == WRITE_BACK,
            o.kind == HANDSHAKE,
            s.status.in_(DELIVERING),
        )
        query = (
            select(o.pk)
            .select_from(outbox.outerjoin(subscriptions, s.id == o.target))
            .where(
                o.status == PENDING,
                o.next_attempt_at <= now,
                or_(o.lease_until.is_(None), o.lease_until < now),
                deliverable,
                o.target.not_in(list(busy)) if busy else true(),
            )
            .order_by(o.pk)
        )
        async with self._reader.connect() as peek:  # an idle poll never takes the write lock
            if (await peek.execute(query.limit(1))).first() is None:
                return []
        async with self._writer.begin() as conn:
            locked = query.limit(limit).with_for_update(skip_locked=True, of=outbox)
            pks = list((await conn.execute(locked)).scalars())
            if not pks:
                return []
            await conn.execute(
                update(outbox).where(o.pk.in_(pks)).values(lease_until=now + lease, leased_by=worker)
            )
            rows = await conn.execute(
                select(outbox, *[c.label(f"s_{c.name}") for c in subscriptions.c])
                .select_from(outbox.outerjoin(subscriptions, s.id == o.target))
                .where(o.pk.in_(pks))
                .order_by(o.pk)
            )
            return [_delivery(row) for row in rows]

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
            return [_entry(row) for row in await conn.execute(query)]

    async def subscription(self, sub_id: str) -> SubscriptionRow | None:
        async with self._reader.connect() as conn:
            return await Enqueue(conn).subscription(sub_id)

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
            rows = [_subscription(row._mapping) for row in await conn.execute(query)]
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
                )
                for row in await conn.execute(query)
            ]

    async def history_fetched(self, patient_ref: str) -> bool:
        query = select(history_fetches.c.patient_ref).where(history_fetches.c.patient_ref == patient_ref)
        async with self._reader.connect() as conn:
            return (await conn.execute(query)).first() is not None

    async def mark_history_fetched(self, patient_ref: str, resources: int, now: datetime) -> None:
        """Record the fetch; a replica that fetched the same patient meanwhile has recorded it already."""
        h = history_fetches.c
        async with self._writer.begin() as conn:
            if (await conn.execute(select(h.patient_ref).where(h.patient_ref == patient_ref))).first():
                return
            await conn.execute(
                insert(history_fetches).values(patient_ref=patient_ref, fetched_at=now, resources=resources)
            )

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


def _delivery(row: Any) -> Delivery:
    m = row._mapping
    sub = None
    if m["s_id"] is not None:  # the subscription's columns, labelled s_<column> in the join
        sub = _subscription({name[2:]: value for name, value in m.items() if name.startswith("s_")})
    return Delivery(
        m["pk"],
        m["kind"],
        m["target"],
        m["event_number"],
        orjson.loads(m["body"]) if m["body"] else None,
        m["attempts"],
        sub,
    )


def _entry(row: Any) -> OutboxEntry:
    return OutboxEntry(
        row.pk,
        row.kind,
        row.target,
        row.event_number,
        row.status,
        row.attempts,
        utc(row.created_at),
        utc(row.next_attempt_at),
        utc(row.delivered_at) if row.delivered_at else None,
        row.last_status,
        row.last_error,
    )
