"""The outbox worker, in process over a real SQLite store: what a report queues, and what each kind of
answer from a subscriber or the EHR's FHIR server does to the row (issue 7)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import respx
from fastapi import FastAPI
from sqlalchemy import select
from typer.testing import CliRunner

from service.adapters.fhir_client import DeliveryResult
from service.adapters.store import SqlStore
from service.adapters.store.outbox_rows import CANCELLED, DELIVERED, FAILED, PENDING, REJECTED, WRITE_BACK
from service.adapters.store.tables import outbox
from service.api.app import create_app
from service.app import delivery as delivery_module
from service.app.delivery import RetryPolicy
from service.bootstrap import Container
from service.cli import app as cli
from service.config import DEFAULT_MAX_ATTEMPTS, Settings
from tests.conftest import SHARED, corrected

FHIR = {"content-type": "application/fhir+json"}
CANON = "http://oncoresponse.org/fhir"
BACKPORT = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition"
T790M = SHARED / "examples" / "seed-t790m-progression.json"
EHR = "https://ehr.example.org/fhir"


def subscription(endpoint: str, patient: str | None = None, payload: str = "id-only") -> dict[str, Any]:
    channel: dict[str, Any] = {
        "type": "rest-hook",
        "endpoint": endpoint,
        "payload": "application/fhir+json",
        "_payload": {"extension": [{"url": f"{BACKPORT}/backport-payload-content", "valueCode": payload}]},
    }
    resource: dict[str, Any] = {
        "resourceType": "Subscription",
        "status": "requested",
        "reason": "test",
        "criteria": f"{CANON}/SubscriptionTopic/response-assessment",
        "channel": channel,
    }
    if patient:
        resource["_criteria"] = {
            "extension": [
                {
                    "url": f"{BACKPORT}/backport-filter-criteria",
                    "valueString": f"DiagnosticReport?patient={patient}",
                }
            ]
        }
    return resource


@dataclass
class FakeHook:
    """A subscriber per endpoint: each answers from its script (default 200) and records what it got."""

    answers: dict[str, list[DeliveryResult]] = field(default_factory=dict)
    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    gates: dict[str, asyncio.Event] = field(default_factory=dict)

    async def post(
        self, url: str, body: dict[str, Any], headers: Sequence[tuple[str, str]], timeout: float | None
    ) -> DeliveryResult:
        if url in self.gates:
            await self.gates[url].wait()
        self.received.append((url, body))
        script = self.answers.get(url)
        if script:
            return script.pop(0)
        return DeliveryResult(True, 200, False, None, "HTTP 200")


def ok() -> DeliveryResult:
    return DeliveryResult(True, 200, False, None, "HTTP 200")


def unavailable(retry_after: float | None = None) -> DeliveryResult:
    return DeliveryResult(False, 503, True, retry_after, "HTTP 503")


def event_numbers(body: dict[str, Any]) -> list[int]:
    parameters = body["entry"][0]["resource"]["parameter"]
    return [
        int(next(p["valueString"] for p in e["part"] if p["name"] == "event-number"))
        for e in parameters
        if e["name"] == "notification-event"
    ]


def kind(body: dict[str, Any]) -> str:
    parameters = body["entry"][0]["resource"]["parameter"]
    return str(next(p["valueCode"] for p in parameters if p["name"] == "type"))


@pytest.fixture
def delivery_settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'onco.db'}", delivery_worker=False)


@pytest.fixture
async def service(delivery_settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient, FakeHook]]:
    app = create_app(delivery_settings)
    hook = FakeHook()
    container: Container = app.state.container
    container.delivery.rest_hook = hook
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://t") as client,
    ):
        yield app, client, hook


async def post(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> httpx.Response:
    return await client.post(path, content=orjson.dumps(body), headers=FHIR)


def container_of(app: FastAPI) -> Container:
    container: Container = app.state.container
    return container


async def subscribe(app: FastAPI, client: httpx.AsyncClient, endpoint: str, **kwargs: Any) -> str:
    created = await post(client, "/fhir/Subscription", subscription(endpoint, **kwargs))
    assert created.status_code == 201, created.text
    await container_of(app).delivery.drain()  # the handshake
    return str(created.json()["id"])


async def test_a_report_gives_one_numbered_notification_per_matching_subscription(service: Any) -> None:
    app, client, hook = service
    everyone = await subscribe(app, client, "http://a.test/hook")
    other_patient = await subscribe(app, client, "http://b.test/hook", patient="Patient/someone-else")
    assert [kind(b) for _, b in hook.received] == ["handshake", "handshake"]
    assert (await client.get(f"/fhir/Subscription/{everyone}")).json()["status"] == "active"

    assert (await post(client, "/fhir/Bundle", orjson.loads(T790M.read_bytes()))).status_code == 200
    await container_of(app).delivery.drain()
    notifications = [(url, b) for url, b in hook.received if kind(b) == "event-notification"]
    assert [url for url, _ in notifications] == ["http://a.test/hook"]
    (body,) = [b for _, b in notifications]
    assert event_numbers(body) == [1]
    focus = body["entry"][1]["fullUrl"]
    assert "/DiagnosticReport/" in focus and "resource" not in body["entry"][1]  # id-only
    status = (await client.get(f"/fhir/Subscription/{other_patient}/$status")).json()
    assert status["entry"][0]["resource"]["parameter"][4]["valueString"] == "0"


async def test_a_503_with_retry_after_is_retried_then_delivered_in_order(service: Any) -> None:
    app, client, hook = service
    worker = container_of(app).delivery
    await subscribe(app, client, "http://a.test/hook")
    hook.answers["http://a.test/hook"] = [unavailable(retry_after=120)]
    t790m = orjson.loads(T790M.read_bytes())
    assert (await post(client, "/fhir/Bundle", t790m)).status_code == 200
    now = datetime.now(UTC)
    worker.clock = lambda: now
    await worker.drain()
    (row,) = await container_of(app).store.outbox().entries(status=PENDING)
    assert row.attempts == 1 and row.last_status == 503
    assert row.next_attempt_at >= now + timedelta(seconds=119)  # Retry-After, not the 1 s backoff
    worker.clock = lambda: now + timedelta(seconds=121)
    await worker.drain()
    delivered = [b for _, b in hook.received if kind(b) == "event-notification"]
    assert [event_numbers(b) for b in delivered] == [[1], [1]]  # the failed try, then the retry


async def test_a_400_is_not_retried_and_keeps_the_operation_outcome(service: Any) -> None:
    app, client, hook = service
    await subscribe(app, client, "http://a.test/hook")
    outcome = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "invalid"}]}
    hook.answers["http://a.test/hook"] = [DeliveryResult(False, 400, False, None, "HTTP 400", outcome)]
    await post(client, "/fhir/Bundle", orjson.loads(T790M.read_bytes()))
    await container_of(app).delivery.drain()
    (rejected,) = await container_of(app).store.outbox().entries(status=REJECTED)
    assert rejected.attempts == 1 and rejected.last_status == 400
    assert len([b for _, b in hook.received if kind(b) == "event-notification"]) == 1


async def test_a_failed_handshake_puts_the_subscription_in_error(service: Any) -> None:
    app, client, hook = service
    hook.answers["http://down.test/hook"] = [DeliveryResult(False, None, True, None, "ConnectError")]
    sub_id = await subscribe(app, client, "http://down.test/hook")
    assert (await client.get(f"/fhir/Subscription/{sub_id}")).json()["status"] == "error"


async def test_a_stuck_endpoint_does_not_hold_up_another(service: Any) -> None:
    app, client, hook = service
    worker = container_of(app).delivery
    await subscribe(app, client, "http://slow.test/hook")
    await subscribe(app, client, "http://fast.test/hook")
    hook.gates["http://slow.test/hook"] = asyncio.Event()
    await post(client, "/fhir/Bundle", orjson.loads(T790M.read_bytes()))
    await worker.tick()
    for _ in range(50):
        if any(
            url == "http://fast.test/hook" and kind(b) == "event-notification" for url, b in hook.received
        ):
            break
        await asyncio.sleep(0.02)
    else:
        pytest.fail("the fast subscriber waited for the stuck one")
    hook.gates["http://slow.test/hook"].set()
    await worker.drain()
    assert {url for url, b in hook.received if kind(b) == "event-notification"} == {
        "http://slow.test/hook",
        "http://fast.test/hook",
    }


async def test_exhausted_rows_stay_failed_and_can_be_replayed(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'x.db'}", delivery_worker=False, delivery_max_attempts=2
    )
    app = create_app(settings)
    hook = FakeHook()
    container_of(app).delivery.rest_hook = hook
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://t") as client,
    ):
        await subscribe(app, client, "http://a.test/hook")
        hook.answers["http://a.test/hook"] = [unavailable(0), unavailable(0)]
        await post(client, "/fhir/Bundle", orjson.loads(T790M.read_bytes()))
        await container_of(app).delivery.drain()
        outbox = container_of(app).store.outbox()
        (failed,) = await outbox.entries(status=FAILED)
        assert failed.attempts == 2
        assert await outbox.replay([failed.pk], datetime.now(UTC)) == 1
        await container_of(app).delivery.drain()
        assert (await outbox.entries(target=failed.target))[-1].status == DELIVERED


def test_the_default_schedule_retries_for_24_hours() -> None:
    """ONCO_DELIVERY_MAX_ATTEMPTS' default: the last attempt falls just after 24 hours, not long after."""
    policy = RetryPolicy(DEFAULT_MAX_ATTEMPTS, 1.0, 900.0)
    day = 24 * 3600
    assert day <= policy.schedule_seconds() < day + 900
    assert RetryPolicy(DEFAULT_MAX_ATTEMPTS - 1, 1.0, 900.0).schedule_seconds() < day


