"""Model of ``mappings/patterns.yaml`` (CLINICAL-RULES.md P1-P7), handed to the domain as plain thresholds."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from service.domain.pattern_sites import SiteVocabulary
from service.domain.patterns import PatternThresholds
from service.knowledge.loader import MappingModel


class SiteCode(MappingModel):
    code: str = Field(min_length=1)
    display: str


class SiteKindTerms(MappingModel):
    """The codes and the words of one kind of site (P5, P6 or P7)."""

    codes: tuple[SiteCode, ...] = ()
    words: tuple[str, ...] = Field(min_length=1)


class SiteSettings(MappingModel):
    system: str
    cns: SiteKindTerms
    leptomeningeal: SiteKindTerms
    diffuse: SiteKindTerms

    def to_domain(self) -> SiteVocabulary:
        def codes(kind: SiteKindTerms) -> frozenset[tuple[str, str]]:
            return frozenset((self.system, c.code) for c in kind.codes)

        return SiteVocabulary(
            code_systems=frozenset({self.system}),
            cns_codes=codes(self.cns),
            leptomeningeal_codes=codes(self.leptomeningeal),
            diffuse_codes=codes(self.diffuse),
            cns_words=self.cns.words,
            leptomeningeal_words=self.leptomeningeal.words,
            diffuse_words=self.diffuse.words,
        )


class PatternSettings(MappingModel):
    site_abs_mm: Decimal = Field(gt=0)
    site_rel: Decimal = Field(gt=0)
    oligo_max_sites: int = Field(ge=1)
    sites: SiteSettings

    def to_domain(self) -> PatternThresholds:
        sites = self.sites.to_domain()
        return PatternThresholds(self.site_abs_mm, self.site_rel, self.oligo_max_sites, sites)
