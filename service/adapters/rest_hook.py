"""The ``rest-hook`` channel: a notification Bundle POSTed to the subscriber's endpoint."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx
import orjson

from service.adapters.fhir_client import DeliveryResult, classify, classify_transport_error


class HttpRestHook:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def post(
        self, url: str, body: dict[str, Any], headers: Sequence[tuple[str, str]], timeout: float | None
    ) -> DeliveryResult:
        """One attempt; what it gave is classified the same way as a write-back (retryable or not). A redirect
        is never followed: its target was not checked against ``ONCO_SUBSCRIPTION_ENDPOINTS`` (a 3xx is kept
        as a rejection, like any 4xx)."""
        try:
            response = await self.http.post(
                url,
                content=orjson.dumps(body),
                headers=list(headers),
                timeout=timeout,
                follow_redirects=False,
            )
        except httpx.HTTPError as exc:
            return classify_transport_error(exc)
        return classify(response)