def test_backoff_doubles_with_jitter_up_to_the_cap_and_honours_retry_after() -> None:
    policy = RetryPolicy(10, 1.0, 60.0)
    assert [policy.delay(n, None, 0.0) for n in (1, 2, 3, 7, 8)] == [1.0, 2.0, 4.0, 60.0, 60.0]
    assert policy.delay(2, None, 0.999) == pytest.approx(2.0 * 1.24975)
    assert policy.delay(5, 7.0, 0.5) == 7.0
    assert policy.delay(5, 10**9, 0.5) == policy.retry_after_cap_seconds


@respx.mock
async def test_write_back_is_queued_with_the_report_and_sent_as_a_transaction(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'w.db'}", delivery_worker=False, fhir_base_url=EHR
    )
    route = respx.post(EHR).mock(
        return_value=httpx.Response(200, json={"resourceType": "Bundle", "type": "transaction-response"})
    )
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://t") as client,
    ):
        await post(client, "/fhir/Bundle", orjson.loads(T790M.read_bytes()))
        (queued,) = await container_of(app).store.outbox().entries()
        assert queued.kind == WRITE_BACK and queued.status == PENDING
        await container_of(app).delivery.drain()
    sent = orjson.loads(route.calls.last.request.content)
    assert sent["type"] == "transaction"
    report = next(e for e in sent["entry"] if e["resource"]["resourceType"] == "DiagnosticReport")
    assert report["request"]["method"] == "POST" and report["request"]["ifNoneExist"].startswith(
        "identifier="
    )


