"""The plain-language summary of an Assessment in the requested language (FHIR-CONTRACT.md section 4,
``DiagnosticReport.conclusion``), built from the report texts.

Text codes used (the texts file provides each in ``en`` and ``zh-CN``): the ``label.*`` and ``format.*``
codes in :data:`TEXT_CODES` (the narratives' too); and, optionally, ``{code-system-id}.{code}`` for each
coded finding (e.g. ``response-category.PR``, ``assessment-flag.BORDERLINE_PD``), else the English display
of code-systems.yaml.
"""

from __future__ import annotations

from service.adapters.fhir_out.result_context import ResultContext
from service.adapters.fhir_out.wording import chinese, parenthesised, percent, suggestion

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
    "label.upper-limit",
    "label.date",
    "label.criteria",
    "label.rules",
    "label.evidence-tier",
    "label.knowledge-base",
    "label.service-version",
    # the report page and presentedForm (html.py, lesion_table.py, rule_legend.py; rule.* texts are optional)
    "label.patient-name",
    "label.patient-identifier",
    "label.birth-date",
    "label.gender",
    "label.lesion-table",
    "label.lesion",
    "label.site",
    "label.role",
    "label.target",
    "label.target-node",
    "label.change-column",
    "label.rule-legend",
    "label.data-up-to",
    "format.colon",
    "format.list-separator",
    "format.sentence-end",
    "format.clause-separator",
    "format.comma",
    "format.open-parenthesis",
    "format.close-parenthesis",
    "label.drug-and",
    "label.detected",
    "label.and",
    "label.combined-with",
    "label.unspecified-drug",
    "label.current-targeted-drug",
    "label.indicative-tier",
    "evidence-tier.standard-of-care",
    # the narratives (fhir_out/narrative.py)
    "label.yes",
    "label.no",
    "label.inputs",
    "device.description",
)


def conclusion(ctx: ResultContext, lines: list[str] | None = None) -> str:
    """The summary lines as sentences (``lines``: the summary lines when the caller has made them already,
    for the report's HTML too)."""
    end = ctx.text("format.sentence-end")
    sentences = summary_lines(ctx) if lines is None else lines
    return "".join(sentence + end for sentence in sentences).strip()


def summary_lines(ctx: ResultContext) -> list[str]:
    """One line per finding: response, best response, progression, flags, mechanisms, suggestions."""
    if chinese(ctx):
        return _chinese_lines(ctx)
    a = ctx.assessment
    lines = [
        labelled(ctx, "label.response", ctx.display("response-category", a.response_category) + _change(ctx)),
        labelled(ctx, "label.best-response", _best(ctx)),
        labelled(ctx, "label.progression", ctx.display("progression-status", a.progression.value)),
    ]
    listed = [
        ("label.flags", [ctx.display("assessment-flag", f.value) for f in a.flags]),
        ("label.mechanisms", [ctx.display("resistance-mechanism", f.mechanism) for f in a.findings]),
        ("label.suggestions", [suggestion(ctx, s) for s in a.suggestions]),
    ]
    separator = ctx.text("format.list-separator")
    lines += [labelled(ctx, label, separator.join(dict.fromkeys(items))) for label, items in listed if items]
    return lines


def _chinese_lines(ctx: ResultContext) -> list[str]:
    """The zh-CN summary in the shape of CLINICAL-RULES T66: the response without a label, then the best
    response, progression status and flags, the mechanisms after label.detected, the suggestions."""
    a = ctx.assessment
    confirmed = ctx.text("label.confirmed" if a.best.confirmed else "label.unconfirmed")
    best = ctx.display("response-category", a.best_category)
    lines = [
        ctx.display("response-category", a.response_category) + _chinese_change(ctx),
        f"{ctx.text('label.best-response')}{parenthesised(ctx, confirmed)}{ctx.text('format.colon')}{best}",
        labelled(ctx, "label.progression", ctx.display("progression-status", a.progression.value)),
    ]
    clauses = ctx.text("format.clause-separator")
    flags = [ctx.display("assessment-flag", f.value) for f in a.flags]
    if flags:
        lines.append(labelled(ctx, "label.flags", clauses.join(dict.fromkeys(flags))))
    mechanisms = list(dict.fromkeys(ctx.display("resistance-mechanism", f.mechanism) for f in a.findings))
    if mechanisms:
        separator = ctx.text("format.list-separator")
        listed = separator.join(mechanisms[:-1]) + ctx.text("label.and") if len(mechanisms) > 1 else ""
        lines.append(f"{ctx.text('label.detected')}{listed}{mechanisms[-1]}")
    if a.suggestions:
        suggested = dict.fromkeys(suggestion(ctx, s) for s in a.suggestions)
        lines.append(labelled(ctx, "label.suggestions", clauses.join(suggested)))
    return lines


def labelled(ctx: ResultContext, label: str, value: str) -> str:
    return f"{ctx.text(label)}{ctx.text('format.colon')}{value}"


def _best(ctx: ResultContext) -> str:
    a = ctx.assessment
    confirmed = ctx.text("label.confirmed" if a.best.confirmed else "label.unconfirmed")
    return f"{ctx.display('response-category', a.best_category)} ({confirmed})"


def _changes(ctx: ResultContext) -> list[str]:
    sums = ctx.assessment.time_point.sums
    if sums is None:
        return []
    joiner = "" if chinese(ctx) else " "
    return [
        f"{ctx.text(label)}{joiner}{percent(ctx, value)}"
        for label, value in (
            ("label.change-from-baseline", sums.percent_from_baseline),
            ("label.change-from-nadir", sums.percent_from_nadir),
        )
        if value is not None
    ]


def _change(ctx: ResultContext) -> str:
    changes = _changes(ctx)
    return f" ({ctx.text('format.list-separator').join(changes)})" if changes else ""


def _chinese_change(ctx: ResultContext) -> str:
    """After the response: a comma, the sum of diameters and its changes, comma-separated (Z1, Z3)."""
    changes = _changes(ctx)
    if not changes:
        return ""
    comma = ctx.text("format.comma")
    return comma + ctx.display("observation-type", "sum-of-diameters") + comma.join(changes)
