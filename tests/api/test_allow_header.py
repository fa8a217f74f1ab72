"""A 405 names in ``Allow`` every method the service serves at that path (issue 21: it named only the
first matching route's, so a path read with GET and HEAD said ``GET``)."""

from __future__ import annotations

import httpx
import pytest


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/fhir/metadata", "GET"),
        ("PUT", "/fhir/Patient/x", "GET, HEAD"),
        ("PATCH", "/fhir/Patient/x/_history/1", "GET, HEAD"),
        ("PATCH", "/fhir/Subscription/x", "DELETE, GET, PUT"),  # not a type read generically
        ("DELETE", "/fhir/Subscription/x/$status", "GET"),
        ("PUT", "/fhir/Patient", "GET, HEAD"),
    ],
)
async def test_a_405_lists_every_method_served_at_the_path(
    client: httpx.AsyncClient, method: str, path: str, allowed: str
) -> None:
    """The Allow header is the union of the methods of every route that matches the path."""
    response = await client.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == allowed
    assert response.json()["resourceType"] == "OperationOutcome"
