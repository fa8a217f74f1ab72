"""The service's two SubscriptionTopics (FHIR-CONTRACT.md section 6), as plain FHIR JSON. Pure.

Topics are native SubscriptionTopics in R4B and R5; R4 has none, so there a Basic carries the R5 elements
as cross-version extensions (the IG's example Basic-r4-encounter-complete).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

TOPIC_VERSION: Final = "1.0.0"  # of the topic definitions below; bump when a trigger or filter changes
_XVER: Final = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic"
# the R5 datatype of each SubscriptionTopic element the R4 Basic carries, as its extension's value[x]
_KINDS: Final = {
    "url": "valueUri",
    "version": "valueString",
    "name": "valueString",
    "title": "valueString",
    "description": "valueMarkdown",
    "resource": "valueUri",
    "supportedInteraction": "valueCode",
    "filterParameter": "valueString",
    "filterDefinition": "valueUri",
    "include": "valueString",
}
# the core `patient` search parameter: DiagnosticReport.subject and CarePlan.subject where a Patient
_PATIENT_PARAMETER: Final = "http://hl7.org/fhir/SearchParameter/clinical-patient"


@dataclass(frozen=True, slots=True)
class Topic:
    """One topic: a resource type created or updated, filterable by the patient at ``filter_path``."""

    id: str
    name: str
    title: str
    description: str
    resource: str
    filter_path: str

    def url(self, canonical_base: str) -> str:
        return topic_url(canonical_base, self.id)


TOPICS: Final[Mapping[str, Topic]] = MappingProxyType(
    {
        "response-assessment": Topic(
            "response-assessment",
            "ResponseAssessment",
            "Tumour response assessment",
            "A response and resistance assessment (DiagnosticReport) was created or amended.",
            "DiagnosticReport",
            "DiagnosticReport.subject",
        ),
        "care-plan-suggestion": Topic(
            "care-plan-suggestion",
            "CarePlanSuggestion",
            "Care plan suggestion",
            "A suggested next step (CarePlan, status draft, intent proposal) was created or updated.",
            "CarePlan",
            "CarePlan.subject",
        ),
    }
)


def topic_url(canonical_base: str, topic_id: str) -> str:
    return f"{canonical_base.rstrip('/')}/SubscriptionTopic/{topic_id}"


def topic_resources(canonical_base: str, fhir_version: str) -> list[dict[str, Any]]:
    """Both topics as the version has them: Basic in R4, SubscriptionTopic in R4B and R5."""
    check_version(fhir_version)
    if fhir_version == "4.0":
        return [_basic_topic(t, canonical_base) for t in TOPICS.values()]
    return [_native_topic(t, canonical_base, fhir_version) for t in TOPICS.values()]


def _native_topic(topic: Topic, canonical_base: str, fhir_version: str) -> dict[str, Any]:
    return {
        "resourceType": "SubscriptionTopic",
        "id": topic.id,
        "url": topic.url(canonical_base),
        "version": TOPIC_VERSION,
        **({"name": topic.name} if fhir_version == "5.0" else {}),  # R4B has no SubscriptionTopic.name
        "title": topic.title,
        "status": "active",
        "description": topic.description,
        "resourceTrigger": [
            {
                "description": topic.description,
                "resource": f"http://hl7.org/fhir/StructureDefinition/{topic.resource}",
                "supportedInteraction": ["create", "update"],
            }
        ],
        "canFilterBy": [_filter(topic)],
        "notificationShape": [{"resource": topic.resource, "include": [f"{topic.resource}:subject"]}],
    }


def _filter(topic: Topic) -> dict[str, str]:
    return {
        "description": f"The patient the {topic.resource} is about ({topic.filter_path}).",
        "resource": topic.resource,
        "filterParameter": "patient",
        "filterDefinition": _PATIENT_PARAMETER,
    }


def _basic_topic(topic: Topic, canonical_base: str) -> dict[str, Any]:
    """The R4 form: R5 SubscriptionTopic elements as cross-version extensions on Basic; ``status`` is a
    modifier element, so it goes in ``modifierExtension``."""
    native = _native_topic(topic, canonical_base, "5.0")
    simple = ("url", "version", "name", "title", "description")
    backbones = ("resourceTrigger", "canFilterBy", "notificationShape")
    return {
        "resourceType": "Basic",
        "id": topic.id,
        "extension": [{"url": f"{_XVER}.{key}", _KINDS[key]: native[key]} for key in simple]
        + [_backbone(key, item) for key in backbones for item in native[key]],
        "modifierExtension": [{"url": f"{_XVER}.status", "valueCode": "active"}],
        "code": {"coding": [{"system": "http://hl7.org/fhir/fhir-types", "code": "SubscriptionTopic"}]},
    }


def _backbone(element: str, content: dict[str, Any]) -> dict[str, Any]:
    """One backbone element as a complex extension: a sub-extension per value, a list repeating its name."""
    parts = []
    for key, value in content.items():
        parts += [{"url": key, _KINDS[key]: v} for v in (value if isinstance(value, list) else [value])]
    return {"url": f"{_XVER}.{element}", "extension": parts}


def check_version(fhir_version: str) -> None:
    if fhir_version not in ("4.0", "4.3", "5.0"):
        raise ValueError(f"FHIR version {fhir_version!r} is not one of 4.0, 4.3, 5.0")
