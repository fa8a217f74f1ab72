"""Guarded endpoints called without FastAPI's dependency solving (issue 19, service/api/direct.py): only when
FastAPI would resolve nothing, with the same arguments it would pass; every other request and endpoint goes
through FastAPI's handler."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import httpx
import orjson
import pytest
from fastapi import BackgroundTasks, Depends, FastAPI, Query, Request
from fastapi.dependencies.utils import get_dependant
from starlette.responses import Response

from service.api.direct import direct_handler
from tests.app.test_evaluate_api import T790M, without_volatile


async def _thing(request: Request) -> str:
    return f"thing of {request.method}"


Thing = Annotated[str, Depends(_thing)]
Flag = Annotated[bool, Query(alias="flagged")]


class _Spy:
    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, request: Request) -> Response:
        self.calls += 1
        return Response(b"fallback")


def _request(query: bytes = b"", overrides: dict[Any, Any] | None = None) -> Request:
    app = FastAPI()
    app.dependency_overrides.update(overrides or {})
    scope = {"type": "http", "method": "POST", "path": "/x", "query_string": query, "headers": [], "app": app}
    return Request(scope)


async def _endpoint(request: Request, thing: Thing, flag: Flag = False, count: int = 3) -> Response:
    return Response(orjson.dumps([request.method, thing, flag, count]))


async def test_the_endpoint_gets_the_request_its_dependencies_and_the_defaults() -> None:
    fallback = _Spy()
    handler = direct_handler(get_dependant(path="/x", call=_endpoint), fallback)
    response = await handler(_request())
    assert orjson.loads(response.body) == ["POST", "thing of POST", False, 3]
    assert fallback.calls == 0


@pytest.mark.parametrize(
    "request_",
    [_request(b"flagged=true"), _request(b"other=1"), _request(overrides={_thing: lambda: "other"})],
    ids=["its query parameter", "any query string", "a dependency override"],
)
async def test_fastapi_handles_a_request_with_something_to_read(request_: Request) -> None:
    fallback = _Spy()
    response = await direct_handler(get_dependant(path="/x", call=_endpoint), fallback)(request_)
    assert response.body == b"fallback" and fallback.calls == 1


async def _with_path(request: Request, item: str) -> Response:
    return Response()


async def _with_body(body: dict[str, Any]) -> Response:
    return Response()


def _synchronous(request: Request) -> Response:
    return Response()


async def _with_tasks(tasks: BackgroundTasks) -> Response:
    return Response()


async def _yielding(request: Request) -> AsyncIterator[str]:
    yield "x"


async def _with_yield(value: Annotated[str, Depends(_yielding)]) -> Response:
    return Response()


async def _parameterised(request: Request, q: int = 1) -> str:
    return str(q)


async def _with_parameterised(value: Annotated[str, Depends(_parameterised)]) -> Response:
    return Response()


async def _answers_a_dict(request: Request) -> dict[str, Any]:
    return {}


async def _required_query(request: Request, q: int) -> Response:
    return Response()


async def _list_query(request: Request, q: Annotated[list[str], Query()] = []) -> Response:  # noqa: B006
    return Response()


@pytest.mark.parametrize(
    ("path", "endpoint"),
    [
        ("/x/{item}", _with_path),
        ("/x", _with_body),
        ("/x", _synchronous),
        ("/x", _with_tasks),
        ("/x", _with_yield),
        ("/x", _with_parameterised),
        ("/x", _answers_a_dict),
        ("/x", _required_query),
        ("/x", _list_query),
    ],
)
def test_fastapi_handles_every_endpoint_that_asks_for_more(path: str, endpoint: Any) -> None:
    fallback = _Spy()
    assert direct_handler(get_dependant(path=path, call=endpoint), fallback) is fallback


async def test_an_endpoint_that_answers_no_response_is_an_error() -> None:
    async def lying(request: Request) -> Response:
        return {}  # type: ignore[return-value]

    with pytest.raises(TypeError):
        await direct_handler(get_dependant(path="/x", call=lying), _Spy())(_request())


async def test_evaluate_answers_the_same_both_ways(client: httpx.AsyncClient) -> None:
    """$evaluate called directly (no query string) and through FastAPI (a query parameter at its default)."""
    body = T790M.read_bytes()
    headers = {"content-type": "application/fhir+json", "x-request-id": "same"}
    direct = await client.post("/fhir/$evaluate", content=body, headers=headers)
    solved = await client.post("/fhir/$evaluate?presentedForm=false", content=body, headers=headers)
    assert direct.status_code == solved.status_code == 200
    assert direct.headers == solved.headers
    assert _stable(direct.json()) == _stable(solved.json())


def _stable(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    """The answer without its timestamps (the Provenance's ``recorded`` too)."""
    resources = [without_volatile(e["resource"]) for e in bundle["entry"]]
    return [{k: v for k, v in r.items() if k != "recorded"} for r in resources]


async def test_a_bad_query_parameter_is_still_refused(client: httpx.AsyncClient) -> None:
    body = T790M.read_bytes()
    response = await client.post(
        "/fhir/$evaluate?presentedForm=perhaps",
        content=body,
        headers={"content-type": "application/fhir+json"},
    )
    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"
