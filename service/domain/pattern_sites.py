"""What kind of site a lesion is for the pattern rules (CLINICAL-RULES.md 5.1, P5-P7).

A CNS site (P5) counts like any other site but, alone, is shown as CNS oligoprogression; a leptomeningeal site
(P6) and a diffuse, non-ablatable site (P7) can never be treated radically, so they make progression systemic.

Readings taken where the text leaves room:
- P5 "only when no site code is present": a site code is a code of a terminology the mappings list
  (SNOMED CT); a lesion sent with local codes only is judged by its text.
- P6: a leptomeningeal code, or leptomeningeal words when the lesion has no site code or a CNS one (a code
  outside the CNS wins over the words, as P5 says of conflicting text).
- P7: effusion, carcinomatosis, ascites and lymphangitic spread are kinds of disease rather than places, so
  their words count whatever the site code (pleura + "malignant pleural effusion"); a CNS code still wins.
- Words are matched case-insensitively: an entry ending in ``*`` is a stem (the start of a word), any other
  entry a whole word; entries in Chinese, which has no spaces between words, match anywhere in the text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

SiteCode = tuple[str, str]  # (system, code) as the sender coded the lesion's site


class SiteKind(StrEnum):
    OTHER = "other"
    CNS = "cns"  # P5: brain, spinal cord, meninges
    LEPTOMENINGEAL = "leptomeningeal"  # P6: diffuse CNS compartment, never oligoprogression
    DIFFUSE = "diffuse"  # P7: effusion, serosal or lymphangitic spread, never oligoprogression


@dataclass(frozen=True, slots=True)
class SiteVocabulary:
    """The codes and words of P5-P7, from ``mappings/patterns.yaml``."""

    code_systems: frozenset[str] = frozenset()  # P5: a code of these systems is "a site code"
    cns_codes: frozenset[SiteCode] = frozenset()
    leptomeningeal_codes: frozenset[SiteCode] = frozenset()
    diffuse_codes: frozenset[SiteCode] = frozenset()
    cns_words: tuple[str, ...] = ()
    leptomeningeal_words: tuple[str, ...] = ()
    diffuse_words: tuple[str, ...] = ()


def classify_site(codes: Iterable[SiteCode], text: str, vocabulary: SiteVocabulary) -> SiteKind:
    """P6 first (it overrides P5), then a CNS code (a code wins over text), then P7, then CNS words."""
    coded = {c for c in codes if c[0] in vocabulary.code_systems}
    cns_code = bool(coded & vocabulary.cns_codes)
    lepto_words = (cns_code or not coded) and matches(text, vocabulary.leptomeningeal_words)
    if coded & vocabulary.leptomeningeal_codes or lepto_words:
        return SiteKind.LEPTOMENINGEAL
    if cns_code:
        return SiteKind.CNS
    if coded & vocabulary.diffuse_codes or matches(text, vocabulary.diffuse_words):
        return SiteKind.DIFFUSE
    if not coded and matches(text, vocabulary.cns_words):
        return SiteKind.CNS  # P5: text only when no site code is present
    return SiteKind.OTHER


def matches(text: str, words: tuple[str, ...]) -> bool:
    return bool(text and words and _pattern(words).search(text))


@lru_cache(maxsize=32)
def _pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(_word(w) for w in words), re.IGNORECASE)


def _word(word: str) -> str:
    stem = word.endswith("*")
    body = r"\s+".join(re.escape(part) for part in word.rstrip("*").split())
    if not body.isascii():
        return body  # Chinese: no word boundaries to match on
    return rf"\b{body}" if stem else rf"\b{body}\b"
