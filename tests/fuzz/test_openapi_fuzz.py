"""schemathesis over the committed ``openapi/openapi.json`` against a real service process (issue 20): a
bounded, seeded number of generated requests per operation, none answered with a 5xx, every error an
OperationOutcome. The file is read when the test runs, so a regenerated file (``make openapi``) is fuzzed
as it is."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import REPO
from tests.e2e.test_subscriptions_e2e import Service, running

EXAMPLES_PER_OPERATION = 12
SCHEMA = schemathesis.openapi.from_path(REPO / "openapi" / "openapi.json")
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    folder: Path = tmp_path_factory.mktemp("fuzz")
    server = Service(f"sqlite:///{folder / 'onco.db'}", folder / "service.log")
    server.env |= {"ONCO_DELIVERY_WORKER": "false"}
    with running(server):
        yield server


@pytest.mark.slow
@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.label)
def test_no_generated_request_gets_a_server_error(service: Service, operation: object) -> None:
    """Every generated request is answered below 500; an error is a FHIR OperationOutcome."""

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,  # the same requests on every run
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def fuzz(data: st.DataObject) -> None:
        case = data.draw(operation.as_strategy())  # type: ignore[attr-defined]
        response = case.call(base_url=service.url, timeout=30)
        assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.text[:500]}"
        if response.status_code >= 400 and response.content:
            assert response.json()["resourceType"] == "OperationOutcome", response.text[:500]

    fuzz()
