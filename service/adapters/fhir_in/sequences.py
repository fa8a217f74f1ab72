"""R4 MolecularSequence → ``VariantFact`` through the hotspot table (FHIR-CONTRACT.md section 3,
"variant": ``variant`` + ``referenceSeq`` map through mappings/hotspots.yaml, GRCh37 and GRCh38).

R4 ``coordinateSystem`` 0 counts from 0, 1 from 1 (FHIR R4 molecularsequence.html); both are turned into
1-based positions. R5 remodelled MolecularSequence and has no ``variant``: nothing is read from it.
"""

from __future__ import annotations

from service.adapters.fhir_in.context import Context
from service.adapters.fhir_in.elements import Node
from service.adapters.fhir_in.genomics import specimen_collected, specimen_kind
from service.adapters.fhir_in.versions import FhirVersion
from service.domain.facts import VariantFact, VariantPresence
from service.knowledge.hotspots import Hotspot

_EMPTY_ALLELE = "-"  # how R4 examples write an empty allele (corpus MolecularSequence-coord-*-base.json)


def read_sequence(node: Node, ctx: Context) -> list[VariantFact]:
    if ctx.version is FhirVersion.R5:
        return []
    patient = ctx.patient(node, "patient")
    located = _build_and_chromosome(node.obj("referenceSeq"), ctx)
    variants = node.objs("variant")
    hotspots = [h for v in variants if located and (h := _hotspot(v, node, located, ctx))]
    if variants and not hotspots:
        node.issues.not_recognised(node.at("variant"), "sequence variant (not a hotspot in hotspots.yaml)")
    if patient is None:
        return []
    kind, specimen = specimen_kind(node, ctx)
    when = specimen_collected(node, ctx)
    return [
        VariantFact(
            patient=patient,
            source=f"MolecularSequence/{node.data.get('id')}",
            presence=VariantPresence.PRESENT,
            gene=hotspot.gene,
            hgnc_id=None,
            coding_hgvs=None,
            protein_hgvs=hotspot.protein_hgvs,
            genomic_hgvs=None,
            allele_fraction=None,
            copy_number=None,
            genomic_source=None,
            specimen_kind=kind,
            specimen=specimen,
            observed_on=when.on if when else None,
            observed_at=when.at if when else None,
        )
        for hotspot in hotspots
    ]


def _build_and_chromosome(reference: Node | None, ctx: Context) -> tuple[str, str] | None:
    """From ``referenceSeqId`` (a RefSeq chromosome accession) or ``genomeBuild`` + ``chromosome``."""
    if reference is None:
        return None
    hotspots = ctx.knowledge.hotspots
    for coding in reference.codings("referenceSeqId"):
        accession = hotspots.accession(coding.code)
        if accession:
            return accession.build, accession.chromosome
    build = hotspots.build(reference.text("genomeBuild"))
    chromosome = next((c.code for c in reference.codings("chromosome") if c.code), None)
    return (build, chromosome) if build and chromosome else None


def _hotspot(variant: Node, sequence: Node, located: tuple[str, str], ctx: Context) -> Hotspot | None:
    start = variant.integer("start")
    if start is None:
        return None
    position = start + 1 if sequence.integer("coordinateSystem") == 0 else start
    ref = (variant.text("referenceAllele") or "").replace(_EMPTY_ALLELE, "")
    alt = (variant.text("observedAllele") or "").replace(_EMPTY_ALLELE, "")
    return ctx.knowledge.hotspots.hotspot(*located, position, ref, alt)
