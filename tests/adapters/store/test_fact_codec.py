"""Facts round-trip through JSON exactly: Decimals stay exact, dates and enums come back typed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum

import orjson
import pytest

from service.adapters.store.fact_codec import decode, encode


class Side(Enum):
    LEFT = "left"


@dataclass(frozen=True)
class Inner:
    mm: Decimal


@dataclass(frozen=True)
class Sample:
    name: str
    size: Decimal | None
    day: date
    at: datetime
    side: Side
    tags: tuple[str, ...]
    inner: Inner | None
    inners: tuple[Inner, ...]
    count: int | None = None


def test_round_trip_through_json_is_exact() -> None:
    """encode → JSON bytes → decode gives an equal object; 0.1 + 0.2 style errors cannot creep in."""
    fact = Sample("x", Decimal("0.30"), date(2026, 1, 5), datetime(2026, 1, 5, 8, tzinfo=UTC), Side.LEFT,
                  ("a", "b"), Inner(Decimal("12.5")), (Inner(Decimal(3)),))  # fmt: skip
    payload = orjson.loads(orjson.dumps(encode(fact)))
    assert payload["kind"] == "Sample" and payload["size"] == "0.30"
    assert decode(payload, {"Sample": Sample}) == fact


def test_none_values_round_trip() -> None:
    """Optional fields left empty come back as None."""
    fact = Sample("y", None, date(2026, 1, 1), datetime(2026, 1, 1, tzinfo=UTC), Side.LEFT, (), None, ())
    assert decode(encode(fact), {"Sample": Sample}) == fact


def test_an_unknown_enum_value_is_the_enums_own_error() -> None:
    """A stored value that is no member of its enum is refused as the enum refuses it (ValueError)."""
    day = date(2026, 1, 1)
    payload = encode(Sample("z", None, day, datetime(2026, 1, 1, tzinfo=UTC), Side.LEFT, (), None, ()))
    payload["side"] = "right"
    with pytest.raises(ValueError, match="right"):
        decode(payload, {"Sample": Sample})
