"""/docs (Swagger UI) and /redoc load their scripts and styles from this service, never a CDN (issue 18)."""

from __future__ import annotations

import re

import httpx
import pytest

ASSET = re.compile(r'(?:src|href)="([^"]+)"')


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_documentation_page_loads_only_local_assets(client: httpx.AsyncClient, page: str) -> None:
    """Every script, style and icon of the page is under /docs/assets and served; the CSP allows self only."""
    response = await client.get(page)
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    assert "script-src 'self';" in csp
    assert "http" not in csp
    assets = ASSET.findall(response.text)
    assert assets
    assert "<script>" not in response.text  # no inline script: the CSP would block it
    for url in assets:
        assert url.startswith("/docs/assets/"), url
        served = await client.get(url)
        assert served.status_code == 200, url
        assert len(served.content) > 1000 or url.endswith("swagger-init.js"), url


async def test_swagger_init_points_at_the_served_openapi(client: httpx.AsyncClient) -> None:
    """Swagger UI starts from /openapi.json, which is served, without the online validator badge."""
    init = await client.get("/docs/assets/swagger-init.js")
    assert '"/openapi.json"' in init.text
    assert "validatorUrl: null" in init.text
    assert (await client.get("/openapi.json")).status_code == 200


async def test_an_unknown_asset_is_a_404_outcome(client: httpx.AsyncClient) -> None:
    """Only the named files are served: anything else (a path into the package) is a 404 OperationOutcome."""
    for name in ("core.py", "..%2F__init__.py", "nothing.js"):
        response = await client.get(f"/docs/assets/{name}")
        assert response.status_code == 404
        assert response.json()["resourceType"] == "OperationOutcome"
