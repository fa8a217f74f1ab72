"""Shared fixtures: settings on a temporary SQLite file, the app over httpx's ASGI transport, and the
real PostgreSQL for the store's tests (ONCO_TEST_POSTGRES_URL)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from copy import deepcopy
from pathlib import Path
from typing import Any, NoReturn

import httpx
import pytest
import structlog
from fastapi import FastAPI

from service.api.app import create_app
from service.config import Settings
from service.log import configure_logging

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
# Every table the migrations create, dropped before each PostgreSQL test.
_TABLES = (
    "report_versions",
    "evaluation_jobs",
    "history_fetches",
    "outbox",
    "subscription_events",
    "subscriptions",
    "facts",
    "resource_identifiers",
    "resources",
    "submissions",
)
POSTGRES_URL = os.environ.get("ONCO_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session", autouse=True)
def _plain_logs() -> None:
    """The service's own log set-up: plain tracebacks (structlog's default renders rich ones, slowly)."""
    configure_logging(Settings())


@pytest.fixture(autouse=True)
def _logs_restored(_plain_logs: None) -> Iterator[None]:
    """structlog's set-up restored after each test: the import command reconfigures logging at WARNING, and a
    logger filtering at WARNING drops an INFO event before capture_logs(), which swaps only the processors."""
    config = structlog.get_config()
    yield
    structlog.configure(**config)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'onco.db'}")


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


async def reset_postgres(url: str) -> None:
    """Drop the service's tables so each PostgreSQL test starts from an empty, freshly migrated schema."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    from service.adapters.store import async_url

    engine = create_async_engine(async_url(url))
    try:
        async with engine.begin() as conn:
            for table in (*_TABLES, "alembic_version"):
                await conn.execute(text(f"DROP TABLE IF EXISTS {table} CASCADE"))
    except OSError as exc:
        require_postgres_or_skip(str(exc))
    finally:
        await engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test against the embedded SQLite file and the real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'onco.db'}"
    await reset_postgres(POSTGRES_URL)
    return POSTGRES_URL


def require_postgres_or_skip(reason: str) -> None:
    """Under CI=true a PostgreSQL test that cannot connect fails; on a laptop without one it skips."""
    unavailable(f"no PostgreSQL at ONCO_TEST_POSTGRES_URL: {reason}")


def unavailable(reason: str) -> NoReturn:
    """A tool a test needs is missing: a failure under CI=true (``make test`` installs every one, and no test
    skips in CI), a skip elsewhere (a laptop without it)."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"required under CI: {reason}")
    pytest.skip(reason)


def corrected(bundle: dict[str, Any]) -> dict[str, Any]:
    """A copy of the Bundle with its latest tumour size (LOINC 21889-1, first component) 1 mm larger: a
    corrected time point, which amends the patient's report."""
    copy = deepcopy(bundle)
    sizes = [
        e["resource"]
        for e in copy["entry"]
        if e["resource"]["resourceType"] == "Observation"
        and e["resource"]["code"]["coding"][0]["code"] == "21889-1"
        and "component" in e["resource"]
    ]
    max(sizes, key=lambda r: r["effectiveDateTime"])["component"][0]["valueQuantity"]["value"] += 1
    return copy
