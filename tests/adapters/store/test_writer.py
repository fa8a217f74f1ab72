"""The writes of a transaction (issue 17): a resource's identifiers and current facts always belong to its
current version, whether it is new, updated, written twice in one batch or retired (``write_versions`` relies
on it to skip the unindexing and fact retiring of resources that had no current version); the subscriptions a
transaction matches include those it wrote itself. On SQLite and the real PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from service.adapters.store import SqlStore
from service.adapters.store.evaluation_jobs import EvaluatedWith
from service.adapters.store.fact_reads import FactReads
from service.adapters.store.owed import Owed
from service.adapters.store.repository import Reader
from service.adapters.store.stored_facts import SqlStoredFacts
from service.adapters.store.writer import NewVersion, Writer
from service.app.store_records import SubscriptionRow
from service.domain.facts import PerformanceScale, PerformanceStatus

PATIENT = "Patient/w1"
SYSTEM = "urn:test:ids"


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SqlStore]:
    built = SqlStore(database_url)
    await built.migrate()
    yield built
    await built.close()


def _version(identifier: str, score: int) -> NewVersion:
    content = {
        "resourceType": "Observation",
        "id": "ecog",
        "identifier": [{"system": SYSTEM, "value": identifier}],
        "subject": {"reference": PATIENT},
    }
    fact = PerformanceStatus(
        patient=PATIENT,
        source="Observation/ecog",
        scale=PerformanceScale.ECOG,
        score=score,
        observed_on=date(2026, 1, score),
        observed_at=None,
    )
    return NewVersion(content, f"hash-{identifier}-{score}", PATIENT, [fact])


async def _write(store: SqlStore, *versions: NewVersion) -> None:
    submission, now = str(uuid.uuid4()), datetime.now(UTC)
    async with store.writing({PATIENT}) as writer:
        await writer.add_submission(submission, now, "bundle", "collection", "4.0", b"{}")
        await writer.write_versions(list(versions), submission, now)


async def _state(store: SqlStore) -> tuple[list[int], list[str], list[int]]:
    """The versions (newest first), the identifiers that find the resource, the current facts' scores."""
    async with store.reading() as reader:
        versions = [v.version_id for v in await reader.versions("Observation", "ecog")]
        found = [v for v in "ab" if await reader.by_identifier("Observation", SYSTEM, v) is not None]
        scores = [f.payload["score"] for f in await reader.patient_facts(PATIENT)]
    return versions, found, scores


async def test_a_new_version_moves_the_identifiers_and_the_current_facts(store: SqlStore) -> None:
    await _write(store, _version("a", 1))
    assert await _state(store) == ([1], ["a"], [1])
    await _write(store, _version("b", 2))
    assert await _state(store) == ([2, 1], ["b"], [2])


async def test_a_resource_twice_in_one_batch_keeps_the_later_versions_identifiers_and_facts(
    store: SqlStore,
) -> None:
    await _write(store, _version("a", 1), _version("b", 2))
    assert await _state(store) == ([2, 1], ["b"], [2])


async def test_a_retired_resource_keeps_no_identifier_and_no_current_fact(store: SqlStore) -> None:
    """Its versions stay as history; nothing current is left to find it or to evaluate."""
    await _write(store, _version("a", 1))
    async with store.writing(set()) as writer:
        await writer.retire("Observation", "ecog")
    assert await _state(store) == ([1], [], [])
    async with store.reading() as reader:
        assert await reader.current("Observation", "ecog") is None


def _subscription(sub_id: str, patient: str | None) -> SubscriptionRow:
    return SubscriptionRow(
        sub_id, "response-assessment", patient, "http://a.test/hook", "id-only", "application/fhir+json",
        (), None, None, None, "4.0", "active", 0, None, datetime.now(UTC),
    )  # fmt: skip


