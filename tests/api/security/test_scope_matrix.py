"""The scope matrix (issue 16): every route of the app, called with each SMART scope family (system/, user/,
patient/; v2 ``cruds`` letters and the v1 ``.read`` / ``.write`` / ``.*`` forms), is allowed exactly when
the scopes grant what the route needs, and refused otherwise.

``ROUTES`` below is written by hand from the SMART rules (not read from ``service/api/interactions.py``), and
it must name every route the app serves: a new route fails :func:`test_every_route_has_a_rule` until it is
given a row here (and a rule in the guard).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from service.api.app import create_app
from service.api.guard import GuardedRoute
from service.api.interactions import interaction
from service.api.rate_limit import WriteRateLimiter
from service.bootstrap import build
from tests.api.security.conftest import FHIR, ISSUER, KeyServer, bearer, patient_data, smart_settings
from tests.app.fake_normaliser import fake_normaliser

pytestmark = pytest.mark.usefixtures("smart_app")

OPEN = "open"  # no token needed, no patient data
CDS = (
    "cds"  # CDS Hooks: only an EHR's signed CDS JWT (ONCO_CDS_TRUSTED_ISSUERS) opens it, never a SMART token
)
CONTEXTS = ("system", "user", "patient")


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    needs: str = ""  # "Type.letters ...": what SMART scopes must grant, e.g. "Observation.r"
    body: Any = None
    patient_refused: bool = False  # never for a patient/ token, whatever its scopes (outside the compartment)
    only: tuple[str, ...] = CONTEXTS  # the scope contexts that count


def _obs(observation: str, patient: str = "p1") -> dict[str, Any]:
    return {"resourceType": "Observation", "id": observation, "status": "final", "code": {"text": "CEA"},
            "subject": {"reference": f"Patient/{patient}"},
            "valueQuantity": {"value": 5, "unit": "mm"}}  # fmt: skip


def _bundle(kind: str, *resources: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": kind, "entry": [{"resource": r} for r in resources]}


_NEW = {k: v for k, v in _obs("").items() if k != "id"}
_BATCH = {"resourceType": "Bundle", "type": "batch",
          "entry": [{"resource": _NEW, "request": {"method": "POST", "url": "Observation"}}]}  # fmt: skip
_HEADER = {"resourceType": "MessageHeader", "id": "m1", "eventCoding": {"code": "x"},
           "source": {"endpoint": "urn:x"}}  # fmt: skip
_MESSAGE = _bundle("message", _HEADER, _obs("o1"))
_P1 = {"name": "patient", "valueReference": {"reference": "Patient/p1"}}
_EVALUATE = {"resourceType": "Parameters", "parameter": [_P1]}
_PERSIST = {"resourceType": "Parameters", "parameter": [
    _P1, {"name": "bundle", "resource": _bundle("collection", _obs("o1"))},
    {"name": "persist", "valueBoolean": True}]}  # fmt: skip
_SUBSCRIPTION = {"resourceType": "Subscription", "status": "requested", "reason": "matrix",
                 "criteria": "http://oncoresponse.org/fhir/SubscriptionTopic/response-assessment",
                 "channel": {"type": "rest-hook", "endpoint": "http://127.0.0.1:9/hook",
                             "payload": "application/fhir+json"}}  # fmt: skip
_OUTPUT = "DiagnosticReport.{0} Observation.{0} CarePlan.{0} Provenance.{0}"

# (method, path template) -> the calls that exercise it, or OPEN / CDS.
ROUTES: dict[tuple[str, str], list[Call] | str] = {
    ("GET", "/openapi.json"): OPEN,
    ("GET", "/docs"): OPEN,
    ("GET", "/docs/oauth2-redirect"): OPEN,
    ("GET", "/docs/assets/{name}"): OPEN,
    ("GET", "/redoc"): OPEN,
    ("GET", "/healthz"): OPEN,
    ("GET", "/readyz"): OPEN,
    ("GET", "/metrics"): OPEN,
    ("GET", "/.well-known/smart-configuration"): OPEN,
    ("GET", "/fhir/.well-known/smart-configuration"): OPEN,
    ("GET", "/fhir/metadata"): OPEN,
    ("GET", "/cds-services"): OPEN,
    ("POST", "/cds-services/{service_id}"): CDS,
    ("POST", "/cds-services/{service_id}/feedback"): CDS,
    ("GET", "/view/Patient/{patient_id}"): [
        Call("GET", "/view/Patient/p1", "Patient.r DiagnosticReport.r Observation.r")
    ],
    ("POST", "/fhir/$validate"): [Call("POST", "/fhir/$validate", "", _obs("v1"))],
    ("POST", "/fhir/{resource_type}/$validate"): [
        Call("POST", "/fhir/Observation/$validate", "", _obs("v1"))
    ],
    ("POST", "/fhir/$evaluate"): [
        Call("POST", "/fhir/$evaluate", _OUTPUT.format("r"), _EVALUATE),
        Call("POST", "/fhir/$evaluate", _OUTPUT.format("cr"), _PERSIST),
    ],
    ("GET", "/fhir/CodeSystem/{system_id}"): [
        Call("GET", "/fhir/CodeSystem/response-category", "CodeSystem.r")
    ],
    ("GET", "/fhir/CodeSystem"): [Call("GET", "/fhir/CodeSystem", "CodeSystem.s")],
    ("POST", "/fhir"): [
        Call("POST", "/fhir", "Patient.u Observation.u", patient_data("p1", "o1")),
        Call("POST", "/fhir", "Observation.c", _BATCH),
    ],
    ("POST", "/fhir/Bundle"): [
        Call("POST", "/fhir/Bundle", "Observation.c", _bundle("collection", _obs("o1")))
    ],
    ("POST", "/fhir/$process-message"): [
        Call(
            "POST", "/fhir/$process-message", "MessageHeader.c Observation.c", _MESSAGE, patient_refused=True
        )
    ],
    ("POST", "/fhir/Subscription"): [
        Call("POST", "/fhir/Subscription", "Subscription.c", _SUBSCRIPTION, patient_refused=True)
    ],
    ("PUT", "/fhir/Subscription/{subscription_id}"): [
        Call(
            "PUT",
            "/fhir/Subscription/s0",
            "Subscription.u",
            {**_SUBSCRIPTION, "id": "s0"},
            patient_refused=True,
        )
    ],
    ("DELETE", "/fhir/Subscription/{subscription_id}"): [
        Call("DELETE", "/fhir/Subscription/s0", "Subscription.d", patient_refused=True)
    ],
    ("GET", "/fhir/Subscription/{subscription_id}"): [
        Call("GET", "/fhir/Subscription/s0", "Subscription.r", patient_refused=True)
    ],
    ("GET", "/fhir/Subscription/{subscription_id}/_history/{version_id}"): [
        Call("GET", "/fhir/Subscription/s0/_history/1", "Subscription.r", patient_refused=True)
    ],
    ("GET", "/fhir/Subscription"): [
        Call("GET", "/fhir/Subscription", "Subscription.s", patient_refused=True)
    ],
    ("GET", "/fhir/Subscription/{subscription_id}/$status"): [
        Call("GET", "/fhir/Subscription/s0/$status", "Subscription.r", patient_refused=True)
    ],
    ("GET", "/fhir/Subscription/{subscription_id}/$events"): [
        Call("GET", "/fhir/Subscription/s0/$events", "Subscription.r", patient_refused=True)
    ],
    ("GET", "/fhir/SubscriptionTopic"): [Call("GET", "/fhir/SubscriptionTopic", "SubscriptionTopic.s")],
    ("GET", "/fhir/SubscriptionTopic/{topic_id}"): [
        Call("GET", "/fhir/SubscriptionTopic/response-assessment", "SubscriptionTopic.r")
    ],
    ("GET", "/fhir/Basic"): [Call("GET", "/fhir/Basic", "Basic.s")],
    ("GET", "/fhir/Basic/{topic_id}"): [Call("GET", "/fhir/Basic/response-assessment", "Basic.r")],
    ("GET", "/fhir/AuditEvent"): [Call("GET", "/fhir/AuditEvent", "AuditEvent.s", only=("system", "user"))],
    ("GET", "/fhir/{resource_type}/{resource_id}"): [
        Call("GET", "/fhir/Observation/o1", "Observation.r"),
        Call("GET", "/fhir/Patient/p1", "Patient.r"),
    ],
    ("GET", "/fhir/{resource_type}/{resource_id}/_history"): [
        Call("GET", "/fhir/Observation/o1/_history", "Observation.r")
    ],
    ("GET", "/fhir/{resource_type}/{resource_id}/_history/{version_id}"): [
        Call("GET", "/fhir/Observation/o1/_history/1", "Observation.r")
    ],
    ("HEAD", "/fhir/{resource_type}/{resource_id}"): [Call("HEAD", "/fhir/Observation/o1", "Observation.r")],
    ("HEAD", "/fhir/{resource_type}/{resource_id}/_history/{version_id}"): [
        Call("HEAD", "/fhir/Observation/o1/_history/1", "Observation.r")
    ],
    ("GET", "/fhir/{resource_type}"): [Call("GET", "/fhir/Observation", "Observation.s")],
    ("HEAD", "/fhir/{resource_type}"): [Call("HEAD", "/fhir/Observation", "Observation.s")],
    ("GET", "/fhir/OperationDefinition/{operation_id}"): [
        Call("GET", "/fhir/OperationDefinition/evaluate", "OperationDefinition.r")
    ],
    ("POST", "/fhir/{resource_type}/_search"): [
        Call("POST", "/fhir/Observation/_search", "Observation.s", "")
    ],
}
_OPEN_PATHS = {"/docs/assets/{name}": "/docs/assets/swagger-init.js"}


def _app_routes(app: FastAPI) -> dict[tuple[str, str], Any]:
    found = {}
    for context in iter_route_contexts(app.routes):
        methods = context.methods or set()
        for method in sorted(
            methods - {"HEAD"} if "GET" in methods else methods
        ):  # HEAD beside GET: Starlette's
            found[(method, str(context.path))] = context.original_route
    return found


def test_every_route_has_a_rule(smart_app: FastAPI) -> None:
    """Each route the app serves has a row in ROUTES, and each guarded one a rule in the guard's table: a new
    route fails here until both say who may call it."""
    served = _app_routes(smart_app)
    assert sorted(set(served) - set(ROUTES)) == []
    for (method, path), route in served.items():
        if isinstance(route, GuardedRoute) and route.name != "metadata":
            assert interaction(route.name, {"resource_type": "Observation"}, None) is not None, (method, path)
        elif isinstance(route, APIRoute) and path.startswith("/fhir/") and ROUTES[(method, path)] != OPEN:
            pytest.fail(f"{method} {path} serves FHIR data without the guard")


_V1 = {"read": "rs", "write": "cud", "*": "cruds"}


def _granted(scopes: str, need: str, only: tuple[str, ...]) -> bool:
    """The SMART rule, restated: a scope grants ``Type.l`` when its context counts, its type is the type or
    ``*``, and its letters (v1 forms expanded) hold ``l``."""
    resource_type, letter = need.split(".")
    for scope in scopes.split():
        context, _, rest = scope.partition("/")
        scope_type, _, letters = rest.partition(".")
        if context in only and scope_type in ("*", resource_type) and letter in _V1.get(letters, letters):
            return True
    return False


def _needs(call: Call) -> list[str]:
    return [f"{t}.{letter}" for item in call.needs.split() for t, ls in [item.split(".")] for letter in ls]


def _scope_sets(call: Call, context: str) -> list[str]:
    """The families tried: every v2 letter and v1 form on ``*``, the route's exact needs (v2 and v1), the
    same less one permission, and another type."""
    generic = [f"{context}/*.{p}" for p in ("cruds", "c", "r", "u", "d", "s", "read", "write", "*")]
    exact = [f"{context}/{item}" for item in call.needs.split()]
    v1 = [f"{context}/{t}.{form}" for item in call.needs.split() for t, ls in [item.split(".")]
          for form, held in (("read", "rs"), ("write", "cud")) if set(ls) & set(held)]  # fmt: skip
    needs = _needs(call)
    short = [f"{context}/{n}" for n in needs[1:]]  # one permission missing
    sets = [*generic, " ".join(exact), " ".join(v1), f"{context}/Condition.cruds", "openid fhirUser"]
    return sets + ([" ".join(short)] if needs else [])


def _expected(call: Call, scopes: str, context: str) -> bool:
    if context == "patient" and call.patient_refused and call.needs:
        return False
    return all(_granted(scopes, need, call.only) for need in _needs(call))


async def _send(api: httpx.AsyncClient, call: Call, headers: dict[str, str]) -> httpx.Response:
    if isinstance(call.body, str):  # a form body (POST _search)
        form = {"content-type": "application/x-www-form-urlencoded"}
        return await api.request(call.method, call.path, content=call.body, headers={**form, **headers})
    content = orjson.dumps(call.body) if call.body is not None else None
    return await api.request(call.method, call.path, content=content, headers={**FHIR, **headers})


@pytest.fixture
async def stored(api: httpx.AsyncClient, keys: KeyServer, smart_app: FastAPI) -> None:
    smart_app.state.write_limiter = WriteRateLimiter(0)  # the matrix writes more than a client may
    for patient, observation in (("p1", "o1"), ("p2", "o2")):
        body = orjson.dumps(patient_data(patient, observation))
        assert (
            await api.post("/fhir", content=body, headers={**FHIR, **bearer(keys.token())})
        ).status_code == 200


class _Tokens(dict[tuple[str, str], str]):
    """One ES256 token per (scopes, context), signed once (the patient/ ones for p1)."""

    def __init__(self, keys: KeyServer) -> None:
        super().__init__()
        self.keys = keys

    def __call__(self, scopes: str, context: str) -> str:
        if (scopes, context) not in self:
            patient = "p1" if context == "patient" else None
            self[scopes, context] = self.keys.token(
                scopes, key=self.keys.ec, kid="ec-1", algorithm="ES256", patient=patient
            )
        return self[scopes, context]


@pytest.mark.slow
@pytest.mark.usefixtures("stored")
async def test_each_scope_family_on_each_route(
    api: httpx.AsyncClient, keys: KeyServer, smart_app: FastAPI
) -> None:
    """For every route and context, each scope family is allowed (any status but 401/403, never a 500)
    exactly when the SMART rule grants the route's needs, else 403; no token is 401."""
    wrong: list[str] = []
    tokens = _Tokens(keys)
    served = _app_routes(smart_app)
    for key, calls in ROUTES.items():
        if isinstance(calls, str) or key not in served:  # a row may name a route still being built
            continue
        for call in calls:
            if (await _send(api, call, {})).status_code != 401:
                wrong.append(f"{call.method} {call.path} without a token: not 401")
            for context in CONTEXTS:
                for scopes in _scope_sets(call, context):
                    status = (await _send(api, call, bearer(tokens(scopes, context)))).status_code
                    allowed = status not in (401, 403)
                    if allowed != _expected(call, scopes, context) or status >= 500:
                        wrong.append(f"{call.method} {call.path} [{scopes}]: {status}")
    assert wrong == []


