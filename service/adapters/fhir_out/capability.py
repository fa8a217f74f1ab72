"""The R4 CapabilityStatement: it lists only what the service implements (FHIR-CONTRACT.md section 2)."""

from __future__ import annotations

from typing import Any

from service import __version__
from service.config import AuthMode, Settings

# The build date of this statement's content; bump it when the statement changes.
_STATEMENT_DATE = "2026-11-28"


def capability_statement(settings: Settings) -> dict[str, Any]:
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": _STATEMENT_DATE,
        "kind": "instance",
        "software": {"name": "oncoresponse", "version": __version__},
        "implementation": {
            "description": "oncoresponse: tumour response and targeted-therapy resistance assessment",
            "url": settings.canonical_base,
        },
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [_rest(settings)],
    }


def _rest(settings: Settings) -> dict[str, Any]:
    rest: dict[str, Any] = {
        "mode": "server",
        "documentation": "Decision support only: reports are preliminary and care plans are proposals.",
    }
    if settings.auth_mode is AuthMode.BEARER:
        rest["security"] = {"description": "Every /fhir request needs 'Authorization: Bearer <token>'."}
    return rest
