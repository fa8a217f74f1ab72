"""MedicationRequest / MedicationStatement / MedicationAdministration → ``TherapyFact`` (FHIR-CONTRACT.md
section 3, "current therapy").

R4 and R4B carry the drug in ``medicationCodeableConcept`` or ``medicationReference``; R5 in ``medication``, a
CodeableReference (``concept`` or ``reference``). A referenced or contained Medication gives its ``code``.
Codings are matched in drugs.yaml by system and code, then the text by name; an unknown drug is a warning.
"""

from __future__ import annotations

from service.adapters.fhir_in.context import Context
from service.adapters.fhir_in.elements import Coding, Node, When, read_effective, read_when
from service.adapters.fhir_in.versions import FhirVersion
from service.domain.facts import TherapyFact, TherapyRecordKind
from service.knowledge.vocabularies import Drug

_KINDS = {
    "MedicationRequest": TherapyRecordKind.REQUEST,
    "MedicationStatement": TherapyRecordKind.STATEMENT,
    "MedicationAdministration": TherapyRecordKind.ADMINISTRATION,
}


def read_therapy(node: Node, ctx: Context) -> list[TherapyFact]:
    kind = _KINDS[node.data["resourceType"]]
    patient = ctx.patient(node)
    concept = _medication_concept(node, ctx)
    drug = _drug(concept, ctx) if concept else None
    if concept is not None and drug is None:
        concept.issues.not_recognised(concept.path, "medication")
    period = _period(node, kind, ctx)
    authored = read_when(node, "authoredOn", ctx.today) if kind is TherapyRecordKind.REQUEST else None
    if patient is None or drug is None:
        return []
    codes = [c.source_code() for c in _codings(concept)]
    return [
        TherapyFact(
            patient=patient,
            source=f"{node.data['resourceType']}/{node.data.get('id')}",
            record=kind,
            drug=drug.name,
            drug_class=drug.class_,
            codes=tuple(c for c in codes if c is not None),
            status=node.text("status"),
            started_on=period[0].on if period[0] else None,
            ended_on=period[1].on if period[1] else None,
            authored_on=authored.on if authored else None,
        )
    ]


def _medication_concept(node: Node, ctx: Context) -> Node | None:
    """The CodeableConcept naming the drug, wherever this FHIR version puts it."""
    if ctx.version is FhirVersion.R5:
        holder = node.obj("medication")
        concept = holder.obj("concept") if holder else None
        reference = holder.reference("reference") if holder else None
    else:
        concept = node.obj("medicationCodeableConcept")
        reference = node.reference("medicationReference")
    if concept is None and reference is not None:
        medication = ctx.resolve(node, reference)
        concept = medication.obj("code") if medication else None
    if concept is None:
        node.issues.warning(node.path, "no medication code; kept, not used", "incomplete")
    return concept


def _codings(concept: Node | None) -> list[Coding]:
    return [c.coding() for c in concept.objs("coding")] if concept else []


def _drug(concept: Node, ctx: Context) -> Drug | None:
    drugs = ctx.knowledge.drugs
    codings = _codings(concept)
    by_code = next((d for c in codings if (d := drugs.by_code(c.system, c.code))), None)
    if by_code:
        return by_code
    names = [concept.text("text"), *(c.display for c in codings)]
    return next((d for name in names if (d := drugs.by_name(name))), None)


def _period(node: Node, kind: TherapyRecordKind, ctx: Context) -> tuple[When | None, When | None]:
    """When the therapy ran: Statement ``effective[x]``, Administration ``effective[x]`` (R4) or
    ``occurrence[x]`` (R5); a request has only ``authoredOn``."""
    if kind is TherapyRecordKind.REQUEST:
        return None, None
    prefix = (
        "occurrence"
        if ctx.version is FhirVersion.R5 and kind is TherapyRecordKind.ADMINISTRATION
        else "effective"
    )
    start = read_effective(node, prefix, ctx.today)
    period = node.obj(f"{prefix}Period")
    end = read_when(period, "end", ctx.today) if period else None
    return start, end