async def test_deleting_a_subscription_cancels_what_it_had_queued(service: Any) -> None:
    app, client, hook = service
    sub_id = await subscribe(app, client, "http://a.test/hook")
    hook.answers["http://a.test/hook"] = [unavailable(0)]
    await post(client, "/fhir/Bundle", orjson.loads(T790M.read_bytes()))
    await container_of(app).delivery.tick()
    await asyncio.sleep(0.1)
    assert (await client.delete(f"/fhir/Subscription/{sub_id}")).status_code == 204
    sent = len(hook.received)
    await container_of(app).delivery.drain()
    assert len(hook.received) == sent
    statuses = [e.status for e in await container_of(app).store.outbox().entries(target=sub_id)]
    assert statuses == [DELIVERED, CANCELLED]


async def test_an_operator_lists_and_replays_failed_deliveries_from_the_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`oncoresponse deliveries --status failed` shows the row without its body; `replay` queues it."""
    url = f"sqlite:///{tmp_path / 'ops.db'}"
    store = SqlStore(url)
    await store.migrate()
    async with store.writing(set()) as writer:
        await writer.enqueue.add(WRITE_BACK, "fhir-server", {"secret": "Patient/mrn-4711"}, datetime.now(UTC))
    outbox = store.outbox()
    (row,) = await outbox.claim("w", datetime.now(UTC), timedelta(minutes=1), 10)
    await outbox.retry(
        row.pk,
        "w",
        at=datetime.now(UTC),
        attempts=3,
        give_up=True,
        http_status=503,
        error="HTTP 503",
        outcome=None,
    )
    await store.close()
    monkeypatch.setenv("ONCO_DATABASE_URL", url)
    runner = CliRunner()
    listed = await asyncio.to_thread(runner.invoke, cli, ["deliveries", "--status", "failed"])
    assert listed.exit_code == 0, listed.output
    (line,) = listed.output.splitlines()[1:]
    assert line.startswith(f"{row.pk}\twrite-back\tfhir-server\t-\tfailed\t3\t503\tHTTP 503")
    assert "mrn-4711" not in listed.output
    replayed = await asyncio.to_thread(runner.invoke, cli, ["replay", str(row.pk)])
    assert replayed.exit_code == 0 and "1 of 1 queued again" in replayed.output
    pending = await asyncio.to_thread(runner.invoke, cli, ["deliveries", "--status", "pending"])
    assert len(pending.output.splitlines()) == 2


async def test_a_new_endpoint_needs_a_new_handshake(service: Any) -> None:
    app, client, hook = service
    sub_id = await subscribe(app, client, "http://a.test/hook")
    moved = {**subscription("http://b.test/hook"), "id": sub_id}
    response = await client.put(f"/fhir/Subscription/{sub_id}", content=orjson.dumps(moved), headers=FHIR)
    assert response.status_code == 200 and response.json()["status"] == "requested"
    await container_of(app).delivery.drain()
    assert [(url, kind(b)) for url, b in hook.received][-1] == ("http://b.test/hook", "handshake")
    assert (await client.get(f"/fhir/Subscription/{sub_id}")).json()["status"] == "active"
    wrong_id = {**moved, "id": "another"}
    response = await client.put(f"/fhir/Subscription/{sub_id}", content=orjson.dumps(wrong_id), headers=FHIR)
    assert response.status_code == 400 and response.json()["issue"][0]["expression"] == ["Subscription.id"]


async def test_events_replays_full_resources_on_request(service: Any) -> None:
    app, client, _hook = service
    sub_id = await subscribe(app, client, "http://a.test/hook")
    await post(client, "/fhir/Bundle", orjson.loads(T790M.read_bytes()))
    replay = await client.get(f"/fhir/Subscription/{sub_id}/$events", params={"content": "full-resource"})
    assert replay.status_code == 200
    resources = [e["resource"] for e in replay.json()["entry"][1:] if "resource" in e]
    assert [r["resourceType"] for r in resources] == ["DiagnosticReport"]
    bad = await client.get(f"/fhir/Subscription/{sub_id}/$events", params={"content": "everything"})
    assert bad.status_code == 400 and bad.json()["issue"][0]["expression"] == ["content"]


async def write_back_app(tmp_path: Path) -> FastAPI:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'wb.db'}", delivery_worker=False, fhir_base_url=EHR
    )
    return create_app(settings)


async def test_write_back_honours_retry_after_then_delivers(
    tmp_path: Path, respx_mock: respx.MockRouter
) -> None:
    """Over HTTP (respx): a 503 with Retry-After: 30 is retried no sooner than 30 s later, then a 200."""
    route = respx_mock.post(EHR).mock(
        side_effect=[
            httpx.Response(503, headers={"Retry-After": "30"}),
            httpx.Response(200, json={"resourceType": "Bundle", "type": "transaction-response"}),
        ]
    )
    app = await write_back_app(tmp_path)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://t") as client,
    ):
        await post(client, "/fhir/Bundle", orjson.loads(T790M.read_bytes()))
        worker, now = container_of(app).delivery, datetime.now(UTC)
        worker.clock = lambda: now
        await worker.drain()
        (row,) = await container_of(app).store.outbox().entries()
        assert (row.status, row.attempts, row.last_status) == (PENDING, 1, 503)
        assert row.next_attempt_at == now + timedelta(seconds=30)
        worker.clock = lambda: now + timedelta(seconds=29)
        await worker.drain()
        assert route.call_count == 1
        worker.clock = lambda: now + timedelta(seconds=30)
        await worker.drain()
        (row,) = await container_of(app).store.outbox().entries()
    assert route.call_count == 2 and row.status == DELIVERED


async def test_write_back_400_is_kept_with_the_servers_outcome(
    tmp_path: Path, respx_mock: respx.MockRouter
) -> None:
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "invalid", "diagnostics": "unknown profile"}],
    }
    route = respx_mock.post(EHR).mock(return_value=httpx.Response(400, json=outcome))
    app = await write_back_app(tmp_path)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://t") as client,
    ):
        await post(client, "/fhir/Bundle", orjson.loads(T790M.read_bytes()))
        await container_of(app).delivery.drain()
        await container_of(app).delivery.drain()
        store = container_of(app).store
        (row,) = await store.outbox().entries()
        async with store.reading() as reader:
            kept = (await reader.conn.execute(select(outbox.c.outcome))).scalar_one()
    assert route.call_count == 1  # not retried
    assert (row.status, row.last_status) == (REJECTED, 400)
    assert orjson.loads(kept) == outcome


async def test_metrics_count_delivery_outcomes(service: Any) -> None:
    app, client, hook = service
    await subscribe(app, client, "http://a.test/hook")
    hook.answers["http://a.test/hook"] = [unavailable(0)]
    await post(client, "/fhir/Bundle", orjson.loads(T790M.read_bytes()))
    await container_of(app).delivery.drain()
    text = (await client.get("/metrics")).text
    assert 'oncoresponse_deliveries_total{kind="handshake",outcome="delivered"} 1.0' in text
    assert 'oncoresponse_deliveries_total{kind="notification",outcome="retry"} 1.0' in text
    assert 'oncoresponse_deliveries_total{kind="notification",outcome="delivered"} 1.0' in text


async def test_a_stop_asked_before_the_worker_started_is_not_lost(service: Any) -> None:
    app, _client, _hook = service
    worker = container_of(app).delivery
    worker.request_stop()
    await asyncio.wait_for(worker.run(), timeout=5)


async def test_stopping_gives_back_the_rows_of_a_delivery_on_the_wire(
    service: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A delivery still waiting on its subscriber at shutdown is cut off after the grace period and its
    row is handed back at once (not after the lease), unattempted, for another replica to send."""
    app, client, hook = service
    monkeypatch.setattr(delivery_module, "STOP_GRACE_SECONDS", 0.1)
    worker = container_of(app).delivery
    await subscribe(app, client, "http://stuck.test/hook")
    hook.gates["http://stuck.test/hook"] = asyncio.Event()
    await post(client, "/fhir/Bundle", orjson.loads(T790M.read_bytes()))
    assert await worker.tick() == 1
    await asyncio.sleep(0.05)
    await worker.stop()
    outbox = container_of(app).store.outbox()
    (row,) = await outbox.entries(status=PENDING)
    assert row.attempts == 0
    assert len(await outbox.claim("another-replica", datetime.now(UTC), timedelta(minutes=1), 10)) == 1


