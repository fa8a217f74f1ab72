"""Inline SVG charts for the HTML report (FHIR-CONTRACT.md section 4, ``presentedForm``; issue 18): the sum
of diameters over time against the baseline, the nadir, the PD threshold (+20 % and at least +5 mm over the
nadir, T4) and the PR threshold (-30 % under the baseline, T2); the CEA series over its reference band; ctDNA.

Every scan date is written on the time axis, the y axis has ticks, every reference line is labelled with
its value, and no two texts overlap: date labels that would collide go to a second (third...) row, reference
labels are pushed apart, and a value label that would hit its neighbour goes under its dot. Every text is
escaped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from operator import itemgetter

from service.adapters.fhir_out.chart_layout import Box, mm_text, nice_ticks, rows_without_overlap, text_width
from service.adapters.fhir_out.markup import escape

WIDTH, HEIGHT, MARGIN, TOP = 780, 300, 52, 30
LABELS = 190  # room right of the plot for the reference lines' labels
PLOT_RIGHT = WIDTH - LABELS
INSET = 24  # the first and last dates sit this far inside the plot, so their labels stay in it
PD_FACTOR, PD_MIN_MM, PR_FACTOR = Decimal("1.2"), Decimal(5), Decimal("0.7")
HEADROOM = Decimal("1.1")  # the y axis reaches 10 % over the highest value
FONT = 10
ROW = 17  # px between rows of date labels (a 10 px CJK label is about 15 px tall)
LABEL_GAP = 14  # px between reference labels (a 9 px label is up to 13 px tall in Noto)


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
    band: bool = False  # a shaded band from 0 to the value (a reference range), not a line


@dataclass(frozen=True, slots=True)
class Frame:
    """Maps dates and values onto the drawing area."""

    first: dt.date
    last: dt.date
    top: Decimal
    bottom: int

    def xs(self, days: Sequence[dt.date]) -> dict[dt.date, float]:
        """The x of each day (the span worked out once for them all)."""
        span, first = max((self.last - self.first).days, 1), self.first
        width = PLOT_RIGHT - MARGIN - 2 * INSET
        return {day: MARGIN + INSET + width * (day - first).days / span for day in days}

    def y(self, value: Decimal) -> float:
        return value_y(value, self.top, self.bottom)


def value_y(value: Decimal, top: Decimal, bottom: int) -> float:
    """The y of a value on a plot from ``bottom`` (0) up to ``TOP`` (``top``)."""
    return bottom - float((bottom - TOP) * value / (top if top > 0 else Decimal(1)))


def pd_threshold(nadir: Decimal) -> Decimal:
    """T4: +20 % over the nadir and an absolute increase of at least 5 mm."""
    return max(nadir * PD_FACTOR, nadir + PD_MIN_MM)


def sum_references(
    labels: dict[str, str], baseline: Decimal, nadir: Decimal, joiner: str = " "
) -> list[Reference]:
    """Baseline, nadir, the PD threshold over the nadir and -30 % under the baseline, each with its mm
    (``joiner`` between label and value: none in zh-CN, Z1)."""
    values = (
        ("baseline", baseline, "#555"),
        ("nadir", nadir, "#2a7"),
        ("pd", pd_threshold(nadir), "#c33"),
        ("pr", baseline * PR_FACTOR, "#37c"),
    )
    return [
        Reference(f"{labels[key]}{joiner}{mm_text(value)} mm", value, colour) for key, value, colour in values
    ]


def line_chart(
    title: str,
    series: Sequence[Series],
    references: Sequence[Reference] = (),
    date_label: Callable[[dt.date], str] = dt.date.isoformat,
) -> str:
    """One SVG: the series as lines with dots and values, the references as dashed lines or bands. Each
    date's position and label are worked out once, for the layout, the axis and the series alike."""
    days = tuple(sorted({day for s in series for day, _ in s.points}))
    if not days:
        return ""
    values = [v for s in series for _, v in s.points] + [r.value for r in references]
    ticks = nice_ticks(max(values) * HEADROOM)
    xs, bottom, time_axis = _time_axis(days, date_label)
    frame = Frame(days[0], days[-1], ticks[-1], bottom)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        *(_band(frame, r) for r in references if r.band),
        _axes(bottom, tuple(ticks)),
        time_axis,
        *(_reference(r, y, label_y) for r, y, label_y in _label_positions(frame, references)),
        *(_series(frame, xs, s) for s in series),
        "</svg>",
    ]
    return "".join(parts)


@lru_cache(maxsize=64)
def _time_axis(
    days: tuple[dt.date, ...], date_label: Callable[[dt.date], str]
) -> tuple[dict[dt.date, float], int, str]:
    """Each day's x (read only, never changed), the plot's bottom above the rows of date labels, and the time
    axis's ticks and labels. Cached: they depend on the days and the date writer only, and a report's charts
    often share their days (markers drawn on scan days), as do its renderings in R4 and R5."""
    xs = Frame(days[0], days[-1], Decimal(1), HEIGHT - MARGIN).xs(days)  # x depends on the days only
    labels = [date_label(day) for day in days]
    rows = rows_without_overlap(_date_boxes(list(xs.values()), labels))
    bottom = HEIGHT - MARGIN - ROW * (max(rows) if rows else 0)
    return xs, bottom, _date_labels(bottom, list(xs.values()), rows, labels)


