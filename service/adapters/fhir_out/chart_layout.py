"""Layout arithmetic for the report's SVG charts: axis ticks at round values, the width a label takes, and
rows for labels that would otherwise overlap (issue 18: "labels that never overlap")."""

from __future__ import annotations

import unicodedata
from decimal import Decimal
from functools import lru_cache
from typing import NamedTuple

_STEPS = (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10))
TICKS_WANTED = 5
GAP = 4.0  # px between two labels on one row


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
