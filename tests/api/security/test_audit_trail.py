"""The audit trail (issue 16): every read, search and write of patient data, allowed or refused once the
caller is known, leaves exactly one AuditEvent, found by the request's ``X-Request-ID``, naming the client
(and user); and no event holds a clinical value, a name or an identifier's value."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import orjson
import pytest

from tests.api.security.conftest import FHIR, KeyServer, bearer

pytestmark = pytest.mark.usefixtures("smart_app")

# What the stored data holds and no AuditEvent may: values, names, identifiers, dates of birth, code texts.
SECRETS = ("987.654", "Vandersloot", "Ximena", "MRN-SECRET-1", "1815-12-10", "Carcinoembryonic-XYZ")


def _patient(patient: str) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": patient, "birthDate": "1815-12-10",
            "identifier": [{"system": "urn:mrn", "value": "MRN-SECRET-1"}],
            "name": [{"family": "Vandersloot", "given": ["Ximena"]}]}  # fmt: skip


def _obs(observation: str, patient: str = "p1") -> dict[str, Any]:
    return {"resourceType": "Observation", "id": observation, "status": "final",
            "code": {"text": "Carcinoembryonic-XYZ"}, "subject": {"reference": f"Patient/{patient}"},
            "valueQuantity": {"value": 987.654, "unit": "mm"}}  # fmt: skip


def _put(resource: dict[str, Any]) -> dict[str, Any]:
    url = f"{resource['resourceType']}/{resource['id']}"
    return {"resource": resource, "request": {"method": "PUT", "url": url}}


def _bundle(kind: str, *entries: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": kind, "entry": list(entries)}


@pytest.fixture
async def stored(api: httpx.AsyncClient, keys: KeyServer) -> None:
    for patient, observation in (("p1", "o1"), ("p2", "o2")):
        body = _bundle("transaction", _put(_patient(patient)), _put(_obs(observation, patient)))
        answer = await api.post("/fhir", content=orjson.dumps(body), headers={**FHIR, **bearer(keys.token())})
        assert answer.status_code == 200, answer.text


_FORM = {"content-type": "application/x-www-form-urlencoded"}
_P1 = {"name": "patient", "valueString": "p1"}
_HEADER = {"resourceType": "MessageHeader", "id": "m1", "eventCoding": {"code": "x"},
           "source": {"endpoint": "urn:x"}}  # fmt: skip
_NEW = {k: v for k, v in _obs("").items() if k != "id"}
_BATCH = _bundle("batch", {"resource": _NEW, "request": {"method": "POST", "url": "Observation"}})
_MESSAGE = _bundle("message", {"resource": _HEADER}, {"resource": _obs("o6", "p2")})
_P2_WRITE = _bundle("transaction", _put(_obs("o4", "p2")))
# (what, method, path, body (a dict is JSON, a str a form), caller: "patient" (patient/ for p1) or "system")
ACCESSES: list[tuple[str, str, str, Any, str]] = [
    ("read", "GET", "/fhir/Observation/o1", None, "patient"),
    ("read outside the compartment (404)", "GET", "/fhir/Observation/o2", None, "patient"),
    ("vread", "GET", "/fhir/Observation/o1/_history/1", None, "patient"),
    ("history", "GET", "/fhir/Observation/o1/_history", None, "patient"),
    ("search", "GET", "/fhir/Observation?code=Carcinoembryonic-XYZ", None, "patient"),
    ("search by identifier", "GET", "/fhir/Patient?identifier=urn:mrn|MRN-SECRET-1", None, "patient"),
    ("search by form", "POST", "/fhir/Observation/_search", "_count=5", "patient"),
    ("search for another patient (403)", "GET", "/fhir/Observation?patient=Patient/p2", None, "patient"),
    ("search by a system client", "GET", "/fhir/Patient?identifier=MRN-SECRET-1", None, "system"),
    ("transaction", "POST", "/fhir", _bundle("transaction", _put(_obs("o3"))), "patient"),
    ("write of another patient (403)", "POST", "/fhir", _P2_WRITE, "patient"),
    ("batch", "POST", "/fhir", _BATCH, "system"),
    ("collection", "POST", "/fhir/Bundle", _bundle("collection", {"resource": _obs("o5")}), "patient"),
    ("message", "POST", "/fhir/$process-message", _MESSAGE, "system"),
    ("$evaluate", "POST", "/fhir/$evaluate", {"resourceType": "Parameters", "parameter": [_P1]}, "patient"),
    ("$evaluate persist", "POST", "/fhir/$evaluate", {"resourceType": "Parameters", "parameter": [
        _P1, {"name": "persist", "valueBoolean": True},
        {"name": "bundle", "resource": _bundle("collection", {"resource": _obs("o7")})}]}, "patient"),
    ("$events", "GET", "/fhir/Subscription/s0/$events", None, "system"),
    ("report page", "GET", "/view/Patient/p1", None, "patient"),
]  # fmt: skip


def _caller(keys: KeyServer, who: str) -> dict[str, str]:
    if who == "patient":
        return bearer(keys.token("patient/*.cruds", patient="p1", client_id="patient-app", sub="user-42"))
    return bearer(keys.token("system/*.cruds", client_id="ehr-client", sub="ehr-client"))


async def _trail(api: httpx.AsyncClient, keys: KeyServer) -> list[dict[str, Any]]:
    auditor = bearer(keys.token("system/AuditEvent.s", client_id="auditor"))
    answer = await api.get("/fhir/AuditEvent", params={"_count": 1000}, headers=auditor)
    assert answer.status_code == 200
    bundle = answer.json()
    assert bundle["total"] == len(bundle.get("entry", []))
    return [e["resource"] for e in bundle.get("entry", [])]


def _request_id(event: dict[str, Any]) -> str | None:
    for entity in event["entity"]:
        identifier = entity.get("what", {}).get("identifier", {})
        if identifier.get("type", {}).get("text") == "X-Request-ID":
            return str(identifier["value"])
    return None


@pytest.mark.usefixtures("stored")
async def test_each_access_leaves_exactly_one_audit_event(api: httpx.AsyncClient, keys: KeyServer) -> None:
    """Per request: the trail grows by one, and that one event carries the request's id and the client."""
    for what, method, path, body, who in ACCESSES:
        before = await _trail(api, keys)
        form = isinstance(body, str)
        content = body.encode() if form else orjson.dumps(body) if body is not None else None
        headers = {**(_FORM if form else FHIR), **_caller(keys, who)}
        answer = await api.request(method, path, content=content, headers=headers)
        assert answer.status_code < 500, (what, answer.text)
        after = await _trail(api, keys)
        assert len(after) == len(before) + 1, what
        mine = [e for e in after if _request_id(e) == answer.headers["x-request-id"]]
        assert len(mine) == 1, what
        agents = [a["who"].get("identifier", {}).get("value") for a in mine[0]["agent"]]
        expected = ["patient-app", "user-42"] if who == "patient" else ["ehr-client"]
        assert agents[: len(expected)] == expected, what
        # $evaluate persist: the data was stored (the write's own event, a success), then there was nothing
        # to assess (422): the event records the access that happened.
        wrote = what == "$evaluate persist"
        assert mine[0]["outcome"] == ("0" if answer.status_code < 400 or wrote else "4"), what


@pytest.mark.usefixtures("stored")
async def test_no_audit_event_holds_a_value_or_a_name(api: httpx.AsyncClient, keys: KeyServer) -> None:
    """After every kind of access, no event (its search query decoded too) holds any value, name,
    identifier, date of birth or code text of the data."""
    for _what, method, path, body, who in ACCESSES:
        form = isinstance(body, str)
        content = body.encode() if form else orjson.dumps(body) if body is not None else None
        await api.request(
            method, path, content=content, headers={**(_FORM if form else FHIR), **_caller(keys, who)}
        )
    events = await _trail(api, keys)
    assert len(events) >= len(ACCESSES) + 2  # the two writes of the fixture too
    for event in events:
        queries = [base64.b64decode(e["query"]).decode() for e in event["entity"] if "query" in e]
        text = orjson.dumps(event).decode() + " ".join(queries)
        assert [s for s in SECRETS if s in text] == [], event
