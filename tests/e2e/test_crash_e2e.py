"""Issue 17, end to end: a real `oncoresponse serve` process is killed with SIGKILL at random moments while
three senders post one-patient Bundles; it is restarted each time. Afterwards every patient of every Bundle
answered 2xx has a stored report, and that report is of the Bundle's last scan: nothing a sender was told
was stored, and nothing derived from it, is lost. On one SQLite file and on PostgreSQL.
"""

from __future__ import annotations

import json
import random
import signal
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from benchmarks.synthetic import patient_resources
from tests.conftest import POSTGRES_URL, reset_postgres
from tests.e2e.test_subscriptions_e2e import FHIR_JSON, Service, wait_for

KILLS = 3
START_S = 120.0  # a start-up under the senders' load on a busy 2-core machine
SENDERS = 3


def _bundle(pid: str) -> dict[str, Any]:
    resources = patient_resources(pid, 3)
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}


def _last_scan(bundle: dict[str, Any]) -> str:
    days = [
        e["resource"]["effectiveDateTime"][:10]
        for e in bundle["entry"]
        if "effectiveDateTime" in e["resource"]
    ]
    return max(days)


class Senders:
    """Threads posting new patients one after another; they note each Bundle answered 2xx."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.accepted: dict[str, str] = {}  # patient id -> date of the last scan of its Bundle
        self.refused = 0
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._send, args=(n,)) for n in range(SENDERS)]

    def __enter__(self) -> Senders:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _send(self, sender: int) -> None:
        n = 0
        while not self._stop.is_set():
            pid, n = f"crash-{sender}-{n}", n + 1
            bundle = _bundle(pid)
            try:
                answer = httpx.post(
                    f"{self.service.url}/fhir/Bundle",
                    content=json.dumps(bundle),
                    headers=FHIR_JSON,
                    timeout=30,
                )
            except httpx.TransportError:  # killed mid-request: the sender was told nothing
                self.refused += 1
                time.sleep(0.05)
                continue
            if answer.status_code < 300:
                self.accepted[pid] = _last_scan(bundle)


def _report_date(service: Service, pid: str) -> str | None:
    try:
        found = httpx.get(
            f"{service.url}/fhir/DiagnosticReport", params={"subject": f"Patient/{pid}"}, timeout=10
        ).json()
    except httpx.TransportError:
        return None
    ours = [e["resource"] for e in found.get("entry", []) if _is_assessment(e["resource"])]
    dates = [r["effectiveDateTime"][:10] for r in ours]
    return max(dates) if dates else None


def _is_assessment(report: dict[str, Any]) -> bool:
    """The service's report, not one of the imaging reports the sender posted."""
    return any(c.get("system", "").endswith("/CodeSystem/report-type") for c in report["code"]["coding"])


def _crash_and_check(database_url: str, log: Path) -> None:
    service = Service(database_url, log)
    service.start(START_S)
    rng = random.Random(17)  # noqa: S311  # kill times, not secrets
    try:
        with Senders(service) as senders:
            for _ in range(KILLS):
                time.sleep(rng.uniform(0.5, 2.0))
                assert service.process is not None
                service.process.send_signal(signal.SIGKILL)
                service.process.wait(timeout=10)
                service.start(START_S)
            time.sleep(1.0)
        accepted = dict(senders.accepted)
        assert len(accepted) >= 5, f"too few Bundles accepted to mean anything: {accepted}"

        def every_report_made() -> bool:
            return all(_report_date(service, pid) == day for pid, day in accepted.items())

        wait_for("a report for every accepted Bundle", every_report_made, timeout=90)
    finally:
        service.stop()


def test_sigkill_loses_no_report_sqlite(tmp_path: Path) -> None:
    """SQLite: every Bundle answered 2xx before, between and after three SIGKILLs ends in its report."""
    _crash_and_check(f"sqlite:///{tmp_path / 'crash.db'}", tmp_path / "service.log")


@pytest.mark.postgres
async def test_sigkill_loses_no_report_postgresql(tmp_path: Path) -> None:
    """PostgreSQL: the same, with the evaluation requests taken up by the restarted process."""
    await reset_postgres(POSTGRES_URL)
    _crash_and_check(POSTGRES_URL, tmp_path / "service.log")
