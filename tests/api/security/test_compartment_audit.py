"""patient/ tokens see and write only their own patient's compartment (issue 16), and every access to
patient data leaves exactly one AuditEvent naming the client, with no clinical value or name in it."""

from __future__ import annotations

import httpx
import orjson
import pytest

from tests.api.security.conftest import FHIR, KeyServer, bearer, patient_data

pytestmark = pytest.mark.usefixtures("smart_app")


@pytest.fixture
async def two_patients(api: httpx.AsyncClient, keys: KeyServer) -> None:
    for patient, observation in (("p1", "o1"), ("p2", "o2")):
        body = orjson.dumps(patient_data(patient, observation))
        answer = await api.post("/fhir", content=body, headers={**FHIR, **bearer(keys.token())})
        assert answer.status_code == 200, answer.text


def _p1(keys: KeyServer, scope: str = "patient/*.rs") -> dict[str, str]:
    return bearer(keys.token(scope, patient="p1", client_id="patient-app", sub="user-42"))


@pytest.mark.usefixtures("two_patients")
async def test_a_patient_token_never_sees_another_patient(api: httpx.AsyncClient, keys: KeyServer) -> None:
    """Searches are narrowed to p1, p2's resources are 404, searching for p2 is 403."""
    search = (await api.get("/fhir/Observation", headers=_p1(keys))).json()
    assert [e["resource"]["id"] for e in search["entry"]] == ["o1"]
    assert (await api.get("/fhir/Observation/o2", headers=_p1(keys))).status_code == 404
    assert (await api.get("/fhir/Patient/p2", headers=_p1(keys))).status_code == 404
    assert (await api.get("/fhir/Observation/o2/_history/1", headers=_p1(keys))).status_code == 404
    assert (await api.get("/fhir/Observation/o1", headers=_p1(keys))).status_code == 200
    asked = await api.get("/fhir/Observation", params={"patient": "Patient/p2"}, headers=_p1(keys))
    assert asked.status_code == 403


@pytest.mark.usefixtures("two_patients")
async def test_a_bundle_touching_another_patient_is_refused_whole(
    api: httpx.AsyncClient, keys: KeyServer
) -> None:
    """A patient/ writer posting data of p2 (overwriting p2's Observation) gets 403; nothing is stored."""
    headers = {**FHIR, **_p1(keys, "patient/*.cruds")}
    foreign = patient_data("p1", "o9")
    foreign["entry"].append({**patient_data("p2", "o2")["entry"][1]})
    assert (await api.post("/fhir", content=orjson.dumps(foreign), headers=headers)).status_code == 403
    assert (await api.get("/fhir/Observation/o9", headers=bearer(keys.token()))).status_code == 404
    own = await api.post("/fhir", content=orjson.dumps(patient_data("p1", "o3")), headers=headers)
    assert own.status_code == 200


@pytest.mark.usefixtures("two_patients")
async def test_evaluate_and_events_stay_in_the_compartment(api: httpx.AsyncClient, keys: KeyServer) -> None:
    """$evaluate for another patient and the Subscription endpoints ($events): 403 to patient/ tokens."""
    p2 = {"name": "patient", "valueReference": {"reference": "Patient/p2"}}
    parameters = {"resourceType": "Parameters", "parameter": [p2]}
    evaluate = await api.post(
        "/fhir/$evaluate", content=orjson.dumps(parameters), headers={**FHIR, **_p1(keys)}
    )
    assert evaluate.status_code == 403
    events = await api.get("/fhir/Subscription/s1/$events", headers=_p1(keys, "patient/*.cruds"))
    assert events.status_code == 403


@pytest.mark.usefixtures("two_patients")
async def test_every_access_leaves_one_audit_event_without_values(
    api: httpx.AsyncClient, keys: KeyServer
) -> None:
    """A read, a search and a write each leave exactly one AuditEvent with the client; none holds a value or
    a name; the trail is searchable by patient and agent with system/AuditEvent.rs only."""
    auditor = bearer(keys.token("system/AuditEvent.rs", client_id="auditor"))
    before = (await api.get("/fhir/AuditEvent", params={"agent": "patient-app"}, headers=auditor)).json()
    assert before["total"] == 0
    await api.get("/fhir/Observation/o1", headers=_p1(keys))
    await api.get("/fhir/Observation", headers=_p1(keys))
    await api.post(
        "/fhir",
        content=orjson.dumps(patient_data("p1", "o4")),
        headers={**FHIR, **_p1(keys, "patient/*.cruds")},
    )
    trail = (await api.get("/fhir/AuditEvent", params={"agent": "patient-app"}, headers=auditor)).json()
    subtypes = sorted(e["resource"]["subtype"][0]["code"] for e in trail["entry"])
    assert subtypes == ["read", "search-type", "transaction"]
    for entry in trail["entry"]:
        event = entry["resource"]
        assert event["agent"][0]["who"]["identifier"]["value"] == "patient-app"
        assert {"reference": "Patient/p1"} in [e.get("what") for e in event["entity"]]
        text = orjson.dumps(event).decode()
        assert "987.654" not in text and "Lovelace" not in text and "Ada" not in text and "CEA" not in text
    by_patient = (await api.get("/fhir/AuditEvent", params={"patient": "Patient/p2"}, headers=auditor)).json()
    assert by_patient["total"] == 1  # the system client's write of p2
    assert (await api.get("/fhir/AuditEvent", headers=_p1(keys, "patient/*.rs"))).status_code == 403
    assert (
        await api.get("/fhir/AuditEvent", headers=bearer(keys.token("user/Observation.rs")))
    ).status_code == 403


async def test_writes_over_the_client_rate_are_429(
    api: httpx.AsyncClient, keys: KeyServer, smart_app
) -> None:  # type: ignore[no-untyped-def]
    """Beyond ONCO_RATE_LIMIT_WRITES_PER_MINUTE a client's writes get 429 with Retry-After; others go on."""
    from service.api.rate_limit import WriteRateLimiter

    smart_app.state.write_limiter = WriteRateLimiter(2)
    headers = {**FHIR, **bearer(keys.token())}
    body = orjson.dumps(patient_data("p5", "o5"))
    statuses = [(await api.post("/fhir", content=body, headers=headers)).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    other = {**FHIR, **bearer(keys.token(client_id="other"))}
    assert (
        await api.post("/fhir", content=orjson.dumps(patient_data("p6", "o6")), headers=other)
    ).status_code == 200
    # reads are not writes: a HEAD (like a GET) is not counted, however many
    heads = [(await api.head("/fhir/Observation/o5", headers=headers)).status_code for _ in range(3)]
    assert heads == [200, 200, 200]


async def test_discovery_is_open_and_describes_smart(api: httpx.AsyncClient) -> None:
    """/fhir/metadata and the SMART configuration need no token; rest.security names SMART and its URIs."""
    statement = (await api.get("/fhir/metadata")).json()
    security = statement["rest"][0]["security"]
    assert security["service"][0]["coding"][0]["code"] == "SMART-on-FHIR"
    uris = {e["url"]: e["valueUri"] for e in security["extension"][0]["extension"]}
    assert uris == {
        "token": "https://auth.hospital.test/token",
        "authorize": "https://auth.hospital.test/authorize",
    }
    for path in ("/.well-known/smart-configuration", "/fhir/.well-known/smart-configuration"):
        document = (await api.get(path)).json()
        assert (
            document["issuer"] == "https://auth.hospital.test" and "permission-v2" in document["capabilities"]
        )
