"""The domain's assessments, pinned (issues 17, 19): for every patient of the shared examples, the golden
inputs, the corpus and a few synthetic shapes (up to 60 time points), :func:`assess` is run as of each date
a fact of that patient carries, with the criteria left to the domain and with each one forced, under the
configured thresholds and under a variant (confirmation required, no PR carried forward). The whole
Assessment tree (or the refusal) is hashed into one digest. A faster domain must give the same digest; a
change that means to change an outcome updates ``EXPECTED`` in the same commit and says why.

The facts are read in process, as ``$evaluate`` reads a posted Bundle, with today fixed, so the digest
depends only on the code and the files."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

import orjson
import pytest

from benchmarks.synthetic import collection
from service.adapters.fhir_in.bundles import plan_bundle, rewrite_references
from service.adapters.fhir_in.guard import parse_json
from service.adapters.fhir_in.normalise import entries_of, normalise
from service.adapters.fhir_in.references import Entry
from service.adapters.fhir_in.versions import FhirVersion, detect_version, version_from_content_type
from service.app.evaluate import Evaluate
from service.config import default_mappings_dir
from service.domain.assess import Policy, assess
from service.domain.assessment import Criteria
from service.domain.facts import Fact
from service.domain.thresholds import ConfirmationMode
from service.domain.timeline import PatientFacts
from service.errors import ServiceError
from service.knowledge import Knowledge, load_knowledge
from tests.conftest import REPO, SHARED
from tests.corpus.walk import corpus_files, request_for
from tests.fuzz.random_patients import random_patients

EXPECTED = "f302bccfdbb55043d1ef33c0ac5c7921f34e5ba117f1f84010e2d7b17c7654ce"
TODAY = dt.date(2026, 12, 1)
CANONICAL_BASE = "http://oncoresponse.org/fhir"
GOLDEN = REPO / "tests" / "golden"
# (patients, time points, days between them): the benchmark's shapes, a short one and a long one
SYNTHETIC = ((1, 2, 56), (1, 6, 56), (2, 6, 21), (1, 60, 28))
RANDOM_SEED, RANDOM_PATIENTS = 19, 150


def plain(value: Any) -> Any:
    """A JSON-able, order-stable picture of a value: dataclasses and Structs by type and fields, sets
    sorted, Decimals exactly as they print (so 1.0 and 1 differ), enums by class and name."""
    if isinstance(value, Enum):
        return f"{type(value).__name__}.{value.name}"
    if value is None or isinstance(value, str | int | float):
        return value
    if isinstance(value, Decimal):
        return f"D:{value}"
    if isinstance(value, dt.date):
        return value.isoformat()
    names = _field_names(value)
    if names is not None:
        return {"@": type(value).__name__, **{n: plain(getattr(value, n)) for n in names}}
    if isinstance(value, set | frozenset):
        return sorted((plain(v) for v in value), key=orjson.dumps)
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return sorted(([plain(k), plain(v)] for k, v in value.items()), key=orjson.dumps)
    raise TypeError(f"no plain form for {type(value).__name__}")


def _field_names(value: Any) -> tuple[str, ...] | None:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return tuple(f.name for f in dataclasses.fields(value))
    return getattr(type(value), "__struct_fields__", None)  # a msgspec Struct


def _facts(raw: bytes, declared: FhirVersion | None, knowledge: Knowledge) -> list[Fact]:
    """The facts ``$evaluate`` would read from one posted body; none when it would refuse it."""
    try:
        data = parse_json(raw)
        if not isinstance(data, dict) or not isinstance(data.get("resourceType"), str):
            return []
        version = declared or detect_version(data)
        if data["resourceType"] != "Bundle":
            entries = entries_of(data)
        else:
            planned, problems = plan_bundle(data, data.get("type") in ("transaction", "batch"), hashed=False)
            if problems:
                return []
            rewrite_references(planned)
            entries = [Entry(p.index, p.full_url, p.resource) for p in planned]
        return list(normalise(entries, knowledge, CANONICAL_BASE, version, today=TODAY).facts)
    except ServiceError:
        return []


Extra = tuple[dt.date | None, Criteria | None]
Case = tuple[str, bytes, FhirVersion | None, list[Extra]]


def _cases() -> Iterator[Case]:
    """(label, body, declared version, extra (as of, criteria) to assess besides the grid)."""
    for path in sorted((SHARED / "examples").glob("*.json")):
        yield f"example:{path.name}", path.read_bytes(), None, []
    golden: dict[Path, list[Extra]] = {}
    for expected_file in sorted(GOLDEN.glob("*/expected.json")):
        expected = json.loads(expected_file.read_text())
        path = REPO / expected["input"] if "input" in expected else expected_file.parent / "input.json"
        as_of = dt.date.fromisoformat(expected["as_of"]) if "as_of" in expected else None
        criteria = Criteria(expected["criteria"]) if "criteria" in expected else None
        golden.setdefault(path, []).append((as_of, criteria))
    for path, extra in golden.items():
        yield f"golden:{path.relative_to(REPO)}", path.read_bytes(), None, extra
    for patients, points, spacing in SYNTHETIC:
        body = orjson.dumps(collection(patients, points, spacing))
        yield f"synthetic:{patients}x{points}/{spacing}d", body, None, []
    for path in corpus_files():
        _, body, content_type = request_for(path)
        yield f"corpus:{path.parent.name}/{path.name}", body, version_from_content_type(content_type), []


def _outcome(
    patient: str, facts: PatientFacts, as_of: dt.date, policy: Policy, criteria: Criteria | None
) -> Any:
    try:
        return plain(assess(patient, facts, as_of, policy, criteria=criteria))
    except ValueError as exc:  # NotAssessableError, and the timeline's own refusals
        return [type(exc).__name__, str(exc)]


def _policies(knowledge: Knowledge) -> list[Policy]:
    configured = Evaluate(None, knowledge).policy  # type: ignore[arg-type]  # the policy needs no store
    strict = dataclasses.replace(
        configured.thresholds, confirmation_mode=ConfirmationMode.REQUIRED, pr_carry_forward=False
    )
    return [configured, dataclasses.replace(configured, thresholds=strict)]


def _patients(knowledge: Knowledge) -> Iterator[tuple[str, str, list[Fact], list[Extra]]]:
    """(label, patient, facts, extra (as of, criteria) to assess besides the grid) of every case."""
    for label, raw, declared, extra in _cases():
        by_patient: dict[str, list[Fact]] = {}
        for fact in _facts(raw, declared, knowledge):
            by_patient.setdefault(fact.patient, []).append(fact)
        for patient, facts in sorted(by_patient.items()):
            yield label, patient, facts, extra
    for facts in random_patients(RANDOM_SEED, RANDOM_PATIENTS):
        yield "random", facts[0].patient, facts, []


def _grid(facts: PatientFacts, *, every_kind: bool) -> list[Extra]:
    """Each imaging (and CEA) date with each criteria; the random patients, being many, on their imaging
    dates with the criteria left to the domain and with iRECIST forced."""
    if not every_kind:
        dates = sorted({o.observed_on for o in facts.lesions})
        return [(d, c) for d in dates for c in (None, Criteria.IRECIST)]
    dates = sorted({o.observed_on for o in [*facts.lesions, *facts.markers]})
    return [(d, c) for d in dates for c in (None, Criteria.RECIST_1_1, Criteria.IRECIST)]


def assessment_digest() -> tuple[str, int]:
    knowledge = load_knowledge(default_mappings_dir())
    policies = _policies(knowledge)
    digest, count = hashlib.sha256(), 0
    for label, patient, facts, extra in _patients(knowledge):
        everything = PatientFacts.of(facts)
        if not everything.lesions:
            continue
        grid = _grid(everything, every_kind=label != "random")
        for as_of, criteria in [*grid, *extra]:
            day = as_of or everything.latest_date or TODAY
            for index, policy in enumerate(policies):
                outcome = _outcome(patient, everything.up_to(day), day, policy, criteria)
                line = [label, patient, day, criteria, index, outcome]
                digest.update(orjson.dumps(line, default=str, option=orjson.OPT_SORT_KEYS) + b"\n")
                count += 1
    return digest.hexdigest(), count


@pytest.mark.slow
def test_assessments_are_unchanged() -> None:
    """The domain assesses every pinned patient, date, criteria and policy exactly as pinned."""
    digest, count = assessment_digest()
    assert count > 1000
    assert digest == EXPECTED, f"the domain's assessments changed: digest {digest} over {count} assessments"


if __name__ == "__main__":  # python -m tests.fuzz.test_assessment_digest: print the digest to pin
    print(assessment_digest())  # noqa: T201  # the command's output
