"""Issue 17, end to end: `oncoresponse serve` with ONCO_DELIVERY_WORKER=false and
ONCO_INLINE_REPORT_PATIENTS=0 answers every post once its data and evaluation requests are committed and makes
no report itself; a separate `oncoresponse worker` process on the same database makes them. SIGTERM stops the
worker with status 0; a worker killed with SIGKILL at random moments while senders post, and restarted, loses
no report. On one SQLite file and on PostgreSQL.
"""

from __future__ import annotations

import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import POSTGRES_URL, REPO, reset_postgres
from tests.e2e.test_crash_e2e import Senders, _bundle, _last_scan, _report_date
from tests.e2e.test_subscriptions_e2e import SERVICE, Service, wait_for

# A SIGKILLed worker's claimed batch is taken again once its lease runs out: a short one here.
LEASE_S = 5
DEFERRED = {
    "ONCO_DELIVERY_WORKER": "false",
    "ONCO_INLINE_REPORT_PATIENTS": "0",
    "ONCO_EVALUATION_LEASE_SECONDS": str(LEASE_S),
}
START_S = 60.0  # a start-up on a busy 2-core machine
STOP_S = 10.0
IDLE_S = 1.5  # several of the worker's 0.2 s polls: a worker in the server would have reported by then
KILLS = 3
REPORTS_S = LEASE_S + 90
PIDS = [f"worker-{n}" for n in range(3)]


class Worker:
    """One `oncoresponse worker` process with the service's environment, its log beside the service's."""

    def __init__(self, service: Service, log: Path) -> None:
        self.env = service.env
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        before = self._started()
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [str(SERVICE), "worker"], env=self.env, cwd=REPO, stdout=out, stderr=out
            )
        wait_for("the worker", lambda: self._ready(before), START_S)

    def _ready(self, before: int) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            pytest.fail(f"the worker exited: {self.log.read_text()[-3000:]}")
        return self._started() > before

    def _started(self) -> int:
        return self.log.read_text().count('"worker_started"') if self.log.exists() else 0

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=STOP_S)

    def terminate(self) -> int:
        """SIGTERM, as a pod is stopped; the exit status."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=STOP_S)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=STOP_S)


def _deferring(database_url: str, tmp_path: Path) -> tuple[Service, Worker]:
    service = Service(database_url, tmp_path / "service.log")
    service.env.update(DEFERRED)
    return service, Worker(service, tmp_path / "worker.log")


def _owed(service: Service) -> list[str]:
    """The patients `oncoresponse evaluations` lists as owed a report."""
    listed = subprocess.run(
        [str(SERVICE), "evaluations"], env=service.env, cwd=REPO, capture_output=True, check=True
    )
    return sorted(line.split("\t")[0] for line in listed.stdout.decode().splitlines()[1:])


def _worker_reports_and_stops(database_url: str, tmp_path: Path) -> None:
    service, worker = _deferring(database_url, tmp_path)
    service.start()
    try:
        bundles = {pid: _bundle(pid) for pid in PIDS}
        for bundle in bundles.values():
            service.post("/fhir/Bundle", bundle)
        time.sleep(IDLE_S)
        assert [_report_date(service, pid) for pid in PIDS] == [None] * len(PIDS)
        assert _owed(service) == [f"Patient/{pid}" for pid in PIDS]
        worker.start()

        def every_report_made() -> bool:
            return all(_report_date(service, pid) == _last_scan(b) for pid, b in bundles.items())

        wait_for("a report for every posted Bundle", every_report_made)
        assert _owed(service) == []
        assert worker.terminate() == 0
        assert '"worker_stopped"' in worker.log.read_text()
    finally:
        worker.stop()
        service.stop()


def _worker_crashes(database_url: str, tmp_path: Path) -> None:
    service, worker = _deferring(database_url, tmp_path)
    service.start()
    worker.start()
    rng = random.Random(17)  # noqa: S311  # kill times, not secrets
    try:
        with Senders(service) as senders:
            for _ in range(KILLS):
                time.sleep(rng.uniform(0.5, 2.0))
                worker.kill()
                worker.start()
            time.sleep(1.0)
        accepted = dict(senders.accepted)
        assert len(accepted) >= 5, f"too few Bundles accepted to mean anything: {accepted}"

        def every_report_made() -> bool:
            return all(_report_date(service, pid) == day for pid, day in accepted.items())

        wait_for("a report for every accepted Bundle", every_report_made, REPORTS_S)
        assert worker.terminate() == 0
    finally:
        worker.stop()
        service.stop()


def test_the_worker_process_makes_the_reports_the_server_defers_sqlite(tmp_path: Path) -> None:
    """SQLite: posts answered with no report made and their requests owed; the started worker makes each
    patient's report of its last scan, leaves nothing owed, and exits 0 on SIGTERM."""
    _worker_reports_and_stops(f"sqlite:///{tmp_path / 'worker.db'}", tmp_path)


@pytest.mark.postgres
async def test_the_worker_process_makes_the_reports_the_server_defers_postgresql(tmp_path: Path) -> None:
    """PostgreSQL: the same."""
    await reset_postgres(POSTGRES_URL)
    _worker_reports_and_stops(POSTGRES_URL, tmp_path)


def test_sigkilled_worker_loses_no_report_sqlite(tmp_path: Path) -> None:
    """SQLite: the worker killed three times while senders post and restarted: every Bundle answered 2xx ends
    in its report of its last scan."""
    _worker_crashes(f"sqlite:///{tmp_path / 'worker.db'}", tmp_path)


@pytest.mark.postgres
async def test_sigkilled_worker_loses_no_report_postgresql(tmp_path: Path) -> None:
    """PostgreSQL: the same, the killed worker's claims taken again once their lease runs out."""
    await reset_postgres(POSTGRES_URL)
    _worker_crashes(POSTGRES_URL, tmp_path)
