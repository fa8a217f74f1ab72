"""``oncoresponse evaluate`` and ``oncoresponse demo``: the ``$evaluate`` path without a server.

Both build the service through the same composition root as the API, on a throw-away SQLite file, so the
printed Bundle is the one ``POST /fhir/$evaluate`` would answer for the same data.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from service.adapters.fhir_in.evaluate_params import EvaluateParams
from service.adapters.fhir_in.versions import detect_version
from service.adapters.fhir_out.outcome import operation_outcome
from service.bootstrap import Container, build
from service.config import Settings
from service.domain.assess import NotAssessableError
from service.domain.assessment import Assessment
from service.errors import BadRequest, ServiceError, Unprocessable

DEMO_BUNDLE = Path(__file__).resolve().parent / "demo" / "egfr-l858r-gefitinib.json"
# The demo's story: a scan "slightly larger" within measurement error, then true progression months later.
DEMO_DATES = (dt.date(2026, 3, 2), dt.date(2026, 4, 27), dt.date(2026, 8, 31))


@asynccontextmanager
async def scratch_container() -> AsyncIterator[Container]:
    """The service wired over an empty SQLite file that disappears afterwards."""
    with tempfile.TemporaryDirectory() as tmp:
        container = build(Settings(database_url=f"sqlite:///{tmp}/cli.db"))
        await container.store.migrate()
        try:
            yield container
        finally:
            await container.http.aclose()
            await container.store.close()


def read_bundle(raw: bytes) -> dict[str, Any]:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"The input is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        raise BadRequest("The input must be a FHIR Bundle", expression="resourceType")
    return data


async def evaluate_bundle(
    container: Container, raw: bytes, params: EvaluateParams, output_version: str
) -> tuple[Assessment, dict[str, Any]]:
    bundle = read_bundle(raw)
    params = dataclasses.replace(params, bundle=bundle, persist=False)
    try:
        assessment = await container.evaluate_operation(params, raw, detect_version(bundle))
    except NotAssessableError as exc:
        raise Unprocessable(str(exc)) from None
    return assessment, container.render(assessment, params.language, output_version, datetime.now(UTC))


def outcome_json(error: ServiceError) -> bytes:
    return orjson.dumps(operation_outcome(error.issues), option=orjson.OPT_INDENT_2)
