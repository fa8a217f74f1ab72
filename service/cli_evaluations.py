"""``oncoresponse evaluations`` and ``oncoresponse reevaluate`` (issue 17): the operator's view of the reports
owed, and a way to owe them again.

A request stays until its report is stored, so a failing evaluation is listed here (with its attempts and
the error's class, never a message: it may hold patient data) until the cause is fixed; the workers of every
running replica retry it. ``reevaluate`` requests the evaluation of the patients named, or of every patient
(after a change to the knowledge base, say); the workers evaluate them in batches, each patient once, and a
report whose content did not change is not written again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from service.adapters.store import SqlStore
from service.cli_outbox import tsv_row


async def list_evaluations(database_url: str) -> list[str]:
    store = SqlStore(database_url)
    try:
        async with store.reading() as reader:
            jobs = await reader.evaluation_jobs.all()
    finally:
        await store.close()
    header = "patient\tgeneration\trequested_at\tdue_at\tattempts\tlast_error"
    return [header] + [
        tsv_row(
            j.patient_ref,
            j.generation,
            j.requested_at.isoformat(),
            j.due_at.isoformat(),
            j.attempts,
            j.last_error,
        )
        for j in jobs
    ]


async def request_evaluations(database_url: str, patients: Sequence[str]) -> int:
    """Owe a report for each patient named, or for every patient with stored facts when none is named."""
    store = SqlStore(database_url)
    try:
        await store.migrate()
        async with store.reading() as reader:
            wanted = set(patients) or set(await reader.evaluation_jobs.known_patients())
        async with store.writing(wanted) as writer:
            await writer.evaluation_jobs.request(wanted, datetime.now(UTC), timedelta(0))
    finally:
        await store.close()
    return len(wanted)
