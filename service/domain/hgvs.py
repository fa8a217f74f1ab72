"""Protein-change names in one form (CLINICAL-RULES.md section 5 matches ``T790M`` however a lab writes it).

``NP_005219.2:p.(Thr790Met)``, ``p.Thr790Met``, ``p.T790M`` and ``T790M`` all read as the same change. HGVS
allele notation (varnomen.hgvs.org/recommendations/protein/variant/alleles) gives the phase that X2/X3 need:
``p.[Thr790Met;Cys797Ser]`` is one allele (cis), ``p.[Thr790Met];[Cys797Ser]`` two alleles (trans).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

# IUPAC-IUB three-letter amino-acid codes (HGVS protein nomenclature); Ter is the stop codon.
THREE_TO_ONE = {
    "Ala": "A", "Arg": "R", "Asn": "N", "Asp": "D", "Cys": "C", "Gln": "Q", "Glu": "E", "Gly": "G",
    "His": "H", "Ile": "I", "Leu": "L", "Lys": "K", "Met": "M", "Phe": "F", "Pro": "P", "Ser": "S",
    "Thr": "T", "Trp": "W", "Tyr": "Y", "Val": "V", "Sec": "U", "Pyl": "O", "Ter": "*", "Xaa": "X",
}  # fmt: skip
_THREE = re.compile("|".join(THREE_TO_ONE))
_CHANGE = re.compile(r"^([A-Z*])(\d+)(?:_([A-Z*])(\d+))?(.*)$")
_ALLELE = re.compile(r"\[([^\]]*)\]")
ANY_RESIDUE = "X"  # in a pattern, D1228X is any substitution at codon 1228


@dataclass(frozen=True, slots=True)
class ProteinChange:
    """One change in one-letter form: ``kind`` is sub, del, delins, ins, dup, fs, syn or other."""

    ref: str
    position: int
    end_ref: str
    end_position: int
    kind: str
    alt: str

    @property
    def name(self) -> str:
        end = f"_{self.end_ref}{self.end_position}" if self.end_position != self.position else ""
        suffix = {"sub": self.alt, "other": self.alt, "syn": "="}.get(self.kind, f"{self.kind}{self.alt}")
        return f"{self.ref}{self.position}{end}{suffix}"

    def matches(self, pattern: ProteinChange) -> bool:
        """Equal, or a substitution at the pattern's codon when the pattern's new residue is X."""
        if pattern.kind == "sub" and pattern.alt == ANY_RESIDUE:
            return self.kind == "sub" and (self.ref, self.position) == (pattern.ref, pattern.position)
        return self == pattern


@lru_cache(maxsize=1024)  # a pure function of the text, asked again by each rule that reads a variant
def parse_alleles(text: str | None) -> tuple[tuple[ProteinChange, ...], ...]:
    """The alleles a p.HGVS text describes, each a tuple of changes; () when nothing is readable."""
    body = _strip(text or "")
    groups = _ALLELE.findall(body) if body.startswith("[") else [body]
    alleles = (tuple(c for part in group.split(";") if (c := parse_change(part))) for group in groups)
    return tuple(allele for allele in alleles if allele)


def parse_change(text: str) -> ProteinChange | None:
    """One change such as ``Thr790Met``, ``T790M``, ``E746_A750del`` or ``Glu746_Ala750delinsGln``."""
    match = _CHANGE.match(_THREE.sub(lambda m: THREE_TO_ONE[m.group()], text.strip().removeprefix("p.")))
    if match is None:
        return None
    ref, start, end_ref, end, rest = match.groups()
    kind, alt = _kind(rest)
    if end is None:
        return ProteinChange(ref, int(start), ref, int(start), kind, alt)
    return ProteinChange(ref, int(start), end_ref, int(end), kind, alt)


def _strip(text: str) -> str:
    """Drop the accession (``NP_005219.2:``), a gene or word before the change, ``p.`` and ``( )``."""
    tail = text.strip().rsplit(":", 1)[-1].split()
    body = tail[-1] if tail else ""
    body = body.removeprefix("p.")
    return body.replace("(", "").replace(")", "")


def _kind(rest: str) -> tuple[str, str]:
    if len(rest) == 1 and (rest.isupper() or rest == "*"):
        return "sub", rest
    if rest == "=":
        return "syn", ""
    for kind in ("delins", "del", "ins", "dup", "fs"):
        if rest.startswith(kind):
            return kind, rest.removeprefix(kind)
    return "other", rest
