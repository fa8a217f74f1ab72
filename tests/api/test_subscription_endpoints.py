"""ONCO_SUBSCRIPTION_ENDPOINTS: where Subscription notifications may go. A hospital deployment lists its
integration engine's hook URLs, so a Subscription cannot make the service POST patient events elsewhere."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from pydantic import ValidationError

from service.app.egress import endpoint_allowed
from service.config import Settings
from tests.api.test_subscriptions import CANON, FHIR, subscription

ALLOWED = "https://engine.example.org/hooks"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'onco.db'}",
        subscription_endpoints=[ALLOWED, "http://127.0.0.1:9000"],
        delivery_worker=False,
    )


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://engine.example.org/hooks", True),
        ("https://engine.example.org/hooks/", True),
        ("https://engine.example.org/hooks/oncology?x=1", True),
        ("https://ENGINE.example.org:443/hooks/a", False),  # not as httpx would send it: refused (issue 21)
        ("http://127.0.0.1:9000/anything", True),  # a prefix without a path allows every path
        ("https://engine.example.org/hooks-evil", False),  # a path prefix ends at a segment
        ("https://engine.example.org/other", False),
        ("https://engine.example.org.evil.test/hooks", False),  # a host is matched whole, not as a prefix
        ("https://engine.example.org@evil.test/hooks", False),  # userinfo cannot smuggle in a host
        ("http://engine.example.org/hooks", False),  # the scheme must match
        ("https://engine.example.org:8443/hooks", False),  # and the port
        ("http://127.0.0.1:9001/hook", False),
        ("http://127.0.0.1:notaport/hook", False),
    ],
)
def test_endpoint_allowed_matches_scheme_host_port_and_path_segments(url: str, allowed: bool) -> None:
    assert endpoint_allowed(url, [ALLOWED, "http://127.0.0.1:9000"]) is allowed


def test_no_list_allows_any_endpoint() -> None:
    assert endpoint_allowed("http://anywhere.test/x", [])


def test_the_setting_is_comma_separated_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONCO_SUBSCRIPTION_ENDPOINTS", f"{ALLOWED}, http://127.0.0.1:9000")
    assert Settings().subscription_endpoints == [ALLOWED, "http://127.0.0.1:9000"]
    monkeypatch.setenv("ONCO_SUBSCRIPTION_ENDPOINTS", f'["{ALLOWED}"]')  # a list, as the Helm chart writes it
    assert Settings().subscription_endpoints == [ALLOWED]
    with pytest.raises(ValidationError, match="not an http"):
        Settings(subscription_endpoints=["engine.example.org/hooks"])


async def post(client: httpx.AsyncClient, body: dict[str, Any]) -> httpx.Response:
    return await client.post("/fhir/Subscription", content=orjson.dumps(body), headers=FHIR)


async def test_a_listed_endpoint_is_accepted(client: httpx.AsyncClient) -> None:
    assert (await post(client, subscription(f"{ALLOWED}/oncology"))).status_code == 201


async def test_an_unlisted_endpoint_is_a_422_naming_the_element_and_nothing_is_stored(
    client: httpx.AsyncClient,
) -> None:
    response = await post(client, subscription("https://evil.test/collect"))
    assert response.status_code == 422
    (issue,) = response.json()["issue"]
    assert issue["expression"] == ["Subscription.channel.endpoint"]
    assert "ONCO_SUBSCRIPTION_ENDPOINTS" in issue["diagnostics"]
    assert (await client.get("/fhir/Subscription")).json().get("total", 0) == 0


async def test_an_update_to_an_unlisted_endpoint_is_refused(client: httpx.AsyncClient) -> None:
    created = (await post(client, subscription(ALLOWED))).json()
    moved = {**subscription("https://evil.test/collect"), "id": created["id"]}
    response = await client.put(
        f"/fhir/Subscription/{created['id']}", content=orjson.dumps(moved), headers=FHIR
    )
    assert response.status_code == 422
    current = (await client.get(f"/fhir/Subscription/{created['id']}")).json()
    assert current["channel"]["endpoint"] == ALLOWED


async def test_an_r5_subscription_names_the_r5_element(client: httpx.AsyncClient) -> None:
    body = {
        "resourceType": "Subscription",
        "status": "requested",
        "topic": f"{CANON}/SubscriptionTopic/care-plan-suggestion",
        "channelType": {
            "system": "http://terminology.hl7.org/CodeSystem/subscription-channel-type",
            "code": "rest-hook",
        },
        "endpoint": "https://evil.test/collect",
        "content": "id-only",
        "contentType": "application/fhir+json",
    }
    response = await post(client, body)
    assert response.status_code == 422
    assert response.json()["issue"][0]["expression"] == ["Subscription.endpoint"]
