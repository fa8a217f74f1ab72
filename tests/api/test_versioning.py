"""Versioning (issue 15): a stale ``ifMatch`` is a 412 and nothing is written; an update answers 200 and
a create 201; reads carry ``ETag`` and ``Last-Modified``; ``If-None-Match`` on the current version is 304."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest

from service.api.app import create_app
from service.bootstrap import build
from service.config import Settings
from tests.api.test_search import FHIR, obs, patient
from tests.app.fake_normaliser import fake_normaliser


@pytest.fixture
async def api(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(database_url=database_url)
    app = create_app(settings, build(settings, normaliser=fake_normaliser))
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://t") as c,
    ):
        yield c


def put(resource: dict[str, Any], if_match: str | None = None, kind: str = "transaction") -> dict[str, Any]:
    request = {"method": "PUT", "url": f"{resource['resourceType']}/{resource['id']}"}
    request |= {"ifMatch": if_match} if if_match else {}
    return {"resourceType": "Bundle", "type": kind, "entry": [{"resource": resource, "request": request}]}


async def send(api: httpx.AsyncClient, bundle: dict[str, Any]) -> httpx.Response:
    return await api.post("/fhir", content=orjson.dumps(bundle), headers=FHIR)


async def test_create_201_update_200_stale_if_match_412_writes_nothing(api: httpx.AsyncClient) -> None:
    """First PUT creates (201), a changed PUT with the right ifMatch updates (200), a stale one is 412 in a
    transaction and in a batch entry, and the resource stays at version 2."""
    await send(api, put(patient("p1")))
    created = (await send(api, put(obs("o1", "p1", "2039-6")))).json()
    assert created["entry"][0]["response"]["status"] == "201 Created"
    updated = (await send(api, put(obs("o1", "p1", "2039-6", status="amended"), 'W/"1"'))).json()
    assert updated["entry"][0]["response"]["status"] == "200 OK"
    stale = await send(api, put(obs("o1", "p1", "2039-6", status="cancelled"), 'W/"99"'))
    assert stale.status_code == 412 and stale.json()["resourceType"] == "OperationOutcome"
    batch = (await send(api, put(obs("o1", "p1", "2039-6", status="cancelled"), 'W/"1"', "batch"))).json()
    assert batch["entry"][0]["response"]["status"].startswith("412")
    current = await api.get("/fhir/Observation/o1")
    assert current.json()["status"] == "amended" and current.headers["etag"] == 'W/"2"'
    assert (await api.get("/fhir/Observation/o1/_history/3")).status_code == 404
    missing = await send(api, put(obs("nope", "p1", "2039-6"), 'W/"1"'))
    assert missing.status_code == 412


async def test_read_etag_last_modified_and_if_none_match(api: httpx.AsyncClient) -> None:
    """A read has ETag and Last-Modified; If-None-Match with the current version is 304, an older one 200."""
    await send(api, put(patient("p1")))
    await send(api, put(obs("o1", "p1", "2039-6")))
    read = await api.get("/fhir/Observation/o1")
    assert read.headers["etag"] == 'W/"1"' and read.headers["last-modified"].endswith("GMT")
    assert (await api.get("/fhir/Observation/o1", headers={"if-none-match": 'W/"1"'})).status_code == 304
    vread = await api.get("/fhir/Observation/o1/_history/1", headers={"if-none-match": 'W/"1"'})
    assert vread.status_code == 304
    assert (await api.get("/fhir/Observation/o1", headers={"if-none-match": 'W/"0"'})).status_code == 200
