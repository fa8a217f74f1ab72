"""The self-contained HTML rendering of a report (FHIR-CONTRACT.md section 4, ``presentedForm``): the
summary, the flags, mechanisms and suggestions, and inline SVG charts. No external resource is loaded and
every text is escaped."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
from typing import Any

from service.adapters.fhir_out.chart import Reference, Series, line_chart, sum_references
from service.adapters.fhir_out.lesion_table import lesion_table_html
from service.adapters.fhir_out.markup import escape
from service.adapters.fhir_out.patient_banner import PatientBanner
from service.adapters.fhir_out.result_context import ResultContext
from service.adapters.fhir_out.rule_legend import rule_ids_html, rule_legend_html
from service.adapters.fhir_out.summary import summary_lines
from service.adapters.fhir_out.therapy_context import therapy_lines_html
from service.adapters.fhir_out.wording import chinese, date, date_writer, note, suggestion
from service.domain.assessment import MarkerPoint
from service.domain.suggestions import SuggestedAction

# A CJK-capable font stack (zh-CN pages), and A4 pages when printed; nothing is loaded from anywhere.
_FONTS = (
    '"Noto Sans","Helvetica Neue",Arial,"Noto Sans CJK SC","Source Han Sans SC","PingFang SC",'
    '"Microsoft YaHei","WenQuanYi Micro Hei",sans-serif'
)
_STYLE = (
    f"body{{font-family:{_FONTS};max-width:50em;margin:1em auto;padding:0 1em}}li{{margin:.2em 0}}"
    "svg{display:block;max-width:100%;height:auto;margin:1.2em 0}table{border-collapse:collapse}"
    "th,td{text-align:left;padding:.15em .6em .15em 0;vertical-align:top}"
    "dl.patient{display:flex;flex-wrap:wrap;gap:.3em 2em;border:1px solid #888;padding:.4em .8em}"
    "dl.patient dt{font-size:.8em;color:#444}dl.patient dd{margin:0;font-weight:bold}"
    "table.lesions th.mm,table.lesions td.mm{text-align:right;padding:.15em 0 .15em .9em}"
    "table.lesions thead th{border-bottom:1px solid #888;vertical-align:bottom}"
    "table.lesions td.status{text-align:right;padding-left:.9em;font-size:.85em}"
    "tr.sum th,tr.sum td{border-top:1px solid #888}abbr[title]{text-decoration:underline dotted}"
    "dl.rules div{display:flex;gap:.8em;margin:.15em 0}dl.rules dt{font-weight:bold;min-width:2.5em}"
    "dl.rules dd{margin:0}"
    "@page{size:A4;margin:15mm}@media print{body{max-width:none;margin:0;padding:0}"
    "svg,table,dl.patient,dl.rules div{break-inside:avoid}}"
)


def presented_form(
    ctx: ResultContext, patient: PatientBanner | None = None, summary: list[str] | None = None
) -> dict[str, Any]:
    """The HTML as a FHIR Attachment: ``text/html``, base64 ``data``, language and title. The stored form
    identifies the patient by identifiers only (the posted ones when ``patient`` is given, else the
    reference): no more personal data than a reader needs to match it to the chart. ``summary``: the
    summary lines when the caller has made them already (the report's conclusion)."""
    banner = (patient or PatientBanner.unknown()).identifiers_only()
    document = report_html(ctx, banner, summary).encode("utf-8")
    return {
        "contentType": "text/html",
        "language": ctx.language,
        "data": base64.b64encode(document).decode("ascii"),
        "title": ctx.text("report.title"),
    }


def report_html(
    ctx: ResultContext, patient: PatientBanner | None = None, summary: list[str] | None = None
) -> str:
    """The report as one HTML document, headed by the patient's identification (``patient``: as posted;
    without it, the patient's reference); ``summary``: the summary lines, if made already."""
    title = escape(ctx.text("report.title"))
    body = [
        f"<h1>{title}</h1>",
        _patient(ctx, patient),
        f"<p><em>{escape(ctx.text('report.disclaimer'))}</em></p>",
        _facts(ctx),
        therapy_lines_html(ctx),
        _list(summary_lines(ctx) if summary is None else summary),
        _suggestions(ctx),
        rule_legend_html(ctx),
        lesion_table_html(ctx),
        *_charts(ctx),
        _versions(ctx),
    ]
    return (
        f'<!DOCTYPE html><html lang="{escape(ctx.language)}"><head><meta charset="utf-8">'
        f"<title>{title}</title><style>{_STYLE}</style></head><body>{''.join(body)}</body></html>"
    )


def _patient(ctx: ResultContext, patient: PatientBanner | None) -> str:
    """The identification banner: the birth date as the language writes dates (Z3), the gender in words."""
    patient = patient or PatientBanner.unknown()
    labels = {key: ctx.text(code) for key, code in _BANNER_LABELS}
    if patient.birth_date is None and patient.gender is None:  # the stored form's banner: as it is
        return patient.html(labels, ctx.assessment.patient)
    shown = dataclasses.replace(
        patient,
        birth_date=_birth_date(ctx, patient.birth_date),
        gender=ctx.translated(f"gender.{patient.gender}") if patient.gender else None,
    )
    return shown.html(labels, ctx.assessment.patient)


_BANNER_LABELS = (
    ("name", "label.patient-name"),
    ("identifier", "label.patient-identifier"),
    ("birth-date", "label.birth-date"),
    ("gender", "label.gender"),
)


def _birth_date(ctx: ResultContext, posted: str | None) -> str | None:
    """A full date in the report's form; a partial one (``1961``, ``1961-03``) as posted."""
    try:
        return date(ctx, dt.date.fromisoformat(posted)) if posted and len(posted) == 10 else posted
    except ValueError:
        return posted


def _facts(ctx: ResultContext) -> str:
    a = ctx.assessment
    rows = [(ctx.text("label.date"), date(ctx, a.time_point.date))]
    if a.as_of > a.time_point.date:  # markers and genomics after the scan were read (a draw after PD, K9)
        rows.append((ctx.text("label.data-up-to"), date(ctx, a.as_of)))
    rows.append((ctx.text("label.criteria"), ctx.display("response-criteria", a.criteria.value)))
    cells = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    return f"<table>{cells}</table>"


def _list(items: list[str]) -> str:
    return "<ul>" + "".join(f"<li>{escape(item)}</li>" for item in items) + "</ul>"


def _suggestions(ctx: ResultContext) -> str:
    items = [f"<li>{_suggestion_item(ctx, action)}</li>" for action in ctx.assessment.suggestions]
    if not items:
        return ""
    return f"<h2>{escape(ctx.text('label.suggestions'))}</h2><ol>{''.join(items)}</ol>"


def _suggestion_item(ctx: ResultContext, action: SuggestedAction) -> str:
    """HTML: English "text (drugs): note [X1 A4]"; zh-CN the text and its note as sentences, then the rules
    labelled in parentheses, all full-width (Z1). Each rule ID carries its text as a tooltip."""
    remark = note(ctx, action)
    if not chinese(ctx):
        text = f"{suggestion(ctx, action)}{f': {remark}' if remark else ''}"
        return f"{escape(text)} [{rule_ids_html(ctx, action.rules, ' ')}]"
    colon, end = ctx.text("format.colon"), ctx.text("format.sentence-end")
    remark = f"{end}{remark.removesuffix(end)}{end}" if remark else ""
    opened = ctx.text("format.open-parenthesis") + ctx.text("label.rules") + colon
    rules = rule_ids_html(ctx, action.rules, ctx.text("format.list-separator"))
    closed = ctx.text("format.close-parenthesis")
    return f"{escape(suggestion(ctx, action) + remark + opened)}{rules}{escape(closed)}"


def _charts(ctx: ResultContext) -> list[str]:
    a, by_date = ctx.assessment, date_writer(ctx)
    charts = [_sum_chart(ctx)]
    if a.cea:
        label = ctx.text("label.cea")
        charts.append(line_chart(label, [_marker_series(label, a.cea)], _normal_range(ctx), by_date))
    if a.ctdna:  # the mean VAF is a fraction: drawn in per cent, the unit its label names
        label = ctx.text("label.ctdna")
        points = tuple((p.date, p.value * 100) for p in a.ctdna)
        charts.append(line_chart(label, [Series(label, points, "#a50")], date_label=by_date))
    return [chart for chart in charts if chart]


def _normal_range(ctx: ResultContext) -> list[Reference]:
    """The CEA reference range as a band up to the latest upper limit of normal (N2), labelled with it."""
    limits = [p.upper_limit for p in ctx.assessment.cea if p.upper_limit is not None]
    if not limits:
        return []
    joiner = "" if chinese(ctx) else " "
    text = f"{ctx.text('label.upper-limit')}{joiner}{limits[-1]:f} ng/mL"
    return [Reference(text, limits[-1], "#2a7", band=True)]


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
    references = sum_references(labels, baseline, nadir, "" if chinese(ctx) else " ")
    return line_chart(label, [series], references, date_label=date_writer(ctx))


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
