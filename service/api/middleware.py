"""One ASGI middleware for what every request shares: its id, its size limit, its metrics and log line,
and the last line of defence against an unhandled exception (a 500 OperationOutcome, no internals)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
import uuid

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.fhir_json import outcome_response
from service.api.metrics import HttpMetrics
from service.errors import Issue, PayloadTooLarge

log = structlog.get_logger("service.http")

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
REQUEST_ID_HEADER = "x-request-id"
# An over-limit body is read and discarded before the 413 (issue 20): clients that send the whole body
# before reading (urllib, Java, .NET) otherwise see a reset, not the answer. Bounded in bytes and time.
DRAIN_BYTES = 256 * 1024 * 1024
DRAIN_SECONDS = 15.0


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, *, metrics: HttpMetrics, max_body_bytes: int) -> None:
        self.app, self.metrics, self.max_body_bytes = app, metrics, max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        structlog.contextvars.bind_contextvars(request_id=request_id)
        status, started, response_started = 500, time.perf_counter(), False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status, response_started = message["status"], True
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            too_large = _declared_length(scope) > self.max_body_bytes
            if too_large:
                await self._reject_too_large(scope, receive, send_with_id)
            else:
                await self.app(scope, self._limited(receive), send_with_id)
        except Exception:
            log.exception("unhandled_exception", method=scope["method"], route=_route(scope))
            if not response_started:
                await outcome_response(500, [Issue(f"Internal error; request id {request_id}", "exception")])(
                    scope, receive, send_with_id
                )
        finally:
            self._record(scope, status, time.perf_counter() - started)
            structlog.contextvars.unbind_contextvars("request_id")

    def _limited(self, receive: Receive) -> Receive:
        """Count body bytes as they arrive, for senders that give no Content-Length (chunked)."""
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_body_bytes:
                if message.get("more_body", False):
                    await drain(receive)
                raise PayloadTooLarge(self._too_large_text())
            return message

        return limited_receive

    async def _reject_too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        await drain(receive)
        issues = [Issue(self._too_large_text(), PayloadTooLarge.code)]
        await outcome_response(413, issues, headers={"connection": "close"})(scope, receive, send)

    def _too_large_text(self) -> str:
        return f"Request body is larger than ONCO_MAX_BUNDLE_BYTES ({self.max_body_bytes} bytes)"

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        route = _route(scope)
        self.metrics.observe(scope["method"], route, status, seconds)
        log.info("request", method=scope["method"], route=route, status=status, ms=round(seconds * 1000, 2))


async def drain(receive: Receive) -> None:
    """Read and discard the rest of a request body, up to ``DRAIN_BYTES`` and ``DRAIN_SECONDS``."""

    async def discard() -> None:
        drained = 0
        while drained <= DRAIN_BYTES:
            message = await receive()
            drained += len(message.get("body", b""))
            if message["type"] != "http.request" or not message.get("more_body", False):
                return

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(discard(), DRAIN_SECONDS)


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == REQUEST_ID_HEADER.encode():
            candidate: str = value.decode("latin-1")
            if _SAFE_REQUEST_ID.match(candidate):
                return candidate
    return uuid.uuid4().hex


def _declared_length(scope: Scope) -> int:
    for name, value in scope.get("headers", []):
        if name == b"content-length" and value.isdigit():
            return int(value)
    return 0


def _route(scope: Scope) -> str:
    """The matched route's template, never the raw path (which may hold a patient's id)."""
    return str(getattr(scope.get("route"), "path", "unmatched"))
