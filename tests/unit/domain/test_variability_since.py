"""An assessment asks for the V flags of its latest date only (issue 19): ``assess_variability(..., since=)``
gives exactly the tail of the whole series' flags, the earlier follow-ups still counting for V1's previous
evaluable sum, and two studies on the latest date both stay."""

from __future__ import annotations

import random

from service.domain.model import ImagingTimeline, Measurement
from service.domain.recist import evaluate_recist
from service.domain.variability import assess_variability
from tests.unit.domain.builders import DEFAULTS, mm, seen, target, timeline, tp


def _random_series(rng: random.Random) -> ImagingTimeline:
    lesions = [target("T1", "lung"), target("T2", "liver")]
    days = sorted(rng.sample(range(1, 400), rng.randint(1, 8)))
    days += [days[-1]] if rng.random() < 0.3 else []  # two studies on the latest date
    points = [tp(-7, mm("T1", 40, reader="R1"), mm("T2", 30, reader="R1"))]
    for on in days:
        measured: list[Measurement] = []
        for lesion_id in ("T1", "T2"):
            if rng.random() < 0.1:
                continue  # a missing target: a partial sum, no previous sum for V1
            reader, scanner = rng.choice(("R1", "R2", None)), rng.choice(("S1", "S2"))
            measured.append(mm(lesion_id, rng.randint(0, 60), reader=reader, scanner=scanner))
        points.append(tp(on, *(measured or [seen("T1")])))
    return timeline(lesions, *points)


def test_variability_since_the_latest_date_is_the_tail_of_the_whole_series() -> None:
    rng = random.Random(19)  # noqa: S311  # seeded test data, not security
    flagged = 0
    for _ in range(500):
        series = _random_series(rng)
        recist = evaluate_recist(series, DEFAULTS)
        whole = assess_variability(series, recist, DEFAULTS)
        latest = recist.time_points[-1].date
        tail = assess_variability(series, recist, DEFAULTS, since=latest)
        assert tail == tuple(v for v in whole if v.response.date == latest)
        flagged += any(v.flags for v in tail)
    assert flagged > 50  # the series do raise V flags on their latest date
