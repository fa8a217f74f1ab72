"""What each ``/fhir`` route does, in SMART terms: the (resource type, permission) pairs it needs, and how it
touches patient data (for the compartment check and the audit trail). One table, keyed by the route's name;
a route missing from it is refused to every scoped token (fail closed) until it is given a rule here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

# What $evaluate answers (FHIR-CONTRACT section 2): reading it needs read on each, persisting it create.
EVALUATE_OUTPUT = ("DiagnosticReport", "Observation", "CarePlan", "Provenance")


class Kind(StrEnum):
    OPEN = "open"  # no token needed (discovery)
    PLAIN = "plain"  # a token, no patient data ($validate, the service's own definitions)
    READ = "read"  # read, vread, history of one resource
    SEARCH = "search"
    WRITE = "write"  # a posted Bundle
    EVALUATE = "evaluate"
    SUBSCRIPTION = "subscription"  # Subscription CRUD, $status and $events: not for patient/ tokens
    AUDIT = "audit"  # the audit trail itself: system/ and user/ scopes only


@dataclass(frozen=True, slots=True)
class Interaction:
    kind: Kind
    needs: list[tuple[str, str]]
    subtype: str  # the FHIR restful-interaction code (or operation) the audit trail records


_FIXED: dict[str, tuple[Kind, list[tuple[str, str]], str]] = {
    "metadata": (Kind.OPEN, [], "capabilities"),
    "validate": (Kind.PLAIN, [], "operation"),
    "validate_type": (Kind.PLAIN, [], "operation"),
    "read_code_system": (Kind.PLAIN, [("CodeSystem", "r")], "read"),
    "read_operation_definition": (Kind.PLAIN, [("OperationDefinition", "r")], "read"),
    "search_code_systems": (Kind.PLAIN, [("CodeSystem", "s")], "search-type"),
    "search_topics": (Kind.PLAIN, [("SubscriptionTopic", "s")], "search-type"),
    "read_topic": (Kind.PLAIN, [("SubscriptionTopic", "r")], "read"),
    "search_basic": (Kind.PLAIN, [("Basic", "s")], "search-type"),
    "read_basic": (Kind.PLAIN, [("Basic", "r")], "read"),
    "create_subscription": (Kind.SUBSCRIPTION, [("Subscription", "c")], "create"),
    "update_subscription": (Kind.SUBSCRIPTION, [("Subscription", "u")], "update"),
    "delete_subscription": (Kind.SUBSCRIPTION, [("Subscription", "d")], "delete"),
    "read_subscription": (Kind.SUBSCRIPTION, [("Subscription", "r")], "read"),
    "vread_subscription": (Kind.SUBSCRIPTION, [("Subscription", "r")], "vread"),
    "search_subscriptions": (Kind.SUBSCRIPTION, [("Subscription", "s")], "search-type"),
    "subscription_status": (Kind.SUBSCRIPTION, [("Subscription", "r")], "operation"),
    "subscription_events": (Kind.SUBSCRIPTION, [("Subscription", "r")], "operation"),
    "search_audit_events": (Kind.AUDIT, [("AuditEvent", "s")], "search-type"),
    # the report page (/view/Patient/{patient_id}): the patient's identification, report and measurements
    "view_patient": (Kind.READ, [("Patient", "r"), ("DiagnosticReport", "r"), ("Observation", "r")], "read"),
}
_BY_TYPE = {"read": ("r", "read"), "vread": ("r", "vread"), "history": ("r", "history-instance")}
_WRITES = {"transaction_or_batch", "post_bundle", "process_message"}
_METHODS = {"POST": "c", "PUT": "u", "PATCH": "u", "DELETE": "d"}
_ACTIONS = {spelling: action for method, action in _METHODS.items() for spelling in (method, method.lower())}


def interaction(
    route_name: str, path_params: dict[str, Any], body: dict[str, Any] | None
) -> Interaction | None:
    """The route's interaction, or ``None`` for a route with no rule (refused)."""
    if route_name in _FIXED:
        return Interaction(*_FIXED[route_name])
    resource_type = str(path_params.get("resource_type", ""))
    if route_name in _BY_TYPE:
        action, subtype = _BY_TYPE[route_name]
        return Interaction(Kind.READ, [(resource_type, action)], subtype)
    if route_name == "search":
        return Interaction(Kind.SEARCH, [(resource_type, "s")], "search-type")
    if route_name in _WRITES:
        subtype = (
            str((body or {}).get("type", "create")) if route_name == "transaction_or_batch" else "create"
        )
        return Interaction(Kind.WRITE, write_needs(body), subtype)
    if route_name == "evaluate":
        return Interaction(Kind.EVALUATE, evaluate_needs(body), "operation")
    return None


def entries(bundle: dict[str, Any] | None) -> list[dict[str, Any]]:
    found = (bundle or {}).get("entry")
    return [e for e in found if isinstance(e, dict)] if isinstance(found, list) else []


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def write_needs(bundle: dict[str, Any] | None) -> list[tuple[str, str]]:
    """One (type, c/u/d) per entry: POST creates, PUT updates, a collection or message entry creates."""
    found = entries(bundle)
    return sorted({_write_need(entry) for entry in found}) if found else [("Bundle", "c")]


def _write_need(entry: dict[str, Any]) -> tuple[str, str]:
    """The entry's resource type (else its request URL's) and action; a Bundle's entries mostly name a
    resource and a plain method, which are read without building the URL's type or upper-casing."""
    request, resource = as_dict(entry.get("request")), as_dict(entry.get("resource"))
    method = request.get("method", "POST")
    action = _ACTIONS.get(method) if type(method) is str else None
    if action is None:
        action = _METHODS.get(str(method).upper(), "c")
    resource_type = resource.get("resourceType")
    if type(resource_type) is str and resource_type:
        return resource_type, action
    url_type = str(request.get("url", "")).split("/")[0].split("?")[0]
    return str(resource_type or url_type), action


def evaluate_parameters(body: dict[str, Any] | None) -> tuple[dict[str, Any] | None, list[str], bool]:
    """The posted Bundle, every ``patient`` named and whether any ``persist`` is true, of an $evaluate body
    (a Bundle or Parameters). Read conservatively: a repeated parameter counts each time."""
    if body is None or body.get("resourceType") != "Parameters":
        return body, [], False
    bundle, patients, persist = None, [], False
    for parameter in body.get("parameter") or []:
        if not isinstance(parameter, dict):
            continue
        name = parameter.get("name")
        if name == "bundle" and isinstance(parameter.get("resource"), dict):
            bundle = parameter["resource"]
        elif name == "patient":
            reference = parameter.get("valueReference")
            value = (
                reference.get("reference") if isinstance(reference, dict) else parameter.get("valueString")
            )
            patients.append(str(value))
        elif name == "persist":
            persist = persist or parameter.get("valueBoolean") is not False
    return bundle, patients, persist


def evaluate_needs(body: dict[str, Any] | None) -> list[tuple[str, str]]:
    """Read on what it answers; with ``persist``, also create on that and on what was posted."""
    bundle, _, persist = evaluate_parameters(body)
    needs = [(t, "r") for t in EVALUATE_OUTPUT]
    if persist:
        needs += [(t, "c") for t in EVALUATE_OUTPUT]
        needs += [need for need in write_needs(bundle) if entries(bundle)]
    return needs
