"""Reading an inbound Bundle into planned entries (FHIR R4 http.html#transaction).

Each entry gets the id it will be stored under and the way it is to be written; ``urn:uuid:`` and other
full URLs are then rewritten to ``Type/id`` everywhere in the Bundle so stored references resolve
(:mod:`service.adapters.fhir_in.full_urls`). A problem with one entry is an :class:`EntryProblem`: the
caller fails the whole transaction, or that entry alone in a batch.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import msgspec
import orjson

from service.adapters.fhir_in.bundle_rules import (
    FHIR_ID,
    ConditionalCreate,
    check_full_urls,
    date_problem,
    kept_id_problem,
    meta_problem,
    parse_if_none_exist,
    post_url_problem,
    put_id_problem,
)
from service.adapters.fhir_in.dates import may_hold_bad_date
from service.adapters.fhir_in.full_urls import rewrite_references as rewrite_references  # planning's sequel
from service.errors import Issue


class WriteMode(StrEnum):
    CREATE = "create"  # POST: the server assigns the id; identical content is not stored twice
    UPDATE = "update"  # PUT Type/id: the sender names the id
    UPSERT = "upsert"  # collection / document / message: keep the sender's id when it has one


class PlannedEntry(msgspec.Struct, gc=False):
    """An entry as it is to be written. A struct (built in C; in no reference cycle, so not tracked by the
    garbage collector), one per entry."""

    index: int
    full_url: str | None
    mode: WriteMode
    resource: dict[str, Any]
    if_none_exist: ConditionalCreate | None = None
    posted_hash: str = ""  # content_hash of the resource as posted; "" when planned without hashing
    existing: bool = False  # set when a conditional or identical-content create matched a stored resource
    if_match: str | None = None  # entry.request.ifMatch of a PUT: the version it must still be (W/"n")

    @property
    def reference(self) -> str:
        return f"{self.resource['resourceType']}/{self.resource['id']}"


# each member read once: reading one from its class costs a lookup through the metaclass (Python 3.11)
_CREATE, _UPDATE, _UPSERT = WriteMode.CREATE, WriteMode.UPDATE, WriteMode.UPSERT


@dataclass(frozen=True, slots=True)
class EntryProblem:
    index: int
    issue: Issue


class PlannedEntries(list[PlannedEntry]):
    """The planned entries, and orjson's serialisation of the ``Bundle.entry`` they were planned from or of a
    body holding it as it is (the JSON guard's): the date check and :func:`rewrite_references` read it."""

    posted_text: bytes | None = None


def plan_bundle(
    bundle: dict[str, Any], transactional: bool, *, hashed: bool = True, posted_text: bytes | None = None
) -> tuple[list[PlannedEntry], list[EntryProblem]]:
    """Plan every entry. Ids may still change (a create that matches a stored resource takes its id), so
    the caller rewrites references with :func:`rewrite_references` once ids are settled. ``hashed=False``
    skips the content hashes, which only storing needs; ``posted_text``: see :class:`PlannedEntries`."""
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        return [], [
            EntryProblem(-1, Issue("Bundle.entry must be an array", "structure", expression="Bundle.entry"))
        ]
    check_full_urls(entries)  # bdl-7: a Bundle-level refusal
    planned = PlannedEntries()
    planned.posted_text = posted_text or orjson.dumps(entries)  # more text only makes the date check walk
    dates_suspect = may_hold_bad_date(entries, planned.posted_text)
    problems: list[EntryProblem] = []
    for index, entry in enumerate(entries):
        result = _plan_entry(index, entry, transactional)
        if dates_suspect and isinstance(result, PlannedEntry):
            found = date_problem(index, result.resource)
            result = EntryProblem(index, found) if found else result
        if isinstance(result, EntryProblem):
            problems.append(result)
        else:
            if hashed:  # else the default, ""
                result.posted_hash = content_hash(result.resource)
            planned.append(result)
    return planned, problems


def _plan_entry(index: int, entry: Any, transactional: bool) -> PlannedEntry | EntryProblem:
    """One entry's plan; each of its parts read once (issue 17: 2,520 entries in a 40-patient Bundle)."""
    if not isinstance(entry, dict):
        return _no_resource(index, "Entry has no resource")
    request = entry.get("request")
    method = request.get("method") if transactional and isinstance(request, dict) else None
    if method is not None and method not in ("POST", "PUT"):
        return _unsupported_method(index, method)
    sent = entry.get("resource")
    if not isinstance(sent, dict):
        return _no_resource(index, "Entry has no resource")
    resource = dict(sent)
    if not isinstance(resource.get("resourceType"), str):
        return _no_resource(index, "Resource has no resourceType")
    bad_meta = meta_problem(index, resource) if "meta" in resource else None
    if bad_meta:
        return EntryProblem(index, bad_meta)
    full_url = entry.get("fullUrl")
    full_url = full_url if isinstance(full_url, str) else None
    if transactional:
        return _plan_request(index, request, method, resource, full_url)
    sender_id = resource.get("id")
    if sender_id is not None and not (isinstance(sender_id, str) and FHIR_ID.match(sender_id)):
        bad_id = kept_id_problem(index, resource)
        if bad_id:
            return EntryProblem(index, bad_id)
    resource["id"] = sender_id or uuid.uuid4().hex  # None or, being past kept_id_problem, a FHIR id
    return PlannedEntry(index, full_url, _UPSERT if sender_id else _CREATE, resource)


def _no_resource(index: int, text: str) -> EntryProblem:
    where = f"Bundle.entry[{index}].resource"  # spelled out only for a problem: most entries have none
    return EntryProblem(index, Issue(text, "required", expression=where))


def _plan_request(
    index: int, request: Any, method: Any, resource: dict[str, Any], full_url: str | None
) -> PlannedEntry | EntryProblem:
    if not isinstance(method, str):  # also for a request that is no object
        where = f"Bundle.entry[{index}].request"
        return EntryProblem(index, Issue("Entry has no request.method", "required", expression=where))
    url = str(request.get("url", ""))
    if method == "POST":
        wrong_url = post_url_problem(index, url, resource["resourceType"])
        if wrong_url:
            return EntryProblem(index, wrong_url)
        try:
            condition = parse_if_none_exist(request.get("ifNoneExist"))
        except ValueError as exc:
            where = f"Bundle.entry[{index}].request.ifNoneExist"
            return EntryProblem(index, Issue(str(exc), "not-supported", expression=where))
        resource["id"] = uuid.uuid4().hex  # FHIR: the server ignores any id on a create
        return PlannedEntry(index, full_url, _CREATE, resource, condition)
    planned = _plan_update(index, url, resource, full_url)
    if isinstance(planned, PlannedEntry) and isinstance(request.get("ifMatch"), str):
        planned.if_match = request["ifMatch"]
    return planned


def _unsupported_method(index: int, method: Any) -> EntryProblem:
    """Only writes are accepted in a Bundle: POST (create) and PUT Type/id (update)."""
    text = f"request.method {method} is not supported in a Bundle sent here; use POST or PUT"
    return EntryProblem(
        index, Issue(text, "not-supported", expression=f"Bundle.entry[{index}].request.method")
    )


def _plan_update(
    index: int, url: str, resource: dict[str, Any], full_url: str | None
) -> PlannedEntry | EntryProblem:
    resource_type, _, resource_id = url.partition("?")[0].partition("/")
    if resource_type != resource["resourceType"] or not FHIR_ID.match(resource_id):
        text = (
            f"PUT url '{url}' must be {resource['resourceType']}/<id> (conditional update is not supported)"
        )
        return EntryProblem(index, Issue(text, "invalid", expression=f"Bundle.entry[{index}].request.url"))
    mismatch = put_id_problem(index, resource_id, resource)
    if mismatch:
        return EntryProblem(index, mismatch)
    resource["id"] = resource_id
    return PlannedEntry(index, full_url, _UPDATE, resource)


def content_hash(resource: dict[str, Any]) -> str:
    """A hash of the content as posted, ignoring ``id`` and ``meta``: a re-post of the same data matches."""
    body = dict(resource)  # a C copy, then two deletions: cheaper than a comprehension over every key
    body.pop("id", None)
    body.pop("meta", None)
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


def patient_reference(resource: dict[str, Any]) -> str | None:
    """The patient a resource belongs to: itself for a Patient, else ``subject`` or ``patient``."""
    if resource.get("resourceType") == "Patient":
        return f"Patient/{resource['id']}"
    for key in ("subject", "patient"):
        holder = resource.get(key)
        ref = holder.get("reference") if isinstance(holder, dict) else None
        if isinstance(ref, str) and "Patient/" in ref:
            return "Patient/" + ref.rsplit("Patient/", 1)[1].split("/")[0]
    return None
