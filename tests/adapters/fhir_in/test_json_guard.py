"""The inbound JSON guard's shortcuts (issue 19): orjson's own serialisation decides most bodies without a
walk in Python, and each shortcut's edge gives exactly what the walk gives (issue 20's refusals, with the
same message and path). ``_walked`` is the guard as it was before the shortcuts, the reference."""

from __future__ import annotations

import json
import random
from typing import Any

import orjson
import pytest

from service.adapters.fhir_in import guard
from service.adapters.fhir_in.guard import MAX_DEPTH, ParsedJson, parse_json
from service.errors import BadRequest


def _walked(raw: bytes) -> Any:
    """The reference: every body walked level by level, its key ends counted over the raw bytes."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if "depth" in str(exc) or "recursion" in str(exc).lower():
            guard._refuse_depth(raw)
        raise BadRequest(f"The body is not valid JSON: {exc}") from None
    depth, keys = guard._shape(data)
    if depth > MAX_DEPTH:
        guard._refuse_depth(raw)
    if len(guard._KEY_END.findall(raw)) != keys:
        guard._refuse_duplicate(raw)
    return data


def _outcome(read: Any, raw: bytes) -> tuple[Any, ...]:
    try:
        return ("read", read(raw))
    except BadRequest as exc:
        return ("refused", [(i.diagnostics, i.expression) for i in exc.issues])


def _nested(levels: int, innermost: str, kind: str) -> bytes:
    """``levels`` containers in all, the innermost one written as ``innermost``."""
    opening, closing = ('{"a":', "}") if kind == "object" else ("[", "]")
    return (opening * (levels - 1) + innermost + closing * (levels - 1)).encode()


@pytest.mark.parametrize("kind", ["object", "array"])
@pytest.mark.parametrize("innermost", ["{}", "[]", '{"b":1}', "[1]"])
def test_the_depth_limit_is_exact(kind: str, innermost: str) -> None:
    """MAX_DEPTH levels pass and one more is refused, whatever the innermost container (an empty one shows in
    the indented serialisation only as its container's line)."""
    assert parse_json(_nested(MAX_DEPTH, innermost, kind)) is not None
    refused = _outcome(parse_json, _nested(MAX_DEPTH + 1, innermost, kind))
    assert refused[0] == "refused" and str(MAX_DEPTH) in refused[1][0][0]
    assert refused == _outcome(_walked, _nested(MAX_DEPTH + 1, innermost, kind))


@pytest.mark.parametrize("levels", [254, 255, 300, 1000])
def test_nesting_orjson_cannot_serialise_is_refused_by_the_walk(levels: int) -> None:
    """Past orjson's own serialisation limit the shortcut cannot decide; the walk refuses it."""
    raw = _nested(levels, "1", "object")
    assert _outcome(parse_json, raw) == _outcome(_walked, raw)
    assert _outcome(parse_json, raw)[0] == "refused"


@pytest.mark.parametrize(
    "text",
    [
        "\n" + " " * (2 * MAX_DEPTH + 2) + "x",  # a newline and an indentation, inside a string
        "[" * 100 + "{" * 100,  # brackets in a string: no nesting
        "]" * 100 + "}" * 100,
        '": "',  # a key end inside a string
        '":',
        ": leading colon",
        "a\\",
        '"',
        "",
    ],
)
def test_strings_that_look_like_structure_are_read(text: str) -> None:
    """A string holding brackets, newlines, indentation or '":' is data: read, as the walk reads it."""
    for raw in (
        orjson.dumps({"resourceType": "Basic", "text": text, "list": [text, {"k": text}]}),
        orjson.dumps({"resourceType": "Basic", text: 1, "n": {text: [text]}}),
        json.dumps({"resourceType": "Basic", "text": text}, indent=1).encode(),
    ):
        assert _outcome(parse_json, raw) == ("read", orjson.loads(raw))


@pytest.mark.parametrize(
    ("raw", "path", "key"),
    [
        (b'{"resourceType":"Bundle","type":"batch","type":"transaction"}', "Bundle.type", "type"),
        (
            b'{\n  "resourceType" : "Bundle",\n  "type" :"batch",\n\t"type"\r\n:\n"x"\n}',
            "Bundle.type",
            "type",
        ),
        (b'{"resourceType":"Basic","a":1,"\\u0061":2}', "Basic.a", "a"),  # the same key, escaped
        (b'{"resourceType":"Basic","a b":1,"a b":2}', "Basic.a b", "a b"),
        (b'{"resourceType":"Basic","x":[{"k":1},{"k":1,"k":1}]}', "Basic.x[1].k", "k"),
    ],
)
def test_repeated_keys_are_refused_however_written(raw: bytes, path: str, key: str) -> None:
    """Whitespace around the colon, an escaped spelling or spaces in the key: still a repeated key."""
    refused = _outcome(parse_json, raw)
    assert refused == ("refused", [(f"The JSON repeats the key '{key}' in one object", path)])
    assert refused == _outcome(_walked, raw)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"resourceType":"Basic","a b":1,"ab":2}',  # alike once whitespace is deleted, still two keys
        b'{"resourceType":"Basic","ab":{"a b":1},"a  b":[]}',
        b'{ "resourceType" : "Basic" , "a" : [ 1 , { "b" : null } ] }',
        b'{"resourceType":"Basic","\\u00e9":"\\/","n":1E2}',  # escapes and numbers orjson writes otherwise
        b'{"resourceType":"Basic","v":"a\\": \\"b","w":": x"}',
    ],
)
def test_bodies_without_a_repeated_key_are_read(raw: bytes) -> None:
    assert _outcome(parse_json, raw) == ("read", orjson.loads(raw))


