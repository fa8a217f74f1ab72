"""The shortcuts of issue 19 give what the checked reading gives: ``Node.first`` and ``Node.reference`` read
well-formed JSON without child Nodes and report every wrong JSON type as before; ``Context.once`` reads a
resource named by many others once; the date prefilter finds exactly the date-named values the forward
pattern finds, however the JSON is escaped."""

from __future__ import annotations

import random
import re
from datetime import date
from typing import Any

import orjson

from service.adapters.fhir_in.bundles import plan_bundle
from service.adapters.fhir_in.context import Context
from service.adapters.fhir_in.dates import _NAMES, _date_values, is_date, may_hold_bad_date
from service.adapters.fhir_in.elements import Issues, Node
from service.adapters.fhir_in.normalise import normalise
from service.adapters.fhir_in.references import Entry, References
from service.adapters.fhir_in.versions import FhirVersion
from service.knowledge import Knowledge

ROOT = "Bundle.entry[1].resource"
# The pattern the prefilter used before issue 19: a date-named key and its string value, read forwards.
FORWARD = re.compile(rf'"(?:{_NAMES})":"([^"\\]*)"'.encode())


def _node(data: dict[str, Any]) -> Node:
    return Node(data, ROOT, Issues())


def _errors(node: Node) -> list[tuple[str | None, str]]:
    return [(i.expression, i.diagnostics) for i in node.issues.items]


def test_first_is_the_first_object_and_every_item_is_checked() -> None:
    """The first item, with its index in its path; a non-object item is still an error, an empty or absent
    array no item."""
    node = _node({"focus": [{"reference": "a"}, {"reference": "b"}], "empty": []})
    first = node.first("focus")
    assert first is not None and first.data == {"reference": "a"} and first.path == f"{ROOT}.focus[0]"
    assert node.first("empty") is None and node.first("absent") is None and _errors(node) == []
    mixed = _node({"focus": [3, {"reference": "b"}]})
    second = mixed.first("focus")
    assert second is not None and second.path == f"{ROOT}.focus[1]"
    assert _errors(mixed) == [(f"{ROOT}.focus[0]", "focus items must be objects")]
    wrong = _node({"focus": {"reference": "a"}})
    assert wrong.first("focus") is None
    assert _errors(wrong) == [(f"{ROOT}.focus", "focus must be an array, got dict")]


def test_reference_reads_the_text_and_reports_wrong_types() -> None:
    """``subject.reference`` as sent; a wrong JSON type at either level is an error and reads as absent."""
    node = _node({"subject": {"reference": "Patient/p1"}, "device": {}})
    assert node.reference("subject") == "Patient/p1"
    assert node.reference("device") is None and node.reference("absent") is None and _errors(node) == []
    not_object = _node({"subject": "Patient/p1"})
    assert not_object.reference("subject") is None
    assert _errors(not_object) == [(f"{ROOT}.subject", "subject must be an object, got str")]
    not_text = _node({"subject": {"reference": 7}})
    assert not_text.reference("subject") is None
    assert _errors(not_text) == [(f"{ROOT}.subject.reference", "reference must be a string, got int")]


def test_once_reads_each_resource_once(knowledge: Knowledge) -> None:
    """A reading is done once per resource and returned again after; another resource is read anew."""
    body = {"resourceType": "BodyStructure", "id": "b1"}
    other = {"resourceType": "BodyStructure", "id": "b2"}
    entries = [Entry(0, None, body), Entry(1, None, other)]
    ctx = Context(
        knowledge=knowledge,
        local=knowledge.observation_codes.resolved("http://oncoresponse.org/fhir"),
        references=References(entries),
        version=FhirVersion.R4,
        today=date(2026, 11, 28),
        imaging_reports={},
    )
    calls: list[str] = []

    def reading(node: Node, _: Context) -> str:
        calls.append(node.data["id"])
        return f"read {node.data['id']}"

    issues = Issues()
    for _ in range(3):
        assert ctx.once(reading, Node(body, entries[0].path, issues)) == "read b1"
    assert ctx.once(reading, Node(other, entries[1].path, issues)) == "read b2"
    assert calls == ["b1", "b2"]


