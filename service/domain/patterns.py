"""Progression patterns (CLINICAL-RULES.md 5.1, P1-P4): which sites progress, oligo- or systemic progression.

Readings taken where the text leaves room:
- P1: a lesion whose current size is not known (not evaluated) neither progresses nor counts as controlled.
- P2: "all other disease controlled" is read as: every lesion that is not a progressing site is evaluated and
  at least one exists. Amenability to local therapy is the user's: unknown still gives OLIGOPROGRESSION with
  LOCAL_THERAPY_AMENABILITY_UNKNOWN, a "no" gives SYSTEMIC_PROGRESSION (P4, outside P2).
- P2: when every progressing site is in the CNS, CNS_OLIGOPROGRESSION is raised beside OLIGOPROGRESSION, so
  the X20 local-therapy rule still applies (RANO-BM is out of scope).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from service.domain.rules import Flag, Rule


@dataclass(frozen=True, slots=True)
class PatternThresholds:
    site_abs_mm: Decimal  # P1: own increase of at least this many mm
    site_rel: Decimal  # P1: ... and at least this fraction over its own nadir
    oligo_max_sites: int  # P2 OLIGO_MAX
    cns_organs: frozenset[str]  # P2: organs that make progression CNS-only


@dataclass(frozen=True, slots=True)
class LesionCourse:
    """One lesion for the pattern rules, built by the integrator from the RECIST result."""

    lesion_id: str
    organ: str
    nadir_mm: Decimal | None = None  # targets: the lesion's own nadir
    current_mm: Decimal | None = None
    new: bool = False
    unequivocal_progression: bool = False  # non-target lesions (N3)
    evaluated: bool = True


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
    """P1 progressing sites, then P2 oligoprogression or P4 systemic progression."""
    progressing = tuple(site for lesion in lesions if (site := progressing_site(lesion, thresholds)))
    if not progressing:
        return PatternAssessment((), (Rule.P1,), (), (), ())
    ids = {site.lesion_id for site in progressing}
    others = [lesion for lesion in lesions if lesion.lesion_id not in ids]
    flags = _flags(progressing, others, thresholds, amenable)
    rules = (Rule.P1, Rule.P2 if Flag.OLIGOPROGRESSION in flags else Rule.P4)
    organs = tuple(dict.fromkeys(site.organ for site in progressing))
    return PatternAssessment(flags, rules, progressing, organs, tuple(site.lesion_id for site in progressing))


def progressing_site(lesion: LesionCourse, thresholds: PatternThresholds) -> ProgressingSite | None:
    """P1: a new lesion, a target up >= 5 mm and >= 20 % over its own nadir, or unequivocal NT progression."""
    if lesion.new:
        return ProgressingSite(lesion.lesion_id, lesion.organ, SiteReason.NEW, None)
    if lesion.unequivocal_progression:
        return ProgressingSite(lesion.lesion_id, lesion.organ, SiteReason.UNEQUIVOCAL, None)
    nadir, current = lesion.nadir_mm, lesion.current_mm
    if nadir is None or current is None or not lesion.evaluated:
        return None
    grew = current - nadir >= thresholds.site_abs_mm and current >= (1 + thresholds.site_rel) * nadir
    return (
        ProgressingSite(lesion.lesion_id, lesion.organ, SiteReason.GROWTH, current - nadir) if grew else None
    )


def _flags(
    progressing: tuple[ProgressingSite, ...],
    others: list[LesionCourse],
    thresholds: PatternThresholds,
    amenable: bool | None,
) -> tuple[Flag, ...]:
    controlled = bool(others) and all(lesion.evaluated for lesion in others)
    if len(progressing) > thresholds.oligo_max_sites or not controlled or amenable is False:
        return (Flag.SYSTEMIC_PROGRESSION,)
    flags = [Flag.OLIGOPROGRESSION]
    if all(site.organ in thresholds.cns_organs for site in progressing):
        flags.append(Flag.CNS_OLIGOPROGRESSION)
    if amenable is None:
        flags.append(Flag.LOCAL_THERAPY_AMENABILITY_UNKNOWN)
    return tuple(flags)
