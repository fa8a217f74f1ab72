"""The one composition root (HOUSE-STYLE rule 5): the API, the CLI and the tests all build through here."""

from __future__ import annotations

from dataclasses import dataclass

from service.adapters.fhir_out.report import ResultRenderer
from service.adapters.store import SqlStore
from service.app.evaluate import Evaluate, EvaluateOperation
from service.app.ingest import Ingest, Normaliser
from service.app.ports import Store
from service.app.reports import ReportWriter
from service.config import Settings
from service.knowledge import Knowledge, load_knowledge


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
    evaluate = Evaluate(store, knowledge)
    operation = EvaluateOperation(evaluate, ingest, settings.canonical_base)
    render = ResultRenderer(knowledge, settings.canonical_base)
    version = settings.output_fhir_version
    writer = ReportWriter(store, evaluate, lambda a, issued: render(a, "en", version, issued), version)
    return Container(settings, knowledge, store, ingest, evaluate, operation, render, writer)


def _fhir_normaliser(knowledge: Knowledge, settings: Settings) -> Normaliser:
    from service.adapters.fhir_in.facts_bridge import FhirNormaliser

    return FhirNormaliser(knowledge, settings.canonical_base)
