"""Model of ``mappings/patterns.yaml`` (CLINICAL-RULES.md P1-P4), handed to the domain as plain thresholds."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from service.domain.patterns import PatternThresholds
from service.knowledge.loader import MappingModel


class PatternSettings(MappingModel):
    site_abs_mm: Decimal = Field(gt=0)
    site_rel: Decimal = Field(gt=0)
    oligo_max_sites: int = Field(ge=1)
    cns_organs: tuple[str, ...]

    def to_domain(self) -> PatternThresholds:
        organs = frozenset(self.cns_organs)
        return PatternThresholds(self.site_abs_mm, self.site_rel, self.oligo_max_sites, organs)
