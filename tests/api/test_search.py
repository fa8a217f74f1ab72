"""Search (issue 15): every parameter, modifier and prefix, the refusals (an unknown parameter is a 400;
under ``Prefer: handling=lenient`` it is reported, never applied as "no filter"), and that no search form
returns another patient's resources; on SQLite and the real PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest

from service.api.app import create_app
from service.bootstrap import build
from service.config import Settings
from tests.app.fake_normaliser import fake_normaliser

FHIR = {"content-type": "application/fhir+json"}
BASE = "https://onco.example.org/fhir"
LOINC = "http://loinc.org"


def obs(oid: str, patient: str, code: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": extra.pop("status", "final"),
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "laboratory",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": extra.pop("date", "2024-01-05"),
        "issued": "2024-01-06T10:00:00Z",
        "identifier": [{"system": "urn:obs", "value": oid}],
        "valueQuantity": {"value": 1.0, "unit": "mm"},
        **extra,
    }


def report(rid: str, patient: str) -> dict[str, Any]:
    return {
        "resourceType": "DiagnosticReport",
        "id": rid,
        "status": "final",
        "category": [
            {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "LAB"}]}
        ],
        "code": {"coding": [{"system": LOINC, "code": "11502-2"}]},
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": "2024-01-05",
    }


def patient(pid: str) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, "identifier": [{"system": "urn:mrn", "value": pid}]}


def put_bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}}
            for r in resources
        ],
    }


SEED = [
    patient("p1"),
    patient("p2"),
    obs("o1", "p1", "2039-6"),
    obs("o2", "p2", "2039-6"),
    obs("o3", "p1", "1234-5", status="preliminary", date="2024-03-01"),
    obs("o4", "p2", "1234-5", status="preliminary", date="2024-03-01"),
    report("r1", "p1"),
    report("r2", "p2"),
]


@pytest.fixture
async def api(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(database_url=database_url, public_base_url=BASE, search_max_count=100)
    app = create_app(settings, build(settings, normaliser=fake_normaliser))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ignored-host") as client:
            stored = await client.post("/fhir", content=orjson.dumps(put_bundle(*SEED)), headers=FHIR)
            assert stored.status_code == 200, stored.text
            yield client


async def ids(api: httpx.AsyncClient, path: str, **headers: str) -> list[str]:
    response = await api.get(path, headers=headers)
    assert response.status_code == 200, response.text
    return sorted(e["resource"]["id"] for e in response.json()["entry"] if e["search"]["mode"] == "match")


# Every search form of the contract that names a patient, as (path with {p}, what p1 gets).
FORMS = [
    ("/fhir/Observation?patient={p}", ["o1", "o3"]),
    ("/fhir/Observation?patient=Patient/{p}", ["o1", "o3"]),
    ("/fhir/Observation?subject=Patient/{p}", ["o1", "o3"]),
    ("/fhir/Observation?subject={p}", ["o1", "o3"]),
    ("/fhir/Observation?subject:Patient={p}", ["o1", "o3"]),
    ("/fhir/Observation?patient:Patient={p}", ["o1", "o3"]),
    (f"/fhir/Observation?subject={BASE}/Patient/{{p}}", ["o1", "o3"]),
    (f"/fhir/Observation?patient={{p}}&code={LOINC}|2039-6", ["o1"]),
    ("/fhir/Observation?patient={p}&category=laboratory", ["o1", "o3"]),
    ("/fhir/Observation?patient={p}&status=preliminary", ["o3"]),
    ("/fhir/Observation?patient={p}&date=ge2024-02-01", ["o3"]),
    ("/fhir/Observation?patient={p}&_lastUpdated=ge2000-01-01", ["o1", "o3"]),
    ("/fhir/Observation?patient={p}&_sort=issued&_count=5", ["o1", "o3"]),
    ("/fhir/DiagnosticReport?subject:Patient={p}", ["r1"]),
    ("/fhir/DiagnosticReport?patient={p}&status=final&code=11502-2", ["r1"]),
    ("/fhir/Patient?identifier=urn:mrn|{p}", ["p1"]),
    ("/fhir/Patient?_id={p}", ["p1"]),
    ("/fhir/Patient?patient={p}", ["p1"]),
]


@pytest.mark.parametrize(("form", "expected"), FORMS)
async def test_no_search_form_returns_another_patients_resources(
    api: httpx.AsyncClient, form: str, expected: list[str]
) -> None:
    """Each form asked for one patient returns that patient's resources and only those, for both patients."""
    assert await ids(api, form.format(p="p1")) == expected
    other = [e.replace("1", "2") if e[0] != "o" else {"o1": "o2", "o3": "o4"}[e] for e in expected]
    assert await ids(api, form.format(p="p2")) == sorted(other)


