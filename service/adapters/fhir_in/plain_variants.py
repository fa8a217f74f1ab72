"""The fast path for Genomics Reporting variant Observations (issue 19), as :mod:`plain_lesions` is for
lesions: one typed decode of the elements :mod:`genomics` reads, then its rules without a Node per element.

Taken only when the checked reading would report nothing; anything else (a wrong JSON type, no Patient, no
usable date, an unknown presence, a fraction out of range, a Specimen of an unknown type, a date to be taken
from the Specimen) gives None and the checked reading reads the resource and reports. The two readings are
tested to agree (tests/adapters/fhir_in/test_plain_variants.py).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec

from service.adapters.fhir_in.context import Context
from service.adapters.fhir_in.elements import Coding
from service.adapters.fhir_in.genomics import hgvs_kind
from service.adapters.fhir_in.lesion_shapes import Concept, Quantity, Reference, Shape, codings
from service.adapters.fhir_in.when import plain_when
from service.domain.facts import SpecimenKind, VariantFact, VariantPresence


class _Component(Shape):
    code: Concept | None = None
    value_codeable_concept: Concept | None = None
    value_quantity: Quantity | None = None
    value_string: str | None = None


class _Variant(Shape):
    subject: Reference | None = None
    effective_date_time: str | None = None
    specimen: Reference | None = None
    value_codeable_concept: Concept | None = None
    component: list[_Component] = msgspec.field(default_factory=list)


class _Specimen(Shape):
    type: Concept | None = None


_PRESENCE = {presence.value: presence for presence in VariantPresence}
_KINDS = {kind.value: kind for kind in SpecimenKind}


def read_plain_variant(data: dict[str, Any], ctx: Context) -> VariantFact | None:
    """The variant of a well-formed resource; None when the checked reading must read it."""
    if "effectivePeriod" in data:
        return None
    try:
        obs = msgspec.convert(data, _Variant)
    except msgspec.ValidationError:
        return None
    patient = ctx.references.name(obs.subject.reference, data) if obs.subject else None
    when = plain_when(obs.effective_date_time, ctx.today) if obs.effective_date_time is not None else None
    presence = _PRESENCE.get(_answer(obs.value_codeable_concept, ctx) or "")
    components = _components(obs.component, ctx)
    reference = obs.specimen.reference if obs.specimen else None
    kind = _specimen_kind(ctx.references.resolve(reference, data), ctx)
    usable, vaf = _fraction(components.get("allele-frequency"), ctx)
    if patient is None or not patient.startswith("Patient/") or when is None or presence is None:
        return None
    if kind is None or not usable:
        return None
    coding_hgvs, genomic_hgvs = _hgvs(components.get("coding-hgvs")), _hgvs(components.get("genomic-hgvs"))
    if coding_hgvs is None and hgvs_kind(genomic_hgvs) == "c":
        coding_hgvs, genomic_hgvs = genomic_hgvs, None
    gene = components.get("gene-studied")
    coding = _coded(gene.value_codeable_concept) if gene else None
    source = components.get("genomic-source-class")
    return VariantFact(
        patient=patient,
        source=f"Observation/{data.get('id')}",
        presence=presence,
        gene=(_gene_symbol(coding.code, ctx) or coding.display) if coding else None,
        hgnc_id=coding.code if coding else None,
        coding_hgvs=coding_hgvs,
        protein_hgvs=_hgvs(components.get("protein-hgvs")),
        genomic_hgvs=genomic_hgvs,
        allele_fraction=vaf,
        copy_number=_value(components.get("copy-number")),
        genomic_source=_answer(source.value_codeable_concept, ctx) if source else None,
        specimen_kind=kind,
        specimen=ctx.references.name(reference, data),
        observed_on=when.on,
        observed_at=when.at,
        copy_ratio=_value(components.get("copy-ratio")),
    )


def _answer(concept: Concept | None, ctx: Context) -> str | None:
    for coding in codings(concept):
        if answer := ctx.knowledge.loinc.answer(coding.system, coding.code):
            return answer
    return None


def _coded(concept: Concept | None) -> Coding | None:
    """The first coding with a code (a loop: no generator for each variant)."""
    for coding in codings(concept):
        if coding.code:
            return coding
    return None


def _gene_symbol(hgnc_id: str | None, ctx: Context) -> str | None:
    """hotspots.yaml's symbol for an HGNC id, looked up once per call for each id."""
    key = ("gene", hgnc_id)
    if key not in ctx.worked_out:
        ctx.worked_out[key] = ctx.knowledge.hotspots.gene_symbol(hgnc_id)
    found: str | None = ctx.worked_out[key]
    return found


def _components(components: list[_Component], ctx: Context) -> dict[str, _Component]:
    """Each concept's first component, as :func:`genomics._components` finds them."""
    found: dict[str, _Component] = {}
    for component in components:
        for coding in codings(component.code):
            if (concept := ctx.concept(coding)) is not None:
                found.setdefault(concept, component)
    return found


def _hgvs(component: _Component | None) -> str | None:
    """The first of its codes, its text and valueString that is not empty."""
    if component is None:
        return None
    concept = component.value_codeable_concept
    if concept is not None:
        for coding in concept.coding:
            if coding.code:
                return coding.code
        if concept.text:
            return concept.text
    return component.value_string or None


def _value(component: _Component | None) -> Decimal | None:
    quantity = component.value_quantity if component else None
    return Decimal(str(quantity.value)) if quantity is not None and quantity.value is not None else None


def _fraction(component: _Component | None, ctx: Context) -> tuple[bool, Decimal | None]:
    """As :func:`labs.fraction`, and whether it is usable (False where that reports an error)."""
    quantity = component.value_quantity if component else None
    if quantity is None:
        return True, None
    factors = ctx.worked_out.get(("allele-frequency",))
    if factors is None:  # looked up once per call
        factors = next((e.units for e in ctx.knowledge.loinc.codes if e.concept == "allele-frequency"), {})
        ctx.worked_out[("allele-frequency",)] = factors
    factor = factors.get(quantity.code) if quantity.code is not None else Decimal(1)
    if quantity.value is None or factor is None:
        return False, None
    result = Decimal(str(quantity.value)) * factor
    return (True, result) if 0 <= result <= 1 else (False, None)


def _specimen_kind(resource: dict[str, Any] | None, ctx: Context) -> SpecimenKind | None:
    """As :func:`genomics.specimen_kind`, read once per call for each Specimen; None for one whose type is
    not well formed or not known (the checked reading reports it)."""
    if resource is None:
        return SpecimenKind.UNKNOWN
    key = ("specimen", id(resource))
    if key not in ctx.worked_out:
        try:
            types = codings(msgspec.convert(resource, _Specimen).type)
        except msgspec.ValidationError:
            types = []
        kind = next((k for c in types if (k := ctx.knowledge.specimen_types.kind(c.system, c.code))), None)
        ctx.worked_out[key] = _KINDS[kind] if kind else None
    found: SpecimenKind | None = ctx.worked_out[key]
    return found
