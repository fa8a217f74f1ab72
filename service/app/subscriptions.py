"""Topic-based subscriptions (FHIR-CONTRACT section 6): create, read, update, delete, ``$status`` and
``$events``.

The posted Subscription is kept verbatim as a versioned resource (as everything a sender posts is); the
``subscriptions`` row beside it holds what delivery needs and the live status, which reads overlay on
the stored resource. What a subscription is sent, and its queueing when a report or care plan is written,
is in ``notifications.py``.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from service.adapters.fhir_in.bundles import content_hash
from service.adapters.fhir_in.subscriptions import SubscriptionSpec, read_subscription, set_status
from service.adapters.fhir_out.subscriptions import NotificationEvent, subscription_status
from service.adapters.fhir_out.topics import topic_url
from service.app.egress import endpoint_allowed
from service.app.notifications import Notifications
from service.app.notifications import enqueue_write_back as enqueue_write_back  # where reports.py takes it
from service.app.ports import Enqueue, Store
from service.app.store_records import HANDSHAKE, NewVersion, SearchQuery, StoredResource, SubscriptionRow
from service.errors import BadRequest, NotFound, Unprocessable

SUBSCRIPTION = "Subscription"


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Subscriptions:
    store: Store
    canonical_base: str
    wake: Callable[[], None] = lambda: None
    clock: Callable[[], datetime] = _now
    # ONCO_SUBSCRIPTION_ENDPOINTS: where notifications may go (empty: any http(s) URL).
    allowed_endpoints: tuple[str, ...] = ()

    @cached_property
    def notifications(self) -> Notifications:
        return Notifications(self.canonical_base, self.clock)

    async def create(self, resource: dict[str, Any], fhir_version: str, raw: bytes) -> dict[str, Any]:
        """Store it as `requested` and queue the handshake; the worker makes it `active` or `error`."""
        spec = self._read(resource, fhir_version)
        sub_id = str(uuid.uuid4())
        stored = await self._put(sub_id, resource, spec, raw, "requested", handshake=True)
        self.wake()
        return stored

    async def update(
        self, sub_id: str, resource: dict[str, Any], fhir_version: str, raw: bytes
    ) -> dict[str, Any]:
        """Replace the channel; `off` pauses it, a new endpoint needs a new handshake."""
        if resource.get("id") not in (None, sub_id):
            raise BadRequest(f"The body's id is not {sub_id}", expression="Subscription.id")
        spec = self._read(resource, fhir_version)
        current = await self._row(sub_id)
        posted = resource.get("status")
        if posted == "off":
            status, handshake = "off", False
        elif current.endpoint != spec.endpoint or current.status in ("off", "error"):
            status, handshake = "requested", True
        else:
            status, handshake = current.status, False
        stored = await self._put(sub_id, resource, spec, raw, status, handshake=handshake)
        self.wake()
        return stored

    async def delete(self, sub_id: str) -> None:
        """Stop it: no more events are queued, and undelivered ones are cancelled (kept, not sent)."""
        await self._row(sub_id)
        async with self.store.writing(set()) as writer:
            await writer.enqueue.set_status(sub_id, "off")
            await writer.enqueue.cancel_pending(sub_id)
            await writer.retire(SUBSCRIPTION, sub_id)

    async def read(self, sub_id: str) -> tuple[dict[str, Any], int]:
        """The stored resource with its live status, and its version."""
        row = await self._row(sub_id)
        async with self.store.reading() as reader:
            found = await reader.current(SUBSCRIPTION, sub_id)
        if found is None:
            raise NotFound(f"Subscription/{sub_id} is not known here")
        return set_status(found.content, row.status, row.fhir_version), found.version_id

    async def read_version(self, sub_id: str, version_id: int) -> dict[str, Any]:
        """One version as stored; the current one with its live status, as ``read`` gives it."""
        current, current_version = await self.read(sub_id)
        if version_id == current_version:
            return current
        async with self.store.reading() as reader:
            found = await reader.version(SUBSCRIPTION, sub_id, version_id)
        if found is None:
            raise NotFound(f"Subscription/{sub_id}/_history/{version_id} is not known here")
        return found.content

    async def search(self, count: int) -> tuple[int, list[StoredResource]]:
        """Every current Subscription, newest first, each with its live status."""
        async with self.store.reading() as reader:
            total, found = await reader.search(SearchQuery(SUBSCRIPTION, count=count))
        rows = await self.store.outbox().subscriptions([stored.resource_id for stored in found])
        shown = []
        for stored in found:
            row = rows.get(stored.resource_id)
            content = set_status(stored.content, row.status, row.fhir_version) if row else stored.content
            shown.append(dataclasses.replace(stored, content=content))
        return total, shown

    async def status(self, sub_id: str) -> dict[str, Any]:
        row = await self._row(sub_id)
        return subscription_status(
            subscription_ref=f"Subscription/{sub_id}",
            topic_url=topic_url(self.canonical_base, row.topic_id),
            status=row.status,
            events_since_start=row.events_since_start,
            fhir_version=row.fhir_version,
            base_url=self.canonical_base,
            bundle_id=str(uuid.uuid4()),
            timestamp=self.clock(),
        )

    async def events(
        self, sub_id: str, since: int | None, until: int | None, payload: str | None
    ) -> dict[str, Any]:
        """``$events``: the asked range (default: every event) as a `query-event` Bundle."""
        row = await self._row(sub_id)
        first = 1 if since is None else since
        last = row.events_since_start if until is None else until
        if first < 1 or last < first - 1:
            raise BadRequest(
                "eventsSinceNumber must be at least 1 and not after eventsUntilNumber",
                expression="eventsSinceNumber",
            )
        content = payload or row.payload
        if content not in ("empty", "id-only", "full-resource"):
            raise BadRequest(
                f"content={content} is not empty, id-only or full-resource", expression="content"
            )
        stored = await self.store.outbox().events(sub_id, first, last)
        events = [
            NotificationEvent(
                e.number,
                e.occurred_at,
                e.focus,
                e.context,
                await self._resources(e.focus, e.focus_version) if content == "full-resource" else (),
            )
            for e in stored
        ]
        return self.notifications.bundle(row, "query-event", events, content, row.events_since_start)

    async def _resources(self, focus: str, version: int | None) -> tuple[dict[str, Any], ...]:
        """The focus as the event announced it; its current version for events recorded without one."""
        resource_type, _, resource_id = focus.partition("/")
        async with self.store.reading() as reader:
            if version is None:
                found = await reader.current(resource_type, resource_id)
            else:
                found = await reader.version(resource_type, resource_id, version)
        return (found.content,) if found else ()

    async def _row(self, sub_id: str) -> SubscriptionRow:
        row = await self.store.outbox().subscription(sub_id)
        if row is None:
            raise NotFound(f"Subscription/{sub_id} is not known here")
        return row

    async def _put(
        self,
        sub_id: str,
        resource: dict[str, Any],
        spec: SubscriptionSpec,
        raw: bytes,
        status: str,
        *,
        handshake: bool,
    ) -> dict[str, Any]:
        now = self.clock()
        content = set_status({**resource, "id": sub_id}, status, spec.fhir_version)
        row = _row(sub_id, spec, status, now)
        submission_id = str(uuid.uuid4())
        async with self.store.writing(set()) as writer:
            await writer.add_submission(submission_id, now, "subscription", None, spec.fhir_version, raw)
            (stored,) = await writer.write_versions(
                [NewVersion(content, content_hash(content), None, [])], submission_id, now
            )
            await writer.enqueue.put_subscription(row)
            if handshake:
                body = self.notifications.bundle(row, "handshake", [], spec.payload, 0)
                await writer.enqueue.add(HANDSHAKE, sub_id, body, now)
        return stored.content

    def _read(self, resource: dict[str, Any], fhir_version: str) -> SubscriptionSpec:
        spec = read_subscription(resource, fhir_version, self.canonical_base)
        if not endpoint_allowed(spec.endpoint, self.allowed_endpoints):
            where = "Subscription.endpoint" if fhir_version == "5.0" else "Subscription.channel.endpoint"
            raise Unprocessable(
                f"endpoint '{spec.endpoint}' is not one this service may deliver to "
                "(ONCO_SUBSCRIPTION_ENDPOINTS lists where notifications may go)",
                expression=where,
            )
        return spec

    async def enqueue_events(
        self, enqueue: Enqueue, patient: str, written: Iterable[StoredResource], now: datetime
    ) -> int:
        """The report writer's: see ``Notifications.enqueue_events``."""
        return await self.notifications.enqueue_events(enqueue, patient, written, now)


def _row(sub_id: str, spec: SubscriptionSpec, status: str, now: datetime) -> SubscriptionRow:
    return SubscriptionRow(
        id=sub_id,
        topic_id=spec.topic_id,
        patient_ref=spec.patient,
        endpoint=spec.endpoint,
        payload=spec.payload,
        content_type=spec.content_type,
        headers=tuple(spec.headers),
        heartbeat_seconds=spec.heartbeat_seconds,
        timeout_seconds=spec.timeout_seconds,
        max_count=spec.max_count,
        fhir_version=spec.fhir_version,
        status=status,
        events_since_start=0,
        last_sent_at=None,
        created_at=now,
    )
