"""The answers of a posted Bundle's entries (issue 17: out of the ingest use case): each entry's outcome, and
the normaliser's issues sorted to the entries they name. The normaliser names an entry by the FHIRPath it
reports at (``Bundle.entry[n]...``, the contract between the two), so an issue raised while reading one entry
about another (a referenced resource) lands on the entry it names."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from service.app.store_records import CurrentVersion, StoredResource
from service.errors import BadRequest, Issue, Unprocessable


@dataclass(slots=True)
class EntryOutcome:
    """One entry's answer: its status and, when it names a stored resource, which version."""

    index: int
    status: int
    reference: str | None = None
    version_id: int | None = None
    last_updated: datetime | None = None
    issues: list[Issue] = field(default_factory=list)

    @classmethod
    def of(
        cls, index: int, status: int, stored: StoredResource | CurrentVersion, reference: str
    ) -> EntryOutcome:
        return cls(index, status, reference, stored.version_id, stored.last_updated)


_ENTRY_INDEX = re.compile(r"^Bundle\.entry\[(\d+)\]")


def _entry_index(issue: Issue) -> int | None:
    match = _ENTRY_INDEX.match(issue.expression or "")
    return int(match.group(1)) if match else None


def failed_by_normalisation(issues: list[Issue]) -> dict[int, EntryOutcome]:
    failed: dict[int, EntryOutcome] = {}
    for issue in issues:
        index = _entry_index(issue)
        if issue.severity in ("error", "fatal") and index is not None:
            failed.setdefault(index, EntryOutcome(index, 422)).issues.append(issue)
    return failed


def add_warnings(entries: list[EntryOutcome], issues: list[Issue]) -> None:
    by_index = {e.index: e for e in entries}
    for issue in issues:
        index = _entry_index(issue)
        if issue.severity not in ("error", "fatal") and index in by_index:
            by_index[index].issues.append(issue)


def transaction_failure(outcomes: dict[int, EntryOutcome]) -> BadRequest | Unprocessable:
    issues = [issue for o in sorted(outcomes.values(), key=lambda o: o.index) for issue in o.issues]
    error = Unprocessable if all(o.status == 422 for o in outcomes.values()) else BadRequest
    return error("The transaction was not applied: nothing was stored", issues=issues)


def at_entry(index: int, issue: Issue) -> Issue:
    """``Observation.valueQuantity`` from a resource check → ``Bundle.entry[3].resource.valueQuantity``."""
    _, _, rest = (issue.expression or "").partition(".")
    expression = f"Bundle.entry[{index}].resource" + (f".{rest}" if rest else "")
    return Issue(issue.diagnostics, issue.code, issue.severity, expression)