async def test_a_queued_row_to_an_endpoint_no_longer_listed_is_rejected_unsent(service: Any) -> None:
    """ONCO_SUBSCRIPTION_ENDPOINTS narrowed after a Subscription was made: the worker checks it again at
    each send, and keeps the row as rejected rather than posting patient events to the old endpoint."""
    app, client, hook = service
    await subscribe(app, client, "http://a.test/hook")
    await post(client, "/fhir/Bundle", orjson.loads(T790M.read_bytes()))
    worker = container_of(app).delivery
    worker.allowed_endpoints = ("http://b.test",)
    await worker.drain()
    assert [kind(b) for _, b in hook.received] == ["handshake"]
    (rejected,) = await container_of(app).store.outbox().entries(status=REJECTED)
    assert rejected.last_status is None and rejected.attempts == 1


async def test_events_replay_each_focus_as_its_event_announced_it(service: Any) -> None:
    """$events full-resource after a correction: event 1 carries version 1 of the report, event 2 the amended
    version 2 (the current one), not the current version twice."""
    app, client, _hook = service
    sub_id = await subscribe(app, client, "http://a.test/hook")
    bundle = orjson.loads(T790M.read_bytes())
    await post(client, "/fhir/Bundle", bundle)
    await post(client, "/fhir/Bundle", corrected(bundle))
    replay = await client.get(f"/fhir/Subscription/{sub_id}/$events", params={"content": "full-resource"})
    reports = [e["resource"] for e in replay.json()["entry"][1:] if "resource" in e]
    assert [(r["meta"]["versionId"], r["status"]) for r in reports] == [
        ("1", "preliminary"),
        ("2", "amended"),
    ]
