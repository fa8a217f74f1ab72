"""The service as ``make run`` serves it, plus two bare endpoints that set the baselines of the $evaluate
benchmark: ``/bench/echo`` answers the bytes it gets, ``/bench/parse`` also parses them with orjson.

    python -m benchmarks.server PORT DATABASE_URL
"""

from __future__ import annotations

import sys

import orjson
import uvicorn
from fastapi import Request
from starlette.responses import Response

from service.api.app import create_app
from service.config import Settings


def bench_app(database_url: str):  # type: ignore[no-untyped-def]
    app = create_app(Settings(database_url=database_url))

    async def echo(request: Request) -> Response:
        return Response(await request.body(), media_type="application/fhir+json")

    async def parse(request: Request) -> Response:
        entries = len(orjson.loads(await request.body()).get("entry", []))
        return Response(orjson.dumps({"entries": entries}), media_type="application/json")

    app.add_api_route("/bench/echo", echo, methods=["POST"])
    app.add_api_route("/bench/parse", parse, methods=["POST"])
    return app


if __name__ == "__main__":
    port, database_url = int(sys.argv[1]), sys.argv[2]
    uvicorn.run(bench_app(database_url), host="127.0.0.1", port=port, access_log=False, log_level="warning")
