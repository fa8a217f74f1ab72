"""Facts (the ``msgspec.Struct`` tagged union ``service.domain.facts.Fact``) to JSON and back, for the
``facts`` table.

The stored format is the one the rows have always had, so rows of any age decode and new rows are written
byte for byte as before: ``kind`` (the class name) first, then every field in declaration order; Decimal as
its string, date and datetime in ISO format, enums by value, tuples as lists, nested structs as objects
without a ``kind``. msgspec decodes and validates it in C (issue 19: several times faster than the Python
codec it replaces).
"""

from __future__ import annotations

import typing
from datetime import datetime
from typing import Any

import msgspec

from service.domain.facts import FACT_CLASSES, Fact

_KIND = "kind"  # the tag of the Fact union
_ROWS = msgspec.json.Decoder(list[Fact])


def encode(fact: Fact) -> dict[str, Any]:
    """A fact → a JSON-ready dict with its class name under ``kind``."""
    payload: dict[str, Any] = msgspec.json.decode(msgspec.json.encode(fact))
    for name in _DATETIMES[type(fact)]:  # msgspec writes UTC as "Z"; the rows have isoformat's "+00:00"
        if (value := getattr(fact, name)) is not None:
            payload[name] = value.isoformat()
    return payload


def decode(payload: dict[str, Any]) -> Fact:
    """The inverse of :func:`encode`, for a payload already parsed: ``msgspec.ValidationError`` for a
    payload that is no fact, ``KeyError`` for an unknown ``kind``."""
    # To the class itself: msgspec.convert to the union would rebuild the union's decoder at every call
    # (ten times slower, issue 19).
    return msgspec.convert(payload, FACT_CLASSES[payload[_KIND]])


def decode_rows(rows: list[str]) -> list[Fact]:
    """Stored payloads as they are in the table (JSON text), in one pass of the JSON decoder."""
    return _ROWS.decode(f"[{','.join(rows)}]")


def _datetime_fields(cls: type[Fact]) -> tuple[str, ...]:
    """The fields typed ``datetime`` or ``datetime | None``."""
    fields = msgspec.structs.fields(cls)
    return tuple(f.name for f in fields if datetime in (f.type, *typing.get_args(f.type)))


_DATETIMES = {cls: _datetime_fields(cls) for cls in FACT_CLASSES.values()}
