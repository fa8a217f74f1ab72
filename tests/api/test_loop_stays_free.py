"""Nothing blocks the event loop (issue 21): on SQLite, 30 senders posting while another replica holds the
database's write lock park on asyncio slots, never on a synchronous pool checkout, so a ticker keeps
ticking and ``/healthz`` answers in under a second throughout (the issue's own bound)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import orjson
import pytest
from fastapi import FastAPI

from service.api.app import create_app
from service.config import Settings
from tests.e2e.test_subscriptions_e2e import patient_bundle

SENDERS = 30
FHIR = {"content-type": "application/fhir+json"}


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[FastAPI]:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'onco.db'}", delivery_worker=False)
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


class Ticker:
    """Ticks every 10 ms and keeps the longest gap between two ticks."""

    def __init__(self) -> None:
        self.longest = 0.0
        self.ticks = 0

    async def run(self, stop: asyncio.Event) -> None:
        last = time.monotonic()
        while not stop.is_set():
            await asyncio.sleep(0.01)
            now = time.monotonic()
            self.longest, last, self.ticks = max(self.longest, now - last), now, self.ticks + 1


async def probe_health(client: httpx.AsyncClient, stop: asyncio.Event) -> list[float]:
    took = []
    while not stop.is_set():
        started = time.monotonic()
        assert (await client.get("/healthz")).status_code == 200
        took.append(time.monotonic() - started)
        await asyncio.sleep(0.05)
    return took


async def test_thirty_senders_behind_a_held_write_lock_never_freeze_the_loop(
    app: FastAPI, tmp_path: Path
) -> None:
    """Another replica holds the write lock for 2 s while 30 Bundles are posted: the loop keeps ticking,
    /healthz answers fast, and every post is stored once the lock is free."""
    replica = sqlite3.connect(tmp_path / "onco.db", isolation_level=None)
    replica.execute("BEGIN IMMEDIATE")
    stop, ticker = asyncio.Event(), Ticker()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", timeout=60) as client:
        ticking = asyncio.create_task(ticker.run(stop))
        health = asyncio.create_task(probe_health(client, stop))
        posts = [
            asyncio.create_task(
                client.post("/fhir/Bundle", content=orjson.dumps(patient_bundle(f"p{n}")), headers=FHIR)
            )
            for n in range(SENDERS)
        ]
        await asyncio.sleep(2.0)
        assert not any(p.done() for p in posts)  # all parked behind the other replica's lock
        replica.rollback()
        statuses = [r.status_code for r in await asyncio.gather(*posts)]
        stop.set()
        took = await health
        await ticking
    replica.close()
    assert statuses == [200] * SENDERS
    assert ticker.ticks > 100 and ticker.longest < 1.0, ticker.longest
    assert len(took) > 10 and max(took) < 1.0, max(took)
