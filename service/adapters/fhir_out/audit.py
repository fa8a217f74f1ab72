"""AuditEvent resources (R4) in the shapes of IHE Basic Audit Log Patterns (BALP,
https://profiles.ihe.net/ITI/BALP/): who (the token's client and user), what interaction, on which patient,
with what outcome, under which request id. Never a clinical value or a name: only references, codes and
identifiers of the client, the patient reference and the request.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

_BALP = "https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit"
_DCM = "http://dicom.nema.org/resources/ontology/DCM"
_ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
_OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
# BALP profile and AuditEvent.action by restful interaction.
_SHAPES = {
    "read": ("PatientRead", "R"),
    "vread": ("PatientRead", "R"),
    "history-instance": ("PatientRead", "R"),
    "search-type": ("PatientQuery", "E"),
    "create": ("PatientCreate", "C"),
    "update": ("PatientUpdate", "U"),
    "delete": ("PatientDelete", "D"),
    "transaction": ("PatientCreate", "C"),
    "batch": ("PatientCreate", "C"),
    "operation": ("PatientRead", "E"),
    "export": ("PatientRead", "R"),  # the service's own write-back and notifications (BALP export)
}


@dataclass(frozen=True, slots=True)
class AuditRecord:
    subtype: str  # a restful-interaction code (read, search-type, create, transaction, ...) or operation
    status: int  # the HTTP status answered
    client_id: str
    patients: tuple[str, ...]
    request_id: str
    recorded: datetime
    subject: str | None = None  # the user, when the token names one besides the client
    query: str | None = None  # a search's parameters, only the service's own (never free text)
    operation: str | None = None  # e.g. "$evaluate"


def audit_event(record: AuditRecord, issuer: str) -> dict[str, Any]:
    profile, action = _SHAPES.get(record.subtype, ("PatientRead", "E"))
    return {
        "resourceType": "AuditEvent",
        "id": str(uuid.uuid4()),
        "meta": {"profile": [f"{_BALP}.{profile}"]},
        "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest"},
        "subtype": [_subtype(record)],
        "action": action,
        "recorded": record.recorded.isoformat(),
        "outcome": _outcome(record.status),
        "outcomeDesc": f"HTTP {record.status}",
        "agent": _agents(record, issuer),
        "source": {
            "observer": {"display": "oncoresponse"},
            "type": [{"system": "http://terminology.hl7.org/CodeSystem/security-source-type", "code": "4"}],
        },
        "entity": _entities(record),
    }


def _subtype(record: AuditRecord) -> dict[str, str]:
    if record.subtype == "operation" and record.operation:
        return {"system": "urn:oncoresponse:operation", "code": record.operation}
    return {"system": "http://hl7.org/fhir/restful-interaction", "code": record.subtype}


def _outcome(status: int) -> str:
    """0 success, 4 minor failure (the caller's), 8 serious failure (the service's)."""
    return "0" if status < 400 else "4" if status < 500 else "8"


def _agents(record: AuditRecord, issuer: str) -> list[dict[str, Any]]:
    client = {
        "type": {"coding": [{"system": _DCM, "code": "110150", "display": "Application"}]},
        "who": {"identifier": {"system": issuer, "value": record.client_id}},
        "requestor": True,
    }
    agents = [client]
    if record.subject:
        agents.append({
            "type": {"coding": [{"system": _DCM, "code": "110153", "display": "Source Role ID"}]},
            "who": {"identifier": {"system": issuer, "value": record.subject}},
            "requestor": True,
        })  # fmt: skip
    agents.append({
        "type": {"coding": [{"system": _DCM, "code": "110152", "display": "Destination Role ID"}]},
        "who": {"display": "oncoresponse"},
        "requestor": False,
    })  # fmt: skip
    return agents


def _entities(record: AuditRecord) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = [
        {
            "what": {"reference": patient},
            "type": {"system": _ENTITY_TYPE, "code": "1"},
            "role": {"system": _OBJECT_ROLE, "code": "1"},
        }
        for patient in record.patients
    ]
    found.append({
        "what": {"identifier": {"type": {"text": "X-Request-ID"}, "value": record.request_id}},
        "type": {"system": _ENTITY_TYPE, "code": "2"},
    })  # fmt: skip
    if record.query is not None:
        found.append({
            "type": {"system": _ENTITY_TYPE, "code": "2"},
            "role": {"system": _OBJECT_ROLE, "code": "24"},
            "query": _base64(record.query),
        })  # fmt: skip
    return found


def _base64(text: str) -> str:
    import base64

    return base64.b64encode(text.encode()).decode()
