"""Liveness, readiness and metrics: for Kubernetes probes and Prometheus, outside /fhir and its auth."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import APIRouter, Request
from starlette.responses import Response

from service.api.deps import ContainerDep
from service.errors import NotReady

router = APIRouter(tags=["operations"])
log = structlog.get_logger("service.health")


@router.get("/healthz", operation_id="healthz", summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz", operation_id="readyz", summary="Readiness: the store answers and the mappings are loaded"
)
async def readyz(container: ContainerDep) -> dict[str, Any]:
    try:
        await container.store.ping()
    except Exception as exc:  # noqa: BLE001  # any driver error means "not ready"; the kind is logged
        log.warning("store_unreachable", error=type(exc).__name__)
        raise NotReady(f"The store ({container.store.backend}) is not reachable") from None
    return {
        "status": "ready",
        "store": container.store.backend,
        "knowledgeBaseVersion": container.knowledge.version,
    }


@router.get("/metrics", operation_id="metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request, container: ContainerDep) -> Response:
    if not container.settings.delivery_worker:  # no worker here to keep the reports owed current: read them
        try:
            async with container.store.reading() as reader:
                counts = await reader.evaluation_jobs.counts()
            request.app.state.metrics.evaluation_requests(*counts)
        except Exception as exc:  # noqa: BLE001  # the other metrics are still served; /readyz reports it
            log.warning("evaluation_counts_unreadable", error=type(exc).__name__)
    body = request.app.state.metrics.render()
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")
