"""Topic-based subscriptions (FHIR-CONTRACT section 6): ``Subscription`` create, read, update and delete,
``$status`` and ``$events``, and the two topics (``SubscriptionTopic``; ``Basic`` for R4 clients, per the
Subscriptions Backport IG). Parse, delegate, render."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request
from starlette.responses import Response

from service.adapters.fhir_in.versions import FhirVersion
from service.adapters.fhir_out.bundles import searchset
from service.adapters.fhir_out.topics import topic_resources
from service.api.body import read_fhir_body
from service.api.deps import ContainerDep, fhir_router
from service.api.fhir_json import FhirJSONResponse
from service.api.routes.evaluate import output_version
from service.api.routes.read import version_number
from service.errors import BadRequest, NotFound

router = fhir_router()

_WRITE_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "OperationOutcome: not JSON, not a Subscription"},
    404: {"description": "OperationOutcome: no such Subscription"},
    415: {"description": "OperationOutcome: not application/fhir+json"},
    422: {"description": "OperationOutcome: a topic, channel, payload, filter or header not served"},
}


def _version(declared: FhirVersion | None, resource: dict[str, Any]) -> str:
    """The declared version, else R5 when the body has R5's ``topic`` element, else R4 (Backport IG)."""
    if declared is not None:
        return declared.value
    return FhirVersion.R5.value if "topic" in resource else FhirVersion.R4.value


def _subscription_body(resource: dict[str, Any]) -> None:
    if resource.get("resourceType") != "Subscription":
        raise BadRequest("The body is not a Subscription", expression="resourceType")


@router.post("/Subscription", operation_id="create_subscription", summary="Create a Subscription",
             status_code=201, response_class=FhirJSONResponse, responses=_WRITE_RESPONSES)  # fmt: skip
async def create_subscription(request: Request, container: ContainerDep) -> FhirJSONResponse:
    """Stored as `requested`; the handshake follows and makes it `active` (2xx) or `error`."""
    body = await read_fhir_body(request)
    _subscription_body(body.resource)
    created = await container.subscriptions.create(
        body.resource, _version(body.declared_version, body.resource), body.raw
    )
    location = f"Subscription/{created['id']}/_history/{created['meta']['versionId']}"
    return FhirJSONResponse(created, status_code=201, headers={"Location": location})


@router.put("/Subscription/{subscription_id}", operation_id="update_subscription",
            summary="Update a Subscription", response_class=FhirJSONResponse,
            responses=_WRITE_RESPONSES)  # fmt: skip
async def update_subscription(
    subscription_id: str, request: Request, container: ContainerDep
) -> FhirJSONResponse:
    body = await read_fhir_body(request)
    _subscription_body(body.resource)
    updated = await container.subscriptions.update(
        subscription_id, body.resource, _version(body.declared_version, body.resource), body.raw
    )
    return FhirJSONResponse(updated)


@router.delete("/Subscription/{subscription_id}", operation_id="delete_subscription",
               summary="Delete a Subscription", status_code=204,
               responses={404: {"description": "OperationOutcome: no such Subscription"}})  # fmt: skip
async def delete_subscription(subscription_id: str, container: ContainerDep) -> Response:
    await container.subscriptions.delete(subscription_id)
    return Response(status_code=204)


@router.get("/Subscription/{subscription_id}", operation_id="read_subscription",
            summary="Read a Subscription with its current status", response_class=FhirJSONResponse,
            responses={404: {"description": "OperationOutcome: no such Subscription"}})  # fmt: skip
async def read_subscription(subscription_id: str, container: ContainerDep) -> FhirJSONResponse:
    resource, version = await container.subscriptions.read(subscription_id)
    return FhirJSONResponse(resource, headers={"ETag": f'W/"{version}"'})


@router.get("/Subscription/{subscription_id}/_history/{version_id}", operation_id="vread_subscription",
            summary="Read one version of a Subscription", response_class=FhirJSONResponse,
            responses={404: {"description": "OperationOutcome: no such version"}})  # fmt: skip
async def vread_subscription(
    subscription_id: str, version_id: str, container: ContainerDep
) -> FhirJSONResponse:
    number = version_number(f"Subscription/{subscription_id}", version_id)
    resource = await container.subscriptions.read_version(subscription_id, number)
    return FhirJSONResponse(resource, headers={"ETag": f'W/"{version_id}"'})


