"""Layout arithmetic for the report's SVG charts: axis ticks at round values, the width a label takes, and
rows for labels that would otherwise overlap (issue 18: "labels that never overlap"); and how a value is
written on a chart and in the lesion table."""

from __future__ import annotations

import unicodedata
from decimal import Decimal
from functools import lru_cache
from typing import NamedTuple

_STEPS = (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10))
TICKS_WANTED = 5
GAP = 4.0  # px between two labels on one row
TENTH = Decimal("0.1")


class Box(NamedTuple):
    """The horizontal extent of a label, in px (a tuple: a long chart makes hundreds)."""

    left: float
    right: float


def nice_ticks(top: Decimal) -> list[Decimal]:
    """0 and round steps (1, 2, 2.5, 5 x 10^n) up to the first tick at or above ``top``; about five."""
    if top <= 0:
        return [Decimal(0), Decimal(1)]
    raw = top / TICKS_WANTED
    power = Decimal(10) ** raw.adjusted()
    step = next(power * s for s in _STEPS if power * s >= raw)
    ticks = [Decimal(0)]
    while ticks[-1] < top:
        ticks.append(ticks[-1] + step)
    return ticks


@lru_cache(maxsize=4096)
def text_width(text: str, font_size: float) -> float:
    """A generous estimate of a label's width: a full em for wide (CJK) characters, 0.62 em for others.
    Cached: a chart asks for the same dates and values again and again."""
    return sum(font_size if unicodedata.east_asian_width(c) in "WF" else font_size * 0.62 for c in text)


def rows_without_overlap(boxes: list[Box]) -> list[int]:
    """For labels in left-to-right order, the lowest row where each does not touch a label already there.
    Each row keeps where its next label may start (its last label's right end plus the gap), worked out
    once when the label is placed rather than at every later comparison: a long chart has dozens of rows."""
    starts: list[float] = []
    rows = []
    for box in boxes:
        left = box.left
        for row, start in enumerate(starts):
            if left >= start:
                starts[row] = box.right + GAP
                break
        else:
            row = len(starts)
            starts.append(box.right + GAP)
        rows.append(row)
    return rows


def mm_text(value: Decimal) -> str:
    """A value as written on a chart: at most one decimal, no trailing zeros. Remembered (issue 19): the
    chart and the lesion table write the same sums and sizes, and a patient's are written again at every
    evaluation. Keyed with the sign, since -0 equals 0 but is written "-0"; equal values of one sign round
    alike (the default context throughout)."""
    key = (value, value.is_signed())
    try:
        found = _MM_TEXTS.get(key)
    except TypeError:  # a signalling NaN cannot be hashed: as it is
        return _mm_text(value)
    if found is None:
        found = _mm_text(value)
        if len(_MM_TEXTS) >= _MM_TEXTS_LIMIT:
            _MM_TEXTS.clear()
        _MM_TEXTS[key] = found
    return found


_MM_TEXTS: dict[tuple[Decimal, bool], str] = {}
_MM_TEXTS_LIMIT = 8192


def _mm_text(value: Decimal) -> str:
    text = f"{value.quantize(TENTH):f}"  # one decimal exactly (NaN: none)
    return text[:-2] if text.endswith(".0") else text
