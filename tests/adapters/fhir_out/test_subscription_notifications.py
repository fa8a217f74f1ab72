"""Subscription topics and notification Bundles (FHIR-CONTRACT.md section 6): valid R4B / R5, and shaped
like the published examples (Inferno subscriptions test kit for R4, the R4B and R5 core examples)."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from fhir.resources import get_fhir_model_class as r5_model
from fhir.resources.R4B import get_fhir_model_class as r4b_model

from service.adapters.fhir_out.subscriptions import (
    BACKPORT,
    NotificationEvent,
    notification_bundle,
    subscription_events,
    subscription_status,
)
from service.adapters.fhir_out.topics import TOPICS, topic_resources

# ../shared/corpus beside the repository, as tests/conftest.py and tests/corpus/walk.py find it
CORPUS = Path(__file__).resolve().parents[3].parent / "shared" / "corpus"
INFERNO = CORPUS / "inferno-subscriptions-test-kit"
CANON = "http://oncoresponse.org/fhir"
BASE = "https://onco.example.org/fhir"
WHEN = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
KINDS = ["handshake", "heartbeat", "event-notification", "query-status", "query-event"]
PAYLOADS = ["empty", "id-only", "full-resource"]
MODELS: dict[str, Callable[[str], Any]] = {"4.0": r4b_model, "4.3": r4b_model, "5.0": r5_model}

REPORT = {
    "resourceType": "DiagnosticReport",
    "id": "r1",
    "meta": {"versionId": "2"},
    "status": "amended",
    "code": {
        "coding": [{"system": f"{CANON}/CodeSystem/report-type", "code": "response-resistance-assessment"}]
    },
    "subject": {"reference": "Patient/p1"},
}
PATIENT = {"resourceType": "Patient", "id": "p1"}
EVENTS = (
    NotificationEvent(7, WHEN, "DiagnosticReport/r1", ("Patient/p1",), (REPORT, PATIENT), "update"),
    NotificationEvent(8, WHEN + timedelta(minutes=1), "CarePlan/c1", ("Patient/p1",)),
)


def build(kind: str, payload: str, version: str, events: tuple[NotificationEvent, ...] = EVENTS) -> Any:
    return notification_bundle(
        kind=kind,  # type: ignore[arg-type]
        subscription_ref="Subscription/s1",
        topic_url=f"{CANON}/SubscriptionTopic/response-assessment",
        status="requested" if kind == "handshake" else "active",
        events_since_start=8,
        events=() if kind in ("handshake", "heartbeat") else events,
        payload=payload,  # type: ignore[arg-type]
        fhir_version=version,
        base_url=BASE,
        bundle_id="b1",
        timestamp=WHEN,
    )


@pytest.mark.parametrize("version", MODELS)
@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("kind", KINDS)
def test_every_notification_parses(kind: str, payload: str, version: str) -> None:
    """Every kind x payload x version is a Bundle that fhir.resources R4B (4.0, 4.3) or R5 (5.0) accepts."""
    bundle = build(kind, payload, version)
    MODELS[version]("Bundle").model_validate(bundle)
    for entry in bundle["entry"]:
        if "resource" in entry:
            MODELS[version](entry["resource"]["resourceType"]).model_validate(entry["resource"])
    first = bundle["entry"][0]["resource"]["resourceType"]
    expected = {"4.0": ("history", "Parameters"), "4.3": ("history", "SubscriptionStatus")}
    assert (bundle["type"], first) == expected.get(
        version, ("subscription-notification", "SubscriptionStatus")
    )


@pytest.mark.parametrize("version", MODELS)
def test_payload_decides_what_is_carried(version: str) -> None:
    """Empty: no focus, no topic, no entries. Id-only: references, no bodies. Full: the bodies, once each."""
    empty, id_only, full = (build("event-notification", p, version) for p in PAYLOADS)
    assert len(empty["entry"]) == 1 and "focus" not in json.dumps(empty) and "topic" not in json.dumps(empty)
    assert [e["fullUrl"] for e in id_only["entry"][1:]] == [
        f"{BASE}/DiagnosticReport/r1",
        f"{BASE}/Patient/p1",
        f"{BASE}/CarePlan/c1",
    ]
    assert not any("resource" in e for e in id_only["entry"][1:])
    assert [e.get("resource", {}).get("id") for e in full["entry"][1:]] == ["r1", "p1", None]


def test_focus_request_follows_the_interaction() -> None:
    """A created focus is POST {type} / 201 (the Inferno examples); an amended one PUT {type}/{id} / 200;
    anything else a GET / 200 (Backport IG: a server MAY include a GET)."""
    requests = [(e["request"], e["response"]) for e in build("event-notification", "id-only", "4.0")["entry"]]
    assert requests[1:] == [
        ({"method": "PUT", "url": "DiagnosticReport/r1"}, {"status": "200"}),
        ({"method": "GET", "url": "Patient/p1"}, {"status": "200"}),
        ({"method": "POST", "url": "CarePlan"}, {"status": "201"}),
    ]


def test_handshake_and_heartbeat_refuse_events() -> None:
    """A handshake or heartbeat with events is a programming error, not a notification."""
    with pytest.raises(ValueError, match="carries no events"):
        notification_bundle(
            kind="heartbeat",
            subscription_ref="Subscription/s1",
            topic_url="t",
            status="active",
            events_since_start=1,
            events=EVENTS,
            payload="id-only",
            fhir_version="4.0",
            base_url=BASE,
            bundle_id="b",
            timestamp=WHEN,
        )


def test_unknown_version_is_refused() -> None:
    """Only 4.0, 4.3 and 5.0 are built."""
    with pytest.raises(ValueError, match="not one of"):
        build("event-notification", "id-only", "3.0")


def test_notifications_are_deterministic() -> None:
    """The same arguments give the same Bundle, status id included, so a retried delivery is identical."""
    absolute = notification_bundle(
        kind="heartbeat",
        subscription_ref="https://other.example.org/fhir/Subscription/s9",
        topic_url="t",
        status="active",
        events_since_start=0,
        events=(),
        payload="id-only",
        fhir_version="4.0",
        base_url=BASE,
        bundle_id="b",
        timestamp=datetime(2026, 1, 1, 8, 0),  # naive: taken as UTC
    )
    assert absolute["entry"][0]["request"]["url"] == "https://other.example.org/fhir/Subscription/s9/$status"
    assert absolute["timestamp"] == "2026-01-01T08:00:00+00:00"
    assert build("event-notification", "full-resource", "4.0") == build(
        "event-notification", "full-resource", "4.0"
    )


def test_events_answer_is_a_query_event_bundle() -> None:
    """$events is the notification Bundle of kind query-event, its status entry a GET on $events."""
    arguments: dict[str, Any] = {
        "subscription_ref": "Subscription/s1",
        "topic_url": "t",
        "status": "active",
        "events_since_start": 8,
        "events": EVENTS,
        "payload": "id-only",
        "fhir_version": "4.3",
        "base_url": BASE,
        "bundle_id": "b",
        "timestamp": WHEN,
    }
    bundle = subscription_events(**arguments)
    assert bundle == notification_bundle(kind="query-event", **arguments)
    assert bundle["entry"][0]["request"]["url"] == f"{BASE}/Subscription/s1/$events"
    assert [e["eventNumber"] for e in bundle["entry"][0]["resource"]["notificationEvent"]] == ["7", "8"]


# --- the R4 examples of the Inferno test kit, rebuilt from their own values ---------------------------------

INFERNO_BASE = "https://fhirserver.org/fhir"
INFERNO_TIME = datetime(2020, 5, 29, 11, 44, 13, 188243, tzinfo=timezone(timedelta(hours=-5)))
ENCOUNTER = "Encounter/86009987-eabe-42bf-8c02-b112b18cb616"


def inferno(name: str, kind: str, status: str, since: int, payload: str, events: int) -> Any:
    example = json.loads((INFERNO / name).read_text(encoding="utf-8"))
    body = example["entry"][-1].get("resource", {}) if payload == "full-resource" else {}
    event = NotificationEvent(1, INFERNO_TIME, ENCOUNTER, (), (body,) if body else ())
    ours = notification_bundle(
        kind=kind,  # type: ignore[arg-type]
        subscription_ref="Subscription/123",
        topic_url="http://fhirserver.org/topics/patient-admission",
        status=status,
        events_since_start=since,
        events=(event,) * events,
        payload=payload,  # type: ignore[arg-type]
        fhir_version="4.0",
        base_url=INFERNO_BASE,
        bundle_id=example["id"],
        timestamp=INFERNO_TIME,
    )
    return ours, example


def comparable(bundle: dict[str, Any]) -> Any:
    """Volatile values normalised: the status entry's uuid, and instants cut to microseconds (Python's)."""
    bundle = copy.deepcopy(bundle)
    bundle["entry"][0]["fullUrl"] = bundle["entry"][0]["resource"]["id"] = "urn:uuid:status"
    return json.loads(re.sub(r"(\.\d{6})\d+", r"\1", json.dumps(bundle)))


@pytest.mark.parametrize(
    ("name", "kind", "status", "since", "payload", "events"),
    [
        ("handshake_bundle_example.json", "handshake", "requested", 0, "id-only", 0),
        ("heartbeat_bundle_example.json", "heartbeat", "active", 2, "id-only", 0),
        ("id_only_notification_bundle_example.json", "event-notification", "active", 1, "id-only", 1),
        (
            "full_resource_notification_bundle_example.json",
            "event-notification",
            "active",
            1,
            "full-resource",
            1,
        ),
    ],
)
def test_r4_matches_the_inferno_example(
    name: str, kind: str, status: str, since: int, payload: str, events: int
) -> None:
    """Given the example's own values, the R4 Bundle is the example: profiles, parameter names and order,
    string counts, entry request/response, the id-only entry without a resource."""
    ours, example = inferno(name, kind, status, since, payload, events)
    assert comparable(ours) == comparable(example)


def test_r4_empty_matches_the_inferno_example_but_the_topic() -> None:
    """The empty example less its topic: backport-subscription-status-r4 says topic "SHOULD NOT be present
    when using empty payloads", which the example (and R5's own empty example) leave out."""
    ours, example = inferno(
        "empty_notification_bundle_example.json", "event-notification", "active", 1, "empty", 1
    )
    parameters = example["entry"][0]["resource"]["parameter"]
    example["entry"][0]["resource"]["parameter"] = [p for p in parameters if p["name"] != "topic"]
    assert comparable(ours) == comparable(example)


