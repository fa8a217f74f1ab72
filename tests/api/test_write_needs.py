"""The SMART needs of a posted Bundle (``interactions.write_needs``): reading the common entry (a resource
with its type, a plain method) without building its URL's type gives what the full reading gives."""

from __future__ import annotations

import random
from typing import Any

from service.api.interactions import write_needs

_METHODS = {"POST": "c", "PUT": "u", "PATCH": "u", "DELETE": "d"}


def _reference(bundle: dict[str, Any] | None) -> list[tuple[str, str]]:
    """The full reading of every entry (the code before the shortcut)."""
    found = (bundle or {}).get("entry")
    entries = [e for e in found if isinstance(e, dict)] if isinstance(found, list) else []
    needs = {("Bundle", "c")} if not entries else set()
    for entry in entries:
        request = entry.get("request") if isinstance(entry.get("request"), dict) else {}
        resource = entry.get("resource") if isinstance(entry.get("resource"), dict) else {}
        method = str(request.get("method", "POST")).upper()
        url_type = str(request.get("url", "")).split("/")[0].split("?")[0]
        needs.add((str(resource.get("resourceType") or url_type), _METHODS.get(method, "c")))
    return sorted(needs)


_VALUES: dict[str, list[Any]] = {
    "method": ["POST", "PUT", "post", "Put", "PATCH", "delete", "GET", "", None, 1, ["PUT"], "PUT "],
    "url": ["Observation", "Patient/p1", "Observation?identifier=a|b", "", None, 7, "/x", "?a=b"],
    "resourceType": ["Observation", "Patient", "", None, 0, 3, ["Patient"], {"a": 1}, False],
}


def _entry(rng: random.Random) -> Any:
    if rng.random() < 0.05:
        return rng.choice([None, "entry", 3, []])
    entry: dict[str, Any] = {}
    if rng.random() < 0.9:
        request = {k: rng.choice(_VALUES[k]) for k in ("method", "url") if rng.random() < 0.85}
        entry["request"] = request if rng.random() < 0.95 else rng.choice(["POST", None, [request]])
    if rng.random() < 0.9:
        resource = {"resourceType": rng.choice(_VALUES["resourceType"])} if rng.random() < 0.9 else {}
        entry["resource"] = resource if rng.random() < 0.95 else rng.choice(["Patient", None, 5])
    return entry


def test_write_needs_agree_with_the_full_reading() -> None:
    """Over many Bundles of odd entries: methods in any case or of any JSON type, missing or odd types
    and URLs, entries that are no object, no entries at all."""
    rng = random.Random(17)  # noqa: S311  # seeded test data, not security
    for _ in range(3000):
        entries = [_entry(rng) for _ in range(rng.randrange(0, 6))]
        bundle: dict[str, Any] | None = rng.choice([{"entry": entries}, {"entry": entries}, {}, None])
        assert write_needs(bundle) == _reference(bundle), bundle
