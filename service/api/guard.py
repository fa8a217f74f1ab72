"""Access control for every ``/fhir`` route, in one place: the route class that
:func:`service.api.deps.fhir_router` gives its routes. Around each route it authenticates the caller
(:mod:`service.api.auth`), finds the route's SMART needs (:mod:`service.api.interactions`), checks the
scopes, applies the write rate limit, confines a ``patient/`` token to its compartment
(:mod:`service.api.compartment`: searches narrowed, posted Bundles refused whole, answers stripped of
anything outside it) and leaves one AuditEvent (:mod:`service.api.audit_hook`). Routes themselves stay
parse, delegate, render.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson
from fastapi import Request
from fastapi.routing import APIRoute
from starlette.responses import Response

from service.adapters.fhir_in.bundles import patient_reference
from service.api import compartment
from service.api.audit_hook import audit, done, expect
from service.api.auth import authenticate
from service.api.body import posted_json
from service.api.direct import direct_handler
from service.api.fhir_json import FhirJSONResponse
from service.api.interactions import Interaction, Kind, evaluate_parameters, interaction
from service.api.rate_limit import WriteRateLimiter
from service.api.scopes import FULL_ACCESS, Access
from service.errors import Forbidden, NotFound, ServiceError, TooManyRequests

Handler = Callable[[Request], Coroutine[Any, Any, Response]]
_PATIENT_PARAMS = ("patient", "subject")


class GuardedRoute(APIRoute):
    def get_route_handler(self) -> Handler:
        handler = direct_handler(self.dependant, super().get_route_handler())
        name = self.name

        async def guarded(request: Request) -> Response:
            if name == "metadata":  # SMART discovery reads it without a token
                return await handler(request)
            access = await authenticate(request)
            request.state.access = access
            body = await _json_body(request)
            rule = interaction(name, request.path_params, body)
            pending = expect(request, rule, access, body)  # a write's event, for its own transaction
            try:
                response = await _checked(request, handler, rule, access, body)
            except TooManyRequests:
                raise  # no access was made, and a flood of them must not become a flood of audit writes
            except Exception as exc:  # refused by the guard or failed in the route: audited alike
                status = exc.status if isinstance(exc, ServiceError) else 500
                await audit(request, rule, access, status, body, None)
                raise
            else:
                await audit(request, rule, access, response.status_code, body, response)
            finally:
                done(pending)
            return response

        return guarded


async def _checked(
    request: Request, handler: Handler, rule: Interaction | None, access: Access, body: dict[str, Any] | None
) -> Response:
    """Scopes, the audit trail's own protection, the rate limit, the compartment; then the route."""
    patient = _authorize(access, rule, request.scope["route"].name)
    _refuse_audit_writes(rule)
    if rule is not None and request.method not in ("GET", "HEAD") and rule.kind is not Kind.SEARCH:
        _limiter(request).take(access.client_id)
    if patient is None or rule is None:
        return await handler(request)
    await _confine_request(request, rule, body, patient)
    response = await handler(request)
    if rule.kind in (Kind.READ, Kind.SEARCH, Kind.EVALUATE):
        response = await _confine_response(request, response, patient)
    return response


def _authorize(access: Access, rule: Interaction | None, name: str) -> str | None:
    """The patient the call is confined to, or None; Forbidden when the scopes do not allow it."""
    if rule is None:
        if access.scopes == FULL_ACCESS:
            return None
        raise Forbidden(f"No access rule covers the route '{name}' for scoped tokens")
    contexts = ("system", "user") if rule.kind is Kind.AUDIT else ()
    patient = access.confinement(rule.needs, contexts)
    if patient is None:
        return None
    if rule.kind is Kind.SUBSCRIPTION:
        raise Forbidden("Subscriptions are for system/ and user/ clients, not patient/ tokens")
    return patient if patient.startswith("Patient/") else f"Patient/{patient}"


def _refuse_audit_writes(rule: Interaction | None) -> None:
    """The audit trail is the service's own record: no scope lets a client write an AuditEvent into it."""
    if rule is not None and any(t == "AuditEvent" and a in "cud" for t, a in rule.needs):
        raise Forbidden("AuditEvents are written only by the service (the audit trail)")


