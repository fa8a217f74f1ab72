"""_include, _revinclude and _elements (issue 15): the included resources come with search mode
``include`` and never belong to another patient than the match they are included for, even when a
stored reference crosses patients; _elements subsets the matches and tags them SUBSETTED; HEAD answers
the GET's headers without a body. On SQLite and the real PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest

from service.api.app import create_app
from service.app.search_elements import SUBSETTED
from service.bootstrap import build
from service.config import Settings
from tests.api.test_search import BASE, FHIR, obs, patient, put_bundle, report
from tests.app.fake_normaliser import fake_normaliser


def refs(*targets: str) -> list[dict[str, str]]:
    return [{"reference": t} for t in targets]


def provenance(pid: str, *targets: str) -> dict[str, Any]:
    return {
        "resourceType": "Provenance",
        "id": pid,
        "target": refs(*targets),
        "recorded": "2024-01-07T00:00:00Z",
        "agent": [{"who": {"display": "the service"}}],
    }


def care_plan(cid: str, patient_id: str, *info: str) -> dict[str, Any]:
    return {
        "resourceType": "CarePlan",
        "id": cid,
        "status": "draft",
        "intent": "proposal",
        "subject": {"reference": f"Patient/{patient_id}"},
        "supportingInfo": refs(*info),
    }


# Cross-patient references on purpose: r1 (p1) lists p2's o2, cp1 (p1) names p2's r2, o5 (p1) is derived
# from p2's o2, prov3 targets both patients' Observations.
SEED = [
    patient("p1"),
    patient("p2"),
    obs("o1", "p1", "2039-6"),
    obs("o2", "p2", "2039-6"),
    obs("o3", "p1", "1234-5"),
    obs("o5", "p1", "1234-5", derivedFrom=refs("Observation/o1", "Observation/o2")),
    {**report("r1", "p1"), "result": refs("Observation/o1", f"{BASE}/Observation/o3", "Observation/o2")},
    {**report("r2", "p2"), "result": refs("Observation/o2")},
    care_plan("cp1", "p1", "DiagnosticReport/r1", "DiagnosticReport/r2"),
    provenance("prov1", "DiagnosticReport/r1", "Observation/o1/_history/1"),
    provenance("prov2", "Observation/o2"),
    provenance("prov3", "Observation/o1", "Observation/o2"),
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


async def modes(api: httpx.AsyncClient, path: str, **headers: str) -> dict[str, list[str]]:
    """The ids of the entries by search mode."""
    response = await api.get(path, headers=headers)
    assert response.status_code == 200, response.text
    found: dict[str, list[str]] = {}
    for entry in response.json()["entry"]:
        found.setdefault(entry["search"]["mode"], []).append(entry["resource"].get("id", ""))
    return {mode: sorted(ids) for mode, ids in found.items()}


@pytest.mark.parametrize(
    ("path", "matches", "included"),
    [
        ("DiagnosticReport?patient=p1&_include=DiagnosticReport:result", ["r1"], ["o1", "o3"]),
        ("DiagnosticReport?patient=p1&_include=DiagnosticReport:result:Observation", ["r1"], ["o1", "o3"]),
        ("DiagnosticReport?patient=p2&_include=DiagnosticReport:result", ["r2"], ["o2"]),
        ("DiagnosticReport?_id=r1&_include=DiagnosticReport:subject", ["r1"], ["p1"]),
        ("DiagnosticReport?_id=r1&_include=DiagnosticReport:patient", ["r1"], ["p1"]),
        ("Observation?_id=o5&_include=Observation:derived-from", ["o5"], ["o1"]),
        ("Observation?_id=o5&_include=Observation:patient", ["o5"], ["p1"]),
        ("CarePlan?patient=p1&_include=CarePlan:supporting-info", ["cp1"], ["r1"]),
        ("CarePlan?patient=p1&_include=CarePlan:subject", ["cp1"], ["p1"]),
        ("Observation?patient=p1&_revinclude=Provenance:target", ["o1", "o3", "o5"], ["prov1"]),
        ("Observation?patient=p2&_revinclude=Provenance:target", ["o2"], ["prov2"]),
        ("Observation?_revinclude=Provenance:target", ["o1", "o2", "o3", "o5"], ["prov1", "prov2"]),
        (
            "Observation?_revinclude=Provenance:target:Observation",
            ["o1", "o2", "o3", "o5"],
            ["prov1", "prov2"],
        ),
        ("DiagnosticReport?_id=r1&_revinclude=Provenance:target", ["r1"], ["prov1"]),
        ("Observation?_id=o2&_revinclude=DiagnosticReport:result", ["o2"], ["r2"]),
        ("Observation?_id=o1&_revinclude=DiagnosticReport:result", ["o1"], ["r1"]),
        ("Observation?_id=o1&_revinclude=Observation:derived-from", ["o1"], ["o5"]),
        ("Observation?_id=o2&_revinclude=Observation:derived-from", ["o2"], []),
        ("DiagnosticReport?patient=p2&_revinclude=CarePlan:supporting-info", ["r2"], []),
        ("DiagnosticReport?patient=p1&_revinclude=CarePlan:supporting-info", ["r1"], ["cp1"]),
        ("Patient?_id=p1&_revinclude=Observation:subject", ["p1"], ["o1", "o3", "o5"]),
        (
            "DiagnosticReport?patient=p1&_include=DiagnosticReport:result&_revinclude=Provenance:target",
            ["r1"],
            ["o1", "o3", "prov1"],
        ),
        ("Provenance?_id=prov1&_include=Provenance:target", ["prov1"], ["o1", "r1"]),
        ("Provenance?_id=prov3&_include=Provenance:target", ["prov3"], []),
    ],
)
async def test_include_and_revinclude_stay_in_the_matchs_compartment(
    api: httpx.AsyncClient, path: str, matches: list[str], included: list[str]
) -> None:
    """Each include brings what the match references (or what references it) of the match's own patient,
    never the other patient's resource a stored reference crosses to."""
    found = await modes(api, f"/fhir/{path}")
    assert found.get("match") == matches
    assert found.get("include", []) == included


