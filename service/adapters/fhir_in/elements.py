"""Typed reading of plain FHIR JSON: every element read is checked, and every problem becomes an Issue.

This is the hot path (ARCHITECTURE.md, "Choices": a typed decoder, not fhir.resources), so a ``Node`` is a
thin view of a dict plus the FHIRPath that leads to it from the Bundle root (FHIR-CONTRACT.md section 2,
"Errors": ``Bundle.entry[3].resource.valueQuantity.unit``). A wrong JSON type is an ``error`` issue and reads
as absent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import msgspec

from service.domain.facts import SourceCode
from service.errors import Issue


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


class Coding(msgspec.Struct, frozen=True, gc=False):
    """One coding as sent (a struct: built in C, several times faster than a NamedTuple). Each element
    defaults to absent, so a well-formed coding can also be decoded into one (:mod:`plain_lesions`)."""

    system: str | None = None
    code: str | None = None
    display: str | None = None

    def source_code(self) -> SourceCode | None:
        if self.system is None or self.code is None:
            return None
        return SourceCode(system=self.system, code=self.code, display=self.display)


class Node(msgspec.Struct, gc=False):
    """A dict and the FHIRPath that leads to it. A child keeps its parent, key and index rather than its
    path: paths are only spelled out for an issue, and most elements read have none. Built as
    ``Node(data, path, issues)`` for a root, where ``_key`` is the whole path, and with the key that leads to
    it from ``_parent`` (and its ``_index`` in an array) otherwise. A struct, as hundreds are built for each
    Bundle: msgspec builds one in C, and, as a Node is in no reference cycle (it points only at the JSON,
    the issues and its parent), the garbage collector need not track it (issue 19)."""

    data: dict[str, Any]
    _key: str
    issues: Issues
    _parent: Node | None = None
    _index: int | None = None

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
        nodes = [
            Node(value, key, self.issues, self, i) for i, value in enumerate(values) if type(value) is dict
        ]
        if len(nodes) == len(values):  # the common case: every item an object, nothing to report
            return nodes
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

    def first(self, key: str) -> Node | None:
        """The first item of the array at ``key``; every item is checked, as ``objs`` checks them."""
        values = self.data.get(key)
        if values is None:
            return None
        if type(values) is list and all(type(value) is dict for value in values):
            return Node(values[0], key, self.issues, self, 0) if values else None
        nodes = self.objs(key)
        return nodes[0] if nodes else None

    def reference(self, key: str) -> str | None:
        """``key.reference``: the text of the Reference at ``key``."""
        ref = self.data.get(key)
        if ref is None:
            return None
        if type(ref) is dict:  # the common case, read without a Node
            text = ref.get("reference")
            if text is None or type(text) is str:
                return text
        node = self.obj(key)
        return None if node is None else node.text("reference")


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
