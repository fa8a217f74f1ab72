"""Neuroendocrine markers NSE and ProGRP (CLINICAL-RULES.md 0.2 K16)."""

# ruff: noqa: N802  # test names carry the rule IDs of CLINICAL-RULES.md (test_K16_...), as issue 5 asks

from __future__ import annotations

from decimal import Decimal

import pytest

from service.domain.facts import MarkerResult
from service.domain.neuroendocrine import assess_neuroendocrine
from service.domain.rules import Flag, Rule
from tests.unit.domain.fact_builders import CEA, PATIENT, cea, day


def ne(marker: str, value: str, on: int, *, uln: str | None = "16.3") -> MarkerResult:
    limit = Decimal(uln) if uln is not None else None
    return MarkerResult(
        PATIENT, f"Observation/{marker}-{on}", marker, Decimal(value), "ng/mL", limit, day(on), None
    )


def test_K16_nse_rise_confirmed() -> None:
    """K16 (T40): NSE > ULN and >= 1.30 x the previous value, confirmed by a second rising sample 14-42 days
    later, is NE_MARKER_RISING."""
    result = assess_neuroendocrine([ne("nse", "12", 100), ne("nse", "22", 200), ne("nse", "30", 221)], CEA)
    assert result.flags == (Flag.NE_MARKER_RISING,) and result.rules == (Rule.K16,)
    assert result.rising == ("nse",)
    assert result.evidence == ("Observation/nse-100", "Observation/nse-200", "Observation/nse-221")


def test_K16_progrp_rise_confirmed() -> None:
    """K16: ProGRP follows the same rule, with its own lab limit."""
    values = [
        ne("progrp", "50", 100, uln="77"),
        ne("progrp", "90", 200, uln="77"),
        ne("progrp", "95", 230, uln="77"),
    ]
    assert assess_neuroendocrine(values, CEA).rising == ("progrp",)


@pytest.mark.parametrize(
    "points",
    [
        [("12", 100), ("22", 200)],
        [("12", 100), ("22", 200), ("30", 210)],
        [("12", 100), ("22", 200), ("30", 250)],
        [("12", 100), ("22", 200), ("15", 221)],
        [("14", 100), ("16", 200), ("21", 221)],
        [("10", 100), ("15", 200), ("16", 221)],
    ],
)
def test_K16_unconfirmed_or_small_rise_is_not_rising(points: list[tuple[str, int]]) -> None:
    """K16: one rising sample, a confirmation outside 14-42 days or below the rule, +30 % under the ULN, or a
    rise under 30 % raise nothing."""
    results = [ne("nse", value, on) for value, on in points]
    assert assess_neuroendocrine(results, CEA).flags == ()


def test_K16_needs_the_labs_upper_limit() -> None:
    """K16: the ULN is referenceRange.high only; without it the value is not judged (no default)."""
    results = [ne("nse", "12", 100, uln=None), ne("nse", "22", 200, uln=None), ne("nse", "30", 221, uln=None)]
    assert assess_neuroendocrine(results, CEA).flags == ()


def test_K16_ignores_cea() -> None:
    """K16 is about NSE and ProGRP only: a rising CEA is K2's."""
    assert assess_neuroendocrine([cea("4", 100), cea("9", 200), cea("10", 221)], CEA).rising == ()
