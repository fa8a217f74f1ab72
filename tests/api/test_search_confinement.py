"""Search under a ``patient/`` SMART token (issue 15): every form that names another patient
(``subject:Patient=``, a ``POST _search`` form body, a comma list) is a 403, never an answer; ``_include``
and ``_revinclude`` bring nothing of another patient's, nor of a type the token may not read; ``HEAD`` is
confined like ``GET``.
Real signed tokens, checked against a JWKS served on loopback."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from service.api.app import create_app
from service.bootstrap import build
from tests.api.security.conftest import KeyServer, bearer, smart_settings
from tests.api.test_search import FHIR, put_bundle
from tests.api.test_search_include import SEED
from tests.app.fake_normaliser import fake_normaliser


@pytest.fixture
def keys() -> Iterator[KeyServer]:
    server = KeyServer()
    thread = threading.Thread(target=server.httpd.serve_forever, daemon=True)
    thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


@pytest.fixture
async def api(tmp_path: Path, keys: KeyServer) -> AsyncIterator[httpx.AsyncClient]:
    settings = smart_settings(tmp_path, keys)
    app = create_app(settings, build(settings, normaliser=fake_normaliser))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            system = bearer(keys.token("system/*.cruds"))
            stored = await client.post(
                "/fhir", content=orjson.dumps(put_bundle(*SEED)), headers={**FHIR, **system}
            )
            assert stored.status_code == 200, stored.text
            yield client


def p1(keys: KeyServer, scope: str = "patient/*.rs") -> dict[str, str]:
    return bearer(keys.token(scope, patient="p1"))


def found(response: httpx.Response) -> dict[str, list[str]]:
    assert response.status_code == 200, response.text
    modes: dict[str, list[str]] = {}
    for entry in response.json()["entry"]:
        modes.setdefault(entry["search"]["mode"], []).append(entry["resource"]["id"])
    return {mode: sorted(ids) for mode, ids in modes.items()}


@pytest.mark.parametrize(
    "query",
    [
        "subject:Patient=p2",
        "subject:Patient=Patient/p2",
        "patient:Patient=p2",
        "subject=p1,p2",
        "patient=Patient/p2",
        "subject=https://elsewhere.example/fhir/Patient/p2",
    ],
)
async def test_naming_another_patient_is_a_403(api: httpx.AsyncClient, keys: KeyServer, query: str) -> None:
    """A patient/ token naming any other patient, in any form, in the URL or a POST _search form: 403."""
    assert (await api.get(f"/fhir/Observation?{query}", headers=p1(keys))).status_code == 403
    form = {**p1(keys), "content-type": "application/x-www-form-urlencoded"}
    posted = await api.post("/fhir/Observation/_search", content=query, headers=form)
    assert posted.status_code == 403, posted.text


async def test_own_patient_in_any_form_answers_only_their_data(
    api: httpx.AsyncClient, keys: KeyServer
) -> None:
    """Its own patient named as subject:Patient, or in a POST _search form, answers p1's resources only."""
    assert found(await api.get("/fhir/Observation?subject:Patient=p1", headers=p1(keys))) == {
        "match": ["o1", "o3", "o5"]
    }
    form = {**p1(keys), "content-type": "application/x-www-form-urlencoded"}
    posted = await api.post("/fhir/Observation/_search", content="subject=Patient/p1&_id=o1,o2", headers=form)
    assert found(posted) == {"match": ["o1"]}
    unnamed = await api.post("/fhir/Observation/_search", content="_id=o2", headers=form)
    assert unnamed.json()["entry"] == []


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("DiagnosticReport?_include=DiagnosticReport:result", {"match": ["r1"], "include": ["o1", "o3"]}),
        ("Observation?_revinclude=Provenance:target", {"match": ["o1", "o3", "o5"], "include": ["prov1"]}),
        ("Observation?_id=o5&_include=Observation:derived-from", {"match": ["o5"], "include": ["o1"]}),
        ("CarePlan?_include=CarePlan:supporting-info", {"match": ["cp1"], "include": ["r1"]}),
        ("Observation?_id=o1&_revinclude=DiagnosticReport:result", {"match": ["o1"], "include": ["r1"]}),
    ],
)
async def test_includes_under_a_patient_token_stay_in_its_compartment(
    api: httpx.AsyncClient, keys: KeyServer, path: str, expected: dict[str, list[str]]
) -> None:
    """p1's token: includes bring p1's resources only, though p1's report and plan reference p2's."""
    answer = found(await api.get(f"/fhir/{path}", headers=p1(keys)))
    assert {mode: ids for mode, ids in answer.items() if mode != "outcome"} == expected


async def test_includes_need_read_scope_on_the_included_type(api: httpx.AsyncClient, keys: KeyServer) -> None:
    """A token that may read reports but not Observations gets the report without its results."""
    headers = p1(keys, "patient/DiagnosticReport.rs")
    answer = found(await api.get("/fhir/DiagnosticReport?_include=DiagnosticReport:result", headers=headers))
    assert answer == {"match": ["r1"]}
    system = bearer(keys.token("system/DiagnosticReport.rs"))
    assert found(
        await api.get("/fhir/DiagnosticReport?_id=r1&_include=DiagnosticReport:result", headers=system)
    ) == {"match": ["r1"]}


async def test_head_is_confined_like_get(api: httpx.AsyncClient, keys: KeyServer) -> None:
    """HEAD of another patient's resource is a 404 to a patient/ token; its own is a 200 with the ETag."""
    assert (await api.head("/fhir/Observation/o2", headers=p1(keys))).status_code == 404
    assert (await api.head("/fhir/Observation/o2/_history/1", headers=p1(keys))).status_code == 404
    own = await api.head("/fhir/Observation/o1", headers=p1(keys))
    assert own.status_code == 200 and own.headers["etag"] == 'W/"1"' and own.content == b""
    assert (await api.head("/fhir/Observation?subject:Patient=p2", headers=p1(keys))).status_code == 403
    searched = await api.get("/fhir/Observation", headers=p1(keys))
    head = await api.head("/fhir/Observation", headers=p1(keys))
    assert head.status_code == 200 and head.headers["content-length"] == str(len(searched.content))
