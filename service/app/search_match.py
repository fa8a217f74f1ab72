"""What a token or date search value matches in a stored resource (https://hl7.org/fhir/R4/search.html):
pure functions over the resource's JSON, run on a candidate set the store has already narrowed.

- A token ``system|code`` matches a coding with that system and code, ``|code`` one with no system,
  ``system|`` any code of the system, a bare ``code`` that code in any system.
- A date value is a range as precise as it is written (``2024`` is the whole year); so is the resource's
  date or period. The prefixes compare the two ranges as the specification's table says.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

Check = Callable[[dict[str, Any]], bool]
Range = tuple[datetime, datetime]  # [start, end)

DATE_PREFIXES = ("eq", "ne", "lt", "le", "gt", "ge")


def codings(node: Any) -> Iterable[dict[str, Any]]:
    """The codings of a CodeableConcept or of a list of them."""
    concepts = node if isinstance(node, list) else [node]
    for concept in concepts:
        if isinstance(concept, dict):
            yield from (c for c in concept.get("coding") or [] if isinstance(c, dict))


def token_matches(token: str, system: Any, code: Any) -> bool:
    if "|" not in token:
        return bool(code == token)
    want_system, want_code = token.split("|", 1)
    if not want_system:
        return system is None and code == want_code
    return system == want_system and (not want_code or code == want_code)


def coding_check(element: str, tokens: list[str]) -> Check:
    """Any of the tokens (a comma list is OR) matches a coding of ``element``."""

    def check(resource: dict[str, Any]) -> bool:
        found = list(codings(resource.get(element)))
        return any(token_matches(t, c.get("system"), c.get("code")) for t in tokens for c in found)

    return check


def code_check(element: str, codes: list[str]) -> Check:
    """A plain ``code`` element (``status``): one of the codes, ``|code`` allowed."""
    wanted = {c.rsplit("|", 1)[-1] for c in codes}
    return lambda resource: resource.get(element) in wanted


def parse_range(value: str) -> Range:
    """The range a date, dateTime or instant covers, as precise as it is written; ValueError otherwise."""
    formats = {4: "%Y", 7: "%Y-%m", 10: "%Y-%m-%d"}
    if len(value) in formats:
        start = datetime.strptime(value, formats[len(value)]).replace(tzinfo=UTC)
        return start, _next(start, len(value))
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    precision = timedelta(seconds=1) if moment.microsecond == 0 else timedelta(microseconds=1)
    return moment, moment + precision


def _next(start: datetime, length: int) -> datetime:
    if length == 4:
        return start.replace(year=start.year + 1)
    if length == 7:
        return start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)
    return start + timedelta(days=1)


def compare(prefix: str, have: Range, want: Range) -> bool:
    """FHIR's prefix semantics on two ranges (search.html#prefix)."""
    inside = want[0] <= have[0] and have[1] <= want[1]
    return {
        "eq": inside,
        "ne": not inside,
        "lt": have[0] < want[0],
        "le": have[0] < want[1],
        "gt": have[1] > want[1],
        "ge": have[1] > want[0],
    }[prefix]


def resource_range(resource: dict[str, Any], elements: tuple[str, ...]) -> Range | None:
    """The first of the elements the resource carries, as a range (a Period from start to end)."""
    for element in elements:
        value = resource.get(element)
        try:
            if isinstance(value, str):
                return parse_range(value)
            if isinstance(value, dict) and (value.get("start") or value.get("end")):
                start = parse_range(value.get("start") or "0001-01-01")[0]
                end = parse_range(value["end"])[1] if value.get("end") else datetime.max.replace(tzinfo=UTC)
                return start, end
        except ValueError:
            return None
    return None


def date_check(elements: tuple[str, ...], prefix: str, want: Range) -> Check:
    def check(resource: dict[str, Any]) -> bool:
        have = resource_range(resource, elements)
        return have is not None and compare(prefix, have, want)

    return check


def any_of(checks: list[Check]) -> Check:
    return lambda resource: any(c(resource) for c in checks)