async def _json_body(request: Request) -> dict[str, Any] | None:
    """The posted JSON object, when there is one. It is the object the route reads (parsed once, issue 19),
    taken before the route's checks: a body the route refuses (not JSON, too deep, a key repeated) is left to
    the route to refuse, after the scopes and the compartment, as it always was."""
    if request.method not in ("POST", "PUT"):
        return None
    data = (await posted_json(request)).value
    return data if isinstance(data, dict) else None


async def _confine_request(
    request: Request, rule: Interaction, body: dict[str, Any] | None, patient: str
) -> None:
    if rule.kind is Kind.SEARCH:
        _narrow_search(request, patient)
    elif rule.kind is Kind.READ and "patient_id" in request.path_params:  # the report page
        if f"Patient/{request.path_params['patient_id']}" != patient:
            raise NotFound("The service holds no data for this patient")  # as a read outside the compartment
    elif rule.kind is Kind.WRITE:
        await _refuse_foreign(request, body, patient)
    elif rule.kind is Kind.EVALUATE:
        bundle, patients, _ = evaluate_parameters(body)
        if any(compartment.as_patient(p if "/" in p else f"Patient/{p}") != patient for p in patients):
            raise Forbidden("A patient/ token may evaluate only its own patient")
        await _refuse_foreign(request, bundle, patient)


def _narrow_search(request: Request, patient: str) -> None:
    """Rewrite the query so the route searches the compartment only; asking for another patient is 403."""
    params = parse_qsl(request.scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    for key, value in params:
        named = value.split(",") if key.partition(":")[0] in _PATIENT_PARAMS else []  # any modifier too
        if any(compartment.as_patient(f"Patient/{v.removeprefix('Patient/')}") != patient for v in named):
            raise Forbidden("A patient/ token may search only its own patient's compartment")
    narrowed = [(k, v) for k, v in params if k not in _PATIENT_PARAMS] + [("patient", patient)]
    request.scope["query_string"] = urlencode(narrowed).encode("latin-1")


async def _refuse_foreign(request: Request, bundle: dict[str, Any] | None, patient: str) -> None:
    if bundle is None:
        return  # nothing the route could parse: it answers 400 itself
    reason = await compartment.refusal(bundle, patient, store_lookup(request))
    if reason is not None:
        raise Forbidden(f"The Bundle is refused whole: {reason}")


async def _confine_response(request: Request, response: Response, patient: str) -> Response:
    if response.status_code != 200 or not isinstance(response, FhirJSONResponse):
        return response
    content = orjson.loads(bytes(response.body))
    kept = await compartment.visible(content, patient, store_lookup(request))
    if kept is None:
        raise NotFound(f"{request.path_params.get('resource_type', 'The resource')} is not known here")
    headers = {
        k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "content-type")
    }
    return FhirJSONResponse(kept, status_code=response.status_code, headers=headers)


def store_lookup(request: Request) -> compartment.Lookup:
    store = request.app.state.container.store

    async def lookup(reference: str) -> str | None:
        parts = reference.split("?")[0].split("/")  # relative, absolute or versioned (Type/id/_history/n)
        parts = parts[:-2] if len(parts) >= 4 and parts[-2] == "_history" else parts
        if len(parts) < 2:
            return None
        async with store.reading() as reader:
            found = await reader.current(parts[-2], parts[-1])
        if found is None:
            return None
        if parts[-2] == "Provenance":  # its targets' one owner; a Provenance's Provenance is never followed
            targets = [t.get("reference") for t in found.content.get("target", []) if isinstance(t, dict)]
            owners = {await lookup(t) for t in targets if isinstance(t, str) and "Provenance/" not in t}
            return (owners.pop() if len(owners) == 1 else None) or ""
        return patient_reference(found.content) or ""

    return lookup


def _limiter(request: Request) -> WriteRateLimiter:
    limiter: WriteRateLimiter | None = getattr(request.app.state, "write_limiter", None)
    if limiter is None:
        limiter = WriteRateLimiter(request.app.state.container.settings.rate_limit_writes_per_minute)
        request.app.state.write_limiter = limiter
    return limiter