async def test_included_entries_have_absolute_full_urls_and_come_before_the_outcome(
    api: httpx.AsyncClient,
) -> None:
    """Included entries: mode include, absolute fullUrl on ONCO_PUBLIC_BASE_URL, after the matches; the
    self link keeps the _include; total counts the matches only."""
    response = await api.get(
        "/fhir/DiagnosticReport?patient=p1&_include=DiagnosticReport:result&foo=bar",
        headers={"prefer": "handling=lenient"},
    )
    body = response.json()
    assert [e["search"]["mode"] for e in body["entry"]] == ["match", "include", "include", "outcome"]
    assert body["entry"][1]["fullUrl"] == f"{BASE}/Observation/{body['entry'][1]['resource']['id']}"
    assert body["total"] == 1
    assert "_include=DiagnosticReport%3Aresult" in body["link"][0]["url"]


async def test_unsupported_include_under_lenient_is_reported_not_applied(api: httpx.AsyncClient) -> None:
    """handling=lenient: an unsupported _include / _revinclude is left out and reported; the search runs."""
    response = await api.get(
        "/fhir/Observation?patient=p1&_include=Observation:performer&_revinclude=Provenance:entity",
        headers={"prefer": "handling=lenient"},
    )
    body = response.json()
    outcome = next(e["resource"] for e in body["entry"] if e["search"]["mode"] == "outcome")
    diagnostics = " ".join(issue["diagnostics"] for issue in outcome["issue"])
    assert "_include=Observation:performer" in diagnostics and "_revinclude=Provenance:entity" in diagnostics
    assert body["link"][0]["url"] == f"{BASE}/Observation?patient=p1"
    assert {e["search"]["mode"] for e in body["entry"]} == {"match", "outcome"}


async def test_summary_count_carries_no_included_resources(api: httpx.AsyncClient) -> None:
    """_summary=count with an _include: the total, no entries."""
    body = (
        await api.get("/fhir/DiagnosticReport?patient=p1&_include=DiagnosticReport:result&_summary=count")
    ).json()
    assert body["total"] == 1 and body["entry"] == []


async def test_includes_follow_the_page(api: httpx.AsyncClient) -> None:
    """With pages of one, each page includes what its own match references, and the next link keeps it."""
    first = (await api.get("/fhir/DiagnosticReport?_include=DiagnosticReport:result&_count=1")).json()
    nxt = next(link["url"] for link in first["link"] if link["relation"] == "next")
    second = (await api.get("/fhir" + nxt.removeprefix(BASE))).json()
    pages = [first, second]
    by_report = {
        page["entry"][0]["resource"]["id"]: sorted(
            e["resource"]["id"] for e in page["entry"] if e["search"]["mode"] == "include"
        )
        for page in pages
    }
    assert by_report == {"r1": ["o1", "o3"], "r2": ["o2"]}


