"""The store: SQLAlchemy 2 (async) over SQLite by default or PostgreSQL, from one ONCO_DATABASE_URL."""

from service.adapters.store.database import SqlStore, async_url
from service.adapters.store.repository import CurrentVersion, Reader, SearchQuery, StoredFact, StoredResource
from service.adapters.store.writer import NewVersion, Writer

__all__ = [
    "CurrentVersion",
    "NewVersion",
    "Reader",
    "SearchQuery",
    "SqlStore",
    "StoredFact",
    "StoredResource",
    "Writer",
    "async_url",
]
