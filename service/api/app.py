"""The FastAPI app factory. Routes are thin; everything they need comes from the container."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.routing import APIRoute

from service import __version__, collector
from service.api.backpressure import BackpressureMiddleware
from service.api.errors import install_error_handlers
from service.api.hardening import HardeningMiddleware
from service.api.metrics import HttpMetrics
from service.api.middleware import RequestContextMiddleware
from service.api.openapi_shapes import install_openapi
from service.api.routes import (
    audit,
    cds_hooks,
    code_systems,
    docs,
    evaluate,
    health,
    ingest,
    metadata,
    read,
    smart,
    subscriptions,
    validate,
    view,
)
from service.bootstrap import Container, build, stop_workers
from service.config import Settings


def create_app(settings: Settings, container: Container | None = None) -> FastAPI:
    """Build the app; ``container`` lets tests pass fakes, else :func:`service.bootstrap.build` wires it."""
    container = container or build(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await container.store.migrate()
        collector.settle()  # what start-up built frozen out of the collector, which then runs less often
        running = []
        if settings.delivery_worker:  # issue 7: the outbox is delivered from every replica that runs it
            running.append(asyncio.create_task(container.delivery.run(), name="delivery"))
            # Issue 17: and the reports owed (a crash after an ingest, a failed evaluation) are made.
            running.append(asyncio.create_task(container.evaluations.run(), name="evaluations"))
        yield
        await stop_workers(container, running)  # both at once, within 15 s of the shutdown
        await container.http.aclose()
        await container.store.close()

    app = FastAPI(
        title="oncoresponse",
        version=__version__,
        summary="FHIR tumour response and targeted-therapy resistance assessment (decision support)",
        lifespan=lifespan,
        generate_unique_id_function=_operation_id,
        docs_url=None,  # issue 18: /docs and /redoc from local assets (routes/docs.py), never a CDN
        redoc_url=None,
        # The service exports no OpenTelemetry (its metrics are Prometheus, /metrics). FastAPI's would run
        # only if something in the process set a global OTel provider; looking for one costs every request
        # about 20 µs (three provider look-ups, each reading os.environ; issue 19).
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.container = container
    app.state.metrics = HttpMetrics()
    container.delivery.observe = app.state.metrics.delivery
    container.evaluations.observe = app.state.metrics.evaluation_requests
    install_error_handlers(app)
    install_openapi(app)  # the shapes FastAPI cannot infer: bodies, answers, every error status
    app.add_middleware(BackpressureMiddleware, metrics=app.state.metrics)  # issue 20: 503, never 500
    app.add_middleware(
        RequestContextMiddleware, metrics=app.state.metrics, max_body_bytes=settings.max_bundle_bytes
    )
    # issue 16: security headers on every answer (HTML pages strictly), a read timeout on request bodies
    app.add_middleware(HardeningMiddleware, body_timeout_seconds=settings.body_read_timeout_seconds)
    # subscriptions and audit before read: their routes are more specific than /{type}/{id}. $evaluate first:
    # no other route matches its path, and each router tried before it costs the request (issue 19).
    routers = (evaluate, health, smart, metadata, validate, code_systems, ingest, subscriptions, audit, read)
    for module in (*routers, cds_hooks, view, docs):
        app.include_router(module.router)
    return app


def _operation_id(route: APIRoute) -> str:
    """Stable operation ids: the route's own name, never derived from the path or method order."""
    return route.name
