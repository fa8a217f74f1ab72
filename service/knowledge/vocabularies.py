"""Models of the vocabulary files in ``mappings/`` (FHIR-CONTRACT.md section 3): code system + code → concept.

Each model validates one file at start-up and answers lookups; the normaliser never holds a code literal.
Indexes are built once per loaded file (``cached_property`` writes the instance dict, so models stay frozen).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import Literal

from pydantic import Field

from service.knowledge.loader import MappingModel

LoincConcept = Literal[
    "tumour-size",
    "longest-diameter",
    "other-dimension",
    "cea",
    "ecog",
    "karnofsky",
    "variant",
    "gene-studied",
    "coding-hgvs",
    "protein-hgvs",
    "genomic-hgvs",
    "allele-frequency",
    "copy-number",
    "genomic-source-class",
    "histology",
    "disease-status",
]
LocalConcept = Literal["lesion-assessment", "short-axis", "mrd", "tumour-fraction", "copy-ratio"]
Key = tuple[str, str]


def absolute_url(system: str, canonical_base: str) -> str:
    """A CANON-relative system (no scheme) joined to the canonical base; absolute URIs unchanged."""
    if "://" in system or system.startswith("urn:"):
        return system
    return f"{canonical_base.rstrip('/')}/{system}"


class LoincCode(MappingModel):
    code: str
    concept: LoincConcept
    display: str
    units: dict[str, Decimal] = Field(default_factory=dict)


class LoincAnswer(MappingModel):
    code: str
    concept: Literal["present", "absent", "somatic", "germline"]
    display: str


class Loinc(MappingModel):
    system: str
    codes: tuple[LoincCode, ...]
    answers: tuple[LoincAnswer, ...]

    @cached_property
    def _codes(self) -> dict[str, LoincCode]:
        return {entry.code: entry for entry in self.codes}

    @cached_property
    def _answers(self) -> dict[str, str]:
        return {entry.code: entry.concept for entry in self.answers}

    def entry(self, system: str | None, code: str | None) -> LoincCode | None:
        return self._codes.get(code or "") if system == self.system else None

    def answer(self, system: str | None, code: str | None) -> str | None:
        return self._answers.get(code or "") if system == self.system else None


class SystemCode(MappingModel):
    system: str
    code: str


class LocalCode(SystemCode):
    concept: LocalConcept


class MolecularCallCode(SystemCode):
    call: Literal["positive", "negative"]


class LesionStatusCodes(MappingModel):
    system: str
    codes: tuple[str, ...]


class LesionRoleCodes(MappingModel):
    extension: str
    codes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ResolvedLocalCodes:
    """observation-codes.yaml with every CANON-relative system made absolute for one canonical base."""

    concepts: dict[Key, LocalConcept]
    lesion_status_system: str
    lesion_statuses: frozenset[str]
    lesion_role_url: str
    lesion_roles: frozenset[str]
    lesion_identifier_type: Key
    molecular_calls: dict[Key, str]
    imaging_report_categories: frozenset[Key]


class ObservationCodes(MappingModel):
    observation_codes: tuple[LocalCode, ...]
    lesion_status: LesionStatusCodes
    lesion_role: LesionRoleCodes
    lesion_identifier_type: SystemCode
    molecular_calls: tuple[MolecularCallCode, ...]
    imaging_report_categories: tuple[SystemCode, ...]

    def resolved(self, canonical_base: str) -> ResolvedLocalCodes:
        def url(system: str) -> str:
            return absolute_url(system, canonical_base)

        identifier_type = self.lesion_identifier_type
        return ResolvedLocalCodes(
            concepts={(url(c.system), c.code): c.concept for c in self.observation_codes},
            lesion_status_system=url(self.lesion_status.system),
            lesion_statuses=frozenset(self.lesion_status.codes),
            lesion_role_url=url(self.lesion_role.extension),
            lesion_roles=frozenset(self.lesion_role.codes),
            lesion_identifier_type=(url(identifier_type.system), identifier_type.code),
            molecular_calls={(url(c.system), c.code): c.call for c in self.molecular_calls},
            imaging_report_categories=frozenset(
                (url(c.system), c.code) for c in self.imaging_report_categories
            ),
        )


class ScoreCode(MappingModel):
    code: str
    score: int


class PerformanceScores(MappingModel):
    system: str
    ecog: tuple[ScoreCode, ...]
    ecog_range: tuple[int, int]
    karnofsky: tuple[ScoreCode, ...]
    karnofsky_range: tuple[int, int]

    @cached_property
    def _scores(self) -> dict[str, dict[str | None, int]]:
        """Each scale's scores by code; the first entry of a code wins, as a scan finds it."""
        return {
            "ecog": {e.code: e.score for e in reversed(self.ecog)},
            "karnofsky": {e.code: e.score for e in reversed(self.karnofsky)},
        }

    def score(self, scale: Literal["ecog", "karnofsky"], system: str | None, code: str | None) -> int | None:
        """The score an answer code means on that scale, or None."""
        if system != self.system:
            return None
        return self._scores[scale].get(code)

    def valid(self, scale: Literal["ecog", "karnofsky"], score: int) -> bool:
        low, high = self.ecog_range if scale == "ecog" else self.karnofsky_range
        return low <= score <= high


class SiteCode(MappingModel):
    code: str
    display: str


class SnomedSites(MappingModel):
    system: str
    lymph_nodes: tuple[SiteCode, ...] = Field(min_length=1)

    @cached_property
    def _nodes(self) -> frozenset[str]:
        return frozenset(site.code for site in self.lymph_nodes)

    def is_lymph_node(self, system: str | None, code: str | None) -> bool:
        return system == self.system and code in self._nodes


class SpecimenType(SystemCode):
    kind: Literal["plasma", "blood", "tissue"]


class SpecimenTypes(MappingModel):
    types: tuple[SpecimenType, ...]

    @cached_property
    def _kinds(self) -> dict[tuple[str | None, str | None], str]:
        return {(t.system, t.code): t.kind for t in reversed(self.types)}  # the first of a code wins

    def kind(self, system: str | None, code: str | None) -> str | None:
        return self._kinds.get((system, code))


class HistologyCode(SystemCode):
    histology: str
    small_cell: bool = False


class Histology(MappingModel):
    morphology_extension: str
    codes: tuple[HistologyCode, ...]

    @cached_property
    def _codes(self) -> dict[tuple[str | None, str | None], HistologyCode]:
        return {(c.system, c.code): c for c in reversed(self.codes)}  # the first of a code wins

    def lookup(self, system: str | None, code: str | None) -> HistologyCode | None:
        return self._codes.get((system, code))
