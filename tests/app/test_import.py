"""``oncoresponse import`` (issue 17): Bundles, Bulk Data NDJSON and folders into the configured store, a bad
resource refused alone with its OperationOutcome, and a re-run that writes nothing."""

from __future__ import annotations

import io
import os
import signal
import sqlite3
from pathlib import Path
from typing import Any

import orjson
import pytest
from rich.console import Console
from typer.testing import CliRunner

from benchmarks.bulk_import import write_ndjson
from service.adapters.fhir_in.bulk_batches import batches
from service.adapters.fhir_in.bulk_files import scan
from service.cli import app
from service.cli_import import stop_on_signal
from tests.conftest import SHARED

SYNTHEA = SHARED / "corpus" / "synthea-smart-generated-sample-data-r4"


def _import(db: Path, *args: str) -> Any:
    env = {"ONCO_DATABASE_URL": f"sqlite:///{db}", "ONCO_LOG_LEVEL": "WARNING"}
    return CliRunner().invoke(app, ["import", *args], env=env)


def store_content(db: Path) -> dict[str, set[tuple[Any, ...]]]:
    """What an import leaves that must not depend on how it ran: every version and every fact."""
    with sqlite3.connect(db) as conn:
        return {
            "resources": set(
                conn.execute(
                    "SELECT resource_type, resource_id, version_id, is_current, content_sha256 FROM resources"
                )
            ),
            "facts": set(
                conn.execute(
                    "SELECT patient_ref, kind, source_ref, source_version_id, is_current, payload FROM facts"
                )
            ),
            "owed": set(conn.execute("SELECT patient_ref FROM evaluation_jobs")),
        }


def _count(db: Path, sql: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(sql).fetchone()[0])


def _ndjson(path: Path, resources: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in resources))
    return path


@pytest.mark.slow
def test_synthea_corpus_imports_and_a_rerun_writes_nothing(tmp_path: Path) -> None:
    """The corpus's Synthea transaction Bundles are stored whole; the same command again creates no
    version and no submission, and says every resource was unchanged."""
    db = tmp_path / "onco.db"
    first = _import(db, str(SYNTHEA))
    assert first.exit_code == 0, first.output
    before = store_content(db)
    assert _count(db, "SELECT count(*) FROM resources WHERE resource_type = 'Patient'") == 5
    assert _count(db, "SELECT count(*) FROM resources") == 2139
    submissions = _count(db, "SELECT count(*) FROM submissions")

    again = _import(db, str(SYNTHEA))
    assert again.exit_code == 0, again.output
    assert store_content(db) == before
    assert _count(db, "SELECT count(*) FROM submissions") == submissions
    assert "2,139" in again.stderr and not before["owed"]


def test_ndjson_is_grouped_by_patient_into_bounded_bundles(tmp_path: Path) -> None:
    """Resources spread over one file per type arrive in collection Bundles of whole patients, at most
    --batch-patients of them, the resources of no patient first; each patient gets its report."""
    write_ndjson(tmp_path / "export", 5, time_points=2)
    _ndjson(tmp_path / "export" / "Organization.ndjson", [{"resourceType": "Organization", "id": "org1"}])
    db = tmp_path / "onco.db"
    result = _import(db, "--batch-patients", "2", str(tmp_path / "export"))
    assert result.exit_code == 0, result.output
    with sqlite3.connect(db) as conn:
        posted = [
            orjson.loads(raw)
            for (raw,) in conn.execute(
                "SELECT content FROM submissions WHERE endpoint = 'bundle' ORDER BY received_at"
            )
        ]
    patients_per_bundle = [{_patient_of(e["resource"]) for e in b["entry"]} for b in posted]
    assert patients_per_bundle[0] == {None}  # the Organization
    assert [len(p) for p in patients_per_bundle[1:]] == [2, 2, 1]
    assert set().union(*patients_per_bundle[1:]) == {f"Patient/bench0-{n}" for n in range(5)}
    assert (
        _count(
            db,
            "SELECT count(*) FROM resources WHERE resource_type = 'DiagnosticReport' "
            "AND content LIKE '%\"preliminary\"%'",
        )
        >= 5
    )
    assert not store_content(db)["owed"]


def _patient_of(resource: dict[str, Any]) -> str | None:
    if resource["resourceType"] == "Patient":
        return f"Patient/{resource['id']}"
    ref = (resource.get("subject") or resource.get("patient") or {}).get("reference")
    return ref if isinstance(ref, str) and ref.startswith("Patient/") else None


