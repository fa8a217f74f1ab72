"""Topic-based subscriptions, outbound: the Bundles the service notifies
with (FHIR-CONTRACT.md section 6). Pure: every function builds plain FHIR JSON from its arguments.

One shape per FHIR version, each as its published examples have it:

- R5 (``5.0``): a ``subscription-notification`` Bundle, first entry a SubscriptionStatus
  (http://hl7.org/fhir/R5/subscriptionstatus.html; core examples Bundle-3945182f..., Bundle-787e69f6...).
- R4B (``4.3``): a ``history`` Bundle, first entry the R4B SubscriptionStatus: the Backport IG uses the native
  resource where R4B has one (http://hl7.org/fhir/uv/subscriptions-backport/notifications.html).
- R4 (``4.0``): a ``history`` Bundle, first entry a Parameters of profile backport-subscription-status-r4
  (the IG's and the Inferno subscriptions test kit's R4 examples).

In every version an ``empty`` payload names neither focus nor topic (the status profiles: topic "SHOULD NOT
be present when using empty payloads"); ``id-only`` adds an entry per referenced resource with its request
but no body (the Inferno id-only example); ``full-resource`` adds the bodies.

The topics themselves are in ``topics.py``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, Final, Literal

from service.adapters.fhir_out.topics import check_version

NotificationKind = Literal["handshake", "heartbeat", "event-notification", "query-status", "query-event"]
Payload = Literal["empty", "id-only", "full-resource"]

BACKPORT: Final = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition"
_BUNDLE_PROFILE: Final = {
    "4.0": f"{BACKPORT}/backport-subscription-notification-r4",
    "4.3": f"{BACKPORT}/backport-subscription-notification",
}


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
class _Status:
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


def notification_bundle(
    *,
    kind: NotificationKind,
    subscription_ref: str,
    topic_url: str,
    status: str,
    events_since_start: int,
    events: Sequence[NotificationEvent],
    payload: Payload,
    fhir_version: str,
    base_url: str,
    bundle_id: str,
    timestamp: datetime,
) -> dict[str, Any]:
    """The Bundle a subscriber is sent (or gets from ``$events``): status first, then one entry per
    referenced resource, with a body only for ``full-resource``. Handshakes and heartbeats carry no
    events (R5 subscriptionstatus.html#notification-types)."""
    check_version(fhir_version)
    if kind in ("handshake", "heartbeat") and events:
        raise ValueError(f"a {kind} notification carries no events")
    subscription = _absolute(base_url, subscription_ref)
    state = _Status(
        kind,
        subscription,
        topic_url,
        status,
        events_since_start,
        events,
        payload,
        base_url,
        payload != "empty",
    )
    operation = "$events" if kind == "query-event" else "$status"
    first = _status_entry(state, fhir_version, bundle_id, f"{subscription}/{operation}")
    bundle: dict[str, Any] = {"resourceType": "Bundle", "id": bundle_id}
    if fhir_version in _BUNDLE_PROFILE:
        bundle["meta"] = {"profile": [_BUNDLE_PROFILE[fhir_version]]}
    bundle_type = "subscription-notification" if fhir_version == "5.0" else "history"
    entries = [first, *_payload_entries(events, payload, base_url)]
    return bundle | {"type": bundle_type, "timestamp": _instant(timestamp), "entry": entries}


def subscription_status(
    *,
    subscription_ref: str,
    topic_url: str,
    status: str,
    events_since_start: int,
    fhir_version: str,
    base_url: str,
    bundle_id: str,
    timestamp: datetime,
) -> dict[str, Any]:
    """The ``$status`` answer: a ``searchset`` Bundle holding one ``query-status`` status resource (the
    Backport IG's and R5's OperationDefinition; the Inferno example subscription_status_example.json)."""
    check_version(fhir_version)
    subscription = _absolute(base_url, subscription_ref)
    state = _Status(
        "query-status", subscription, topic_url, status, events_since_start, (), "empty", base_url, True
    )
    entry = _status_entry(state, fhir_version, bundle_id, None)
    return {
        "resourceType": "Bundle",
        "id": bundle_id,
        "type": "searchset",
        "total": 1,
        "timestamp": _instant(timestamp),
        "entry": [entry],
    }


# The ``$events`` answer: a notification Bundle of kind ``query-event`` holding the requested range (Backport
# IG OperationDefinition backport-subscription-events; R5 core example Bundle-787e69f6...).
subscription_events: Final = partial(notification_bundle, kind="query-event")


def _status_entry(
    state: _Status, fhir_version: str, bundle_id: str, request_url: str | None
) -> dict[str, Any]:
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


def _parameters(state: _Status) -> dict[str, Any]:
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
        {"name": "timestamp", "valueInstant": _instant(event.timestamp)},
    ]
    if payload != "empty":
        parts.append({"name": "focus", "valueReference": {"reference": _absolute(base_url, event.focus)}})
        parts += [
            {"name": "additional-context", "valueReference": {"reference": _absolute(base_url, c)}}
            for c in event.context
        ]
    return parts


def _subscription_status(state: _Status) -> dict[str, Any]:
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
    element: dict[str, Any] = {"eventNumber": str(event.number), "timestamp": _instant(event.timestamp)}
    if payload != "empty":
        element["focus"] = {"reference": _absolute(base_url, event.focus)}
        if event.context:
            element["additionalContext"] = [{"reference": _absolute(base_url, c)} for c in event.context]
    return element


def _payload_entries(
    events: Sequence[NotificationEvent], payload: Payload, base_url: str
) -> list[dict[str, Any]]:
    """One entry per resource the events name, each once per version: references only for id-only (as
    the Inferno id-only example), bodies too for full-resource, nothing for empty."""
    if payload == "empty":
        return []
    entries: dict[tuple[str, str | None], dict[str, Any]] = {}
    for event in events:
        for entry in _event_entries(event, payload, base_url):
            version = entry.get("resource", {}).get("meta", {}).get("versionId")
            entries.setdefault((entry["fullUrl"], version), entry)
    return list(entries.values())


def _event_entries(event: NotificationEvent, payload: Payload, base_url: str) -> list[dict[str, Any]]:
    full = payload == "full-resource"
    bodies = {f"{r['resourceType']}/{r['id']}": r for r in event.resources} if full else {}
    references = list(dict.fromkeys([event.focus, *event.context, *bodies]))
    entries = []
    for reference in references:
        entry: dict[str, Any] = {"fullUrl": _absolute(base_url, reference)}
        if reference in bodies:
            entry["resource"] = bodies[reference]
        entries.append(entry | _request(event, reference))
    return entries


def _request(event: NotificationEvent, reference: str) -> dict[str, Any]:
    """The focus as the write that triggered it; anything else as a read (Backport IG, "Bundle Type
    Considerations": a server MAY simply include a GET)."""
    if reference != event.focus:
        return {"request": {"method": "GET", "url": reference}, "response": {"status": "200"}}
    if event.interaction == "update":
        return {"request": {"method": "PUT", "url": reference}, "response": {"status": "200"}}
    return {"request": {"method": "POST", "url": reference.split("/")[0]}, "response": {"status": "201"}}


def _absolute(base_url: str, reference: str) -> str:
    if "://" in reference or reference.startswith("urn:"):
        return reference
    return f"{base_url.rstrip('/')}/{reference}"


def _instant(moment: datetime) -> str:
    """A FHIR instant needs a zone; a naive time is taken as UTC, as the reader does (elements.py)."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()
