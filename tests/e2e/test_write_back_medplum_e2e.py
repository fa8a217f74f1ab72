"""The write-back, end to end, to a real FHIR server (issue 15): Medplum's FhirRouter and MemoryRepository
(``tests/medplum/fhir-server.mjs``, pinned by tests/medplum/package-lock.json) on loopback, and an
``oncoresponse serve`` process whose ``ONCO_FHIR_BASE_URL`` names it.

The server applies the first write-back and loses its answer (``--lose-responses=1``), as after a
proxy timeout; with ``ONCO_DELIVERY_MAX_ATTEMPTS=1`` the row is then ``failed`` and ``oncoresponse replay``
sends the same transaction again (docs/delivery.md). On the server, found by search, every resource written
back exists exactly once per identity: the report, the result Observations, the CarePlan and the Device by
identifier, the Provenance by its report. A corrected measurement then amends the report: it is updated in
place (same server id, status ``amended``), its changed Observations with it, and nothing is duplicated.
One thing an amendment should also do fails today and is pinned as a strict xfail with the reason: Medplum
refuses the Provenance's conditional update.

``make test`` installs the packages (``npm ci`` in tests/medplum). Without Node or them the tests skip,
except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import REPO, SHARED, corrected, unavailable
from tests.e2e.test_subscriptions_e2e import SERVICE, Service, free_port, wait_for

MEDPLUM = REPO / "tests" / "medplum"
EXAMPLE = SHARED / "examples" / "seed-t790m-progression.json"
WRITTEN = ("DiagnosticReport", "Observation", "CarePlan", "Provenance", "Device")


def node_or_skip() -> str:
    node = shutil.which("node")
    if node is None or not (MEDPLUM / "node_modules" / "@medplum" / "fhir-router").is_dir():
        unavailable("Medplum's FHIR server needs Node and `npm ci` in tests/medplum (make test installs it)")
    return node


class FhirServer:
    """Medplum's FhirRouter over its MemoryRepository, in a Node process on 127.0.0.1."""

    def __init__(self, log: Path, *flags: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        command = [node_or_skip(), str(MEDPLUM / "fhir-server.mjs"), str(self.port), *flags]
        with log.open("ab") as out:
            self.process = subprocess.Popen(command, cwd=MEDPLUM, stdout=out, stderr=out)
        wait_for("the Medplum FHIR server", self._listening)

    def _listening(self) -> bool:
        if self.process.poll() is not None:
            pytest.fail(f"the Medplum FHIR server exited: {self.log.read_text()[-3000:]}")
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", self.port)) == 0

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def search(self, resource_type: str, **params: str) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.url}/{resource_type}", params={**params, "_count": "1000"}, timeout=30)
        assert response.status_code == 200, response.text
        bundle = response.json()
        assert bundle["resourceType"] == "Bundle" and bundle["type"] == "searchset", bundle
        return [entry["resource"] for entry in bundle.get("entry", [])]

    def get(self, reference: str) -> dict[str, Any]:
        response = httpx.get(f"{self.url}/{reference}", timeout=30)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def by_identity(self) -> dict[str, Counter[str]]:
        """How many resources of each written type the server holds per identity: the first identifier, or
        for a Provenance its target report's identifier."""
        reports = {r["id"]: token(r) for r in self.search("DiagnosticReport")}
        found: dict[str, Counter[str]] = {}
        for resource_type in WRITTEN:
            resources = self.search(resource_type)
            if resource_type == "Provenance":
                keys = [reports.get(p["target"][0]["reference"].partition("/")[2], "?") for p in resources]
            else:
                keys = [token(r) for r in resources]
            found[resource_type] = Counter(keys)
        return found


def token(resource: dict[str, Any]) -> str:
    first = resource["identifier"][0]
    return f"{first.get('system', '')}|{first['value']}"