def test_a_refused_resource_fails_alone_with_its_operation_outcome(tmp_path: Path) -> None:
    """A bad resource and an unreadable line are refused, the rest is stored; the exit status is 1 and stdout
    holds one OperationOutcome per refusal, naming the file and line and the element at fault."""
    patient = {"resourceType": "Patient", "id": "p1"}
    bad = {
        "resourceType": "Observation",
        "id": "o-bad",
        "status": "final",
        "subject": {"reference": "Patient/p1"},
        "code": {"text": "CEA"},
        "effectiveDateTime": "2026-13-45",
    }
    good = {**bad, "id": "o-good", "effectiveDateTime": "2026-01-05"}
    _ndjson(tmp_path / "Patient.ndjson", [patient])
    observations = _ndjson(tmp_path / "Observation.ndjson", [good, bad])
    with observations.open("ab") as file:
        file.write(b"{not json\n")
    db = tmp_path / "onco.db"
    result = _import(db, str(tmp_path))
    assert result.exit_code == 1
    outcomes = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert all(o["resourceType"] == "OperationOutcome" for o in outcomes)
    issues = [i for o in outcomes for i in o["issue"]]
    assert any(i["diagnostics"].startswith(f"{observations}:2: ") for i in issues)
    assert any(i.get("expression") == ["Observation.effectiveDateTime"] for i in issues)
    assert any(i["diagnostics"].startswith(f"{observations}:3: Not valid JSON") for i in issues)
    assert _count(db, "SELECT count(*) FROM resources WHERE resource_id IN ('p1', 'o-good')") == 2
    assert _count(db, "SELECT count(*) FROM resources WHERE resource_id = 'o-bad'") == 0


def test_a_transaction_bundle_is_imported_as_a_batch(tmp_path: Path) -> None:
    """A transaction's bad entry does not take the others with it (batch semantics); --outcomes writes the
    refusals to a file, where the expression keeps the file's entry index."""
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:0b5c1c9e-0000-4000-8000-000000000001",
                "resource": {"resourceType": "Patient", "gender": "female"},
                "request": {"method": "POST", "url": "Patient"},
            },
            {"resource": {"resourceType": "Patient"}, "request": {"method": "DELETE", "url": "Patient/x"}},
        ],
    }
    (tmp_path / "tx.json").write_bytes(orjson.dumps(bundle))
    db, refused = tmp_path / "onco.db", tmp_path / "refused.ndjson"
    result = _import(db, "--outcomes", str(refused), str(tmp_path / "tx.json"))
    assert result.exit_code == 1 and not result.stdout
    (outcome,) = [orjson.loads(line) for line in refused.read_bytes().splitlines()]
    assert outcome["issue"][0]["expression"] == ["Bundle.entry[1].request.method"]
    assert _count(db, "SELECT count(*) FROM resources WHERE resource_type = 'Patient'") == 1


def test_scan_refuses_what_is_not_a_resource_and_skips_other_files(tmp_path: Path) -> None:
    """Folders are walked recursively for .json and .ndjson; a JSON file that is not a resource is refused
    by the scan, other files are not read, and a lone resource joins its patient's Bundle."""
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "notes.txt").write_text("not FHIR")
    (tmp_path / "a" / "list.json").write_text("[1, 2]")
    (tmp_path / "a" / "b" / "p.json").write_bytes(orjson.dumps({"resourceType": "Patient", "id": "p9"}))
    found = scan([tmp_path])
    assert found.files == 2 and found.resources == 1 and found.idle_files == 1
    assert [u.source for u in found.unreadable] == [str(tmp_path / "a" / "list.json")]
    (batch,) = batches(found, 10, 10)
    assert batch.patients == {"Patient/p9"} and batch.bundle["type"] == "collection"


def test_without_evaluate_the_reports_are_left_owed_to_the_workers(tmp_path: Path) -> None:
    """--no-evaluate stores the data only; each patient's report stays owed (for a running service's
    workers) and the summary says how many."""
    write_ndjson(tmp_path / "export", 2, time_points=2)
    db = tmp_path / "onco.db"
    result = _import(db, "--no-evaluate", str(tmp_path / "export"))
    assert result.exit_code == 0, result.output
    assert store_content(db)["owed"] == {("Patient/bench0-0",), ("Patient/bench0-1",)}
    assert "2 reports still owed" in result.stderr
    assert _count(db, "SELECT count(*) FROM submissions WHERE endpoint = 'evaluation'") == 0


def test_the_first_interrupt_asks_to_stop_and_the_second_stops_at_once() -> None:
    """Ctrl-C once: the import is asked to stop after the Bundle being stored (no KeyboardInterrupt);
    twice: KeyboardInterrupt at once; afterwards the previous handler is back."""
    before = signal.getsignal(signal.SIGINT)
    console = Console(file=io.StringIO())
    with stop_on_signal(console) as stop:
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.is_set()
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is before