async def test_post_search_with_form_parameters(api: httpx.AsyncClient) -> None:
    """POST [type]/_search reads form parameters like the query string; repeated patients are ANDed."""
    form = {"content-type": "application/x-www-form-urlencoded"}
    found = await api.post("/fhir/Observation/_search", content=b"patient=p1&status=final", headers=form)
    assert [e["resource"]["id"] for e in found.json()["entry"]] == ["o1"]
    both = await api.post("/fhir/Observation/_search?patient=p1", content=b"patient=p2", headers=form)
    assert both.json()["total"] == 0


@pytest.mark.parametrize(
    ("path", "named"),
    [
        ("/fhir/DiagnosticReport?foo=bar", "foo"),
        ("/fhir/Observation?code:text=glucose", ":text"),
        ("/fhir/Observation?patient:missing=true", ":missing"),
        ("/fhir/Observation?subject:Group=g1", ":Group"),
        ("/fhir/Patient?subject=p1", "subject"),
        ("/fhir/Patient?code=x", "code"),
        ("/fhir/Observation?_include=Observation:performer", "_include"),
        ("/fhir/Observation?_include=DiagnosticReport:result", "_include"),
        ("/fhir/DiagnosticReport?_include=DiagnosticReport:result:Patient", "_include"),
        ("/fhir/Observation?_include:iterate=Observation:has-member", ":iterate"),
        ("/fhir/Observation?_include=*", "_include"),
        ("/fhir/Patient?_revinclude=DiagnosticReport:result", "_revinclude"),
        ("/fhir/Observation?_revinclude=Provenance:entity", "_revinclude"),
        ("/fhir/Observation?_elements=valueQuantity.value", "_elements"),
        ("/fhir/Observation?_elements=", "_elements"),
        ("/fhir/Observation?_summary=true", "_summary"),
        ("/fhir/Observation?_sort=code", "_sort"),
        ("/fhir/Observation?_count=101", "_count"),
        ("/fhir/Observation?patient=", "patient"),
        ("/fhir/Observation?date=sa2024-01-01", "date"),
        ("/fhir/Observation?date=ge2024-13-45", "date"),
        ("/fhir/Observation?_cursor=garbage", "_cursor"),
    ],
)
async def test_unknown_or_unsupported_parameter_is_a_400_naming_it(
    api: httpx.AsyncClient, path: str, named: str
) -> None:
    """An unknown parameter or modifier, or a value the service cannot apply, is a 400 OperationOutcome."""
    response = await api.get(path)
    assert response.status_code == 400
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert named in body["issue"][0]["diagnostics"]


