"""A CDS Hooks feedback item (https://cds-hooks.hl7.org/2.0/#feedback) as an R4 AuditEvent, stored in the
audit trail beside the accesses (issue 18: feedback stored durably): which EHR client (the JWT's ``iss`` and
``sub``) said what about which card of which service, when. It names cards and suggestions by their uuids,
never a patient or a clinical value (feedback carries neither), so ``entity`` holds no patient reference.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

CDS_HOOKS = "urn:oncoresponse:cds-hooks"  # type "feedback", subtype the service id (as audit.py's operations)
CARD = "urn:oncoresponse:cds-card"
_DCM = "http://dicom.nema.org/resources/ontology/DCM"
_ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"


@dataclass(frozen=True, slots=True)
class FeedbackItem:
    service: str
    card: str
    outcome: str  # accepted | overridden
    accepted_suggestions: tuple[str, ...]
    override_reason: str | None
    outcome_timestamp: str | None


def feedback_event(item: FeedbackItem, issuer: str, client: str, recorded: datetime) -> dict[str, Any]:
    return {
        "resourceType": "AuditEvent",
        "id": str(uuid.uuid4()),
        "type": {"system": CDS_HOOKS, "code": "feedback", "display": "CDS Hooks feedback"},
        "subtype": [{"system": CDS_HOOKS, "code": item.service}],
        "action": "E",
        "recorded": recorded.isoformat(),
        "outcome": "0",
        "outcomeDesc": item.outcome,
        "agent": [
            {
                "type": {"coding": [{"system": _DCM, "code": "110150", "display": "Application"}]},
                "who": {"identifier": {"system": issuer, "value": client}},
                "requestor": True,
            }
        ],
        "source": {"observer": {"display": "oncoresponse"}},
        "entity": [
            {
                "what": {"identifier": {"system": CARD, "value": item.card}},
                "type": {"system": _ENTITY_TYPE, "code": "2"},
                "detail": _details(item),
            }
        ],
    }


def _details(item: FeedbackItem) -> list[dict[str, str]]:
    details = [("outcome", item.outcome)]
    details += [("acceptedSuggestion", suggestion) for suggestion in item.accepted_suggestions]
    details += [("overrideReason", item.override_reason)] if item.override_reason else []
    details += [("outcomeTimestamp", item.outcome_timestamp)] if item.outcome_timestamp else []
    return [{"type": kind, "valueString": value} for kind, value in details]
