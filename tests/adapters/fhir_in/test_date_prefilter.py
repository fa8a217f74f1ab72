"""The date prefilter's shortcut (issue 19): a Bundle whose every date-named value is of a form that is
surely a real date is passed by one regex search, in C; its decision is the one the value-by-value check
gave before, on seeded random documents full of near-dates, near-names and escapes."""

from __future__ import annotations

import random
from typing import Any

import orjson
import pytest

from service.adapters.fhir_in.dates import (
    _UNSURE_PAIR,
    _date_values,
    _has_escaped_date,
    is_date,
    may_hold_bad_date,
)

_NAMES = [
    *("date", "start", "end", "started", "issued", "authoredOn", "recorded", "lastUpdated", "created"),
    *("timestamp", "dateAsserted", "whenHandedOver", "whenPrepared", "birthDate", "effectiveDateTime"),
    *("occurrenceDateTime", "xInstant", "recordedDate"),
]
_NEAR_NAMES = ["Date", "dateX", "update", "_birthDate", "aDate1", "starts", "tend", "a-Date", "é", 'x"date']
_PIECES = ['"', "\\", "\n", "\x01", "a", "é", "٢"]


def _before(value: Any) -> bool:
    """The prefilter's decision before the shortcut: each distinct unescaped value checked by is_date."""
    text = orjson.dumps(value)
    found = _date_values(text)
    return any(not is_date(v.decode()) for v in found) or (b"\\" in text and _has_escaped_date(text))


def _shortcut_taken(value: Any) -> bool:
    return _UNSURE_PAIR.search(orjson.dumps(value)[::-1]) is None


def _date_like(rng: random.Random) -> str:
    """A date, dateTime or instant: mostly real (then of any form), else nearly (wrong days, hours, zones,
    digits, lengths, a stray character)."""
    real = rng.random() < 0.9
    pick = (lambda good, bad: rng.choice(good)) if real else (lambda good, bad: rng.choice(good + bad))
    year = pick(["2026", "2024", "1900", "2000", "0001", "9999"], ["0000", "٢٠٢٦", "202"])
    month = pick(["01", "02", "04", "06", "07", "08", "09", "10", "11", "12"], ["00", "13", "1"])
    day = pick(["01", "09", "10", "19", "20", "28", "15"], ["29", "30", "31", "00", "32", "3", "2a"])
    clock = pick(["00", "09", "19", "20", "23"], ["24", "30"]) + ":" + pick(["00", "05", "59"], ["60"])
    seconds = ":" + pick(["00", "07", "59", "60"], ["61", "5"])
    fraction = pick([".123", ".123456", ".1", ".1234567"], ["."])
    zone = pick(["Z", "+01:00", "-13:59"], ["-13:99", "+0100", "z", "+1:00"])
    parts = [year, "-" + month, "-" + day, "T" + clock, seconds, fraction, zone]
    keep = rng.choice([1, 2, 3, 3, 3, 4, 5, 5, 5, 6, 7])
    chosen = parts[:keep]
    if keep >= 4 and rng.random() < 0.5:
        chosen.append(zone)  # a zone without seconds
    text = "".join(chosen)
    if not real and rng.random() < 0.2:
        spot = rng.randint(0, len(text))
        text = text[:spot] + rng.choice(_PIECES) + text[spot:]
    return text


def _value(rng: random.Random, depth: int) -> Any:
    roll = rng.random()
    if depth < 3 and roll < 0.3:
        return _document(rng, depth + 1)
    if depth < 3 and roll < 0.4:
        return [_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if roll < 0.9:
        return _date_like(rng)
    return rng.choice(["", "x", 5, None, "2026-01-05", rng.choice(_PIECES)])


def _document(rng: random.Random, depth: int = 0) -> dict[str, Any]:
    keys = [rng.choice(_NAMES if rng.random() < 0.7 else _NEAR_NAMES) for _ in range(rng.randint(1, 4))]
    return {key: _value(rng, depth) for key in keys}


def test_the_decision_is_the_one_each_value_checked_gave() -> None:
    """Seeded documents with real dates, impossible ones and near-misses of each part of a date: the same
    decision as before, and the shortcut (which alone could be wrong) decides a good share of them."""
    rng = random.Random(21)  # noqa: S311  # a seeded test sequence, not a secret
    decided = {True: 0, False: 0}
    shortcut = 0
    for _ in range(6000):
        document = [_document(rng) for _ in range(rng.randint(1, 3))]
        expected = _before(document)
        assert may_hold_bad_date(document) is expected, document
        decided[expected] += 1
        shortcut += _shortcut_taken(document)
    assert decided[True] > 1500 and decided[False] > 1500 and shortcut > 500


@pytest.mark.parametrize(
    "value",
    [
        *("2026-01-05", "2026-04-30", "2026-12-31", "2026-03-29", "2026-02-28", "0001-01-01"),
        *("2026-01-05T08:00:00Z", "2026-01-05T23:59:60+01:00", "2026-01-05T08:00:00.123Z"),
        *("2026-01-05T08:00:00.123456-05:00", "2026-01-05T08:00:00", "2026-01-05T08:00Z", "2026-01-05T08:00"),
    ],
)
def test_the_common_forms_of_a_real_date_take_the_shortcut(value: str) -> None:
    document = [{"resource": {"effectiveDateTime": value, "period": {"start": value}}}]
    assert _shortcut_taken(document) and not may_hold_bad_date(document)


@pytest.mark.parametrize(
    ("value", "bad"),
    [
        *(("2024-02-29", False), ("2026", False), ("2026-01", False), ("2026-01-05T08:00:00.1Z", False)),
        *(("2026-02-29", True), ("2026-04-31", True), ("0000-01-01", True), ("2026-02-30", True)),
        *(("2026-01-05T24:00Z", True), ("2026-01-05T08:00:61Z", True), ("", True), ("x", True)),
    ],
)
def test_other_values_are_checked_one_by_one(value: str, bad: bool) -> None:
    """29 February, a year or month alone, other fractions: no shortcut, each checked as before."""
    document = [{"resource": {"recordedDate": value}}]
    assert not _shortcut_taken(document) and may_hold_bad_date(document) is bad
