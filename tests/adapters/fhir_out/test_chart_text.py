"""How the charts and the lesion table write a value: remembered, yet exactly as worked out each time."""

from __future__ import annotations

from decimal import Decimal

import pytest

from service.adapters.fhir_out import chart_layout
from service.adapters.fhir_out.chart_layout import mm_text

VALUES = ["75", "75.0", "75.00", "75.25", "75.35", "-3.05", "0", "-0", "0.04", "-0.04", "-0.0", "1E+2", "NaN"]


@pytest.mark.parametrize("text", VALUES)
def test_remembered_text_is_the_text_worked_out(text: str) -> None:
    """Each value is written as rounding it to 0.1 writes it, the first time and every later time, whatever
    equal value was written before (``-0`` equals ``0`` but keeps its sign)."""
    for value in [Decimal(t) for t in VALUES] + [Decimal(text)]:
        assert mm_text(value) == chart_layout._mm_text(value)


def test_negative_zero_keeps_its_sign() -> None:
    """0 and -0 are equal Decimals but are written differently, in either order."""
    assert (mm_text(Decimal(0)), mm_text(Decimal("-0")), mm_text(Decimal(0))) == ("0", "-0", "0")


def test_a_signalling_nan_is_not_remembered() -> None:
    """A value that cannot be a key is worked out as it was (quantize refuses it)."""
    with pytest.raises(ArithmeticError):
        mm_text(Decimal("sNaN"))
