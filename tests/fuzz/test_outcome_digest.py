"""The reading of posted data, pinned (issue 19): for every corpus file, shared example and seeded mutation of
``test_mutations.py``, what the guard, the Bundle planner and the normaliser decide (each refusal with its
issues, else every issue and every fact) is hashed into one digest. A faster reader must give the same
digest; a change that means to change an outcome updates ``EXPECTED`` in the same commit and says why.

The reading is done in process, without the store (what ``$evaluate`` without ``persist`` does before the
domain), with today fixed, so the digest depends only on the code and the files."""

from __future__ import annotations

import hashlib
import random
import re
from datetime import date
from typing import Any

import orjson
import pytest

from service.adapters.fhir_in.bundles import plan_bundle, rewrite_references
from service.adapters.fhir_in.guard import parse_json
from service.adapters.fhir_in.normalise import entries_of, normalise
from service.adapters.fhir_in.references import Entry
from service.adapters.fhir_in.versions import FhirVersion, detect_version, version_from_content_type
from service.adapters.store.fact_codec import encode
from service.config import default_mappings_dir
from service.errors import Issue, ServiceError
from service.knowledge import Knowledge, load_knowledge
from tests.corpus.walk import corpus_files, request_for
from tests.fuzz.test_mutations import MUTATIONS, MUTATIONS_PER_FILE, SEED, _files

EXPECTED = "50e3141f5fcb8ef5e06e33f59d9d45e7d77153579d4d4114ea1c891afbdc077a"
TODAY = date(2026, 12, 1)
CANONICAL_BASE = "http://oncoresponse.org/fhir"


def _issues(issues: list[Issue]) -> list[list[str | None]]:
    return [[i.severity, i.code, i.expression, i.diagnostics] for i in issues]


def read(raw: bytes, declared: FhirVersion | None, knowledge: Knowledge) -> list[Any]:
    """What the reading decides for one body: a refusal with its issues, or the issues and the facts."""
    try:
        data = parse_json(raw)
        if not isinstance(data, dict) or not isinstance(data.get("resourceType"), str):
            return ["not-a-resource"]
        version = declared or detect_version(data)
        if data["resourceType"] != "Bundle":
            entries = entries_of(data)
        else:
            planned, problems = plan_bundle(data, data.get("type") in ("transaction", "batch"), hashed=False)
            if problems:
                return ["entry-problems", [[p.index, *_issues([p.issue])[0]] for p in problems]]
            rewrite_references(planned)
            entries = [Entry(p.index, p.full_url, p.resource) for p in planned]
        result = normalise(entries, knowledge, CANONICAL_BASE, version, today=TODAY)
    except ServiceError as exc:
        return [type(exc).__name__, _issues(exc.issues)]
    return ["read", _issues(result.issues), [encode(f) for f in result.facts], sorted(result.patients)]


def _bodies() -> list[tuple[bytes, FhirVersion | None]]:
    """Every corpus file as the corpus walk posts it, then the mutation fuzzer's bodies in its order."""
    bodies = []
    for path in corpus_files():
        _, body, content_type = request_for(path)
        bodies.append((body, version_from_content_type(content_type)))
    rng = random.Random(SEED)  # noqa: S311  # the fuzzer's own seeded sequence, not a secret
    for bundle in _files():
        for _ in range(MUTATIONS_PER_FILE):
            mutation = rng.choice(MUTATIONS)
            bodies.append((mutation(orjson.loads(orjson.dumps(bundle)), rng), None))
            rng.choice(["/fhir", "/fhir/Bundle", "/fhir/$evaluate", "/fhir/$process-message"])  # keep in step
    return bodies


_NEW_ID = re.compile(rb"[0-9a-f]{32}")  # the planner's ids for POSTed entries (uuid4().hex)


def _stable(outcome: bytes, raw: bytes) -> bytes:
    """The outcome with each id the planner made up (not in the body) replaced by its order of appearance."""
    made: dict[bytes, bytes] = {}

    def name(match: re.Match[bytes]) -> bytes:
        token = match.group(0)
        if token in raw:
            return token
        return made.setdefault(token, b"new-id-%d" % len(made))

    return _NEW_ID.sub(name, outcome)


def outcome_digest() -> tuple[str, int]:
    knowledge = load_knowledge(default_mappings_dir())
    digest, count = hashlib.sha256(), 0
    for raw, declared in _bodies():
        outcome = orjson.dumps(read(raw, declared, knowledge), default=str)
        digest.update(_stable(outcome, raw) + b"\n")
        count += 1
    return digest.hexdigest(), count


@pytest.mark.slow
def test_corpus_and_mutation_outcomes_are_unchanged() -> None:
    """The guard, planner and normaliser decide exactly as pinned for every corpus file and mutation."""
    digest, count = outcome_digest()
    assert count > 1000
    assert digest == EXPECTED, f"the reading of posted data changed: digest {digest} over {count} bodies"


if __name__ == "__main__":  # python -m tests.fuzz.test_outcome_digest: print the digest to pin
    print(outcome_digest())  # noqa: T201  # the command's output
