"""Condition → ``CancerCondition``; pathology histology Observation → ``HistologyFact`` (FHIR-CONTRACT.md
section 3, "cancer and histology"; CLINICAL-RULES.md X10, X11).

Histology comes from ``Condition.code``, the mCODE histology-morphology-behavior extension, or a pathology
Observation (LOINC 31206-6). A small-cell code (SNOMED, ICD-O-3 8041/3) marks a small-cell histology, which
after an NSCLC diagnosis is a transformation.
"""

from __future__ import annotations

from service.adapters.fhir_in.context import Context
from service.adapters.fhir_in.elements import Coding, Node
from service.adapters.fhir_in.labs import observed
from service.adapters.fhir_in.when import read_when
from service.domain.facts import CancerCondition, HistologyFact
from service.knowledge.vocabularies import HistologyCode


def read_condition(node: Node, ctx: Context) -> list[CancerCondition]:
    patient = ctx.patient(node)
    codings = node.codings("code")
    morphology = _morphology(node, ctx)
    diagnosis = first_known(codings, ctx)
    histology = first_known(morphology, ctx) or diagnosis
    if histology is None:
        node.issues.not_recognised(node.at("code"), "condition")
    onset = read_when(node, "onsetDateTime", ctx.today)
    code = next((s for c in codings if (s := c.source_code())), None)
    if patient is None or histology is None or code is None:
        return []
    status = next((c.code for c in node.codings("clinicalStatus") if c.code), None)
    return [
        CancerCondition(
            patient=patient,
            source=f"Condition/{node.data.get('id')}",
            code=code,
            histology=histology.histology,
            small_cell=histology.small_cell,
            clinical_status=status,
            onset_on=onset.on if onset else None,
        )
    ]


def read_histology(node: Node, ctx: Context) -> list[HistologyFact]:
    patient, when = ctx.patient(node), observed(node, ctx)
    codings = node.codings("valueCodeableConcept")
    histology = first_known(codings, ctx)
    matched = next((c for c in codings if ctx.knowledge.histology.lookup(c.system, c.code)), None)
    code = matched.source_code() if matched else None
    if histology is None:
        node.issues.not_recognised(node.at("valueCodeableConcept"), "histology")
    if patient is None or when is None or histology is None or code is None:
        return []
    source = f"Observation/{node.data.get('id')}"
    return [
        HistologyFact(
            patient=patient,
            source=source,
            histology=histology.histology,
            small_cell=histology.small_cell,
            code=code,
            observed_on=when.on,
        )
    ]


def _morphology(node: Node, ctx: Context) -> list[Coding]:
    url = ctx.knowledge.histology.morphology_extension
    return [
        c for e in node.objs("extension") if e.text("url") == url for c in e.codings("valueCodeableConcept")
    ]


def first_known(codings: list[Coding], ctx: Context) -> HistologyCode | None:
    return next((h for c in codings if (h := ctx.knowledge.histology.lookup(c.system, c.code))), None)
