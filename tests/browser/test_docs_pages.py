"""/docs and /redoc in headless Chromium over real loopback HTTP, every host name unresolvable (issue 18):
both render the service's API from the local assets alone. Without a browser the tests skip, except under
``CI=true``, where they fail (as in test_report_page.py)."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from service.api.app import create_app
from service.config import Settings
from tests.browser.test_report_page import FLAGS, _browser


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    database = tmp_path_factory.mktemp("docs") / "onco.db"
    app = create_app(Settings(database_url=f"sqlite+aiosqlite:///{database}", delivery_worker=False))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def _dom(url: str, profile: Path) -> str:
    # Every name unresolvable, as for the report page; only the loopback address the service is on reachable.
    flags = [f"{flag}, EXCLUDE 127.0.0.1" if flag.startswith("--host-resolver") else flag for flag in FLAGS]
    budget = "--virtual-time-budget=15000"  # Swagger UI and ReDoc draw after fetching /openapi.json
    command = [_browser(), *flags, f"--user-data-dir={profile}", budget, "--dump-dom", url]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True).stdout


@pytest.mark.parametrize(
    ("page", "rendered"),
    [
        ("/docs", 'class="opblock-summary-path"'),  # Swagger UI drew the operations
        ("/redoc", 'data-section-id="operation/capabilities"'),  # ReDoc drew an operation's section
    ],
)
def test_documentation_renders_without_the_network(
    base_url: str, tmp_path: Path, page: str, rendered: str
) -> None:
    """The page renders the API (its operations listed, /fhir/metadata among them) with no name resolving."""
    dom = _dom(base_url + page, tmp_path / "profile")
    assert rendered in dom
    assert "/fhir/metadata" in dom
