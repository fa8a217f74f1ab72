"""The egress allow-list cannot be walked out of (issue 21): an endpoint is matched in the form the HTTP
client will request, anything not already in that form is refused, and a real loopback subscriber (IPv4
and IPv6) counts every request on a path it must never receive: after creates, updates, rows queued
before the list was narrowed, and redirects, that count stays zero."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from service.adapters.store.outbox_rows import REJECTED
from service.adapters.store.tables import subscriptions
from service.api.app import create_app
from service.app.egress import endpoint_allowed
from service.bootstrap import Container
from service.config import Settings
from tests.api.test_subscriptions import subscription
from tests.app.test_delivery import T790M

FHIR = {"content-type": "application/fhir+json"}
P = "http://127.0.0.1:18993/hooks"


@pytest.mark.parametrize(
    "url",
    [
        f"{P}/../admin",  # a dot segment httpx removes before sending
        f"{P}/./../admin",
        f"{P}/..",
        f"{P}/%2e%2e/admin",  # encoded dot segments, which a server may decode
        f"{P}/%2E%2E/admin",
        f"{P}/.%2e/admin",
        f"{P}/..%2Fadmin",  # an encoded slash
        f"{P}/..%2fadmin",
        f"{P}/..%5Cadmin",  # an encoded backslash
        f"{P}/..\\admin",
        f"{P}/%252e%252e/admin",  # double encoding
        f"{P}/..;/admin",  # a segment a server with path parameters reads as ".."
        f"{P}/%61dmin",  # an encoded unreserved character: not the normal form
        f"{P}/caf%c3%a9",  # lower-case hex: not the normal form
        "HTTP://127.0.0.1:18993/hooks",  # mixed case scheme
        "http://LOCALHOST:18993/hooks",
        "http://127.0.0.1:018993/hooks",  # a port httpx would rewrite
        "http://user:secret@127.0.0.1:18993/hooks",  # userinfo
        "http://127.0.0.1:18993@evil.test/hooks",
        "http://127.0.0.1:18993\\@evil.test/hooks",
        f"{P}#fragment",
        "http://127.0.0.1:18994/hooks",  # another port
        "http://127.1:18993/hooks",  # another spelling of the host is another host
        "http://[0:0:0:0:0:0:0:1]:18993/hooks",  # an IPv6 literal not in its canonical form
        "http://[::1%25lo]:18993/hooks",  # a zone id
        "http://[::ffff:127.0.0.1]:18993/hooks",
        "http://127.0.0.1:18993/hooks-evil",
        "ftp://127.0.0.1:18993/hooks",
    ],
)
def test_an_endpoint_that_is_not_in_normal_form_or_not_listed_is_refused(url: str) -> None:
    assert not endpoint_allowed(url, [P, "http://[::1]:18993/hooks", "https://engine.test"])


@pytest.mark.parametrize(
    "url",
    [
        P,
        f"{P}/",
        f"{P}/oncology?x=/../a",  # a query is not a path
        f"{P}/caf%C3%A9",
        f"{P}/a%20b",
        "http://[::1]:18993/hooks/x",
        "https://engine.test/anything",  # the default port, left out as httpx leaves it out
    ],
)
def test_a_listed_endpoint_in_normal_form_is_allowed(url: str) -> None:
    assert endpoint_allowed(url, [P, "http://[::1]:18993/hooks", "https://engine.test"])


def test_a_prefix_is_matched_in_the_form_httpx_requests_it() -> None:
    """Prefixes written with a default port or upper-case host still match their normal-form endpoints."""
    assert endpoint_allowed("https://engine.test/hooks/a", ["https://ENGINE.test:443/hooks/"])


class Recorder:
    """A loopback subscriber: 200 under /hooks, a 307 to /admin from /hooks/redirect, every path counted."""

    def __init__(self, host: str) -> None:
        paths = self.paths = []  # type: list[str]

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", "0")))
                paths.append(self.path)
                redirect = self.path.startswith("/hooks/redirect")
                self.send_response(307 if redirect else 200)
                if redirect:
                    self.send_header("location", "/admin")
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                """Quiet."""

        server_class = type("Server", (ThreadingHTTPServer,), {"address_family": _family(host)})
        self.server = server_class((host, 0), Handler)
        port = self.server.server_address[1]
        self.base = f"http://{'[::1]' if ':' in host else host}:{port}"

    def outside(self) -> list[str]:
        return [p for p in self.paths if not (p == "/hooks" or p.startswith("/hooks/"))]


def _family(host: str) -> int:
    import socket

    return socket.AF_INET6 if ":" in host else socket.AF_INET


@pytest.fixture
def recorders() -> Iterator[tuple[Recorder, Recorder]]:
    pair = Recorder("127.0.0.1"), Recorder("::1")
    threads = [threading.Thread(target=r.server.serve_forever, daemon=True) for r in pair]
    for thread in threads:
        thread.start()
    yield pair
    for r in pair:
        r.server.shutdown()
        r.server.server_close()


@pytest.fixture
async def app(tmp_path: Path, recorders: tuple[Recorder, Recorder]) -> AsyncIterator[FastAPI]:
    v4, v6 = recorders
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'onco.db'}",
        delivery_worker=False,
        subscription_endpoints=[f"{v4.base}/hooks", f"{v6.base}/hooks"],
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


async def post(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> httpx.Response:
    return await client.post(path, content=orjson.dumps(body), headers=FHIR)


def container(app: FastAPI) -> Container:
    found: Container = app.state.container
    return found


WALK_OUTS = [
    "{base}/hooks/../admin",
    "{base}/hooks/%2e%2e/admin",
    "{base}/hooks/..%2Fadmin",
    "{base}/hooks/..;/admin",
    "{base}/hooks/%2561dmin",
    "{base}/Hooks/../admin",
    "{scheme}://{authority}/hooks/../admin",
    "http://user:pw@{authority}/hooks",
]


async def test_no_walk_out_is_accepted_and_the_subscriber_never_sees_one(
    app: FastAPI, recorders: tuple[Recorder, Recorder]
) -> None:
    """Every walk-out form, over IPv4 and IPv6, is a 422 on create and on update; nothing is contacted."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        for r in recorders:
            authority = r.base.removeprefix("http://")
            good = await post(client, "/fhir/Subscription", subscription(f"{r.base}/hooks/ok"))
            assert good.status_code == 201, good.text
            for form in WALK_OUTS:
                url = form.format(base=r.base, scheme="HTTP", authority=authority)
                assert (await post(client, "/fhir/Subscription", subscription(url))).status_code == 422, url
                moved = {**subscription(url), "id": good.json()["id"]}
                put = await client.put(
                    f"/fhir/Subscription/{good.json()['id']}", content=orjson.dumps(moved), headers=FHIR
                )
                assert put.status_code == 422, url
        await container(app).delivery.drain()
    for r in recorders:
        assert r.paths == ["/hooks/ok"] and r.outside() == []  # the handshake, and nothing else


