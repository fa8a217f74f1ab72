"""What ``_include`` and ``_revinclude`` fetch: the current versions of the resources a page's matches
point at, and the resources of a type that point at them. No reference index is kept, so the second is a
regular expression on the stored JSON narrowed by type (and by the matches' patients): a pass over those
rows, bounded like the checked search path; the caller confirms each candidate's references in Python
(:mod:`service.app.search_includes`).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence

from sqlalchemy import ColumnElement, or_

from service.adapters.store.repository import Reader, StoredResource, chunks, resource_columns, stored
from service.adapters.store.search import TooCostly
from service.adapters.store.tables import resources

_TARGETS_PER_QUERY = 200  # ids in one regular expression


async def current_of(reader: Reader, references: Iterable[str]) -> list[StoredResource]:
    """The current version of each ``Type/id`` the store holds, in one query per type and chunk."""
    by_type: dict[str, list[str]] = defaultdict(list)
    for reference in dict.fromkeys(references):
        resource_type, _, resource_id = reference.partition("/")
        by_type[resource_type].append(resource_id)
    r, found = resources.c, []
    for resource_type, ids in by_type.items():
        for chunk in chunks(ids):
            query = resource_columns().where(
                r.resource_type == resource_type, r.resource_id.in_(chunk), r.is_current.is_(True)
            )
            found += [stored(row) for row in await reader.conn.execute(query)]
    return found


async def referencing(
    reader: Reader, source_type: str, targets: Sequence[str], owners: set[str], limit: int
) -> list[StoredResource]:
    """Current resources of ``source_type`` whose JSON mentions one of the ``Type/id`` targets, owned by one
    of ``owners`` or by no patient; more than ``limit`` of them is :class:`TooCostly`."""
    r, found = resources.c, {}
    for chunk in (targets[i : i + _TARGETS_PER_QUERY] for i in range(0, len(targets), _TARGETS_PER_QUERY)):
        query = (
            resource_columns()
            .where(r.resource_type == source_type, r.is_current.is_(True), _mentions(chunk))
            .where(or_(r.patient_ref.in_(sorted(owners)), r.patient_ref.is_(None)))
            .limit(limit + 1)
        )
        for row in await reader.conn.execute(query):
            found[row.resource_id] = stored(row)
        if len(found) > limit:
            raise TooCostly(
                f"More than {limit} {source_type} resources to include; ask for fewer matches (_count)"
            )
    return list(found.values())


def _mentions(targets: Sequence[str]) -> ColumnElement[bool]:
    """``…Type/id"`` (relative or absolute) or ``…Type/id/_history/n`` in the stored JSON, as one regular
    expression per query (PostgreSQL's ``~``, SQLite's ``REGEXP``, which SQLAlchemy provides): one pass
    over the rows, where a ``LIKE`` per target cost a pass per target. The caller confirms each match."""
    by_type: dict[str, list[str]] = defaultdict(list)
    for target in targets:
        resource_type, _, resource_id = target.partition("/")
        by_type[resource_type].append(re.escape(resource_id))
    alternatives = "|".join(f"{re.escape(t)}/({'|'.join(ids)})" for t, ids in by_type.items())
    return resources.c.content.regexp_match(f'({alternatives})("|/_history/)')
