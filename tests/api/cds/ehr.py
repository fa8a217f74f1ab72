"""A fake EHR for the CDS Hooks tests: its RSA key, its JWK set (served through respx on a loopback URL)
and hook requests shaped as in the spec's examples (cds-hooks.hl7.org/2.0/#http-request_1), each signed."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
import orjson
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import SHARED

ISSUER = "https://ehr.example.org"
JWKS_URL = "http://127.0.0.1:9/ehr/jwks.json"  # answered by respx: nothing leaves the machine
KID = "ehr-key-1"
BASE = "http://test/cds-services"


class Ehr:
    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwks(self) -> dict[str, Any]:
        jwk = orjson.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**jwk, "kid": KID, "alg": "RS384", "use": "sig"}]}

    def token(self, audience: str, **overrides: Any) -> str:
        now = int(time.time())
        claims = {"iss": ISSUER, "sub": "ehr-client", "aud": audience, "exp": now + 120, "iat": now}
        claims |= {"jti": str(uuid.uuid4())}
        headers = {"kid": KID, "typ": "JWT", **overrides.pop("headers", {})}
        key = overrides.pop("key", self.key)
        claims |= overrides
        return jwt.encode(claims, key, algorithm="RS384", headers=headers)

    def headers(self, service: str, language: str = "en", **overrides: Any) -> dict[str, str]:
        token = self.token(f"{BASE}/{service}", **overrides)
        return {"Authorization": f"Bearer {token}", "Accept-Language": language}


def example(name: str) -> dict[str, Any]:
    bundle: dict[str, Any] = orjson.loads((SHARED / "examples" / f"{name}.json").read_bytes())
    return bundle


def prefetch(bundle: dict[str, Any]) -> dict[str, Any]:
    """The example's resources as an EHR would prefetch them: the Patient, and the rest as a searchset."""
    resources = [e["resource"] for e in bundle["entry"]]
    patient = next(r for r in resources if r["resourceType"] == "Patient")
    rest = [{"fullUrl": f"{ISSUER}/fhir/{r['resourceType']}/{r['id']}", "resource": r} for r in resources]
    searchset = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [e for e in rest if e["resource"] is not patient],
    }
    return {"patient": patient, "observations": searchset}


def patient_view(patient_id: str, prefetched: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "hookInstance": str(uuid.uuid4()),
        "hook": "patient-view",
        "fhirServer": f"{ISSUER}/fhir",
        "context": {"userId": "Practitioner/example", "patientId": patient_id},
    }
    if prefetched is not None:
        body["prefetch"] = prefetched
    return body


def medication_request(order_id: str, patient_id: str, rxnorm: str, name: str) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": order_id,
        "status": "draft",
        "intent": "order",
        "subject": {"reference": f"Patient/{patient_id}"},
        "medicationCodeableConcept": {
            "coding": [
                {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": rxnorm, "display": name}
            ],
            "text": name,
        },
    }


def order_hook(
    hook: str, patient_id: str, orders: list[dict[str, Any]], prefetched: dict[str, Any] | None
) -> dict[str, Any]:
    body = patient_view(patient_id, prefetched)
    body["hook"] = hook
    body["context"]["draftOrders"] = {"resourceType": "Bundle", "type": "collection",
                                      "entry": [{"resource": o} for o in orders]}  # fmt: skip
    if hook == "order-select":
        body["context"]["selections"] = [f"MedicationRequest/{orders[0]['id']}"]
    return body
