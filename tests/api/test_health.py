"""Liveness, readiness and metrics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import structlog

from service.api.app import create_app
from service.bootstrap import build
from service.config import Settings


async def test_healthz_answers_ok(client: httpx.AsyncClient) -> None:
    """/healthz answers 200 while the process runs."""
    response = await client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


async def test_readyz_reports_store_and_knowledge_version(client: httpx.AsyncClient) -> None:
    """/readyz answers 200 with the store kind and the loaded knowledge-base version."""
    body = (await client.get("/readyz")).json()
    assert body["status"] == "ready"
    assert body["store"] == "sqlite"
    assert body["knowledgeBaseVersion"].startswith("20")


class UnreachableStore:
    backend = "postgresql"

    async def ping(self) -> None:
        raise ConnectionRefusedError("no server")

    async def close(self) -> None:
        return None

    def outbox(self) -> None:
        """Wired into the delivery worker, which this test never starts."""


async def test_readyz_is_503_when_the_store_is_down(settings: Settings) -> None:
    """An unreachable store makes /readyz answer 503 transient, and logs only the error's kind."""
    app = create_app(settings, build(settings, store=UnreachableStore()))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        with structlog.testing.capture_logs() as logs:
            response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["issue"][0]["code"] == "transient"
    warning = next(e for e in logs if e["event"] == "store_unreachable")
    assert warning["error"] == "ConnectionRefusedError"


async def test_metrics_count_requests_by_route_template(client: httpx.AsyncClient) -> None:
    """/metrics counts requests by route template and status, never by raw path."""
    await client.get("/fhir/metadata")
    await client.get("/fhir/Patient/some-patient-id/nothing")
    text = (await client.get("/metrics")).text
    assert 'oncoresponse_http_requests_total{method="GET",route="/fhir/metadata",status="200"} 1.0' in text
    assert 'route="unmatched",status="404"' in text
    assert "some-patient-id" not in text
    assert "oncoresponse_http_request_duration_seconds_bucket" in text


@pytest.mark.parametrize("path", ["/healthz", "/fhir/metadata"])
async def test_request_log_has_route_template_not_path(client: httpx.AsyncClient, path: str) -> None:
    """Each request logs one event with method, route template, status and duration."""
    with structlog.testing.capture_logs() as logs:
        await client.get(path)
    event = next(e for e in logs if e["event"] == "request")
    assert event["route"] == path and event["status"] == 200 and event["ms"] >= 0


def test_sqlite_file_directory_is_created(tmp_path: Path) -> None:
    """The default embedded database's folder (./var/) is created when missing."""
    build(Settings(database_url=f"sqlite:///{tmp_path / 'nested' / 'onco.db'}"))
    assert (tmp_path / "nested").is_dir()


async def test_metrics_read_the_reports_owed_where_no_worker_runs(tmp_path: Path) -> None:
    """Issue 17: a replica started with ``ONCO_DELIVERY_WORKER=false`` runs no evaluation worker to keep
    ``oncoresponse_evaluation_requests`` current (``oncoresponse worker`` makes the reports), so its /metrics
    reads the requests owed from the store at each scrape."""
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'onco.db'}", delivery_worker=False)
    app = create_app(settings)
    container = app.state.container
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        assert 'oncoresponse_evaluation_requests{state="pending"} 0.0' in (await client.get("/metrics")).text
        async with container.store.writing({"Patient/a", "Patient/b"}) as writer:
            await writer.evaluation_jobs.request({"Patient/a", "Patient/b"}, datetime.now(UTC), timedelta(0))
        text = (await client.get("/metrics")).text
    assert 'oncoresponse_evaluation_requests{state="pending"} 2.0' in text
    assert 'oncoresponse_evaluation_requests{state="failing"} 0.0' in text