def test_a_body_that_is_not_json_keeps_its_message() -> None:
    refused = _outcome(parse_json, b'{"resourceType": "Basic",}')
    assert refused == _outcome(_walked, b'{"resourceType": "Basic",}')
    assert refused[1][0][0].startswith("The body is not valid JSON: ")


def test_the_unchecked_value_is_what_orjson_read() -> None:
    """The access guard reads the parse before the route checks it: a repeated key is its last value there,
    and a body that is not JSON has no value."""
    repeated = ParsedJson(b'{"type":"batch","type":"transaction"}')
    assert repeated.value == {"type": "transaction"}
    with pytest.raises(BadRequest):
        repeated.checked()
    assert ParsedJson(b"{not json").value is None


_KEYS = ["a", "b", "a b", "ab", 'a"', "a\\", ":", "a:", " a", "\u00e9", "[", "}", 'x":y']
_TEXTS = ["", " ", 'a": "b', '":', "[[[", "]]}", "\n" + " " * 130, "\\", '"', "\u00e9", ": x", "\t"]


def _value(rng: random.Random, depth: int) -> Any:
    roll = rng.random()
    if depth > 0 and roll < 0.35:
        return ("object", [(rng.choice(_KEYS), _value(rng, depth - 1)) for _ in range(rng.randint(0, 4))])
    if depth > 0 and roll < 0.6:
        return ("array", [_value(rng, depth - 1) for _ in range(rng.randint(0, 4))])
    return ("leaf", rng.choice([1, 2.5, True, None, *_TEXTS]))


def _text(rng: random.Random, value: Any) -> str:
    """``value`` written as JSON with random whitespace, escapes, and keys possibly repeated."""
    space = rng.choice(["", "", "", " ", "\n  ", "\t", "\r\n"])
    kind, body = value
    if kind == "leaf":
        return _string(rng, body) if isinstance(body, str) else json.dumps(body)
    if kind == "array":
        return "[" + space + ("," + space).join(_text(rng, v) for v in body) + space + "]"
    members = (_string(rng, k) + space + ":" + space + _text(rng, v) for k, v in body)
    return "{" + space + ("," + space).join(members) + space + "}"


def _string(rng: random.Random, text: str) -> str:
    if rng.random() < 0.2:
        return (
            '"'
            + "".join(f"\\u{ord(c):04x}" if rng.random() < 0.5 else json.dumps(c)[1:-1] for c in text)
            + '"'
        )
    return json.dumps(text, ensure_ascii=rng.random() < 0.5)


def _deep(rng: random.Random) -> str:
    levels = rng.choice([MAX_DEPTH - 2, MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1, MAX_DEPTH + 2, 254, 256])
    kinds = [rng.random() < 0.5 for _ in range(levels)]
    opening = "".join(f"{{{json.dumps(rng.choice(_KEYS))}:" if is_object else "[" for is_object in kinds)
    closing = "".join("}" if is_object else "]" for is_object in reversed(kinds))
    return opening + _text(rng, _value(rng, 2)) + closing


def test_the_guard_decides_as_the_walk_on_random_bodies() -> None:
    """Seeded random bodies, a quarter of them near the depth limit, many with repeated keys: the same value
    or the same refusal (message and path) as the walk, for every one."""
    rng = random.Random(19)  # noqa: S311  # a fixed sequence of test bodies, not a secret
    outcomes = set()
    for _ in range(3000):
        text = _deep(rng) if rng.random() < 0.25 else _text(rng, _value(rng, rng.randint(0, 6)))
        raw = text.encode()
        expected = _outcome(_walked, raw)
        assert _outcome(parse_json, raw) == expected, raw
        outcomes.add(expected[0] if expected[0] == "read" else expected[1][0][0][:20])
    assert outcomes == {"read", "The JSON nests deepe", "The JSON repeats the"}


def test_one_compact_serialisation_decides_the_depth_exactly() -> None:
    """Inside the wrapping arrays a value serialises exactly when the walk finds it at most MAX_DEPTH levels
    deep, objects and arrays mixed, and the text inside them is the value's own compact serialisation."""
    rng = random.Random(64)  # noqa: S311  # a fixed sequence of test values, not a secret
    decided = set()
    for _ in range(1500):
        value = orjson.loads(_deep(rng) if rng.random() < 0.8 else _text(rng, _value(rng, 6)))
        compact = guard._compact_within_depth(value)
        assert (compact is not None) == (guard._shape(value)[0] <= MAX_DEPTH)
        assert compact is None or compact == orjson.dumps(value)
        decided.add(compact is not None)
    assert decided == {True, False}


def test_the_checked_body_keeps_its_compact_serialisation() -> None:
    """The route reads the check's compact text (issue 19), whitespace in the body or not."""
    for raw in (b'{"resourceType":"Basic","a":[1,{"b":"c"}]}', b'{ "resourceType" : "Basic", "a" : [ 1 ] }'):
        parsed = ParsedJson(raw)
        parsed.checked()
        assert parsed.compact == orjson.dumps(orjson.loads(raw))


def test_a_shortcut_under_way_leaves_a_reentrant_check_to_the_fallback() -> None:
    """The wrapping arrays are the thread's own: a check begun while they hold a value (re-entered during a
    serialisation) does not use them, and still decides as the walk does."""
    guard._wraps.hole.append([[1]])
    try:
        assert guard._compact_within_depth({"a": 1}) is None
        assert _outcome(parse_json, _nested(MAX_DEPTH + 1, "[1]", "array"))[0] == "refused"
        assert _outcome(parse_json, b'{"resourceType":"Basic","a":1}') == (
            "read",
            {"resourceType": "Basic", "a": 1},
        )
    finally:
        guard._wraps.hole.clear()
    assert guard._compact_within_depth({"a": 1}) == b'{"a":1}'
