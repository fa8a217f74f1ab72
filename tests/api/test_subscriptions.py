"""Subscription create, read, update, delete, search, $status and $events, and the topics, over HTTP:
what an integration engine sees, including an OperationOutcome for every bad request."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
from fhir.resources import get_fhir_model_class as r5_model
from fhir.resources.R4B import get_fhir_model_class as r4b_model

FHIR = {"content-type": "application/fhir+json"}
CANON = "http://oncoresponse.org/fhir"
BACKPORT = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition"


def subscription(
    endpoint: str = "http://127.0.0.1:9/hook", topic: str = "response-assessment"
) -> dict[str, Any]:
    return {
        "resourceType": "Subscription",
        "status": "requested",
        "reason": "integration engine",
        "criteria": f"{CANON}/SubscriptionTopic/{topic}",
        "channel": {"type": "rest-hook", "endpoint": endpoint, "payload": "application/fhir+json"},
    }


async def post(client: httpx.AsyncClient, path: str, body: dict[str, Any], **headers: str) -> httpx.Response:
    return await client.post(path, content=orjson.dumps(body), headers={**FHIR, **headers})


async def test_create_answers_201_with_a_location_and_the_requested_status(client: httpx.AsyncClient) -> None:
    response = await post(client, "/fhir/Subscription", subscription())
    assert response.status_code == 201
    created = response.json()
    assert created["status"] == "requested" and created["meta"]["versionId"] == "1"
    assert response.headers["location"] == f"Subscription/{created['id']}/_history/1"
    r4b_model("Subscription").model_validate(created)
    read = await client.get(f"/fhir/Subscription/{created['id']}")
    assert read.status_code == 200 and read.json()["criteria"] == created["criteria"]
    found = (await client.get("/fhir/Subscription")).json()
    assert [e["resource"]["id"] for e in found["entry"]] == [created["id"]]


async def test_an_unknown_topic_is_a_422_naming_the_element(client: httpx.AsyncClient) -> None:
    response = await post(client, "/fhir/Subscription", subscription(topic="encounter-start"))
    assert response.status_code == 422
    issue = response.json()["issue"][0]
    assert issue["expression"] == ["Subscription.criteria"]


async def test_a_channel_other_than_rest_hook_is_a_422(client: httpx.AsyncClient) -> None:
    body = subscription()
    body["channel"]["type"] = "websocket"
    response = await post(client, "/fhir/Subscription", body)
    assert response.status_code == 422
    assert "Subscription.channel.type" in {e for i in response.json()["issue"] for e in i["expression"]}


async def test_not_a_subscription_is_a_400(client: httpx.AsyncClient) -> None:
    response = await post(client, "/fhir/Subscription", {"resourceType": "Patient"})
    assert response.status_code == 400 and response.json()["resourceType"] == "OperationOutcome"


async def test_unknown_subscription_is_a_404_everywhere(client: httpx.AsyncClient) -> None:
    for path in (
        "/fhir/Subscription/nope",
        "/fhir/Subscription/nope/$status",
        "/fhir/Subscription/nope/$events",
    ):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert response.json()["resourceType"] == "OperationOutcome"
    assert (await client.delete("/fhir/Subscription/nope")).status_code == 404
    assert (
        await client.put("/fhir/Subscription/nope", content=orjson.dumps(subscription()), headers=FHIR)
    ).status_code == 404


async def test_update_to_off_pauses_and_delete_removes(client: httpx.AsyncClient) -> None:
    created = (await post(client, "/fhir/Subscription", subscription())).json()
    paused = {**created, "status": "off"}
    response = await client.put(
        f"/fhir/Subscription/{created['id']}", content=orjson.dumps(paused), headers=FHIR
    )
    assert response.status_code == 200 and response.json()["status"] == "off"
    assert response.json()["meta"]["versionId"] == "2"
    assert (await client.get(f"/fhir/Subscription/{created['id']}")).json()["status"] == "off"
    assert (await client.delete(f"/fhir/Subscription/{created['id']}")).status_code == 204
    assert (await client.get(f"/fhir/Subscription/{created['id']}")).status_code == 404


async def test_status_and_events_answer_backport_bundles(client: httpx.AsyncClient) -> None:
    created = (await post(client, "/fhir/Subscription", subscription())).json()
    status = (await client.get(f"/fhir/Subscription/{created['id']}/$status")).json()
    assert status["type"] == "searchset"
    r4b_model("Bundle").model_validate(status)
    events = (await client.get(f"/fhir/Subscription/{created['id']}/$events")).json()
    r4b_model("Bundle").model_validate(events)
    parameters = {p["name"]: p for p in events["entry"][0]["resource"]["parameter"]}
    assert parameters["type"]["valueCode"] == "query-event"
    bad = await client.get(f"/fhir/Subscription/{created['id']}/$events", params={"eventsSinceNumber": 0})
    assert bad.status_code == 400 and bad.json()["issue"][0]["expression"] == ["eventsSinceNumber"]


async def test_an_r5_subscription_is_read_as_r5(client: httpx.AsyncClient) -> None:
    body = {
        "resourceType": "Subscription",
        "status": "requested",
        "topic": f"{CANON}/SubscriptionTopic/care-plan-suggestion",
        "filterBy": [{"filterParameter": "patient", "value": "Patient/p1"}],
        "channelType": {
            "system": "http://terminology.hl7.org/CodeSystem/subscription-channel-type",
            "code": "rest-hook",
        },
        "endpoint": "http://127.0.0.1:9/hook",
        "content": "full-resource",
        "contentType": "application/fhir+json",
    }
    response = await post(client, "/fhir/Subscription", body)
    assert response.status_code == 201, response.text
    r5_model("Subscription").model_validate(response.json())
    status = (await client.get(f"/fhir/Subscription/{response.json()['id']}/$status")).json()
    assert status["entry"][0]["resource"]["resourceType"] == "SubscriptionStatus"
    r5_model("Bundle").model_validate(status)


async def test_topics_are_served_as_subscription_topic_and_r4_basic(client: httpx.AsyncClient) -> None:
    topics = (await client.get("/fhir/SubscriptionTopic")).json()
    assert {e["resource"]["id"] for e in topics["entry"]} == {"response-assessment", "care-plan-suggestion"}
    for entry in topics["entry"]:
        r4b_model("SubscriptionTopic").model_validate(entry["resource"])
    r5 = await client.get(
        "/fhir/SubscriptionTopic/care-plan-suggestion",
        headers={"accept": "application/fhir+json; fhirVersion=5.0"},
    )
    r5_model("SubscriptionTopic").model_validate(r5.json())
    basic = (await client.get("/fhir/Basic/response-assessment")).json()
    assert basic["resourceType"] == "Basic"
    r4b_model("Basic").model_validate(basic)
    assert (await client.get("/fhir/SubscriptionTopic/nope")).status_code == 404


async def test_the_location_of_each_version_resolves(client: httpx.AsyncClient) -> None:
    """vread: version 1 as stored after an update made version 2; the current version with its live status;
    an unknown or malformed version is a 404."""
    created = await post(client, "/fhir/Subscription", subscription())
    sub_id = created.json()["id"]
    off = {**subscription("http://127.0.0.1:9/other"), "id": sub_id, "status": "off"}
    updated = await client.put(f"/fhir/Subscription/{sub_id}", content=orjson.dumps(off), headers=FHIR)
    assert updated.status_code == 200, updated.text
    first = await client.get(f"/fhir/{created.headers['location']}")
    assert first.status_code == 200 and first.json()["channel"]["endpoint"] == "http://127.0.0.1:9/hook"
    second = await client.get(f"/fhir/Subscription/{sub_id}/_history/2")
    assert second.json()["status"] == "off" and second.headers["etag"] == 'W/"2"'
    for missing in ("3", "x"):
        response = await client.get(f"/fhir/Subscription/{sub_id}/_history/{missing}")
        assert response.status_code == 404 and response.json()["resourceType"] == "OperationOutcome"


async def test_search_shows_each_subscription_with_its_own_live_status(client: httpx.AsyncClient) -> None:
    """The searchset overlays every Subscription's live status (read in one query), not the first one's."""
    first = (await post(client, "/fhir/Subscription", subscription("http://127.0.0.1:9/a"))).json()["id"]
    second = (await post(client, "/fhir/Subscription", subscription("http://127.0.0.1:9/b"))).json()["id"]
    off = {**subscription("http://127.0.0.1:9/b"), "id": second, "status": "off"}
    await client.put(f"/fhir/Subscription/{second}", content=orjson.dumps(off), headers=FHIR)
    found = (await client.get("/fhir/Subscription")).json()
    statuses = {e["resource"]["id"]: e["resource"]["status"] for e in found["entry"]}
    assert statuses == {first: "requested", second: "off"}
