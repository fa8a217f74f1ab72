"""House rules that are checked, not remembered: the domain's import ban and the committed OpenAPI file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from service.api import openapi
from tests.conftest import REPO

RUFF = Path(sys.executable).parent / "ruff"


@pytest.mark.parametrize("module", ["fastapi", "httpx", "pydantic", "fhir.resources", "sqlalchemy", "yaml"])
def test_domain_import_ban_fails_a_file_that_breaks_it(module: str) -> None:
    """ruff's banned-api rejects an outside-world import inside service/domain."""
    probe = REPO / "service" / "domain" / "_import_ban_probe.py"
    probe.write_text(f"import {module}\n\nprint({module})\n")
    try:
        result = subprocess.run(
            [RUFF, "check", "--select", "TID251", str(probe)], capture_output=True, text=True
        )
    finally:
        probe.unlink()
    assert result.returncode == 1
    assert "TID251" in result.stdout and "is banned" in result.stdout


def test_domain_import_ban_allows_the_standard_library() -> None:
    """The same check passes a domain file that uses only the standard library."""
    probe = REPO / "service" / "domain" / "_import_ban_probe.py"
    probe.write_text("from decimal import Decimal\n\nprint(Decimal(1))\n")
    try:
        result = subprocess.run(
            [RUFF, "check", "--select", "TID251", str(probe)], capture_output=True, text=True
        )
    finally:
        probe.unlink()
    assert result.returncode == 0, result.stdout


def test_committed_openapi_matches_the_app() -> None:
    """openapi/openapi.json is what `make openapi` would write now."""
    assert not openapi.is_stale(REPO / "openapi" / "openapi.json"), "run `make openapi` and commit the file"


def test_openapi_drift_check_fails_on_a_stale_file(tmp_path: Path) -> None:
    """The drift check exits 1 for a file that differs from the app, 0 once rewritten."""
    stale = tmp_path / "openapi.json"
    stale.write_text((REPO / "openapi" / "openapi.json").read_text().replace('"healthz"', '"liveness"'))
    assert openapi.main(["check", str(stale)]) == 1
    assert openapi.main(["write", str(stale)]) == 0
    assert openapi.main(["check", str(stale)]) == 0


def test_openapi_operation_ids_are_unique() -> None:
    """Every operation has a stable, unique id (the route's name)."""
    spec = openapi.current_spec()
    ids = [op["operationId"] for path in spec["paths"].values() for op in path.values()]
    assert len(ids) == len(set(ids)) and "capabilities" in ids


def test_openapi_usage_error() -> None:
    """A wrong call prints the usage and exits 2."""
    assert openapi.main(["frobnicate"]) == 2
