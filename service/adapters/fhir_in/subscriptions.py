"""Topic-based subscriptions, inbound: a posted Subscription read into what delivery needs
(FHIR-CONTRACT.md section 6).

Two shapes. R4 and R4B keep the R4 Subscription and carry the topic-based parts the Subscriptions Backport
IG's way (http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition-backport-subscription.html):
the topic canonical in ``criteria``, filters in ``_criteria`` extensions, the payload content in a
``_payload`` extension, heartbeat / timeout / max-count as ``channel`` extensions. R5 has the elements
natively (``topic``, ``filterBy``, ``channelType``, ``content``, ``parameter``...).

Everything wrong is reported at once, each problem with the FHIRPath of its element, as one 422 (the
element is parseable but the service cannot serve it); a body that is not a Subscription is a 400.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qsl

from service.adapters.fhir_in.elements import Issues, Node
from service.adapters.fhir_in.subscription_channel import (
    check_channel_type,
    read_content_type,
    read_endpoint,
    read_headers,
    read_parameter,
    read_payload,
    read_positive,
)
from service.adapters.fhir_out.subscriptions import Payload
from service.adapters.fhir_out.topics import TOPICS, Topic, topic_url
from service.errors import BadRequest, Unprocessable

BACKPORT: Final = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition"
STATUSES: Final = {
    "4.0": frozenset({"requested", "active", "error", "off"}),
    "4.3": frozenset({"requested", "active", "error", "off"}),
    "5.0": frozenset({"requested", "active", "error", "off", "entered-in-error"}),
}
_PATIENT = re.compile(r"^(?:(?:https?://\S+/)?Patient/)?(?P<id>[A-Za-z0-9\-.]{1,64})\Z")


@dataclass(frozen=True, slots=True)
class SubscriptionSpec:
    """What delivering to one Subscription needs, whatever FHIR version it was posted in."""

    topic_id: str
    topic_url: str
    patient: str | None
    endpoint: str
    payload: Payload = "id-only"
    headers: tuple[tuple[str, str], ...] = ()
    heartbeat_seconds: int | None = None
    timeout_seconds: int | None = None
    max_count: int | None = None
    content_type: str = "application/fhir+json"
    fhir_version: str = "4.0"


@dataclass(slots=True)
class _Read:
    """The fields as read so far; ``None`` where absent or wrong (the issue is recorded)."""

    topic: Topic | None = None
    patient: str | None = None
    endpoint: str | None = None
    payload: Payload = "id-only"
    headers: tuple[tuple[str, str], ...] = ()
    heartbeat: int | None = None
    timeout: int | None = None
    max_count: int | None = None
    content_type: str = "application/fhir+json"


def read_subscription(resource: dict[str, Any], fhir_version: str, canonical_base: str) -> SubscriptionSpec:
    """The posted Subscription as a ``SubscriptionSpec``; every unusable element in one ``Unprocessable``."""
    if not isinstance(resource, dict) or resource.get("resourceType") != "Subscription":
        raise BadRequest("the body is not a Subscription resource")
    if fhir_version not in STATUSES:
        raise ValueError(f"FHIR version {fhir_version!r} is not one of 4.0, 4.3, 5.0")
    node = Node(resource, "Subscription", Issues())
    read = (_read_r5 if fhir_version == "5.0" else _read_backport)(node, canonical_base)
    if node.issues.items or read.topic is None or read.endpoint is None:
        issues = node.issues.items
        raise Unprocessable(issues[0].diagnostics if issues else "Subscription unusable", issues=issues)
    return SubscriptionSpec(
        read.topic.id,
        read.topic.url(canonical_base),
        read.patient,
        read.endpoint,
        read.payload,
        read.headers,
        read.heartbeat,
        read.timeout,
        read.max_count,
        read.content_type,
        fhir_version,
    )


def set_status(resource: dict[str, Any], status: str, fhir_version: str) -> dict[str, Any]:
    """A copy with ``status`` set (``requested`` → ``active`` or ``error`` after the handshake). Every other
    element stays as posted, R4's required ``reason`` and ``criteria`` included."""
    if status not in STATUSES.get(fhir_version, ()):
        raise ValueError(f"{status!r} is not a Subscription status in FHIR {fhir_version}")
    updated = copy.deepcopy(resource)
    updated["status"] = status
    return updated


def _read_backport(node: Node, canonical_base: str) -> _Read:
    """R4 / R4B: the R4 Subscription elements plus the Backport IG's extensions on them."""
    read = _Read(topic=_topic(node, "criteria", canonical_base))
    criteria = _primitive_extensions(node, "criteria", f"{BACKPORT}/backport-filter-criteria")
    for filter_node in criteria:
        _backport_filter(filter_node, read)
    channel = node.obj("channel")
    if channel is None:
        node.issues.error(node.at("channel"), "a Subscription needs a channel", "required")
        return read
    check_channel_type(channel, channel.text("type"), channel.at("type"))
    for type_node in _primitive_extensions(channel, "type", f"{BACKPORT}/backport-channel-type"):
        coding = type_node.obj("valueCoding")  # the real channel where it is not one R4 names
        check_channel_type(type_node, coding.text("code") if coding else None, type_node.at("valueCoding"))
    read.endpoint = read_endpoint(channel, "endpoint")
    read.content_type = read_content_type(channel, "payload")
    for content in _primitive_extensions(channel, "payload", f"{BACKPORT}/backport-payload-content"):
        read.payload = read_payload(content, "valueCode")
    read.headers = read_headers(channel)
    for ext in channel.objs("extension"):
        _backport_channel_extension(ext, read)
    return read


