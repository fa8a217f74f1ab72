"""What a subscription is sent (FHIR-CONTRACT section 6): the notification Bundles (handshake, heartbeat,
event-notification, query-event) and, in the transaction that writes a report or care plan, its numbered
events and their outbox rows, beside the write-back to the EHR's FHIR server.

Bodies are built when the event happens and stored in the outbox row, so a retry hours later sends exactly
what the event said. ``subscriptions.py`` manages the Subscription resources that these go to.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from service.adapters.fhir_out.subscriptions import NotificationEvent, notification_bundle
from service.adapters.fhir_out.topics import topic_url
from service.adapters.fhir_out.write_back import write_back_bundle
from service.app.ports import Enqueue
from service.app.store_records import (
    NOTIFICATION,
    WRITE_BACK,
    WRITE_BACK_TARGET,
    StoredResource,
    SubscriptionRow,
)

# The topic each produced resource type raises (FHIR-CONTRACT section 6).
TOPIC_OF = {"DiagnosticReport": "response-assessment", "CarePlan": "care-plan-suggestion"}


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Notifications:
    canonical_base: str
    clock: Callable[[], datetime] = _now

    def bundle(
        self,
        row: SubscriptionRow,
        kind: str,
        events: Sequence[NotificationEvent],
        payload: str,
        events_since_start: int,
    ) -> dict[str, Any]:
        return notification_bundle(
            kind=kind,  # type: ignore[arg-type]  # one of the NotificationKind literals, by construction
            subscription_ref=f"Subscription/{row.id}",
            topic_url=topic_url(self.canonical_base, row.topic_id),
            status=row.status,
            events_since_start=events_since_start,
            events=events,
            payload=payload,  # type: ignore[arg-type]  # checked by read_subscription or events()
            fhir_version=row.fhir_version,
            base_url=self.canonical_base,
            bundle_id=str(uuid.uuid4()),
            timestamp=self.clock(),
        )

    def heartbeat(self, row: SubscriptionRow, now: datetime) -> dict[str, Any]:
        return self.bundle(row, "heartbeat", [], row.payload, row.events_since_start)

    async def enqueue_events(
        self,
        enqueue: Enqueue,
        patient: str,
        written: Iterable[StoredResource],
        now: datetime,
    ) -> int:
        """In the report's own transaction: one numbered event and one notification per matching
        subscription for each report or care plan written. Returns the number queued."""
        queued = 0
        for resource in written:
            topic_id = TOPIC_OF.get(resource.resource_type)
            if topic_id is None:
                continue
            for row in await enqueue.matching(topic_id, patient):
                number = await enqueue.add_event(
                    row.id, resource.reference, [patient], now, resource.version_id
                )
                event = NotificationEvent(
                    number,
                    now,
                    resource.reference,
                    (patient,),
                    (resource.content,) if row.payload == "full-resource" else (),
                    "update" if resource.version_id > 1 else "create",
                )
                active = dataclasses.replace(row, status="active")
                body = self.bundle(active, "event-notification", [event], row.payload, number)
                await enqueue.add(NOTIFICATION, row.id, body, now, event_number=number)
                queued += 1
        return queued


async def enqueue_write_back(
    enqueue: Enqueue, result_bundle: dict[str, Any], amended: set[tuple[str, str]], now: datetime
) -> None:
    """Queue the transaction that writes the result back to the EHR's FHIR server."""
    await enqueue.add(WRITE_BACK, WRITE_BACK_TARGET, write_back_bundle(result_bundle, amended), now)