async def test_a_transaction_matches_the_subscriptions_it_has_written_itself(store: SqlStore) -> None:
    """The report writer's transaction reads which topics have a live subscription once, until it writes
    a subscription: one created, filtered to another patient or turned off in the same transaction counts."""
    async with store.writing({PATIENT}) as writer:
        enqueue = writer.enqueue
        assert await enqueue.matching("response-assessment", PATIENT) == []
        await enqueue.put_subscription(_subscription("s1", None))
        await enqueue.put_subscription(_subscription("s2", "Patient/other"))
        await enqueue.put_subscription(_subscription("s3", PATIENT))
        assert [s.id for s in await enqueue.matching("response-assessment", PATIENT)] == ["s1", "s3"]
        assert await writer.enqueue.add_event("s1", "DiagnosticReport/r", [PATIENT], datetime.now(UTC)) == 1
        (s1, _) = await enqueue.matching("response-assessment", PATIENT)
        assert s1.events_since_start == 1
        await enqueue.set_status("s3", "off")
        assert [s.id for s in await enqueue.matching("response-assessment", PATIENT)] == ["s1"]
        assert await enqueue.matching("care-plan-suggestion", PATIENT) == []


async def test_the_first_read_answers_for_the_locked_patients_until_the_transaction_writes_it(
    store: SqlStore,
) -> None:
    """The transaction's first read of current versions also answers (on PostgreSQL, in the same round
    trip) the live topics, the pending requests and the history marks of its patients; each answer follows
    what the transaction writes itself afterwards, and a patient it does not lock is asked as before."""
    now, grace = datetime.now(UTC), timedelta(seconds=30)
    async with store.writing({"Patient/a"}) as writer:
        await writer.evaluation_jobs.request({"Patient/a"}, now, grace)
        await writer.mark_history_fetched("Patient/a", 3, now)
        await writer.enqueue.put_subscription(_subscription("s1", None))
    async with store.writing({"Patient/a", "Patient/b"}) as writer:
        await writer.current_versions([("Observation", "ecog")])
        jobs = writer.evaluation_jobs
        assert await jobs.generations({"Patient/a", "Patient/b"}) == {"Patient/a": 1}
        assert [await writer.history_fetched(p) for p in ("Patient/a", "Patient/b")] == [True, False]
        assert [s.id for s in await writer.enqueue.matching("response-assessment", "Patient/b")] == ["s1"]
        await jobs.request({"Patient/a", "Patient/b"}, now, grace)
        assert await jobs.generations({"Patient/a", "Patient/b"}) == {"Patient/a": 2, "Patient/b": 1}
        await writer.mark_history_fetched("Patient/b", 1, now)
        assert await writer.history_fetched("Patient/b")
        assert await jobs.generations({"Patient/c"}) == {}
        await jobs.complete("Patient/a", 2)
        assert await jobs.generations({"Patient/a", "Patient/b"}) == {"Patient/b": 1}
        await writer.enqueue.set_status("s1", "off")
        assert await writer.enqueue.matching("response-assessment", "Patient/b") == []


async def test_a_submission_with_no_version_is_stored_at_the_commit(store: SqlStore) -> None:
    """On PostgreSQL a submission waits for the transaction's next write of versions; with none, the commit
    stores it all the same."""
    async with store.writing(set()) as writer:
        await writer.add_submission("alone", datetime.now(UTC), "bundle", "batch", "4.0", b"{}")
    async with store.reading() as reader:
        assert await reader.submission_count() == 1


def _ecog(resource_id: str, score: int, patient: str = PATIENT) -> NewVersion:
    content = {"resourceType": "Observation", "id": resource_id, "subject": {"reference": patient}}
    fact = PerformanceStatus(
        patient=patient,
        source=f"Observation/{resource_id}",
        scale=PerformanceScale.ECOG,
        score=score,
        observed_on=date(2026, 1, score),
        observed_at=None,
    )
    return NewVersion(content, f"hash-{resource_id}-{score}", patient, [fact])