def cli(service: Service, *args: str) -> str:
    done = subprocess.run(
        [str(SERVICE), *args], env=service.env, cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def write_backs(service: Service) -> list[dict[str, str]]:
    """The outbox's write-back rows, as ``oncoresponse deliveries`` lists them."""
    header, *rows = cli(service, "deliveries").splitlines()
    listed = [dict(zip(header.split("\t"), row.split("\t"), strict=True)) for row in rows]
    return [row for row in listed if row["kind"] == "write-back"]


def statuses(service: Service) -> list[str]:
    return [row["status"] for row in write_backs(service)]


def current(service: Service, patient: str) -> dict[str, list[dict[str, Any]]]:
    """The service's own current report for the patient, its result Observations and its CarePlans."""
    (report,) = [e["resource"] for e in service.get("/fhir/DiagnosticReport", patient=patient)["entry"]]
    results = [service.get(f"/fhir/{ref['reference']}") for ref in report["result"] if "reference" in ref]
    plans = [e["resource"] for e in service.get("/fhir/CarePlan", patient=patient)["entry"]]
    return {"DiagnosticReport": [report], "Observation": results, "CarePlan": plans}


def identities(result: dict[str, list[dict[str, Any]]]) -> dict[str, Counter[str]]:
    """Each identity of a result once; the Provenance's is its report's."""
    found = {resource_type: Counter(token(r) for r in found) for resource_type, found in result.items()}
    return found | {"Provenance": found["DiagnosticReport"]}


@dataclass
class Story:
    """What the server held at each step, and what the service said its result was."""

    applied: dict[str, Counter[str]]  # the first write-back applied, its answer lost
    lost_row: list[str]  # the write-back rows' statuses then
    replayed: dict[str, Counter[str]]  # after ``oncoresponse replay``
    result: dict[str, list[dict[str, Any]]]  # the service's result before the correction
    report: dict[str, Any]  # the server's report and its Provenance before the correction
    provenance: dict[str, Any]
    amended: dict[str, Counter[str]]  # after the amendment's write-back
    amended_result: dict[str, list[dict[str, Any]]]
    server: FhirServer
    amendment_row: dict[str, str]  # the amendment's write-back row, as `oncoresponse deliveries` lists it


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Story]:
    tmp = tmp_path_factory.mktemp("write-back-medplum")
    medplum = FhirServer(tmp / "medplum.log", "--lose-responses=1")
    service = Service(f"sqlite:///{tmp / 'onco.db'}", tmp / "service.log")
    service.env |= {"ONCO_FHIR_BASE_URL": medplum.url, "ONCO_DELIVERY_MAX_ATTEMPTS": "1"}
    try:
        service.start()
        bundle = json.loads(EXAMPLE.read_text(encoding="utf-8"))
        patient = next(
            e["resource"]["id"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
        )
        service.post("/fhir/Bundle", bundle)
        wait_for("the first write-back to fail", lambda: "failed" in statuses(service))
        applied, lost_row = medplum.by_identity(), statuses(service)
        (row,) = write_backs(service)
        assert cli(service, "replay", row["id"]).startswith("1 of 1")
        wait_for("the replay to be delivered", lambda: statuses(service) == ["delivered"])
        replayed, result = medplum.by_identity(), current(service, patient)
        (report,) = medplum.search("DiagnosticReport")
        (provenance,) = medplum.search("Provenance", target=f"DiagnosticReport/{report['id']}")
        service.post("/fhir/Bundle", corrected(bundle))
        # Medplum refuses the amendment's Provenance update inside a 200 (see the xfail below): the service
        # reads the entries' statuses and records the row rejected, naming the entry, not delivered.
        sent = (["delivered"], ["rejected"], ["failed"])
        wait_for("the amendment to be sent", lambda: statuses(service)[1:] in sent)
        amendment_row = write_backs(service)[-1]
        yield Story(
            applied,
            lost_row,
            replayed,
            result,
            report,
            provenance,
            medplum.by_identity(),
            current(service, patient),
            medplum,
            amendment_row,
        )
    finally:
        service.stop()
        medplum.stop()


@pytest.mark.slow
def test_a_resent_write_back_creates_nothing_twice(story: Story) -> None:
    """Applied once with its answer lost (the row ``failed``), then replayed: every conditional create finds
    what the first send made, the Provenance by its report included."""
    assert story.lost_row == ["failed"]
    assert "(response lost on purpose)" in story.server.log.read_text()
    want = identities(story.result)
    assert {t: story.applied[t] for t in want} == want
    assert len(want["Observation"]) >= 5 and list(story.applied["Device"].values()) == [1]
    assert story.replayed == story.applied


@pytest.mark.slow
def test_an_amended_report_is_updated_in_place_and_nothing_is_duplicated(story: Story) -> None:
    (report,) = story.server.search("DiagnosticReport")
    assert (report["id"], report["status"]) == (story.report["id"], "amended")
    assert report["meta"]["versionId"] != story.report["meta"]["versionId"]
    assert report["conclusion"] == story.amended_result["DiagnosticReport"][0]["conclusion"]
    want = identities(story.amended_result)
    assert {t: story.amended[t] for t in want} == want
    assert all(count == 1 for counts in story.amended.values() for count in counts.values())


def content(resource: dict[str, Any]) -> dict[str, Any]:
    """What an Observation says, without what the server or the service adds about the copy."""
    return {k: v for k, v in resource.items() if k in ("component", "valueQuantity", "valueCodeableConcept")}


@pytest.mark.slow
def test_an_amendment_updates_the_reports_observations(story: Story) -> None:
    """Every changed result resource sent before is a conditional update in the amendment's write-back, so
    the server's copy of the amended report points at the new values (it kept 72 mm where the service said
    73 mm while only the report was updated)."""
    (report,) = story.server.search("DiagnosticReport")
    held = [story.server.get(ref["reference"]) for ref in report["result"]]
    assert [content(o) for o in held] == [content(o) for o in story.amended_result["Observation"]]


@pytest.mark.slow
def test_a_refused_entry_in_a_200_is_not_taken_as_delivered(story: Story) -> None:
    """Medplum answers the amendment 200 with the Provenance entry refused inside: the row is rejected (a 400
    is not worth another try), its error naming the entry's position and status (no content), never
    ``delivered``."""
    row = story.amendment_row
    assert (row["status"], row["last_status"]) == ("rejected", "200")
    assert "entries failed:" in row["last_error"] and "(400)" in row["last_error"]


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="Medplum 4.5.2 refuses the conditional update PUT Provenance?target=urn:uuid:... (its Bundle "
    "pre-processing searches the URL before replacing the placeholder, finds nothing, gives the resource a "
    "new id, then: 'Resource ID did not match resolved ID'); it answers that entry 400 inside a 200 "
    "transaction-response (the service records that write-back rejected, naming the entry)",
)
def test_an_amendment_updates_the_provenance(story: Story) -> None:
    assert "Resource ID did not match resolved ID" not in story.server.log.read_text()
    (provenance,) = story.server.search("Provenance", target=f"DiagnosticReport/{story.report['id']}")
    assert provenance["id"] == story.provenance["id"]
    assert provenance["meta"]["versionId"] != story.provenance["meta"]["versionId"]
