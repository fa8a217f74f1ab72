"""Post every JSON file of ``../shared/corpus`` to the service, the way a sender would.

Bundles go to the endpoint for their type; single resources (and Bundles of types no endpoint takes, such
as history or subscription-notification) are wrapped in a batch as one POST entry. The FHIR version is
declared from the folder's source version (SOURCES.md).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
_VERSIONS = {"fhir-core-r4b": "4.3", "fhir-core-r5": "5.0"}
_ENDPOINTS = {
    "transaction": "/fhir",
    "batch": "/fhir",
    "collection": "/fhir/Bundle",
    "document": "/fhir/Bundle",
    "searchset": "/fhir/Bundle",
    "message": "/fhir/$process-message",
}


@dataclass(frozen=True, slots=True)
class Posted:
    folder: str
    name: str
    status: int
    body: dict[str, Any]

    @property
    def accepted_entries(self) -> int:
        return sum(
            1 for e in self.body.get("entry", []) if e["response"]["status"].startswith(("200", "201"))
        )

    def entry_failures(self) -> list[str]:
        """The first issue of each failed entry, shortened."""
        return [
            e["response"]["outcome"]["issue"][0]["diagnostics"][:100]
            for e in self.body.get("entry", [])
            if not e["response"]["status"].startswith(("200", "201"))
        ]

    @property
    def failed_entries(self) -> int:
        return len(self.body.get("entry", [])) - self.accepted_entries


def corpus_files() -> list[Path]:
    return sorted(CORPUS.glob("*/*.json"))


def request_for(path: Path) -> tuple[str, bytes, str]:
    """(endpoint, body, content type) for one corpus file."""
    raw = path.read_bytes()
    data = orjson.loads(raw)
    version = _VERSIONS.get(path.parent.name, "4.0")
    content_type = f"application/fhir+json; fhirVersion={version}"
    if data.get("resourceType") == "Bundle" and data.get("type") in _ENDPOINTS:
        return _ENDPOINTS[data["type"]], raw, content_type
    batch = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [{"resource": data, "request": {"method": "POST", "url": data.get("resourceType", "")}}],
    }
    return "/fhir", orjson.dumps(batch), content_type


async def post_all(client: httpx.AsyncClient, files: list[Path]) -> AsyncIterator[Posted]:
    for path in files:
        endpoint, body, content_type = request_for(path)
        response = await client.post(endpoint, content=body, headers={"content-type": content_type})
        yield Posted(path.parent.name, path.name, response.status_code, response.json())
