"""ctDNA kinetics K5-K8 and MRD K10 (CLINICAL-RULES.md section 4); PS is in test_performance_v02.py."""

# ruff: noqa: N802  # test names carry the rule IDs of CLINICAL-RULES.md (test_K7_...), as issue 5 asks

from __future__ import annotations

import pytest

from service.domain.ctdna import assess_ctdna, assess_mrd, variant_key
from service.domain.facts import MolecularCall, VariantFact
from service.domain.rules import Flag, Rule
from tests.unit.domain.fact_builders import (
    CTDNA,
    DAY_0,
    RESISTANCE,
    TISSUE,
    mrd,
    variant,
)

EGFR = frozenset({"EGFR"})


def ctdna(*facts: VariantFact, drivers: frozenset[str] = EGFR) -> tuple[Flag, ...]:
    genes = RESISTANCE.resistance_genes
    result = assess_ctdna(
        facts, CTDNA, therapy_started_on=DAY_0, resistance_genes=genes, driver_genes=drivers
    )
    return result.flags


def test_K5_variant_keys_are_normalised() -> None:
    """K5: a variant is keyed by gene and one-letter change, else its coding HGVS, else the gene."""
    assert variant_key(variant("EGFR", "NP_005219.2:p.(Thr790Met)")) == "EGFR T790M"
    assert variant_key(variant("MET", copies="8")) == "MET"


@pytest.mark.parametrize(
    ("fact", "tracked"),
    [
        (variant("EGFR", "p.L858R", on=-5, vaf="0.20"), True),
        (variant("TET2", "p.R1216*", on=-5, vaf="0.02"), False),
        (variant("JAK2", "p.V617F", on=-5, vaf="0.02"), False),
        (variant("TP53", "p.R273H", on=-5, vaf="0.48"), False),
        (variant("TP53", "p.R273H", on=-5, vaf="0.97"), False),
        (variant("BRCA2", "p.K3326*", on=-5, vaf="0.02", origin="germline"), False),
        (variant("EGFR", "p.L858R", on=-5, kind=TISSUE), False),
    ],
)
def test_K6_tracked_variants_exclude_chip_and_germline(fact: VariantFact, tracked: bool) -> None:
    """K6: CHIP genes, JAK2 V617F, germline calls and germline-range VAFs are not tracked; nor is tissue."""
    result = assess_ctdna([fact], CTDNA, therapy_started_on=DAY_0)
    assert bool(result.tracked) is tracked


def test_K6_chip_gene_tracked_when_tissue_shows_it() -> None:
    """K6: a CHIP-gene variant also present in tissue is tumour-derived and tracked."""
    facts = [variant("TET2", "p.R1216*", on=-5), variant("TET2", "p.Arg1216Ter", on=-20, kind=TISSUE)]
    assert assess_ctdna(facts, CTDNA, therapy_started_on=DAY_0).tracked == ("TET2 R1216*",)


@pytest.mark.parametrize(
    ("baseline", "first", "first_day", "flags"),
    [
        ("0.20", "0.10", 42, [Flag.MOLECULAR_RESPONSE]),
        ("0.20", "0.11", 42, []),
        ("0.20", "0.05", 80, []),
        ("0.20", None, 42, [Flag.MOLECULAR_RESPONSE, Flag.CTDNA_CLEARANCE]),
    ],
)
def test_K7_molecular_response_at_the_first_draw(
    baseline: str, first: str | None, first_day: int, flags: list[Flag]
) -> None:
    """K7: the tracked mean falls >= 50 % at the first draw on treatment (<= 10 weeks); none left clears."""
    later = variant("EGFR", "p.L858R", on=first_day, vaf=first, present=first is not None)
    assert list(ctdna(variant("EGFR", "p.L858R", on=-5, vaf=baseline), later)) == flags


def test_K7_mean_over_several_tracked_variants() -> None:
    """K7: the mean covers every tracked variant; one variant falling is not enough when the other rises."""
    base = [variant("EGFR", "p.L858R", on=-5, vaf="0.20"), variant("TP53", "p.R273H", on=-5, vaf="0.10")]
    first = [variant("EGFR", "p.L858R", on=42, vaf="0.02"), variant("TP53", "p.R273H", on=42, vaf="0.14")]
    assert ctdna(*base, *first) == ()


