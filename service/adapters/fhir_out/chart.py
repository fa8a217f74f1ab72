"""Inline SVG charts for the HTML report (FHIR-CONTRACT.md section 4, ``presentedForm``): the sum of diameters
over time against the baseline, the nadir, +20 % over the nadir (RECIST PD, T4) and -30 % under the baseline
(PR, T2); and the CEA and ctDNA series where present. Every text is escaped."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape

WIDTH, HEIGHT, MARGIN = 780, 260, 48
# Room right of the plot for the reference lines' labels ("+20 % over nadir (PD)" and the like).
LABELS = 170
PLOT_RIGHT = WIDTH - LABELS
PD_FACTOR, PR_FACTOR = Decimal("1.2"), Decimal("0.7")


@dataclass(frozen=True, slots=True)
class Series:
    label: str
    points: tuple[tuple[dt.date, Decimal], ...]
    colour: str


@dataclass(frozen=True, slots=True)
class Reference:
    label: str
    value: Decimal
    colour: str


@dataclass(frozen=True, slots=True)
class Frame:
    """Maps dates and values onto the drawing area."""

    first: dt.date
    last: dt.date
    top: Decimal

    def x(self, day: dt.date) -> float:
        span = max((self.last - self.first).days, 1)
        return MARGIN + (PLOT_RIGHT - MARGIN) * (day - self.first).days / span

    def y(self, value: Decimal) -> float:
        top = self.top if self.top > 0 else Decimal(1)
        return HEIGHT - MARGIN - float((HEIGHT - 2 * MARGIN) * value / top)


def sum_references(labels: dict[str, str], baseline: Decimal, nadir: Decimal) -> list[Reference]:
    """Baseline, nadir, +20 % over the nadir and -30 % under the baseline."""
    return [
        Reference(labels["baseline"], baseline, "#555"),
        Reference(labels["nadir"], nadir, "#2a7"),
        Reference(labels["pd"], nadir * PD_FACTOR, "#c33"),
        Reference(labels["pr"], baseline * PR_FACTOR, "#37c"),
    ]


def line_chart(
    title: str,
    series: Sequence[Series],
    references: Sequence[Reference] = (),
    date_label: Callable[[dt.date], str] = dt.date.isoformat,
) -> str:
    """One SVG: the series as lines with dots and values, the references as dashed horizontal lines; the
    first and last dates on the time axis, written by ``date_label`` (``2025年3月20日`` in zh-CN, Z3)."""
    dates = [day for s in series for day, _ in s.points]
    if not dates:
        return ""
    values = [v for s in series for _, v in s.points] + [r.value for r in references]
    frame = Frame(min(dates), max(dates), max(values) * Decimal("1.1"))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        _axes(frame, date_label),
        *(_reference(frame, r, label_y) for r, label_y in _label_positions(frame, references)),
        *(_series(frame, s) for s in series),
        "</svg>",
    ]
    return "".join(parts)


def _axes(frame: Frame, date_label: Callable[[dt.date], str]) -> str:
    bottom, right = HEIGHT - MARGIN, PLOT_RIGHT
    ticks = "".join(
        f'<text x="{frame.x(day):.1f}" y="{bottom + 16}" font-size="10" text-anchor="middle">'
        f"{escape(date_label(day))}</text>"
        for day in sorted({frame.first, frame.last})
    )
    return (
        f'<line x1="{MARGIN}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#000"/>'
        f'<line x1="{MARGIN}" y1="{MARGIN}" x2="{MARGIN}" y2="{bottom}" stroke="#000"/>{ticks}'
    )


LABEL_GAP = 11  # px between reference labels, so close lines (nadir and -30 %) keep readable labels


def _label_positions(frame: Frame, references: Sequence[Reference]) -> list[tuple[Reference, float]]:
    """Each label at its line, pushed down just enough not to overlap the one above it."""
    placed: list[tuple[Reference, float]] = []
    for reference in sorted(references, key=lambda r: frame.y(r.value)):
        y = frame.y(reference.value) + 3
        if placed and y < placed[-1][1] + LABEL_GAP:
            y = placed[-1][1] + LABEL_GAP
        placed.append((reference, y))
    return placed


def _reference(frame: Frame, reference: Reference, label_y: float) -> str:
    y = frame.y(reference.value)
    return (
        f'<line x1="{MARGIN}" y1="{y:.1f}" x2="{PLOT_RIGHT}" y2="{y:.1f}" stroke="{reference.colour}" '
        f'stroke-dasharray="4 3"/><text x="{PLOT_RIGHT + 4}" y="{label_y:.1f}" font-size="9" '
        f'fill="{reference.colour}">{escape(reference.label)}</text>'
    )


def _series(frame: Frame, series: Series) -> str:
    coordinates = [(frame.x(day), frame.y(value), value) for day, value in series.points]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in coordinates)
    dots = "".join(
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{series.colour}"/>'
        f'<text x="{x:.1f}" y="{y - 6:.1f}" font-size="9" text-anchor="middle">{escape(str(value))}</text>'
        for x, y, value in coordinates
    )
    label = f'<text x="{MARGIN + 4}" y="{MARGIN - 8}" font-size="11" fill="{series.colour}">'
    return (
        f'<polyline points="{path}" fill="none" stroke="{series.colour}" stroke-width="2"/>'
        f"{dots}{label}{escape(series.label)}</text>"
    )
