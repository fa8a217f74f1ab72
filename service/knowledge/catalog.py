"""The whole knowledge base: one typed field per mapping file, loaded together.

Adding a mapping file means: write its model (a :class:`MappingModel`), add a field here and a row in
``_FILES``. Nothing else reads ``mappings/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from pathlib import Path

from pydantic import Field

from service.knowledge.code_systems import CodeSystems, OutputCodes
from service.knowledge.drugs import Drugs
from service.knowledge.hotspots import Hotspots
from service.knowledge.loader import MappingModel, load_mapping
from service.knowledge.markers import MarkerSettings
from service.knowledge.patterns import PatternSettings
from service.knowledge.resistance import ResistanceKnowledgeBase
from service.knowledge.response import ResponseCriteriaFile
from service.knowledge.texts import ReportTexts
from service.knowledge.vocabularies import (
    Histology,
    Loinc,
    ObservationCodes,
    PerformanceScores,
    SnomedSites,
    SpecimenTypes,
)


class RulesDocument(MappingModel):
    title: str
    version: str


class KnowledgeBaseVersion(MappingModel):
    version: str = Field(pattern=r"^\d{4}\.\d{2}\.\d+$")
    rules_document: RulesDocument


class LengthUnit(MappingModel):
    code: str
    to_mm: Decimal = Field(gt=0)


class Units(MappingModel):
    system: str
    length: tuple[LengthUnit, ...] = Field(min_length=1)

    def factor_to_mm(self, system: str | None, code: str | None) -> Decimal | None:
        """The factor for a UCUM length code, or None when the unit is not one the service accepts."""
        if system != self.system:
            return None
        return self._factors.get(code)

    @cached_property
    def _factors(self) -> dict[str | None, Decimal]:
        return {u.code: u.to_mm for u in reversed(self.length)}  # the first of a code wins, as a scan finds


@dataclass(frozen=True, slots=True)
class Knowledge:
    base: KnowledgeBaseVersion
    units: Units
    loinc: Loinc
    observation_codes: ObservationCodes
    performance_scores: PerformanceScores
    snomed_sites: SnomedSites
    specimen_types: SpecimenTypes
    histology: Histology
    drugs: Drugs
    hotspots: Hotspots
    response: ResponseCriteriaFile
    resistance: ResistanceKnowledgeBase
    markers: MarkerSettings
    patterns: PatternSettings
    texts: ReportTexts
    code_systems: CodeSystems
    output_codes: OutputCodes

    @property
    def version(self) -> str:
        return self.base.version

    @property
    def rules_version(self) -> str:
        """The version of the rule specification the files follow (each report records it, issue 17)."""
        return self.base.rules_document.version


_FILES: dict[str, tuple[str, type[MappingModel]]] = {
    "base": ("knowledge-base.yaml", KnowledgeBaseVersion),
    "units": ("units.yaml", Units),
    "loinc": ("loinc.yaml", Loinc),
    "observation_codes": ("observation-codes.yaml", ObservationCodes),
    "performance_scores": ("ecog.yaml", PerformanceScores),
    "snomed_sites": ("snomed-sites.yaml", SnomedSites),
    "specimen_types": ("specimen-types.yaml", SpecimenTypes),
    "histology": ("histology.yaml", Histology),
    "drugs": ("drugs.yaml", Drugs),
    "hotspots": ("hotspots.yaml", Hotspots),
    "response": ("response-criteria.yaml", ResponseCriteriaFile),
    "resistance": ("resistance.yaml", ResistanceKnowledgeBase),
    "code_systems": ("code-systems.yaml", CodeSystems),
    "output_codes": ("output-codes.yaml", OutputCodes),
    "markers": ("markers.yaml", MarkerSettings),
    "patterns": ("patterns.yaml", PatternSettings),
    "texts": ("texts.yaml", ReportTexts),
}


def load_knowledge(directory: Path) -> Knowledge:
    """Load and validate every mapping file; the first problem raises :class:`MappingError`."""
    loaded = {field: load_mapping(directory / name, model) for field, (name, model) in _FILES.items()}
    return Knowledge(**loaded)  # type: ignore[arg-type]  # each field's model is fixed by _FILES
