"""Inbound FHIR resources → internal facts plus issues (FHIR-CONTRACT.md section 3; issue 3, "Normalisation").

Reads plain dicts (the hot path: no fhir.resources here). Each resource kind has its own module; resources the
service does not read (Patient, Encounter, ...) give neither facts nor issues. Issues carry FHIRPaths from the
Bundle root; any ``error`` makes the caller answer 422 (or fail that entry in a batch).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from service.adapters.fhir_in.conditions import read_condition
from service.adapters.fhir_in.context import Context
from service.adapters.fhir_in.elements import Issues, Node
from service.adapters.fhir_in.imaging import ImagingReports
from service.adapters.fhir_in.observations import read_observation
from service.adapters.fhir_in.plain_conditions import read_plain_condition
from service.adapters.fhir_in.plain_therapy import read_plain_therapy
from service.adapters.fhir_in.references import Entry, References
from service.adapters.fhir_in.sequences import read_sequence
from service.adapters.fhir_in.therapy import read_therapy
from service.adapters.fhir_in.versions import FhirVersion
from service.domain.facts import Fact
from service.errors import Issue
from service.knowledge import Knowledge
from service.knowledge.vocabularies import ObservationCodes, ResolvedLocalCodes

Reader = Callable[[Node, Context], Sequence[Fact]]


def _therapy(node: Node, ctx: Context) -> Sequence[Fact]:
    plain = read_plain_therapy(node.data, ctx)  # the fast path, for a well-formed resource
    return [plain] if plain is not None else read_therapy(node, ctx)


def _condition(node: Node, ctx: Context) -> Sequence[Fact]:
    plain = read_plain_condition(node.data, ctx)  # the fast path, for a well-formed resource
    return [plain] if plain is not None else read_condition(node, ctx)


_READERS: dict[str, Reader] = {
    "Observation": read_observation,
    "MedicationRequest": _therapy,
    "MedicationStatement": _therapy,
    "MedicationAdministration": _therapy,
    "Condition": _condition,
    "MolecularSequence": read_sequence,
}


@dataclass(slots=True)
class Normalised:
    facts: list[Fact] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    patients: set[str] = field(default_factory=set)

    @property
    def has_errors(self) -> bool:
        return any(issue.severity == "error" for issue in self.issues)


def normalise(
    entries: Sequence[Entry],
    knowledge: Knowledge,
    canonical_base: str,
    version: FhirVersion,
    *,
    today: date | None = None,
) -> Normalised:
    """Read every entry; ``today`` (default: the UTC date now) bounds dates, so tests can fix it."""
    references = References(entries)
    local = _local_codes(knowledge, canonical_base)
    ctx = Context(
        knowledge=knowledge,
        local=local,
        references=references,
        version=version,
        today=today or datetime.now(UTC).date(),
        imaging_reports=ImagingReports(entries, local, references),
    )
    issues = Issues()
    result = Normalised()
    for entry in entries:
        result.facts.extend(_read(entry, ctx, issues))
    result.issues = list(dict.fromkeys(issues.items))  # a shared resource read twice reports once
    result.patients = {fact.patient for fact in result.facts}
    return result


# observation-codes.yaml resolved for a canonical base, kept for the next call (issue 19: it is the same for
# every Bundle); each entry holds the codes it was resolved from, so their id names them while it is kept.
_RESOLVED: dict[tuple[int, str], tuple[ObservationCodes, ResolvedLocalCodes]] = {}


def _local_codes(knowledge: Knowledge, canonical_base: str) -> ResolvedLocalCodes:
    codes = knowledge.observation_codes
    key = (id(codes), canonical_base)
    held = _RESOLVED.get(key)
    if held is None or held[0] is not codes:
        if len(_RESOLVED) >= 8:  # a few knowledge sets (tests load several); never grows without bound
            _RESOLVED.clear()
        held = _RESOLVED[key] = (codes, codes.resolved(canonical_base))
    return held[1]


def _read(entry: Entry, ctx: Context, issues: Issues) -> Sequence[Fact]:
    resource = entry.resource
    if not isinstance(resource, dict):
        issues.error(entry.path, "an entry's resource must be a JSON object", "structure")
        return []
    reader = _READERS.get(str(resource.get("resourceType")))
    return reader(Node(resource, _path(entry.index), issues), ctx) if reader else []


# Entry.path of the first entries, spelled out once for every Bundle (issue 19: ~0.1 us an entry).
_PATHS = tuple(f"Bundle.entry[{i}].resource" for i in range(1024))


def _path(index: int) -> str:
    return _PATHS[index] if 0 <= index < len(_PATHS) else f"Bundle.entry[{index}].resource"


def entries_of(body: dict[str, object]) -> list[Entry]:
    """A Bundle's entries, or a single resource as the one entry (index 0)."""
    if body.get("resourceType") != "Bundle":
        return [Entry(0, None, body)]
    raw = body.get("entry")
    return [
        Entry(i, e.get("fullUrl") if isinstance(e.get("fullUrl"), str) else None, e["resource"])
        for i, e in enumerate(raw if isinstance(raw, list) else [])
        if isinstance(e, dict) and isinstance(e.get("resource"), dict)
    ]
