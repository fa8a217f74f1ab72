"""One serialisation of the posted entries serves the date check and the reference rewriting (issue 19):
rewriting from it gives the very resources that serialising the planned resources again gave."""

from __future__ import annotations

import hashlib
import random
import uuid
from typing import Any

import msgspec
import orjson
import pytest

from service.adapters.fhir_in import bundles
from service.adapters.fhir_in.bundles import (
    PlannedEntries,
    PlannedEntry,
    content_hash,
    plan_bundle,
    rewrite_references,
)
from service.errors import BadRequest

_URLS = ["urn:uuid:a", "urn:uuid:b", 'urn:odd:"q"', "urn:back\\", "http://x/fhir/Patient/p", "Patient/p", "é"]
_TYPES = ["Patient", "Observation", "Condition"]


def _reference(rng: random.Random) -> Any:
    value = rng.choice([*_URLS, "Patient/q", "other", 'x"', 7])
    return {rng.choice(["reference", "reference", "xreference", "display"]): value}


def _resource(rng: random.Random) -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": rng.choice(_TYPES)}
    if rng.random() < 0.7:
        resource["id"] = rng.choice(["p", "q", "o1", _reference(rng), "bad id"])
    for key in rng.sample(["subject", "focus", "note", "reference"], rng.randint(0, 3)):
        resource[key] = [_reference(rng)] if key == "focus" else _reference(rng)
    return resource


def _entry(rng: random.Random) -> Any:
    if rng.random() < 0.05:
        return rng.choice([None, {"fullUrl": "urn:uuid:z"}])
    resource = _resource(rng)
    entry: dict[str, Any] = {"resource": resource}
    if rng.random() < 0.8:
        entry["fullUrl"] = rng.choice(_URLS)
    method = rng.choice(["POST", "PUT", "PUT", "GET"])
    url = resource["resourceType"] if method == "POST" else f"{resource['resourceType']}/p"
    entry["request"] = {"method": method, "url": url}
    return entry


def _rewritten(planned: list[PlannedEntry], entries: list[PlannedEntry]) -> list[Any]:
    rewrite_references(entries)
    assert len(planned) == len(entries)
    return [p.resource for p in entries]


def test_rewriting_from_the_posted_text_agrees_with_serialising_again() -> None:
    """Seeded random Bundles (failed entries, ids that are objects, escaped quotes, full URLs used and not):
    the same rewritten resources from the posted text as from the planned resources serialised again."""
    rng = random.Random(17)  # noqa: S311  # a seeded test sequence, not a secret
    rewrites = 0
    for _ in range(3000):
        entries = [_entry(rng) for _ in range(rng.randint(0, 6))]
        try:
            planned, _ = plan_bundle({"entry": entries}, rng.random() < 0.5, hashed=False)
        except BadRequest:  # bdl-7: a shared fullUrl refuses the Bundle, nothing to compare
            continue
        assert isinstance(planned, PlannedEntries) and planned.posted_text is not None
        copies = [msgspec.structs.replace(p) for p in planned]
        shared = PlannedEntries(msgspec.structs.replace(p) for p in planned)
        shared.posted_text = planned.posted_text
        expected = _rewritten(planned, copies)  # a plain list: the planned resources serialised again
        assert _rewritten(planned, shared) == expected, entries
        rewrites += any(p.resource != c.resource for p, c in zip(planned, copies, strict=True))
    assert rewrites > 200


def test_the_content_hash_is_that_of_the_content_without_id_and_meta() -> None:
    """The hash (stored, and matched against later posts) is the sha256 of the key-sorted content less
    ``id`` and ``meta``, whichever of the two the resource holds."""
    rng = random.Random(23)  # noqa: S311  # a seeded test sequence, not a secret
    for _ in range(500):
        resource = _resource(rng)
        if rng.random() < 0.5:
            resource["meta"] = {"versionId": "1"}
        body = {k: v for k, v in resource.items() if k not in ("id", "meta")}
        expected = hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()
        assert content_hash(resource) == expected


class _Ids:
    """``uuid.uuid4`` for the planner, counting from zero again for each planning: two plannings of one
    Bundle give their creates the same ids."""

    def __init__(self) -> None:
        self.count = 0

    def uuid4(self) -> uuid.UUID:
        self.count += 1
        return uuid.UUID(int=self.count)


def _dated(rng: random.Random, entries: list[Any]) -> list[Any]:
    for entry in entries:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict) and rng.random() < 0.3:
            resource["effectiveDateTime"] = rng.choice(["2026-01-02", "2026-02-30", "", 'x"'])
    return entries


def _body_around(rng: random.Random, bundle: dict[str, Any]) -> dict[str, Any]:
    """The Bundle as posted, or inside a Parameters whose other parameters name a full URL and a date."""
    if rng.random() < 0.3:
        return {**bundle, "timestamp": rng.choice(["2026-01-02T10:00:00Z", "2026-13-01"])}
    return {"resourceType": "Parameters", "parameter": [
        {"name": "patient", "valueReference": {"reference": rng.choice(_URLS)}},
        {"name": "asOf", "valueDate": rng.choice(["2026-01-02", "2026-02-30"])},
        {"name": "bundle", "resource": bundle}]}  # fmt: skip


def _planned(bundle: dict[str, Any], transactional: bool, text: bytes | None) -> Any:
    planned, problems = plan_bundle(bundle, transactional, hashed=False, posted_text=text)
    rewrite_references(planned)
    return [(p.index, p.full_url, p.mode, p.resource) for p in planned], problems


def test_planning_from_the_body_the_entries_are_in_agrees_with_serialising_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The JSON guard's serialisation of the whole body (the Bundle, or a Parameters holding it beside a
    full URL and a date) serves as the entries' text: the same problems and, once references are
    rewritten, the same resources as from the entries serialised on their own (issue 19)."""
    rng = random.Random(29)  # noqa: S311  # a seeded test sequence, not a secret
    compared = suspect = 0
    for _ in range(3000):
        entries = _dated(rng, [_entry(rng) for _ in range(rng.randint(0, 6))])
        bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "collection", "entry": entries}
        text = orjson.dumps(_body_around(rng, bundle))
        transactional = rng.random() < 0.5
        results = []
        for given in (None, text):
            monkeypatch.setattr(bundles, "uuid", _Ids())
            try:
                results.append(_planned(bundle, transactional, given))
            except BadRequest:  # bdl-7: a shared fullUrl refuses the Bundle, from either text
                results.append(None)
        assert results[0] == results[1], entries
        compared += results[0] is not None
        suspect += results[0] is not None and bool(results[0][1])
    assert compared > 2000 and suspect > 500
