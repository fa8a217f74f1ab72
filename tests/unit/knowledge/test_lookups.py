"""The knowledge lookups by code (dicts built once) answer as a scan of the file's entries would: the first
entry of a code wins, and an absent system or code finds nothing."""

from __future__ import annotations

from decimal import Decimal

from service.knowledge.catalog import LengthUnit, Units
from service.knowledge.hotspots import Gene, Hotspots
from service.knowledge.vocabularies import (
    Histology,
    HistologyCode,
    PerformanceScores,
    ScoreCode,
    SpecimenType,
    SpecimenTypes,
)

UCUM = "http://unitsofmeasure.org"


def test_units_first_factor_of_a_code_wins() -> None:
    """A unit listed twice is read with its first factor; another system or no code gives none."""
    units = Units(
        system=UCUM,
        length=(LengthUnit(code="cm", to_mm=Decimal(10)), LengthUnit(code="cm", to_mm=Decimal(1))),
    )
    assert units.factor_to_mm(UCUM, "cm") == Decimal(10)
    assert units.factor_to_mm(UCUM, None) is None
    assert units.factor_to_mm("other", "cm") is None


def test_gene_symbol_first_of_an_id_wins() -> None:
    """An HGNC id listed twice names its first symbol; no id names none."""
    genes = (Gene(hgnc="HGNC:1", symbol="A"), Gene(hgnc="HGNC:1", symbol="B"))
    hotspots = Hotspots(builds=(), accessions=(), hotspots=(), genes=genes)
    assert hotspots.gene_symbol("HGNC:1") == "A"
    assert hotspots.gene_symbol(None) is None


def test_scores_first_of_a_code_wins_on_each_scale() -> None:
    """Each scale has its own codes; a code listed twice scores its first entry."""
    scores = PerformanceScores(
        system="s",
        ecog=(ScoreCode(code="a", score=1), ScoreCode(code="a", score=2)),
        ecog_range=(0, 5),
        karnofsky=(ScoreCode(code="a", score=90),),
        karnofsky_range=(0, 100),
    )
    assert scores.score("ecog", "s", "a") == 1
    assert scores.score("karnofsky", "s", "a") == 90
    assert scores.score("ecog", "s", None) is None
    assert scores.score("ecog", "t", "a") is None


def test_specimen_kind_and_histology_match_system_and_code() -> None:
    """Both the system and the code must match; the first entry of a pair wins."""
    types = SpecimenTypes(
        types=(
            SpecimenType(system="s", code="c", kind="plasma"),
            SpecimenType(system="s", code="c", kind="blood"),
        )
    )
    assert types.kind("s", "c") == "plasma"
    assert types.kind("t", "c") is None
    assert types.kind(None, None) is None
    first = HistologyCode(system="s", code="c", histology="adenocarcinoma")
    histology = Histology(
        morphology_extension="u",
        codes=(first, HistologyCode(system="s", code="c", histology="other")),
    )
    assert histology.lookup("s", "c") is first
    assert histology.lookup("s", None) is None
