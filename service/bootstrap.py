"""The one composition root (HOUSE-STYLE rule 5): the API, the CLI and the tests all build through here."""

from __future__ import annotations

from dataclasses import dataclass

from service.adapters.store import SqlStore
from service.app.ports import Store
from service.config import Settings
from service.knowledge import Knowledge, load_knowledge


@dataclass(frozen=True, slots=True)
class Container:
    settings: Settings
    knowledge: Knowledge
    store: Store


def build(settings: Settings, *, store: Store | None = None, knowledge: Knowledge | None = None) -> Container:
    """Load the mappings (raising MappingError if one is invalid) and wire the adapters."""
    return Container(
        settings=settings,
        knowledge=knowledge or load_knowledge(settings.mappings_dir),
        store=store or SqlStore(settings.database_url),
    )