def test_K7_clearance_needs_an_earlier_detection_and_an_on_therapy_draw() -> None:
    """K7: a draw with nothing tracked is clearance only after a detection, and only on therapy."""
    assert ctdna(variant("EGFR", "p.L858R", on=50, present=False)) == ()
    assert ctdna(variant("EGFR", "p.L858R", on=-50), variant("EGFR", "p.L858R", on=-5, present=False)) == ()


def test_K8_new_resistance_variant_example_seed_t790m() -> None:
    """K8: plasma T790M at progression, not seen before, is molecular progression (investigational)."""
    tissue = variant("EGFR", "p.L858R", on=-40, kind=TISSUE)
    plasma = [variant("EGFR", "p.L858R", on=240, vaf="0.07"), variant("EGFR", "p.T790M", on=240)]
    result = assess_ctdna(
        [tissue, *plasma], CTDNA, therapy_started_on=DAY_0, resistance_genes=RESISTANCE.resistance_genes
    )
    assert result.flags == (Flag.MOLECULAR_PROGRESSION,) and result.investigational == result.flags
    assert result.new_resistance_variants == ("EGFR T790M",) and Rule.K8 in result.rules
    assert result.evidence == tuple(p.source for p in plasma)


def test_K8_first_ever_result_is_not_new() -> None:
    """K8: without any earlier result nothing can be called new."""
    assert ctdna(variant("EGFR", "p.T790M", on=240)) == ()


@pytest.mark.parametrize(
    ("draws", "progression"),
    [
        ([("0.04", 100), ("0.02", 150), ("0.04", 200)], True),
        ([("0.04", 100), ("0.02", 150), ("0.039", 200)], False),
        ([("0.04", 100), (None, 150), ("0.01", 200)], True),
    ],
)
def test_K8_rise_over_nadir_or_driver_back(draws: list[tuple[str | None, int]], progression: bool) -> None:
    """K8: a tracked sum >= 2x its earlier nadir, or a driver undetectable then detectable again."""
    facts = [variant("EGFR", "p.L858R", on=d, vaf=v, present=v is not None) for v, d in draws]
    assert (Flag.MOLECULAR_PROGRESSION in ctdna(*facts)) is progression


def test_K8_non_driver_back_from_zero_is_not_progression() -> None:
    """K8: only a driver counts when it comes back from undetectable (the nadir is 0, no ratio)."""
    facts = [variant("TP53", "p.R273H", on=100), variant("TP53", "p.R273H", on=150, present=False)]
    assert ctdna(*facts, variant("TP53", "p.R273H", on=200)) == ()


def test_no_plasma_no_rules() -> None:
    """Without plasma draws nothing is assessed."""
    result = assess_ctdna([variant("EGFR", "p.L858R", kind=TISSUE)], CTDNA, therapy_started_on=None)
    assert result.rules == () and result.draws == () and result.baseline is None


@pytest.mark.parametrize(
    ("calls", "imaging_pd", "persistent"),
    [
        ([(MolecularCall.NEGATIVE, 0), (MolecularCall.NEGATIVE, 56)], False, True),
        ([(MolecularCall.NEGATIVE, 0), (MolecularCall.NEGATIVE, 55)], False, False),
        ([(MolecularCall.NEGATIVE, 0), (MolecularCall.NEGATIVE, 60)], True, False),
        (
            [(MolecularCall.NEGATIVE, 0), (MolecularCall.POSITIVE, 30), (MolecularCall.NEGATIVE, 90)],
            False,
            False,
        ),
        (
            [(MolecularCall.POSITIVE, 0), (MolecularCall.NEGATIVE, 30), (MolecularCall.NEGATIVE, 90)],
            False,
            True,
        ),
        ([(MolecularCall.NEGATIVE, 0), (None, 90)], False, False),
    ],
)
def test_K10_mrd_persistent_negative(calls: list, imaging_pd: bool, persistent: bool) -> None:
    """K10: >= 2 consecutive negatives >= 8 weeks apart without imaging PD; never without the caveat."""
    result = assess_mrd([mrd(call, on) for call, on in calls], CTDNA, imaging_pd=imaging_pd)
    assert result.flags[0] is Flag.MRD_NOT_VALIDATED_FOR_DECISIONS and result.rules == (Rule.K10,)
    assert (Flag.MRD_PERSISTENT_NEGATIVE in result.flags) is persistent
    assert assess_mrd([], CTDNA, imaging_pd=False).flags == ()
