"""A mutation fuzzer over the shared examples and a seeded sample of the corpus's Bundles (issue 20): each
is posted with hostile changes (deep nesting, shared fullUrls, repeated keys, wrong JSON types, impossible
dates, missing or inconsistent requests, cut-off bodies). No answer may be a 5xx; every error is an
OperationOutcome."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest

from tests.conftest import SHARED

SEED, SAMPLE, MUTATIONS_PER_FILE = 20, 40, 6
Mutation = Callable[[dict[str, Any], random.Random], bytes]


def _files() -> list[dict[str, Any]]:
    examples = _bundles(sorted((SHARED / "examples").glob("*.json")))
    corpus = _bundles(sorted(p for p in (SHARED / "corpus").rglob("*.json") if p.stat().st_size < 400_000))
    return examples + random.Random(SEED).sample(corpus, min(SAMPLE, len(corpus)))  # noqa: S311  # seeded, not secret


def _bundles(paths: list[Any]) -> list[dict[str, Any]]:
    found = []
    for path in paths:
        data = orjson.loads(path.read_bytes())
        if isinstance(data, dict) and data.get("resourceType") == "Bundle" and data.get("entry"):
            found.append(data)
    return found


def _entries(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in bundle["entry"] if isinstance(e, dict)] or [{}]


def _deep(bundle: dict[str, Any], rng: random.Random) -> bytes:
    depth = rng.choice([70, 300, 900, 1100])
    resource = rng.choice(_entries(bundle)).setdefault("resource", {})
    resource["zz"] = "HOLE"
    return orjson.dumps(bundle).replace(b'"HOLE"', b'{"a":' * depth + b"1" + b"}" * depth)


def _shared_full_url(bundle: dict[str, Any], rng: random.Random) -> bytes:
    for entry in _entries(bundle):
        entry["fullUrl"] = "urn:uuid:00000000-0000-4000-8000-000000000000"
    return orjson.dumps(bundle)


def _repeated_key(bundle: dict[str, Any], rng: random.Random) -> bytes:
    text = orjson.dumps(bundle)
    return text[:-1] + b',"type":"' + rng.choice([b"batch", b"transaction", b"collection"]) + b'"}'


def _wrong_types(bundle: dict[str, Any], rng: random.Random) -> bytes:
    entry = rng.choice(_entries(bundle))
    target = entry.get("resource") if isinstance(entry.get("resource"), dict) else entry
    for key in rng.sample(sorted(target), min(3, len(target))):
        target[key] = rng.choice([None, [], {}, 0, -1e308, "", True, [[[]]], {"reference": 5}])
    return orjson.dumps(bundle)


def _bad_dates(bundle: dict[str, Any], rng: random.Random) -> bytes:
    entry = rng.choice(_entries(bundle))
    resource = entry.setdefault("resource", {})
    key = rng.choice(["effectiveDateTime", "started", "issued", "birthDate", "authoredOn"])
    resource[key] = rng.choice(["2026-02-30", "", "0000-00-00", "2024-13-45T99:99:99Z", "9999-12-31"])
    return orjson.dumps(bundle)


def _requests(bundle: dict[str, Any], rng: random.Random) -> bytes:
    bundle["type"] = rng.choice(["transaction", "batch"])
    for entry in _entries(bundle):
        kind = (entry.get("resource") or {}).get("resourceType", "Patient")
        entry["request"] = rng.choice(
            [
                None,
                {},
                {"method": "PUT", "url": f"{kind}/a"},
                {"method": "POST", "url": "Observation"},
                {"method": "DELETE", "url": f"{kind}/x"},
                {"method": "PUT", "url": f"{kind}?identifier=x"},
            ]
        )
    return orjson.dumps(bundle)


def _cut(bundle: dict[str, Any], rng: random.Random) -> bytes:
    text = orjson.dumps(bundle)
    return text[: rng.randrange(1, len(text))]


MUTATIONS: list[Mutation] = [
    _deep,
    _shared_full_url,
    _repeated_key,
    _wrong_types,
    _bad_dates,
    _requests,
    _cut,
]


@pytest.mark.slow
async def test_no_mutation_gets_a_server_error(client: httpx.AsyncClient) -> None:
    """Hundreds of hostile Bundles: each answered below 500, each error an OperationOutcome with an issue."""
    rng, posted = random.Random(SEED), 0  # noqa: S311  # a seeded fuzzer, not a secret
    for bundle in _files():
        for _ in range(MUTATIONS_PER_FILE):
            mutation = rng.choice(MUTATIONS)
            body = mutation(orjson.loads(orjson.dumps(bundle)), rng)
            path = rng.choice(["/fhir", "/fhir/Bundle", "/fhir/$evaluate", "/fhir/$process-message"])
            response = await client.post(
                path, content=body, headers={"content-type": "application/fhir+json"}
            )
            where = f"{mutation.__name__} on {path}: {response.text[:300]}"
            assert response.status_code < 500, where
            if response.status_code >= 400:
                outcome = response.json()
                assert outcome["resourceType"] == "OperationOutcome", where
                assert outcome["issue"][0]["diagnostics"], where
            posted += 1
    assert posted > 200