@pytest.mark.parametrize(
    ("elements", "kept"),
    [
        ("status", {"status", "code"}),
        ("value", {"valueQuantity", "status", "code"}),
        ("effective,issued", {"effectiveDateTime", "issued", "status", "code"}),
        ("Observation.subject", {"subject", "status", "code"}),
        ("nothingLikeThis", {"status", "code"}),
    ],
)
async def test_elements_subset_the_matches_and_tag_them(
    api: httpx.AsyncClient, elements: str, kept: set[str]
) -> None:
    """_elements keeps the elements named (a choice element by its name), id, meta and the mandatory ones,
    tags the match SUBSETTED; included resources stay whole."""
    body = (
        await api.get(f"/fhir/Observation?_id=o5&_elements={elements}&_include=Observation:derived-from")
    ).json()
    match, included = body["entry"][0]["resource"], body["entry"][1]["resource"]
    assert set(match) == {"resourceType", "id", "meta"} | kept
    assert SUBSETTED in match["meta"]["tag"]
    assert "valueQuantity" in included and SUBSETTED not in included.get("meta", {}).get("tag", [])
    assert f"_elements={elements.replace(',', '%2C')}" in body["link"][0]["url"]


async def test_head_answers_the_headers_of_read_vread_and_search_without_a_body(
    api: httpx.AsyncClient,
) -> None:
    """HEAD on a read, a vread and a search: the GET's status, ETag and Content-Length, no body; 404 and
    304 as the GET would."""
    got = await api.get("/fhir/Observation/o1")
    head = await api.head("/fhir/Observation/o1")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["etag"] == got.headers["etag"] == 'W/"1"'
    assert head.headers["content-length"] == str(len(got.content))
    assert head.headers["content-type"].startswith("application/fhir+json")
    vread = await api.head("/fhir/Observation/o1/_history/1")
    assert vread.status_code == 200 and vread.headers["etag"] == 'W/"1"'
    search = await api.head("/fhir/Observation?patient=p1")
    assert search.status_code == 200 and search.content == b""
    searched = await api.get("/fhir/Observation?patient=p1")
    assert search.headers["content-length"] == str(len(searched.content))
    assert (await api.head("/fhir/Observation/nope")).status_code == 404
    assert (await api.head("/fhir/Observation?foo=bar")).status_code == 400
    assert (await api.head("/fhir/Observation/o1", headers={"if-none-match": 'W/"1"'})).status_code == 304


async def test_capability_statement_lists_exactly_the_includes_that_work(api: httpx.AsyncClient) -> None:
    """Every searchInclude / searchRevInclude the statement declares answers 200 on its type, and a
    reference it does not declare for the type is a 400."""
    statement = (await api.get("/fhir/metadata")).json()
    declared = {r["type"]: r for r in statement["rest"][0]["resource"] if "searchParam" in r}
    assert "DiagnosticReport:result" in declared["DiagnosticReport"]["searchInclude"]
    assert "Provenance:target" in declared["Observation"]["searchRevInclude"]
    for resource_type, entry in declared.items():
        for parameter, key in (("_include", "searchInclude"), ("_revinclude", "searchRevInclude")):
            for value in entry.get(key, []):
                answer = await api.get(f"/fhir/{resource_type}?_id=none&{parameter}={value}")
                assert answer.status_code == 200, (resource_type, value, answer.text)
            if "DiagnosticReport:result" not in entry.get(key, []):
                refused = await api.get(f"/fhir/{resource_type}?{parameter}=DiagnosticReport:result")
                assert refused.status_code == 400, (resource_type, parameter)


async def test_revinclude_over_the_scan_limit_is_refused(database_url: str) -> None:
    """More _revinclude candidates than ONCO_SEARCH_SCAN_LIMIT is a 400 too-costly, never an unbounded
    scan; fewer matches (_count) brings it under."""
    settings = Settings(database_url=database_url, search_scan_limit=2)
    app = create_app(settings, build(settings, normaliser=fake_normaliser))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            await client.post("/fhir", content=orjson.dumps(put_bundle(*SEED)), headers=FHIR)
            refused = await client.get("/fhir/Observation?_revinclude=Provenance:target")
            assert refused.status_code == 400
            assert refused.json()["issue"][0]["code"] == "too-costly"
            narrowed = await client.get("/fhir/Observation?_id=o2&_revinclude=Provenance:target")
            assert narrowed.status_code == 200
