"""The service as ``make run`` serves it, plus two bare endpoints that set the baselines of the $evaluate
benchmark: ``/bench/echo`` answers the bytes it gets, ``/bench/parse`` also parses them with orjson.

``/bench/evaluate-prenormalised`` is a bound, not a feature: ``$evaluate``'s work for the same Bundle with its
normalised facts taken from a cache filled by the first request (parse, store read, domain, rendering and
the response all still run). It shows what ``$evaluate`` could reach if normalising cost nothing.

    python -m benchmarks.server PORT DATABASE_URL
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import orjson
import uvicorn
from fastapi import Request
from starlette.responses import Response

from service.adapters.fhir_in.versions import FhirVersion
from service.api.app import create_app
from service.api.fhir_json import FhirJSONResponse
from service.app.evaluate import EvaluationRequest
from service.bootstrap import Container
from service.config import Settings
from service.domain.facts import Fact


def bench_app(database_url: str):  # type: ignore[no-untyped-def]
    app = create_app(Settings(database_url=database_url))

    async def echo(request: Request) -> Response:
        return Response(await request.body(), media_type="application/fhir+json")

    async def parse(request: Request) -> Response:
        entries = len(orjson.loads(await request.body()).get("entry", []))
        return Response(orjson.dumps({"entries": entries}), media_type="application/json")

    normalised: dict[bytes, tuple[str, tuple[Fact, ...]]] = {}

    async def evaluate_prenormalised(request: Request) -> Response:
        raw = await request.body()
        bundle = orjson.loads(raw)
        container: Container = request.app.state.container
        if raw not in normalised:
            facts, patients = container.evaluate_operation._read(bundle, FhirVersion.R4)
            normalised[raw] = (next(iter(patients)), tuple(facts))
        patient, facts = normalised[raw]
        assessment = await container.evaluate(EvaluationRequest(patient, facts))
        return FhirJSONResponse(container.render(assessment, "en", "4.0", datetime.now(UTC)))

    app.add_api_route("/bench/echo", echo, methods=["POST"])
    app.add_api_route("/bench/parse", parse, methods=["POST"])
    app.add_api_route("/bench/evaluate-prenormalised", evaluate_prenormalised, methods=["POST"])
    return app


if __name__ == "__main__":
    port, database_url = int(sys.argv[1]), sys.argv[2]
    uvicorn.run(bench_app(database_url), host="127.0.0.1", port=port, access_log=False, log_level="warning")
