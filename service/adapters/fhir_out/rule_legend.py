"""The rule IDs a report cites, explained in words (issue 18): each suggestion's IDs ("X1 A4") carry the
rule's text as a tooltip, and a legend under the suggestions lists every cited rule with its text. The texts
are the ``rule.<ID>`` entries of mappings/texts.yaml (CLINICAL-RULES.md in a line, en and zh-CN). A rule
without a text is shown as its ID alone in English; in zh-CN as the missing key (Z2: no English fallback)."""

from __future__ import annotations

from service.adapters.fhir_out.markup import escape
from service.adapters.fhir_out.result_context import ResultContext
from service.adapters.fhir_out.wording import chinese
from service.domain.rules import Rule


def cited_rules(ctx: ResultContext) -> list[Rule]:
    """The rules of the suggestions and the resistance findings, each once, in order of first citation."""
    a = ctx.assessment
    cited = [rule for action in a.suggestions for rule in action.rules]
    cited += [finding.rule for finding in a.findings]
    return list(dict.fromkeys(cited))


def rule_text(ctx: ResultContext, rule: Rule) -> str | None:
    try:
        return ctx.text(f"rule.{rule.value}")
    except KeyError:
        return ctx.missing(f"rule.{rule.value}") if chinese(ctx) else None


def rule_ids_html(ctx: ResultContext, rules: tuple[Rule, ...], separator: str) -> str:
    """The IDs, each an ``<abbr>`` whose title is the rule's text (a tooltip; printed, the legend says it)."""
    return escape(separator).join(_abbr(ctx, rule) for rule in rules)


def _abbr(ctx: ResultContext, rule: Rule) -> str:
    text = rule_text(ctx, rule)
    if text is None:
        return escape(rule.value)
    return f'<abbr title="{escape(text)}">{escape(rule.value)}</abbr>'


def rule_legend_html(ctx: ResultContext) -> str:
    """A heading and a definition list: each cited rule's ID and its text."""
    items = [
        f"<div><dt>{escape(rule.value)}</dt><dd>{escape(text)}</dd></div>"
        for rule in cited_rules(ctx)
        if (text := rule_text(ctx, rule)) is not None
    ]
    if not items:
        return ""
    heading = escape(ctx.text("label.rule-legend"))
    return f'<h2>{heading}</h2><dl class="rules">{"".join(items)}</dl>'
