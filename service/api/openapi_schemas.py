"""The JSON schemas of the FHIR envelope the OpenAPI document declares (``openapi_shapes.py``): any resource
(its ``resourceType``), a Bundle (type, links, entries) and an OperationOutcome (its issues). They check the
envelope, not every FHIR element: fhir.resources validates those (``$validate``)."""

from __future__ import annotations

from typing import Any

Spec = dict[str, Any]
_RESOURCE_REF = "#/components/schemas/Resource"

RESOURCE: Spec = {
    "type": "object",
    "required": ["resourceType"],
    "properties": {
        "resourceType": {"type": "string", "pattern": "^[A-Z][A-Za-z]+$"},
        "id": {"type": "string"},
    },
}
_BUNDLE_TYPES = ["document", "message", "transaction", "transaction-response", "batch", "batch-response",
                 "history", "searchset", "collection", "subscription-notification"]  # fmt: skip
BUNDLE: Spec = {
    "type": "object",
    "required": ["resourceType", "type"],
    "properties": {
        "resourceType": {"const": "Bundle"},
        "type": {"enum": _BUNDLE_TYPES},
        "total": {"type": "integer", "minimum": 0},
        "link": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["relation", "url"],
                "properties": {"relation": {"type": "string"}, "url": {"type": "string"}},
            },
        },
        "entry": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "fullUrl": {"type": "string"},
                    "resource": {"$ref": _RESOURCE_REF},
                },
            },
        },
    },
}
OPERATION_OUTCOME: Spec = {
    "type": "object",
    "required": ["resourceType", "issue"],
    "properties": {
        "resourceType": {"const": "OperationOutcome"},
        "issue": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["severity", "code"],
                "properties": {
                    "severity": {"enum": ["fatal", "error", "warning", "information"]},
                    "code": {"type": "string"},
                    "diagnostics": {"type": "string"},
                    "expression": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
}
