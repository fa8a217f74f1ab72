"""The model of ``mappings/hotspots.yaml``: genome builds and their spellings, reference sequence accessions,
hotspot coordinates with the protein change they are, and HGNC gene ids (MolecularSequence reading)."""

from __future__ import annotations

from functools import cached_property

from pydantic import Field

from service.knowledge.loader import MappingModel


class GenomeBuild(MappingModel):
    name: str
    aliases: tuple[str, ...]


class Accession(MappingModel):
    accession: str
    build: str
    chromosome: str


class Hotspot(MappingModel):
    build: str
    chromosome: str
    position: int = Field(gt=0)
    ref: str
    alt: str
    gene: str
    protein_hgvs: str


class Gene(MappingModel):
    hgnc: str
    symbol: str


class Hotspots(MappingModel):
    builds: tuple[GenomeBuild, ...]
    accessions: tuple[Accession, ...]
    hotspots: tuple[Hotspot, ...]
    genes: tuple[Gene, ...]

    def build(self, text: str | None) -> str | None:
        """The build a ``referenceSeq.genomeBuild`` spelling names, or None."""
        return next((b.name for b in self.builds if text in b.aliases), None)

    def accession(self, accession: str | None) -> Accession | None:
        return next((a for a in self.accessions if a.accession == accession), None)

    def hotspot(self, build: str, chromosome: str, position: int, ref: str, alt: str) -> Hotspot | None:
        wanted = (build, chromosome, position, ref, alt)
        return next((h for h in self.hotspots if _coordinates(h) == wanted), None)

    @cached_property
    def _symbols(self) -> dict[str | None, str]:
        return {g.hgnc: g.symbol for g in reversed(self.genes)}  # the first of an id wins, as a scan finds

    def gene_symbol(self, hgnc_id: str | None) -> str | None:
        return self._symbols.get(hgnc_id)


def _coordinates(hotspot: Hotspot) -> tuple[str, str, int, str, str]:
    return hotspot.build, hotspot.chromosome, hotspot.position, hotspot.ref, hotspot.alt
