"""The store: SQLAlchemy 2 (async) over SQLite by default or PostgreSQL, from one ONCO_DATABASE_URL."""

from service.adapters.store.database import SqlStore, async_url

__all__ = ["SqlStore", "async_url"]
