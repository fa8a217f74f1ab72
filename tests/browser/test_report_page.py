"""The report page and the presentedForm HTML rendered in headless Chromium (Debian ``chromium``, installed
by ``make test``) for the shared examples in both languages: no two text boxes of a chart overlap (measured in
the DOM), every scan date is on the time axis, the page asks for nothing over the network, and a screenshot is
written under ``var/screenshots/`` for people to look at. Without a browser the tests skip, except under
``CI=true``, where they fail."""

from __future__ import annotations

import base64
import shutil
import subprocess
from collections.abc import AsyncIterator
from itertools import combinations
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI

from service.api.app import create_app
from service.config import Settings
from tests.conftest import REPO, SHARED, unavailable

SCREENSHOTS = REPO / "var" / "screenshots"
CASES = {"seed-t790m-progression": "p-e2", "seed-slightly-larger": "p-e1"}
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND",  # belt and braces: no name resolves, so nothing could leave
)  # fmt: skip
# Appended to a copy of the page (never to what the service serves): each chart text's box, and every resource
# the page loaded, written into the DOM for --dump-dom to print.
MEASURE = """<script>
const charts = [...document.querySelectorAll('svg')];
const boxes = [...document.querySelectorAll('svg text')].map(t => {
  const r = t.getBoundingClientRect();
  return {chart: charts.indexOf(t.closest('svg')), kind: t.getAttribute('class'), text: t.textContent,
          box: [r.left, r.top, r.right, r.bottom]};
});
const loaded = performance.getEntriesByType('resource').map(e => e.name);
const scans = document.querySelectorAll('table.lesions thead th.mm').length - 1;
const rules = [...document.querySelectorAll('dl.rules dt')].map(dt => dt.textContent);
const overflow = document.documentElement.scrollWidth > window.innerWidth;
const out = document.createElement('pre'); out.id = 'measured';
out.textContent = JSON.stringify({boxes, loaded, scans, rules, overflow}); document.body.appendChild(out);
</script>"""


def _browser() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        unavailable("no chromium: make test installs it (Debian package chromium)")
    return found


@pytest.fixture(scope="module")
def browser() -> str:
    return _browser()


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app: FastAPI = create_app(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'onco.db'}"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            for example in CASES:
                body = (SHARED / "examples" / f"{example}.json").read_bytes()
                posted = await c.post(
                    "/fhir/Bundle", content=body, headers={"Content-Type": "application/fhir+json"}
                )
                assert posted.status_code < 300, posted.text
            yield c


def _run(browser: str, tmp: Path, html: str, *args: str) -> str:
    page = tmp / "page.html"
    page.write_text(html, encoding="utf-8")
    command = [browser, *FLAGS, f"--user-data-dir={tmp / 'profile'}", *args, page.as_uri()]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True).stdout


def measure(browser: str, tmp: Path, html: str) -> dict[str, Any]:
    dom = _run(browser, tmp, html.replace("</body>", MEASURE + "</body>"), "--dump-dom")
    start = dom.index('<pre id="measured">') + len('<pre id="measured">')
    text = (
        dom[start : dom.index("</pre>", start)]
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
    )
    measured: dict[str, Any] = orjson.loads(text.replace("&quot;", '"'))
    return measured


def screenshot(browser: str, tmp: Path, html: str, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    target = SCREENSHOTS / f"{name}.png"
    _run(browser, tmp, html, f"--screenshot={target}", "--window-size=900,2600", "--hide-scrollbars")
    return target


def overlaps(a: list[float], b: list[float]) -> bool:
    return min(a[2], b[2]) - max(a[0], b[0]) > 0.5 and min(a[3], b[3]) - max(a[1], b[1]) > 0.5


def scan_dates(example: str) -> list[str]:
    bundle = orjson.loads((SHARED / "examples" / f"{example}.json").read_bytes())
    return sorted(
        {
            e["resource"]["started"][:10]
            for e in bundle["entry"]
            if e["resource"]["resourceType"] == "ImagingStudy"
        }
    )


async def _page(client: httpx.AsyncClient, patient: str, language: str) -> str:
    response = await client.get(f"/view/Patient/{patient}", params={"lang": language})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    return response.text


async def _presented_form(client: httpx.AsyncClient, patient: str, language: str) -> str:
    named = [
        ("patient", "valueString", f"Patient/{patient}"),
        ("language", "valueCode", language),
        ("presentedForm", "valueBoolean", True),  # built only when asked for (issue 19)
    ]
    parameters = {"resourceType": "Parameters", "parameter": [{"name": n, k: v} for n, k, v in named]}
    response = await client.post(
        "/fhir/$evaluate", json=parameters, headers={"Content-Type": "application/fhir+json"}
    )
    assert response.status_code == 200, response.text
    report = response.json()["entry"][0]["resource"]
    return base64.b64decode(report["presentedForm"][0]["data"]).decode("utf-8")


@pytest.mark.parametrize("language", ["en", "zh-CN"])
@pytest.mark.parametrize("example", list(CASES))
@pytest.mark.parametrize("source", ["page", "presentedForm"])
async def test_rendered_report_has_no_overlapping_text_and_every_scan_date(
    browser: str, client: httpx.AsyncClient, tmp_path: Path, example: str, language: str, source: str
) -> None:
    """In Chromium: chart texts never overlap, the sum chart and the lesion table show every scan date, the
    cited rules are explained, nothing is wider than the window, nothing is requested."""
    patient = CASES[example]
    fetch = _page if source == "page" else _presented_form
    html = await fetch(client, patient, language)
    measured = measure(browser, tmp_path, html)
    boxes = measured["boxes"]
    clashes = [
        (a["text"], b["text"])
        for a, b in combinations(boxes, 2)
        if a["chart"] == b["chart"] and overlaps(a["box"], b["box"])
    ]
    assert clashes == []
    dates_drawn = [b for b in boxes if b["chart"] == 0 and b["kind"] == "date"]
    assert len(dates_drawn) == len(scan_dates(example))
    if language == "en":
        assert [b["text"] for b in dates_drawn] == scan_dates(example)
    assert measured["scans"] == len(scan_dates(example))
    assert measured["rules"] and not measured["overflow"]
    assert measured["loaded"] == []
    assert "<script" not in html
    if source == "page":
        assert screenshot(browser, tmp_path, html, f"{example}-{language}").stat().st_size > 10_000
