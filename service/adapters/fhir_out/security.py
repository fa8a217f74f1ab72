"""What the CapabilityStatement and SMART discovery say about security (issue 16): the SMART service coding
and the OAuth URIs extension in ``rest.security``, the ``/.well-known/smart-configuration`` document, and
the AuditEvent search offered to system/ and user/ clients."""

from __future__ import annotations

from typing import Any

from service.config import AuthMode, Settings

_OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
_SERVICE = "http://terminology.hl7.org/CodeSystem/restful-security-service"
ALGORITHMS = ("RS256", "RS384", "ES256", "ES384")  # as service.api.jwt_tokens accepts
SCOPES_SUPPORTED = (
    "system/*.cruds",
    "user/*.cruds",
    "patient/*.rs",
    "patient/*.cruds",
    "system/AuditEvent.rs",
)


def rest_security(settings: Settings) -> dict[str, Any] | None:
    if settings.auth_mode is AuthMode.BEARER:
        return {
            "cors": False,
            "description": "Every /fhir request but /fhir/metadata needs 'Authorization: Bearer <token>' "
            "(static development tokens; production uses SMART on FHIR).",
        }
    if settings.auth_mode is not AuthMode.SMART:
        return None
    return {
        "extension": [{"url": _OAUTH_URIS, "extension": _oauth_uris(settings)}],
        "cors": False,
        "service": [
            {"coding": [{"system": _SERVICE, "code": "SMART-on-FHIR"}], "text": "OAuth2 using SMART-on-FHIR"}
        ],
        "description": "OAuth 2.0 bearer JWT access tokens from the issuer in "
        "/.well-known/smart-configuration, with SMART v2 (or v1) system/, user/ or patient/ scopes; "
        "patient/ tokens see and write only their patient's compartment. "
        "Every access to patient data is recorded as an AuditEvent.",
    }


def _oauth_uris(settings: Settings) -> list[dict[str, str]]:
    uris = {"token": settings.auth_token_url, "authorize": settings.auth_authorize_url}
    return [{"url": name, "valueUri": uri} for name, uri in uris.items() if uri]


def audit_event_resource() -> dict[str, Any]:
    """``GET /fhir/AuditEvent?patient=&date=&agent=`` (system/ or user/ AuditEvent.s)."""
    return {
        "type": "AuditEvent",
        "interaction": [{"code": "search-type"}],
        "searchParam": [
            {"name": "patient", "type": "reference"},
            {"name": "date", "type": "date"},
            {"name": "agent", "type": "token", "documentation": "the client_id or sub of the caller"},
        ],
    }


def smart_configuration(settings: Settings) -> dict[str, Any]:
    """SMART App Launch 2.x discovery (https://hl7.org/fhir/smart-app-launch/conformance.html)."""
    document: dict[str, Any] = {
        "issuer": settings.auth_issuer,
        "jwks_uri": settings.auth_jwks_url,
        "token_endpoint": settings.auth_token_url,
        "authorization_endpoint": settings.auth_authorize_url,
        "grant_types_supported": ["authorization_code", "client_credentials"],
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": list(ALGORITHMS),
        "scopes_supported": [*SCOPES_SUPPORTED, "launch/patient", "openid", "fhirUser"],
        "response_types_supported": ["code"],
        "capabilities": [
            "launch-standalone", "client-public", "client-confidential-asymmetric",
            "context-standalone-patient", "permission-patient", "permission-user", "permission-v1",
            "permission-v2",
        ],
        "code_challenge_methods_supported": ["S256"],
    }  # fmt: skip
    return {k: v for k, v in document.items() if v is not None}
