"""The evaluate use case and ``$evaluate`` on the in-memory fakes (``fake_store.py``), without a database:
which facts an evaluation reads (stored, posted, those of the caller's transaction), and what ``persist``
hands to the pipeline. The facts are the real normaliser's, read from the shared T790M example."""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

import orjson
import pytest

from service.adapters.fhir_in.evaluate_params import EvaluateParams
from service.adapters.fhir_in.facts_bridge import FhirNormaliser
from service.adapters.fhir_in.versions import FhirVersion
from service.app.evaluate import Evaluate, EvaluateOperation, EvaluationRequest, merge
from service.app.ingest import Endpoint, Ingest, IngestResult
from service.domain.assess import NotAssessableError, assess
from service.domain.assessment import Assessment
from service.domain.timeline import _day
from service.errors import BadRequest
from service.knowledge import load_knowledge
from tests.app.fake_store import FakeStore, FakeStoredFacts
from tests.conftest import REPO, SHARED, corrected

KNOWLEDGE = load_knowledge(REPO / "mappings")
CANON = "http://oncoresponse.org/fhir"
T790M = SHARED / "examples" / "seed-t790m-progression.json"
PATIENT = "Patient/p-e2"


def example() -> dict[str, Any]:
    bundle: dict[str, Any] = orjson.loads(T790M.read_bytes())
    return bundle


def ingest(store: FakeStore) -> Ingest:
    return Ingest(store, FhirNormaliser(KNOWLEDGE, CANON))


async def store_example(store: FakeStore, bundle: dict[str, Any]) -> None:
    result = await ingest(store)(bundle, orjson.dumps(bundle), Endpoint.BUNDLE, FhirVersion.R4)
    assert result.patients == {PATIENT}


def operation(store: FakeStore, accepted: list[Endpoint] | None = None) -> EvaluateOperation:
    async def accept(bundle: dict[str, Any], raw: bytes, endpoint: Endpoint, _: FhirVersion) -> IngestResult:
        if accepted is None:
            raise AssertionError("nothing is stored without persist")
        accepted.append(endpoint)
        return IngestResult(bundle["type"], None, [], set())

    return EvaluateOperation(Evaluate(FakeStoredFacts(store), KNOWLEDGE), accept, CANON)


def last_sum(assessment: Assessment) -> Any:
    return assessment.sums[-1].sum_mm


async def test_stored_data_evaluates_as_the_same_bundle_posted() -> None:
    """The stored facts of a patient give the assessment that ``$evaluate`` gives for the Bundle posted to
    an empty store: the store hands back the facts the normaliser read."""
    store = FakeStore()
    await store_example(store, example())
    from_store = await Evaluate(FakeStoredFacts(store), KNOWLEDGE)(EvaluationRequest(PATIENT))
    posted = await operation(FakeStore())(EvaluateParams(bundle=example()), b"", FhirVersion.R4)
    assert from_store == posted
    assert (from_store.response_category, len(from_store.sums)) == ("PD", 4)


async def test_posted_facts_replace_the_stored_facts_of_the_same_resource() -> None:
    """``$evaluate`` of a corrected time point over the stored original: the corrected size counts once, the
    stored one of the same Observation not at all."""
    store = FakeStore()
    await store_example(store, example())
    stored_only = await Evaluate(FakeStoredFacts(store), KNOWLEDGE)(EvaluationRequest(PATIENT))
    posted = await operation(store)(EvaluateParams(bundle=corrected(example())), b"", FhirVersion.R4)
    assert last_sum(posted) == last_sum(stored_only) + 1
    assert len(posted.sums) == len(stored_only.sums)


async def test_a_posted_date_correction_replaces_the_stored_dates_of_the_same_resources() -> None:
    """The latest scan's resources posted again dated two weeks earlier: the stored facts of those resources,
    with the later date, are dropped, so the assessment is as of the corrected date."""
    store = FakeStore()
    await store_example(store, example())
    stored_only = await Evaluate(FakeStoredFacts(store), KNOWLEDGE)(EvaluationRequest(PATIENT))
    moved = orjson.loads(orjson.dumps(example()).replace(b"2026-09-02", b"2026-08-20"))
    posted = await operation(store)(EvaluateParams(bundle=moved), b"", FhirVersion.R4)
    assert (stored_only.as_of, posted.as_of) == (dt.date(2026, 9, 2), dt.date(2026, 8, 20))
    assert [p.date for p in posted.sums][-1] == dt.date(2026, 8, 20)


