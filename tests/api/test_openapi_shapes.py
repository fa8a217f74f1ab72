"""The served OpenAPI document declares what the routes really do (issues 20 and 21): request bodies with
their media types, the shape of every answer, and every error status as an OperationOutcome; the tables
that say so name only operations that exist."""

from __future__ import annotations

from typing import Any

import pytest

from service.api import openapi_shapes
from service.api.openapi import current_spec


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return current_spec()


def _operations(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {op["operationId"]: op for item in spec["paths"].values() for op in item.values()}


def test_every_table_names_an_operation_that_exists(spec: dict[str, Any]) -> None:
    """A renamed or removed route cannot leave a shape behind unnoticed."""
    names = set(_operations(spec))
    tables = (openapi_shapes._BUNDLES, set(openapi_shapes._TYPES), set(openapi_shapes._BODIES))
    for table in (
        *tables,
        openapi_shapes._FORM_BODIES,
        openapi_shapes._CDS_BODIES,
        set(openapi_shapes._ALSO),
    ):
        assert table <= names, table - names


def test_every_error_is_an_operation_outcome_and_fastapis_422_is_gone(spec: dict[str, Any]) -> None:
    """Each 4xx/5xx answer is an OperationOutcome; 429 and 503 carry Retry-After."""
    assert "HTTPValidationError" not in str(spec)
    for name, operation in _operations(spec).items():
        for status, response in operation["responses"].items():
            if status >= "400":
                schema = response["content"]["application/fhir+json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/OperationOutcome"}, (name, status)
            if status in ("429", "503"):
                assert "Retry-After" in response["headers"], (name, status)
        assert "500" in operation["responses"], name


def test_list_answers_are_bundles_and_bodies_are_declared(spec: dict[str, Any]) -> None:
    """The list endpoints (issue 21: declared as strings before) answer Bundles; posts declare bodies."""
    operations = _operations(spec)
    for name in ("search", "search_audit_events", "search_subscriptions", "subscription_events"):
        schema = operations[name]["responses"]["200"]["content"]["application/fhir+json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/Bundle"}, name
    body = operations["transaction_or_batch"]["requestBody"]["content"]
    assert set(body) == {"application/fhir+json", "application/json"}
    assert operations["read"]["responses"]["304"]
    assert operations["cds_hook"]["responses"]["401"]
