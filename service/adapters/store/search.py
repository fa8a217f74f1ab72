"""Search over current versions: what SQL can narrow (type, patient, ``_id``, ``identifier``,
``_lastUpdated``) it narrows; what it cannot (codes, status, clinical dates) is checked in Python on that
narrowed set, which is bounded (``scan_limit``) so no search loads every patient's resources.

Pages are keyset pages on ``(last_updated, resource_id)`` in the asked order: a page starts strictly after
the last row of the one before, so walking the pages never repeats or skips a resource that is not
changed meanwhile (https://hl7.org/fhir/R4/http.html#paging).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, true

from service.adapters.store.connection import Executes, utc
from service.adapters.store.repository import (
    SearchPage,
    SearchQuery,
    StoredResource,
    resource_columns,
    stored,
)
from service.adapters.store.tables import resource_identifiers, resources
from service.errors import ServiceError


class TooCostly(ServiceError):
    status, code = 400, "too-costly"


async def search_page(conn: Executes, q: SearchQuery) -> SearchPage:
    where = narrowing(q)
    if q.checks:
        return await _checked_page(conn, q, where)
    total = (await conn.execute(select(func.count()).select_from(resources).where(*where))).scalar_one()
    query = resource_columns().where(*where, *_keyset(q)).order_by(*_order(q)).limit(q.count + 1)
    rows = [stored(row) for row in await conn.execute(query)]
    return _page(q, total, rows)


async def _checked_page(conn: Executes, q: SearchQuery, where: list[ColumnElement[bool]]) -> SearchPage:
    """Every narrowed candidate, checked in Python; refused when there are more than ``scan_limit``."""
    query = resource_columns().where(*where).order_by(*_order(q, walk=False)).limit(q.scan_limit + 1)
    candidates = [stored(row) for row in await conn.execute(query)]
    if len(candidates) > q.scan_limit:
        raise TooCostly(
            f"More than {q.scan_limit} resources to check; narrow the search by patient, _id, identifier "
            "or _lastUpdated"
        )
    matches = [c for c in candidates if all(check(c.content) for check in q.checks)]
    walk = [m for m in (reversed(matches) if q.backwards else matches) if _beyond(q, m)]
    return _page(q, len(matches), walk[: q.count + 1])


def _page(q: SearchQuery, total: int, rows: list[StoredResource]) -> SearchPage:
    """``rows`` holds up to count + 1 in walking order: the extra one says whether there is more."""
    found = rows[: q.count]
    return SearchPage(total, list(reversed(found)) if q.backwards else found, len(rows) > q.count)


def narrowing(q: SearchQuery) -> list[ColumnElement[bool]]:
    r = resources.c
    where = [r.resource_type == q.resource_type, r.is_current.is_(True)]
    if q.patient_ref is not None:
        where.append(r.patient_ref == q.patient_ref)
    where += [r.patient_ref.in_(refs) for refs in q.patients]
    where += [r.resource_id.in_(ids) for ids in q.ids]
    where += [r.resource_id.in_(_identified(q.resource_type, tokens)) for tokens in q.identifiers]
    if q.updated_after is not None:
        where.append(r.last_updated >= q.updated_after)
    if q.updated_before is not None:
        where.append(r.last_updated < q.updated_before)
    where += [_updated(prefix, start, end) for prefix, start, end in q.updated]
    return where


def _identified(resource_type: str, tokens: tuple[tuple[str | None, str | None], ...]) -> Any:
    i = resource_identifiers.c
    alternatives = [
        and_(
            i.system == system if system is not None else true(),
            i.value == value if value is not None else true(),
        )
        for system, value in tokens
    ]
    return select(i.resource_id).where(i.resource_type == resource_type, or_(*alternatives))


def _updated(prefix: str, start: Any, end: Any) -> ColumnElement[bool]:
    """An instant against a range (search.html#prefix): ``eq`` within it, ``lt`` before it, and so on."""
    lu = resources.c.last_updated
    clauses: dict[str, ColumnElement[bool]] = {
        "eq": and_(lu >= start, lu < end),
        "ne": or_(lu < start, lu >= end),
        "lt": lu < start,
        "le": lu < end,
        "gt": lu >= end,
        "ge": lu >= start,
    }
    return clauses[prefix]


def _descending(q: SearchQuery, walk: bool = True) -> bool:
    return q.newest_first != (q.backwards and walk)


def _order(q: SearchQuery, walk: bool = True) -> tuple[Any, ...]:
    r = resources.c
    if _descending(q, walk):
        return r.last_updated.desc(), r.resource_id.desc()
    return r.last_updated.asc(), r.resource_id.asc()


def _keyset(q: SearchQuery) -> list[ColumnElement[bool]]:
    if q.after is None:
        return []
    r, (moment, resource_id) = resources.c, q.after
    if _descending(q):
        return [or_(r.last_updated < moment, and_(r.last_updated == moment, r.resource_id < resource_id))]
    return [or_(r.last_updated > moment, and_(r.last_updated == moment, r.resource_id > resource_id))]


def _beyond(q: SearchQuery, found: StoredResource) -> bool:
    if q.after is None:
        return True
    key, mark = (utc(found.last_updated), found.resource_id), (utc(q.after[0]), q.after[1])
    return key < mark if _descending(q) else key > mark
