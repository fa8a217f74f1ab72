"""The values the store port exchanges (``service/app/ports.py``): plain frozen dataclasses, defined here with
the port so the use cases, the SQL store and the tests' fake store all share them. The store's modules
re-export them where they were first defined."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

DATA, REEVALUATION = "data", "reevaluation"  # why a report is owed: new data, or newer knowledge
# The outbox's row kinds, and the target of write-back rows (subscription rows name their subscription).
WRITE_BACK, NOTIFICATION, HANDSHAKE, HEARTBEAT = "write-back", "notification", "handshake", "heartbeat"
WRITE_BACK_TARGET = "fhir-server"


@dataclass(frozen=True, slots=True)
class StoredResource:
    resource_type: str
    resource_id: str
    version_id: int
    last_updated: datetime
    content: dict[str, Any]

    @property
    def reference(self) -> str:
        return f"{self.resource_type}/{self.resource_id}"


@dataclass(frozen=True, slots=True)
class CurrentVersion:
    """What the store knows of a resource's current version, enough to decide whether a post changes it."""

    pk: int
    version_id: int
    last_updated: datetime
    posted_hash: str
    sender_version_id: str | None


@dataclass(frozen=True, slots=True)
class StoredFact:
    patient_ref: str
    kind: str
    source_ref: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class SearchQuery:
    resource_type: str
    patient_ref: str | None = None
    updated_after: datetime | None = None  # inclusive
    updated_before: datetime | None = None  # exclusive
    newest_first: bool = True
    count: int = 50
    # Each tuple below is ANDed, each inner tuple ORed (a repeated parameter, a comma list); see search.py.
    patients: tuple[tuple[str, ...], ...] = ()
    ids: tuple[tuple[str, ...], ...] = ()
    identifiers: tuple[tuple[tuple[str | None, str | None], ...], ...] = ()  # (system, value); None: any
    updated: tuple[tuple[str, datetime, datetime], ...] = ()  # _lastUpdated: (prefix, start, end)
    checks: tuple[Callable[[dict[str, Any]], bool], ...] = ()  # run on the narrowed candidates' content
    after: tuple[datetime, str] | None = None  # the page starts after this (last_updated, id) ...
    backwards: bool = False  # ... or, walking back, ends before it
    scan_limit: int = 10_000  # most candidates ``checks`` may be run on: beyond, narrow by patient first


@dataclass(frozen=True, slots=True)
class SearchPage:
    total: int
    found: list[StoredResource]
    more: bool  # another page after this one (before it, walking backwards)


@dataclass(frozen=True, slots=True)
class NewVersion:
    """A resource to store as its next version, with the facts (domain objects) read from it."""

    content: dict[str, Any]
    posted_hash: str
    patient_ref: str | None
    facts: Sequence[Any]
    # (type, id): read once here, as the store looks it up several times per version
    key: tuple[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", (self.content["resourceType"], self.content["id"]))


@dataclass(frozen=True, slots=True)
class EvaluationJob:
    patient_ref: str
    generation: int
    requested_at: datetime
    due_at: datetime
    attempts: int
    last_error: str | None
    reason: str = DATA


@dataclass(frozen=True, slots=True)
class EvaluatedWith:
    """The versions a patient's evaluation was made with: ``outcome`` is ``report`` or ``not-assessable``."""

    patient_ref: str
    knowledge_version: str
    rules_version: str
    outcome: str


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
