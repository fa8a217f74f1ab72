"""What the ingest's write looks up of each planned entry (its key, reference, patient and facts), read once
per entry rather than once per use, and the entries it keeps without storing a new version."""

from __future__ import annotations

from collections.abc import Sequence

from service.adapters.fhir_in.bundles import PlannedEntry, patient_reference
from service.app.ingest_outcomes import EntryOutcome
from service.app.store_records import CurrentVersion, NewVersion, StoredResource
from service.domain.facts import Fact


class EntryRow:
    """A planned entry as the write uses it."""

    __slots__ = ("entry", "facts", "key", "patient", "reference")

    def __init__(self, entry: PlannedEntry) -> None:
        resource = entry.resource
        self.entry = entry
        self.key: tuple[str, str] = (resource["resourceType"], resource["id"])
        self.reference = f"{self.key[0]}/{self.key[1]}"
        self.patient = patient_reference(resource)
        self.facts: Sequence[Fact] = ()

    def new_version(self) -> NewVersion:
        return NewVersion(self.entry.resource, self.entry.posted_hash, self.patient, self.facts)


def facts_by_patient(stored: list[EntryRow], by_source: dict[str, list[Fact]]) -> dict[str, list[Fact]]:
    """Each row's facts (kept on the row for its new version), and all of them by patient."""
    found: dict[str, list[Fact]] = {}
    for row in stored:
        row.facts = by_source.get(row.reference, ())
        for fact in row.facts:
            found.setdefault(fact.patient, []).append(fact)
    return found


def kept_outcome(
    row: EntryRow, matched: dict[int, StoredResource], current: dict[tuple[str, str], CurrentVersion]
) -> EntryOutcome | None:
    """A 200 when nothing new is stored: a matched create, the same content as the current version, or
    the same ``meta.versionId`` the sender gave it before; None when the entry is to be stored."""
    entry = row.entry
    if entry.index in matched:
        return EntryOutcome.of(entry.index, 200, matched[entry.index], row.reference)
    now = current.get(row.key)
    if now is None:
        return None
    sender_version = entry.resource.get("meta", {}).get("versionId")
    same_version = sender_version is not None and now.sender_version_id == sender_version
    if now.posted_hash == entry.posted_hash or same_version:
        return EntryOutcome.of(entry.index, 200, now, row.reference)
    return None
