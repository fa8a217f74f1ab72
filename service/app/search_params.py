"""A search's parameters, read into a :class:`SearchQuery` (https://hl7.org/fhir/R4/search.html).

Safety first: a parameter or modifier the service does not support for the type is a 400 naming it, never
a filter silently dropped (which would answer with every patient's resources). Only under
``Prefer: handling=lenient`` is it ignored, and then reported. A repeated parameter is ANDed, a comma list
ORed; two different patients therefore match nothing. An empty value is refused, not read as "no filter".
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from service.adapters.fhir_in.resource_types import READABLE_TYPES
from service.app import search_match as m
from service.app.search_elements import read_elements
from service.app.search_includes import Include, read_include
from service.app.store_records import SearchQuery
from service.errors import BadRequest

_EFFECTIVE = ("effectiveDateTime", "effectivePeriod", "effectiveInstant")
_NOT_A_PATIENTS = {"Provenance"}  # no subject/patient: reachable by _id, _lastUpdated only
_NO_SUBJECT = {"Patient", "Provenance", "MolecularSequence", "BodyStructure"}
DATES: dict[str, dict[str, tuple[str, ...]]] = {
    "Observation": {"date": _EFFECTIVE, "issued": ("issued",)},
    "DiagnosticReport": {"date": _EFFECTIVE, "issued": ("issued",)},
    "CarePlan": {"date": ("period",)},
}
CODED = {"Observation", "DiagnosticReport", "Condition"}
CATEGORISED = {"Observation", "DiagnosticReport", "CarePlan", "Condition", "MedicationRequest"}
WITH_STATUS = {"Observation", "DiagnosticReport", "CarePlan", "ImagingStudy", "MedicationRequest",
               "MedicationStatement", "MedicationAdministration", "Specimen"}  # fmt: skip
SORTS = {"-_lastUpdated": True, "_lastUpdated": False, "-issued": True, "issued": False}
CONTROL = ("_sort", "_count", "_summary", "_cursor", "_format", "_include", "_revinclude", "_elements")


def supported(resource_type: str) -> dict[str, str]:
    """The search parameters of a type, with their FHIR type (what the CapabilityStatement declares)."""
    params = {"_id": "token", "_lastUpdated": "date"}
    if resource_type not in _NOT_A_PATIENTS:
        params |= {"patient": "reference", "identifier": "token"}
    if resource_type not in _NO_SUBJECT:
        params["subject"] = "reference"
    params |= dict.fromkeys(DATES.get(resource_type, {}), "date")
    params |= {"code": "token"} if resource_type in CODED else {}
    params |= {"category": "token"} if resource_type in CATEGORISED else {}
    params |= {"status": "token"} if resource_type in WITH_STATUS else {}
    return params


@dataclass
class ParsedSearch:
    query: SearchQuery
    applied: list[tuple[str, str]] = field(default_factory=list)  # what the ``self`` link shows
    ignored: list[str] = field(default_factory=list)  # lenient: what was not applied
    summary_count: bool = False
    includes: list[Include] = field(default_factory=list)  # _include and _revinclude, in the asked order
    elements: tuple[str, ...] | None = None  # _elements: the matches are subsetted to these


@dataclass(frozen=True, slots=True)
class Limits:
    default_count: int
    max_count: int
    scan_limit: int


def parse(resource_type: str, pairs: list[tuple[str, str]], *, lenient: bool, limits: Limits) -> ParsedSearch:
    if resource_type not in READABLE_TYPES:
        raise BadRequest(f"{resource_type} cannot be searched here")
    query = SearchQuery(resource_type, count=limits.default_count, scan_limit=limits.scan_limit)
    parsed = ParsedSearch(query)
    known = supported(resource_type)
    for key, value in pairs:
        name, _, modifier = key.partition(":")
        problem = _unsupported(resource_type, known, name, modifier) or _unsupported_include(
            resource_type, name, value
        )
        if problem and lenient:
            parsed.ignored.append(problem)
            continue
        if problem:
            raise BadRequest(problem, expression=key)
        _apply(parsed, name, value, limits)
        parsed.applied.append((key, value))
    return parsed


def _unsupported(resource_type: str, known: dict[str, str], name: str, modifier: str) -> str | None:
    if name not in known and name not in CONTROL:
        return f"Unknown or unsupported search parameter '{name}' for {resource_type}"
    if modifier and not (modifier == "Patient" and known.get(name) == "reference"):
        return f"Unsupported modifier ':{modifier}' on search parameter '{name}'"
    return None


def _unsupported_include(resource_type: str, name: str, value: str) -> str | None:
    if name not in ("_include", "_revinclude"):
        return None
    found = read_include(resource_type, value, reverse=name == "_revinclude")
    return found if isinstance(found, str) else None


def _apply(parsed: ParsedSearch, name: str, value: str, limits: Limits) -> None:
    if not value and name != "_format":
        raise BadRequest(f"Search parameter '{name}' has no value", expression=name)
    q = parsed.query
    if name in _CONTROLS:
        _CONTROLS[name](parsed, value, limits)
    elif name in ("patient", "subject"):
        parsed.query = replace(q, patients=(*q.patients, tuple(patient_value(v) for v in value.split(","))))
    elif name == "_id":
        parsed.query = replace(q, ids=(*q.ids, tuple(value.split(","))))
    elif name == "identifier":
        parsed.query = replace(q, identifiers=(*q.identifiers, tuple(_token(v) for v in value.split(","))))
    elif name == "_lastUpdated":
        parsed.query = replace(q, updated=(*q.updated, _date(name, value)))
    else:
        parsed.query = replace(q, checks=(*q.checks, _check(q.resource_type, name, value)))


def patient_value(value: str) -> str:
    """``x``, ``Patient/x`` or an absolute ``…/Patient/x``; a reference to anything else stays as it is
    and matches nothing (only patients own resources)."""
    if "Patient/" in value:
        return "Patient/" + value.rsplit("Patient/", 1)[1].split("/")[0]
    return value if "/" in value else f"Patient/{value}"


def _token(value: str) -> tuple[str | None, str | None]:
    if "|" not in value:
        return None, value
    system, code = value.split("|", 1)
    return system or "", code or None  # "|x": no system, which the identifier index never holds


def _date(name: str, value: str) -> tuple[str, datetime, datetime]:
    prefix, rest = (value[:2], value[2:]) if value[:2].isalpha() else ("eq", value)
    if prefix not in m.DATE_PREFIXES:
        raise BadRequest(f"{name}: prefix '{prefix}' is not supported; use {', '.join(m.DATE_PREFIXES)}",
                         expression=name)  # fmt: skip
    try:
        start, end = m.parse_range(rest)
    except ValueError:
        raise BadRequest(f"{name}={value} is not a prefix and an ISO date", expression=name) from None
    return prefix, start, end


def _check(resource_type: str, name: str, value: str) -> m.Check:
    values = value.split(",")
    if name in ("code", "category"):
        return m.coding_check(name, values)
    if name == "status":
        return m.code_check("status", values)
    checks = []
    for one in values:
        prefix, start, end = _date(name, one)
        checks.append(m.date_check(DATES[resource_type][name], prefix, (start, end)))
    return m.any_of(checks)


def _sort(parsed: ParsedSearch, value: str, limits: Limits) -> None:
    if value not in SORTS:
        raise BadRequest(
            f"_sort={value} is not supported; use (-)_lastUpdated or (-)issued", expression="_sort"
        )
    parsed.query = replace(parsed.query, newest_first=SORTS[value])


def _count(parsed: ParsedSearch, value: str, limits: Limits) -> None:
    if not value.isdigit() or int(value) > limits.max_count:
        raise BadRequest(f"_count must be a whole number from 0 to {limits.max_count}", expression="_count")
    parsed.query = replace(parsed.query, count=int(value))


def _summary(parsed: ParsedSearch, value: str, limits: Limits) -> None:
    if value not in ("count", "false"):
        raise BadRequest(f"_summary={value} is not supported; use count or false", expression="_summary")
    parsed.summary_count = value == "count"


def _include(parsed: ParsedSearch, value: str, limits: Limits) -> None:
    _add_include(parsed, value, reverse=False)


def _revinclude(parsed: ParsedSearch, value: str, limits: Limits) -> None:
    _add_include(parsed, value, reverse=True)


def _add_include(parsed: ParsedSearch, value: str, *, reverse: bool) -> None:
    found = read_include(parsed.query.resource_type, value, reverse=reverse)
    if isinstance(found, str):  # parse() refuses (or, lenient, skips) these before they get here
        raise BadRequest(found, expression="_revinclude" if reverse else "_include")
    parsed.includes.append(found)


def _elements(parsed: ParsedSearch, value: str, limits: Limits) -> None:
    parsed.elements = (*(parsed.elements or ()), *read_elements(parsed.query.resource_type, value))


def _format(parsed: ParsedSearch, value: str, limits: Limits) -> None:
    if value not in ("", "json", "application/json", "application/fhir+json"):
        raise BadRequest(f"_format={value} is not supported; this service answers JSON", expression="_format")


def _cursor(parsed: ParsedSearch, value: str, limits: Limits) -> None:
    try:
        direction, moment, resource_id = base64.urlsafe_b64decode(value.encode()).decode().split("|", 2)
        after = (datetime.fromisoformat(moment), resource_id)
    except ValueError:
        raise BadRequest("_cursor is not one this service made", expression="_cursor") from None
    parsed.query = replace(parsed.query, after=after, backwards=direction == "b")


def cursor(moment: datetime, resource_id: str, *, backwards: bool) -> str:
    """The ``_cursor`` of the page after (or before) the resource at (moment, id)."""
    raw = f"{'b' if backwards else 'n'}|{moment.isoformat()}|{resource_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


_CONTROLS: dict[str, Callable[[ParsedSearch, str, Limits], None]] = {
    "_sort": _sort, "_count": _count, "_summary": _summary, "_format": _format, "_cursor": _cursor,
    "_include": _include, "_revinclude": _revinclude, "_elements": _elements,
}  # fmt: skip
