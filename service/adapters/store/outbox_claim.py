"""Which outbox rows a worker may claim, so that each target (a subscription, or the FHIR server) has one
sender at a time across every replica and receives its rows in order (issue 21).

A target is *held* while any of its pending rows is under an unexpired lease: no other worker claims any
of its rows until the holder has recorded them or given them back, or its short lease ran out (a worker
renews its leases while it sends; one that died stops renewing). A row is claimable only when no earlier
pending row of its target is waiting for a retry, so an event queued while an earlier one backs off
never overtakes it. Claims are serialised (PostgreSQL: a transaction-scoped advisory lock; SQLite: the
writer's ``BEGIN IMMEDIATE``), so two workers cannot both see a target free and split its rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, exists, or_, select, text, true
from sqlalchemy.ext.asyncio import AsyncConnection

from service.adapters.store.outbox_rows import DELIVERING, HANDSHAKE, PENDING, WRITE_BACK
from service.adapters.store.tables import outbox, subscriptions

# One key for every replica's claim transaction (pg_advisory_xact_lock takes a bigint).
_CLAIM_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended('oncoresponse.outbox.claim', 0))")


def claimable(now: datetime, busy: Sequence[str]) -> Select[tuple[int]]:
    """The pks of due rows a worker may lease now, oldest first (see the module docstring)."""
    o, s = outbox.c, subscriptions.c
    earlier = outbox.alias("earlier")
    held = outbox.alias("held")
    deliverable = or_(o.kind == WRITE_BACK, o.kind == HANDSHAKE, s.status.in_(DELIVERING))
    target_held = exists().where(
        held.c.target == o.target, held.c.status == PENDING, held.c.lease_until >= now
    )
    waiting_ahead = exists().where(
        earlier.c.target == o.target,
        earlier.c.status == PENDING,
        earlier.c.pk < o.pk,
        earlier.c.next_attempt_at > now,
    )
    return (
        select(o.pk)
        .select_from(outbox.outerjoin(subscriptions, s.id == o.target))
        .where(
            o.status == PENDING,
            o.next_attempt_at <= now,
            or_(o.lease_until.is_(None), o.lease_until < now),
            deliverable,
            o.target.not_in(list(busy)) if busy else true(),
            ~target_held,
            ~waiting_ahead,
        )
        .order_by(o.pk)
    )


async def serialise_claims(conn: AsyncConnection) -> None:
    """Wait for any other replica's claim to commit first (PostgreSQL; SQLite's write lock already does)."""
    if conn.dialect.name == "postgresql":
        await conn.execute(_CLAIM_LOCK)