def test_status_answer_matches_the_inferno_status_example() -> None:
    """$status is a searchset (total 1) whose one entry is the status Parameters without request; its type
    is query-status (the OperationDefinition), where the example says event-notification."""
    example = json.loads((INFERNO / "subscription_status_example.json").read_text(encoding="utf-8"))
    ours = subscription_status(
        subscription_ref="Subscription/123",
        topic_url="http://fhirserver.org/topics/patient-admission",
        status="active",
        events_since_start=2,
        fhir_version="4.0",
        base_url=INFERNO_BASE,
        bundle_id=example["id"],
        timestamp=INFERNO_TIME,
    )
    r4b_model("Bundle").model_validate(ours)
    assert [list(e) for e in ours["entry"]] == [list(e) for e in example["entry"]]
    assert (ours["type"], ours["total"]) == (example["type"], example["total"])
    names = [p["name"] for p in ours["entry"][0]["resource"]["parameter"]]
    assert names == [p["name"] for p in example["entry"][0]["resource"]["parameter"]][:5]
    assert ours["entry"][0]["resource"]["parameter"][3] == {"name": "type", "valueCode": "query-status"}


@pytest.mark.parametrize(("version", "model"), [("4.3", r4b_model), ("5.0", r5_model)])
def test_status_answer_for_r4b_and_r5(version: str, model: Callable[[str], Any]) -> None:
    """In R4B and R5 the searchset holds a SubscriptionStatus of type query-status."""
    bundle = subscription_status(
        subscription_ref="Subscription/s1",
        topic_url="t",
        status="error",
        events_since_start=3,
        fhir_version=version,
        base_url=BASE,
        bundle_id="b",
        timestamp=WHEN,
    )
    model("Bundle").model_validate(bundle)
    status = bundle["entry"][0]["resource"]
    assert (status["resourceType"], status["type"], status["status"]) == (
        "SubscriptionStatus",
        "query-status",
        "error",
    )


