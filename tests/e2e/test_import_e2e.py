"""Issue 17, bulk import end to end: a real ``oncoresponse import`` process is killed with SIGKILL while it
imports synthetic patients written as Bulk Data NDJSON into a SQLite file; the same command run again ends
with the same store as one uninterrupted run: the same resources at the same versions (reports included),
the same facts, and no report still owed.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.bulk_import import write_ndjson
from tests.app.test_import import store_content
from tests.conftest import REPO

PATIENTS = 16
COMMAND = [sys.executable, "-c", "from service.cli import app; app()", "import", "--batch-patients", "4"]


def _run(folder: Path, db: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "ONCO_DATABASE_URL": f"sqlite:///{db}", "ONCO_LOG_LEVEL": "WARNING"}
    return subprocess.Popen(
        [*COMMAND, str(folder)], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def _patients_stored(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return int(
                conn.execute("SELECT count(*) FROM resources WHERE resource_type = 'Patient'").fetchone()[0]
            )
    except sqlite3.OperationalError:  # not created yet, or the schema not yet migrated
        return 0


def _kill_after_first_batch(process: subprocess.Popen[bytes], db: Path) -> int:
    """SIGKILL once the first Bundle of patients is committed; the patients stored at that moment."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        stored = _patients_stored(db)
        if stored:
            process.send_signal(signal.SIGKILL)
            process.wait()
            return stored
        time.sleep(0.01)
    pytest.fail(f"the import ended (status {process.poll()}) before it could be interrupted")


@pytest.mark.slow
def test_an_import_killed_and_run_again_ends_with_the_store_of_an_uninterrupted_one(tmp_path: Path) -> None:
    """Killed after its first Bundle (so with reports owed and patients not yet read), then resumed: the
    same versions, facts and reports as an import that ran through, and nothing stored twice."""
    folder = tmp_path / "export"
    write_ndjson(folder, PATIENTS, time_points=3)
    whole, interrupted = tmp_path / "whole.db", tmp_path / "interrupted.db"

    reference = _run(folder, whole)
    killed = _run(folder, interrupted)
    stored_when_killed = _kill_after_first_batch(killed, interrupted)
    assert killed.returncode == -signal.SIGKILL
    assert 0 < _patients_stored(interrupted) < PATIENTS, stored_when_killed
    assert reference.wait(timeout=120) == 0, reference.communicate()[1].decode()

    resumed = _run(folder, interrupted)
    _, stderr = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, stderr.decode()
    assert store_content(interrupted) == store_content(whole)
    assert not store_content(whole)["owed"]
    with sqlite3.connect(interrupted) as conn:
        (versions,) = conn.execute("SELECT max(version_id) FROM resources").fetchone()
    assert versions == 1
