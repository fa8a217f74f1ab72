"""The OpenAPI document as served (``/openapi.json``) and committed (``make openapi``), with what FastAPI
cannot infer (issues 20 and 21): routes read FHIR JSON themselves and answer ``FhirJSONResponse``, so
FastAPI would declare no request body, every answer a string, and a 422 ``HTTPValidationError`` that the
service never sends (its handler answers 400). :func:`refine` adds, for every operation:

- the answer's shape: a ``Bundle`` for searches, histories, ``$events``, ``$status`` and Bundle posts, the
  resource type where there is one, else any FHIR resource;
- the request body and its media types (``application/fhir+json``, ``application/json``);
- every error status it can answer, each an ``OperationOutcome`` (``service/errors.py`` draws the tree):
  400 for a parameter or body that is not valid, 404 where the path names something, 408, 413 and 415
  where there is a body, 500 always, 503 with ``Retry-After`` wherever the store is used, 304 for reads.

The schemas (``openapi_schemas.py``) check the envelope, not every FHIR element.
"""

from __future__ import annotations

import copy

from fastapi import FastAPI

from service.adapters.fhir_in.resource_types import READABLE_TYPES
from service.adapters.fhir_out.topics import topic_resources
from service.api.openapi_schemas import BUNDLE, OPERATION_OUTCOME, RESOURCE, Spec
from service.api.routes.cds_hooks import SERVICES

FHIR_JSON = "application/fhir+json"
_REF = "#/components/schemas/"

# The answer of each operation whose 2xx body FastAPI sees as a string: a Bundle, or one resource type.
_BUNDLES = {"search", "search_post", "history_instance", "search_audit_events", "search_basic_topics",
            "search_code_systems", "search_subscriptions", "search_subscription_topics",
            "subscription_events", "subscription_status", "transaction_or_batch", "post_bundle",
            "process_message", "evaluate"}  # fmt: skip
_TYPES = {"capabilities": "CapabilityStatement", "validate": "OperationOutcome",
          "validate_type": "OperationOutcome", "read_code_system": "CodeSystem",
          "read_operation_definition": "OperationDefinition", "read_basic_topic": "Basic",
          "read_subscription_topic": "SubscriptionTopic", "read_subscription": "Subscription",
          "vread_subscription": "Subscription", "create_subscription": "Subscription",
          "update_subscription": "Subscription"}  # fmt: skip
# The request body of each operation that reads one (the routes read it themselves).
_BODIES = {"transaction_or_batch": "Bundle", "post_bundle": "Bundle", "process_message": "Bundle",
           "evaluate": "Resource", "validate": "Resource", "validate_type": "Resource",
           "create_subscription": "Resource", "update_subscription": "Resource"}  # fmt: skip
_FORM_BODIES = {"search_post"}
_CDS_BODIES = {"cds_hook", "cds_feedback"}
_READS_WITH_ETAG = {"read", "read_head", "vread", "vread_head"}  # 304 to a matching If-None-Match
_NO_STORE = {"healthz", "metrics", "smart_configuration", "cds_discovery"}  # never 503: no store behind
_CDS_401 = {"401": "OperationOutcome: no JWT of a trusted issuer (ONCO_CDS_TRUSTED_ISSUERS)"}
_STALE_412 = {"412": "OperationOutcome: a transaction entry's ifMatch is stale; nothing is written"}
_ALSO: dict[str, dict[str, str]] = {
    "smart_configuration": {"404": "OperationOutcome: SMART on FHIR is not configured (ONCO_AUTH_MODE)"},
    "cds_hook": _CDS_401,
    "cds_feedback": _CDS_401,
    "transaction_or_batch": _STALE_412,
    "post_bundle": _STALE_412,
    "view_patient": {"401": "OperationOutcome: no access token, or an invalid one",
                     "403": "OperationOutcome: the token's scopes do not allow reading the report"},
}  # fmt: skip

_FHIR_ID: Spec = {"type": "string", "pattern": "^[A-Za-z0-9.-]{1,64}$"}  # FHIR's id datatype
_VERSION_ID: Spec = {"type": "string", "pattern": "^[0-9]{1,9}$"}

_ERRORS = {
    "400": "OperationOutcome: a parameter or body that is not valid",
    "404": "OperationOutcome: nothing of that type, id or version here",
    "408": "OperationOutcome: the body did not arrive within ONCO_BODY_READ_TIMEOUT_SECONDS",
    "413": "OperationOutcome: a body over ONCO_MAX_BUNDLE_BYTES, or too deep or too many entries",
    "415": "OperationOutcome: not application/fhir+json (or application/json), or an unsupported fhirVersion",
    "500": "OperationOutcome: an internal error, naming only the request id",
    "503": "OperationOutcome: shedding load, or the store is away; retry after Retry-After",
}
_HEADERS = {
    "401": {"WWW-Authenticate": {"description": "why the token was refused", "schema": {"type": "string"}}},
    "429": {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}},
    "503": {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}},
}


