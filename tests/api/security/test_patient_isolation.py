"""A ``patient/`` token never reads, searches or writes another patient's data (issue 16), by any road:
``_include`` / ``_revinclude``, search parameters in any form, a Bundle that touches another patient in any
way (refused whole: nothing of it is stored), ``$evaluate`` with and without ``persist``."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from tests.api.security.conftest import AUDIENCE, FHIR, KeyServer, bearer, patient_data

pytestmark = pytest.mark.usefixtures("smart_app")

P2_IDS = {"p2", "o2", "dr2", "pv-mixed"}  # p2's, or (the Provenance) not p1's alone


def _obs(observation: str, patient: str = "p1", **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": observation, "status": "final", "code": {"text": "CEA"},
            "subject": {"reference": f"Patient/{patient}"}, "valueQuantity": {"value": 5, "unit": "mm"},
            **extra}  # fmt: skip


def _put(resource: dict[str, Any]) -> dict[str, Any]:
    url = f"{resource['resourceType']}/{resource['id']}"
    return {"resource": resource, "request": {"method": "PUT", "url": url}}


def _transaction(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "transaction", "entry": list(entries)}


@pytest.fixture
async def linked(api: httpx.AsyncClient, keys: KeyServer) -> None:
    """p1 and p2, each with an Observation; p1's o3 has p2's o2 as a member; p2's report dr2 cites p1's o1;
    a Provenance targets o1 and o2."""
    system = {**FHIR, **bearer(keys.token())}
    for patient, observation in (("p1", "o1"), ("p2", "o2")):
        body = orjson.dumps(patient_data(patient, observation))
        assert (await api.post("/fhir", content=body, headers=system)).status_code == 200
    report = {"resourceType": "DiagnosticReport", "id": "dr2", "status": "final", "code": {"text": "CT"},
              "subject": {"reference": "Patient/p2"},
              "result": [{"reference": "Observation/o1"}]}  # fmt: skip
    provenance = {"resourceType": "Provenance", "id": "pv-mixed", "recorded": "2026-01-05T00:00:00Z",
                  "target": [{"reference": "Observation/o1"}, {"reference": "Observation/o2"}],
                  "agent": [{"who": {"display": "lab"}}]}  # fmt: skip
    member = _obs("o3", hasMember=[{"reference": "Observation/o2"}])
    body = orjson.dumps(_transaction(_put(member), _put(report), _put(provenance)))
    assert (await api.post("/fhir", content=body, headers=system)).status_code == 200


def _p1(keys: KeyServer, scope: str = "patient/*.cruds") -> dict[str, str]:
    return bearer(keys.token(scope, patient="p1", client_id="patient-app"))


def _ids(answer: httpx.Response) -> set[str]:
    bundle = answer.json()
    return {e["resource"].get("id") for e in bundle.get("entry", []) if "resource" in e}


@pytest.mark.usefixtures("linked")
@pytest.mark.parametrize(
    "query",
    [
        {"_include": "Observation:has-member"},
        {"_revinclude": "DiagnosticReport:result"},
        {"_revinclude": "Provenance:target"},
        {"_include": "Observation:subject"},
        {"_include": "Observation:patient", "_revinclude": "Provenance:target"},
    ],
)
async def test_includes_never_bring_another_patients_resources(
    api: httpx.AsyncClient, keys: KeyServer, query: dict[str, str]
) -> None:
    """p1's searches with _include/_revinclude hold nothing of p2's (a system/ token asking the same may
    get them: the links are there)."""
    answer = await api.get("/fhir/Observation", params=query, headers=_p1(keys, "patient/*.rs"))
    assert answer.status_code in (200, 400), answer.text
    if answer.status_code == 200:
        assert _ids(answer) & P2_IDS == set()
        assert "o1" in _ids(answer)
        assert b"Patient/p2" not in answer.content


@pytest.mark.usefixtures("linked")
async def test_a_subsetted_search_shows_the_own_patients_resources(
    api: httpx.AsyncClient, keys: KeyServer
) -> None:
    """_elements drops the subject, so the answer cannot show whose a match is: the store's owner tells it.
    p1 sees its own subsetted Observations, and still nothing of p2's."""
    answer = await api.get(
        "/fhir/Observation", params={"_elements": "status"}, headers=_p1(keys, "patient/*.rs")
    )
    assert answer.status_code == 200, answer.text
    assert _ids(answer) == {"o1", "o3"}


