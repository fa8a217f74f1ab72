"""References to entries' full URLs become Type/id (issue 19: the walk is made only when some reference's
value is a full URL, which a search for the URLs' first characters often rules out in one C pass)."""

from __future__ import annotations

import random
from typing import Any

import msgspec

from service.adapters.fhir_in.bundles import PlannedEntry, plan_bundle
from service.adapters.fhir_in.full_urls import _rewrite, rewrite_references
from service.errors import BadRequest

_STARTS = ["urn:uuid:", "urn:oid:1.", "http://x/fhir/", "https://y/", "Patient/", 'urn:"q"', "é:", "\u2028"]
_TYPES = ["Patient", "Observation", "Condition"]


def _url(rng: random.Random) -> str:
    return rng.choice(_STARTS) + rng.choice(["a", "b", "Patient/p", "c\\d", "1"])


def _entry(rng: random.Random, urls: list[str]) -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": rng.choice(_TYPES), "id": rng.choice(["p", "q", "o1"])}
    for key in rng.sample(["subject", "focus", "note"], rng.randint(0, 3)):
        value = rng.choice([*urls, _url(rng), "Patient/p", "Observation/o1", 'x"'])
        resource[key] = {rng.choice(["reference", "reference", "display"]): value}
    entry: dict[str, Any] = {"resource": resource}
    if urls and rng.random() < 0.9:
        entry["fullUrl"] = rng.choice(urls)
    return entry


def _walked(planned: list[PlannedEntry]) -> list[Any]:
    """Every resource walked with every full URL that is not already its entry's Type/id: the oracle."""
    targets = {url: ref for p in planned if (url := p.full_url) and url != (ref := p.reference)}
    return [_rewrite(p.resource, targets) for p in planned]


def test_rewriting_agrees_with_walking_every_resource_with_every_full_url() -> None:
    """Seeded random Bundles with full URLs of one, two or more schemes (quotes, backslashes, non-ASCII,
    line separators), referenced or not: the rewritten resources are those the plain walk gives."""
    rng = random.Random(31)  # noqa: S311  # a seeded test sequence, not a secret
    rewritten = unchanged = 0
    for _ in range(3000):
        urls = [_url(rng) for _ in range(rng.randint(0, 4))]
        if rng.random() < 0.5:  # one scheme, as most senders use
            urls = [_STARTS[0] + url for url in urls]
        entries = [_entry(rng, urls) for _ in range(rng.randint(0, 6))]
        try:
            planned, _ = plan_bundle({"resourceType": "Bundle", "entry": entries}, False, hashed=False)
        except BadRequest:  # bdl-7: a shared fullUrl refuses the Bundle
            continue
        expected = _walked(planned)
        copies = [msgspec.structs.replace(p) for p in planned]
        rewrite_references(planned)
        assert [p.resource for p in planned] == expected, entries
        changed = [p.resource for p in planned] != [c.resource for c in copies]
        rewritten, unchanged = rewritten + changed, unchanged + (not changed and bool(planned))
    assert rewritten > 150 and unchanged > 700
