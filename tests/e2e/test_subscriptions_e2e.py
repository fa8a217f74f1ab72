"""End to end, with real processes on 127.0.0.1 (issue 7): two service processes sharing one database
(SQLite file or PostgreSQL) and a real rest-hook subscriber process.

Create a Subscription and see the handshake; post Bundles for several patients through both processes and
receive one correctly numbered notification per report, each delivered once, never by both processes;
stop the subscriber, post more, restart a service process, start the subscriber again: every notification
arrives, none is lost, and ``$events`` gives back any range.
"""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fhir.resources.R4B.bundle import Bundle

from benchmarks.synthetic import patient_resources
from tests.conftest import REPO

FHIR_JSON = {"content-type": "application/fhir+json"}
CANON = "http://oncoresponse.org/fhir"
BACKPORT = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition"
TOPIC = f"{CANON}/SubscriptionTopic/response-assessment"
SERVICE = Path(sys.executable).parent / "oncoresponse"
WAIT_S = 30.0


def _ephemeral_low() -> int:
    """The lowest port the kernel hands out as an outgoing connection's local port (Linux; 32768 else)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


_EPHEMERAL_LOW = _ephemeral_low()
_PORTS = random.Random()  # noqa: S311  # spreading test ports, not a secret


def free_port() -> int:
    """A free port below the ephemeral range. A port the kernel chose (binding port 0) lies inside it, and
    while a killed service restarts on its port, any outgoing connection (thirty senders, the deliveries)
    may be given that port as its own local port: the restart then failed with "address already in use"
    (seen once in CI, test_delivery_order_e2e)."""
    low = max(1024, _EPHEMERAL_LOW - 12000)
    for _ in range(200):
        port = _PORTS.randrange(low, _EPHEMERAL_LOW)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise OSError("no free port below the ephemeral range")


def wait_for(what: str, check: Callable[[], Any], timeout: float = WAIT_S) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


class Service:
    """One `oncoresponse serve` process; stopped with SIGTERM, as a pod would be."""

    def __init__(self, database_url: str, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "ONCO_DATABASE_URL": database_url,
            "ONCO_PORT": str(self.port),
            "ONCO_DELIVERY_POLL_SECONDS": "0.2",
            "ONCO_DELIVERY_BACKOFF_SECONDS": "0.2",
            "ONCO_DELIVERY_BACKOFF_MAX_SECONDS": "1",
            "ONCO_LOG_FORMAT": "json",
        }
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = WAIT_S) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [str(SERVICE), "serve"], env=self.env, cwd=REPO, stdout=out, stderr=out
            )
        wait_for(f"the service on {self.port}", self._ready, timeout)

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            pytest.fail(f"the service exited: {self.log.read_text()[-3000:]}")
        try:
            return httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)

    def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        response = httpx.post(f"{self.url}{path}", content=json.dumps(body), headers=FHIR_JSON, timeout=60)
        assert response.status_code < 300, response.text
        return response

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        response = httpx.get(f"{self.url}{path}", params=params, timeout=30)
        assert response.status_code == 200, response.text
        return dict(response.json())


class Subscriber:
    def __init__(self, output: Path) -> None:
        self.port = free_port()
        self.output = output
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [sys.executable, "-m", "tests.e2e.subscriber", str(self.port), str(self.output)]
        self.process = subprocess.Popen(command, cwd=REPO)
        wait_for("the subscriber", self._listening)

    def _listening(self) -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", self.port)) == 0

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def received(self) -> list[dict[str, Any]]:
        if not self.output.exists():
            return []
        return [json.loads(line) for line in self.output.read_text().splitlines() if line.strip()]

    def notifications(self, kind: str) -> list[dict[str, Any]]:
        return [r for r in self.received() if _parameter(r["body"], "type") == kind]


def _status_parameters(bundle: dict[str, Any]) -> dict[str, Any]:
    first = bundle["entry"][0]["resource"]
    assert first["resourceType"] == "Parameters", first
    return dict(first)


def _parameter(bundle: dict[str, Any], name: str) -> Any:
    for parameter in _status_parameters(bundle)["parameter"]:
        if parameter["name"] == name:
            return next(v for k, v in parameter.items() if k.startswith("value"))
    return None


def _event_numbers(bundle: dict[str, Any]) -> list[int]:
    events = [p for p in _status_parameters(bundle)["parameter"] if p["name"] == "notification-event"]
    return [
        int(next(part["valueString"] for part in e["part"] if part["name"] == "event-number")) for e in events
    ]


def subscription(endpoint: str) -> dict[str, Any]:
    """An R4 Subscription in the Backport IG's shape, id-only, with a header and a heartbeat."""
    return {
        "resourceType": "Subscription",
        "meta": {"profile": [f"{BACKPORT}/backport-subscription"]},
        "status": "requested",
        "reason": "response assessments for the integration engine",
        "criteria": TOPIC,
        "channel": {
            "extension": [{"url": f"{BACKPORT}/backport-heartbeat-period", "valueUnsignedInt": 2}],
            "type": "rest-hook",
            "endpoint": endpoint,
            "payload": "application/fhir+json",
            "_payload": {
                "extension": [{"url": f"{BACKPORT}/backport-payload-content", "valueCode": "id-only"}]
            },
            "header": ["X-Test: e2e"],
        },
    }


