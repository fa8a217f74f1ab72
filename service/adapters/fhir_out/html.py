"""The self-contained HTML rendering of a report (FHIR-CONTRACT.md section 4, ``presentedForm``): the
summary, the flags, mechanisms and suggestions, and inline SVG charts. No external resource is loaded and
every text is escaped."""

from __future__ import annotations

import base64
from html import escape
from typing import Any

from service.adapters.fhir_out.chart import Series, line_chart, sum_references
from service.adapters.fhir_out.result_context import ResultContext
from service.adapters.fhir_out.summary import summary_lines
from service.domain.assessment import MarkerPoint

_STYLE = "body{font-family:sans-serif;max-width:46em;margin:1em auto}li{margin:.2em 0}svg{display:block}"


def presented_form(ctx: ResultContext) -> dict[str, Any]:
    """The HTML as a FHIR Attachment: ``text/html``, base64 ``data``, language and title."""
    document = report_html(ctx).encode("utf-8")
    return {
        "contentType": "text/html",
        "language": ctx.language,
        "data": base64.b64encode(document).decode("ascii"),
        "title": ctx.text("report.title"),
    }


def report_html(ctx: ResultContext) -> str:
    title = escape(ctx.text("report.title"))
    body = [
        f"<h1>{title}</h1>",
        f"<p><em>{escape(ctx.text('report.disclaimer'))}</em></p>",
        _facts(ctx),
        _list(summary_lines(ctx)),
        _suggestions(ctx),
        *_charts(ctx),
        _versions(ctx),
    ]
    return (
        f'<!DOCTYPE html><html lang="{escape(ctx.language)}"><head><meta charset="utf-8">'
        f"<title>{title}</title><style>{_STYLE}</style></head><body>{''.join(body)}</body></html>"
    )


def _facts(ctx: ResultContext) -> str:
    a = ctx.assessment
    rows = [
        (ctx.text("label.date"), a.time_point.date.isoformat()),
        (ctx.text("label.criteria"), ctx.display("response-criteria", a.criteria.value)),
    ]
    cells = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    return f"<table>{cells}</table>"


def _list(items: list[str]) -> str:
    return "<ul>" + "".join(f"<li>{escape(item)}</li>" for item in items) + "</ul>"


def _suggestions(ctx: ResultContext) -> str:
    items = []
    for action in ctx.assessment.suggestions:
        drugs = f" ({', '.join(action.drugs)})" if action.drugs else ""
        note = f": {action.note}" if action.note else ""
        rules = " ".join(r.value for r in action.rules)
        text = f"{ctx.display('care-suggestion', action.code.value)}{drugs}{note} [{rules}]"
        items.append(f"<li>{escape(text)}</li>")
    if not items:
        return ""
    return f"<h2>{escape(ctx.text('label.suggestions'))}</h2><ol>{''.join(items)}</ol>"


def _charts(ctx: ResultContext) -> list[str]:
    charts = [_sum_chart(ctx)]
    for label, points in (("label.cea", ctx.assessment.cea), ("label.ctdna", ctx.assessment.ctdna)):
        if points:
            charts.append(line_chart(ctx.text(label), [_marker_series(ctx.text(label), points)]))
    return [chart for chart in charts if chart]


def _sum_chart(ctx: ResultContext) -> str:
    a = ctx.assessment
    points = tuple((p.date, p.sum_mm) for p in a.sums if p.sum_mm is not None)
    if not points:
        return ""
    label = ctx.text("label.sum-of-diameters")
    baseline = points[0][1]
    nadir = a.time_point.sums.nadir_mm if a.time_point.sums else min(v for _, v in points)
    labels = {
        key: ctx.text(f"label.{code}")
        for key, code in (
            ("baseline", "baseline"),
            ("nadir", "nadir"),
            ("pd", "pd-threshold"),
            ("pr", "pr-threshold"),
        )
    }
    series = Series(label, points, "#222")
    return line_chart(label, [series], sum_references(labels, baseline, nadir))


def _marker_series(label: str, points: tuple[MarkerPoint, ...]) -> Series:
    return Series(label, tuple((p.date, p.value) for p in points), "#a50")


def _versions(ctx: ResultContext) -> str:
    a = ctx.assessment
    text = (
        f"{ctx.text('label.knowledge-base')} {a.knowledge_base_version} · "
        f"{ctx.text('label.service-version')} {ctx.service_version}"
    )
    return f"<p><small>{escape(text)}</small></p>"
