"""Dates wherever they appear in a posted resource (issue 21): ``2026-02-30`` or ``""`` is refused also
in an element the service never reads (``ImagingStudy.started``, ``Patient.birthDate``), because the
resource is stored and served back as sent.

Which elements hold a date, dateTime or instant is told by their name (FHIR names them ``date``,
``*Date``, ``*DateTime``, ``*Instant``, ``start``/``end`` of a Period, ``issued``, ``started``, ...); only
string values are checked, so an integer ``start`` (MolecularSequence) is left alone. The form accepted is
that of :mod:`service.adapters.fhir_in.elements` (seconds and zone optional); what is refused is a value
that is no date at all or no day of the calendar.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import orjson

from service.errors import Issue

_NAMES = (
    r"date|start|end|started|issued|authoredOn|recorded|lastUpdated|created|timestamp|dateAsserted"
    r"|whenHandedOver|whenPrepared|[a-z][A-Za-z]*(?:Date|DateTime|Instant)"
)
_DATE_KEY = re.compile(rf"^(?:{_NAMES})$")
# In orjson's compact output: a date-named key and its string value (escapes left to the full walk).
_DATE_PAIR = re.compile(rf'"(?:{_NAMES})":"([^"\\]*)"'.encode())
_FORM = re.compile(
    r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)?)?)?$"
)


def is_date(text: str) -> bool:
    """A FHIR date, dateTime or instant that names a real day and time (a leap second allowed)."""
    match = _FORM.match(text)
    if match is None:
        return False
    year, month, day, hour, minute, second = match.groups()
    if month is not None and not 1 <= int(month) <= 12:
        return False
    if day is not None:
        try:
            date(int(year), int(month), int(day))  # year 0000 is no day of the calendar either
        except ValueError:
            return False
    return (
        (hour is None or int(hour) <= 23)
        and (minute is None or int(minute) <= 59)
        and (second is None or int(second) <= 60)
    )


def may_hold_bad_date(value: Any) -> bool:
    """False when no date-named element in ``value`` can be wrong (found by C code in its JSON); True
    when one is, or may be (an escaped value): then :func:`bad_dates` walks it."""
    text = orjson.dumps(value)
    found = set(_DATE_PAIR.findall(text))  # each distinct value checked once: a Bundle repeats its dates
    return any(not is_date(v.decode()) for v in found) or (b'\\"' in text and _has_escaped_date(text))


def _has_escaped_date(text: bytes) -> bool:
    return re.search(rf'"(?:{_NAMES})":"[^"]*\\'.encode(), text) is not None


def bad_dates(resource: dict[str, Any], path: str) -> list[Issue]:
    """An error issue for each date-named string element of ``resource`` that is not a real date; walked
    with a stack, not recursion (the guard has bounded the depth, but the walk need not rely on it)."""
    issues: list[Issue] = []
    stack: list[tuple[dict[str, Any] | list[Any], str]] = [(resource, path)]
    while stack:
        node, where = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in items:
            here = f"{where}.{key}" if isinstance(key, str) else f"{where}[{key}]"
            if isinstance(value, dict | list):
                stack.append((value, here))
            elif (
                isinstance(value, str)
                and isinstance(key, str)
                and _DATE_KEY.match(key)
                and not is_date(value)
            ):
                issues.append(Issue(f"'{value}' is not a FHIR date or dateTime", "value", "error", here))
    return issues