@pytest.mark.usefixtures("linked")
@pytest.mark.parametrize(
    "params",
    [
        {"patient": "Patient/p2"},
        {"subject": "Patient/p2"},
        {"subject:Patient": "p2"},
        {"patient": "p1,p2"},
        {"patient": "https://onco.hospital.test/fhir/Patient/p2"},
    ],
)
async def test_a_search_naming_another_patient_is_403(
    api: httpx.AsyncClient, keys: KeyServer, params: dict[str, str]
) -> None:
    """Naming another patient in a search, in any form, is refused."""
    answer = await api.get("/fhir/Observation", params=params, headers=_p1(keys, "patient/*.rs"))
    assert answer.status_code == 403, answer.text


@pytest.mark.usefixtures("linked")
async def test_a_form_search_never_reaches_another_patient(api: httpx.AsyncClient, keys: KeyServer) -> None:
    """POST _search with another patient in the form: refused, or (at the least) nothing of theirs."""
    form = {"content-type": "application/x-www-form-urlencoded", **_p1(keys, "patient/*.rs")}
    answer = await api.post("/fhir/Observation/_search", content="patient=Patient/p2", headers=form)
    assert answer.status_code in (200, 403), answer.text
    assert answer.status_code == 403 or _ids(answer) & P2_IDS == set()


def _message(*resources: dict[str, Any]) -> dict[str, Any]:
    header = {"resourceType": "MessageHeader", "id": "m1", "eventCoding": {"code": "x"},
              "source": {"endpoint": "urn:x"}}  # fmt: skip
    return {"resourceType": "Bundle", "type": "message",
            "entry": [{"resource": r} for r in (header, *resources)]}  # fmt: skip


_NEW = _put(_obs("o-new"))  # p1's own, in every refused Bundle: it must not be stored either
_URN = "urn:uuid:6f1c0a52-0000-4000-8000-000000000002"
_COLLECTION = {"resourceType": "Bundle", "type": "collection",
               "entry": [{"resource": _obs("o-new")}, {"resource": _obs("o2")}]}  # fmt: skip
_DELETE = {"request": {"method": "DELETE", "url": "Observation/o2"}}
_ABSOLUTE = {"resource": _obs("o2"),
             "request": {"method": "PUT", "url": f"{AUDIENCE}/Observation/o2"}}  # fmt: skip
_CONDITIONAL = {"resource": {k: v for k, v in _obs("x").items() if k != "id"},
                "request": {"method": "POST", "url": "Observation", "ifNoneExist": "code=CEA"}}  # fmt: skip
_P2_BY_URN = {"fullUrl": _URN, "resource": {"resourceType": "Patient", "id": "p2"},
              "request": {"method": "PUT", "url": "Patient/p2"}}  # fmt: skip
_FOREIGN = {
    "collection keeping p2's id": ("/fhir/Bundle", _COLLECTION),
    "PUT p2's Patient": ("/fhir", _transaction(_NEW, _put({"resourceType": "Patient", "id": "p2"}))),
    "DELETE p2's Observation": ("/fhir", _transaction(_NEW, _DELETE)),
    "PUT by absolute URL": ("/fhir", _transaction(_NEW, _ABSOLUTE)),
    "PUT p2's id under p1": ("/fhir", _transaction(_NEW, _put(_obs("o2")))),
    "a reference to p2": (
        "/fhir",
        _transaction(_NEW, _put(_obs("o5", performer=[{"reference": "Patient/p2"}]))),
    ),
    "conditional": ("/fhir", _transaction(_NEW, _CONDITIONAL)),
    "urn:uuid to p2": (
        "/fhir",
        _transaction(_NEW, _P2_BY_URN, _put({**_obs("o6"), "subject": {"reference": _URN}})),
    ),
    "a message with p2's data": ("/fhir/$process-message", _message(_obs("o-new"), _obs("o7", "p2"))),
}


