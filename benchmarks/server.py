"""The service as ``make run`` serves it, plus two bare endpoints that set the baselines of the $evaluate
benchmark: ``/bench/echo`` answers the bytes it gets, ``/bench/parse`` also parses them with orjson.

``/bench/evaluate-prenormalised`` is a bound, not a feature: ``$evaluate``'s work for the same Bundle with its
normalised facts taken from a cache filled by the first request (parse, store read, domain, rendering and
the response all still run). It shows what ``$evaluate`` could reach if normalising cost nothing.

Every endpoint runs in the same app on the same server stack, so the ratios compare like with like. The stack
is chosen by name (issue 19 measured them side by side):

- ``uvicorn``: uvicorn with the pure-Python ``h11`` parser on the standard asyncio loop;
- ``uvicorn-fast``: uvicorn with ``httptools`` on ``uvloop``, as ``oncoresponse serve`` runs it;
- ``granian``: Granian's Rust HTTP server (ASGI interface, one worker, ``uvloop``), when it is installed.

    python -m benchmarks.server PORT DATABASE_URL [STACK]
"""

from __future__ import annotations

import os
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
from service.log import configure_logging

STACKS = ("uvicorn", "uvicorn-fast", "granian")
_DATABASE_ENV = "BENCH_DATABASE_URL"  # how Granian's worker, which imports the app by name, gets the URL


def bench_app(database_url: str):  # type: ignore[no-untyped-def]
    # No write rate limit: one client sends thousands of $evaluate calls a minute (a 429 otherwise).
    settings = Settings(database_url=database_url, rate_limit_writes_per_minute=0)
    configure_logging(settings)  # as `oncoresponse serve` does: the request log line is part of the cost
    app = create_app(settings)

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
    # Routed first, as the service routes $evaluate first (service/api/app.py): a baseline that tried every
    # other route before its own would pay for routing that $evaluate does not.
    routes = app.router.routes
    routes[:] = routes[-3:] + routes[:-3]
    return app


def app_from_environment():  # type: ignore[no-untyped-def]
    return bench_app(os.environ[_DATABASE_ENV])


def serve(port: int, database_url: str, stack: str) -> None:
    if stack == "granian":
        from granian.constants import Interfaces, Loops
        from granian.server import Server

        os.environ[_DATABASE_ENV] = database_url
        target = "benchmarks.server:app_from_environment"
        Server(target, port=port, interface=Interfaces.ASGI, loop=Loops.uvloop, factory=True,
               log_level="warning", log_access=False).serve()  # fmt: skip
        return
    fast = stack == "uvicorn-fast"
    uvicorn.run(bench_app(database_url), host="127.0.0.1", port=port, access_log=False, log_level="warning",
                loop="uvloop" if fast else "asyncio", http="httptools" if fast else "h11")  # fmt: skip


if __name__ == "__main__":
    serve(int(sys.argv[1]), sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "uvicorn-fast")