# --- the R4B and R5 core examples: the same shape -----------------------------------------------------------


def shape(bundle: dict[str, Any]) -> Any:
    """What the examples fix: Bundle type; the status resource's elements and each event's; per entry, its
    elements, the resource type it carries and the request method."""
    status = bundle["entry"][0]["resource"]
    events = [list(e) for e in status.get("notificationEvent", [])]
    entries = [
        (sorted(e), e.get("resource", {}).get("resourceType"), e.get("request", {}).get("method"))
        for e in bundle["entry"]
    ]
    return bundle["type"], [k for k in status if k not in ("id", "meta", "text")], events, entries


R4B, R5 = ("fhir-core-r4b", "4.3"), ("fhir-core-r5", "5.0")
ENCOUNTER_2 = ("Encounter/2",)
WITH_PATIENT = ("Encounter/2", "Patient/ABC")
CORE_CASES = [  # (folder and version, example, kind, payload, one (focus, *context) per event)
    *[(v, "54f808cf", "handshake", "id-only", ()) for v in (R4B, R5)],
    *[(v, "3d20ea4b", "heartbeat", "id-only", ()) for v in (R4B, R5)],
    *[(v, "40464b74", "query-status", "id-only", ()) for v in (R4B, R5)],
    *[(v, "3945182f", "event-notification", "id-only", (ENCOUNTER_2,)) for v in (R4B, R5)],
    *[(v, "920a46b7", "event-notification", "id-only", (WITH_PATIENT,)) for v in (R4B, R5)],
    (R5, "9601c07a", "event-notification", "empty", (ENCOUNTER_2,)),  # R4B's copy keeps the topic
    (R4B, "fdd78223", "event-notification", "full-resource", (WITH_PATIENT,)),
    (R4B, "155141d4", "query-event", "id-only", (("Encounter/1",), ENCOUNTER_2)),
]


