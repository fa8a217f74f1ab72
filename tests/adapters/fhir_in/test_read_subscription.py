"""Reading a posted Subscription (FHIR-CONTRACT.md section 6): the Backport IG's R4/R4B shape and R5's,
and every element the service cannot serve refused as a 422 naming it by FHIRPath."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from service.adapters.fhir_in.subscriptions import SubscriptionSpec, read_subscription, set_status
from service.errors import BadRequest, ServiceError, Unprocessable

# ../shared/corpus beside the repository, as tests/conftest.py and tests/corpus/walk.py find it
CORPUS = Path(__file__).resolve().parents[3].parent / "shared" / "corpus"
INFERNO = CORPUS / "inferno-subscriptions-test-kit"
CANON = "http://oncoresponse.org/fhir"
REPORTS = f"{CANON}/SubscriptionTopic/response-assessment"
CARE_PLANS = f"{CANON}/SubscriptionTopic/care-plan-suggestion"
BACKPORT = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition"
INFERNO_ENDPOINT = (
    "http://inferno.healthit.gov/suites/custom/subscriptions_r5_backport_r4_server/subscription/channel/"
    "notification_listener"
)

R5_SUBSCRIPTION: dict[str, Any] = {
    "resourceType": "Subscription",
    "status": "requested",
    "topic": CARE_PLANS,
    "reason": "suggestions for one patient",
    "filterBy": [
        {
            "resourceType": "http://hl7.org/fhir/StructureDefinition/CarePlan",
            "filterParameter": "patient",
            "comparator": "eq",
            "value": "Patient/p1",
        }
    ],
    "channelType": {
        "system": "http://terminology.hl7.org/CodeSystem/subscription-channel-type",
        "code": "rest-hook",
    },
    "endpoint": "https://engine.example.org/notify",
    "parameter": [{"name": "Authorization", "value": "Bearer abc"}, {"name": "X-Site", "value": "north"}],
    "heartbeatPeriod": 120,
    "timeout": 10,
    "maxCount": 5,
    "contentType": "application/fhir+json; fhirVersion=5.0",
    "content": "full-resource",
}


def inferno(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((INFERNO / name).read_text(encoding="utf-8"))
    return data


def ours(name: str) -> dict[str, Any]:
    """An Inferno Subscription on our topic, its Encounter filter re-aimed at DiagnosticReport."""
    subscription = inferno(name)
    subscription["criteria"] = REPORTS
    criteria = subscription["_criteria"]["extension"][0]
    criteria["valueString"] = criteria["valueString"].replace("Encounter", "DiagnosticReport")
    return subscription


def refusal(resource: dict[str, Any], version: str = "4.0") -> ServiceError:
    with pytest.raises(ServiceError) as caught:
        read_subscription(resource, version, CANON)
    return caught.value


def expressions(error: ServiceError) -> list[str | None]:
    return [issue.expression for issue in error.issues]


# --- the corpus ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("payload", ["empty", "id-only", "full-resource"])
def test_inferno_subscriptions_read(payload: str) -> None:
    """Each Inferno Subscription, on our topic, reads: filter, endpoint, payload, header, timeout, count."""
    spec = read_subscription(ours(f"Subscription_{payload}.json"), "4.0", CANON)
    assert spec == SubscriptionSpec(
        topic_id="response-assessment",
        topic_url=REPORTS,
        patient="Patient/123",
        endpoint=INFERNO_ENDPOINT,
        payload=payload,  # type: ignore[arg-type]
        headers=(("Authorization", "Bearer SAMPLE_TOKEN"),),
        heartbeat_seconds=None,
        timeout_seconds=60,
        max_count=20,
        content_type="application/fhir+json",
        fhir_version="4.0",
    )


@pytest.mark.parametrize("payload", ["empty", "id-only", "full-resource"])
def test_inferno_subscriptions_as_posted_are_unknown_topics(payload: str) -> None:
    """As posted, their patient-admission topic is not one of ours: 422 at Subscription.criteria."""
    error = refusal(inferno(f"Subscription_{payload}.json"))
    assert isinstance(error, Unprocessable) and expressions(error) == ["Subscription.criteria"]
    assert "unknown topic" in error.issues[0].diagnostics and REPORTS in error.issues[0].diagnostics


def test_a_filter_on_another_resource_type_is_refused() -> None:
    """On our topic but still filtering Encounter: the filter names the wrong resource type."""
    subscription = inferno("Subscription_id-only.json") | {"criteria": REPORTS}
    assert expressions(refusal(subscription)) == ["Subscription.criteria.extension[0].valueString"]


def test_the_zulip_example_is_not_a_rest_hook() -> None:
    """subscription_resource_example.json says rest-hook but its backport-channel-type says zulip."""
    subscription = ours("subscription_resource_example.json")
    error = refusal(subscription, "4.3")
    assert expressions(error) == ["Subscription.channel.type.extension[0].valueCoding"]
    del subscription["channel"]["_type"]
    spec = read_subscription(subscription, "4.3", CANON)
    assert (spec.heartbeat_seconds, spec.timeout_seconds, spec.max_count, spec.payload) == (
        86400,
        60,
        20,
        "full-resource",
    )


def test_r5_core_example_reads_on_our_topic() -> None:
    """The R5 core Subscription-admission, its topic replaced; as posted it is an unknown topic."""
    subscription = json.loads(
        (CORPUS / "fhir-core-r5" / "Subscription-admission.json").read_text(encoding="utf-8")
    )
    assert expressions(refusal(subscription, "5.0")) == ["Subscription.topic"]
    spec = read_subscription(subscription | {"topic": REPORTS}, "5.0", CANON)
    assert spec == SubscriptionSpec(
        "response-assessment",
        REPORTS,
        "Patient/123",
        "https://example.org/Endpoints/P123",
        "id-only",
        (("Authorization", "Bearer secret-token-abc-123"),),
        60,
        5,
        100,
        "application/fhir+json",
        "5.0",
    )


def test_r5_subscription_reads() -> None:
    """An R5 Subscription: topic, filterBy (typed by canonical), parameters as headers, periods, content."""
    spec = read_subscription(R5_SUBSCRIPTION, "5.0", CANON + "/")
    assert (spec.topic_id, spec.topic_url, spec.patient) == ("care-plan-suggestion", CARE_PLANS, "Patient/p1")
    assert spec.headers == (("Authorization", "Bearer abc"), ("X-Site", "north"))
    assert (spec.heartbeat_seconds, spec.timeout_seconds, spec.max_count) == (120, 10, 5)
    assert (spec.payload, spec.content_type) == ("full-resource", "application/fhir+json; fhirVersion=5.0")


def test_defaults_when_optional_elements_are_absent() -> None:
    """No filter: every patient; no content: id-only; no contentType: application/fhir+json."""
    minimal = {k: R5_SUBSCRIPTION[k] for k in ("resourceType", "status", "topic", "channelType", "endpoint")}
    spec = read_subscription(minimal | {"topic": f"{CARE_PLANS}|1.0.0"}, "5.0", CANON)
    assert spec == SubscriptionSpec(
        "care-plan-suggestion", CARE_PLANS, None, "https://engine.example.org/notify", fhir_version="5.0"
    )
    assert (spec.payload, spec.content_type, spec.headers) == ("id-only", "application/fhir+json", ())


@pytest.mark.parametrize(
    "criteria",
    [
        "patient=Patient/123",
        "DiagnosticReport?patient=Patient/123",
        "DiagnosticReport.patient=Patient/123",
        "patient=123",
        "patient=Patient%2F123",
        "patient=https://ehr.example.org/fhir/Patient/123",
    ],
)
def test_backport_filter_forms(criteria: str) -> None:
    """The IG's ``Type?name=value``, the older ``Type.name=value``, a bare query; ids and URLs normalised."""
    subscription = ours("Subscription_id-only.json")
    subscription["_criteria"]["extension"][0]["valueString"] = criteria
    assert read_subscription(subscription, "4.0", CANON).patient == "Patient/123"


