"""``report_versions.printed`` agrees with the separate questions it answers at once: the fingerprint and
whether the resource prints the knowledge-base version."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from service.app.report_versions import fingerprint, names_version, printed


def report(text: str, page: str) -> dict[str, Any]:
    data = base64.b64encode(page.encode()).decode()
    return {
        "resourceType": "DiagnosticReport",
        "id": "r1",
        "issued": "2026-01-01",
        "conclusion": text,
        "presentedForm": [{"contentType": "text/html", "data": data}],
    }


RESOURCES = [
    report("made with 2026.12.0", "<p>none</p>"),
    report("none", "<p>knowledge 2026.12.0, again 2026.12.0</p>"),
    report("none", "<p>2026.12</p>"),
    report("x", "<p>é ≥ 1</p>"),
    {"resourceType": "Observation", "id": "o", "note": [{"text": "v 1"}]},
]


@pytest.mark.parametrize("version", ["2026.12.0", "2026", "1", "x", "é", ""])
@pytest.mark.parametrize("resource", RESOURCES)
def test_printed_agrees_with_fingerprint_and_names_version(resource: dict[str, Any], version: str) -> None:
    """For versions of every length (one byte, none, several), printed answers what the two functions do."""
    found = printed(resource, version)
    assert found.fingerprint == fingerprint(resource, version)
    assert found.names_version == names_version(resource, version)
