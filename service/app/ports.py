"""The ports the use cases need (HOUSE-STYLE rule 4): one production adapter and one fake each.

``Store`` is the database: ``SqlStore`` (``service/adapters/store``) in production, the fake of
``tests/app/fake_store.py`` in the use cases' tests. ``StoredFacts`` is a patient's stored facts as domain
objects: only the store encodes and decodes them. ``RestHook`` and ``WriteBack`` are the outbound HTTP
of the delivery worker. The Protocols name no adapter class: what each offers is written here, the values
they exchange are in ``store_records.py`` and ``delivery_records.py``, and mypy checks the adapters against
them where ``bootstrap.build`` wires them. ``service/app/ruff.toml`` keeps the use cases off the adapters.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence, Set
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta
from typing import Any, Protocol

from service.app.delivery_records import DeliveryResult
from service.app.store_records import (
    CurrentVersion,
    Delivery,
    EvaluatedWith,
    EvaluationJob,
    EventRow,
    NewVersion,
    OutboxEntry,
    SearchPage,
    SearchQuery,
    StoredFact,
    StoredResource,
    SubscriptionRow,
)
from service.domain.facts import Fact


class EvaluationJobs(Protocol):
    """The durable evaluation requests (issue 17): a row per patient whose report is owed."""

    async def request(self, patients: set[str], now: datetime, grace: timedelta) -> None: ...
    async def job(self, patient: str) -> EvaluationJob | None: ...
    async def complete(self, patient: str, generation: int | None) -> None: ...
    async def fail(
        self, patient: str, generation: int, error: str, now: datetime, backoff: timedelta
    ) -> None: ...
    async def any_due(self, now: datetime) -> bool: ...
    async def claim_due(self, now: datetime, lease: timedelta, limit: int) -> list[EvaluationJob]: ...
    async def counts(self) -> tuple[int, int, int]: ...
    async def stale_patients(self, knowledge_version: str, rules_version: str) -> list[str]: ...
    async def request_reevaluation(self, patients: list[str], now: datetime) -> int: ...
    async def complete_all(self, met: list[tuple[str, int]]) -> None: ...
    async def record_versions(self, evaluated: list[EvaluatedWith], now: datetime) -> None: ...
    async def evaluated_with(self, patient: str) -> EvaluatedWith | None: ...
    async def owed(self, patients: set[str]) -> tuple[int, int]: ...
    async def known_patients(self) -> list[str]: ...
    async def all(self) -> list[EvaluationJob]: ...
    async def generations(self, patients: set[str]) -> dict[str, int]: ...


class Enqueue(Protocol):
    """Subscriptions, their numbered events and outbox rows, written in the producing transaction."""

    async def subscription(self, sub_id: str) -> SubscriptionRow | None: ...
    async def put_subscription(self, sub: SubscriptionRow) -> None: ...
    async def set_status(self, sub_id: str, status: str) -> None: ...
    async def cancel_pending(self, target: str) -> None: ...
    async def matching(self, topic_id: str, patient_ref: str) -> list[SubscriptionRow]: ...
    async def add_event(
        self,
        sub_id: str,
        focus: str,
        context: Sequence[str],
        occurred_at: datetime,
        focus_version: int | None = None,
    ) -> int: ...
    async def add(
        self, kind: str, target: str, body: dict[str, Any], now: datetime, event_number: int | None = None
    ) -> None: ...


class Reader(Protocol):
    """Reads on one connection: stored resources, their versions, facts, submissions, history marks."""

    @property
    def evaluation_jobs(self) -> EvaluationJobs: ...
    async def current(self, resource_type: str, resource_id: str) -> StoredResource | None: ...
    async def version(
        self, resource_type: str, resource_id: str, version_id: int
    ) -> StoredResource | None: ...
    async def versions(self, resource_type: str, resource_id: str) -> list[StoredResource]: ...
    async def current_versions(
        self, keys: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], CurrentVersion]: ...
    async def current_by_hash(self, resource_type: str, sha256: str) -> StoredResource | None: ...
    async def search(self, q: SearchQuery) -> tuple[int, list[StoredResource]]: ...
    async def search_page(self, q: SearchQuery) -> SearchPage: ...
    async def current_of(self, references: Iterable[str]) -> list[StoredResource]: ...
    async def referencing(
        self, source_type: str, targets: Sequence[str], owners: set[str], limit: int
    ) -> list[StoredResource]: ...
    async def by_identifier(self, resource_type: str, system: str, value: str) -> StoredResource | None: ...
    async def patient_facts(self, patient_ref: str) -> list[StoredFact]: ...
    async def history_fetched(self, patient_ref: str) -> bool: ...
    async def submission_count(self) -> int: ...


class Writer(Reader, Protocol):
    """A reader inside one write transaction, and the writes of that transaction."""

    @property
    def enqueue(self) -> Enqueue: ...
    async def mark_history_fetched(self, patient_ref: str, resources: int, now: datetime) -> None: ...
    async def add_submission(
        self,
        submission_id: str,
        received_at: datetime,
        endpoint: str,
        bundle_type: str | None,
        fhir_version: str,
        content: bytes,
    ) -> None: ...
    async def retire(self, resource_type: str, resource_id: str) -> None: ...
    async def send_ahead(self) -> None:
        """Let the store start on the writes so far while the caller computes (nothing to do where each
        write is made when asked); the next statement waits for them."""

    async def write_versions(
        self,
        versions: Sequence[NewVersion],
        submission_id: str,
        now: datetime,
        known: dict[tuple[str, str], CurrentVersion] | None = None,
    ) -> list[StoredResource]:
        """Each as the next version of its resource (earlier versions and their facts stay as history);
        ``known``: what ``current_versions`` answered in this transaction, so it is not asked twice."""


class DeliveryOutbox(Protocol):
    """The delivery worker's view of the durable outbox: claim due rows under a lease, record outcomes."""

    async def claim(
        self, worker: str, now: datetime, lease: timedelta, limit: int, busy: Sequence[str] = ()
    ) -> list[Delivery]: ...
    async def renew(self, worker: str, until: datetime) -> int: ...
    async def delivered(self, pk: int, worker: str, now: datetime, http_status: int | None) -> bool: ...
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
    ) -> bool: ...
    async def reject(
        self, pk: int, worker: str, attempts: int, http_status: int | None, error: str, outcome: Any
    ) -> bool: ...
    async def hold_back(self, target: str, until: datetime) -> None: ...
    async def release(self, worker: str, pks: Sequence[int] | None = None) -> None: ...
    async def subscription(self, sub_id: str) -> SubscriptionRow | None: ...
    async def set_status(self, sub_id: str, status: str, *, only_from: Sequence[str] = ()) -> bool: ...
    async def sent(self, sub_id: str, now: datetime) -> None: ...
    async def heartbeat_due(self, now: datetime) -> list[SubscriptionRow]: ...
    async def add_heartbeat(self, sub: SubscriptionRow, body: dict[str, Any], now: datetime) -> bool: ...


