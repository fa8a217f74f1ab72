"""Calling a guarded endpoint without FastAPI's per-request dependency solving, when it would resolve nothing
(issue 19). ``$evaluate`` takes the request, the container and one optional query parameter: on a request
with no query string, no dependency override and no FastAPI telemetry, FastAPI's handler validates no input,
calls ``_container`` and passes the parameter's default, which costs more than the route's own checks. The
direct call does just that; any other request goes through FastAPI's handler, as does every endpoint whose
signature asks for more (a body, a path, header or cookie parameter, a dependency with parameters of its
own, a yield dependency, background tasks).

The endpoint's declaration is unchanged, so the OpenAPI document is too.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.telemetry import get_telemetry_data
from starlette.responses import Response

Handler = Callable[[Request], Coroutine[Any, Any, Response]]
_SCALARS = (bool, int, float, str)


def direct_handler(dependant: Dependant, fallback: Handler) -> Handler:
    """``fallback`` (FastAPI's handler) when the endpoint needs it, else a handler that calls the endpoint
    directly whenever the request gives FastAPI nothing to read, and ``fallback`` otherwise."""
    plan = _plan(dependant)
    if plan is None:
        return fallback
    call, request_name, dependencies, defaults = plan

    async def handler(request: Request) -> Response:
        if (
            request.scope.get("query_string")
            or request.app.dependency_overrides
            or get_telemetry_data() is not None
        ):
            return await fallback(request)
        values = dict(defaults)
        if request_name is not None:
            values[request_name] = request
        for name, dependency, parameter in dependencies:
            values[name] = await dependency(**{parameter: request})
        response = await call(**values)
        if not isinstance(response, Response):  # _plan admits only endpoints declared to answer a Response
            raise TypeError(f"{call.__name__} answered {type(response).__name__}, not a Response")
        return response

    return handler


_Plan = tuple[Callable[..., Any], str | None, list[tuple[str, Callable[..., Any], str]], dict[str, Any]]


def _plan(dependant: Dependant) -> _Plan | None:
    """The endpoint, its request parameter, its request-only dependencies (name, call, request parameter) and
    its query parameters' defaults; None when FastAPI has more to do for it."""
    call = dependant.call
    if call is None or not _bare(dependant) or not inspect.iscoroutinefunction(call):
        return None
    try:
        returns = inspect.signature(call, eval_str=True).return_annotation
    except NameError:  # FastAPI resolved the parameters' annotations, not necessarily the return's
        return None
    if not (isinstance(returns, type) and issubclass(returns, Response)):
        return None  # a string annotation or a model: FastAPI serialises what it answers
    defaults = {}
    for field in dependant.query_params:
        info = field.field_info
        default = info.default
        if info.is_required() or info.default_factory is not None or info.validate_default:
            return None
        if info.annotation not in _SCALARS or type(default) not in _SCALARS:
            return None
        defaults[field.name] = default  # immutable: FastAPI's deepcopy of it is the same value
    dependencies = []
    for sub in dependant.dependencies:
        if (
            sub.call is None
            or sub.name is None
            or sub.request_param_name is None
            or sub.query_params
            or sub.dependencies
            or not _bare(sub)
            or not inspect.iscoroutinefunction(sub.call)
        ):
            return None
        dependencies.append((sub.name, sub.call, sub.request_param_name))
    return call, dependant.request_param_name, dependencies, defaults


def _bare(dependant: Dependant) -> bool:
    """No parameter FastAPI reads from the request or provides, besides the request and query parameters."""
    return not (
        dependant.path_params
        or dependant.header_params
        or dependant.cookie_params
        or dependant.body_params
        or dependant.websocket_param_name
        or dependant.http_connection_param_name
        or dependant.response_param_name
        or dependant.background_tasks_param_name
        or dependant.security_scopes_param_name
        or dependant.own_oauth_scopes
    )
