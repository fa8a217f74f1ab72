"""K16's confirmation search stops past its window (issue 19): on seeded random series it finds the same
latest (previous, rising, confirming) triple as the plain search over every later sample."""

# ruff: noqa: N802  # test names carry the rule IDs of CLINICAL-RULES.md (test_K16_...)

from __future__ import annotations

import random
from decimal import Decimal
from itertools import pairwise

from service.domain.facts import MarkerResult
from service.domain.markers import CeaThresholds
from service.domain.neuroendocrine import _confirmed_rise, _risen
from tests.unit.domain.fact_builders import CEA
from tests.unit.domain.test_neuroendocrine import ne


def _every_later_sample(
    series: list[MarkerResult], thresholds: CeaThresholds
) -> tuple[MarkerResult, MarkerResult, MarkerResult] | None:
    triples = [
        (previous, now, confirming)
        for index, (previous, now) in enumerate(pairwise(series), start=1)
        if _risen(previous, now, thresholds)
        for confirming in series[index + 1 :]
        if thresholds.confirm_min_days <= (confirming.observed_on - now.observed_on).days
        and (confirming.observed_on - now.observed_on).days <= thresholds.confirm_max_days
        and _risen(previous, confirming, thresholds)
    ]
    return triples[-1] if triples else None


def test_K16_windowed_search_finds_the_plain_search_triple() -> None:
    rng = random.Random(16)  # noqa: S311  # seeded test data, not security
    found = 0
    for _ in range(3000):
        on, series = 0, []
        for _ in range(rng.randint(0, 14)):
            on += rng.choice((0, 1, 7, 13, 14, 20, 30, 42, 43, 60))
            uln = rng.choice(("16.3", None, "16.3"))
            series.append(ne("nse", str(Decimal(rng.randint(5, 60))), on, uln=uln))
        expected = _every_later_sample(series, CEA)
        found += expected is not None
        assert _confirmed_rise(series, CEA) == expected
    assert found > 100  # the random series do contain confirmed rises
