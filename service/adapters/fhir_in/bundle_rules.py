"""The Bundle invariants that matter for safety (issue 20, issue 21), checked before an entry is planned.

- bdl-7 (FHIR R4 bundle.html#invariants): ``fullUrl`` is unique within a Bundle, unless the entries sharing
  it carry different ``meta.versionId``. References to a shared fullUrl would be ambiguous, so the whole
  Bundle is refused, naming both entries.
- A transaction or batch entry's ``request`` agrees with its resource (http.html#transaction): ``POST`` to
  the resource's type, ``PUT Type/id`` whose id is the body's id when the body has one (a 400 per FHIR
  http.html#update, "the id in the URL and the resource must match").
- A conditional create's ``ifNoneExist`` is a search the store can run (``identifier=system|value``, ``_id``).
- A resource id the sender keeps matches FHIR's id pattern (datatypes.html#id).
- Every date-named element holds a real date (:mod:`service.adapters.fhir_in.dates`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from service.adapters.fhir_in.dates import bad_dates
from service.errors import BadRequest, Issue

# FHIR R4 datatypes.html#id: 1 to 64 characters of letters, digits, '-' and '.'.
FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}\Z")


@dataclass(frozen=True, slots=True)
class ConditionalCreate:
    """``ifNoneExist`` reduced to what the store can look up: ``identifier=system|value`` or ``_id=x``."""

    identifier: tuple[str, str] | None = None
    resource_id: str | None = None


def check_full_urls(entries: list[Any]) -> None:
    """bdl-7: BadRequest naming the first two entries that share a ``fullUrl`` and a version."""
    urls = [entry.get("fullUrl") if isinstance(entry, dict) else None for entry in entries]
    texts = [url for url in urls if isinstance(url, str)]
    if len(set(texts)) == len(texts):  # the usual Bundle: no fullUrl twice, whatever the versions
        return
    seen: dict[tuple[str, Any], int] = {}
    for index, (entry, url) in enumerate(zip(entries, urls, strict=True)):
        if not isinstance(url, str):
            continue
        key = (url, _version_id(entry))
        if key in seen:
            first = seen[key]
            raise BadRequest(
                f"Bundle.entry[{first}] and Bundle.entry[{index}] share the fullUrl '{url}' (bdl-7: fullUrl "
                "must be unique in a Bundle)",
                issues=[
                    Issue(f"fullUrl '{url}' is also Bundle.entry[{index}]'s", "invalid", "error", _at(first)),
                    Issue(f"fullUrl '{url}' is also Bundle.entry[{first}]'s", "invalid", "error", _at(index)),
                ],
            )
        seen[key] = index


def _at(index: int) -> str:
    return f"Bundle.entry[{index}].fullUrl"


def _version_id(entry: dict[str, Any]) -> Any:
    resource = entry.get("resource")
    meta = resource.get("meta") if isinstance(resource, dict) else None
    version = meta.get("versionId") if isinstance(meta, dict) else None
    return version if isinstance(version, str) else None


def post_url_problem(index: int, url: str, resource_type: str) -> Issue | None:
    """A POST creates a resource of its URL's type: the two must agree (operations are not run here)."""
    if url.partition("?")[0].rstrip("/").rsplit("/", 1)[-1] == resource_type and "$" not in url:
        return None
    text = f"POST url '{url}' must be the resource's type, {resource_type}"
    return Issue(text, "invalid", "error", f"Bundle.entry[{index}].request.url")


def put_id_problem(index: int, url_id: str, resource: dict[str, Any]) -> Issue | None:
    """FHIR http.html#update: a body id that differs from the URL's id is a 400, never overwritten."""
    body_id = resource.get("id")
    if body_id is None or body_id == url_id:
        return None
    text = f"The resource id '{body_id}' differs from the id '{url_id}' in request.url"
    return Issue(text, "invalid", "error", f"Bundle.entry[{index}].resource.id")


def kept_id_problem(index: int, resource: dict[str, Any]) -> Issue | None:
    """An id the sender sends to be kept must be a FHIR id; never silently replaced by another."""
    ident = resource.get("id")
    if ident is None or (isinstance(ident, str) and FHIR_ID.match(ident)):
        return None
    text = "The resource id must be 1-64 letters, digits, '-' or '.' (FHIR datatypes.html#id)"
    return Issue(text, "invalid", "error", f"Bundle.entry[{index}].resource.id")


def date_problem(index: int, resource: dict[str, Any]) -> Issue | None:
    found = bad_dates(resource, f"Bundle.entry[{index}].resource")
    return found[0] if found else None


def meta_problem(index: int, resource: dict[str, Any]) -> Issue | None:
    """``meta`` is a Meta object: the store sets its versionId and lastUpdated in it."""
    if "meta" not in resource or isinstance(resource["meta"], dict):
        return None
    return Issue("meta must be an object", "structure", "error", f"Bundle.entry[{index}].resource.meta")


def parse_if_none_exist(value: Any) -> ConditionalCreate | None:
    """The condition, or None when there is none; ValueError for a search the store cannot run."""
    if value is None:
        return None
    params = dict(parse_qsl(str(value)))
    if "identifier" in params and "|" in params["identifier"]:
        system, _, ident = params["identifier"].partition("|")
        return ConditionalCreate(identifier=(system, ident))
    if "_id" in params:
        return ConditionalCreate(resource_id=params["_id"])
    raise ValueError("ifNoneExist supports 'identifier=system|value' and '_id=x' only")