async def test_the_facts_of_the_first_read_are_what_the_query_reads_after_the_transactions_writes(
    store: SqlStore,
) -> None:
    """The current facts of the locked patients, as the first read found them (PostgreSQL), answer a later
    read in the transaction exactly as the query would then: without the sources it rewrote or retired;
    a read it cannot answer (a patient not locked, facts written of a source not skipped) is a query."""
    now = datetime.now(UTC)
    async with store.writing({PATIENT, "Patient/w2"}) as writer:
        await writer.add_submission("s0", now, "bundle", "collection", "4.0", b"{}")
        versions = [_ecog("e1", 1), _ecog("e2", 2), _ecog("e3", 3), _ecog("o1", 4, "Patient/w2")]
        await writer.write_versions(versions, "s0", now)
    facts, reads = SqlStoredFacts(store), FactReads(store)

    async def agree(writer: Writer, patients: list[str], skip: set[str], prefetched: bool) -> None:
        expected = await reads.facts_of(patients, skip, writer.conn)
        assert await facts.of_patients(patients, writer, skip) == expected
        answered = writer.facts_as_read(patients, skip) is not None
        assert answered is (prefetched and store.backend != "sqlite")

    async with store.writing({PATIENT}) as writer:
        await writer.current_versions([("Observation", "e1")])  # the first read
        await agree(writer, [PATIENT], set(), prefetched=True)
        await writer.add_submission("s1", now, "bundle", "collection", "4.0", b"{}")
        await writer.write_versions([_ecog("e1", 5)], "s1", now)
        await agree(writer, [PATIENT], {"Observation/e1"}, prefetched=True)
        await agree(writer, [PATIENT], set(), prefetched=False)
        await writer.retire("Observation", "e2")
        await agree(writer, [PATIENT], {"Observation/e1"}, prefetched=True)
        factless = _ecog("e3", 3)
        await writer.write_versions([NewVersion(factless.content, "hash-e3-none", PATIENT, [])], "s1", now)
        await agree(writer, [PATIENT], {"Observation/e1"}, prefetched=True)
        await agree(writer, [PATIENT, "Patient/w2"], {"Observation/e1"}, prefetched=False)
        await agree(writer, [], {"Observation/e1"}, prefetched=True)


async def test_the_current_versions_read_after_a_batch_are_what_the_query_reads_after_it(
    store: SqlStore,
) -> None:
    """On PostgreSQL a batch of versions waits for the transaction's next statement, and a read of current
    versions rides in the batch's own statement (owed.py), whose snapshot is taken before the batch: the
    answer must be what the query reads once the batch is in (new, updated, twice-written, untouched and
    absent resources alike)."""
    now = datetime.now(UTC)
    async with store.writing({PATIENT}) as writer:
        await writer.add_submission("s0", now, "bundle", "collection", "4.0", b"{}")
        await writer.write_versions([_ecog("e1", 1), _ecog("e2", 2), _ecog("e3", 3)], "s0", now)
    keys = [("Observation", k) for k in ("e1", "e2", "e3", "n1", "absent")]
    async with store.writing({PATIENT}) as writer:
        await writer.current_versions(keys)  # the first read
        await writer.add_submission("s1", now, "bundle", "collection", "4.0", b"{}")
        batch = [_ecog("e1", 4), _ecog("e2", 5), _ecog("e2", 6), _ecog("n1", 7)]
        await writer.write_versions(batch, "s1", now)
        owed = writer.conn
        assert (isinstance(owed, Owed) and owed.batch is not None) is (store.backend != "sqlite")
        ridden = await writer.current_versions(keys)
        assert not isinstance(owed, Owed) or owed.batch is None
        assert ridden == await Reader(writer.conn).current_versions(keys)
        assert {k[1]: v.version_id for k, v in ridden.items()} == {"e1": 2, "e2": 3, "e3": 1, "n1": 1}
        if isinstance(owed, Owed):  # one row a resource: none of the versions the batch retires
            await writer.write_versions([_ecog("e1", 8)], "s1", now)
            rows = await owed.settle((["Observation"] * 2, ["e1", "n1"]))
            assert sorted((r[2], r[3]) for r in rows or ()) == [("e1", 3), ("n1", 1)]


async def test_report_versions_go_in_with_the_next_batch_or_at_the_commit(store: SqlStore) -> None:
    """Recorded versions wait for the transaction's next batch of versions on PostgreSQL (the last one of a
    patient wins, as when each was written at once), or are written at the commit when none follows."""
    now = datetime.now(UTC)
    first, second = (EvaluatedWith(PATIENT, k, "r1", "report") for k in ("k1", "k2"))
    other = EvaluatedWith("Patient/w2", "k1", "r1", "not-assessable")
    async with store.writing({PATIENT, "Patient/w2"}) as writer:
        known = await writer.current_versions([("Observation", "e1")])  # the first read, before them
        await writer.evaluation_jobs.record_versions([first, other], now)
        await writer.evaluation_jobs.record_versions([second], now)
        await writer.add_submission("s0", now, "bundle", "collection", "4.0", b"{}")
        await writer.write_versions([_ecog("e1", 1)], "s0", now, known)
    async with store.writing({"Patient/w3"}) as writer:
        await writer.evaluation_jobs.record_versions([EvaluatedWith("Patient/w3", "k3", "r1", "report")], now)
    async with store.reading() as reader:
        jobs = reader.evaluation_jobs
        assert [await jobs.evaluated_with(p) for p in (PATIENT, "Patient/w2", "Patient/w3")] == [
            second,
            other,
            EvaluatedWith("Patient/w3", "k3", "r1", "report"),
        ]
        assert [v.version_id for v in (await reader.current_versions([("Observation", "e1")])).values()] == [
            1
        ]


