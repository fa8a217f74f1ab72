"""``oncoresponse deliveries`` and ``oncoresponse replay``: the operator's view of the durable outbox.

Rows that exhausted their attempts (``failed``) or that a server refused (``rejected``) stay in the outbox;
an operator lists them, fixes the cause, and queues them again. Bodies are never printed: they hold
patient data.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from service.adapters.store import SqlStore


async def list_deliveries(database_url: str, status: str | None) -> list[str]:
    store = SqlStore(database_url)
    try:
        entries = await store.outbox().entries(status=status)
    finally:
        await store.close()
    header = "id\tkind\ttarget\tevent\tstatus\tattempts\tlast_status\tlast_error\tcreated_at"
    return [header] + [
        tsv_row(
            e.pk,
            e.kind,
            e.target,
            e.event_number,
            e.status,
            e.attempts,
            e.last_status,
            e.last_error,
            e.created_at.isoformat(),
        )
        for e in entries
    ]


def tsv_row(*values: object) -> str:
    """One listing line: tab-separated, ``-`` for a missing value."""
    return "\t".join(str(v if v is not None else "-") for v in values)


async def replay_deliveries(database_url: str, ids: Sequence[int]) -> int:
    store = SqlStore(database_url)
    try:
        return await store.outbox().replay(ids, datetime.now(UTC))
    finally:
        await store.close()