class Outbox(DeliveryOutbox, Protocol):
    """The whole outbox: the worker's view, plus what the operators' CLI (listing, replay) and the
    Subscription API (a subscription's rows, its events) read."""

    async def replay(self, pks: Sequence[int], now: datetime) -> int: ...
    async def entries(self, target: str | None = None, status: str | None = None) -> list[OutboxEntry]: ...
    async def subscriptions(self, sub_ids: Sequence[str]) -> dict[str, SubscriptionRow]: ...
    async def events(self, sub_id: str, first: int, last: int) -> list[EventRow]: ...


class Store(Protocol):
    @property
    def backend(self) -> str:
        """The database kind, e.g. ``sqlite`` or ``postgresql``."""

    async def ping(self) -> None:
        """Raise if the store cannot be reached."""

    async def migrate(self) -> None:
        """Bring the schema up to date."""

    def reading(self) -> AbstractAsyncContextManager[Reader]:
        """A read-only connection."""

    def writing(self, patient_refs: set[str]) -> AbstractAsyncContextManager[Writer]:
        """One transaction holding the write lock of each patient."""

    def outbox(self) -> Outbox:
        """The durable outbox, as the delivery worker uses it."""

    async def close(self) -> None:
        """Release connections."""


class StoredFacts(Protocol):
    async def __call__(
        self, patient: str, within: Reader | None = None, known: Set[str] = frozenset()
    ) -> list[Fact]:
        """The patient's current facts, in stored order. ``within``: read in that transaction (the ingest's,
        which sees what it has just written); without it, the store's cheapest read. ``known``: sources whose
        facts the caller holds already (the ingest's, in memory), which need not be decoded again; the caller
        drops any it gets back."""

    async def of_patients(
        self, patients: Collection[str], within: Reader | None = None, known: Set[str] = frozenset()
    ) -> dict[str, list[Fact]]:
        """Each patient's current facts (an empty list for a patient with none), as above, in one read."""


class RestHook(Protocol):
    async def post(
        self, url: str, body: dict[str, Any], headers: Sequence[tuple[str, str]], timeout: float | None
    ) -> DeliveryResult:
        """POST a notification Bundle to a subscriber's endpoint."""


class WriteBack(Protocol):
    async def transaction(self, bundle: dict[str, Any]) -> DeliveryResult:
        """POST a transaction Bundle to the EHR's FHIR server."""
