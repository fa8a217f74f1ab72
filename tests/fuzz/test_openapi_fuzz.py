"""schemathesis over the committed ``openapi/openapi.json`` against a real service process (issues 20 and
21): a bounded, seeded number of generated requests per operation, valid ones (positive) and ones that break
the schema (negative), each answer checked by schemathesis' ``not_a_server_error``,
``status_code_conformance`` (the status is one the operation documents), ``response_schema_conformance``
(the body has the documented shape), ``content_type_conformance`` and ``response_headers_conformance``; and
every error is an OperationOutcome. The file is read when the test runs, so a regenerated file
(``make openapi``) is fuzzed as it is."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import REPO
from tests.e2e.test_subscriptions_e2e import Service, patient_bundle, running

EXAMPLES_PER_OPERATION = 12
SCHEMA = schemathesis.openapi.from_path(REPO / "openapi" / "openapi.json")
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
    response_headers_conformance,
]


def _has_inputs(operation: Any) -> bool:
    """A negative case needs something to break: a parameter or a body."""
    parts = (operation.path_parameters, operation.query, operation.headers, operation.body)
    return any(len(part) for part in parts)


CASES = [
    pytest.param(operation, mode, id=f"{mode.value} {operation.label}")
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    for operation in OPERATIONS
    if mode is GenerationMode.POSITIVE or _has_inputs(operation)
]


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    folder: Path = tmp_path_factory.mktemp("fuzz")
    server = Service(f"sqlite:///{folder / 'onco.db'}", folder / "service.log")
    server.env |= {"ONCO_DELIVERY_WORKER": "false"}
    with running(server):
        server.post("/fhir/Bundle", patient_bundle("fuzz"))  # something to find, read and evaluate
        yield server


@pytest.mark.slow
@pytest.mark.parametrize(("operation", "mode"), CASES)
def test_every_answer_is_documented_and_no_server_error(
    service: Service, operation: Any, mode: GenerationMode
) -> None:
    """Every generated request is answered below 500 with a status and a body its operation documents;
    an error is a FHIR OperationOutcome."""

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,  # the same requests on every run
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def fuzz(data: st.DataObject) -> None:
        case = data.draw(operation.as_strategy(mode))
        response = case.call(base_url=service.url, timeout=30)
        case.validate_response(response, checks=CHECKS)
        if response.status_code >= 400 and response.content:
            assert response.json()["resourceType"] == "OperationOutcome", response.text[:500]

    fuzz()
