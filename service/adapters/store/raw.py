"""Prepared SQL on the hot paths of the store (issue 17): the statements a post runs hundreds of times are
written once as SQL text and handed to the driver (``exec_driver_sql``), so no statement is built, compiled
or cache-keyed per call, and rows go in with ``executemany``. Profiled, SQLAlchemy Core's statement building
was about an eighth of a post. Everything else (search, the outbox, migrations) stays on Core.

The text is written for asyncpg (``$1``) and turned into SQLite's numbered ``?1`` once per statement. Both
drivers run inside the transaction SQLAlchemy began (``SqlStore.writing``). Values are given as each driver
stores them, as SQLAlchemy's types would: on SQLite a time is text in SQLAlchemy's storage format and a
list is a JSON array (read with ``json_each``); on PostgreSQL a time is a ``datetime`` and a list an array.
A list parameter is written ``= ANY($n::text[])`` (:func:`array` gives its value), which SQLite reads as
``IN (SELECT value FROM json_each(?n))``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson

from service.adapters.store.connection import Executes, utc

_SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"  # SQLAlchemy's DateTime storage format on SQLite
_ANY = re.compile(r"= ANY\(\$(\d+)::text\[\]\)")


# PostgreSQL: ``FROM`` the current versions of the (type, id) pairs given as two arrays (the parameters
# ``types`` and ``ids``, filled in with ``format``), as ``r`` with the columns of ``CURRENT_COLUMNS``. A few
# keys join the arrays (``CURRENT_BY_FEW_KEYS``); many probe the index once a key (``CURRENT_BY_KEYS``, a
# lateral subquery that ``OFFSET 0`` keeps the planner from flattening back into the join). The join of a
# 40-patient Bundle's 2,520 keys was planned as a scan of every stored resource while the table had no
# statistics (a new store filling up, as in a back-fill, before autovacuum's first ANALYZE): the first read
# grew from 6 to 25 ms over four Bundles, the report's read of 320 keys from 5 to 29 ms; probed, they stay
# at 3-7 and 1 ms. A one-patient post's 63 keys take 0.5 ms joined against 1.3 ms probed on a small table.
CURRENT_COLUMNS = (
    "r.pk, r.resource_type, r.resource_id, r.version_id, r.last_updated, r.content_sha256,"
    " r.sender_version_id"
)
CURRENT_BY_KEYS = (
    " FROM unnest(${types}::text[], ${ids}::text[]) AS k(t, i) CROSS JOIN LATERAL (SELECT pk, resource_type,"
    " resource_id, version_id, last_updated, content_sha256, sender_version_id FROM resources"
    " WHERE resource_type = k.t AND resource_id = k.i AND is_current OFFSET 0) AS r"
)
CURRENT_BY_FEW_KEYS = (
    " FROM resources AS r JOIN unnest(${types}::text[], ${ids}::text[]) AS k(t, i)"
    " ON r.resource_type = k.t AND r.resource_id = k.i WHERE r.is_current"
)
FEW_KEYS = 200


def is_sqlite(conn: Executes) -> bool:
    return conn.dialect.name == "sqlite"


@lru_cache(maxsize=256)
def _sqlite_text(text: str) -> str:
    return re.sub(r"\$(\d+)", r"?\1", _ANY.sub(r"IN (SELECT value FROM json_each($\1))", text))


def _text(conn: Executes, text: str) -> str:
    return _sqlite_text(text) if is_sqlite(conn) else text


async def execute_many(conn: Executes, text: str, rows: Sequence[tuple[Any, ...]]) -> None:
    if rows:
        await conn.exec_driver_sql(_text(conn, text), list(rows))


async def fetch(conn: Executes, text: str, *params: Any) -> Sequence[Any]:
    return (await conn.exec_driver_sql(_text(conn, text), params)).all()


def array(conn: Executes, values: Sequence[str]) -> Any:
    """The value of a list parameter (``= ANY($n::text[])``)."""
    return orjson.dumps(list(values)).decode() if is_sqlite(conn) else list(values)


def db_time(conn: Executes, value: datetime) -> Any:
    return value.astimezone(UTC).strftime(_SQLITE_TIME) if is_sqlite(conn) else value


def py_time(value: Any) -> datetime:
    return utc(datetime.fromisoformat(value) if isinstance(value, str) else value)