async def test_an_evaluation_in_a_transaction_sees_what_it_wrote_before_the_commit() -> None:
    """Named ``reader``, the evaluation reads in that transaction (the ingest's); the committed state, which
    a reader outside sees, has nothing of the patient yet."""
    store = FakeStore()
    evaluate = Evaluate(FakeStoredFacts(store), KNOWLEDGE)
    bundle = example()

    async def in_transaction(writer: Any, patients: set[str], _facts: Any) -> None:
        seen.append((await evaluate(EvaluationRequest(PATIENT), writer)).response_category)
        with pytest.raises(NotAssessableError):
            await evaluate(EvaluationRequest(PATIENT))

    seen: list[str] = []
    await ingest(store)(
        bundle, orjson.dumps(bundle), Endpoint.BUNDLE, FhirVersion.R4, after_write=in_transaction
    )
    assert seen == ["PD"] and (await evaluate(EvaluationRequest(PATIENT))).response_category == "PD"


async def test_the_facts_of_a_posted_resource_are_not_read_back_from_the_store() -> None:
    """Issue 17: the posted facts' sources are passed to the store as known, so their stored rows are not
    read and decoded only for ``merge`` to drop them."""
    store = FakeStore()
    await store_example(store, example())
    facts = FakeStoredFacts(store)
    posted = tuple((await Evaluate(facts, KNOWLEDGE).stored_facts(PATIENT))[:3])
    facts.asked.clear()
    async with store.reading() as reader:
        await Evaluate(facts, KNOWLEDGE)(EvaluationRequest(PATIENT, posted), reader)
    assert facts.asked == [{f.source for f in posted}]


@pytest.mark.parametrize(
    ("kind", "endpoint"), [("transaction", Endpoint.ROOT), ("collection", Endpoint.BUNDLE)]
)
async def test_persist_hands_the_bundle_to_the_pipeline_at_its_endpoint(
    kind: str, endpoint: Endpoint
) -> None:
    """With ``persist`` the Bundle is accepted as a post to the endpoint its type belongs to."""
    accepted: list[Endpoint] = []
    bundle = {**example(), "type": kind}
    if kind == "transaction":
        for entry in bundle["entry"]:
            entry["request"] = {"method": "POST", "url": entry["resource"]["resourceType"]}
    params = EvaluateParams(bundle=bundle, persist=True)
    assessment = await operation(FakeStore(), accepted)(params, b"", FhirVersion.R4)
    assert accepted == [endpoint] and assessment.patient == PATIENT


async def test_a_bundle_of_two_patients_needs_the_patient_named() -> None:
    """Without the ``patient`` parameter a Bundle holding two patients is a 400 naming both; with it, the
    named patient is assessed on their own facts alone."""
    bundle = example()
    other = orjson.loads(orjson.dumps(bundle).replace(b"p-e2", b"p-other"))
    both = {**bundle, "entry": bundle["entry"] + other["entry"]}
    with pytest.raises(BadRequest, match="Patient/p-e2, Patient/p-other"):
        await operation(FakeStore())(EvaluateParams(bundle=both), b"", FhirVersion.R4)
    named = await operation(FakeStore())(EvaluateParams(bundle=both, patient=PATIENT), b"", FhirVersion.R4)
    alone = await operation(FakeStore())(EvaluateParams(bundle=bundle), b"", FhirVersion.R4)
    assert named == alone


async def test_the_facts_assessed_are_those_dated_up_to_the_assessment_date() -> None:
    """At each date of the example, before it and after it, and without one (the latest date), the
    evaluation assesses what ``up_to`` keeps of the patient's facts: later facts are cut, and where none is
    later than the date every fact is kept as it is."""
    store = FakeStore()
    await store_example(store, example())
    evaluate = Evaluate(FakeStoredFacts(store), KNOWLEDGE)
    facts = merge(await evaluate.stored_facts(PATIENT), [])
    latest = facts.latest_date
    assert latest is not None
    days = sorted({d for x in (*facts.lesions, *facts.markers) if (d := _day(x)) is not None})
    checked = 0
    for as_of in (None, days[0] - dt.timedelta(days=1), *days, latest + dt.timedelta(days=3)):
        expected: Any = NotAssessableError
        with contextlib.suppress(NotAssessableError):
            expected = assess(PATIENT, facts.up_to(as_of or latest), as_of or latest, evaluate.policy)
        try:
            answer: Any = await evaluate(EvaluationRequest(PATIENT, as_of=as_of))
        except NotAssessableError:
            answer = NotAssessableError
        assert answer == expected, as_of
        checked += answer is not NotAssessableError
    assert checked > 3
