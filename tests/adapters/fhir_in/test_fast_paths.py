"""The normaliser's fast paths read well-formed JSON without checks that cost calls, and fall back to the
checked reading for anything else: every wrong JSON type is still an error issue at its FHIRPath."""

from __future__ import annotations

import random
from typing import Any

import orjson
import pytest

from service.adapters.fhir_in.bundles import PlannedEntry, WriteMode, content_hash, plan_bundle
from service.adapters.fhir_in.elements import Coding, Issues, Node
from service.adapters.fhir_in.full_urls import _reference_values, _referenced_targets, rewrite_references
from service.adapters.fhir_in.references import Entry, References

ROOT = "Bundle.entry[2].resource"


def _node(data: dict[str, Any]) -> Node:
    return Node(data, ROOT, Issues())


def _errors(node: Node) -> list[tuple[str | None, str]]:
    return [(i.expression, i.diagnostics) for i in node.issues.items]


def test_codings_of_a_well_formed_concept() -> None:
    """Codings are read in order, absent elements as None; an absent concept has none."""
    node = _node({"code": {"coding": [{"system": "s", "code": "c", "display": "d"}, {"code": "x"}]}})
    assert node.codings("code") == [Coding("s", "c", "d"), Coding(None, "x", None)]
    assert node.codings("other") == [] and _node({"code": {}}).codings("code") == []
    assert _errors(node) == []


@pytest.mark.parametrize(
    ("concept", "expected"),
    [
        ("text", [(f"{ROOT}.code", "code must be an object, got str")]),
        ({"coding": {}}, [(f"{ROOT}.code.coding", "coding must be an array, got dict")]),
        ({"coding": [{"code": "a"}, 3]}, [(f"{ROOT}.code.coding[1]", "coding items must be objects")]),
        ({"coding": [{"code": True}]}, [(f"{ROOT}.code.coding[0].code", "code must be a string, got bool")]),
        (
            {"coding": [{"system": 1, "display": []}]},
            [
                (f"{ROOT}.code.coding[0].system", "system must be a string, got int"),
                (f"{ROOT}.code.coding[0].display", "display must be a string, got list"),
            ],
        ),
    ],
    ids=["concept-not-object", "coding-not-array", "item-not-object", "code-not-string", "two-bad-values"],
)
def test_codings_of_a_malformed_concept_report_each_problem(concept: Any, expected: list[Any]) -> None:
    """A wrong JSON type anywhere in a CodeableConcept is an error at its own path, read as absent."""
    node = _node({"code": concept})
    node.codings("code")
    assert _errors(node) == expected


def test_paths_are_spelled_out_from_the_root() -> None:
    """A nested element's issue names the whole path, indexes included; a root keeps the path it was given."""
    node = _node({"component": [{}, {"valueQuantity": {"value": "12"}}]})
    quantity = node.objs("component")[1].obj("valueQuantity")
    assert quantity is not None and quantity.path == f"{ROOT}.component[1].valueQuantity"
    assert quantity.number("value") is None
    assert _errors(node) == [(f"{ROOT}.component[1].valueQuantity.value", "value must be a number, got str")]
    assert node.path == ROOT and node.at("code") == f"{ROOT}.code"


def test_text_reads_strings_and_reports_other_types() -> None:
    """A string is read as is; a number where a string belongs is an error and reads as absent."""
    node = _node({"status": "final", "id": 7})
    assert node.text("status") == "final" and node.text("missing") is None and node.text("id") is None
    assert _errors(node) == [(f"{ROOT}.id", "id must be a string, got int")]


def test_reference_names_are_stable_on_repeated_lookups() -> None:
    """A name worked out once is the same the next time; contained references still read as sent."""
    patient = {"resourceType": "Patient", "id": "p1"}
    refs = References([Entry(0, "urn:uuid:1", patient)])
    for _ in range(2):
        assert refs.name("urn:uuid:1") == "Patient/p1"
        assert refs.name("http://x/fhir/Patient/p9/_history/2") == "Patient/p9"
        assert refs.name("#c1", {"contained": [{"resourceType": "Device", "id": "c1"}]}) == "#c1"
        assert refs.name("") is None


def _planned(bundle: dict[str, Any]) -> list[PlannedEntry]:
    planned, problems = plan_bundle(bundle, transactional=False)
    assert problems == []
    return planned


def _bundle(*entries: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": u, "resource": r} for u, r in entries],
    }


def test_full_urls_used_as_references_are_rewritten() -> None:
    """A reference to an entry's fullUrl becomes its Type/id; the same text elsewhere is left alone."""
    patient = {"resourceType": "Patient", "id": "p1"}
    obs = {
        "resourceType": "Observation",
        "id": "o1",
        "subject": {"reference": "urn:uuid:p"},
        "note": [{"text": "urn:uuid:o"}],
    }
    planned = _planned(_bundle(("urn:uuid:p", patient), ("urn:uuid:o", obs)))
    rewrite_references(planned)
    assert planned[1].resource["subject"] == {"reference": "Patient/p1"}
    assert planned[1].resource["note"] == [{"text": "urn:uuid:o"}]


def test_references_with_escaped_quotes_are_still_rewritten() -> None:
    """A full URL holding a quote (escaped in JSON) is still found and rewritten."""
    patient = {"resourceType": "Patient", "id": "p1"}
    url = 'urn:odd:"quoted"'
    obs = {"resourceType": "Observation", "id": "o1", "subject": {"reference": url}}
    planned = _planned(_bundle((url, patient), ("urn:uuid:o", obs)))
    rewrite_references(planned)
    assert planned[1].resource["subject"] == {"reference": "Patient/p1"}


def test_plan_hashes_only_when_asked() -> None:
    """Ingestion plans with the posted content's hash; $evaluate, which stores nothing, skips it."""
    resource = {"resourceType": "Patient", "id": "p1", "gender": "female"}
    hashed = plan_bundle(_bundle(("urn:uuid:p", resource)), transactional=False)[0][0]
    unhashed = plan_bundle(_bundle(("urn:uuid:p", resource)), transactional=False, hashed=False)[0][0]
    assert hashed.posted_hash == content_hash(resource) and unhashed.posted_hash == ""
    assert hashed.mode is unhashed.mode is WriteMode.UPSERT


def test_referenced_targets_are_those_each_escaped_url_finds() -> None:
    """Reading each reference value back (issue 19) finds the targets that escaping each full URL and
    looking it up found, whatever the URLs hold (escapes, non-ASCII, line separators)."""
    rng = random.Random(19)  # noqa: S311  # a seeded test sequence, not a secret
    pieces = ["urn:uuid:", "a", "\n", "\t", "é", "\\", "/", " ", "\u2028", "x", "Patient/1"]
    checked = 0
    for _ in range(3000):
        urls = ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 4))) for _ in range(5)]
        targets = {url: f"Patient/{i}" for i, url in enumerate(urls)}
        named = [rng.choice([*urls, "other", "urn:uuid:a"]) for _ in range(rng.randint(0, 6))]
        text = orjson.dumps([{"subject": {"reference": name}} for name in named])
        values = _reference_values(text)
        if values is None:
            continue
        expected = {url: ref for url, ref in targets.items() if orjson.dumps(url)[1:-1] in values}
        assert _referenced_targets(targets, text) == expected, named
        checked += 1
    assert checked > 1000
