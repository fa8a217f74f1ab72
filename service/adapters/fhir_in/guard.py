"""The one guard on inbound JSON (issue 20): every body is parsed here, and its shape is checked before
anything walks it.

orjson parses up to 1024 levels, but the service's walkers (reference rewriting, hashing, validation) are
recursive, and orjson only serialises 255 levels: nesting is refused here at ``MAX_DEPTH``, far beyond any
real FHIR resource (the shared corpus reaches 11) and far below every recursion limit after it. Duplicate
keys, which orjson silently resolves to the last value (RFC 8259 section 4 leaves it to the parser; FHIR
json.html forbids them), are refused too, so what is stored is what was sent.

Both checks start from orjson's own serialisation of the parsed value, a fraction of a walk in Python, and
one compact serialisation decides both (issue 19). orjson serialises at most 255 levels, objects and arrays
counted alike (probed at import): inside ``_WRAPS`` arrays a value serialises only if it nests at most
``MAX_DEPTH`` levels, and the text inside those brackets is its own compact serialisation. Else the indented
one decides: it writes the elements of a container at level n on lines indented 2n spaces, no string holds
a raw newline, so with no line indented ``2 * MAX_DEPTH`` spaces no container at level ``MAX_DEPTH`` holds
anything. Compact, the text holds each object's keys once: a body equal to it once JSON's whitespace is
deleted has the same tokens, so the same keys, none repeated (the deletion never moves a string's bounds: a
backslash is never followed by whitespace). When a shortcut does not decide, the level-by-level walk (never
recursive) and the key count over the raw bytes do, as before.

Both refusals name the element with a FHIRPath-like path, found by a token scan of the raw bytes (which
needs no parse and no recursion); the cheap checks decide whether that slower scan is needed at all.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any

import orjson

from service.errors import BadRequest

MAX_DEPTH = 64  # objects and arrays, the root included

_STRING = rb'"[^"\\]*(?:\\.[^"\\]*)*"'  # a JSON string, its escapes unrolled (no backtracking)
_KEY_END = re.compile(rb'"[ \t\r\n]*:')  # the end of every key, and of a string value holding '":'
_TOKEN = re.compile(rb"(" + _STRING + rb")([ \t\r\n]*:)?|[\[\]{},]")
_ROOT = re.compile(rb'"resourceType"[ \t\r\n]*:[ \t\r\n]*"([A-Za-z]{1,64})"')
_WHITESPACE = b" \t\r\n"  # JSON's four; never inside an escape, so deleting them keeps every token's bounds
_TOO_DEEP_LINE = b"\n" + b" " * (2 * MAX_DEPTH)  # an element of a container at level MAX_DEPTH, indented


def _compact(data: Any) -> bytes | None:
    try:
        return orjson.dumps(data)
    except orjson.JSONEncodeError:
        return None


def _serialised_levels() -> int:
    """The most levels orjson serialises (255 in orjson 3), probed with arrays and with objects; 0 (no
    shortcut) when the two differ or no limit shows below 1024 levels."""
    limits = set()
    for wrap in (lambda v: [v]), (lambda v: {"k": v}):
        value: Any = []
        levels = 1
        while levels < 1024 and _compact(value) is not None:
            value, levels = wrap(value), levels + 1
        limits.add(levels - 1 if levels < 1024 else 0)
    return limits.pop() if len(limits) == 1 else 0


class _Wraps(threading.local):
    """``_WRAPS`` nested arrays, built once per thread: a value is put in the innermost (``hole``) for one
    serialisation and taken out again (cheaper than building the arrays for each body)."""

    def __init__(self) -> None:
        self.hole: list[Any] = []
        self.outer = self.hole
        for _ in range(_WRAPS - 1):
            self.outer = [self.outer]


_WRAPS = _serialised_levels() - MAX_DEPTH  # arrays around a value that leave it MAX_DEPTH levels to serialise
_wraps = _Wraps()


class ParsedJson:
    """A body parsed once (issue 19): the access guard reads ``value`` as orjson gave it, the route reads
    ``checked()``, which refuses what :func:`parse_json` refuses."""

    __slots__ = ("_error", "compact", "raw", "value")

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self.value: Any = None  # also for a body that is not JSON
        self._error: orjson.JSONDecodeError | None = None
        self.compact: bytes | None = None  # orjson's compact serialisation of ``value``, once checked
        try:
            self.value = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            self._error = exc

    def checked(self) -> Any:
        """The value; BadRequest when it is not JSON, nests deeper than ``MAX_DEPTH`` or repeats a key."""
        if self._error is not None:
            text = str(self._error)
            if "depth" in text or "recursion" in text.lower():
                _refuse_depth(self.raw)
            raise BadRequest(f"The body is not valid JSON: {text}")
        self.compact = _check_shape(self.raw, self.value)
        return self.value


def parse_json(raw: bytes) -> Any:
    """The parsed body; BadRequest when it is not JSON, nests deeper than ``MAX_DEPTH`` or repeats a key."""
    return ParsedJson(raw).checked()


def _check_shape(raw: bytes, data: Any) -> bytes | None:
    """The depth first, then the keys, as before the shortcuts (a refusal names the first problem found).
    Returns orjson's compact serialisation of ``data`` when it was made (None when orjson cannot)."""
    keys = None
    compact = _compact_within_depth(data)
    if compact is None and _may_nest_too_deep(data):
        depth, keys = _shape(data)
        if depth > MAX_DEPTH:
            _refuse_depth(raw)
    if compact is None:
        compact = _compact(data)
    if compact is not None and (raw == compact or _same_tokens(raw, compact)):
        return compact
    if keys is None:
        keys = _shape(data)[1]
    if len(_KEY_END.findall(raw)) != keys:  # more key ends than keys: a repeated key, or '":' in a string
        _refuse_duplicate(raw)
    return compact


