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

The status resource that opens each Bundle is built in ``notification_status.py``, the topics in
``topics.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import partial
from typing import Any, Final

from service.adapters.fhir_out.notification_status import (
    BACKPORT,
    NotificationEvent,
    NotificationKind,
    Payload,
    Status,
    absolute,
    instant,
    status_entry,
)
from service.adapters.fhir_out.topics import check_version

__all__ = [  # with the names of notification_status.py that callers import from here
    "BACKPORT",
    "NotificationEvent",
    "NotificationKind",
    "Payload",
    "notification_bundle",
    "subscription_events",
    "subscription_status",
]

_BUNDLE_PROFILE: Final = {
    "4.0": f"{BACKPORT}/backport-subscription-notification-r4",
    "4.3": f"{BACKPORT}/backport-subscription-notification",
}


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
    subscription = absolute(base_url, subscription_ref)
    state = Status(
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
    first = status_entry(state, fhir_version, bundle_id, f"{subscription}/{operation}")
    bundle: dict[str, Any] = {"resourceType": "Bundle", "id": bundle_id}
    if fhir_version in _BUNDLE_PROFILE:
        bundle["meta"] = {"profile": [_BUNDLE_PROFILE[fhir_version]]}
    bundle_type = "subscription-notification" if fhir_version == "5.0" else "history"
    entries = [first, *_payload_entries(events, payload, base_url)]
    return bundle | {"type": bundle_type, "timestamp": instant(timestamp), "entry": entries}


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
    subscription = absolute(base_url, subscription_ref)
    state = Status(
        "query-status", subscription, topic_url, status, events_since_start, (), "empty", base_url, True
    )
    entry = status_entry(state, fhir_version, bundle_id, None)
    return {
        "resourceType": "Bundle",
        "id": bundle_id,
        "type": "searchset",
        "total": 1,
        "timestamp": instant(timestamp),
        "entry": [entry],
    }


# The ``$events`` answer: a notification Bundle of kind ``query-event`` holding the requested range (Backport
# IG OperationDefinition backport-subscription-events; R5 core example Bundle-787e69f6...).
subscription_events: Final = partial(notification_bundle, kind="query-event")


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
        entry: dict[str, Any] = {"fullUrl": absolute(base_url, reference)}
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
