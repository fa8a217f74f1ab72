"""Every error rendered in one place as an OperationOutcome (HOUSE-STYLE rule 8).

Unhandled exceptions are caught by :mod:`service.api.middleware`, which logs the stack trace with the
request id and answers a 500 that says nothing of the internals.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from service.api.fhir_json import outcome_response
from service.errors import Issue, MethodNotAllowed, NotFound, ServiceError

# Statuses Starlette raises by itself, mapped onto the error tree's issue codes.
_STARLETTE_CODES = {404: NotFound.code, 405: MethodNotAllowed.code}


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ServiceError, _service_error)  # type: ignore[arg-type]  # Starlette's handler type is loose
    app.add_exception_handler(StarletteHTTPException, _http_exception)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]


async def _service_error(_request: Request, exc: ServiceError) -> Response:
    return outcome_response(exc.status, exc.issues, headers=exc.headers)


async def _http_exception(request: Request, exc: StarletteHTTPException) -> Response:
    if exc.status_code == 404:
        text = f"No route for {request.method} {request.url.path}"
    elif exc.status_code == 405:
        text = f"{request.method} is not allowed here"
    else:
        text = str(exc.detail)
    code = _STARLETTE_CODES.get(exc.status_code, "processing" if exc.status_code < 500 else "exception")
    headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
    if exc.status_code == 405:
        headers["allow"] = _allowed(request, headers.get("allow", ""))
    return outcome_response(exc.status_code, [Issue(text, code)], headers=headers)


def _allowed(request: Request, first: str) -> str:
    """Every method served at this path (issue 21): Starlette names only the first matching route's, so
    ``/fhir/Patient/x`` said ``GET`` though ``HEAD`` is served too. The OpenAPI paths list them all, with
    the values a path parameter may take (``/fhir/metadata`` is not a search of a type ``metadata``)."""
    methods = {m.strip() for m in first.split(",") if m.strip()}
    for template, operations in request.app.openapi()["paths"].items():
        pattern = re.sub(r"\\\{([^/]+?)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
        found = re.fullmatch(pattern, request.url.path)
        if found:
            methods |= {m.upper() for m, op in operations.items() if _fits(op, found.groupdict())}
    return ", ".join(sorted(methods))


def _fits(operation: dict[str, Any], values: dict[str, str]) -> bool:
    enums = {
        p["name"]: p["schema"]["enum"]
        for p in operation.get("parameters", [])
        if p.get("in") == "path" and "enum" in p.get("schema", {})
    }
    return all(values.get(name) in allowed for name, allowed in enums.items())


async def _validation_error(_request: Request, exc: RequestValidationError) -> Response:
    issues = [
        Issue(str(err.get("msg", "invalid")), "invalid", expression=_loc(err.get("loc", ())))
        for err in exc.errors()
    ]
    return outcome_response(400, issues)


def _loc(loc: tuple[object, ...]) -> str | None:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or None
