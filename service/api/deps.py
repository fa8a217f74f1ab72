"""Dependency aliases for routes (HOUSE-STYLE rule 6)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from service.api.guard import GuardedRoute
from service.bootstrap import Container


# Dependencies are ``async def``: FastAPI runs a plain ``def`` one in a thread pool, a hand-over per request.
async def _container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(_container)]


def fhir_router() -> APIRouter:
    """A router under ``/fhir`` whose routes are guarded (:mod:`service.api.guard`: token, SMART scopes,
    patient compartment, rate limit, audit). The prefix sits on each router (not on an enclosing one) so
    that the matched route's template, used in metrics and logs, is the full path."""
    return APIRouter(prefix="/fhir", tags=["fhir"], route_class=GuardedRoute)
