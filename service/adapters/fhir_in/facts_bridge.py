"""The ingest use case's normaliser port, served by :func:`normalise`: facts grouped by the resource they
came from, as domain objects (only the store encodes them, issue 17)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from service.adapters.fhir_in.bundles import PlannedEntry
from service.adapters.fhir_in.normalise import normalise
from service.adapters.fhir_in.references import Entry
from service.adapters.fhir_in.versions import FhirVersion
from service.app.ingest import NormalisedFacts
from service.domain.facts import Fact
from service.knowledge import Knowledge


@dataclass(frozen=True, slots=True)
class FhirNormaliser:
    knowledge: Knowledge
    canonical_base: str

    def __call__(self, planned: Sequence[PlannedEntry], version: FhirVersion) -> NormalisedFacts:
        entries = [Entry(p.index, p.full_url, p.resource) for p in planned]
        result = normalise(entries, self.knowledge, self.canonical_base, version)
        by_source: dict[str, list[Fact]] = {}
        for fact in result.facts:
            by_source.setdefault(fact.source, []).append(fact)
        return NormalisedFacts(by_source, result.issues)
