"""The therapy context an assessment used, as result Observations (CLINICAL-RULES.md R12): one
``therapy-line`` Observation per line (the current one and every prior one) and one
``medication-records-ignored`` Observation for the records that did not count, so a reader sees what the
engine took as the context and why.

- ``therapy-line``: ``focus`` = the medication records the line came from (R4 ``Observation.derivedFrom`` may
  not point at a MedicationRequest; ``focus`` may point at anything); value = the line's outcome
  (``CANON/CodeSystem/line-outcome``, R11); components: line number, each drug (RxNorm and ATC where known),
  start, end, whether it is the current line, the targeted backbone (the resistance context, R8), the PD
  that ended it.
- ``medication-records-ignored``: ``focus`` = the records set aside; one component per record, in the same
  order, its value the reason (``CANON/CodeSystem/medication-record-disposition``), with the record and the
  rule (R2, R3, R4) as extensions.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from service.adapters.fhir_out.markup import escape
from service.adapters.fhir_out.observations import observation
from service.adapters.fhir_out.result_context import ResultContext, references
from service.adapters.fhir_out.therapeutic import drug_concept
from service.adapters.fhir_out.wording import chinese, date, drug_name
from service.domain.rules import Rule
from service.domain.therapy_lines import IgnoredRecord, TherapyLine

RULE_EXTENSION = "StructureDefinition/rule-id"  # CANON-relative, as on CarePlan activities
RECORD_EXTENSION = "StructureDefinition/medication-record"  # CANON-relative: the record a component is about
_DISPOSITION = {Rule.R2: "not-counted", Rule.R3: "supportive", Rule.R4: "unmapped"}


def therapy_context_observations(ctx: ResultContext) -> list[dict[str, Any]]:
    therapy = ctx.assessment.therapy
    lines = [_line(ctx, line, current=line is therapy.current) for line in therapy.lines]
    return lines + ([_ignored(ctx, therapy.ignored)] if therapy.ignored else [])


def therapy_context_references(ctx: ResultContext) -> list[dict[str, str]]:
    """References to the same Observations, for the CarePlan's ``supportingInfo`` (R12: the CarePlan lists the
    line used, the prior lines and the records ignored)."""
    therapy = ctx.assessment.therapy
    parts = [f"therapy-line-{line.number}" for line in therapy.lines]
    parts += ["medication-records-ignored"] if therapy.ignored else []
    return [{"reference": f"Observation/{ctx.id_for(part)}"} for part in parts]


def _line(ctx: ResultContext, line: TherapyLine, *, current: bool) -> dict[str, Any]:
    code = ctx.concept("observation-type", "therapy-line")
    resource = observation(ctx, f"therapy-line-{line.number}", code, [])
    resource["focus"] = references(line.sources)
    resource["valueCodeableConcept"] = ctx.concept("line-outcome", line.outcome.value)
    resource["extension"] = [_rule(ctx, r) for r in _line_rules(line, current=current)]
    resource["component"] = _line_components(ctx, line, current=current)
    return resource


def _line_rules(line: TherapyLine, *, current: bool) -> list[Rule]:
    rules = [Rule.R5, Rule.R11]
    rules += [Rule.R6, Rule.R10] if current else []
    rules += [Rule.R7] if line.number > 1 else []
    rules += [Rule.R8] if line.backbone else []
    return rules


def _line_components(ctx: ResultContext, line: TherapyLine, *, current: bool) -> list[dict[str, Any]]:
    components = [_component(ctx, "therapy-line-number", {"valueInteger": line.number})]
    components += [
        _component(ctx, "therapy-line-drug", {"valueCodeableConcept": drug_concept(ctx, d)})
        for d in line.drugs
    ]
    components.append(_component(ctx, "therapy-line-start", _date(line.started_on)))
    if line.ended_on is not None:
        components.append(_component(ctx, "therapy-line-end", _date(line.ended_on)))
    components.append(_component(ctx, "therapy-line-current", {"valueBoolean": current}))
    if line.backbone is not None:
        backbone = {"valueCodeableConcept": drug_concept(ctx, line.backbone.drug)}
        components.append(_component(ctx, "resistance-context", backbone))
    if line.progression_on is not None:
        components.append(_component(ctx, "therapy-line-progression", _date(line.progression_on)))
    return components


def _ignored(ctx: ResultContext, ignored: tuple[IgnoredRecord, ...]) -> dict[str, Any]:
    code = ctx.concept("observation-type", "medication-records-ignored")
    resource = observation(ctx, "medication-records-ignored", code, [])
    resource["focus"] = references([r.source for r in ignored])
    resource["component"] = [_ignored_component(ctx, record) for record in ignored]
    return resource


def _ignored_component(ctx: ResultContext, record: IgnoredRecord) -> dict[str, Any]:
    reason = ctx.concept("medication-record-disposition", _DISPOSITION[record.rule])
    component = _component(ctx, "medication-record-ignored", {"valueCodeableConcept": reason})
    component["extension"] = [
        {"url": ctx.canon(RECORD_EXTENSION), "valueReference": {"reference": record.source}},
        _rule(ctx, record.rule),
    ]
    return component


def _component(ctx: ResultContext, code: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"code": ctx.concept("observation-type", code), **value}


def _date(day: dt.date) -> dict[str, str]:
    return {"valueDateTime": day.isoformat()}


def _rule(ctx: ResultContext, rule: Rule) -> dict[str, str]:
    return {"url": ctx.canon(RULE_EXTENSION), "valueCode": rule.value}


def therapy_lines_html(ctx: ResultContext) -> str:
    """The lines for a reader (R12): "Line 2 (current): osimertinib, from 2024-06-20: Ongoing", newest
    first, then the records set aside: in English each record and why, in zh-CN each reason and how many
    (resource ids and unrecognised drug names are not Chinese text, Z2; the coded Observation has them)."""
    therapy = ctx.assessment.therapy
    if not therapy.lines and not therapy.ignored:
        return ""
    items = [_line_text(ctx, line, current=line is therapy.current) for line in reversed(therapy.lines)]
    items += _ignored_texts(ctx, therapy.ignored)
    lis = "".join(f"<li>{escape(item)}</li>" for item in items)
    return f"<h2>{escape(ctx.text('label.therapy-lines'))}</h2><ul>{lis}</ul>"


def _line_text(ctx: ResultContext, line: TherapyLine, *, current: bool) -> str:
    label = ctx.text("label.line").replace("{n}", str(line.number))
    label += ctx.text("label.current-line") if current else ""
    drugs = ctx.text("label.combined-with").join(drug_name(ctx, d) for d in line.drugs)
    since = ctx.text("label.since").replace("{date}", date(ctx, line.started_on))
    outcome = ctx.display("line-outcome", line.outcome.value)
    comma, colon = ctx.text("format.comma"), ctx.text("format.colon")
    return f"{label}{colon}{drugs}{comma}{since}{comma}{outcome}"


def _ignored_texts(ctx: ResultContext, ignored: tuple[IgnoredRecord, ...]) -> list[str]:
    heading = ctx.display("observation-type", "medication-records-ignored") + ctx.text("format.colon")
    if chinese(ctx):
        counts = Counter(_DISPOSITION[r.rule] for r in ignored)
        count = ctx.text("label.record-count")
        return [
            heading + ctx.display("medication-record-disposition", code) + count.replace("{n}", str(n))
            for code, n in counts.items()
        ]
    reason = {r.rule: ctx.display("medication-record-disposition", _DISPOSITION[r.rule]) for r in ignored}
    return [f"{heading}{r.source} ({r.drug}): {reason[r.rule]}" for r in ignored]
