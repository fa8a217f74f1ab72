"""The per-lesion table of the report page and ``presentedForm`` (issue 18): one row per target lesion (its
label, site and role), its size in mm at every scan of the line, and its change from the baseline; the sum of
diameters under them; then each non-target and new lesion with what the reader saw at each scan. The
baseline and nadir scans are marked in the header (S6: the nadir is the smallest sum so far, the baseline
included). Every text is escaped; site names come from the ``site.<SNOMED CT code>`` texts, else the sender's
site text, else the code."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from service.adapters.fhir_out.chart_layout import mm_text
from service.adapters.fhir_out.markup import escape
from service.adapters.fhir_out.result_context import ResultContext
from service.adapters.fhir_out.wording import date_writer, percent
from service.domain.assessment import SumPoint
from service.domain.model import Lesion

NOT_MEASURED = "\u2013"  # an en dash: the lesion has no size on that scan (S7)
AS_POSTED = ' translate="no"'  # the sender's lesion names and site texts: data, never translated (Z2)
CELL_BREAK = '</td><td class="mm">'  # between two cells of sizes


def lesion_table_html(ctx: ResultContext) -> str:
    """The table, or nothing when the assessment holds no per-lesion sizes (no target disease)."""
    a = ctx.assessment
    points = [p for p in a.sums if p.sizes]
    if not a.targets or not points:
        return ""
    sizes = [dict(point.sizes) for point in points]  # by lesion, once per scan rather than per row
    rows = [_lesion_row(ctx, lesion, sizes) for lesion in a.targets]
    rows.append(_sum_row(ctx, points))
    if a.non_targets or a.new_lesions:
        seen = [dict(point.statuses) for point in points]
        rows += [_status_row(ctx, lesion, "non-target", seen) for lesion in a.non_targets]
        rows += [_status_row(ctx, lesion, "new", seen) for lesion in a.new_lesions]
    caption = escape(ctx.text("label.lesion-table"))
    return (
        f'<h2>{caption}</h2><table class="lesions"><thead>{_header(ctx, points)}</thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _header(ctx: ResultContext, points: Sequence[SumPoint]) -> str:
    labels = ("label.lesion", "label.site", "label.role")
    cells = [f"<th>{escape(ctx.text(label))}</th>" for label in labels]
    nadir = ctx.assessment.time_point.sums.nadir_date if ctx.assessment.time_point.sums else None
    date = date_writer(ctx)
    for index, point in enumerate(points):
        marks = [ctx.text("label.baseline")] if index == 0 else []
        marks += [ctx.text("label.nadir")] if point.date == nadir else []
        mark = f"<br><small>{escape(' · '.join(marks))}</small>" if marks else ""
        cells.append(f'<th class="mm">{date(point.date)}{mark}</th>')  # a date: nothing to escape
    cells.append(f'<th class="mm">{escape(ctx.text("label.change-column"))}</th>')
    return f"<tr>{''.join(cells)}</tr>"


def _lesion_row(ctx: ResultContext, lesion: Lesion, sizes: Sequence[dict[str, Decimal]]) -> str:
    role = ctx.text("label.target-node" if lesion.is_nodal else "label.target")
    site, site_posted = site_name(ctx, lesion)
    cells = [(_label(lesion.lesion_id), True), (site, site_posted), (role, False)]
    head = "".join(f"<td{AS_POSTED if posted else ''}>{escape(text)}</td>" for text, posted in cells)
    return f"<tr>{head}{_numbers(ctx, [by_lesion.get(lesion.lesion_id) for by_lesion in sizes])}</tr>"


def _status_row(ctx: ResultContext, lesion: Lesion, role: str, seen: Sequence[dict[str, str]]) -> str:
    """A non-target or new lesion: what the reader saw at each scan (N1-N4, L1-L5), no size and no change."""
    site, site_posted = site_name(ctx, lesion)
    cells = [(_label(lesion.lesion_id), True), (site, site_posted), (ctx.display("lesion-role", role), False)]
    head = "".join(f"<td{AS_POSTED if posted else ''}>{escape(text)}</td>" for text, posted in cells)
    statuses = [by_lesion.get(lesion.lesion_id) for by_lesion in seen]
    shown = {s: escape(ctx.display("lesion-status", s)) for s in set(statuses) if s}  # once per status
    cells_html = "".join(f'<td class="status">{shown[s] if s else NOT_MEASURED}</td>' for s in statuses)
    return f'<tr class="{role}">{head}{cells_html}<td class="status">{NOT_MEASURED}</td></tr>'


def _sum_row(ctx: ResultContext, points: Sequence[SumPoint]) -> str:
    label = ctx.display("observation-type", "sum-of-diameters")
    sums = [point.sum_mm for point in points]
    return f'<tr class="sum"><th colspan="3">{escape(label)}</th>{_numbers(ctx, sums)}</tr>'


def _numbers(ctx: ResultContext, values: Sequence[Decimal | None]) -> str:
    """One cell per scan, then the change of the last scan from the baseline (when both were measured).
    Sizes, the dash and the percentage are digits and signs: nothing to escape."""
    cells = [NOT_MEASURED if value is None else mm_text(value) for value in values]
    first, last = values[0], values[-1]
    change = percent(ctx, (last - first) / first * 100) if first and last is not None else NOT_MEASURED
    cells.append(change)
    return f'<td class="mm">{CELL_BREAK.join(cells)}</td>'  # one join, not a string per cell


def site_name(ctx: ResultContext, lesion: Lesion) -> tuple[str, bool]:
    """The site in words: the ``site.<code>`` text of its first known SNOMED CT code, else (shown as posted)
    the site text the sender gave, else the code itself."""
    for _system, code in lesion.site_codes:
        try:
            return ctx.text(f"site.{code}"), False
        except KeyError:
            continue
    return lesion.site_text or lesion.organ, True


def _label(lesion_id: str) -> str:
    """The lesion as the sender named it: the value of its identifier (``system|value``), or its id."""
    return lesion_id.rsplit("|", 1)[-1]