def _date_boxes(xs: Sequence[float], labels: Sequence[str]) -> list[Box]:
    """Each date label's extent, centred on its date."""
    return [
        Box(x - width / 2, x + width / 2)
        for x, width in zip(xs, [text_width(label, FONT) for label in labels], strict=True)
    ]


@lru_cache(maxsize=256)
def _axes(bottom: int, ticks: tuple[Decimal, ...]) -> str:
    """The axes and the y ticks (the last is the plot's top). Cached: they depend on the plot's bottom and
    ticks only, and charts share a few scales (ticks are 0 and sums of a positive step, so no negative
    zero to tell apart from 0)."""
    lines = [
        f'<line x1="{MARGIN}" y1="{bottom}" x2="{PLOT_RIGHT}" y2="{bottom}" stroke="#000"/>',
        f'<line x1="{MARGIN}" y1="{TOP}" x2="{MARGIN}" y2="{bottom}" stroke="#000"/>',
    ]
    for tick in ticks:
        y = value_y(tick, ticks[-1], bottom)
        lines.append(
            f'<line x1="{MARGIN - 4}" y1="{y:.1f}" x2="{MARGIN}" y2="{y:.1f}" stroke="#000"/>'
            f'<text class="tick" x="{MARGIN - 6}" y="{y + 3:.1f}" font-size="{FONT}" text-anchor="end">'
            f"{mm_text(tick)}</text>"
        )
    return "".join(lines)


def _date_labels(bottom: int, xs: Sequence[float], rows: Sequence[int], labels: Sequence[str]) -> str:
    """Each date's tick on the time axis and its label on its row (one pass: a long chart has hundreds)."""
    tick = f'" y1="{bottom}" x2="'
    tick_end = f'" y2="{bottom + 4}" stroke="#000"/><text class="date" x="'
    first_row = bottom + 18  # clear of the y axis's "0" at the corner
    return "".join(
        [
            f'<line x1="{at}{tick}{at}{tick_end}{at}" y="{first_row + ROW * row}" font-size="{FONT}" '
            f'text-anchor="middle">{escape(label)}</text>'
            for at, row, label in zip([f"{x:.1f}" for x in xs], rows, labels, strict=True)
        ]
    )


def _label_positions(frame: Frame, references: Sequence[Reference]) -> list[tuple[Reference, float, float]]:
    """Each reference with the y of its line and of its label: the label at its line, pushed down just
    enough not to overlap the one above it."""
    placed: list[tuple[Reference, float, float]] = []
    for y, reference in sorted(((frame.y(r.value), r) for r in references), key=itemgetter(0)):
        label_y = y + 3
        if placed and label_y < placed[-1][2] + LABEL_GAP:
            label_y = placed[-1][2] + LABEL_GAP
        placed.append((reference, y, label_y))
    return placed


def _reference(reference: Reference, y: float, label_y: float) -> str:
    dash = "2 2" if reference.band else "4 3"
    return (
        f'<line x1="{MARGIN}" y1="{y:.1f}" x2="{PLOT_RIGHT}" y2="{y:.1f}" stroke="{reference.colour}" '
        f'stroke-dasharray="{dash}"/><text class="reference" x="{PLOT_RIGHT + 6}" y="{label_y:.1f}" '
        f'font-size="{FONT - 1}" fill="{reference.colour}">{escape(reference.label)}</text>'
    )


def _band(frame: Frame, reference: Reference) -> str:
    y = frame.y(reference.value)
    height = frame.bottom - y
    return (
        f'<rect x="{MARGIN}" y="{y:.1f}" width="{PLOT_RIGHT - MARGIN}" height="{height:.1f}" '
        f'fill="{reference.colour}" fill-opacity="0.12"/>'
    )


def _series(frame: Frame, xs: dict[dt.date, float], series: Series) -> str:
    """The line, then each dot with its value, in one pass over the points (each coordinate formatted once,
    for the line and the dot; y as ``value_y`` works it out)."""
    bottom, top = frame.bottom, frame.top if frame.top > 0 else Decimal(1)
    height, colour = bottom - TOP, series.colour
    path, dots, last_right = [], [], float("-inf")
    for day, value in series.points:
        x = xs[day]
        y = bottom - float(height * value / top)
        at_x, at_y = f"{x:.1f}", f"{y:.1f}"
        path.append(f"{at_x},{at_y}")
        text = mm_text(value)  # digits, a point and a sign: nothing to escape
        width = text_width(text, FONT - 1)
        below = x - width / 2 < last_right + 2  # would touch the previous value label: write it under
        last_right = last_right if below else x + width / 2
        dots.append(
            f'<circle cx="{at_x}" cy="{at_y}" r="3" fill="{colour}"/><text class="value" '
            f'x="{at_x}" y="{y + 14 if below else y - 6:.1f}" font-size="{FONT - 1}" text-anchor="middle">'
            f"{text}</text>"
        )
    label = f'<text class="series" x="{MARGIN + 4}" y="{TOP - 12}" font-size="11" fill="{colour}">'
    return (
        f'<polyline points="{" ".join(path)}" fill="none" stroke="{colour}" stroke-width="2"/>'
        f"{''.join(dots)}{label}{escape(series.label)}</text>"
    )