def core_event(number: int, references: tuple[str, ...], example: dict[str, Any]) -> NotificationEvent:
    """The example's event: a PUT focus (as the examples have it), context, the bodies the example carries."""
    bodies = tuple(e["resource"] for e in example["entry"][1:] if "resource" in e)
    return NotificationEvent(number, WHEN, references[0], references[1:], bodies, "update")


@pytest.mark.parametrize(
    ("folder_version", "example_id", "kind", "payload", "events"),
    CORE_CASES,
    ids=[f"{c[0][1]}-{c[2]}-{c[3]}-{c[1]}" for c in CORE_CASES],
)
def test_matches_the_core_example_shape(
    folder_version: tuple[str, str],
    example_id: str,
    kind: str,
    payload: str,
    events: tuple[tuple[str, ...], ...],
) -> None:
    """Same Bundle type, status elements, event elements (timestamp aside), entries and request methods as
    the R4B (history + SubscriptionStatus) and R5 (subscription-notification) core examples."""
    folder, version = folder_version
    (path,) = (CORPUS / folder).glob(f"Bundle-{example_id}-*.json")
    example = json.loads(path.read_text(encoding="utf-8"))
    ours = build(
        kind, payload, version, tuple(core_event(i + 1, refs, example) for i, refs in enumerate(events))
    )
    expected_type, status_keys, example_events, entries = shape(example)
    ours_type, our_keys, our_events, our_entries = shape(ours)
    assert (ours_type, our_keys, our_entries) == (expected_type, status_keys, entries)
    without_time = [[k for k in e if k != "timestamp"] for e in our_events]
    assert without_time == [[k for k in e if k != "timestamp"] for e in example_events]


