"""Best overall response (B1-B5, RECIST 1.1 Table 3) from dated time-point responses.

Readings taken where the table is terse:
- B3 applies to every SD-like best response: "PR then SD" gives SD only when some time point up to then
  met the SD minimum duration, as B3 says in general (Table 3 prints plain "SD" for that row).
- Table 3 footnote a (a CR followed by PR, or by a reappearance that T6 made PD): the default reading is
  that the first CR was real, so the next time point is PD and the best response follows the CR/PD row. The
  other reading (the CR was doubtful, both time points PR) is computed too and returned as ``alternative``,
  with ``REVIEW_CR_VALIDITY``: the service never settles this silently.
- A CR followed by SD is the CR/SD row: the SD is read as PD (disease came back after CR), no flag.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from msgspec.structs import replace

from service.domain.response import BestOverallResponse, DatedResponse, OverallResponse
from service.domain.rules import Flag, Rule
from service.domain.thresholds import ConfirmationMode, ResponseThresholds

_AFTER_CR_IS_PD = frozenset({OverallResponse.PR, OverallResponse.SD, OverallResponse.NON_CR_NON_PD})
_SD_LIKE = _AFTER_CR_IS_PD | {OverallResponse.CR}


def best_overall_response(
    responses: Sequence[DatedResponse], treatment_start: dt.date, thresholds: ResponseThresholds
) -> BestOverallResponse:
    """B1: the best response from the start of treatment until PD, with B2-B5 applied."""
    entries = _until_progression(sorted(responses, key=lambda r: r.date))
    entries, doubtful = _footnote_a(entries)
    category, date, confirmed, rules = _best(_until_progression(entries), treatment_start, thresholds)
    if doubtful is None:
        return BestOverallResponse(category, date, confirmed, thresholds.confirmation_mode, None, rules, ())
    alternative, *_ = _best(_until_progression(doubtful), treatment_start, thresholds)
    flags = (Flag.REVIEW_CR_VALIDITY,)
    return BestOverallResponse(
        category, date, confirmed, thresholds.confirmation_mode, alternative, _with(rules, Rule.B4), flags
    )


def _with(rules: tuple[Rule, ...], rule: Rule) -> tuple[Rule, ...]:
    return tuple(dict.fromkeys((*rules, rule)))


def _until_progression(entries: list[DatedResponse]) -> list[DatedResponse]:
    """B1: nothing after the first PD counts; a PD dated back (L2) drops the time points since its date."""
    for index, entry in enumerate(entries):
        if entry.overall is OverallResponse.PD:
            since = entry.progression_date or entry.date
            return [e for e in entries[:index] if e.date < since] + [entry]
    return entries


def _footnote_a(entries: list[DatedResponse]) -> tuple[list[DatedResponse], list[DatedResponse] | None]:
    """Table 3 after a CR: the next time point is PD; after a PR (or a T6 PD) also the doubtful reading."""
    for index in range(1, len(entries)):
        before, entry = entries[index - 1], entries[index]
        if before.overall is not OverallResponse.CR:
            continue
        as_pd = [*entries[:index], replace(entry, overall=OverallResponse.PD, progression_date=entry.date)]
        if entry.overall is OverallResponse.PR or Flag.REVIEW_CR_VALIDITY in entry.flags:
            doubtful = [*entries[: index - 1], replace(before, overall=OverallResponse.PR)]
            return as_pd, [*doubtful, replace(entry, overall=OverallResponse.PR), *entries[index + 1 :]]
        if entry.overall in _AFTER_CR_IS_PD:
            return as_pd, None
    return entries, None


def _best(
    entries: list[DatedResponse], start: dt.date, thresholds: ResponseThresholds
) -> tuple[OverallResponse, dt.date | None, bool, tuple[Rule, ...]]:
    required = thresholds.confirmation_mode is ConfirmationMode.REQUIRED
    rules = (Rule.B1, Rule.B2, Rule.B4) if required else (Rule.B1, Rule.B2)
    for category in (OverallResponse.CR, OverallResponse.PR):
        found = _response(entries, category, thresholds)
        if found is not None:
            return category, found[0], found[1], rules
    stable = _stable_disease(entries, start, thresholds)
    if stable is not None:
        return stable.overall, stable.date, False, (*rules, Rule.B3)
    progression = next((e for e in entries if e.overall is OverallResponse.PD), None)
    if progression is not None:  # B5: PD counts whenever it occurs, with no time window
        return OverallResponse.PD, progression.progression_date or progression.date, False, (*rules, Rule.B5)
    return OverallResponse.NE, None, False, rules


def _response(
    entries: list[DatedResponse], category: OverallResponse, thresholds: ResponseThresholds
) -> tuple[dt.date, bool] | None:
    """The first CR (or PR) and whether it was confirmed; unconfirmed ones count only when not required."""
    accepted = {OverallResponse.CR} if category is OverallResponse.CR else {category, OverallResponse.CR}
    candidates = [i for i, e in enumerate(entries) if e.overall is category]
    confirmed = [i for i in candidates if _confirmed(entries, i, accepted, thresholds)]
    if confirmed:
        return entries[confirmed[0]].date, True
    if candidates and thresholds.confirmation_mode is ConfirmationMode.NOT_REQUIRED:
        return entries[candidates[0]].date, False
    return None


def _confirmed(
    entries: list[DatedResponse], index: int, accepted: set[OverallResponse], thresholds: ResponseThresholds
) -> bool:
    """B2: a later assessment at least CONFIRM_MIN_DAYS on, with nothing worse in between."""
    first = entries[index].date
    for later in entries[index + 1 :]:
        if later.overall not in accepted:
            return False
        if (later.date - first).days >= thresholds.confirm_min_days:
            return True
    return False


def _stable_disease(
    entries: list[DatedResponse], start: dt.date, thresholds: ResponseThresholds
) -> DatedResponse | None:
    """B3: SD (or Non-CR/non-PD, or an unconfirmed CR/PR) counts once it is met SD_MIN_DAYS after start."""
    late_enough = [
        e for e in entries if e.overall in _SD_LIKE and (e.date - start).days >= thresholds.sd_min_days
    ]
    if not late_enough:
        return None
    first = late_enough[0]
    non_target_only = any(
        e.non_target_only or e.overall is OverallResponse.NON_CR_NON_PD for e in late_enough
    )
    label = OverallResponse.NON_CR_NON_PD if non_target_only else OverallResponse.SD
    return replace(first, overall=label)
