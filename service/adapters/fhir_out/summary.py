"""The plain-language summary of an Assessment in the requested language (FHIR-CONTRACT.md section 4,
``DiagnosticReport.conclusion``), built from the report texts.

Text codes used (the texts file provides each in ``en`` and ``zh-CN``): the ``label.*`` and ``format.*``
codes in :data:`TEXT_CODES`; and, optionally, ``{code-system-id}.{code}`` for each coded finding (e.g.
``response-category.PR``, ``assessment-flag.BORDERLINE_PD``), else the English display of code-systems.yaml.
"""

from __future__ import annotations

from decimal import Decimal

from service.adapters.fhir_out.result_context import ResultContext

TEXT_CODES = (
    "report.title",
    "report.disclaimer",
    "careplan.description",
    "label.response",
    "label.best-response",
    "label.confirmed",
    "label.unconfirmed",
    "label.progression",
    "label.flags",
    "label.mechanisms",
    "label.suggestions",
    "label.change-from-baseline",
    "label.change-from-nadir",
    "label.sum-of-diameters",
    "label.baseline",
    "label.nadir",
    "label.pd-threshold",
    "label.pr-threshold",
    "label.cea",
    "label.ctdna",
    "label.date",
    "label.criteria",
    "label.rules",
    "label.evidence-tier",
    "label.knowledge-base",
    "label.service-version",
    "format.colon",
    "format.list-separator",
    "format.sentence-end",
)


def conclusion(ctx: ResultContext) -> str:
    end = ctx.text("format.sentence-end")
    return "".join(sentence + end for sentence in summary_lines(ctx)).strip()


def summary_lines(ctx: ResultContext) -> list[str]:
    """One line per finding: response, best response, progression, flags, mechanisms, suggestions."""
    a = ctx.assessment
    lines = [
        labelled(ctx, "label.response", ctx.display("response-category", a.response_category) + _change(ctx)),
        labelled(ctx, "label.best-response", _best(ctx)),
        labelled(ctx, "label.progression", ctx.display("progression-status", a.progression.value)),
    ]
    listed = [
        ("label.flags", [ctx.display("assessment-flag", f.value) for f in a.flags]),
        ("label.mechanisms", [ctx.display("resistance-mechanism", f.mechanism) for f in a.findings]),
        ("label.suggestions", [_suggestion(ctx, s.code.value, s.drugs) for s in a.suggestions]),
    ]
    separator = ctx.text("format.list-separator")
    lines += [labelled(ctx, label, separator.join(dict.fromkeys(items))) for label, items in listed if items]
    return lines


def _suggestion(ctx: ResultContext, code: str, drugs: tuple[str, ...]) -> str:
    """The suggestion's text, naming the drug(s) where one is suggested (FHIR-CONTRACT section 5)."""
    text = ctx.display("care-suggestion", code)
    return f"{text} ({ctx.text('format.list-separator').join(drugs)})" if drugs else text


def labelled(ctx: ResultContext, label: str, value: str) -> str:
    return f"{ctx.text(label)}{ctx.text('format.colon')}{value}"


def percent(value: Decimal) -> str:
    rounded = value.quantize(Decimal("0.1"))
    return f"{'+' if rounded > 0 else ''}{rounded} %"


def _best(ctx: ResultContext) -> str:
    a = ctx.assessment
    confirmed = ctx.text("label.confirmed" if a.best.confirmed else "label.unconfirmed")
    return f"{ctx.display('response-category', a.best_category)} ({confirmed})"


def _change(ctx: ResultContext) -> str:
    sums = ctx.assessment.time_point.sums
    if sums is None:
        return ""
    changes = [
        f"{ctx.text(label)} {percent(value)}"
        for label, value in (
            ("label.change-from-baseline", sums.percent_from_baseline),
            ("label.change-from-nadir", sums.percent_from_nadir),
        )
        if value is not None
    ]
    return f" ({ctx.text('format.list-separator').join(changes)})" if changes else ""