# --- topics -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "model", "resource_type"),
    [
        ("4.0", r4b_model, "Basic"),
        ("4.3", r4b_model, "SubscriptionTopic"),
        ("5.0", r5_model, "SubscriptionTopic"),
    ],
)
def test_topics_parse(version: str, model: Callable[[str], Any], resource_type: str) -> None:
    """Both topics: Basic in R4 (R4B classes), SubscriptionTopic in R4B and R5, ids equal to the topic ids."""
    topics = topic_resources(CANON + "/", version)
    for topic in topics:
        model(resource_type).model_validate(topic)
    assert [(t["resourceType"], t["id"]) for t in topics] == [(resource_type, i) for i in TOPICS]


@pytest.mark.parametrize("version", ["4.3", "5.0"])
def test_native_topic_content(version: str) -> None:
    """Triggered by create and update of its resource, filterable by patient, the subject included."""
    report = topic_resources(CANON, version)[0]
    assert (report["url"], report["status"]) == (f"{CANON}/SubscriptionTopic/response-assessment", "active")
    assert (
        report["resourceTrigger"][0]["resource"] == "http://hl7.org/fhir/StructureDefinition/DiagnosticReport"
    )
    assert report["resourceTrigger"][0]["supportedInteraction"] == ["create", "update"]
    assert report["canFilterBy"][0]["filterParameter"] == "patient"
    assert "DiagnosticReport.subject" in report["canFilterBy"][0]["description"]
    assert report["notificationShape"] == [
        {"resource": "DiagnosticReport", "include": ["DiagnosticReport:subject"]}
    ]
    assert ("name" in report) is (version == "5.0")  # R4B's SubscriptionTopic has no name


def test_r4_topic_is_a_backport_basic() -> None:
    """The R4 Basic: code fhir-types#SubscriptionTopic, the R5 elements as 5.0 cross-version extensions
    (as the IG's Basic-r4-encounter-complete), status as a modifier extension."""
    xver = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic"
    care = topic_resources(CANON, "4.0")[1]
    assert care["code"]["coding"] == [
        {"system": "http://hl7.org/fhir/fhir-types", "code": "SubscriptionTopic"}
    ]
    values = {e["url"].removeprefix(f"{xver}."): e for e in care["extension"]}
    assert values["url"]["valueUri"] == f"{CANON}/SubscriptionTopic/care-plan-suggestion"
    assert {"version", "name", "title", "description"} <= set(values)
    trigger = {
        (p["url"], next(v for k, v in p.items() if k != "url"))
        for p in values["resourceTrigger"]["extension"]
    }
    assert trigger >= {
        ("resource", "http://hl7.org/fhir/StructureDefinition/CarePlan"),
        ("supportedInteraction", "update"),
    }
    assert {"url": "filterParameter", "valueString": "patient"} in values["canFilterBy"]["extension"]
    assert care["modifierExtension"] == [{"url": f"{xver}.status", "valueCode": "active"}]


def test_status_parameters_profile() -> None:
    """The R4 status Parameters and Bundle carry the Backport IG's profiles."""
    bundle = build("heartbeat", "id-only", "4.0")
    assert bundle["meta"]["profile"] == [f"{BACKPORT}/backport-subscription-notification-r4"]
    assert bundle["entry"][0]["resource"]["meta"]["profile"] == [
        f"{BACKPORT}/backport-subscription-status-r4"
    ]
