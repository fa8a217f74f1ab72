"""The one composition root (HOUSE-STYLE rule 5): the API, the CLI and the tests all build through here."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

import httpx
import structlog

from service.adapters.fhir_out.report import ResultRenderer
from service.adapters.store import SqlStore
from service.adapters.store.stored_facts import SqlStoredFacts
from service.app.delivery import DeliveryWorker, RetryPolicy
from service.app.evaluate import Evaluate, EvaluateOperation
from service.app.evaluation_worker import EvaluationWorker
from service.app.history import HistoryFetch
from service.app.ingest import Ingest, Normaliser
from service.app.pipeline import Pipeline
from service.app.ports import Store
from service.app.reports import ReportWriter
from service.app.subscriptions import Subscriptions
from service.config import Settings
from service.knowledge import Knowledge, load_knowledge

if TYPE_CHECKING:
    from service.adapters.fhir_client import FhirServerClient

log = structlog.get_logger("service.workers")

# The evaluation and delivery workers' grace, together, once asked to stop (the served app, `oncoresponse
# worker`).
WORKER_STOP_SECONDS = 15.0


@dataclass(frozen=True, slots=True)
class Container:
    settings: Settings
    knowledge: Knowledge
    store: Store
    ingest: Ingest
    evaluate: Evaluate
    evaluate_operation: EvaluateOperation
    render: ResultRenderer
    report_writer: ReportWriter
    history: HistoryFetch | None  # ONCO_FETCH_HISTORY
    subscriptions: Subscriptions
    delivery: DeliveryWorker
    http: httpx.AsyncClient  # outbound: subscribers and the EHR's FHIR server
    evaluations: EvaluationWorker  # issue 17: the reports a crash or a failure left owed
    pipeline: Pipeline  # issue 17: a posted Bundle's one write path, reports included


def build(
    settings: Settings,
    *,
    store: Store | None = None,
    knowledge: Knowledge | None = None,
    normaliser: Normaliser | None = None,
) -> Container:
    """Load the mappings (raising MappingError if one is invalid) and wire the adapters."""
    knowledge = knowledge or load_knowledge(settings.mappings_dir)
    store = store or SqlStore(settings.database_url)
    normaliser = normaliser or _fhir_normaliser(knowledge, settings)
    ingest = Ingest(store, normaliser, settings.strict_validation)
    evaluate = Evaluate(SqlStoredFacts(store), knowledge)
    render = ResultRenderer(knowledge, settings.canonical_base)
    version = settings.output_fhir_version
    http = httpx.AsyncClient(timeout=settings.fhir_timeout_seconds)
    subscriptions = Subscriptions(
        store,
        settings.canonical_base,
        wake=lambda: delivery.wake(),
        allowed_endpoints=tuple(settings.subscription_endpoints),
    )
    server = _fhir_server(settings, http)
    delivery = _delivery_worker(settings, store, http, subscriptions, server)
    history = None
    if settings.fetch_history and server is not None:
        from service.adapters.fhir_client.history import history_searches

        history = HistoryFetch(store, server, ingest, history_searches(knowledge, settings.canonical_base))
    writer = ReportWriter(
        store,
        evaluate,
        lambda a, issued: render(a, "en", version, issued),
        version,
        subscriptions=subscriptions,
        write_back=settings.fhir_base_url is not None,
        wake=delivery.wake,
    )
    evaluations = EvaluationWorker(
        store,
        writer,
        history,
        poll_seconds=settings.delivery_poll_seconds,
        lease=timedelta(seconds=settings.evaluation_lease_seconds),
    )
    pipeline = Pipeline(
        ingest, writer, history, settings.max_entries, settings.inline_report_patients, evaluations.wake
    )
    operation = EvaluateOperation(evaluate, pipeline.accept, settings.canonical_base)
    return Container(
        settings,
        knowledge,
        store,
        ingest,
        evaluate,
        operation,
        render,
        writer,
        history,
        subscriptions,
        delivery,
        http,
        evaluations,
        pipeline,
    )


def _fhir_server(settings: Settings, http: httpx.AsyncClient) -> FhirServerClient | None:
    """The EHR's FHIR server the write-back goes to (and history comes from), if one is configured."""
    if settings.fhir_base_url is None:
        return None
    from service.adapters.fhir_client import FhirServerClient, auth_from_config

    token = settings.fhir_token.get_secret_value() if settings.fhir_token else None
    auth = auth_from_config(
        settings.fhir_auth.value,
        token=token,
        token_url=settings.smart_token_url,
        client_id=settings.smart_client_id,
        private_key_path=settings.smart_private_key,
        key_id=settings.smart_key_id,
        algorithm=settings.smart_algorithm,
        scope=settings.smart_scope,
    )
    return FhirServerClient(settings.fhir_base_url, auth, http)


def _delivery_worker(
    settings: Settings,
    store: Store,
    http: httpx.AsyncClient,
    subscriptions: Subscriptions,
    server: FhirServerClient | None,
) -> DeliveryWorker:
    from service.adapters.rest_hook import HttpRestHook

    policy = RetryPolicy(
        settings.delivery_max_attempts,
        settings.delivery_backoff_seconds,
        settings.delivery_backoff_max_seconds,
    )
    return DeliveryWorker(
        store.outbox(),
        HttpRestHook(http),
        server,
        policy,
        subscriptions.notifications.heartbeat,
        poll_seconds=settings.delivery_poll_seconds,
        timeout_seconds=settings.fhir_timeout_seconds,
        allowed_endpoints=tuple(settings.subscription_endpoints),
    )


def _fhir_normaliser(knowledge: Knowledge, settings: Settings) -> Normaliser:
    from service.adapters.fhir_in.facts_bridge import FhirNormaliser

    return FhirNormaliser(knowledge, settings.canonical_base)


async def stop_workers(container: Container, running: Sequence[asyncio.Task[None]]) -> None:
    """Ask the evaluation and delivery workers to stop, and wait for both at once, up to
    ``WORKER_STOP_SECONDS`` from the request; one still busy then is cancelled (a batch it had not stored
    stays requested, the outbox rows it leased run out)."""
    container.evaluations.request_stop()
    container.delivery.request_stop()  # finishes its poll and gives its leased rows back
    if not running:
        return
    _done, busy = await asyncio.wait(running, timeout=WORKER_STOP_SECONDS)
    for task in busy:
        log.warning("worker_stop_timed_out", worker=task.get_name())
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
