"""Search paging (issue 15): next / previous / first links walk a stable, keyset-paged result set, with the
right total on every page and absolute URLs on ONCO_PUBLIC_BASE_URL; on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest

from service.api.app import create_app
from service.bootstrap import build
from service.config import Settings
from tests.api.test_search import BASE, FHIR, obs, patient, put_bundle
from tests.app.fake_normaliser import fake_normaliser


@pytest.fixture
async def api(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(database_url=database_url, public_base_url=BASE)
    app = create_app(settings, build(settings, normaliser=fake_normaliser))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ignored-host") as client:
            seed = [patient("p1"), patient("p2")] + [obs(f"o{i:02}", "p1", "2039-6") for i in range(45)]
            seed.append(obs("other", "p2", "2039-6"))
            # two transactions: the pages must also cross a last_updated boundary
            for part in (seed[:20], seed[20:]):
                response = await client.post("/fhir", content=orjson.dumps(put_bundle(*part)), headers=FHIR)
                assert response.status_code == 200, response.text
            yield client


def link(bundle: dict[str, Any], relation: str) -> str | None:
    return next((x["url"] for x in bundle["link"] if x["relation"] == relation), None)


async def follow(api: httpx.AsyncClient, url: str) -> dict[str, Any]:
    assert url.startswith(f"{BASE}/")
    response = await api.get("/fhir/" + url.removeprefix(f"{BASE}/"))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def ids(bundle: dict[str, Any]) -> list[str]:
    return [e["resource"]["id"] for e in bundle["entry"]]


@pytest.mark.parametrize(
    "query", ["patient=p1&_count=20", "patient=p1&_count=20&status=final&_sort=_lastUpdated"]
)
async def test_next_links_walk_every_match_once(api: httpx.AsyncClient, query: str) -> None:
    """Following next returns every match once (20 + 20 + 5), total 45 on each page, no next on the last;
    previous walks back to the same pages and first starts over (the SQL and the checked path alike)."""
    page = await follow(api, f"{BASE}/Observation?{query}")
    pages = [page]
    while (after := link(page, "next")) is not None:
        page = await follow(api, after)
        pages.append(page)
    assert [len(p["entry"]) for p in pages] == [20, 20, 5]
    assert all(p["total"] == 45 for p in pages)
    seen = [i for p in pages for i in ids(p)]
    assert len(set(seen)) == 45 and "other" not in seen
    assert link(pages[0], "previous") is None
    back = await follow(api, str(link(pages[2], "previous")))
    assert ids(back) == ids(pages[1])
    back = await follow(api, str(link(back, "previous")))
    assert ids(back) == ids(pages[0]) and link(back, "previous") is None
    assert ids(await follow(api, str(link(pages[2], "first")))) == ids(pages[0])


async def test_paging_is_stable_when_resources_are_added(api: httpx.AsyncClient) -> None:
    """A resource stored between two pages does not shift the walk (keyset, not offset): nothing repeats."""
    first = await follow(api, f"{BASE}/Observation?patient=p1&_count=20")
    late = put_bundle(obs("late", "p1", "2039-6"))
    await api.post("/fhir", content=orjson.dumps(late), headers=FHIR)
    second = await follow(api, str(link(first, "next")))
    assert not set(ids(first)) & set(ids(second))
    assert "late" not in ids(second)  # newest first: it sorts before the walk's position
