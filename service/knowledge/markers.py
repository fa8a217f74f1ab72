"""Model of ``mappings/markers.yaml`` (CLINICAL-RULES.md K1-K16), handed to the domain as plain thresholds,
and the K16 neuroendocrine marker codes the inbound reader looks up."""

from __future__ import annotations

from decimal import Decimal
from functools import cached_property
from typing import Literal

from pydantic import Field, model_validator

from service.domain.ctdna import CtdnaThresholds
from service.domain.markers import CeaThresholds
from service.domain.performance import KarnofskyBand, PerformanceThresholds
from service.knowledge.loader import MappingModel

Fraction = Field(ge=0, le=1)


class CeaSettings(MappingModel):
    default_uln: Decimal = Field(gt=0)
    rise_rel: Decimal = Field(gt=0)
    doubling_factor: Decimal = Field(gt=1)
    confirm_min_days: int = Field(ge=0)
    confirm_max_days: int = Field(ge=0)
    early_surge_days: int = Field(ge=0)
    stable_band: Decimal = Field(ge=0)

    def to_domain(self) -> CeaThresholds:
        return CeaThresholds(**self.model_dump())


class VafBand(MappingModel):
    low: Decimal = Fraction
    high: Decimal = Fraction

    @model_validator(mode="after")
    def _ordered(self) -> VafBand:
        if self.low > self.high:
            raise ValueError("low must not exceed high")
        return self


class CtdnaSettings(MappingModel):
    chip_genes: tuple[str, ...]
    chip_variants: tuple[str, ...]
    germline_vaf_bands: tuple[VafBand, ...]
    molecular_response_fall: Decimal = Field(gt=0, le=1)
    first_draw_max_days: int = Field(gt=0)
    progression_rise: Decimal = Field(gt=0)
    mrd_negative_interval_days: int = Field(gt=0)

    def to_domain(self) -> CtdnaThresholds:
        return CtdnaThresholds(
            chip_genes=frozenset(g.upper() for g in self.chip_genes),
            chip_variants=frozenset(self.chip_variants),
            germline_vaf_bands=tuple((b.low, b.high) for b in self.germline_vaf_bands),
            molecular_response_fall=self.molecular_response_fall,
            first_draw_max_days=self.first_draw_max_days,
            progression_rise=self.progression_rise,
            mrd_negative_interval_days=self.mrd_negative_interval_days,
        )


EcogScore = Field(ge=0, le=5)
KarnofskyScore = Field(ge=0, le=100)


class KarnofskyToEcog(MappingModel):
    low: int = KarnofskyScore
    high: int = KarnofskyScore
    ecog: int = EcogScore


class PerformanceSettings(MappingModel):
    deterioration_points: int = Field(ge=1, le=5)
    baseline_window_days: int = Field(ge=0)
    symptomatic_min: int = EcogScore
    poor_min: int = EcogScore
    karnofsky_to_ecog: tuple[KarnofskyToEcog, ...] = Field(min_length=1)

    def to_domain(self) -> PerformanceThresholds:
        bands = tuple(KarnofskyBand(b.low, b.high, b.ecog) for b in self.karnofsky_to_ecog)
        return PerformanceThresholds(
            self.deterioration_points, self.baseline_window_days, self.symptomatic_min, self.poor_min, bands
        )


class MarkerCode(MappingModel):
    system: str
    code: str
    display: str = ""


class TumourMarker(MappingModel):
    """K16: a marker read inbound besides CEA (coded in loinc.yaml), by LOINC or a site's local code."""

    concept: Literal["nse", "progrp"]
    display: str
    units: dict[str, Decimal] = Field(min_length=1)
    codes: tuple[MarkerCode, ...] = Field(min_length=1)


class MarkerSettings(MappingModel):
    cea: CeaSettings
    ctdna: CtdnaSettings
    performance_status: PerformanceSettings
    neuroendocrine: tuple[TumourMarker, ...]

    @cached_property
    def _by_code(self) -> dict[tuple[str, str], TumourMarker]:
        return {(c.system, c.code): marker for marker in self.neuroendocrine for c in marker.codes}

    def marker(self, system: str | None, code: str | None) -> TumourMarker | None:
        """The K16 marker a coding means, or None."""
        return self._by_code.get((system or "", code or ""))