def _compact_within_depth(data: Any) -> bytes | None:
    """orjson's compact serialisation of ``data`` if it surely nests at most MAX_DEPTH levels, else None."""
    hole = _wraps.hole
    if _WRAPS <= 0 or hole:  # no shortcut, or one under way in this thread (re-entered): the fallback decides
        return None
    hole.append(data)
    try:
        wrapped = orjson.dumps(_wraps.outer)
    except orjson.JSONEncodeError:  # deeper than MAX_DEPTH, or a value orjson does not serialise
        return None
    finally:
        hole.clear()
    return wrapped[_WRAPS:-_WRAPS]


def _may_nest_too_deep(data: Any) -> bool:
    """False when ``data`` surely nests at most ``MAX_DEPTH`` levels (see the module's docstring)."""
    try:
        indented = orjson.dumps(data, option=orjson.OPT_INDENT_2)
    except orjson.JSONEncodeError:  # deeper than orjson serialises, or a value it does not
        return True
    return _TOO_DEEP_LINE in indented


def _same_tokens(raw: bytes, compact: bytes) -> bool:
    """True when ``raw`` surely repeats no key: it is ``data`` serialised (``compact``), up to whitespace."""
    return raw.translate(None, _WHITESPACE) == compact.translate(None, _WHITESPACE)


def _shape(data: Any) -> tuple[int, int]:
    """How deep ``data`` nests (stopping past ``MAX_DEPTH``) and how many object keys it holds."""
    level, depth, keys = [data], 0, 0
    while level and depth <= MAX_DEPTH:
        depth += 1
        below: list[Any] = []
        for node in level:
            if type(node) is dict:
                keys += len(node)
                below.extend([v for v in node.values() if type(v) is dict or type(v) is list])
            elif type(node) is list:
                below.extend([v for v in node if type(v) is dict or type(v) is list])
        level = below
    return depth, keys


@dataclass(slots=True)
class _Container:
    """An open object or array in the token scan: its current key or index, and the keys it has seen."""

    is_object: bool
    label: str | int | None = None
    keys: set[str] = field(default_factory=set)


class _Scan:
    """A token scan of the raw bytes that keeps the path to where it is (no parse, no recursion)."""

    def __init__(self, raw: bytes) -> None:
        root = _ROOT.search(raw)
        self.raw, self.root = raw, root.group(1).decode() if root else "$"
        self.stack: list[_Container] = []

    def path(self, below: int | None = None) -> str:
        parts = [self.root]
        for container in self.stack[:below]:
            if isinstance(container.label, int):
                parts.append(f"[{container.label}]")
            elif container.label is not None:
                parts.append(f".{container.label}")
        return "".join(parts)

    def first_problem(self) -> tuple[str, str] | None:
        """(path, what is wrong) of the first element nested too deep or key repeated, else None."""
        for token in _TOKEN.finditer(self.raw):
            text = token.group(0)
            if token.group(2):  # a key
                problem = self._key(orjson.loads(token.group(1)))
            elif text in (b"{", b"["):
                problem = self._open(text == b"{")
            else:
                self._close_or_next(text)
                continue
            if problem:
                return problem
        return None

    def _open(self, is_object: bool) -> tuple[str, str] | None:
        self.stack.append(_Container(is_object, None if is_object else 0))
        if len(self.stack) > MAX_DEPTH:
            return self.path(-1), f"The JSON nests deeper than {MAX_DEPTH} levels"
        return None

    def _key(self, key: str) -> tuple[str, str] | None:
        top = self.stack[-1]
        if key in top.keys:
            return f"{self.path(-1)}.{key}", f"The JSON repeats the key '{key}' in one object"
        top.keys.add(key)
        top.label = key
        return None

    def _close_or_next(self, text: bytes) -> None:
        if text in (b"}", b"]") and self.stack:
            self.stack.pop()
        elif text == b"," and self.stack and not self.stack[-1].is_object:
            label = self.stack[-1].label
            self.stack[-1].label = label + 1 if isinstance(label, int) else 0


def _refuse_depth(raw: bytes) -> None:
    found = _Scan(raw).first_problem()
    path, text = found or ("$", f"The JSON nests deeper than {MAX_DEPTH} levels")
    raise BadRequest(text, expression=path)


def _refuse_duplicate(raw: bytes) -> None:
    found = _Scan(raw).first_problem()
    if found is not None:  # None: a string value held '":', so the count over-counted keys
        raise BadRequest(found[1], expression=found[0])