async def test_lenient_ignores_and_reports_never_as_no_filter(api: httpx.AsyncClient) -> None:
    """Under handling=lenient an unknown parameter is ignored, left out of self and reported in an outcome
    entry; the parameters that are applied still narrow (p1's resources only)."""
    response = await api.get(
        "/fhir/Observation?patient=p1&foo=bar&code:text=x", headers={"prefer": "handling=lenient"}
    )
    body = response.json()
    assert response.status_code == 200
    assert body["link"][0] == {"relation": "self", "url": f"{BASE}/Observation?patient=p1"}
    assert sorted(e["resource"]["id"] for e in body["entry"] if e["search"]["mode"] == "match") == [
        "o1",
        "o3",
    ]
    outcome = [e["resource"] for e in body["entry"] if e["search"]["mode"] == "outcome"]
    diagnostics = " ".join(i["diagnostics"] for i in outcome[0]["issue"])
    assert "'foo'" in diagnostics and ":text" in diagnostics
    strict = await api.get("/fhir/Observation?foo=bar", headers={"prefer": "handling=strict"})
    assert strict.status_code == 400


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("code=2039-6", ["o1", "o2"]),
        (f"code={LOINC}|2039-6", ["o1", "o2"]),
        (f"code={LOINC}|", ["o1", "o2", "o3", "o4"]),
        ("code=|2039-6", []),  # the coding has a system
        ("code=http://snomed.info/sct|2039-6", []),
        ("code=2039-6,1234-5", ["o1", "o2", "o3", "o4"]),
        ("code=2039-6&code=1234-5", []),
        (
            "category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory",
            ["o1", "o2", "o3", "o4"],
        ),
        ("category=vital-signs", []),
        ("status=final", ["o1", "o2"]),
        ("status=final,preliminary", ["o1", "o2", "o3", "o4"]),
        ("_id=o1,o4", ["o1", "o4"]),
        ("_id=o1&_id=o4", []),
        ("identifier=urn:obs|o2", ["o2"]),
        ("identifier=o2", ["o2"]),
        ("identifier=urn:obs|", ["o1", "o2", "o3", "o4"]),
        ("identifier=urn:other|o2", []),
    ],
)
async def test_token_parameters(api: httpx.AsyncClient, query: str, expected: list[str]) -> None:
    """Tokens: system|code, |code, system|, bare code, comma lists ORed, repeats ANDed."""
    assert await ids(api, f"/fhir/Observation?{query}") == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("date=2024-01-05", ["o1", "o2"]),
        ("date=eq2024-01", ["o1", "o2"]),
        ("date=ne2024-01-05", ["o3", "o4"]),
        ("date=lt2024-03-01", ["o1", "o2"]),
        ("date=le2024-03-01", ["o1", "o2", "o3", "o4"]),
        ("date=gt2024-01-05", ["o3", "o4"]),
        ("date=ge2024-01-05", ["o1", "o2", "o3", "o4"]),
        ("date=ge2024-01-06&date=le2024-12-31", ["o3", "o4"]),
        ("issued=ge2024-01-06T10:00:00Z", ["o1", "o2", "o3", "o4"]),
        ("issued=lt2024-01-06T10:00:00%2B00:00", []),
        ("_lastUpdated=gt2000-01-01", ["o1", "o2", "o3", "o4"]),
        ("_lastUpdated=lt2000-01-01", []),
        ("_lastUpdated=le2000", []),
        ("_lastUpdated=ge2000-01", ["o1", "o2", "o3", "o4"]),
        ("_lastUpdated=eq2000-01-01", []),
        ("_lastUpdated=ne2000-01-01", ["o1", "o2", "o3", "o4"]),
    ],
)
async def test_date_prefixes(api: httpx.AsyncClient, query: str, expected: list[str]) -> None:
    """date, issued and _lastUpdated with eq, ne, lt, le, gt, ge, at the precision written."""
    assert await ids(api, f"/fhir/Observation?{query}") == expected


async def test_summary_count_sort_and_absolute_urls(api: httpx.AsyncClient) -> None:
    """_summary=count gives the total alone; _sort orders; fullUrls and links use ONCO_PUBLIC_BASE_URL."""
    counted = (await api.get("/fhir/Observation?_summary=count")).json()
    assert counted["total"] == 4 and counted["entry"] == []
    oldest = (await api.get("/fhir/Observation?_sort=_lastUpdated")).json()
    newest = (await api.get("/fhir/Observation?_sort=-_lastUpdated")).json()
    assert [e["resource"]["id"] for e in oldest["entry"]] == [e["resource"]["id"] for e in newest["entry"]][
        ::-1
    ]
    assert all(e["fullUrl"].startswith(f"{BASE}/Observation/") for e in newest["entry"])
    assert all(link["url"].startswith(BASE) for link in newest["link"])


async def test_too_costly_unnarrowed_check_is_refused(database_url: str) -> None:
    """A code/status/date search over more candidates than ONCO_SEARCH_SCAN_LIMIT is a 400, not a scan."""
    settings = Settings(database_url=database_url, search_scan_limit=3)
    app = create_app(settings, build(settings, normaliser=fake_normaliser))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            await client.post("/fhir", content=orjson.dumps(put_bundle(*SEED)), headers=FHIR)
            refused = await client.get("/fhir/Observation?status=final")
            assert refused.status_code == 400 and "narrow" in refused.json()["issue"][0]["diagnostics"]
            narrowed = await client.get("/fhir/Observation?status=final&patient=p1")
            assert [e["resource"]["id"] for e in narrowed.json()["entry"]] == ["o1"]