def install_openapi(app: FastAPI) -> None:
    """Serve the refined document at ``/openapi.json`` (and so to ``make openapi``)."""
    generate = app.openapi

    def openapi() -> Spec:
        if app.openapi_schema is None:
            app.openapi_schema = refine(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to customise it


def refine(spec: Spec) -> Spec:
    spec = copy.deepcopy(spec)
    for path, item in spec.get("paths", {}).items():
        for method, operation in item.items():
            _refine(path, method, operation)
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    schemas |= {"Resource": RESOURCE, "Bundle": BUNDLE, "OperationOutcome": OPERATION_OUTCOME}
    return spec


def _refine(path: str, method: str, operation: Spec) -> None:
    name, responses = operation.get("operationId", ""), operation["responses"]
    if "HTTPValidationError" in str(responses.get("422", {})):  # FastAPI's; the service answers 400
        del responses["422"]
        responses.setdefault("400", {})
    if operation.get("parameters"):
        responses.setdefault("400", {})
    if "{" in path:
        responses.setdefault("404", {})
        _path_parameters(operation)
    _request_body(name, operation)
    if "requestBody" in operation:
        for status in ("400", "408", "413"):
            responses.setdefault(status, {})
        if path.startswith("/fhir") and name not in _FORM_BODIES | _CDS_BODIES:
            responses.setdefault("415", {})
    for status, description in _ALSO.get(name, {}).items():
        responses.setdefault(status, {"description": description})
    if name in _READS_WITH_ETAG:
        responses.setdefault("304", {"description": "Not Modified: the If-None-Match ETag is current"})
    responses.setdefault("500", {})
    if name not in _NO_STORE:
        responses.setdefault("503", {})
    for status, response in responses.items():
        if status >= "400":
            _error(status, response)
        elif status.startswith("2"):
            _answer(name, method, response)


def _path_parameters(operation: Spec) -> None:
    """What a path parameter may name: the served types, topics and CDS services, FHIR ids (anything
    else is a 404, documented)."""
    named: dict[str, Spec] = {
        "resource_type": {"type": "string", "enum": sorted(READABLE_TYPES)},
        "topic_id": {"type": "string", "enum": [t["id"] for t in topic_resources("urn:x", "4.0")]},
        "service_id": {"type": "string", "enum": sorted(SERVICES)},
        "version_id": _VERSION_ID,
    }
    for parameter in operation.get("parameters", []):
        if parameter.get("in") == "path":
            parameter["schema"] = named.get(parameter["name"], _FHIR_ID) | {"title": parameter["name"]}


def _request_body(name: str, operation: Spec) -> None:
    if name in _BODIES:
        schema = {"$ref": f"{_REF}{_BODIES[name]}"}
        content = {FHIR_JSON: {"schema": schema}, "application/json": {"schema": schema}}
    elif name in _FORM_BODIES:
        content = {"application/x-www-form-urlencoded": {"schema": {"type": "object"}}}
    elif name in _CDS_BODIES:
        content = {"application/json": {"schema": {"type": "object"}}}
    else:
        return
    operation["requestBody"] = {"required": name not in _FORM_BODIES, "content": content}


def _error(status: str, response: Spec) -> None:
    response.setdefault("description", _ERRORS.get(status, "OperationOutcome"))
    response["content"] = {FHIR_JSON: {"schema": {"$ref": f"{_REF}OperationOutcome"}}}
    if status in _HEADERS:
        response["headers"] = _HEADERS[status]


def _answer(name: str, method: str, response: Spec) -> None:
    content = response.get("content", {})
    if method == "head":  # headers only
        response.pop("content", None)
        return
    if FHIR_JSON not in content:
        if "application/json" in content and not content["application/json"].get("schema"):
            content["application/json"]["schema"] = {"type": "object"}
        return
    if name in _BUNDLES:
        schema: Spec = {"$ref": f"{_REF}Bundle"}
    elif name in _TYPES:
        schema = {"allOf": [{"$ref": f"{_REF}Resource"}],
                  "properties": {"resourceType": {"const": _TYPES[name]}}}  # fmt: skip
    else:
        schema = {"$ref": f"{_REF}Resource"}
    content[FHIR_JSON]["schema"] = schema