@pytest.mark.usefixtures("linked")
@pytest.mark.parametrize("case", sorted(_FOREIGN))
async def test_a_bundle_touching_another_patient_is_refused_whole(
    api: httpx.AsyncClient, keys: KeyServer, case: str
) -> None:
    """403, and nothing of the Bundle is stored: p1's own new Observation is absent, p2's o2 is as it was."""
    path, body = _FOREIGN[case]
    answer = await api.post(path, content=orjson.dumps(body), headers={**FHIR, **_p1(keys)})
    assert answer.status_code == 403, answer.text
    system = bearer(keys.token())
    assert (await api.get("/fhir/Observation/o-new", headers=system)).status_code == 404
    o2 = (await api.get("/fhir/Observation/o2", headers=system)).json()
    assert o2["meta"]["versionId"] == "1" and o2["subject"] == {"reference": "Patient/p2"}


@pytest.mark.usefixtures("linked")
async def test_no_client_writes_the_audit_trail(api: httpx.AsyncClient, keys: KeyServer) -> None:
    """An AuditEvent in a posted Bundle is 403 even to system/*.cruds; the trail holds no such event."""
    forged = {"resourceType": "AuditEvent", "id": "forged", "recorded": "2026-01-05T00:00:00Z",
              "agent": [{"requestor": True}], "source": {"observer": {"display": "x"}},
              "type": {"code": "rest"}}  # fmt: skip
    for body in (
        _transaction(_put(forged)),
        _transaction({"request": {"method": "DELETE", "url": "AuditEvent/a"}}),
    ):
        answer = await api.post("/fhir", content=orjson.dumps(body), headers={**FHIR, **bearer(keys.token())})
        assert answer.status_code == 403, answer.text
    trail = await api.get("/fhir/AuditEvent", params={"_count": 1000}, headers=bearer(keys.token()))
    assert "forged" not in _ids(trail)


def _parameters(*parameters: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Parameters", "parameter": list(parameters)}


def _bundle_of(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"name": "bundle", "resource": {"resourceType": "Bundle", "type": "collection",
                                           "entry": [{"resource": r} for r in resources]}}  # fmt: skip


_PERSIST = {"name": "persist", "valueBoolean": True}


@pytest.mark.usefixtures("linked")
@pytest.mark.parametrize(
    "body",
    [
        _parameters({"name": "patient", "valueString": "p2"}),
        _parameters({"name": "patient", "valueReference": {"reference": "https://x.test/fhir/Patient/p2"}}),
        _parameters(_bundle_of(_obs("o8", "p2"))),
        _parameters(_bundle_of(_obs("o8", "p2")), _PERSIST),
        _parameters(_bundle_of(_obs("o2")), _PERSIST),  # p2's o2, re-posted as p1's
        _parameters({"name": "patient", "valueString": "p1"}, {"name": "patient", "valueString": "p2"}),
        {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": _obs("o8", "p2")}]},
    ],
)
async def test_evaluate_never_reaches_another_patient(
    api: httpx.AsyncClient, keys: KeyServer, body: dict[str, Any]
) -> None:
    """$evaluate naming p2, or with p2's data posted (with persist or not): 403, and nothing stored."""
    answer = await api.post("/fhir/$evaluate", content=orjson.dumps(body), headers={**FHIR, **_p1(keys)})
    assert answer.status_code == 403, answer.text
    system = bearer(keys.token())
    assert (await api.get("/fhir/Observation/o8", headers=system)).status_code == 404


@pytest.mark.usefixtures("linked")
async def test_evaluate_of_the_own_patient_shows_only_theirs(api: httpx.AsyncClient, keys: KeyServer) -> None:
    """$evaluate for p1 (persisting p1's data) is allowed; whatever it answers names no other patient."""
    body = _parameters({"name": "patient", "valueString": "p1"}, _bundle_of(_obs("o9")), _PERSIST)
    answer = await api.post("/fhir/$evaluate", content=orjson.dumps(body), headers={**FHIR, **_p1(keys)})
    assert answer.status_code in (200, 422), answer.text
    assert b"Patient/p2" not in answer.content and _ids(answer) & P2_IDS == set()
