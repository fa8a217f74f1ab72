"""Typed reading of plain FHIR JSON: every element read is checked, and every problem becomes an Issue.

This is the hot path (ARCHITECTURE.md, "Choices": a typed decoder, not fhir.resources), so a ``Node`` is a
thin view of a dict plus the FHIRPath that leads to it from the Bundle root (FHIR-CONTRACT.md section 2,
"Errors": ``Bundle.entry[3].resource.valueQuantity.unit``). A wrong JSON type is an ``error`` issue and reads
as absent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from service.domain.facts import SourceCode
from service.errors import Issue

_DATE = re.compile(r"^(\d{4})(-(\d{2})(-(\d{2}))?)?$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?$")
EARLIEST = date(
    1900, 1, 1
)  # contract section 2: an impossible date is a 422; nothing in oncology predates 1900


@dataclass(slots=True)
class Issues:
    """Collects issues for one normalise call."""

    items: list[Issue] = field(default_factory=list)

    def error(self, path: str, message: str, code: str = "value") -> None:
        self.items.append(Issue(message, code, "error", path))

    def warning(self, path: str, message: str, code: str = "code-invalid") -> None:
        self.items.append(Issue(message, code, "warning", path))

    def not_recognised(self, path: str, what: str) -> None:
        self.warning(path, f"{what} not recognised; kept, not used")


class Coding(NamedTuple):
    system: str | None
    code: str | None
    display: str | None

    def source_code(self) -> SourceCode | None:
        if self.system is None or self.code is None:
            return None
        return SourceCode(self.system, self.code, self.display)


@dataclass(frozen=True, slots=True)
class When:
    """A FHIR date or dateTime read to a calendar day and, where a time was sent, the instant."""

    on: date
    at: datetime | None


class Node:
    """A dict and the FHIRPath that leads to it. A child keeps its parent, key and index rather than its
    path: paths are only spelled out for an issue, and most elements read have none."""

    __slots__ = ("_index", "_key", "_parent", "data", "issues")

    def __init__(
        self,
        data: dict[str, Any],
        path: str,
        issues: Issues,
        parent: Node | None = None,
        index: int | None = None,
    ) -> None:
        """``path`` is the whole path of a root node, the key that leads to it from ``parent`` otherwise."""
        self.data, self.issues, self._parent, self._key, self._index = data, issues, parent, path, index

    @property
    def path(self) -> str:
        if self._parent is None:
            return self._key
        where = f"{self._parent.path}.{self._key}"
        return where if self._index is None else f"{where}[{self._index}]"

    def at(self, key: str) -> str:
        return f"{self.path}.{key}"

    def _typed(self, key: str, kind: type | tuple[type, ...], name: str) -> Any:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            self.issues.error(self.at(key), f"{key} must be {name}, got {type(value).__name__}")
            return None
        return value

    def obj(self, key: str) -> Node | None:
        value = self.data.get(key)
        if value is None or (type(value) is not dict and self._typed(key, dict, "an object") is None):
            return None
        return Node(value, key, self.issues, self)

    def objs(self, key: str) -> list[Node]:
        values = self.data.get(key)
        if values is None or (type(values) is not list and self._typed(key, list, "an array") is None):
            return []
        nodes = []
        for i, value in enumerate(values):
            if isinstance(value, dict):
                nodes.append(Node(value, key, self.issues, self, i))
            else:
                self.issues.error(f"{self.at(key)}[{i}]", f"{key} items must be objects")
        return nodes

    def text(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is None or type(value) is str:  # the common case, checked without a call
            return value
        checked: str | None = self._typed(key, str, "a string")
        return checked

    def integer(self, key: str) -> int | None:
        value: int | None = self._typed(key, int, "an integer")
        return value

    def number(self, key: str) -> Decimal | None:
        value = self._typed(key, (int, float), "a number")
        return None if value is None else Decimal(str(value))

    def coding(self) -> Coding:
        return Coding(self.text("system"), self.text("code"), self.text("display"))

    def codings(self, key: str) -> list[Coding]:
        """The codings of the CodeableConcept at ``key`` (none when absent)."""
        found = _plain_codings(self.data.get(key))
        if found is not None:
            return found
        concept = self.obj(key)  # something is malformed: the checked reading reports it
        return [] if concept is None else [c.coding() for c in concept.objs("coding")]

    def reference(self, key: str) -> str | None:
        ref = self.obj(key)
        return None if ref is None else ref.text("reference")


def _plain_codings(concept: Any) -> list[Coding] | None:
    """The codings of a well-formed CodeableConcept (or of none), read without building Nodes; None when
    anything in it has the wrong JSON type, so that ``Node.codings`` reads it the checked way."""
    if concept is None:
        return []
    if type(concept) is not dict:
        return None
    items = concept.get("coding")
    if items is None:
        return []
    if type(items) is not list:
        return None
    codings = []
    for item in items:
        if type(item) is not dict:
            return None
        system, code, display = item.get("system"), item.get("code"), item.get("display")
        if not (
            (system is None or type(system) is str)
            and (code is None or type(code) is str)
            and (display is None or type(display) is str)
        ):
            return None
        codings.append(Coding(system, code, display))
    return codings


def first_of(nodes: list[Node]) -> Node | None:
    return nodes[0] if nodes else None


def read_when(node: Node, key: str, today: date) -> When | None:
    """A date or dateTime, checked: malformed, before 1900 or after today is an error; a day-less date a
    warning (it cannot be placed on the timeline)."""
    text = node.text(key)
    if text is None:
        return None
    when = _parse(text)
    path = node.at(key)
    if when is None:
        node.issues.error(path, f"'{text}' is not a FHIR date or dateTime")
    elif isinstance(when, str):
        node.issues.warning(path, f"'{text}' has no day; kept, not used", "incomplete")
        return None
    elif not EARLIEST <= when.on <= today:
        node.issues.error(path, f"date {when.on.isoformat()} is impossible (before 1900 or in the future)")
        return None
    return when if isinstance(when, When) else None


def read_effective(node: Node, prefix: str, today: date) -> When | None:
    """``{prefix}DateTime``, else ``{prefix}Period.start`` (e.g. Observation.effective[x])."""
    when = read_when(node, f"{prefix}DateTime", today)
    period = node.obj(f"{prefix}Period")
    if when is None and period is not None:
        when = read_when(period, "start", today)
    return when


def _parse(text: str) -> When | str | None:
    """A ``When``; the text itself for a valid but day-less date; None when malformed."""
    match = _DATE.match(text)
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