# --- refusals -----------------------------------------------------------------------------------------------

Change = Callable[[dict[str, Any]], None]


def channel_extension(url: str, key: str, value: Any) -> Change:
    return lambda s: s["channel"]["extension"].__setitem__(0, {"url": f"{BACKPORT}/{url}", key: value})


def criteria(text: Any) -> Change:
    return lambda s: s["_criteria"]["extension"][0].__setitem__("valueString", text)


def set_in(path: tuple[str | int, ...], value: Any) -> Change:
    def change(resource: dict[str, Any]) -> None:
        target: Any = resource
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


FILTER = "Subscription.criteria.extension[0].valueString"
BACKPORT_REFUSALS: dict[str, tuple[Change, str]] = {
    "unknown topic": (
        set_in(("criteria",), "http://elsewhere.org/SubscriptionTopic/x"),
        "Subscription.criteria",
    ),
    "no topic": (lambda s: s.pop("criteria"), "Subscription.criteria"),
    "no channel": (lambda s: s.pop("channel"), "Subscription.channel"),
    "no channel type": (lambda s: s["channel"].pop("type"), "Subscription.channel.type"),
    "websocket": (set_in(("channel", "type"), "websocket"), "Subscription.channel.type"),
    "header not a list": (set_in(("channel", "header"), "X-A: 1"), "Subscription.channel.header"),
    "ftp endpoint": (set_in(("channel", "endpoint"), "ftp://x.org/in"), "Subscription.channel.endpoint"),
    "no endpoint": (lambda s: s["channel"].pop("endpoint"), "Subscription.channel.endpoint"),
    "relative endpoint": (set_in(("channel", "endpoint"), "/notify"), "Subscription.channel.endpoint"),
    "xml": (set_in(("channel", "payload"), "application/fhir+xml"), "Subscription.channel.payload"),
    "content code": (
        set_in(("channel", "_payload", "extension", 0, "valueCode"), "everything"),
        "Subscription.channel.payload.extension[0].valueCode",
    ),
    "filter not text": (criteria(5), FILTER),
    "empty filter": (criteria(""), FILTER),
    "other filter": (criteria("code=1234"), FILTER),
    "modifier": (criteria("patient:in=Group/1"), FILTER),
    "two patients": (criteria("patient=Patient/1&patient=Patient/2"), FILTER),
    "not a patient": (criteria("patient=Group/1"), FILTER),
    "other type": (criteria("Observation?patient=Patient/1"), FILTER),
    "no colon": (set_in(("channel", "header"), ["Authorization Bearer x"]), "Subscription.channel.header[0]"),
    "bad name": (set_in(("channel", "header"), ["X-A: 1", "Bad Name: x"]), "Subscription.channel.header[1]"),
    "injection": (set_in(("channel", "header"), ["X: a\r\nHost: evil"]), "Subscription.channel.header[0]"),
    "empty value": (set_in(("channel", "header"), ["X-Empty:"]), "Subscription.channel.header[0]"),
    "heartbeat 0": (
        channel_extension("backport-heartbeat-period", "valueUnsignedInt", 0),
        "Subscription.channel.extension[0].valueUnsignedInt",
    ),
    "timeout -1": (
        channel_extension("backport-timeout", "valueUnsignedInt", -1),
        "Subscription.channel.extension[0].valueUnsignedInt",
    ),
    "max-count 0": (
        channel_extension("backport-max-count", "valuePositiveInt", 0),
        "Subscription.channel.extension[0].valuePositiveInt",
    ),
    "timeout text": (
        channel_extension("backport-timeout", "valueUnsignedInt", "60"),
        "Subscription.channel.extension[0].valueUnsignedInt",
    ),
}


