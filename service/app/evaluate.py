"""The evaluate use case: a patient's facts (stored, plus any posted with the request) → an Assessment.

It reads like the flow in ARCHITECTURE.md: facts → timeline → domain evaluation. Rendering the Assessment
as FHIR happens at the edge (``service/adapters/fhir_out``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from service.adapters.store.fact_codec import decode
from service.app.ports import Store
from service.domain.assess import LineOfTherapy, Policy, assess
from service.domain.assessment import Assessment, Criteria
from service.domain.facts import FACT_CLASSES, Fact
from service.domain.timeline import PatientFacts, current_therapy
from service.knowledge import Knowledge


@dataclass(frozen=True, slots=True)
class EvaluationRequest:
    patient: str
    posted: tuple[Fact, ...] = ()
    as_of: dt.date | None = None
    criteria: Criteria | None = None


@dataclass(frozen=True)
class Evaluate:
    store: Store
    knowledge: Knowledge

    @cached_property
    def policy(self) -> Policy:
        k = self.knowledge
        return Policy(k.response.thresholds(), k.resistance.to_domain(), k.version)

    async def __call__(self, request: EvaluationRequest) -> Assessment:
        """Raises ``NotAssessableError`` when there is no follow-up imaging to assess."""
        stored = await self.stored_facts(request.patient)
        facts = merge(stored, request.posted)
        as_of = request.as_of or facts.latest_date or dt.date.today()
        facts = facts.up_to(as_of)
        line = self.line_of(facts)
        return assess(request.patient, facts, as_of, line, self.policy, criteria=request.criteria)

    async def stored_facts(self, patient: str) -> list[Fact]:
        async with self.store.reading() as reader:
            rows = await reader.patient_facts(patient)
        return [decode(row.payload, FACT_CLASSES) for row in rows]

    def line_of(self, facts: PatientFacts) -> LineOfTherapy:
        therapy = current_therapy(facts.therapies)
        drug_class = self.knowledge.drugs.drug_class(therapy.drug_class) if therapy else None
        criteria = Criteria(drug_class.criteria) if drug_class else Criteria.RECIST_1_1
        return LineOfTherapy(therapy, criteria, bool(drug_class and drug_class.targeted))


def merge(stored: Iterable[Fact], posted: Iterable[Fact]) -> PatientFacts:
    """Posted facts replace stored facts read from the same resource (a newer version of it)."""
    posted = list(posted)
    replaced = {fact.source for fact in posted}
    return PatientFacts.of([*(f for f in stored if f.source not in replaced), *posted])
