"""The evaluate use case: a patient's facts (stored, plus any posted with the request) → an Assessment.

It reads like the flow in ARCHITECTURE.md: facts → timeline → domain evaluation. Rendering the Assessment
as FHIR happens at the edge (``service/adapters/fhir_out``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Collection, Iterable, Set
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from service.adapters.fhir_in.bundles import plan_bundle
from service.adapters.fhir_in.evaluate_params import EvaluateParams
from service.adapters.fhir_in.full_urls import rewrite_references
from service.adapters.fhir_in.normalise import normalise
from service.adapters.fhir_in.references import Entry
from service.adapters.fhir_in.versions import FhirVersion
from service.app.ingest import Endpoint, IngestResult
from service.app.ports import StoredFacts
from service.domain.assess import Policy, assess
from service.domain.assessment import Assessment, Criteria
from service.domain.facts import Fact
from service.domain.readings import ReadingThresholds
from service.domain.timeline import PatientFacts
from service.errors import BadRequest, Unprocessable
from service.knowledge import Knowledge

if TYPE_CHECKING:
    from service.app.ports import Reader


Accept = Callable[[dict[str, Any], bytes, Endpoint, FhirVersion], Awaitable[IngestResult]]


@dataclass(frozen=True, slots=True)
class EvaluationRequest:
    patient: str
    posted: tuple[Fact, ...] = ()
    as_of: dt.date | None = None
    criteria: Criteria | None = None
    stored: tuple[Fact, ...] | None = None  # the stored facts, read by the caller with others' (issue 17)


@dataclass(frozen=True)
class Evaluate:
    facts: StoredFacts
    knowledge: Knowledge

    @cached_property
    def policy(self) -> Policy:
        k = self.knowledge
        readings = ReadingThresholds(
            k.markers.cea.to_domain(),
            k.markers.ctdna.to_domain(),
            k.markers.performance_status.to_domain(),
            k.patterns.to_domain(),
        )
        return Policy(k.response.thresholds(), readings, k.resistance.to_domain(), k.version, k.drugs.roles)

    async def __call__(self, request: EvaluationRequest, reader: Reader | None = None) -> Assessment:
        """Raises ``NotAssessableError`` when there is no follow-up imaging to assess. ``reader``: read the
        stored facts in the caller's transaction (issue 17: the ingest's, which sees what it just wrote)."""
        stored: Iterable[Fact] | None = request.stored
        if stored is None:
            replaced = {fact.source for fact in request.posted}
            stored = await self.stored_facts(request.patient, reader, replaced)
        facts = merge(stored, request.posted)
        latest = facts.latest_date
        as_of = request.as_of or latest or dt.date.today()
        if latest is not None and latest > as_of:  # else every fact is kept: no copy (issue 19)
            facts = facts.up_to(as_of)
        return assess(request.patient, facts, as_of, self.policy, criteria=request.criteria)

    async def stored_facts(
        self, patient: str, reader: Reader | None = None, replaced: Set[str] = frozenset()
    ) -> list[Fact]:
        """``replaced``: sources whose stored facts the caller holds already (the facts the ingest just wrote
        and hands over in memory), which the store need not read again; ``merge`` drops any it returns."""
        return await self.facts(patient, reader, replaced)

    async def stored_facts_of(
        self, patients: Collection[str], reader: Reader | None = None, replaced: Set[str] = frozenset()
    ) -> dict[str, list[Fact]]:
        """Several patients' stored facts in one read (issue 17: a Bundle's, or a worker's batch), for their
        requests' ``stored``; ``replaced`` as above, for all of them."""
        return await self.facts.of_patients(patients, reader, replaced)


def merge(stored: Iterable[Fact], posted: Iterable[Fact]) -> PatientFacts:
    """Posted facts replace stored facts read from the same resource (a newer version of it)."""
    posted = list(posted)
    replaced = {fact.source for fact in posted}
    return PatientFacts.of([*(f for f in stored if f.source not in replaced), *posted])


@dataclass(frozen=True)
class EvaluateOperation:
    """``$evaluate``: the posted Bundle's facts plus what is stored. With ``persist`` the Bundle is first
    accepted as a post is (``accept``: the pipeline, which stores its data and its report in one commit)."""

    evaluate: Evaluate
    accept: Accept
    canonical_base: str

    async def __call__(
        self, params: EvaluateParams, raw: bytes, version: FhirVersion, compact: bytes | None = None
    ) -> Assessment:
        """``compact``: orjson's compact serialisation of the body the parameters were read from, when the
        caller has it (the JSON guard's): it holds the Bundle's entries as they are (nothing changes the
        posted body in place), so planning them need not serialise them again (issue 19)."""
        posted: list[Fact] = []
        patients: set[str] = set()
        if params.bundle is not None:
            if params.persist:
                endpoint = (
                    Endpoint.ROOT
                    if params.bundle.get("type") in ("transaction", "batch")
                    else Endpoint.BUNDLE
                )
                await self.accept(params.bundle, raw, endpoint, version)
            posted, patients = self._read(params.bundle, version, compact)
        patient = params.patient or _only_patient(patients)
        criteria = Criteria(params.criteria) if params.criteria else None
        # ``patients`` are those of the posted facts: all are the patient's when it is the only one
        mine = posted if patients == {patient} else [f for f in posted if f.patient == patient]
        request = EvaluationRequest(patient, tuple(mine), params.as_of, criteria)
        return await self.evaluate(request)

    def _read(
        self, bundle: dict[str, Any], version: FhirVersion, compact: bytes | None = None
    ) -> tuple[list[Fact], set[str]]:
        transactional = bundle.get("type") in ("transaction", "batch")
        # no hashes (they are for storing); the entries' text from the body's, when given
        planned, problems = plan_bundle(bundle, transactional, hashed=False, posted_text=compact)
        if problems:
            raise BadRequest(
                "The Bundle has entries the service cannot read", issues=[p.issue for p in problems]
            )
        rewrite_references(planned)
        entries = [Entry(p.index, p.full_url, p.resource) for p in planned]
        result = normalise(entries, self.evaluate.knowledge, self.canonical_base, version)
        errors = [i for i in result.issues if i.severity == "error"]
        if errors:
            raise Unprocessable("The Bundle has values the service cannot use", issues=errors)
        return result.facts, result.patients


def _only_patient(patients: set[str]) -> str:
    if len(patients) != 1:
        found = ", ".join(sorted(patients)) or "none"
        raise BadRequest(
            f"Name the patient to evaluate: the Bundle holds {found}", expression="Parameters.parameter"
        )
    return next(iter(patients))
