"""Hardening that goes with inbound security (issue 16), as one ASGI middleware:

- every answer carries ``X-Content-Type-Options: nosniff``; HTML pages also a strict Content-Security-Policy
  (no script, no outside resource: the report page is self-contained, its charts inline SVG), no framing,
  no referrer and no caching (they show a patient's data);
- a path with a trailing slash is served as the path without it (``POST /fhir/`` is ``POST /fhir``): the
  framework's answer was a 307 to a URL built from the Host header, which many clients follow without the
  body, and which points wherever the Host header says (issue 15);
- a request body must arrive within ``ONCO_BODY_READ_TIMEOUT_SECONDS`` of each read, or the answer is a 408,
  so a slow client cannot hold a worker. Header read time is bounded by the server and the ingress
  (docs/security.md): uvicorn reads headers before this middleware runs.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import RequestTimeout

_ALL = [(b"x-content-type-options", b"nosniff")]
_HTML = [
    (b"content-security-policy",
     b"default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; "
     b"base-uri 'none'; form-action 'none'"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]  # fmt: skip


class HardeningMiddleware:
    def __init__(self, app: ASGIApp, *, body_timeout_seconds: float) -> None:
        self.app, self.body_timeout = app, body_timeout_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        path = scope.get("path", "")
        if len(path) > 1 and path.endswith("/"):
            raw = scope.get("raw_path")
            scope = {**scope, "path": path.rstrip("/") or "/"}
            if isinstance(raw, bytes):
                scope["raw_path"] = raw.rstrip(b"/") or b"/"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = _with_security_headers(list(message.get("headers", [])))
            await send(message)

        await self.app(scope, self._timed(receive), send_with_headers)

    def _timed(self, receive: Receive) -> Receive:
        """Each body read is timed until the last chunk; later reads (waiting for a disconnect) are not."""
        body_done = False

        async def timed_receive() -> Message:
            nonlocal body_done
            if body_done:
                return await receive()
            try:  # a timeout scope, not wait_for: no task per read (issue 19)
                async with asyncio.timeout(self.body_timeout):
                    message = await receive()
            except TimeoutError:
                raise RequestTimeout(
                    f"The request body did not arrive within {self.body_timeout:g} s"
                ) from None
            body_done = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        return timed_receive


def _with_security_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    names = {name.lower() for name, _ in headers}
    content_type = next((value for name, value in headers if name.lower() == b"content-type"), b"")
    extra = _ALL + (_HTML if content_type.startswith(b"text/html") else [])
    return headers + [(name, value) for name, value in extra if name not in names]
