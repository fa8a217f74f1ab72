"""Genomics Reporting variants → ``VariantFact`` (FHIR-CONTRACT.md section 3, rows "variant" and "sample
kind"; CLINICAL-RULES.md K5).

Genomics Reporting STU2 and STU3 name their component slices differently but code them with the same LOINC
codes (loinc.yaml), so components are matched by code, never by slice name. Older mCODE examples put a c.HGVS
in the genomic-DNA-change component (81290-9); the HGVS prefix (``c.`` / ``g.``) decides where it belongs.
"""

from __future__ import annotations

from decimal import Decimal

from service.adapters.fhir_in.context import Context
from service.adapters.fhir_in.elements import Node
from service.adapters.fhir_in.labs import fraction
from service.adapters.fhir_in.when import When, read_effective, read_when
from service.domain.facts import SpecimenKind, VariantFact, VariantPresence

Components = dict[str, Node]  # concept → component node


def read_variant(node: Node, ctx: Context) -> list[VariantFact]:
    patient = ctx.patient(node)
    when = read_effective(node, "effective", ctx.today) or specimen_collected(node, ctx)
    if when is None:
        node.issues.warning(node.at("effective"), "no date; kept, not used", "incomplete")
    presence = _presence(node, ctx)
    components = _components(node, ctx)
    hgvs = {
        concept: _hgvs(components.get(concept)) for concept in ("coding-hgvs", "protein-hgvs", "genomic-hgvs")
    }
    if hgvs["coding-hgvs"] is None and hgvs_kind(hgvs["genomic-hgvs"]) == "c":
        hgvs["coding-hgvs"], hgvs["genomic-hgvs"] = hgvs["genomic-hgvs"], None
    hgnc, gene = _gene(components.get("gene-studied"), ctx)
    kind, specimen = specimen_kind(node, ctx)
    vaf = components.get("allele-frequency")
    copies = components.get("copy-number")
    quantity = copies.obj("valueQuantity") if copies else None
    ratio = components.get("copy-ratio")
    ratio_quantity = ratio.obj("valueQuantity") if ratio else None
    if patient is None or when is None or presence is None:
        return []
    return [
        VariantFact(
            patient=patient,
            source=f"Observation/{node.data.get('id')}",
            presence=presence,
            gene=gene,
            hgnc_id=hgnc,
            coding_hgvs=hgvs["coding-hgvs"],
            protein_hgvs=hgvs["protein-hgvs"],
            genomic_hgvs=hgvs["genomic-hgvs"],
            allele_fraction=_allele_fraction(vaf, ctx),
            copy_number=quantity.number("value") if quantity else None,
            genomic_source=_answer(components.get("genomic-source-class"), ctx),
            specimen_kind=kind,
            specimen=specimen,
            observed_on=when.on,
            observed_at=when.at,
            copy_ratio=ratio_quantity.number("value") if ratio_quantity else None,
        )
    ]


def _presence(node: Node, ctx: Context) -> VariantPresence | None:
    answer = _answer(node, ctx)
    if answer in ("present", "absent"):
        return VariantPresence(answer)
    node.issues.not_recognised(node.at("valueCodeableConcept"), "variant presence")
    return None


def _answer(node: Node | None, ctx: Context) -> str | None:
    codings = node.codings("valueCodeableConcept") if node else []
    return next((a for c in codings if (a := ctx.knowledge.loinc.answer(c.system, c.code))), None)


def _components(node: Node, ctx: Context) -> Components:
    found: Components = {}
    for component in node.objs("component"):
        for coding in component.codings("code"):
            if (concept := ctx.concept(coding)) is not None:
                found.setdefault(concept, component)
    return found


def _hgvs(component: Node | None) -> str | None:
    if component is None:
        return None
    codings = component.codings("valueCodeableConcept")
    concept = component.obj("valueCodeableConcept")
    texts = [c.code for c in codings] + [
        concept.text("text") if concept else None,
        component.text("valueString"),
    ]
    return next((t for t in texts if t), None)


def hgvs_kind(hgvs: str | None) -> str | None:
    """The HGVS reference type: ``NM_000455.5:c.725G>A`` → ``c`` (HGVS nomenclature, varnomen.hgvs.org)."""
    if not hgvs or ":" not in hgvs:
        return None
    return hgvs.split(":", 1)[1].split(".", 1)[0] or None


def _gene(component: Node | None, ctx: Context) -> tuple[str | None, str | None]:
    codings = component.codings("valueCodeableConcept") if component else []
    coding = next((c for c in codings if c.code), None)
    if coding is None:
        return None, None
    symbol = ctx.knowledge.hotspots.gene_symbol(coding.code) or coding.display
    return coding.code, symbol


def _allele_fraction(component: Node | None, ctx: Context) -> Decimal | None:
    quantity = component.obj("valueQuantity") if component else None
    return fraction(quantity, ctx) if quantity else None


def specimen_kind(node: Node, ctx: Context) -> tuple[SpecimenKind, str | None]:
    """The kind of the referenced Specimen (specimen-types.yaml); unknown when it is not in the posted set."""
    reference = node.reference("specimen")
    specimen = ctx.resolve(node, reference)
    name = ctx.references.name(reference, node.data)
    if specimen is None:
        return SpecimenKind.UNKNOWN, name
    codings = specimen.codings("type")
    kind = next((k for c in codings if (k := ctx.knowledge.specimen_types.kind(c.system, c.code))), None)
    if kind is None:
        specimen.issues.not_recognised(specimen.at("type"), "specimen type")
    return (SpecimenKind(kind) if kind else SpecimenKind.UNKNOWN), name


def specimen_collected(node: Node, ctx: Context) -> When | None:
    specimen = ctx.resolve(node, node.reference("specimen"))
    collection = specimen.obj("collection") if specimen else None
    return read_when(collection, "collectedDateTime", ctx.today) if collection else None