@pytest.mark.parametrize("case", BACKPORT_REFUSALS)
def test_backport_refusals(case: str) -> None:
    """Each unusable R4 element is a 422 naming that element."""
    change, expression = BACKPORT_REFUSALS[case]
    subscription = ours("Subscription_id-only.json")
    change(subscription)
    error = refusal(subscription)
    assert isinstance(error, Unprocessable) and error.status == 422
    assert expressions(error) == [expression]


R5_REFUSALS: dict[str, tuple[Change, str]] = {
    "unknown topic": (set_in(("topic",), f"{CANON}/SubscriptionTopic/other"), "Subscription.topic"),
    "no channelType": (lambda s: s.pop("channelType"), "Subscription.channelType"),
    "websocket": (set_in(("channelType", "code"), "websocket"), "Subscription.channelType.code"),
    "mailto endpoint": (set_in(("endpoint",), "mailto:a@b.org"), "Subscription.endpoint"),
    "content": (set_in(("content",), "everything"), "Subscription.content"),
    "contentType": (set_in(("contentType",), "text/plain"), "Subscription.contentType"),
    "other filter": (
        set_in(("filterBy", 0, "filterParameter"), "code"),
        "Subscription.filterBy[0].filterParameter",
    ),
    "not a patient": (set_in(("filterBy", 0, "value"), "Group/1"), "Subscription.filterBy[0].value"),
    "modifier": (set_in(("filterBy", 0, "modifier"), "in"), "Subscription.filterBy[0].modifier"),
    "other type": (
        set_in(("filterBy", 0, "resourceType"), "Observation"),
        "Subscription.filterBy[0].resourceType",
    ),
    "parameter": (set_in(("parameter", 1, "value"), ""), "Subscription.parameter[1]"),
    "heartbeat 0": (set_in(("heartbeatPeriod",), 0), "Subscription.heartbeatPeriod"),
    "timeout 0": (set_in(("timeout",), 0), "Subscription.timeout"),
    "maxCount -3": (set_in(("maxCount",), -3), "Subscription.maxCount"),
    "maxCount true": (set_in(("maxCount",), True), "Subscription.maxCount"),
}


