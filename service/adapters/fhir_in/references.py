"""Resolving references within the posted set (FHIR R4 references.html#literal, bundle.html#references).

A reference may name an entry by its ``fullUrl`` (``urn:uuid:...`` or an absolute URL), by ``Type/id``, by an
absolute URL ending in ``Type/id``, or a contained resource (``#id``) of the referring resource. Whatever the
form, a resolved resource is named ``Type/id`` so facts from different Bundles agree.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import msgspec

# FHIR R4 references.html#regex, without the optional _history suffix (kept out of the match below).
_TYPE_ID = re.compile(r"(?:^|/)([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/[A-Za-z0-9\-.]{1,64})?\Z")


class Entry(msgspec.Struct, frozen=True, gc=False):
    """One posted resource: its index in the Bundle, its fullUrl if any, and the resource as parsed JSON. A
    struct (built in C; in no reference cycle, so not tracked by the garbage collector), one per entry."""

    index: int
    full_url: str | None
    resource: dict[str, Any]

    @property
    def path(self) -> str:
        return f"Bundle.entry[{self.index}].resource"


def resource_key(resource: dict[str, Any]) -> str | None:
    """``Type/id`` of a resource, or None when it has no usable id."""
    kind, ident = resource.get("resourceType"), resource.get("id")
    return f"{kind}/{ident}" if isinstance(kind, str) and isinstance(ident, str) else None


class References:
    def __init__(self, entries: Sequence[Entry]) -> None:
        self._by_url: dict[str, dict[str, Any]] = {}
        self._names: dict[str | None, str] = {}  # reference → its name, for references outside any resource
        self._posted = tuple(entries)
        self._entries: dict[int, Entry] | None = None  # built when a path is first asked for (seldom)
        for entry in entries:  # one pass, Type/id spelled out in line: a Bundle has an entry per resource
            resource = entry.resource
            if entry.full_url:
                self._by_url[entry.full_url] = resource
            kind, ident = resource.get("resourceType"), resource.get("id")
            if isinstance(kind, str) and isinstance(ident, str):
                self._by_url.setdefault(f"{kind}/{ident}", resource)

    def resolve(
        self, reference: str | None, container: dict[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """The referenced resource if it is in the posted set (or contained in ``container``)."""
        if not reference:
            return None
        if reference.startswith("#"):
            return _contained(container, reference[1:])
        found = self._by_url.get(reference)
        if found is None:
            match = _TYPE_ID.search(reference)
            found = self._by_url.get(f"{match.group(1)}/{match.group(2)}") if match else None
        return found

    def path_of(self, resource: dict[str, Any]) -> str | None:
        """The FHIRPath of a posted resource from the Bundle root (None for a contained one)."""
        if self._entries is None:  # the last entry of a resource, as a loop over the entries would keep
            self._entries = {id(entry.resource): entry for entry in self._posted}
        entry = self._entries.get(id(resource))
        return entry.path if entry else None

    def name(self, reference: str | None, container: dict[str, Any] | None = None) -> str | None:
        """The stable name of a reference: ``Type/id`` where it can be worked out, else the text as sent."""
        name = self._names.get(reference)  # no contained (#) or empty reference is ever kept there
        if name is not None:
            return name
        if not reference:
            return None
        if reference.startswith("#"):  # contained: the answer depends on the container
            return self._name(reference, container)
        name = self._names[reference] = self._name(reference, None)
        return name

    def _name(self, reference: str, container: dict[str, Any] | None) -> str:
        resolved = self.resolve(reference, container)
        key = resource_key(resolved) if resolved is not None and not reference.startswith("#") else None
        if key:
            return key
        match = _TYPE_ID.search(reference)
        return f"{match.group(1)}/{match.group(2)}" if match else reference


def _contained(container: dict[str, Any] | None, ident: str) -> dict[str, Any] | None:
    contained = (container or {}).get("contained")
    if not isinstance(contained, list):
        return None
    return next((r for r in contained if isinstance(r, dict) and r.get("id") == ident), None)
