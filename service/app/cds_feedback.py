"""CDS Hooks feedback (https://cds-hooks.hl7.org/2.0/#feedback): what the clinician did with each card,
kept for review and counted by service and outcome (``onco_cds_feedback_total`` in ``/metrics``).

Kept in this process, newest last, up to :data:`KEEP` items: feedback names cards (uuids), never patients, so
nothing clinical is held; a durable table would need a migration of its own.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from service.errors import BadRequest

KEEP = 10_000
OUTCOMES = ("accepted", "overridden")


@dataclass(frozen=True, slots=True)
class FeedbackItem:
    service: str
    card: str
    outcome: str
    accepted_suggestions: tuple[str, ...]
    override_reason: str | None
    outcome_timestamp: str | None


@dataclass
class CdsFeedback:
    count: Callable[[str, str], None] = lambda _service, _outcome: None
    items: deque[FeedbackItem] = field(default_factory=lambda: deque(maxlen=KEEP))

    def record(self, service: str, body: dict[str, Any]) -> int:
        """Store each item of ``feedback``; raises BadRequest (nothing stored) when one is malformed."""
        raw = body.get("feedback")
        if not isinstance(raw, list) or not raw:
            raise BadRequest("A feedback request needs a non-empty feedback array", expression="feedback")
        items = [_item(service, entry, index) for index, entry in enumerate(raw)]
        for item in items:
            self.items.append(item)
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
