"""Model of ``mappings/markers.yaml`` (CLINICAL-RULES.md K1-K12), handed to the domain as plain thresholds."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field, model_validator

from service.domain.ctdna import CtdnaThresholds
from service.domain.markers import CeaThresholds
from service.domain.performance import PerformanceThresholds
from service.knowledge.loader import MappingModel

Fraction = Field(ge=0, le=1)


class CeaSettings(MappingModel):
    default_uln: Decimal = Field(gt=0)
    rise_rel: Decimal = Field(gt=0)
    doubling_factor: Decimal = Field(gt=1)
    confirm_min_days: int = Field(ge=0)
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


class PerformanceSettings(MappingModel):
    ecog_rise: int = Field(ge=1, le=5)
    ecog_rise_floor: int = Field(ge=0, le=5)
    ecog_any: int = Field(ge=0, le=5)

    def to_domain(self) -> PerformanceThresholds:
        return PerformanceThresholds(self.ecog_rise, self.ecog_rise_floor, self.ecog_any)


class MarkerSettings(MappingModel):
    cea: CeaSettings
    ctdna: CtdnaSettings
    performance_status: PerformanceSettings
