"""One parse of each posted body (issue 19): the access guard and the route read the same parse. The guard's
decisions stay what they were when each parsed its own copy: the same refusals in the same order, and an
AuditEvent made from the body as it was posted, which holds only because no route changes what it was
given."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest
from fastapi import Request

import service.api.guard
from tests.api.security.conftest import FHIR, KeyServer, bearer, patient_data

pytestmark = pytest.mark.usefixtures("smart_app")

_URN = "urn:uuid:0b6a3f4e-8d2c-4c1e-9f57-2f1e6c0d9a11"
_NEW_PATIENT = {"fullUrl": _URN, "resource": {"resourceType": "Patient"},
                "request": {"method": "POST", "url": "Patient"}}  # fmt: skip
_ITS_OBSERVATION = {"resource": {"resourceType": "Observation", "status": "final", "code": {"text": "CEA"},
                                 "subject": {"reference": _URN}, "valueQuantity": {"value": 2, "unit": "mm"}},
                    "request": {"method": "POST", "url": "Observation"}}  # fmt: skip
_TRANSACTION = {"resourceType": "Bundle", "type": "transaction", "entry": [_NEW_PATIENT, _ITS_OBSERVATION]}
_COLLECTION = {"resourceType": "Bundle", "type": "collection",
               "entry": [{"fullUrl": _URN, "resource": {"resourceType": "Patient", "id": "c1"}},
                         {"resource": _ITS_OBSERVATION["resource"]}]}  # fmt: skip
_PERSIST = {"resourceType": "Parameters", "parameter": [
    {"name": "persist", "valueBoolean": True}, {"name": "bundle", "resource": _COLLECTION}]}  # fmt: skip
_SUBSCRIPTION = {"resourceType": "Subscription", "status": "requested", "reason": "one parse",
                 "criteria": "http://oncoresponse.org/fhir/SubscriptionTopic/response-assessment",
                 "channel": {"type": "rest-hook", "endpoint": "https://ehr.example/hook",
                             "payload": "application/fhir+json"}}  # fmt: skip
# Writes whose route assigns ids, rewrites urn:uuid references or sets a status: on copies, never in place.
WRITES: list[tuple[str, dict[str, Any]]] = [
    ("/fhir", _TRANSACTION),
    ("/fhir", patient_data("p1", "o1")),
    ("/fhir/Bundle", _COLLECTION),
    ("/fhir/$evaluate", _PERSIST),
    ("/fhir/$evaluate", _COLLECTION),
    ("/fhir/Subscription", _SUBSCRIPTION),
    ("/fhir/Patient/$validate", {"resourceType": "Patient", "id": "v1"}),
]


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every text orjson parses while the test runs."""
    parsed: list[bytes] = []
    loads = orjson.loads

    def counted(text: Any) -> Any:
        parsed.append(bytes(text) if not isinstance(text, str) else text.encode())
        return loads(text)

    monkeypatch.setattr(orjson, "loads", counted)
    return parsed


@pytest.mark.parametrize(("path", "body"), WRITES)
async def test_each_posted_body_is_parsed_once(
    api: httpx.AsyncClient, keys: KeyServer, parses: list[bytes], path: str, body: dict[str, Any]
) -> None:
    """The guard (scopes, compartment, audit) and the route read one parse of the body."""
    content = orjson.dumps(body)
    answer = await api.post(path, content=content, headers={**FHIR, **bearer(keys.token())})
    assert answer.status_code < 500, answer.text
    assert parses.count(content) == 1


@pytest.mark.parametrize(("path", "body"), WRITES)
async def test_the_audit_reads_the_body_as_it_was_posted(
    api: httpx.AsyncClient, keys: KeyServer, monkeypatch: pytest.MonkeyPatch, path: str, body: dict[str, Any]
) -> None:
    """After the route has run on the shared parse, the body the AuditEvent is made from is still the one
    posted (a route changing it in place would change the event's patients)."""
    audited: list[Any] = []
    audit = service.api.guard.audit

    async def recorded(request: Request, *args: Any) -> None:
        audited.append(args[3])  # the body, after the route
        await audit(request, *args)

    monkeypatch.setattr(service.api.guard, "audit", recorded)
    headers = {**FHIR, **bearer(keys.token())}
    answer = await api.post(path, content=orjson.dumps(body), headers=headers)
    assert answer.status_code < 500, answer.text
    assert audited == [body]


def _p1(keys: KeyServer) -> dict[str, str]:
    token = keys.token("patient/*.cruds", patient="p1", client_id="patient-app", sub="user-42")
    return {**FHIR, **bearer(token)}


async def test_a_repeated_key_in_another_patients_write_is_first_a_403(
    api: httpx.AsyncClient, keys: KeyServer
) -> None:
    """The guard reads the body as orjson does (a repeated key: its last value) before the route refuses the
    repetition: touching another patient is a 403, as it was; in the token's own compartment, the 400."""
    foreign = orjson.dumps(patient_data("p2", "o2"))[:-1] + b',"type":"transaction"}'
    assert (await api.post("/fhir", content=foreign, headers=_p1(keys))).status_code == 403
    own = orjson.dumps(patient_data("p1", "o1"))[:-1] + b',"type":"transaction"}'
    answer = await api.post("/fhir", content=own, headers=_p1(keys))
    assert answer.status_code == 400
    assert answer.json()["issue"][0]["expression"] == ["Bundle.type"]


@pytest.mark.parametrize("path", ["/fhir", "/fhir/$evaluate", "/fhir/Subscription"])
async def test_a_body_that_is_not_json_is_left_to_the_route(
    api: httpx.AsyncClient, keys: KeyServer, path: str
) -> None:
    """Not JSON: the route answers, a 415 for a media type it does not read before a 400 for the JSON."""
    headers = _p1(keys) if path != "/fhir/Subscription" else {**FHIR, **bearer(keys.token())}
    answer = await api.post(path, content=b'{"resourceType": ', headers=headers)
    assert answer.status_code == 400
    assert answer.json()["issue"][0]["diagnostics"].startswith("The body is not valid JSON")
    wrong_type = {**headers, "content-type": "text/plain"}
    assert (await api.post(path, content=b'{"resourceType": ', headers=wrong_type)).status_code == 415
