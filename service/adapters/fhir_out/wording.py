"""The words of a result that depend on the language beyond a looked-up text (CLINICAL-RULES.md section 11):
drug names and regimens, care suggestions with their drugs, dates, percentages, evidence and notes from the
knowledge base, and the alterations of a finding.

English keeps the service's historical wording (INN drug names, ISO dates, ``-11.2 %``). Simplified
Chinese follows Z1-Z7: drugs by their Chinese generic name (table 11.4, ``drug.<INN>``), a regimen joined
with the ``label.combined-with`` word (Z5), the table 11.3 templates filled (their drug and backbone
placeholders), dates as year-month-day in Chinese and percentages with a real minus sign and no space (Z3),
full-width punctuation from the ``format.*`` texts (Z1), and never an English fallback: a missing text is
shown as its key in full-width brackets and logged (Z2, MISSING_TRANSLATION). The little CJK punctuation
needed in code is spelled as escapes, so that ruff's confusable-character check (RUF001) stays on.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal

from service.adapters.fhir_out.result_context import ResultContext
from service.domain.resistance import ResistanceFinding
from service.domain.suggestions import SuggestedAction

CHINESE = "zh-CN"
DRUGS, BACKBONE = "{药物}", "{现有靶向药物}"  # table 11.3 placeholders
MINUS = "\u2212"  # Z3: a real minus sign
FULL_WIDTH_COLON = "\uff1a"
TENTH = Decimal("0.1")
_CJK = re.compile("[\u4e00-\u9fff]")


def chinese(ctx: ResultContext) -> bool:
    return ctx.language == CHINESE


def drug_name(ctx: ResultContext, inn: str) -> str:
    """The INN in English; in zh-CN the Chinese generic name of table 11.4 (text ``drug.<INN>``), else the
    Chinese name drugs.yaml accepts inbound (R4), else the INN in full-width brackets (Z2, Z5)."""
    if not chinese(ctx):
        return inn
    try:
        return ctx.text(f"drug.{inn}")
    except KeyError:
        known = ctx.knowledge.drugs.by_name(inn)
        names = [alias for alias in known.aliases if _CJK.search(alias)] if known else []
        return names[0] if names else ctx.missing(f"drug.{inn}")


def regimen(ctx: ResultContext, drugs: tuple[str, ...], *, added: bool = False) -> str:
    """The drugs of one suggestion, one regimen (C9). zh-CN (Z5): ``A联合B和C``; drugs added to a backbone
    (the template already says 联合) are listed ``B和C``."""
    if not chinese(ctx):
        return ", ".join(drugs)
    names = [drug_name(ctx, drug) for drug in drugs]
    if added or len(names) == 1:
        return _listed(ctx, names)
    return f"{names[0]}{ctx.text('label.combined-with')}{_listed(ctx, names[1:])}"


def _listed(ctx: ResultContext, names: list[str]) -> str:
    """``A``, ``A和B``, ``A、B和C``."""
    if len(names) == 1:
        return names[0]
    return ctx.text("format.list-separator").join(names[:-1]) + ctx.text("label.drug-and") + names[-1]


def suggestion(ctx: ResultContext, action: SuggestedAction) -> str:
    """The suggestion in words, naming its drugs: English "text (drugs)", zh-CN the table 11.3 template."""
    text = ctx.display("care-suggestion", action.code.value)
    if not chinese(ctx):
        return f"{text} ({', '.join(action.drugs)})" if action.drugs else text
    current = ctx.assessment.current_drug
    backbone = drug_name(ctx, current) if current else ctx.text("label.current-targeted-drug")
    text = text.replace(BACKBONE, backbone)
    if action.drugs:
        added = f"{ctx.text('label.combined-with')}{DRUGS}" in text
        return text.replace(DRUGS, regimen(ctx, action.drugs, added=added))
    # No drug named: a template whose drugs follow a colon (histology-directed chemotherapy, table 11.3)
    # ends before the colon; elsewhere the placeholder becomes label.unspecified-drug.
    text = text.replace(f"{FULL_WIDTH_COLON}{DRUGS}", "")
    return text.replace(DRUGS, ctx.text("label.unspecified-drug"))


def date(ctx: ResultContext, day: dt.date) -> str:
    return _chinese_date(day) if chinese(ctx) else day.isoformat()


def date_writer(ctx: ResultContext) -> Callable[[dt.date], str]:
    """``date`` for the context's language as one callable, chosen once: a chart or the lesion table
    writes a date per scan (English: ``date.isoformat`` itself, with no call of ours per date)."""
    return _chinese_date if chinese(ctx) else dt.date.isoformat


def _chinese_date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def percent(ctx: ResultContext, value: Decimal) -> str:
    """One decimal and a sign: ``+29.1 %`` in English; in zh-CN without the space, minus as U+2212 (Z3)."""
    rounded = value.quantize(TENTH)
    sign = "+" if rounded > 0 else ""
    if not chinese(ctx):
        return f"{sign}{rounded} %"
    return f"{MINUS if rounded < 0 else sign}{abs(rounded)}%"


def evidence(ctx: ResultContext, finding: ResistanceFinding) -> str:
    """The finding's evidence basis: resistance.yaml's text, or its zh-CN translation."""
    key = f"resistance-evidence.{finding.rule.value}.{finding.mechanism}"
    return _knowledge_text(ctx, key, finding.evidence_basis)


def tier(ctx: ResultContext, finding: ResistanceFinding) -> str:
    """The indicative tier with its evidence: ``I-A (AURA3 ...)``; in zh-CN the tier as a grade and the
    translated evidence in full-width parentheses."""
    if not chinese(ctx):
        return f"{finding.tier} ({finding.evidence_basis})"
    standard = finding.tier == "standard-of-care"
    named = tier_name(ctx, finding) + ("" if standard else "\u7ea7")  # grade
    return f"{named}{parenthesised(ctx, evidence(ctx, finding))}"


def tier_name(ctx: ResultContext, finding: ResistanceFinding) -> str:
    """The tier code (I-A, X/IV), or the words for standard of care."""
    if finding.tier == "standard-of-care":
        return ctx.text("evidence-tier.standard-of-care")
    return finding.tier


def note(ctx: ResultContext, action: SuggestedAction) -> str | None:
    """The action's note; in zh-CN the translation of each knowledge-base note it was made of."""
    if not action.note or not chinese(ctx):
        return action.note
    parts = [
        _knowledge_text(ctx, f"resistance-note.{f.rule.value}.{f.mechanism}.{a.code.value}", a.note)
        for f in ctx.assessment.findings
        if f.rule in action.rules
        for a in f.actions
        if a.code is action.code and a.note and a.note in action.note
    ]
    return "".join(dict.fromkeys(parts)) or ctx.missing(f"resistance-note.{action.code.value}")


