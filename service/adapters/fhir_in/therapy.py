"""MedicationRequest / MedicationStatement / MedicationAdministration → ``TherapyFact`` (FHIR-CONTRACT.md
section 3, "current therapy").

R4 and R4B carry the drug in ``medicationCodeableConcept`` or ``medicationReference``; R5 in ``medication``, a
CodeableReference (``concept`` or ``reference``). A referenced or contained Medication gives its ``code``.
Codings are matched in drugs.yaml by system and code, then the text by name, then by ATC group; an unknown
drug is a warning and is kept with the class ``unmapped`` (CLINICAL-RULES.md R4: flagged, never a line).
"""

from __future__ import annotations

import datetime as dt

from service.adapters.fhir_in.context import Context
from service.adapters.fhir_in.elements import Coding, Node
from service.adapters.fhir_in.versions import FhirVersion
from service.adapters.fhir_in.when import When, read_effective, read_when
from service.domain.facts import TherapyFact, TherapyRecordKind
from service.domain.therapy_lines import UNMAPPED

_ANY_DAY = dt.date.max  # an end date may be planned, so a future end is no error (read_when's "today")
KINDS = {
    "MedicationRequest": TherapyRecordKind.REQUEST,
    "MedicationStatement": TherapyRecordKind.STATEMENT,
    "MedicationAdministration": TherapyRecordKind.ADMINISTRATION,
}


def read_therapy(node: Node, ctx: Context) -> list[TherapyFact]:
    kind = KINDS[node.data["resourceType"]]
    patient = ctx.patient(node)
    concept = _medication_concept(node, ctx)
    if patient is None or concept is None:
        return []
    drug, drug_class = _drug(concept, ctx)
    period = _period(node, kind, ctx)
    authored = read_when(node, "authoredOn", ctx.today) if kind is TherapyRecordKind.REQUEST else None
    codes = [c.source_code() for c in _codings(concept)]
    return [
        TherapyFact(
            patient=patient,
            source=f"{node.data['resourceType']}/{node.data.get('id')}",
            record=kind,
            drug=drug,
            drug_class=drug_class,
            codes=tuple(c for c in codes if c is not None),
            status=node.text("status"),
            started_on=period[0].on if period[0] else None,
            ended_on=period[1].on if period[1] else None,
            authored_on=authored.on if authored else None,
            intent=node.text("intent") if kind is TherapyRecordKind.REQUEST else None,
            groups=_groups(node),
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


def _drug(concept: Node, ctx: Context) -> tuple[str, str]:
    """(drug, class) as :func:`drug_of` finds them; ``unmapped`` (a warning) where it finds no class, kept
    so the line model can flag it."""
    drug, drug_class = drug_of(_codings(concept), concept.text("text"), ctx)
    if drug_class is None:
        concept.issues.not_recognised(concept.path, "medication")
    return drug, drug_class or UNMAPPED


def drug_of(codings: list[Coding], text: str | None, ctx: Context) -> tuple[str, str | None]:
    """(drug, class): a listed drug by code, then by name (INN, brand or Chinese generic name); else the
    class of its ATC group with the sender's name (R3, R4); else the name and no class."""
    drugs = ctx.knowledge.drugs
    names = [text, *(c.display for c in codings)]
    known = next((d for c in codings if (d := drugs.by_code(c.system, c.code))), None)
    known = known or next((d for name in names if (d := drugs.by_name(name))), None)
    if known:
        return known.name, known.class_
    label = next((n.strip().casefold() for n in names if n and n.strip()), None)
    label = label or next((c.code for c in codings if c.code), "unknown")
    return label, next((g for c in codings if (g := drugs.atc_group(c.system, c.code))), None)


def _groups(node: Node) -> tuple[str, ...]:
    """R5: orders of one regimen share a ``groupIdentifier`` or the CarePlan/RequestGroup they are based
    on."""
    group = node.obj("groupIdentifier")
    keys = [f"{group.text('system') or ''}|{group.text('value') or ''}"] if group else []
    keys += [ref for based in node.objs("basedOn") if (ref := based.text("reference"))]
    return tuple(keys)


def _period(node: Node, kind: TherapyRecordKind, ctx: Context) -> tuple[When | None, When | None]:
    """When the therapy ran: Statement ``effective[x]``, Administration ``effective[x]`` (R4) or
    ``occurrence[x]`` (R5); a request its dosage timing bounds (R1). A planned end may lie in the future."""
    if kind is TherapyRecordKind.REQUEST:
        return _bounds(node, ctx)
    prefix = (
        "occurrence"
        if ctx.version is FhirVersion.R5 and kind is TherapyRecordKind.ADMINISTRATION
        else "effective"
    )
    start = read_effective(node, prefix, ctx.today)
    period = node.obj(f"{prefix}Period")
    end = read_when(period, "end", _ANY_DAY) if period else None
    return start, end


def _bounds(node: Node, ctx: Context) -> tuple[When | None, When | None]:
    """The earliest ``boundsPeriod.start`` and the latest ``boundsPeriod.end`` of the dosage instructions."""
    periods = [
        bounds
        for dosage in node.objs("dosageInstruction")
        if (timing := dosage.obj("timing")) and (repeat := timing.obj("repeat"))
        if (bounds := repeat.obj("boundsPeriod"))
    ]
    starts = [w for p in periods if (w := read_when(p, "start", ctx.today))]
    ends = [w for p in periods if (w := read_when(p, "end", _ANY_DAY))]
    return min(starts, key=lambda w: w.on, default=None), max(ends, key=lambda w: w.on, default=None)
