"""Paging with the real Python FHIR clients (issue 15): against a real ``oncoresponse serve`` process on
127.0.0.1, fhirpy's ``fetch_all()`` and fhirclient's resource iterator each return every one of 250 stored
Observations exactly once, through pages of 20 that they walk by the searchset's absolute ``next`` links
(built on ``ONCO_PUBLIC_BASE_URL``), on the SQL-narrowed path (``identifier``) and on the checked path
(``code``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fhirclient.models.observation import Observation as ClientObservation
from fhirclient.server import FHIRServer
from fhirpy import SyncFHIRClient

from tests.e2e.test_subscriptions_e2e import Service, running

STORED = 250
PAGE = 20
SYSTEM = "urn:oncoresponse:test:paging"
PATIENTS = (("paging-a", 100), ("paging-b", 100), ("paging-c", STORED - 200))


def observations(patient: str, count: int) -> dict[str, Any]:
    """A transaction with one Patient and ``count`` Observations of theirs, each with its own identifier."""
    entries = [{"resource": {"resourceType": "Patient", "id": patient},
                "request": {"method": "PUT", "url": f"Patient/{patient}"}}]  # fmt: skip
    for n in range(count):
        resource = {
            "resourceType": "Observation",
            "status": "final",
            "code": {"coding": [{"system": SYSTEM, "code": "paging"}]},
            "subject": {"reference": f"Patient/{patient}"},
            "effectiveDateTime": "2024-01-05",
            "identifier": [{"system": SYSTEM, "value": f"{patient}-{n}"}],
            "valueString": f"{n}",
        }
        entries.append({"resource": resource, "request": {"method": "POST", "url": "Observation"}})
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


@pytest.fixture
def service(database_url: str, tmp_path: Path) -> Iterator[Service]:
    server = Service(database_url, tmp_path / "service.log")
    server.env |= {
        "ONCO_PUBLIC_BASE_URL": f"{server.url}/fhir",
        "ONCO_DELIVERY_WORKER": "false",
    }
    with running(server):
        for patient, count in PATIENTS:
            server.post("/fhir", observations(patient, count))
        yield server


def expected(service: Service) -> set[str]:
    counted = httpx.get(
        f"{service.url}/fhir/Observation", params={"identifier": f"{SYSTEM}|", "_summary": "count"}
    )
    assert counted.json()["total"] == STORED
    return {
        f"{p}-{n}"
        for p, count in (("paging-a", 100), ("paging-b", 100), ("paging-c", 50))
        for n in range(count)
    }


def identifiers(resources: list[Any]) -> list[str]:
    return [r["identifier"][0]["value"] if isinstance(r, dict) else r.identifier[0].value for r in resources]


SEARCHES = ({"identifier": f"{SYSTEM}|"}, {"code": f"{SYSTEM}|paging"})  # SQL-narrowed; checked in Python


def test_fhirpy_fetch_all_returns_every_observation_once(service: Service) -> None:
    """fhirpy's fetch_all() walks the next links of pages of 20 and gets all 250, none twice."""
    client = SyncFHIRClient(f"{service.url}/fhir")
    for search in SEARCHES:
        found = client.resources("Observation").search(**search).limit(PAGE).fetch_all()
        values = identifiers([resource.serialize() for resource in found])
        assert len(values) == STORED, search
        assert set(values) == expected(service)


def test_fhirclient_iterator_returns_every_observation_once(service: Service) -> None:
    """fhirclient's perform_iter() follows the pages of 20 to the last and gets all 250 once."""
    server = FHIRServer(None, base_uri=f"{service.url}/fhir/")
    for search in SEARCHES:
        query = ClientObservation.where(struct={**search, "_count": str(PAGE)})
        bundles = list(query.perform_iter(server))
        assert len(bundles) == STORED // PAGE + 1, search  # 12 full pages and one of 10
        assert all(len(bundle.entry or []) <= PAGE for bundle in bundles)
        values = identifiers([entry.resource for bundle in bundles for entry in bundle.entry or []])
        assert len(values) == STORED
        assert set(values) == expected(service)
