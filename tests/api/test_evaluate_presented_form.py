"""Issue 19: ``$evaluate`` builds the report's HTML rendering (``presentedForm``) only when it is asked for;
stored reports always carry it."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import orjson

from tests.conftest import SHARED

FHIR = {"content-type": "application/fhir+json"}
T790M = SHARED / "examples" / "seed-t790m-progression.json"


def report_of(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    report: dict[str, Any] = response.json()["entry"][0]["resource"]
    assert report["resourceType"] == "DiagnosticReport"
    return report


def html_of(report: dict[str, Any]) -> str:
    (form,) = report["presentedForm"]
    assert form["contentType"] == "text/html"
    return base64.b64decode(form["data"]).decode("utf-8")


async def test_no_presented_form_unless_asked(client: httpx.AsyncClient) -> None:
    """A Bundle posted with nothing asked: the report has every coded finding but no HTML rendering."""
    report = report_of(await client.post("/fhir/$evaluate", content=T790M.read_bytes(), headers=FHIR))
    assert "presentedForm" not in report
    assert report["conclusionCode"] and report["conclusion"]


async def test_query_parameter_asks_for_presented_form(client: httpx.AsyncClient) -> None:
    """``?presentedForm=true`` with a posted Bundle: the report carries its HTML document."""
    response = await client.post(
        "/fhir/$evaluate", params={"presentedForm": "true"}, content=T790M.read_bytes(), headers=FHIR
    )
    assert html_of(report_of(response)).startswith("<!DOCTYPE html>")


async def test_parameters_ask_for_presented_form(client: httpx.AsyncClient) -> None:
    """Parameters ``presentedForm`` = true adds the HTML in the requested language; false leaves it out."""
    bundle = orjson.loads(T790M.read_bytes())

    def parameters(asked: bool) -> bytes:
        named = [
            {"name": "bundle", "resource": bundle},
            {"name": "language", "valueCode": "zh-CN"},
            {"name": "presentedForm", "valueBoolean": asked},
        ]
        return orjson.dumps({"resourceType": "Parameters", "parameter": named})

    asked = report_of(await client.post("/fhir/$evaluate", content=parameters(True), headers=FHIR))
    assert asked["presentedForm"][0]["language"] == "zh-CN" and "<html" in html_of(asked)
    not_asked = report_of(await client.post("/fhir/$evaluate", content=parameters(False), headers=FHIR))
    assert "presentedForm" not in not_asked


async def test_presented_form_needs_a_boolean(client: httpx.AsyncClient) -> None:
    """``presentedForm`` given as a string is a 400 naming the parameter's valueBoolean."""
    body = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "bundle", "resource": orjson.loads(T790M.read_bytes())},
            {"name": "presentedForm", "valueString": "yes"},
        ],
    }
    response = await client.post("/fhir/$evaluate", content=orjson.dumps(body), headers=FHIR)
    assert response.status_code == 400
    assert response.json()["issue"][0]["expression"] == ["Parameters.parameter[1].valueBoolean"]


async def test_stored_report_keeps_its_presented_form(client: httpx.AsyncClient) -> None:
    """A stored Bundle's report (the stored report path) carries the HTML, asked for or not."""
    assert (await client.post("/fhir/Bundle", content=T790M.read_bytes(), headers=FHIR)).status_code == 200
    found = (await client.get("/fhir/DiagnosticReport", params={"subject": "Patient/p-e2"})).json()
    assert found["total"] == 1
    assert "<html" in html_of(found["entry"][0]["resource"])
