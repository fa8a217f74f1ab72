"""Optimistic locking (https://hl7.org/fhir/R4/http.html#concurrency): a ``PUT`` that names the version it
updates (``If-Match`` / ``Bundle.entry.request.ifMatch``, ``W/"n"``) is refused with 412 when the stored
resource is no longer at that version, or is not stored at all; in a transaction nothing is written."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from service.adapters.fhir_in.bundles import PlannedEntry
from service.app.store_records import CurrentVersion
from service.errors import Issue, PreconditionFailed


def matches(if_match: str, version_id: int | None) -> bool:
    """Whether ``W/"n"`` (or ``"n"``, or bare ``n``) names this version."""
    wanted = if_match.strip().removeprefix("W/").strip('"')
    return version_id is not None and wanted == str(version_id)


def stale_entries(
    planned: Iterable[PlannedEntry], current: Mapping[tuple[str, str], CurrentVersion], *, transaction: bool
) -> dict[int, Issue]:
    """The entries whose ifMatch is stale, by index; for a transaction a 412 for the whole Bundle."""
    stale = {}
    for entry in planned:
        if entry.if_match is None:
            continue
        now = current.get((entry.resource["resourceType"], entry.resource["id"]))
        if not matches(entry.if_match, now.version_id if now else None):
            at = f"version {now.version_id}" if now else "not stored"
            stale[entry.index] = Issue(
                f"{entry.reference} is {at}, not {entry.if_match}: read it again and retry",
                "conflict",
                expression=f"Bundle.entry[{entry.index}].request.ifMatch",
            )
    if stale and transaction:
        raise PreconditionFailed("The transaction is refused whole: " + "; ".join(
            i.diagnostics for i in stale.values()), issues=list(stale.values()))  # fmt: skip
    return stale
