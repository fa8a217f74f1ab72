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


_FIELD_NAMES: dict[type[Any], tuple[str, ...]] = {}
_AS_IS = frozenset({str, int, bool, float, type(None)})


def _encode_fields(obj: Any) -> dict[str, Any]:
    cls = type(obj)
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(obj))
    return {name: _encode_value(getattr(obj, name)) for name in names}


def _encode_value(value: Any) -> Any:
    if type(value) in _AS_IS:  # most values: checked first, without the isinstance chain below
        return value
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
    return _decoder(classes[payload[_KIND]])(payload)


# Each class's decoder is built once from its type hints (``typing.get_type_hints`` evaluates every
# annotation string, about 250 µs per fact when it ran per decode) and then only converts values.
_Convert = typing.Callable[[Any], Any]


_DECODERS: dict[type[Any], _Convert] = {}


def _decoder(cls: type[Any]) -> _Convert:
    found = _DECODERS.get(cls)
    if found is None:
        hints = typing.get_type_hints(cls)
        fields = [(f.name, _converter(hints[f.name])) for f in dataclasses.fields(cls)]
        # JSON gives str, int and bool fields as they are: only the others are converted (issue 19: about a
        # third of decoding went to calling an identity function per field).
        plain = [name for name, convert in fields if convert is _same]
        converted = [(name, convert) for name, convert in fields if convert is not _same]

        def found(data: dict[str, Any]) -> Any:
            values = {name: data[name] for name in plain if name in data}
            for name, convert in converted:
                if name in data:
                    values[name] = convert(data[name])
            return cls(**values)

        _DECODERS[cls] = found
    return found


def _converter(hint: Any) -> _Convert:  # one branch per JSON-friendly type
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return _converter(next(a for a in args if a is not type(None)))
    if origin in (tuple, frozenset, list):
        item = _converter(args[0]) if args else _same
        if item is _same:
            return lambda value: None if value is None else origin(value)
        return lambda value: None if value is None else origin([item(v) for v in value])
    if isinstance(hint, type):
        scalar = _scalar(hint)
        return _same if scalar is _same else lambda value: None if value is None else scalar(value)
    return _same


def _same(value: Any) -> Any:
    return value


def _scalar(hint: type[Any]) -> _Convert:
    if dataclasses.is_dataclass(hint):
        return _decoder(hint)
    if issubclass(hint, Enum):
        return _enum(hint)
    if issubclass(hint, Decimal):
        return hint
    if issubclass(hint, datetime):
        return datetime.fromisoformat
    if issubclass(hint, date):
        return date.fromisoformat
    return _same


def _enum(hint: type[Enum]) -> _Convert:
    """A member by its value from a table (an enum call costs several times more); an unknown value is
    still the enum's own ValueError."""
    members = {member.value: member for member in hint}
    return lambda value: members[value] if value in members else hint(value)