def patient_bundle(pid: str) -> dict[str, Any]:
    """One patient with a baseline and a follow-up scan: one report, hence one event."""
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in patient_resources(pid, 2)],
    }


@contextmanager
def running(*parts: Service | Subscriber) -> Iterator[None]:
    try:
        for part in parts:
            part.start()
        yield
    finally:
        for part in parts:
            part.stop()


def test_every_notification_arrives_once_numbered_across_restarts(database_url: str, tmp_path: Path) -> None:
    if database_url.startswith("sqlite"):  # both processes open the same file
        database_url = f"sqlite:///{tmp_path / 'shared.db'}"
    a, b = Service(database_url, tmp_path / "a.log"), Service(database_url, tmp_path / "b.log")
    hook = Subscriber(tmp_path / "received.jsonl")
    with running(hook, a, b):
        created = a.post("/fhir/Subscription", subscription(f"http://127.0.0.1:{hook.port}/hook")).json()
        sub_id = created["id"]
        assert created["status"] == "requested"
        (handshake,) = wait_for("the handshake", lambda: hook.notifications("handshake"))
        assert handshake["x_test"] == "e2e" and handshake["content_type"].startswith("application/fhir+json")
        wait_for("status active", lambda: b.get(f"/fhir/Subscription/{sub_id}")["status"] == "active")

        for n, service in enumerate((a, b, a)):  # through both processes
            service.post("/fhir/Bundle", patient_bundle(f"e2e-{n}"))
        first = wait_for(
            "three notifications",
            lambda: (
                len(hook.notifications("event-notification")) >= 3
                and hook.notifications("event-notification")
            ),
        )
        time.sleep(1.0)  # room for a duplicate to show up, were one process to deliver another's row
        first = hook.notifications("event-notification")
        assert sorted(n for r in first for n in _event_numbers(r["body"])) == [1, 2, 3]
        for record in first:
            (number,) = _event_numbers(record["body"])
            assert int(_parameter(record["body"], "events-since-subscription-start")) == number
            assert record["body"]["type"] == "history"
        wait_for("a heartbeat", lambda: hook.notifications("heartbeat"), timeout=10)

        hook.stop()
        for n in (3, 4):
            b.post("/fhir/Bundle", patient_bundle(f"e2e-{n}"))
        wait_for(
            "a failed attempt",
            lambda: b.get(f"/fhir/Subscription/{sub_id}/$status") and _status(b, sub_id) == "error",
        )
        a.stop()
        a.start()
        hook.start()
        wait_for(
            "every notification",
            lambda: (
                {n for r in hook.notifications("event-notification") for n in _event_numbers(r["body"])}
                == {1, 2, 3, 4, 5}
            ),
        )
        numbers = [n for r in hook.notifications("event-notification") for n in _event_numbers(r["body"])]
        assert len(numbers) - len(set(numbers)) <= 1, (
            f"more than the in-flight one delivered twice: {numbers}"
        )
        wait_for("status active again", lambda: _status(a, sub_id) == "active")

        for record in hook.received():  # every Bundle that went out is valid R4 (Backport IG shape)
            Bundle.model_validate(record["body"])

        replay = a.get(f"/fhir/Subscription/{sub_id}/$events", eventsSinceNumber=2, eventsUntilNumber=4)
        assert _parameter(replay, "type") == "query-event"
        assert _event_numbers(replay) == [2, 3, 4]


def _status(service: Service, sub_id: str) -> str:
    return str(_parameter(service.get(f"/fhir/Subscription/{sub_id}/$status"), "status"))
