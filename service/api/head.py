"""``HEAD`` where ``GET`` is (https://hl7.org/fhir/R4/http.html#head): the GET's status and headers, with
the ``Content-Length`` of the body a GET would get, and no body.

The guard confines a ``patient/`` token's GET answers by rewriting their JSON body; a HEAD answer has none,
so the confinement is applied here, before the body is dropped: another patient's resource is a 404 to a
HEAD as to a GET, never a 200 that tells it exists.
"""

from __future__ import annotations

import orjson
from fastapi import Request, Response
from starlette.types import Receive, Scope, Send

from service.api import compartment
from service.api.fhir_json import FhirJSONResponse
from service.api.guard import store_lookup
from service.api.search_included import confinement
from service.errors import NotFound


class HeadResponse(Response):
    """A GET's answer that sends its status and headers only. It keeps the body it would have sent, with
    its ``Content-Length``, for what inspects the answer on its way out (the audit trail)."""

    def __init__(self, response: Response) -> None:
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        super().__init__(bytes(response.body), status_code=response.status_code, headers=headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": b""})


async def headers_only(response: Response, request: Request, resource_type: str, action: str) -> Response:
    """``response`` (a GET's answer) without its body, confined to a ``patient/`` token's compartment."""
    if isinstance(response, FhirJSONResponse) and response.status_code == 200:
        patient = confinement(request, resource_type, action)
        if patient is not None:
            response = await _confined(response, request, resource_type, patient)
    return HeadResponse(response)


async def _confined(
    response: FhirJSONResponse, request: Request, resource_type: str, patient: str
) -> FhirJSONResponse:
    kept = await compartment.visible(orjson.loads(bytes(response.body)), patient, store_lookup(request))
    if kept is None:
        raise NotFound(f"{resource_type} is not known here")
    dropped = ("content-length", "content-type")  # FhirJSONResponse sets them for the confined body
    headers = {k: v for k, v in response.headers.items() if k.lower() not in dropped}
    return FhirJSONResponse(kept, status_code=response.status_code, headers=headers)