async def test_a_stored_walk_out_endpoint_is_refused_at_send(
    app: FastAPI, recorders: tuple[Recorder, Recorder]
) -> None:
    """An endpoint that reached the database another way (an older release, a narrowed list) is checked
    again before each send: the row is kept as rejected and the subscriber's /admin is never posted to."""
    v4, _ = recorders
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        created = (await post(client, "/fhir/Subscription", subscription(f"{v4.base}/hooks"))).json()
        await container(app).delivery.drain()
        async with container(app).store.engine.begin() as conn:
            await conn.execute(
                update(subscriptions)
                .where(subscriptions.c.id == created["id"])
                .values(endpoint=f"{v4.base}/hooks/%2e%2e/admin")
            )
        assert (await post(client, "/fhir/Bundle", orjson.loads(T790M.read_bytes()))).status_code == 200
        await container(app).delivery.drain()
    assert v4.paths == ["/hooks"] and v4.outside() == []
    assert [e.kind for e in await container(app).store.outbox().entries(status=REJECTED)] == ["notification"]


async def test_a_redirect_is_never_followed(app: FastAPI, recorders: tuple[Recorder, Recorder]) -> None:
    """A subscriber answering 307 to /admin: the service does not follow it (the handshake is not a 2xx,
    so the subscription is in error), and /admin is never contacted."""
    for r in recorders:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            created = await post(client, "/fhir/Subscription", subscription(f"{r.base}/hooks/redirect"))
            await container(app).delivery.drain()
            status = (await client.get(f"/fhir/Subscription/{created.json()['id']}")).json()["status"]
        assert status == "error"
        assert r.paths == ["/hooks/redirect"] and r.outside() == []