async def test_a_patient_scope_without_a_patient_claim_opens_nothing(
    api: httpx.AsyncClient, keys: KeyServer, smart_app: FastAPI
) -> None:
    """patient/*.cruds with no ``patient`` claim: every route that touches patient data is 403."""
    token = bearer(keys.token("patient/*.cruds"))
    served = _app_routes(smart_app)
    for key, calls in ROUTES.items():
        for call in calls if isinstance(calls, list) and key in served else []:
            if call.needs:
                assert (await _send(api, call, token)).status_code == 403, call


async def test_open_routes_need_no_token(api: httpx.AsyncClient, smart_app: FastAPI) -> None:
    """Every open route the app serves answers 200 without a token."""
    for method, path in _app_routes(smart_app):
        if ROUTES[(method, path)] == OPEN:
            answer = await api.request(method, _OPEN_PATHS.get(path, path))
            assert answer.status_code == 200, (path, answer.text)


async def test_cds_hooks_refuse_smart_access_tokens(tmp_path: Path, keys: KeyServer) -> None:
    """Even with the SMART issuer trusted for CDS Hooks, a SMART access token (any scope, a patient/ one
    too) opens no hook: its ``aud`` is the FHIR base, not the hook's URL (401). No token is 401 too."""
    settings = smart_settings(tmp_path, keys, cds_trusted_issuers={ISSUER: keys.url})
    app = create_app(settings, build(settings, normaliser=fake_normaliser))
    body = orjson.dumps(
        {"hook": "patient-view", "hookInstance": "1", "context": {"patientId": "p1", "userId": "u"}}
    )
    tokens = [keys.token("system/*.cruds", jti="j1"), keys.token("patient/*.rs", patient="p1", jti="j2")]
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        for path in (
            "/cds-services/oncoresponse-patient-view",
            "/cds-services/oncoresponse-patient-view/feedback",
        ):
            for headers in ({}, *(bearer(t) for t in tokens)):
                answer = await client.post(
                    path, content=body, headers={"content-type": "application/json", **headers}
                )
                assert answer.status_code == 401, (path, answer.text)
