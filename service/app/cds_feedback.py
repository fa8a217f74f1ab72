"""CDS Hooks feedback (https://cds-hooks.hl7.org/2.0/#feedback): what the clinician did with each card,
stored durably as AuditEvents in the store's audit trail (``GET /fhir/AuditEvent?agent=<client>`` reads them
back) and counted by service and outcome (``onco_cds_feedback_total`` in ``/metrics``). A request's items
are stored together, in one transaction, or not at all; a malformed item refuses the whole request (400).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from service.adapters.fhir_out.feedback_event import FeedbackItem, feedback_event
from service.app.audit import AuditTrail
from service.app.ports import Store
from service.errors import BadRequest

OUTCOMES = ("accepted", "overridden")


@dataclass
class CdsFeedback:
    store: Store
    count: Callable[[str, str], None] = lambda _service, _outcome: None

    async def record(self, service: str, body: dict[str, Any], claims: dict[str, Any]) -> int:
        """Store each item of ``feedback`` as an AuditEvent naming the EHR client (the verified JWT's ``iss``
        and ``sub``); raises BadRequest (nothing stored) when one is malformed."""
        raw = body.get("feedback")
        if not isinstance(raw, list) or not raw:
            raise BadRequest("A feedback request needs a non-empty feedback array", expression="feedback")
        items = [_item(service, entry, index) for index, entry in enumerate(raw)]
        issuer, client = str(claims.get("iss", "")), str(claims.get("sub") or claims.get("iss", ""))
        now = datetime.now(UTC)
        async with self.store.writing(set()) as writer:
            for item in items:
                await AuditTrail.record_in(writer, feedback_event(item, issuer, client, now), now)
        for item in items:
            self.count(service, item.outcome)
        return len(items)


def _item(service: str, entry: object, index: int) -> FeedbackItem:
    where = f"feedback[{index}]"
    if not isinstance(entry, dict) or not isinstance(entry.get("card"), str):
        raise BadRequest("Each feedback item names its card (uuid)", expression=f"{where}.card")
    if entry.get("outcome") not in OUTCOMES:
        raise BadRequest("outcome must be accepted or overridden", expression=f"{where}.outcome")
    accepted = entry.get("acceptedSuggestions") or []
    reason = entry.get("overrideReason") or {}
    reason_code = reason.get("reason", {}).get("code") if isinstance(reason, dict) else None
    return FeedbackItem(
        service,
        entry["card"],
        entry["outcome"],
        tuple(str(s.get("id")) for s in accepted if isinstance(s, dict)),
        str(reason_code) if reason_code else None,
        str(entry["outcomeTimestamp"]) if entry.get("outcomeTimestamp") else None,
    )