_KEYS = [
    *("date", "start", "end", "issued", "birthDate", "effectiveDateTime", "xInstant", "dateTime"),
    *("update", "Date", "reference", 'a"date', 'date"', "\\date", "da\nte", "dateé", "fooDateX"),
]
_PIECES = ["2", "0", "-", "T", ":", "Z", '"', "\\", "\n", "a", "é", '":"', "date", "\x01"]


def _random_json(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth > 3 or roll < 0.5:
        text = "".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 6)))
        return rng.choice([text, text, "2026-01-05", "2026-02-30", "", 5, None])
    if roll < 0.75:
        return {rng.choice(_KEYS): _random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))}
    return [_random_json(rng, depth + 1) for _ in range(rng.randint(0, 3))]


def test_date_values_are_those_the_forward_pattern_finds() -> None:
    """Escaped quotes and backslashes in keys and values, date names inside other strings and keys: the
    reversed search finds the same values as the forward pattern in every seeded random document."""
    rng = random.Random(19)  # noqa: S311  # a seeded test sequence, not a secret
    found = 0
    for _ in range(5000):
        text = orjson.dumps(_random_json(rng))
        expected = set(FORWARD.findall(text))
        assert _date_values(text) == expected, text
        found += bool(expected)
    assert found > 500  # the documents do hold date-named values


def test_a_bad_date_anywhere_is_suspected() -> None:
    """An impossible date in any date-named element, or one whose value is escaped, makes the Bundle
    suspect (then every date is checked); real dates in well-named elements do not."""
    assert not may_hold_bad_date([{"resource": {"birthDate": "1961-03-02", "note": "2026-02-30"}}])
    assert may_hold_bad_date([{"resource": {"period": {"start": "2026-02-30"}}}])
    assert may_hold_bad_date({"effectiveDateTime": 'x"y'})
    assert may_hold_bad_date({"issued": ""})
    assert may_hold_bad_date({"started": "2026-01-01\\x"})  # an escaped backslash, no escaped quote


def test_a_date_holding_a_backslash_is_refused() -> None:
    """It was let through: the prefilter looked for escaped values only when a quote was escaped."""
    entry = {"resource": {"resourceType": "ImagingStudy", "id": "s", "started": "2026-01-01\\x"}}
    planned, problems = plan_bundle({"resourceType": "Bundle", "entry": [entry]}, False, hashed=False)
    assert planned == [] and [p.issue.expression for p in problems] == ["Bundle.entry[0].resource.started"]


def test_is_date_accepts_real_days_and_times_only() -> None:
    """Leap days and a leap second are dates; 29 February 2026, month 13, hour 24, 1 January 0000 are not."""
    for text in ("2024-02-29", "0000", "2026-01-05T23:59:60Z", "2026-01-05T09:30+01:00"):
        assert is_date(text), text
    for text in ("2026-02-29", "0000-01-01", "2026-13", "2026-01-05T24:00Z", "2026-01-05T09:60Z", ""):
        assert not is_date(text), text


def test_an_entry_path_is_its_index_within_and_beyond_the_spelled_out_table(knowledge: Knowledge) -> None:
    """Issues name the entry by its index, whether the path comes from normalise's table of the first
    entries or is spelled out (a large Bundle)."""
    unknown = {"resourceType": "Observation", "code": {"coding": [{"system": "x", "code": "y"}]}}
    for index in (0, 7, 1023, 1024, 5000):
        found = normalise([Entry(index, None, unknown)], knowledge, "http://x", FhirVersion.R4)
        assert [i.expression for i in found.issues] == [f"Bundle.entry[{index}].resource.code"]
