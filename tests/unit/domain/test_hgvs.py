"""Protein changes read the same however a lab writes them (CLINICAL-RULES.md section 5 matching)."""

from __future__ import annotations

import pytest

from service.domain.hgvs import parse_alleles, parse_change


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("T790M", [["T790M"]]),
        ("p.T790M", [["T790M"]]),
        ("p.Thr790Met", [["T790M"]]),
        ("p.(Thr790Met)", [["T790M"]]),
        ("NP_005219.2:p.(Thr790Met)", [["T790M"]]),
        ("EGFR p.T790M", [["T790M"]]),
        ("p.Glu746_Ala750del", [["E746_A750del"]]),
        ("p.E746_A750delinsQ", [["E746_A750delinsQ"]]),
        ("p.Leu747_Thr751delinsPro", [["L747_T751delinsP"]]),
        ("p.Arg1000Ter", [["R1000*"]]),
        ("p.Leu747fsTer3", [["L747fs*3"]]),
        ("p.Leu858=", [["L858="]]),
        ("p.Ala767_Val769dup", [["A767_V769dup"]]),
        ("p.His773_Val774insAsn", [["H773_V774insN"]]),
        ("p.Met1?", [["M1?"]]),
        ("p.[Thr790Met;Cys797Ser]", [["T790M", "C797S"]]),
        ("p.[Thr790Met];[Cys797Ser]", [["T790M"], ["C797S"]]),
        ("p.T790M;p.C797S", [["T790M", "C797S"]]),
        ("p.?", []),
        ("c.2369C>T", []),
        ("", []),
        (None, []),
    ],
)
def test_protein_change_forms(text: str | None, names: list[list[str]]) -> None:
    """One-letter, three-letter, accession-prefixed, predicted and allele forms normalise to one name."""
    assert [[change.name for change in allele] for allele in parse_alleles(text)] == names


@pytest.mark.parametrize(
    ("observed", "pattern", "matches"),
    [
        ("T790M", "T790M", True),
        ("T790M", "T790L", False),
        ("D1228N", "D1228X", True),
        ("D1228N", "Y1230X", False),
        ("D1228del", "D1228X", False),
        ("E746_A750del", "E746_A750del", True),
    ],
)
def test_pattern_matching(observed: str, pattern: str, matches: bool) -> None:
    """A pattern's new residue X is any substitution at that codon; otherwise changes must be equal."""
    change, wanted = parse_change(observed), parse_change(pattern)
    assert change is not None and wanted is not None
    assert change.matches(wanted) is matches
