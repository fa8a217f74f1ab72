"""Writes that belong to another transaction (issue 7): a subscription's row, its numbered events and the
outbox rows are added on the writer's connection of the transaction that produced them, so a report is
never stored without its deliveries, nor a delivery without its report."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import insert, or_, select, update

from service.adapters.store import raw
from service.adapters.store.connection import Executes
from service.adapters.store.outbox_rows import (
    CANCELLED,
    PENDING,
    SubscriptionRow,
    subscription_row,
    subscription_values,
)
from service.adapters.store.tables import outbox, subscription_events, subscriptions


class Enqueue:
    """Writes that belong to another transaction: subscriptions, their events and outbox rows."""

    def __init__(self, conn: Executes) -> None:
        self.conn = conn
        # Issue 17: the topics with a live subscription, read once per transaction until it writes a
        # subscription, so a batch of reports no one subscribes to asks once, not twice per patient.
        self._live_topics: set[str] | None = None

    def know_live_topics(self, topics: set[str]) -> None:
        """The live topics as this transaction's first read found them (first_read.py)."""
        self._live_topics = topics

    async def subscription(self, sub_id: str) -> SubscriptionRow | None:
        row = (await self.conn.execute(select(subscriptions).where(subscriptions.c.id == sub_id))).first()
        return subscription_row(row._mapping) if row else None

    async def put_subscription(self, sub: SubscriptionRow) -> None:
        """Create, or replace the channel of, a subscription; its event counter is kept on replace."""
        values = subscription_values(sub)
        self._live_topics = None
        if await self.subscription(sub.id) is None:
            await self.conn.execute(insert(subscriptions).values(values))
            return
        kept = {k: v for k, v in values.items() if k not in ("id", "events_since_start", "created_at")}
        await self.conn.execute(update(subscriptions).where(subscriptions.c.id == sub.id).values(kept))

    async def set_status(self, sub_id: str, status: str) -> None:
        self._live_topics = None
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
        if self._live_topics is None:
            self._live_topics = {row[0] for row in await raw.fetch(self.conn, _LIVE_TOPICS)}
        if topic_id not in self._live_topics:
            return []
        query = (
            select(subscriptions)
            .where(
                s.topic_id == topic_id,
                s.status != "off",
                or_(s.patient_ref.is_(None), s.patient_ref == patient_ref),
            )
            .order_by(s.id)
        )
        return [subscription_row(row._mapping) for row in await self.conn.execute(query)]

    async def add_event(
        self,
        sub_id: str,
        focus: str,
        context: Sequence[str],
        occurred_at: datetime,
        focus_version: int | None = None,
    ) -> int:
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
                focus_version=focus_version,
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


_LIVE_TOPICS = "SELECT DISTINCT topic_id FROM subscriptions WHERE status <> 'off'"  # prepared (raw.py)