async def test_a_failed_batch_fails_every_later_statement_with_its_own_error(store: SqlStore) -> None:
    """A batch sent with a later statement (PostgreSQL) and refused raises its own error there and at every
    statement after it, so a caller that catches the first cannot turn it into another error. SQLite writes
    each batch at once: the write itself raises, and nothing after it runs."""
    now = datetime.now(UTC)
    await _write(store, _version("a", 1))
    errors = []

    async def caught() -> None:  # the commit's flush raises it once more
        async with store.writing({PATIENT}) as writer:
            await writer.add_submission("s1", now, "bundle", "collection", "4.0", b"{}")
            await writer.write_versions([_version("b", 2)], "s1", now, known={})  # version 1 again: refused
            for _ in range(2):
                try:
                    await writer.evaluation_jobs.generations({"Patient/other"})
                except IntegrityError as exc:
                    errors.append(exc)

    with pytest.raises(IntegrityError):
        await caught()
    if store.backend == "sqlite":
        assert errors == []
    else:
        assert len(errors) == 2 and errors[0] is errors[1]


async def test_a_batch_sent_ahead_is_in_before_the_next_statement_and_in_the_commit(store: SqlStore) -> None:
    """``send_ahead`` (the pipeline's, before it evaluates): the next statement reads what the batch wrote,
    and the batch lands with the commit (on SQLite each write is made when asked: nothing to send)."""
    now = datetime.now(UTC)
    keys = [("Observation", k) for k in ("e1", "e2")]
    async with store.writing({PATIENT}) as writer:
        await writer.current_versions(keys)  # the first read
        await writer.add_submission("s0", now, "bundle", "collection", "4.0", b"{}")
        await writer.write_versions([_ecog("e1", 1), _ecog("e2", 2)], "s0", now)
        await writer.send_ahead()
        owed = writer.conn
        assert not isinstance(owed, Owed) or (owed.batch is None and owed._ahead is not None)
        read = await writer.current_versions(keys)
        assert {k[1]: v.version_id for k, v in read.items()} == {"e1": 1, "e2": 1}
    async with store.reading() as reader:
        assert len(await reader.current_versions(keys)) == 2


async def test_a_failed_batch_sent_ahead_fails_the_next_statement_and_rolls_back(store: SqlStore) -> None:
    """A batch sent ahead and refused raises its own error at the next statement; and a transaction left by
    an error of its caller while the batch is still running waits for it, then rolls back, leaving the
    connection usable."""
    now = datetime.now(UTC)
    await _write(store, _version("a", 1))

    async def refused() -> None:
        async with store.writing({PATIENT}) as writer:
            await writer.add_submission("s1", now, "bundle", "collection", "4.0", b"{}")
            await writer.write_versions([_version("b", 2)], "s1", now, known={})  # version 1 again: refused
            await writer.send_ahead()
            await writer.evaluation_jobs.generations({"Patient/other"})

    async def left_by_an_error() -> None:
        async with store.writing({PATIENT}) as writer:
            await writer.add_submission("s2", now, "bundle", "collection", "4.0", b"{}")
            await writer.write_versions([_version("c", 2)], "s2", now)
            await writer.send_ahead()
            raise ZeroDivisionError  # the evaluation's own error, the batch possibly still running

    with pytest.raises(IntegrityError):
        await refused()
    with pytest.raises(ZeroDivisionError):
        await left_by_an_error()
    assert (await _state(store))[0] == [1]  # neither transaction landed
    await _write(store, _version("d", 2))
    assert (await _state(store))[0] == [2, 1]
