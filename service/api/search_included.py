"""The resources ``_include`` and ``_revinclude`` add to a page of matches, and the check each must pass.

An included resource is never another patient's: it is kept only when it is in the compartment of the
patient that owns a match it is included for (:func:`service.api.compartment.belongs`), or, for a match
that is no one patient's, when it belongs to no patient either. On top of that, the token must be allowed
to read its type, and a ``patient/`` token's patient must be that owner. What fails is left out silently
(saying so would tell a ``patient/`` token that something of another patient's exists).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Any

from fastapi import Request

from service.adapters.fhir_in.bundles import patient_reference
from service.adapters.store import StoredResource
from service.api import compartment
from service.api.guard import store_lookup
from service.app.ports import Reader
from service.app.search_includes import Include, referenced, type_and_id
from service.errors import Forbidden


@dataclass
class Candidate:
    found: StoredResource
    related: list[dict[str, Any]] = field(default_factory=list)  # the matches it is included for


def key(found: StoredResource) -> str:
    return f"{found.resource_type}/{found.resource_id}"


async def gather(
    reader: Reader, includes: list[Include], matches: list[StoredResource], limit: int
) -> list[Candidate]:
    """Every resource the includes reach from (or, reversed, to) the matches, with the matches it is for;
    none that is itself a match."""
    by_key = {key(m): m for m in matches}
    pointed: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for match in matches:
        for include in (i for i in includes if not i.reverse):
            for reference in referenced(match.content, include):
                pointed[reference].append(match.content)
    candidates = {key(f): Candidate(f, pointed[key(f)]) for f in await reader.current_of(pointed)}
    owners = {owner for m in matches if (owner := patient_reference(m.content))}
    for include in (i for i in includes if i.reverse):
        for found in await reader.referencing(include.source, sorted(by_key), owners, limit):
            targets = [r for r in referenced(found.content, replace(include, reverse=False)) if r in by_key]
            candidate = candidates.setdefault(key(found), Candidate(found))
            candidate.related += [by_key[t].content for t in targets]
    return [c for k, c in candidates.items() if k not in by_key and c.related]


async def permitted(candidates: list[Candidate], request: Request) -> list[dict[str, Any]]:
    """The candidates' content that passes the compartment and scope checks."""
    lookup = _lookup(candidates, request)
    return [c.found.content for c in candidates if await _allowed(c, request, lookup)]


async def _allowed(candidate: Candidate, request: Request, lookup: compartment.Lookup) -> bool:
    try:
        confined = confinement(request, candidate.found.resource_type, "r")
    except Forbidden:  # the token may not read this type at all
        return False
    for match in candidate.related:
        owner = await _owner(match, lookup)
        if owner is None or (confined is not None and owner != confined):
            continue
        if await _belongs(candidate.found.content, owner, lookup):
            return True
    return False


def confinement(request: Request, resource_type: str, action: str) -> str | None:
    """``Patient/x`` when the request's token reaches that type only through a ``patient/`` scope; None for
    system/ and user/ scopes; :class:`Forbidden` when its scopes do not reach it."""
    access = getattr(request.state, "access", None)
    patient = access.confinement([(resource_type, action)]) if access is not None else None
    if patient is None:
        return None
    return patient if patient.startswith("Patient/") else f"Patient/{patient}"


async def _owner(resource: dict[str, Any], lookup: compartment.Lookup) -> str | None:
    """``Patient/x`` of the patient a match belongs to, "" when no patient's, None when several's."""
    if resource.get("resourceType") != "Provenance":
        return patient_reference(resource) or ""
    owners = {await lookup(str(t)) for t in _targets(resource)}  # None: a target not stored
    if owners <= {"", None}:
        return ""
    return owners.pop() if len(owners) == 1 else None


async def _belongs(resource: dict[str, Any], owner: str, lookup: compartment.Lookup) -> bool:
    if owner:
        return await compartment.belongs(resource, owner, lookup)
    if patient_reference(resource) is not None or not compartment.names_only(resource, ""):
        return False
    return all([await lookup(str(t)) in ("", None) for t in _targets(resource)])


def _targets(resource: dict[str, Any]) -> list[Any]:
    if resource.get("resourceType") != "Provenance":
        return []
    return [t.get("reference") for t in resource.get("target") or [] if isinstance(t, dict)]


def _lookup(candidates: list[Candidate], request: Request) -> compartment.Lookup:
    """The owner of a reference: from the resources in hand where it can be told from them, else from the
    store (:func:`service.api.guard.store_lookup`)."""
    in_hand = {key(c.found): c.found.content for c in candidates if c.found.resource_type != "Provenance"} | {
        f"{m.get('resourceType')}/{m.get('id')}": m
        for c in candidates
        for m in c.related
        if m.get("resourceType") != "Provenance"
    }
    from_store = store_lookup(request)

    async def lookup(reference: str) -> str | None:
        normalised = type_and_id(reference)
        if normalised is None:
            return None
        if normalised in in_hand:
            return patient_reference(in_hand[normalised]) or ""
        return await from_store(normalised)

    return lookup
