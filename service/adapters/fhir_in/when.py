"""FHIR ``date`` and ``dateTime`` elements read into a ``When`` (FHIR-CONTRACT.md section 2: an impossible
date is a 422). The form read is that of FHIR R4 datatypes.html#dateTime, seconds and zone optional."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from functools import lru_cache

import msgspec

from service.adapters.fhir_in.elements import Node

# ASCII digits, nothing after the value (as dates.py's check: no final newline, no other script's digits).
_DATE = re.compile(r"(\d{4})(-(\d{2})(-(\d{2}))?)?\Z", re.ASCII)
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?\Z", re.ASCII)
EARLIEST = date(
    1900, 1, 1
)  # contract section 2: an impossible date is a 422; nothing in oncology predates 1900


class When(msgspec.Struct, frozen=True, gc=False):
    """A FHIR date or dateTime read to a calendar day and, where a time was sent, the instant."""

    on: date
    at: datetime | None


def read_when(node: Node, key: str, today: date) -> When | None:
    """A date or dateTime, checked: malformed, before 1900 or after today is an error; a day-less date a
    warning (it cannot be placed on the timeline)."""
    text = node.text(key)
    if text is None:
        return None
    when = _parse(text)
    if when is None:
        node.issues.error(node.at(key), f"'{text}' is not a FHIR date or dateTime")
    elif isinstance(when, str):
        node.issues.warning(node.at(key), f"'{text}' has no day; kept, not used", "incomplete")
        return None
    elif not EARLIEST <= when.on <= today:
        message = f"date {when.on.isoformat()} is impossible (before 1900 or in the future)"
        node.issues.error(node.at(key), message)
        return None
    return when


def plain_when(text: str, today: date) -> When | None:
    """The ``When`` of a text that :func:`read_when` reads without any issue; else None."""
    when = _parse(text)
    return when if isinstance(when, When) and EARLIEST <= when.on <= today else None


def read_effective(node: Node, prefix: str, today: date) -> When | None:
    """``{prefix}DateTime``, else ``{prefix}Period.start`` (e.g. Observation.effective[x])."""
    when = read_when(node, f"{prefix}DateTime", today)
    period = node.obj(f"{prefix}Period")
    if when is None and period is not None:
        when = read_when(period, "start", today)
    return when


@lru_cache(maxsize=4096)
def _parse(text: str) -> When | str | None:
    """A ``When``; the text itself for a valid but day-less date; None when malformed. Cached: every lesion
    of a time point is sent with the same date (the answers are immutable)."""
    match = _DATE.match(text) if "T" not in text else None  # no date without a time holds a T
    if match:
        if match.group(5) is None:
            return text
        return _date_only(text)
    if not _DATETIME.match(text):
        return None
    try:
        instant = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    # FHIR requires a zone with a time (datatypes.html#dateTime); a zoneless time is read as UTC
    instant = instant if instant.tzinfo else instant.replace(tzinfo=UTC)
    return When(instant.date(), instant)


def _date_only(text: str) -> When | None:
    try:
        return When(date.fromisoformat(text), None)
    except ValueError:
        return None
