"""Plain-object builders for the marker, ctDNA, resistance and pattern tests: one fact per line, no fixtures.

``RESISTANCE`` is the committed knowledge base (mappings/resistance.yaml) as the domain receives it, so the
X-rule tests check the data as well as the matcher.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from service.domain.ctdna import CtdnaThresholds
from service.domain.facts import (
    CancerCondition,
    HistologyFact,
    MarkerResult,
    MolecularCall,
    MrdResult,
    PerformanceScale,
    PerformanceStatus,
    SourceCode,
    SpecimenKind,
    VariantFact,
    VariantPresence,
)
from service.domain.markers import CeaThresholds
from service.domain.performance import KarnofskyBand, PerformanceThresholds
from service.knowledge.loader import load_mapping
from service.knowledge.resistance import ResistanceKnowledgeBase
from tests.conftest import REPO

DAY_0 = dt.date(2026, 1, 5)  # therapy start, as in /work/shared/examples
PATIENT = "Patient/p"
# The values of mappings/markers.yaml; tests/unit/knowledge/test_marker_settings.py checks the file agrees.
CEA = CeaThresholds(
    default_uln=Decimal(5),
    rise_rel=Decimal("0.30"),
    doubling_factor=Decimal(2),
    confirm_min_days=14,
    confirm_max_days=42,
    early_surge_days=56,
    stable_band=Decimal("0.10"),
)
CTDNA = CtdnaThresholds(
    chip_genes=frozenset({"DNMT3A", "TET2", "ASXL1", "PPM1D"}),
    chip_variants=frozenset({"JAK2 V617F"}),
    germline_vaf_bands=((Decimal("0.40"), Decimal("0.60")), (Decimal("0.90"), Decimal(1))),
    molecular_response_fall=Decimal("0.50"),
    first_draw_max_days=70,
    progression_rise=Decimal("1.0"),
    mrd_negative_interval_days=56,
)
PS = PerformanceThresholds(
    deterioration_points=1,
    baseline_window_days=28,
    symptomatic_min=2,
    poor_min=3,
    karnofsky=tuple(
        KarnofskyBand(low, high, ecog)
        for low, high, ecog in ((100, 100, 0), (80, 90, 1), (60, 70, 2), (40, 50, 3), (10, 30, 4), (0, 0, 5))
    ),
)
RESISTANCE = load_mapping(REPO / "mappings" / "resistance.yaml", ResistanceKnowledgeBase).to_domain()
PLASMA, TISSUE, BLOOD, UNKNOWN = (
    SpecimenKind.PLASMA,
    SpecimenKind.TISSUE,
    SpecimenKind.BLOOD,
    SpecimenKind.UNKNOWN,
)


def day(n: int) -> dt.date:
    return DAY_0 + dt.timedelta(days=n)


def variant(
    gene: str,
    protein: str | None = None,
    *,
    on: int = 240,
    kind: SpecimenKind = PLASMA,
    vaf: str | None = "0.03",
    copies: str | None = None,
    ratio: str | None = None,
    source: str | None = None,
    present: bool = True,
    origin: str | None = "somatic",
    specimen: str | None = None,
) -> VariantFact:
    return VariantFact(
        patient=PATIENT,
        source=source or f"Observation/{gene}-{protein}-{on}-{kind}",
        presence=VariantPresence.PRESENT if present else VariantPresence.ABSENT,
        gene=gene,
        hgnc_id=None,
        coding_hgvs=None,
        protein_hgvs=protein,
        genomic_hgvs=None,
        allele_fraction=Decimal(vaf) if vaf is not None else None,
        copy_number=Decimal(copies) if copies is not None else None,
        genomic_source=origin,
        specimen_kind=kind,
        specimen=specimen or f"Specimen/{kind}-{on}",
        observed_on=day(on),
        observed_at=None,
        copy_ratio=Decimal(ratio) if ratio is not None else None,
    )


def histology(name: str, *, on: int | None = 240, small_cell: bool = False) -> HistologyFact:
    code = SourceCode("http://terminology.hl7.org/CodeSystem/icd-o-3", "8041/3")
    when = day(on) if on is not None else None
    return HistologyFact(PATIENT, f"Observation/histology-{name}", name, small_cell, code, when)


def condition(name: str, *, onset: int | None = -60) -> CancerCondition:
    code = SourceCode("http://snomed.info/sct", "254637007")
    when = day(onset) if onset is not None else None
    return CancerCondition(PATIENT, f"Condition/{name}", code, name, False, "active", when)


def cea(value: str, on: int, *, uln: str | None = "5") -> MarkerResult:
    limit = Decimal(uln) if uln is not None else None
    return MarkerResult(
        PATIENT, f"Observation/cea-{on}", "cea", Decimal(value), "ng/mL", limit, day(on), None
    )


def ecog(score: int, on: int) -> PerformanceStatus:
    return PerformanceStatus(PATIENT, f"Observation/ecog-{on}", PerformanceScale.ECOG, score, day(on), None)


def mrd(call: MolecularCall | None, on: int) -> MrdResult:
    return MrdResult(PATIENT, f"Observation/mrd-{on}", call, None, None, day(on), None)
