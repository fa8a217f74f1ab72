"""The self-contained HTML rendering of a report (FHIR-CONTRACT.md section 4, ``presentedForm``): the
summary, the flags, mechanisms and suggestions, and inline SVG charts. No external resource is loaded and
every text is escaped."""

from __future__ import annotations

import base64
from html import escape
from typing import Any

from service.adapters.fhir_out.chart import Series, line_chart, sum_references
from service.adapters.fhir_out.patient_banner import PatientBanner
from service.adapters.fhir_out.result_context import ResultContext
from service.adapters.fhir_out.summary import summary_lines
from service.adapters.fhir_out.therapy_context import therapy_lines_html
from service.adapters.fhir_out.wording import chinese, date, note, parenthesised, suggestion
from service.domain.assessment import MarkerPoint
from service.domain.suggestions import SuggestedAction

_STYLE = "body{font-family:sans-serif;max-width:46em;margin:1em auto}li{margin:.2em 0}svg{display:block}"


def presented_form(ctx: ResultContext, patient: PatientBanner | None = None) -> dict[str, Any]:
    """The HTML as a FHIR Attachment: ``text/html``, base64 ``data``, language and title."""
    document = report_html(ctx, patient).encode("utf-8")
    return {
        "contentType": "text/html",
        "language": ctx.language,
        "data": base64.b64encode(document).decode("ascii"),
        "title": ctx.text("report.title"),
    }


def report_html(ctx: ResultContext, patient: PatientBanner | None = None) -> str:
    """The report as one HTML document; ``patient`` adds the identification (page, presentedForm)."""
    title = escape(ctx.text("report.title"))
    body = [
        f"<h1>{title}</h1>",
        _patient(ctx, patient),
        f"<p><em>{escape(ctx.text('report.disclaimer'))}</em></p>",
        _facts(ctx),
        therapy_lines_html(ctx),
        _list(summary_lines(ctx)),
        _suggestions(ctx),
        *_charts(ctx),
        _versions(ctx),
    ]
    return (
        f'<!DOCTYPE html><html lang="{escape(ctx.language)}"><head><meta charset="utf-8">'
        f"<title>{title}</title><style>{_STYLE}</style></head><body>{''.join(body)}</body></html>"
    )


def _patient(ctx: ResultContext, patient: PatientBanner | None) -> str:
    if patient is None:
        return ""
    keys = {"name": "patient-name", "identifier": "patient-identifier", "birth-date": "birth-date"}
    labels = {key: ctx.text(f"label.{code}") for key, code in {**keys, "gender": "gender"}.items()}
    return patient.html(labels, ctx.assessment.patient)


def _facts(ctx: ResultContext) -> str:
    a = ctx.assessment
    rows = [
        (ctx.text("label.date"), date(ctx, a.time_point.date)),
        (ctx.text("label.criteria"), ctx.display("response-criteria", a.criteria.value)),
    ]
    cells = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    return f"<table>{cells}</table>"


def _list(items: list[str]) -> str:
    return "<ul>" + "".join(f"<li>{escape(item)}</li>" for item in items) + "</ul>"


def _suggestions(ctx: ResultContext) -> str:
    items = [f"<li>{escape(_suggestion_item(ctx, action))}</li>" for action in ctx.assessment.suggestions]
    if not items:
        return ""
    return f"<h2>{escape(ctx.text('label.suggestions'))}</h2><ol>{''.join(items)}</ol>"


def _suggestion_item(ctx: ResultContext, action: SuggestedAction) -> str:
    """English "text (drugs): note [X1 A4]"; zh-CN the text and its note as sentences, then the rules
    labelled in parentheses, all full-width (Z1)."""
    remark = note(ctx, action)
    if not chinese(ctx):
        return f"{suggestion(ctx, action)}{f': {remark}' if remark else ''} [{' '.join(action.rules)}]"
    colon, end = ctx.text("format.colon"), ctx.text("format.sentence-end")
    remark = f"{end}{remark.removesuffix(end)}{end}" if remark else ""
    rules = ctx.text("format.list-separator").join(action.rules)
    return f"{suggestion(ctx, action)}{remark}{parenthesised(ctx, ctx.text('label.rules') + colon + rules)}"


def _charts(ctx: ResultContext) -> list[str]:
    charts = [_sum_chart(ctx)]
    for label, points in (("label.cea", ctx.assessment.cea), ("label.ctdna", ctx.assessment.ctdna)):
        if points:
            series = [_marker_series(ctx.text(label), points)]
            charts.append(line_chart(ctx.text(label), series, date_label=lambda day: date(ctx, day)))
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
    references = sum_references(labels, baseline, nadir)
    return line_chart(label, [series], references, date_label=lambda day: date(ctx, day))


def _marker_series(label: str, points: tuple[MarkerPoint, ...]) -> Series:
    return Series(label, tuple((p.date, p.value) for p in points), "#a50")


def _versions(ctx: ResultContext) -> str:
    a = ctx.assessment
    versions = (
        ("label.knowledge-base", a.knowledge_base_version),
        ("label.service-version", ctx.service_version),
    )
    if chinese(ctx):
        colon = ctx.text("format.colon")
        pairs = (f"{ctx.text(label)}{colon}{value}" for label, value in versions)
        text = ctx.text("format.clause-separator").join(pairs)
    else:
        text = " · ".join(f"{ctx.text(label)} {value}" for label, value in versions)
    return f"<p><small>{escape(text)}</small></p>"
