"""The client side of write-back (issue 7): the EHR's FHIR server, how to authenticate to it, and how a
delivery attempt is classified for the outbox's retries. Import from here; the modules are private."""

from service.adapters.fhir_client.auth import (
    Auth,
    NoAuth,
    SmartBackendAuth,
    StaticBearer,
    TokenError,
    auth_from_config,
)
from service.adapters.fhir_client.client import (
    DeliveryError,
    DeliveryResult,
    FhirServerClient,
    SearchError,
    classify,
    classify_transport_error,
)

__all__ = [
    "Auth",
    "DeliveryError",
    "DeliveryResult",
    "FhirServerClient",
    "NoAuth",
    "SearchError",
    "SmartBackendAuth",
    "StaticBearer",
    "TokenError",
    "auth_from_config",
    "classify",
    "classify_transport_error",
]
