"""Models of ``code-systems.yaml`` (the service's own CodeSystems, FHIR-CONTRACT.md sections 2-5) and
``output-codes.yaml`` (the external LOINC, SNOMED CT, NCIt and HL7 codes the results carry, sections 4-5).

The FHIR output builders take every code from here, so a code is changed in ``mappings/``, not in Python.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import cached_property

from pydantic import Field, model_validator

from service.domain.assessment import DiseaseStatus, EvidenceType
from service.knowledge.loader import MappingModel


class Concept(MappingModel):
    code: str = Field(pattern=r"^\S+$")
    display: str = Field(min_length=1)
    definition: str = Field(min_length=1)


class CodeSystemDefinition(MappingModel):
    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    name: str = Field(pattern=r"^[A-Z][A-Za-z0-9]*$")
    title: str
    description: str
    concepts: tuple[Concept, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _codes_are_unique(self) -> CodeSystemDefinition:
        repeated = [code for code, n in Counter(c.code for c in self.concepts).items() if n > 1]
        if repeated:
            raise ValueError(f"code system {self.id}: codes defined twice: {repeated}")
        return self

    @cached_property
    def _by_code(self) -> dict[str, Concept]:
        return {c.code: c for c in self.concepts}

    def concept(self, code: str) -> Concept | None:
        return self._by_code.get(code)


class CodeSystems(MappingModel):
    code_systems: tuple[CodeSystemDefinition, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _ids_are_unique(self) -> CodeSystems:
        repeated = [i for i, n in Counter(s.id for s in self.code_systems).items() if n > 1]
        if repeated:
            raise ValueError(f"code systems defined twice: {repeated}")
        return self

    @cached_property
    def _by_id(self) -> dict[str, CodeSystemDefinition]:
        return {s.id: s for s in self.code_systems}

    def get(self, system_id: str) -> CodeSystemDefinition | None:
        return self._by_id.get(system_id)

    def display(self, system_id: str, code: str) -> str:
        """The display of a code the service emits; an undefined code is a programming error."""
        concept = self._by_id[system_id].concept(code)
        if concept is None:
            raise KeyError(f"{code!r} is not defined in code system {system_id!r} (code-systems.yaml)")
        return concept.display


@dataclass(frozen=True, slots=True)
class ExternalCode:
    """A coding ready to write: the system URI, the code and its display."""

    system: str
    code: str
    display: str


class CodeRef(MappingModel):
    system: str  # a key of OutputCodes.systems
    code: str
    display: str


class UcumUnit(MappingModel):
    code: str
    unit: str


class DiseaseStatusCodes(MappingModel):
    profile: str
    code: CodeRef
    values: dict[DiseaseStatus, CodeRef]
    evidence_extension: str
    evidence: dict[EvidenceType, CodeRef]

    @model_validator(mode="after")
    def _every_value_is_coded(self) -> DiseaseStatusCodes:
        missing = [*(set(DiseaseStatus) - set(self.values)), *(set(EvidenceType) - set(self.evidence))]
        if missing:
            raise ValueError(f"no code for {sorted(missing)}")
        return self


class TherapeuticImplicationCodes(MappingModel):
    profile: str
    categories: tuple[CodeRef, ...]
    code: CodeRef
    implication: CodeRef
    resistant: CodeRef
    medication_assessed: CodeRef
    evidence_level: CodeRef


class ReportCodes(MappingModel):
    """The DiagnosticReport's LOINC ``code`` (beside the service's own) and ``category`` (inbox routing)."""

    code: CodeRef
    categories: tuple[CodeRef, ...]


class OutputUnits(MappingModel):
    millimetre: UcumUnit
    percent: UcumUnit


class OutputCodes(MappingModel):
    systems: dict[str, str]
    disease_status: DiseaseStatusCodes
    response_ncit: dict[str, CodeRef]
    therapeutic_implication: TherapeuticImplicationCodes
    report: ReportCodes
    units: OutputUnits

    @model_validator(mode="after")
    def _systems_are_declared(self) -> OutputCodes:
        unknown = {ref.system for ref in self._refs()} - set(self.systems) - {"ucum"}
        if unknown or "ucum" not in self.systems:
            raise ValueError(f"code systems not declared in systems: {sorted(unknown) or ['ucum']}")
        return self

    def _refs(self) -> list[CodeRef]:
        status, implication = self.disease_status, self.therapeutic_implication
        return [
            status.code,
            *status.values.values(),
            *status.evidence.values(),
            *self.response_ncit.values(),
            *implication.categories,
            implication.code,
            implication.implication,
            implication.resistant,
            implication.medication_assessed,
            implication.evidence_level,
            self.report.code,
            *self.report.categories,
        ]

    def resolve(self, ref: CodeRef) -> ExternalCode:
        return ExternalCode(self.systems[ref.system], ref.code, ref.display)

    @property
    def ucum(self) -> str:
        return self.systems["ucum"]
