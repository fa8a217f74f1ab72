"""One ASGI middleware for what every request shares: its id, its size limit, its metrics and log line,
and the last line of defence against an unhandled exception (a 500 OperationOutcome, no internals)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import time

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.fhir_json import outcome_response
from service.api.metrics import HttpMetrics
from service.errors import Issue, PayloadTooLarge

log = structlog.get_logger("service.http")

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
REQUEST_ID_HEADER = "x-request-id"
_REQUEST_ID_NAME = REQUEST_ID_HEADER.encode()
# uuid.UUID(bytes=os.urandom(16), version=4), as uuid.uuid4() builds it, without the object (issue 19):
# the variant bits set to RFC 4122's, the version nibble to 4.
_UUID4_CLEAR = ~((0xC000 << 48) | (0xF000 << 64))
_UUID4_SET = (0x8000 << 48) | (4 << 76)
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
        request_id, declared_length = _request_id_and_length(scope)
        structlog.contextvars.bind_contextvars(request_id=request_id)
        status, started, response_started = 500, time.perf_counter(), False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status, response_started = message["status"], True
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            if declared_length > self.max_body_bytes:
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


def _request_id_and_length(scope: Scope) -> tuple[str, int]:
    """The first safe ``X-Request-ID`` (else a new id) and the first numeric ``Content-Length`` (else 0), in
    one pass over the headers."""
    request_id, length = None, None
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            if length is None and value.isdigit():
                length = int(value)
        elif name == _REQUEST_ID_NAME and request_id is None:
            candidate: str = value.decode("latin-1")
            if _SAFE_REQUEST_ID.match(candidate):
                request_id = candidate
    return request_id or new_request_id(), length or 0


def new_request_id() -> str:
    """``uuid.uuid4().hex``: 32 hex digits of a random version 4 UUID."""
    return uuid4_hex(os.urandom(16))


def uuid4_hex(random: bytes) -> str:
    """``uuid.UUID(bytes=random, version=4).hex``."""
    return f"{(int.from_bytes(random, 'big') & _UUID4_CLEAR) | _UUID4_SET:032x}"


def _route(scope: Scope) -> str:
    """The matched route's template, never the raw path (which may hold a patient's id)."""
    return str(getattr(scope.get("route"), "path", "unmatched"))
