"""Dates wherever they appear in a posted resource (issue 21): ``2026-02-30`` or ``""`` is refused also
in an element the service never reads (``ImagingStudy.started``, ``Patient.birthDate``), because the
resource is stored and served back as sent.

Which elements hold a date, dateTime or instant is told by their name (FHIR names them ``date``,
``*Date``, ``*DateTime``, ``*Instant``, ``start``/``end`` of a Period, ``issued``, ``started``, ...); only
string values are checked, so an integer ``start`` (MolecularSequence) is left alone. The form accepted is
that of :mod:`service.adapters.fhir_in.when` (seconds and zone optional); what is refused is a value
that is no date at all or no day of the calendar.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import orjson

from service.errors import Issue

_FIXED_NAMES = (
    *("date", "start", "end", "started", "issued", "authoredOn", "recorded", "lastUpdated", "created"),
    *("timestamp", "dateAsserted", "whenHandedOver", "whenPrepared"),
)
_SUFFIXES = ("Date", "DateTime", "Instant")  # of the other names, which start with a lower-case letter
_NAMES = "|".join(_FIXED_NAMES) + f"|[a-z][A-Za-z]*(?:{'|'.join(_SUFFIXES)})"
_DATE_KEY = re.compile(rf"^(?:{_NAMES})$")
# A date-named key and its string value in orjson's compact output ('"name":"value"'), found in the reversed
# text, where each begins with the three bytes '":"' and then the reversed name: the regex engine finds those
# bytes by a fast literal search, where the forward pattern would be tried at every quote (issue 19).
_REVERSED_NAMES = (
    *(name[::-1] for name in _FIXED_NAMES),
    *(f"{suffix[::-1]}[A-Za-z]*[a-z]" for suffix in _SUFFIXES),
)


def _by_first_letter(words: tuple[str, ...]) -> str:
    """An alternation of ``words`` grouped by their first letter: the regex engine skips a group whose first
    letter differs at one test, where it would try each word in turn (most keys are no date name)."""
    groups: dict[str, list[str]] = {}
    for word in words:
        groups.setdefault(word[0], []).append(word[1:])
    return "|".join(f"{first}(?:{'|'.join(rests)})" for first, rests in groups.items())


def _by_first_two(words: tuple[str, ...]) -> str:
    """The rest of each of ``words`` after its first two letters, grouped by those (looked behind for)."""
    groups: dict[str, list[str]] = {}
    for word in words:
        groups.setdefault(word[:2], []).append(word[2:])
    return "|".join(f"(?<={first})(?:{'|'.join(rests)})" for first, rests in groups.items())


_REVERSED_PAIR = re.compile(f'":"(?:{_by_first_letter(_REVERSED_NAMES)})"'.encode())
# Reversed values that are surely real dates: a day of any month up to the 28th, the 29th and 30th of a month
# other than February, the 31st of a long month, in a year other than 0000; a time of day (leap second
# included) with seconds to the second, millisecond or microsecond, with or without a zone. Anything else
# (29 February, a year alone, a value that is no date) is left to is_date.
_DAY = r"(?:(?:[1-9]0|[0-9]1|[0-8]2)-(?:[1-9]0|[0-2]1)|(?:92|03)-(?:[13-9]0|[0-2]1)|13-(?:[13578]0|[02]1))"
_DATE = rf"{_DAY}-(?!0000)[0-9]{{4}}"
_CLOCK = rf"[0-9][0-5]:(?:[0-9][01]|[0-3]2)T{_DATE}"
_SECONDS = r"(?:[0-9][0-5]|06):"
_SURE_VALUES = (
    _DATE,
    *(
        zone + fraction + _SECONDS + _CLOCK
        for zone in ("Z", r"[0-9]{2}:[0-9]{2}[+-]", "")
        for fraction in ("", r"[0-9]{3}\.", r"[0-9]{6}\.")
    ),
    *(zone + _CLOCK for zone in ("Z", r"[0-9]{2}:[0-9]{2}[+-]", "")),
)
# A date-named pair in the reversed text whose value is not surely a real date. The first two letters of a
# reversed date name are matched first, as two sets: most keys (``code``, ``system``, ``reference``) fail
# there at two tests, with no lookaround (each costs a step of the engine's stack). Then the value is looked
# behind for in each fixed-width form (a lookbehind is of fixed width; ``..``: the two letters), which a date
# name's value mostly is; only for a value in none is the rest of the name looked ahead for, by those letters.
_FIRST_TWO = "".join(f"[{''.join(sorted({name[i] for name in _REVERSED_NAMES}))}]" for i in (0, 1))
_UNSURE_PAIR = re.compile(
    (
        f'":"{_FIRST_TWO}'
        + "".join(f'(?<!"{v}":"..)' for v in _SURE_VALUES)
        + f'(?=(?:{_by_first_two(_REVERSED_NAMES)})")'
    ).encode()
)
# ASCII digits only and nothing after the value (``$`` would also match before a final newline, and ``\d`` any
# script's digits): FHIR's own regex for these types (datatypes.html) allows neither.
_FORM = re.compile(
    r"(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)?)?)?\Z",
    re.ASCII,
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


def may_hold_bad_date(value: Any, text: bytes | None = None) -> bool:
    """False when no date-named element in ``value`` can be wrong (found by C code in its JSON, ``text`` when
    the caller has it); True when one is, or may be (an escaped value): then :func:`bad_dates` walks it."""
    text = orjson.dumps(value) if text is None else text
    reverse = bytearray(text)
    reverse.reverse()  # in place: about half the time of text[::-1], which copies byte by byte
    if _UNSURE_PAIR.search(reverse) is None:
        # every date-named value is surely a real date (and so holds no escape): the common case, in C
        return False
    found = _date_values(text)  # each distinct value checked once: a Bundle repeats its dates
    # a value holding any escape (a quote, a backslash, a control character) is no date: the walk reads it
    return any(not is_date(v.decode()) for v in found) or (b"\\" in text and _has_escaped_date(text))


def _date_values(text: bytes) -> set[bytes]:
    """The values of the date-named keys in ``text`` (compact JSON) that hold no escape. In valid JSON the
    bytes '":"' only ever end a key and open its string value, so each pair is found exactly once."""
    reverse = text[::-1]
    values = set()
    for match in _REVERSED_PAIR.finditer(reverse):
        end = match.start()
        value = reverse[reverse.rfind(b'"', 0, end) + 1 : end]
        if b"\\" not in value:  # an escaped value is left to _has_escaped_date
            values.add(value[::-1])
    return values


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
