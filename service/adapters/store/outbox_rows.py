"""The outbox's and the subscriptions' rows as the rest of the service sees them (issue 7): the row kinds
and states, and each table row mapped to a frozen dataclass and back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any

import orjson

from service.adapters.store.connection import utc

# Outbox row kinds and states.
WRITE_BACK, NOTIFICATION, HANDSHAKE, HEARTBEAT = "write-back", "notification", "handshake", "heartbeat"
PENDING, DELIVERED, REJECTED, FAILED, CANCELLED = "pending", "delivered", "rejected", "failed", "cancelled"
WRITE_BACK_TARGET = "fhir-server"  # the target of write-back rows; subscription rows name the subscription
# Subscription states for which events are delivered; a `requested` one waits for its handshake.
DELIVERING = ("active", "error")


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
    focus_version: int | None = None  # the version the event announced


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