@pytest.mark.parametrize("case", R5_REFUSALS)
def test_r5_refusals(case: str) -> None:
    """Each unusable R5 element is a 422 naming that element."""
    change, expression = R5_REFUSALS[case]
    subscription = copy.deepcopy(R5_SUBSCRIPTION)
    change(subscription)
    error = refusal(subscription, "5.0")
    assert isinstance(error, Unprocessable) and expressions(error) == [expression]


def test_every_problem_is_reported_at_once() -> None:
    """Several unusable elements: one 422 listing each, so a sender fixes them in one go."""
    subscription = ours("Subscription_id-only.json")
    subscription["channel"] |= {"type": "email", "endpoint": "mailto:x@y.org", "header": ["oops"]}
    assert expressions(refusal(subscription)) == [
        "Subscription.channel.type",
        "Subscription.channel.endpoint",
        "Subscription.channel.header[0]",
    ]


def test_an_r5_subscription_sent_as_r4_gets_a_hint() -> None:
    """Read with the R4 shape, an R5 Subscription has no criteria; the message says what to send instead."""
    error = refusal(R5_SUBSCRIPTION, "4.0")
    assert (
        expressions(error)[0] == "Subscription.criteria" and "fhirVersion=5.0" in error.issues[0].diagnostics
    )


def test_an_unknown_version_is_a_programming_error() -> None:
    """The caller decides the version; anything but 4.0, 4.3 and 5.0 is its mistake, not the sender's."""
    with pytest.raises(ValueError, match="not one of"):
        read_subscription(R5_SUBSCRIPTION, "3.0", CANON)


@pytest.mark.parametrize("body", [{"resourceType": "Patient", "id": "p1"}, [], {"status": "active"}])
def test_not_a_subscription_is_a_bad_request(body: Any) -> None:
    """A body that is not a Subscription resource is a 400, not a 422."""
    error = refusal(body)
    assert isinstance(error, BadRequest) and error.status == 400


# --- status -------------------------------------------------------------------------------------------------


def test_set_status_keeps_what_was_posted() -> None:
    """A copy with the new status; R4's required reason and criteria, and the rest, as posted."""
    posted = inferno("Subscription_id-only.json")
    active = set_status(posted, "active", "4.0")
    assert posted["status"] == "requested" and active["status"] == "active"
    assert {k: v for k, v in active.items() if k != "status"} == {
        k: v for k, v in posted.items() if k != "status"
    }
    assert active["channel"] is not posted["channel"]


def test_set_status_checks_the_code_per_version() -> None:
    """entered-in-error exists only in R5; an unknown status is refused."""
    assert set_status(R5_SUBSCRIPTION, "entered-in-error", "5.0")["status"] == "entered-in-error"
    for status, version in [("entered-in-error", "4.0"), ("paused", "5.0")]:
        with pytest.raises(ValueError, match="not a Subscription status"):
            set_status(R5_SUBSCRIPTION, status, version)
