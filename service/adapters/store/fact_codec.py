"""Facts (frozen dataclasses of ``service.domain``) to JSON and back, for the ``facts`` table.

Field types are JSON-friendly by design: str, int, bool, Decimal (kept exact as a string), date,
datetime, enums, None, tuples of those, and nested dataclasses. Each payload names its class.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

_KIND = "kind"


def encode(fact: Any) -> dict[str, Any]:
    """A dataclass instance → a JSON-ready dict with its class name under ``kind``."""
    return {_KIND: type(fact).__name__, **_encode_fields(fact)}


def _encode_fields(obj: Any) -> dict[str, Any]:
    return {f.name: _encode_value(getattr(obj, f.name)) for f in dataclasses.fields(obj)}


def _encode_value(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _encode_fields(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):  # datetime is a date too
        return value.isoformat()
    if isinstance(value, tuple | list | frozenset):
        return [_encode_value(v) for v in value]
    return value


def decode(payload: dict[str, Any], classes: dict[str, type[Any]]) -> Any:
    """The inverse of :func:`encode`; ``classes`` maps class names to the fact classes allowed."""
    cls = classes[payload[_KIND]]
    return _decode_dataclass(cls, {k: v for k, v in payload.items() if k != _KIND})


def _decode_dataclass(cls: type[Any], data: dict[str, Any]) -> Any:
    hints = typing.get_type_hints(cls)
    return cls(
        **{
            f.name: _decode_value(hints[f.name], data[f.name])
            for f in dataclasses.fields(cls)
            if f.name in data
        }
    )


def _decode_value(hint: Any, value: Any) -> Any:  # one branch per JSON-friendly type
    if value is None:
        return None
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return _decode_value(next(a for a in args if a is not type(None)), value)
    if origin in (tuple, frozenset, list):
        item = args[0] if args else Any
        return origin(_decode_value(item, v) for v in value)
    if isinstance(hint, type):
        return _decode_scalar(hint, value)
    return value


def _decode_scalar(hint: type[Any], value: Any) -> Any:
    if dataclasses.is_dataclass(hint):
        return _decode_dataclass(hint, value)
    if issubclass(hint, Enum | Decimal):
        return hint(value)
    if issubclass(hint, datetime):
        return datetime.fromisoformat(value)
    if issubclass(hint, date):
        return date.fromisoformat(value)
    return value
