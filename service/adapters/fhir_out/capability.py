"""The R4 CapabilityStatement: it lists only what the service implements (FHIR-CONTRACT.md section 2)."""

from __future__ import annotations

from typing import Any

from service import __version__
from service.adapters.fhir_in.resource_types import READABLE_TYPES
from service.adapters.fhir_out.security import audit_event_resource, rest_security
from service.app.search_includes import capability as includes
from service.app.search_params import supported
from service.config import Settings

_BACKPORT = "http://hl7.org/fhir/uv/subscriptions-backport"
# The topics (FHIR-CONTRACT section 6); their resources come from fhir_out.subscriptions.
TOPIC_IDS = ("response-assessment", "care-plan-suggestion")

# The build date of this statement's content; bump it when the statement changes.
_STATEMENT_DATE = "2026-12-07"


def capability_statement(settings: Settings) -> dict[str, Any]:
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": _STATEMENT_DATE,
        "kind": "instance",
        "software": {"name": "oncoresponse", "version": __version__},
        "implementation": {
            "description": (
                "oncoresponse: tumour response and targeted-therapy resistance assessment; "
                "CDS Hooks 2.0 services (patient-view, order-select, order-sign) listed at /cds-services"
            ),
            "url": settings.canonical_base,
        },
        "instantiates": [f"{_BACKPORT}/CapabilityStatement/backport-subscription-server-r4"],
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [_rest(settings)],
    }


def _rest(settings: Settings) -> dict[str, Any]:
    rest: dict[str, Any] = {
        "mode": "server",
        "documentation": "Decision support only: reports are preliminary and care plans are proposals.",
        "resource": [
            *(_resource(t) for t in READABLE_TYPES),
            _code_systems(),
            _subscription(settings.canonical_base),
            _topics(),
            _operation_definitions(),
        ],
        "interaction": [
            {"code": "transaction", "documentation": "POST /fhir: all-or-nothing; POST and PUT entries"},
            {"code": "batch", "documentation": "POST /fhir: each entry on its own; POST and PUT entries"},
        ],
        "operation": [
            {"name": "validate", "definition": "http://hl7.org/fhir/OperationDefinition/Resource-validate"},
            {
                "name": "process-message",
                "definition": "http://hl7.org/fhir/OperationDefinition/MessageHeader-process-message",
            },
            {
                "name": "evaluate",
                "definition": f"{settings.canonical_base}/OperationDefinition/evaluate",
                "documentation": "POST /fhir/$evaluate: response and resistance assessment (FHIR-CONTRACT "
                "section 2); a Bundle, or Parameters bundle/patient/asOf/criteria/language/persist",
            },
            {
                "name": "status",
                "definition": f"{_BACKPORT}/OperationDefinition/backport-subscription-status",
                "documentation": "GET /fhir/Subscription/{id}/$status",
            },
            {
                "name": "events",
                "definition": f"{_BACKPORT}/OperationDefinition/backport-subscription-events",
                "documentation": "GET /fhir/Subscription/{id}/$events?eventsSinceNumber=&eventsUntilNumber=",
            },
        ],
    }
    if (security := rest_security(settings)) is not None:  # issue 16: SMART on FHIR, audit trail
        rest["security"] = security
        rest["resource"].append(audit_event_resource())
    return rest


def _code_systems() -> dict[str, Any]:
    """The service's own code systems, read by id or listed whole (no search parameters)."""
    return {"type": "CodeSystem", "interaction": [{"code": "read"}, {"code": "search-type"}]}


def _subscription(canonical_base: str) -> dict[str, Any]:
    """Topic-based subscriptions (Backport IG): the topics one may subscribe to, as canonical URLs."""
    return {
        "extension": [
            {
                "url": f"{_BACKPORT}/StructureDefinition/capabilitystatement-subscriptiontopic-canonical",
                "valueCanonical": f"{canonical_base}/SubscriptionTopic/{topic}",
            }
            for topic in TOPIC_IDS
        ],
        "type": "Subscription",
        "supportedProfile": [f"{_BACKPORT}/StructureDefinition/backport-subscription"],
        "interaction": [{"code": c} for c in ("read", "create", "update", "delete")],
    }


def _topics() -> dict[str, Any]:
    """The topics as R4 Basic (Backport IG). SubscriptionTopic is not an R4 type, so this R4 statement does
    not list it, though ``GET /fhir/SubscriptionTopic`` serves the same topics to R4B and R5 clients."""
    return {
        "type": "Basic",
        "documentation": "The subscription topics, per the Subscriptions Backport IG",
        "interaction": [{"code": "read"}, {"code": "search-type"}],
    }


def _operation_definitions() -> dict[str, Any]:
    """The definitions of the operations the service defines itself ($evaluate), read by id."""
    return {"type": "OperationDefinition", "interaction": [{"code": "read"}]}


def _resource(resource_type: str) -> dict[str, Any]:
    return {
        "type": resource_type,
        "versioning": "versioned",
        "readHistory": True,
        "interaction": [
            {"code": "read"},
            {"code": "vread"},
            {"code": "history-instance"},
            {"code": "search-type"},
        ],
        "searchParam": [{"name": name, "type": kind} for name, kind in supported(resource_type).items()],
        **includes(resource_type),
    }
