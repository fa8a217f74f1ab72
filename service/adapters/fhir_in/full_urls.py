"""References to a Bundle's entries by their full URL (``urn:uuid:…`` or absolute) rewritten to ``Type/id``,
once :func:`service.adapters.fhir_in.bundles.plan_bundle` and the caller have settled the ids, so stored
references resolve (FHIR R4 bundle.html#references).

Walking every resource is the costly part, and most senders reference by Type/id: the walk is made only
when some full URL really is a reference's value, found by C code in orjson's compact serialisation of the
entries as posted (``PlannedEntries.posted_text``, issue 19).
"""

from __future__ import annotations

import operator
import re
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from service.adapters.fhir_in.bundles import PlannedEntry

_REFERENCE_VALUE = re.compile(rb'"reference":"([^"]*)"')
_FULL_URL = operator.attrgetter("full_url")
_FIRST_CHARACTERS = operator.itemgetter(slice(4))  # of a full URL: its scheme, mostly (urn:, http)


def rewrite_references(planned: list[PlannedEntry]) -> None:
    """Every reference to an entry's full URL becomes its ``Type/id``.

    A planned resource is its posted one with another ``id``: every reference it holds is in the posted
    text, which may name more (an entry that failed, the body around the entries): those change no value,
    as no planned reference holds them. When no reference's value even starts as a full URL does (its first
    characters, as ``urn:`` or ``http``; one C search each for one or two), none is one, and no value need
    be read out."""
    starts = set(map(_FIRST_CHARACTERS, filter(None, map(_FULL_URL, planned))))
    if not starts:
        return
    text = getattr(planned, "posted_text", None) or orjson.dumps([p.resource for p in planned])
    if len(starts) <= 2 and not any(_starts_a_reference(start, text) for start in starts):
        return
    targets = {url: ref for p in planned if (url := p.full_url) and url != (ref := p.reference)}
    targets = _referenced_targets(targets, text) if targets else targets
    if targets:
        for p in planned:
            p.resource = _rewrite(p.resource, targets)


def _starts_a_reference(start: str, text: bytes) -> bool:
    """Whether some ``reference`` value in ``text`` (compact JSON) may start with ``start``: JSON escapes
    each character alone, so a value's escaped start is the start of its escaped text."""
    return b'"reference":"' + orjson.dumps(start)[1:-1] in text


def _referenced_targets(targets: dict[str, str], text: bytes) -> dict[str, str]:
    """The targets whose full URL is the value of some ``reference`` in ``text`` (compact JSON)."""
    values = _reference_values(text)
    if values is None:  # a reference holds an escaped quote: look for each URL anywhere, as before
        return {url: ref for url, ref in targets.items() if orjson.dumps(url) in text}
    # each value read back as the text it escapes (orjson's escaping is one to one): a Bundle names fewer
    # distinct references than it has entries, so this looks up each once rather than escaping every URL
    texts = (orjson.loads(b'"' + value + b'"') if b"\\" in value else value.decode() for value in values)
    return {url: targets[url] for url in texts if url in targets}


def _reference_values(text: bytes) -> set[bytes] | None:
    """Every string value of a ``reference`` key, JSON-escaped, found in orjson's output (which writes no
    spaces); None when one holds an escaped quote, where the pattern cannot tell where it ends."""
    values = set(_REFERENCE_VALUE.findall(text))
    return None if any(value.endswith(b"\\") for value in values) else values


def _rewrite(node: Any, targets: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {
            k: (targets.get(v, v) if k == "reference" and isinstance(v, str) else _rewrite(v, targets))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_rewrite(v, targets) for v in node]
    return node
