"""Dependency aliases for routes (HOUSE-STYLE rule 6)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from service.api.guard import GuardedRoute
from service.bootstrap import Container


# Dependencies are ``async def``: FastAPI runs a plain ``def`` one in a thread pool, a hand-over per request.
async def _container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(_container)]


# What any /fhir route may answer besides its own results (service/errors.py; issues 16 and 20), each an
# OperationOutcome; a route's own `responses` add the rest.
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "OperationOutcome: no access token, or an invalid one (WWW-Authenticate says why)"},
    403: {"description": "OperationOutcome: the token's scopes or patient do not allow this"},
    413: {"description": "OperationOutcome: a body over ONCO_MAX_BUNDLE_BYTES"},
    429: {"description": "OperationOutcome: over the client's write rate; try again after Retry-After"},
    500: {"description": "OperationOutcome: an internal error, naming only the request id"},
    503: {"description": "OperationOutcome: shedding load, or the store is away; retry after Retry-After"},
}


def fhir_router() -> APIRouter:
    """A router under ``/fhir`` whose routes are guarded (:mod:`service.api.guard`: token, SMART scopes,
    patient compartment, rate limit, audit). The prefix sits on each router (not on an enclosing one) so
    that the matched route's template, used in metrics and logs, is the full path."""
    return APIRouter(prefix="/fhir", tags=["fhir"], route_class=GuardedRoute, responses=COMMON_RESPONSES)
