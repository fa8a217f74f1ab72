"""Loads ``mappings/`` into typed, immutable objects at start-up (HOUSE-STYLE.md rule 3)."""

from service.knowledge.catalog import Knowledge, load_knowledge
from service.knowledge.loader import MappingError

__all__ = ["Knowledge", "MappingError", "load_knowledge"]
