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
