"""The one composition root (HOUSE-STYLE rule 5): the API, the CLI and the tests all build through here."""

from __future__ import annotations

from dataclasses import dataclass

from service.adapters.store import SqlStore
from service.app.ingest import Ingest, Normaliser
from service.app.ports import Store
from service.config import Settings
from service.knowledge import Knowledge, load_knowledge


@dataclass(frozen=True, slots=True)
class Container:
    settings: Settings
    knowledge: Knowledge
    store: Store
    ingest: Ingest


def build(
    settings: Settings,
    *,
    store: Store | None = None,
    knowledge: Knowledge | None = None,
    normaliser: Normaliser | None = None,
) -> Container:
    """Load the mappings (raising MappingError if one is invalid) and wire the adapters."""
    knowledge = knowledge or load_knowledge(settings.mappings_dir)
    store = store or SqlStore(settings.database_url)
    normaliser = normaliser or _fhir_normaliser(knowledge, settings)
    return Container(settings, knowledge, store, Ingest(store, normaliser, settings.strict_validation))


def _fhir_normaliser(knowledge: Knowledge, settings: Settings) -> Normaliser:
    from service.adapters.fhir_in.facts_bridge import FhirNormaliser

    return FhirNormaliser(knowledge, settings.canonical_base)
