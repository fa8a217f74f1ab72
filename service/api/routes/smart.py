"""SMART discovery without a token: ``/.well-known/smart-configuration``, at the server root and under the
FHIR base (``/fhir/.well-known/smart-configuration``, where SMART clients look)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from service.adapters.fhir_out.security import smart_configuration
from service.api.deps import ContainerDep
from service.config import AuthMode
from service.errors import NotFound

router = APIRouter(tags=["fhir"])


@router.get("/.well-known/smart-configuration", operation_id="smart_configuration",
            summary="SMART App Launch discovery", response_class=JSONResponse)  # fmt: skip
@router.get("/fhir/.well-known/smart-configuration", operation_id="smart_configuration_fhir",
            summary="SMART App Launch discovery (under the FHIR base)", response_class=JSONResponse,
            include_in_schema=False)  # fmt: skip
async def smart_configuration_document(container: ContainerDep) -> JSONResponse:
    if container.settings.auth_mode is not AuthMode.SMART:
        raise NotFound("SMART on FHIR is not configured (ONCO_AUTH_MODE is not smart)")
    return JSONResponse(smart_configuration(container.settings))
