"""The model of ``mappings/drugs.yaml`` (CLINICAL-RULES.md R3, R4, R8, R9): drug classes and their role in a
line of therapy, ATC group prefixes, and each drug by RxNorm or ATC code and by name."""

from __future__ import annotations

from functools import cached_property
from typing import Literal

from pydantic import Field, model_validator

from service.domain.therapy_lines import UNMAPPED, DrugRole
from service.knowledge.loader import MappingModel

Key = tuple[str, str]


class DrugSystems(MappingModel):
    rxnorm: str
    atc: str


class DrugClass(MappingModel):
    id: str
    label: str
    role: DrugRole
    criteria: Literal["recist-1.1", "irecist"] = "recist-1.1"
    targeted: bool = False


class AtcGroup(MappingModel):
    """An ATC group prefix standing for a class, for a drug not listed itself (CLINICAL-RULES.md R3, R4)."""

    prefix: str
    class_: str = Field(alias="class")


class Drug(MappingModel):
    name: str
    class_: str = Field(alias="class")
    rxnorm: tuple[str, ...]
    atc: tuple[str, ...]
    aliases: tuple[str, ...]


class Drugs(MappingModel):
    systems: DrugSystems
    classes: tuple[DrugClass, ...]
    atc_groups: tuple[AtcGroup, ...] = ()
    drugs: tuple[Drug, ...]

    @model_validator(mode="after")
    def _classes_are_declared(self) -> Drugs:
        declared = {c.id for c in self.classes}
        for owner, class_id in [*((f"drug {d.name}", d.class_) for d in self.drugs),
                                *((f"ATC group {g.prefix}", g.class_) for g in self.atc_groups)]:  # fmt: skip
            if class_id not in declared:
                raise ValueError(f"{owner}: class {class_id} is not in classes")
        if UNMAPPED not in declared:
            raise ValueError(f"classes must declare '{UNMAPPED}' (R4: a drug not recognised is flagged)")
        return self

    @cached_property
    def roles(self) -> dict[str, DrugRole]:
        """Each class's role in a line of therapy, the domain's view of this file (R3, R4, R8, R9)."""
        return {c.id: c.role for c in self.classes}

    def atc_group(self, system: str | None, code: str | None) -> str | None:
        """The class of the longest ATC group prefix that ``code`` starts with (R3: L01 is antineoplastic,
        H02 a corticosteroid, ...); None for another system or no matching group."""
        if system != self.systems.atc or not code:
            return None
        groups = [g for g in self.atc_groups if code.upper().startswith(g.prefix)]
        return max(groups, key=lambda g: len(g.prefix)).class_ if groups else None

    @cached_property
    def _by_code(self) -> dict[Key, Drug]:
        index = {(self.systems.rxnorm, code): d for d in self.drugs for code in d.rxnorm}
        return index | {(self.systems.atc, code): d for d in self.drugs for code in d.atc}

    @cached_property
    def _by_name(self) -> dict[str, Drug]:
        return {name.casefold(): d for d in self.drugs for name in (d.name, *d.aliases)}

    def by_code(self, system: str | None, code: str | None) -> Drug | None:
        return self._by_code.get((system or "", code or ""))

    def by_name(self, text: str | None) -> Drug | None:
        return self._by_name.get((text or "").strip().casefold())