@router.get("/Subscription", operation_id="search_subscriptions",
            summary="Every Subscription, with its status", response_class=FhirJSONResponse)  # fmt: skip
async def search_subscriptions(
    request: Request,
    container: ContainerDep,
    count: Annotated[int, Query(alias="_count", ge=0, le=1000)] = 50,
) -> FhirJSONResponse:
    total, found = await container.subscriptions.search(count)
    return FhirJSONResponse(searchset([s.content for s in found], str(request.url), total))


@router.get("/Subscription/{subscription_id}/$status", operation_id="subscription_status",
            summary="The status of a Subscription", response_class=FhirJSONResponse,
            responses={404: {"description": "OperationOutcome: no such Subscription"}})  # fmt: skip
async def subscription_status(subscription_id: str, container: ContainerDep) -> FhirJSONResponse:
    return FhirJSONResponse(await container.subscriptions.status(subscription_id))


@router.get("/Subscription/{subscription_id}/$events", operation_id="subscription_events",
            summary="Replay a range of a Subscription's events", response_class=FhirJSONResponse,
            responses={400: {"description": "OperationOutcome: a bad range or content"},
                       404: {"description": "OperationOutcome: no such Subscription"}})  # fmt: skip
async def subscription_events(
    subscription_id: str,
    container: ContainerDep,
    since: Annotated[int | None, Query(alias="eventsSinceNumber")] = None,
    until: Annotated[int | None, Query(alias="eventsUntilNumber")] = None,
    content: str | None = None,
) -> FhirJSONResponse:
    """Every stored event from ``eventsSinceNumber`` to ``eventsUntilNumber`` (both included), so a
    subscriber that saw a gap in the event numbers can fill it."""
    return FhirJSONResponse(await container.subscriptions.events(subscription_id, since, until, content))


@router.get("/SubscriptionTopic", operation_id="search_subscription_topics",
            summary="The topics one can subscribe to", response_class=FhirJSONResponse)  # fmt: skip
async def search_topics(request: Request, container: ContainerDep) -> FhirJSONResponse:
    """R4B SubscriptionTopics, or R5 ones when ``Accept`` asks for ``fhirVersion=5.0``."""
    version = "5.0" if output_version(request, "4.0") == "5.0" else "4.3"
    topics = topic_resources(container.settings.canonical_base, version)
    return FhirJSONResponse(searchset(topics, str(request.url)))


@router.get("/SubscriptionTopic/{topic_id}", operation_id="read_subscription_topic",
            summary="Read a topic", response_class=FhirJSONResponse,
            responses={404: {"description": "OperationOutcome: no such topic"}})  # fmt: skip
async def read_topic(topic_id: str, request: Request, container: ContainerDep) -> FhirJSONResponse:
    version = "5.0" if output_version(request, "4.0") == "5.0" else "4.3"
    return FhirJSONResponse(_topic(topic_resources(container.settings.canonical_base, version), topic_id))


@router.get("/Basic", operation_id="search_basic_topics",
            summary="The topics as R4 Basic resources (Subscriptions Backport IG)",
            response_class=FhirJSONResponse)  # fmt: skip
async def search_basic(request: Request, container: ContainerDep) -> FhirJSONResponse:
    topics = topic_resources(container.settings.canonical_base, "4.0")
    return FhirJSONResponse(searchset(topics, str(request.url)))


@router.get("/Basic/{topic_id}", operation_id="read_basic_topic",
            summary="Read a topic as an R4 Basic resource", response_class=FhirJSONResponse,
            responses={404: {"description": "OperationOutcome: no such topic"}})  # fmt: skip
async def read_basic(topic_id: str, container: ContainerDep) -> FhirJSONResponse:
    return FhirJSONResponse(_topic(topic_resources(container.settings.canonical_base, "4.0"), topic_id))


def _topic(topics: list[dict[str, Any]], topic_id: str) -> dict[str, Any]:
    for topic in topics:
        if topic["id"] == topic_id:
            return topic
    raise NotFound(f"No topic {topic_id}: the topics are response-assessment and care-plan-suggestion")