_COPY_NUMBER = re.compile(r"^(?P<gene>\S+) copy number (?P<value>\S+)$")
_RATIO = re.compile(r"^(?P<gene>\S+)/centromere ratio (?P<value>\S+)$")
_FUSION = re.compile(r"^(?P<genes>\S+) fusion$")


def alteration(ctx: ResultContext, label: str) -> str:
    """What matched, as the domain names it ("MET copy number 11", "EML4::ALK fusion", "small-cell",
    "EGFR T790M"), in the language: gene and variant names stay as they are (Z2)."""
    if not chinese(ctx):
        return label
    for pattern, key in ((_COPY_NUMBER, "copy-number"), (_RATIO, "centromere-ratio"), (_FUSION, "fusion")):
        if match := pattern.match(label):
            return ctx.translated(f"alteration.{key}").format(**match.groupdict())
    if re.fullmatch(r"[a-z][a-z-]*", label):  # an internal histology of histology.yaml
        return ctx.translated(f"histology.{label}")
    if re.fullmatch(r"[A-Z_]+", label):  # an assessment flag standing for the alteration (X20)
        return ctx.display("assessment-flag", label)
    return label


def parenthesised(ctx: ResultContext, text: str) -> str:
    """`` (text)`` in English, the full-width parentheses in zh-CN (Z1)."""
    return f"{ctx.text('format.open-parenthesis')}{text}{ctx.text('format.close-parenthesis')}"


def _knowledge_text(ctx: ResultContext, key: str, english: str) -> str:
    """A text of resistance.yaml in zh-CN: the translation made from this very English text, else the key."""
    try:
        if ctx.texts(key, "en") == english:
            return ctx.text(key)
    except KeyError:
        pass
    return ctx.missing(key)
