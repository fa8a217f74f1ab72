"""What one attempt to reach the outside came to (issue 7): the values the outbound ports of ``ports.py``
(``RestHook``, ``WriteBack``) and the history fetch's search answer with. They are defined here, with the
ports, so that no use case imports an HTTP client; ``service/adapters/fhir_client`` re-exports them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DeliveryResult:
    """What one attempt came to. ``detail`` is short and free of patient data: it may be logged."""

    delivered: bool
    status: int | None  # None: no response at all (a transport error or timeout)
    retryable: bool
    retry_after: float | None  # seconds the server asked us to wait (Retry-After)
    detail: str
    outcome: dict[str, Any] | None = None  # the server's OperationOutcome, when the error body is one
    body: dict[str, Any] | None = None  # the JSON body of a 2xx, e.g. the transaction-response Bundle


class DeliveryError(Exception):
    """A failure that is recorded as its ``result`` rather than handled where it happened."""

    def __init__(self, result: DeliveryResult) -> None:
        super().__init__(result.detail)
        self.result = result
