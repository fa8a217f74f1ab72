"""What every per-resource reader needs: the vocabularies, the posted set, the FHIR version and today."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from service.adapters.fhir_in.elements import Coding, Node
from service.adapters.fhir_in.references import References
from service.adapters.fhir_in.versions import FhirVersion
from service.knowledge import Knowledge
from service.knowledge.vocabularies import ResolvedLocalCodes

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Context:
    knowledge: Knowledge
    local: ResolvedLocalCodes  # observation-codes.yaml joined with the canonical base
    references: References
    version: FhirVersion
    today: date
    imaging_reports: Mapping[str, str]  # Observation/id → the imaging DiagnosticReport listing it in `result`
    # What was read of each ImagingStudy during this normalise call, by its name and the resource it resolved
    # to: every lesion of a time point names the same study, now read once (issue 19); its issues were
    # reported once either way (normalise drops repeats).
    studies: dict[tuple[str, int | None], Any] = field(default_factory=dict)
    # The same for each part of a resource that :meth:`once` reads (a lesion's BodyStructure, named at every
    # time point), by the reading, the resource and its path.
    read: dict[tuple[Callable[..., Any], int, str], Any] = field(default_factory=dict)
    # What the lesion fast path (plain_lesions.py) worked out from values alone, by those values: a lesion's
    # sites and words, a size in mm; each time point repeats them.
    worked_out: dict[tuple[Any, ...], Any] = field(default_factory=dict)
    concepts: dict[Coding, str | None] = field(default_factory=dict)  # :meth:`concept`'s answers

    def concept(self, coding: Coding) -> str | None:
        """The internal concept of a code: a LOINC code of loinc.yaml, else a local code of
        observation-codes.yaml (the service's own and the codes a site maps); once per call for each
        coding (every time point sends the same component codes)."""
        if coding in self.concepts:
            return self.concepts[coding]
        entry = self.knowledge.loinc.entry(coding.system, coding.code)
        found: str | None = entry.concept if entry is not None else None
        if found is None:
            found = self.local.concepts.get((coding.system or "", coding.code or ""))
        self.concepts[coding] = found
        return found

    def once(self, reading: Callable[[Node, Context], T], node: Node) -> T:
        """``reading(node, self)``, done once per call for each resource: a reading depends only on the
        resource and this context, and the issues it reports are reported once either way (normalise drops
        repeats), at the same point, its first reading."""
        key = (reading, id(node.data), node.path)
        if key not in self.read:
            self.read[key] = reading(node, self)
        found: T = self.read[key]
        return found

    def resolve(self, node: Node, reference: str | None) -> Node | None:
        """The referenced resource in the posted set as a Node whose paths lead to its own entry."""
        resource = self.references.resolve(reference, node.data)
        if resource is None:
            return None
        return Node(resource, self.references.path_of(resource) or node.path, node.issues)

    def name(self, node: Node, key: str, container: dict[str, Any]) -> str | None:
        """The ``Type/id`` name of the Reference at ``node.key``."""
        return self.references.name(node.reference(key), container)

    def named(self, reference: Node, container: dict[str, Any]) -> str | None:
        """The ``Type/id`` name of a Reference node (an item of ``performer``, ``derivedFrom`` ...)."""
        return self.references.name(reference.text("reference"), container)

    def patient(self, node: Node, key: str = "subject") -> str | None:
        """The patient a resource is about; a resource without one is kept but not used (a warning)."""
        name = self.name(node, key, node.data)
        if name is None or not name.startswith("Patient/"):
            node.issues.warning(node.at(key), "no Patient reference; kept, not used", "incomplete")
            return None
        return name
