"""The outbox's and the subscriptions' rows as the rest of the service sees them (issue 7): the row kinds
and states, and each table row mapped to a frozen dataclass and back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, fields
from typing import Any

import orjson

from service.adapters.store.connection import utc

# The values of the store port (the rows, the row kinds, the write-back target), defined with it
# (service/app/store_records.py) and re-exported here; the row states are the store's own.
from service.app.store_records import HANDSHAKE as HANDSHAKE
from service.app.store_records import HEARTBEAT as HEARTBEAT
from service.app.store_records import NOTIFICATION as NOTIFICATION
from service.app.store_records import WRITE_BACK as WRITE_BACK
from service.app.store_records import WRITE_BACK_TARGET as WRITE_BACK_TARGET
from service.app.store_records import Delivery as Delivery
from service.app.store_records import EventRow as EventRow
from service.app.store_records import OutboxEntry as OutboxEntry
from service.app.store_records import SubscriptionRow as SubscriptionRow

PENDING, DELIVERED, REJECTED, FAILED, CANCELLED = "pending", "delivered", "rejected", "failed", "cancelled"
# Subscription states for which events are delivered; a `requested` one waits for its handshake.
DELIVERING = ("active", "error")


def subscription_row(columns: Mapping[Any, Any]) -> SubscriptionRow:
    """A subscriptions row (its columns by name) as a SubscriptionRow: the fields are the columns."""
    values = {f.name: columns[f.name] for f in fields(SubscriptionRow)}
    values["headers"] = tuple((name, value) for name, value in orjson.loads(values["headers"]))
    values["last_sent_at"] = utc(values["last_sent_at"]) if values["last_sent_at"] else None
    values["created_at"] = utc(values["created_at"])
    return SubscriptionRow(**values)


def subscription_values(sub: SubscriptionRow) -> dict[str, Any]:
    """The columns of a subscriptions row; headers are kept as a JSON list of [name, value] pairs."""
    return {**asdict(sub), "headers": orjson.dumps([list(h) for h in sub.headers]).decode()}


def delivery_row(row: Any) -> Delivery:
    m = row._mapping
    sub = None
    if m["s_id"] is not None:  # the subscription's columns, labelled s_<column> in the join
        sub = subscription_row({name[2:]: value for name, value in m.items() if name.startswith("s_")})
    return Delivery(
        m["pk"],
        m["kind"],
        m["target"],
        m["event_number"],
        orjson.loads(m["body"]) if m["body"] else None,
        m["attempts"],
        sub,
    )


def outbox_entry(row: Any) -> OutboxEntry:
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
