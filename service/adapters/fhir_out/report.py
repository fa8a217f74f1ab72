"""The result of an evaluation as a FHIR ``collection`` Bundle (FHIR-CONTRACT.md sections 2, 4 and 5):
the DiagnosticReport first, then its result Observations, the CarePlan, the Provenance, and the Device that
stands for the service. Plain dicts; R4 by default, R5 when ``fhir_version`` is ``5.0``. Every resource
carries a generated narrative (issue 15).

The report's ``performer`` is the service as an Organization, contained in the report: R4 and R5 allow only
Practitioner, PractitionerRole, Organization or CareTeam there (https://hl7.org/fhir/R4/diagnosticreport.html),
so the Device stands for the service where a Device is allowed: ``Observation.device`` and
``Provenance.agent.who`` (issue 15; FHIR-CONTRACT section 4 said "the service as a Device").

Identifiers are deterministic (``CANON/report-id`` = patient, time point date and criteria) and every id is a
name-based UUID of that key, so the same Assessment always gives the same ids.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from service.adapters.fhir_out.careplan import care_plan
from service.adapters.fhir_out.html import presented_form
from service.adapters.fhir_out.narrative import with_narrative
from service.adapters.fhir_out.observations import (
    best_overall_response,
    disease_status,
    progression_assessment,
    timepoint_response,
)
from service.adapters.fhir_out.provenance import provenance, service_device
from service.adapters.fhir_out.result_context import SERVICE_NAME, Lookups, ResultContext, Texts
from service.adapters.fhir_out.summary import conclusion, summary_lines
from service.adapters.fhir_out.therapeutic import therapeutic_implication
from service.adapters.fhir_out.therapy_context import therapy_context_observations
from service.domain.assessment import Assessment
from service.knowledge import Knowledge

__all__ = ["Texts", "build_result_bundle"]


def build_result_bundle(
    assessment: Assessment,
    *,
    knowledge: Knowledge,
    canonical_base: str,
    language: str,
    fhir_version: str,
    issued: dt.datetime,
    texts: Texts,
    with_html: bool = True,
    lookups: Lookups | None = None,
) -> dict[str, Any]:
    """DiagnosticReport, its Observations, the CarePlan, the Provenance and the service Device; ``with_html``
    adds the report's ``presentedForm`` (issue 19: built only where it is asked for, a third of rendering).
    ``lookups``: texts and codings already looked up for this knowledge, base, texts and language."""
    ctx = ResultContext(
        assessment, knowledge, canonical_base, language, fhir_version, issued, texts, lookups or Lookups()
    )
    observations = result_observations(ctx)
    report = diagnostic_report(ctx, observations, with_html)
    plan = care_plan(ctx, report["id"])
    made = [report, *observations, plan]
    resources = [with_narrative(ctx, r) for r in (*made, provenance(ctx, made), service_device(ctx))]
    return {
        "resourceType": "Bundle",
        "id": ctx.id_for("bundle"),
        "type": "collection",
        "timestamp": ctx.issued_text,
        "entry": [{"fullUrl": ctx.full_url(r), "resource": r} for r in resources],
    }


def result_observations(ctx: ResultContext) -> list[dict[str, Any]]:
    return [
        timepoint_response(ctx),
        best_overall_response(ctx),
        progression_assessment(ctx),
        disease_status(ctx),
        *(therapeutic_implication(ctx, finding) for finding in ctx.assessment.findings),
        *therapy_context_observations(ctx),
    ]


def diagnostic_report(
    ctx: ResultContext, observations: list[dict[str, Any]], with_html: bool = True
) -> dict[str, Any]:
    a, codes = ctx.assessment, ctx.knowledge.output_codes.report
    summary = summary_lines(ctx)  # the conclusion's sentences and the HTML's list alike
    code = ctx.concept("report-type", "response-resistance-assessment")
    code["coding"].insert(0, ctx.external_coding(codes.code))  # LOINC first: what inboxes route on
    return {
        "resourceType": "DiagnosticReport",
        "id": ctx.id_for("report"),
        "contained": [service_organization(ctx)],
        "identifier": [{"system": ctx.canon("report-id"), "value": ctx.report_key}],
        "status": "preliminary",
        "category": [{"coding": [ctx.external_coding(ref)]} for ref in codes.categories],
        "code": code,
        "subject": ctx.subject,
        "effectiveDateTime": a.time_point.date.isoformat(),
        "issued": ctx.issued_text,
        "performer": [{"reference": f"#{PERFORMER_ID}", "display": SERVICE_NAME}],
        "result": [{"reference": f"Observation/{o['id']}"} for o in observations],
        "conclusion": conclusion(ctx, summary),
        "conclusionCode": conclusion_codes(ctx),
        **({"presentedForm": [presented_form(ctx, summary=summary)]} if with_html else {}),
    }


PERFORMER_ID = "performer"


def service_organization(ctx: ResultContext) -> dict[str, Any]:
    """The service as the report's performer; contained, so without a narrative (dom-4)."""
    return {
        "resourceType": "Organization",
        "id": PERFORMER_ID,
        "identifier": [{"system": ctx.canon("organization-id"), "value": SERVICE_NAME}],
        "active": True,
        "name": SERVICE_NAME,
    }


def conclusion_codes(ctx: ResultContext) -> list[dict[str, Any]]:
    """Every coded finding: response, progression status, each flag, each mechanism (section 4)."""
    a = ctx.assessment
    coded = [
        ("response-category", a.response_category),
        ("progression-status", a.progression.value),
        *(("assessment-flag", flag.value) for flag in a.flags),
        *dict.fromkeys(("resistance-mechanism", f.mechanism) for f in a.findings),
    ]
    return [ctx.concept(system_id, code) for system_id, code in coded]


@dataclass(frozen=True)
class ResultRenderer:
    """``build_result_bundle`` with the knowledge, canonical base and texts of one running service, and the
    texts and codings it has looked up, by language, kept for its next results (issue 19)."""

    knowledge: Knowledge
    canonical_base: str
    lookups: dict[str, Lookups] = field(default_factory=dict, repr=False, compare=False)

    def __call__(
        self,
        assessment: Assessment,
        language: str,
        fhir_version: str,
        issued: dt.datetime,
        *,
        with_html: bool = True,
    ) -> dict[str, Any]:
        return build_result_bundle(
            assessment,
            knowledge=self.knowledge,
            canonical_base=self.canonical_base,
            language=language,
            fhir_version=fhir_version,
            issued=issued,
            texts=self.knowledge.texts.text,
            with_html=with_html,
            lookups=self.lookups.setdefault(language, Lookups()),
        )