def _read_r5(node: Node, canonical_base: str) -> _Read:
    """R5: the same facts, native; ``parameter`` entries become the HTTP headers (R5 subscription.html)."""
    read = _Read(topic=_topic(node, "topic", canonical_base))
    for filter_node in node.objs("filterBy"):
        _r5_filter(filter_node, read)
    channel_type = node.obj("channelType")
    if channel_type is None:
        node.issues.error(node.at("channelType"), "a Subscription needs a channelType", "required")
    else:
        check_channel_type(channel_type, channel_type.text("code"), channel_type.at("code"))
    read.endpoint = read_endpoint(node, "endpoint")
    read.content_type = read_content_type(node, "contentType")
    read.payload = read_payload(node, "content")
    read.headers = tuple(h for p in node.objs("parameter") for h in read_parameter(p))
    read.heartbeat = read_positive(node, "heartbeatPeriod")
    read.timeout = read_positive(node, "timeout")
    read.max_count = read_positive(node, "maxCount")
    return read


def _topic(node: Node, key: str, canonical_base: str) -> Topic | None:
    """One of the service's topics, by canonical (a ``|version`` suffix is ignored)."""
    canonical = node.text(key)
    if canonical is None:
        hint = " (an R5 Subscription? send it with fhirVersion=5.0)" if "topic" in node.data else ""
        node.issues.error(node.at(key), f"a Subscription needs a topic canonical in {key}{hint}", "required")
        return None
    ours = {topic_url(canonical_base, t.id): t for t in TOPICS.values()}
    topic = ours.get(canonical.split("|")[0])
    if topic is None:
        known = ", ".join(ours)
        node.issues.error(
            node.at(key), f"unknown topic {canonical}; this service has {known}", "not-supported"
        )
    return topic


def _backport_filter(node: Node, read: _Read) -> None:
    """``patient=Patient/123``, optionally after ``DiagnosticReport?`` (the IG) or ``DiagnosticReport.``
    (its earlier examples, kept by the Inferno test kit)."""
    text = node.text("valueString")
    if text is None:
        return
    match = re.match(r"^(?:(?P<type>[A-Z][A-Za-z]+)[?.])?(?P<query>.*)$", text)
    resource_type, query = (match["type"], match["query"]) if match else (None, text)
    if not _matches_topic(node, "valueString", resource_type, read.topic):
        return
    pairs = parse_qsl(query, keep_blank_values=True)
    if not pairs:
        node.issues.error(node.at("valueString"), f"filter '{text}' is not name=value", "value")
    for name, value in pairs:
        _patient_filter(node, ("valueString", name), ("valueString", value), read)


def _r5_filter(node: Node, read: _Read) -> None:
    resource_type = node.text("resourceType")
    if resource_type is not None:
        _matches_topic(node, "resourceType", resource_type.rsplit("/", 1)[-1], read.topic)
    for key in ("modifier", "comparator"):
        if node.text(key) not in (None, "eq"):
            node.issues.error(
                node.at(key), f"filter {key} '{node.data[key]}' is not supported", "not-supported"
            )
    name, value = node.text("filterParameter") or "", node.text("value") or ""
    _patient_filter(node, ("filterParameter", name), ("value", value), read)


def _matches_topic(node: Node, key: str, resource_type: str | None, topic: Topic | None) -> bool:
    if resource_type is None or topic is None or resource_type == topic.resource:
        return True
    node.issues.error(node.at(key), f"filter on {resource_type}; topic {topic.id} is about {topic.resource}")
    return False


def _patient_filter(node: Node, name: tuple[str, str], value: tuple[str, str], read: _Read) -> None:
    """The topics filter by ``patient`` alone, one patient per Subscription. ``name`` and ``value`` are
    (element, text): in R4 both sit in one string, in R5 in two elements."""
    match = _PATIENT.match(value[1])
    if name[1] != "patient":
        node.issues.error(
            node.at(name[0]), f"filter '{name[1]}' is not supported; use patient", "not-supported"
        )
    elif match is None:
        node.issues.error(node.at(value[0]), f"'{value[1]}' is not a Patient reference or id", "value")
    elif read.patient is not None:
        node.issues.error(node.at(value[0]), "only one patient filter per Subscription", "not-supported")
    else:
        read.patient = f"Patient/{match['id']}"


# channel extension url -> (its value[x], the _Read field it sets)
_CHANNEL_EXTENSIONS: Final = {
    f"{BACKPORT}/backport-heartbeat-period": ("valueUnsignedInt", "heartbeat"),
    f"{BACKPORT}/backport-timeout": ("valueUnsignedInt", "timeout"),
    f"{BACKPORT}/backport-max-count": ("valuePositiveInt", "max_count"),
}


def _backport_channel_extension(ext: Node, read: _Read) -> None:
    key, field = _CHANNEL_EXTENSIONS.get(ext.text("url") or "", (None, None))
    if key is not None and field is not None:
        setattr(read, field, read_positive(ext, key))


def _primitive_extensions(node: Node, key: str, url: str) -> list[Node]:
    """The extensions with ``url`` on the primitive ``key`` (JSON ``_key``), pathed as FHIRPath has them."""
    holder = node.data.get(f"_{key}")
    if not isinstance(holder, dict):
        return []
    return [e for e in Node(holder, node.at(key), node.issues).objs("extension") if e.data.get("url") == url]
