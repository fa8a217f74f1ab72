"""The request body's read timeout (issue 16, service/api/hardening.py): a body that stops arriving is a 408
OperationOutcome; the reads after the last chunk (a wait for a disconnect) are not timed."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.types import Message

from service.api.app import create_app
from service.api.hardening import HardeningMiddleware
from service.config import Settings
from service.errors import RequestTimeout


def _scope(path: str = "/fhir") -> dict[str, Any]:
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
            "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
            "root_path": "", "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json")],
            "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8080), "state": {}}  # fmt: skip


async def _never() -> dict[str, Any]:
    await asyncio.Event().wait()
    raise AssertionError("unreachable")


async def test_a_body_that_never_arrives_is_a_408(tmp_path: Path) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path / 'onco.db'}"
    settings = Settings(database_url=database, body_read_timeout_seconds=0.05)
    app = create_app(settings)
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async with app.router.lifespan_context(app):
        await asyncio.wait_for(app(_scope(), _never, send), timeout=5)
    assert sent[0]["status"] == 408
    outcome = orjson.loads(sent[1]["body"])
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["code"] == "timeout"
    assert "0.05 s" in outcome["issue"][0]["diagnostics"]


async def test_the_middleware_times_each_body_read_and_not_the_wait_after_it() -> None:
    reads: list[str] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        first = await receive()
        reads.append(first["body"].decode())
        second = await receive()  # more_body: still timed
        reads.append(second["body"].decode())
        await receive()  # after the last chunk: not timed, so the slow answer below is no timeout
        reads.append("disconnect")

    messages = [
        {"type": "http.request", "body": b"a", "more_body": True},
        {"type": "http.request", "body": b"b", "more_body": False},
    ]

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        await asyncio.sleep(0.2)  # four times the timeout
        return {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        pass

    await HardeningMiddleware(inner, body_timeout_seconds=0.05)(_scope(), receive, send)
    assert reads == ["a", "b", "disconnect"]


async def test_a_stalled_second_chunk_times_out() -> None:
    async def inner(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await receive()

    messages = [{"type": "http.request", "body": b"a", "more_body": True}]

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else await _never()

    async def send(message: Any) -> None:
        pass

    with pytest.raises(RequestTimeout):
        await HardeningMiddleware(inner, body_timeout_seconds=0.05)(_scope(), receive, send)
