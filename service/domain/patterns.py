"""Progression patterns (CLINICAL-RULES.md 5.1, P1-P8): which sites progress, oligo- or systemic progression.

Readings taken where the text leaves room:
- P1: a lesion whose current size is not known (not evaluated) neither progresses nor counts as controlled.
  A non-target lesion progresses with the reader's ``unequivocal-progression`` or, after iUPD,
  ``further-increase`` (I9), which is more of the same progression.
- P2: "all other disease controlled" is read as: every lesion that is not a progressing site is evaluated and
  at least one exists. Amenability to local therapy is the user's: unknown still gives OLIGOPROGRESSION with
  LOCAL_THERAPY_AMENABILITY_UNKNOWN, a "no" gives SYSTEMIC_PROGRESSION (P4, outside P2).
- P2: when every progressing site is a parenchymal CNS site (P5), CNS_OLIGOPROGRESSION is raised beside
  OLIGOPROGRESSION, so the X20 local-therapy rule still applies (RANO-BM is out of scope).
- P6 / P7: one progressing leptomeningeal or diffuse site is enough to make the pattern systemic, whatever
  the other sites do ("every progressing site amenable", P2 amended).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from service.domain.pattern_sites import SiteKind, SiteVocabulary
from service.domain.rules import Flag, Rule


@dataclass(frozen=True, slots=True)
class PatternThresholds:
    site_abs_mm: Decimal  # P1: own increase of at least this many mm
    site_rel: Decimal  # P1: ... and at least this fraction over its own nadir
    oligo_max_sites: int  # P2 OLIGO_MAX
    sites: SiteVocabulary = field(default_factory=SiteVocabulary)  # P5-P7: codes and words of site kinds


@dataclass(frozen=True, slots=True)
class LesionCourse:
    """One lesion for the pattern rules, built by the integrator from the RECIST result."""

    lesion_id: str
    organ: str
    nadir_mm: Decimal | None = None  # targets: the lesion's own nadir
    current_mm: Decimal | None = None
    new: bool = False
    unequivocal_progression: bool = False  # non-target lesions (N3, I9)
    evaluated: bool = True
    site: SiteKind = SiteKind.OTHER  # P5-P7


class SiteReason(StrEnum):
    NEW = "new"
    GROWTH = "growth"
    UNEQUIVOCAL = "unequivocal"


@dataclass(frozen=True, slots=True)
class ProgressingSite:
    lesion_id: str
    organ: str
    reason: SiteReason
    change_mm: Decimal | None
    site: SiteKind = SiteKind.OTHER


@dataclass(frozen=True, slots=True)
class PatternAssessment:
    flags: tuple[Flag, ...]
    rules: tuple[Rule, ...]
    progressing: tuple[ProgressingSite, ...]
    organs: tuple[str, ...]  # organs with a progressing site
    evidence: tuple[str, ...]  # lesion ids of the progressing sites


def assess_pattern(
    lesions: Sequence[LesionCourse], thresholds: PatternThresholds, *, amenable: bool | None = None
) -> PatternAssessment:
    """P1 progressing sites, P5-P7 their kinds, then P2 oligoprogression or P4 systemic progression."""
    progressing = tuple(site for lesion in lesions if (site := progressing_site(lesion, thresholds)))
    if not progressing:
        return PatternAssessment((), (Rule.P1,), (), (), ())
    ids = {site.lesion_id for site in progressing}
    others = [lesion for lesion in lesions if lesion.lesion_id not in ids]
    flags = _flags(progressing, others, thresholds, amenable)
    rules = (Rule.P1, *_site_rules(progressing), Rule.P2 if Flag.OLIGOPROGRESSION in flags else Rule.P4)
    organs = tuple(dict.fromkeys(site.organ for site in progressing))
    return PatternAssessment(flags, rules, progressing, organs, tuple(site.lesion_id for site in progressing))


def progressing_site(lesion: LesionCourse, thresholds: PatternThresholds) -> ProgressingSite | None:
    """P1: a new lesion, a target up >= 5 mm and >= 20 % over its own nadir, or unequivocal NT progression."""
    if lesion.new:
        return _site(lesion, SiteReason.NEW, None)
    if lesion.unequivocal_progression:
        return _site(lesion, SiteReason.UNEQUIVOCAL, None)
    nadir, current = lesion.nadir_mm, lesion.current_mm
    if nadir is None or current is None or not lesion.evaluated:
        return None
    grew = current - nadir >= thresholds.site_abs_mm and current >= (1 + thresholds.site_rel) * nadir
    return _site(lesion, SiteReason.GROWTH, current - nadir) if grew else None


def _site(lesion: LesionCourse, reason: SiteReason, change: Decimal | None) -> ProgressingSite:
    return ProgressingSite(lesion.lesion_id, lesion.organ, reason, change, lesion.site)


_NEVER_AMENABLE = {SiteKind.LEPTOMENINGEAL, SiteKind.DIFFUSE}  # P6, P7: no radical local treatment [44][53]


def _flags(
    progressing: tuple[ProgressingSite, ...],
    others: list[LesionCourse],
    thresholds: PatternThresholds,
    amenable: bool | None,
) -> tuple[Flag, ...]:
    kinds = {site.site for site in progressing}
    if SiteKind.LEPTOMENINGEAL in kinds:  # P6: never CNS_OLIGOPROGRESSION
        return (Flag.LEPTOMENINGEAL_PROGRESSION, Flag.SYSTEMIC_PROGRESSION)
    controlled = bool(others) and all(lesion.evaluated for lesion in others)
    too_many = len(progressing) > thresholds.oligo_max_sites
    if too_many or not controlled or amenable is False or kinds & _NEVER_AMENABLE:
        return (Flag.SYSTEMIC_PROGRESSION,)
    flags = [Flag.OLIGOPROGRESSION]
    if kinds == {SiteKind.CNS}:
        flags.append(Flag.CNS_OLIGOPROGRESSION)
    if amenable is None:
        flags.append(Flag.LOCAL_THERAPY_AMENABILITY_UNKNOWN)
    return tuple(flags)


def _site_rules(progressing: tuple[ProgressingSite, ...]) -> tuple[Rule, ...]:
    """The rules that named a progressing site's kind: P5 (CNS, leptomeningeal included), P6, P7."""
    kinds = {site.site for site in progressing}
    fired = {
        Rule.P5: bool(kinds & {SiteKind.CNS, SiteKind.LEPTOMENINGEAL}),
        Rule.P6: SiteKind.LEPTOMENINGEAL in kinds,
        Rule.P7: SiteKind.DIFFUSE in kinds,
    }
    return tuple(rule for rule, hit in fired.items() if hit)
