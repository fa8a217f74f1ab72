"""The status resource that opens every subscription notification and answers ``$status`` (FHIR-CONTRACT.md
section 6), in each version's shape: R4 a Parameters of profile backport-subscription-status-r4, R4B and R5
the native SubscriptionStatus. ``subscriptions.py`` builds the Bundles around it. Pure: plain FHIR JSON from
the arguments."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal

NotificationKind = Literal["handshake", "heartbeat", "event-notification", "query-status", "query-event"]
Payload = Literal["empty", "id-only", "full-resource"]

BACKPORT: Final = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition"


@dataclass(frozen=True, slots=True)
class NotificationEvent:
    """One numbered event. ``focus`` and ``context`` are relative references ("DiagnosticReport/abc");
    ``resources`` are the bodies a full-resource payload carries, focus first. ``interaction`` picks the
    history entry's request: a create is ``POST {type}`` / 201, an update ``PUT {type}/{id}`` / 200."""

    number: int
    timestamp: datetime
    focus: str
    context: tuple[str, ...] = ()
    resources: tuple[dict[str, Any], ...] = ()
    interaction: Literal["create", "update"] = "create"


@dataclass(frozen=True, slots=True)
class Status:
    """What every status resource says, whatever its version's shape."""

    kind: NotificationKind
    subscription: str
    topic_url: str
    status: str
    events_since_start: int
    events: Sequence[NotificationEvent]
    payload: Payload
    base_url: str
    with_topic: bool  # not in empty notifications: "SHOULD NOT be present when using empty payloads"


def status_entry(state: Status, fhir_version: str, bundle_id: str, request_url: str | None) -> dict[str, Any]:
    """In a history Bundle the status entry is a GET on ``$status`` (bdl-3/bdl-4 want a request on every
    entry); R5's subscription-notification and a searchset need none. Its id follows from the Bundle's,
    so a resent notification is byte-identical."""
    status_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{state.base_url}/Bundle/{bundle_id}#status"))
    resource = _parameters(state) if fhir_version == "4.0" else _subscription_status(state)
    resource = {"resourceType": resource["resourceType"], "id": status_id} | resource
    entry: dict[str, Any] = {"fullUrl": f"urn:uuid:{status_id}", "resource": resource}
    if request_url is not None and fhir_version != "5.0":
        entry |= {"request": {"method": "GET", "url": request_url}, "response": {"status": "200"}}
    return entry


def _parameters(state: Status) -> dict[str, Any]:
    """backport-subscription-status-r4: the counts are strings there, as in every IG example."""
    topic = [{"name": "topic", "valueCanonical": state.topic_url}] if state.with_topic else []
    head = [
        {"name": "subscription", "valueReference": {"reference": state.subscription}},
        *topic,
        {"name": "status", "valueCode": state.status},
        {"name": "type", "valueCode": state.kind},
        {"name": "events-since-subscription-start", "valueString": str(state.events_since_start)},
    ]
    events = [
        {"name": "notification-event", "part": _event_parts(e, state.payload, state.base_url)}
        for e in state.events
    ]
    return {
        "resourceType": "Parameters",
        "meta": {"profile": [f"{BACKPORT}/backport-subscription-status-r4"]},
        "parameter": head + events,
    }


def _event_parts(event: NotificationEvent, payload: Payload, base_url: str) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = [
        {"name": "event-number", "valueString": str(event.number)},
        {"name": "timestamp", "valueInstant": instant(event.timestamp)},
    ]
    if payload != "empty":
        parts.append({"name": "focus", "valueReference": {"reference": absolute(base_url, event.focus)}})
        parts += [
            {"name": "additional-context", "valueReference": {"reference": absolute(base_url, c)}}
            for c in event.context
        ]
    return parts


def _subscription_status(state: Status) -> dict[str, Any]:
    """R4B and R5 SubscriptionStatus; integer64 counts travel as JSON strings, as in the core examples."""
    resource: dict[str, Any] = {
        "resourceType": "SubscriptionStatus",
        "status": state.status,
        "type": state.kind,
        "eventsSinceSubscriptionStart": str(state.events_since_start),
    }
    if state.events:
        resource["notificationEvent"] = [_event(e, state.payload, state.base_url) for e in state.events]
    resource["subscription"] = {"reference": state.subscription}
    return resource | ({"topic": state.topic_url} if state.with_topic else {})


def _event(event: NotificationEvent, payload: Payload, base_url: str) -> dict[str, Any]:
    element: dict[str, Any] = {"eventNumber": str(event.number), "timestamp": instant(event.timestamp)}
    if payload != "empty":
        element["focus"] = {"reference": absolute(base_url, event.focus)}
        if event.context:
            element["additionalContext"] = [{"reference": absolute(base_url, c)} for c in event.context]
    return element


def absolute(base_url: str, reference: str) -> str:
    if "://" in reference or reference.startswith("urn:"):
        return reference
    return f"{base_url.rstrip('/')}/{reference}"


def instant(moment: datetime) -> str:
    """A FHIR instant needs a zone; a naive time is taken as UTC, as the reader does (elements.py)."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()
