"""The durable outbox on SQLite and the real PostgreSQL: rows land with their transaction, are claimed by
one worker at a time under a lease, and are never lost or deleted."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from service.adapters.store import SqlStore
from service.adapters.store.outbox_rows import (
    DELIVERED,
    FAILED,
    HANDSHAKE,
    NOTIFICATION,
    REJECTED,
    WRITE_BACK,
    WRITE_BACK_TARGET,
    SubscriptionRow,
)

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SqlStore]:
    s = SqlStore(database_url)
    await s.migrate()
    yield s
    await s.close()


def subscription(sub_id: str, status: str = "active", patient: str | None = None) -> SubscriptionRow:
    return SubscriptionRow(
        id=sub_id,
        topic_id="response-assessment",
        patient_ref=patient,
        endpoint="http://127.0.0.1:9/hook",
        payload="id-only",
        content_type="application/fhir+json",
        headers=(("Authorization", "Bearer x"),),
        heartbeat_seconds=None,
        timeout_seconds=None,
        max_count=None,
        fhir_version="4.0",
        status=status,
        events_since_start=0,
        last_sent_at=None,
        created_at=NOW,
    )


async def add_subscription(store: SqlStore, sub: SubscriptionRow) -> None:
    async with store.writing(set()) as writer:
        await writer.enqueue.put_subscription(sub)


async def test_events_are_numbered_per_subscription_from_one(store: SqlStore) -> None:
    """Each subscription counts its own events; the counter survives a replace of its channel."""
    await add_subscription(store, subscription("a"))
    await add_subscription(store, subscription("b"))
    async with store.writing({"Patient/p"}) as writer:
        numbers = [
            await writer.enqueue.add_event("a", f"DiagnosticReport/{n}", ["Patient/p"], NOW) for n in range(3)
        ]
        other = await writer.enqueue.add_event("b", "DiagnosticReport/0", ["Patient/p"], NOW)
    assert numbers == [1, 2, 3] and other == 1
    await add_subscription(store, subscription("a", status="error"))
    async with store.writing({"Patient/p"}) as writer:
        assert await writer.enqueue.add_event("a", "DiagnosticReport/9", [], NOW) == 4
    events = await store.outbox().events("a", 2, 3)
    assert [(e.number, e.focus, e.context) for e in events] == [
        (2, "DiagnosticReport/1", ("Patient/p",)),
        (3, "DiagnosticReport/2", ("Patient/p",)),
    ]


async def test_matching_honours_the_patient_filter_and_off(store: SqlStore) -> None:
    await add_subscription(store, subscription("all"))
    await add_subscription(store, subscription("mine", patient="Patient/p"))
    await add_subscription(store, subscription("theirs", patient="Patient/q"))
    await add_subscription(store, subscription("paused", status="off"))
    async with store.writing(set()) as writer:
        found = await writer.enqueue.matching("response-assessment", "Patient/p")
        other_topic = await writer.enqueue.matching("care-plan-suggestion", "Patient/p")
    assert [s.id for s in found] == ["all", "mine"]
    assert other_topic == []


async def test_a_rolled_back_transaction_leaves_no_outbox_row(store: SqlStore) -> None:
    """Rows are written with the report: if its transaction fails, neither exists."""

    async def store_then_fail() -> None:
        async with store.writing(set()) as writer:
            await writer.enqueue.add(WRITE_BACK, WRITE_BACK_TARGET, {"resourceType": "Bundle"}, NOW)
            raise RuntimeError("the report could not be stored")

    with pytest.raises(RuntimeError):
        await store_then_fail()
    assert await store.outbox().entries() == []


async def test_claim_leases_rows_to_one_worker_until_released(store: SqlStore) -> None:
    outbox = store.outbox()
    async with store.writing(set()) as writer:
        for n in range(3):
            await writer.enqueue.add(WRITE_BACK, WRITE_BACK_TARGET, {"n": n}, NOW)
    first = await outbox.claim("w1", NOW, LEASE, 10)
    assert [d.body for d in first] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert await outbox.claim("w2", NOW, LEASE, 10) == []  # leased to w1
    assert len(await outbox.claim("w2", NOW + LEASE + timedelta(seconds=1), LEASE, 10)) == 3  # w1 died
    await outbox.release("w2")
    assert len(await outbox.claim("w1", NOW, LEASE, 10)) == 3


async def test_a_result_is_recorded_only_by_the_lease_holder(store: SqlStore) -> None:
    outbox = store.outbox()
    async with store.writing(set()) as writer:
        await writer.enqueue.add(WRITE_BACK, WRITE_BACK_TARGET, {}, NOW)
    (row,) = await outbox.claim("w1", NOW, LEASE, 10)
    assert not await outbox.delivered(row.pk, "w2", NOW, 200)
    assert await outbox.delivered(row.pk, "w1", NOW, 200)
    (entry,) = await outbox.entries()
    assert entry.status == DELIVERED and entry.last_status == 200 and entry.delivered_at is not None


async def test_retry_backs_off_and_exhausted_rows_stay_and_can_be_replayed(store: SqlStore) -> None:
    outbox = store.outbox()
    async with store.writing(set()) as writer:
        await writer.enqueue.add(WRITE_BACK, WRITE_BACK_TARGET, {}, NOW)
    (row,) = await outbox.claim("w", NOW, LEASE, 10)
    later = NOW + timedelta(seconds=30)
    await outbox.retry(
        row.pk, "w", at=later, attempts=1, give_up=False, http_status=503, error="HTTP 503", outcome=None
    )
    assert await outbox.claim("w", NOW + timedelta(seconds=29), LEASE, 10) == []
    (row,) = await outbox.claim("w", later, LEASE, 10)
    assert row.attempts == 1
    await outbox.retry(
        row.pk, "w", at=later, attempts=2, give_up=True, http_status=503, error="HTTP 503", outcome=None
    )
    (entry,) = await outbox.entries()
    assert entry.status == FAILED and entry.attempts == 2 and entry.last_error == "HTTP 503"
    assert await outbox.claim("w", later + timedelta(days=1), LEASE, 10) == []
    assert await outbox.replay([entry.pk], later) == 1
    (again,) = await outbox.claim("w", later, LEASE, 10)
    assert again.attempts == 0


async def test_a_rejection_keeps_the_servers_operation_outcome(store: SqlStore) -> None:
    outbox = store.outbox()
    async with store.writing(set()) as writer:
        await writer.enqueue.add(WRITE_BACK, WRITE_BACK_TARGET, {}, NOW)
    (row,) = await outbox.claim("w", NOW, LEASE, 10)
    outcome = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "invalid"}]}
    await outbox.reject(row.pk, "w", 1, 400, "HTTP 400", outcome)
    (entry,) = await outbox.entries(status=REJECTED)
    assert entry.last_status == 400


async def test_subscription_rows_wait_for_the_handshake(store: SqlStore) -> None:
    """A `requested` subscription gets its handshake but no events until it is active."""
    outbox = store.outbox()
    await add_subscription(store, subscription("s", status="requested"))
    async with store.writing(set()) as writer:
        await writer.enqueue.add(HANDSHAKE, "s", {"h": 1}, NOW)
        await writer.enqueue.add(NOTIFICATION, "s", {"e": 1}, NOW, event_number=1)
    (handshake,) = await outbox.claim("w", NOW, LEASE, 10)
    assert handshake.kind == HANDSHAKE and handshake.subscription is not None
    assert handshake.subscription.headers == (("Authorization", "Bearer x"),)
    await outbox.delivered(handshake.pk, "w", NOW, 200)
    assert await outbox.claim("w", NOW, LEASE, 10) == []
    assert await outbox.set_status("s", "active", only_from=("requested",))
    (event,) = await outbox.claim("w", NOW, LEASE, 10)
    assert event.event_number == 1 and event.body == {"e": 1}


async def test_busy_targets_are_not_claimed(store: SqlStore) -> None:
    outbox = store.outbox()
    await add_subscription(store, subscription("slow"))
    await add_subscription(store, subscription("fast"))
    async with store.writing(set()) as writer:
        await writer.enqueue.add(NOTIFICATION, "slow", {}, NOW, event_number=1)
        await writer.enqueue.add(NOTIFICATION, "fast", {}, NOW, event_number=1)
    claimed = await outbox.claim("w", NOW, LEASE, 10, busy=["slow"])
    assert [d.target for d in claimed] == ["fast"]


async def test_hold_back_keeps_a_targets_later_rows_behind_a_failed_one(store: SqlStore) -> None:
    outbox = store.outbox()
    await add_subscription(store, subscription("s"))
    async with store.writing(set()) as writer:
        for n in (1, 2):
            await writer.enqueue.add(NOTIFICATION, "s", {}, NOW, event_number=n)
    await outbox.hold_back("s", NOW + timedelta(minutes=1))
    assert await outbox.claim("w", NOW, LEASE, 10) == []
    assert [d.event_number for d in await outbox.claim("w", NOW + timedelta(minutes=1), LEASE, 10)] == [1, 2]


async def test_one_heartbeat_is_queued_however_many_workers_see_it_due(store: SqlStore) -> None:
    outbox = store.outbox()
    await add_subscription(store, _with_heartbeat())
    due = await outbox.heartbeat_due(NOW + timedelta(seconds=61))
    assert [s.id for s in due] == ["s"]
    results = [await outbox.add_heartbeat(sub, {"hb": 1}, NOW + timedelta(seconds=61)) for sub in due * 2]
    assert results == [True, False]
    assert await outbox.heartbeat_due(NOW + timedelta(seconds=62)) == []


def _with_heartbeat() -> SubscriptionRow:
    return dataclasses.replace(subscription("s"), heartbeat_seconds=60)


async def test_concurrent_claims_never_share_a_target(store: SqlStore) -> None:
    """Workers claiming at once on two connections (PostgreSQL: the claim lock; SQLite: its write lock)
    split the rows by target: each target's rows go to one worker, from its first pending row on."""
    for sub_id in ("s1", "s2", "s3"):
        await add_subscription(store, subscription(sub_id))
    async with store.writing(set()) as writer:
        for n in range(1, 11):
            await writer.enqueue.add(WRITE_BACK, WRITE_BACK_TARGET, {"n": n}, NOW)
            for sub_id in ("s1", "s2", "s3"):
                await writer.enqueue.add(NOTIFICATION, sub_id, {}, NOW, event_number=n)
    others = [SqlStore(store.engine.url.render_as_string(hide_password=False)) for _ in range(3)]
    try:
        claims = await asyncio.gather(
            *(s.outbox().claim(f"w{i}", NOW, LEASE, 7) for i, s in enumerate([store, *others]))
        )
    finally:
        for other in others:
            await other.close()
    owners: dict[str, set[str]] = {}
    for worker, rows in enumerate(claims):
        for row in rows:
            owners.setdefault(row.target, set()).add(f"w{worker}")
    assert all(len(who) == 1 for who in owners.values()), owners
    for rows in claims:
        for target in {r.target for r in rows}:
            numbers = [r.event_number or r.body["n"] for r in rows if r.target == target]  # type: ignore[index]
            assert numbers == list(range(1, len(numbers) + 1))


async def test_a_held_target_is_not_claimed_by_another_worker_until_its_lease_runs_out(
    store: SqlStore,
) -> None:
    """One sender per target across replicas: while w1 holds event 1, w2 may not take event 2; once w1
    has recorded it, w2 may; a dead w1 holds the target only until its short lease runs out."""
    outbox = store.outbox()
    await add_subscription(store, subscription("s"))
    async with store.writing(set()) as writer:
        for n in (1, 2, 3):
            await writer.enqueue.add(NOTIFICATION, "s", {}, NOW, event_number=n)
    (first,) = await outbox.claim("w1", NOW, LEASE, 1)
    assert first.event_number == 1
    assert await outbox.claim("w2", NOW, LEASE, 10) == []
    await outbox.delivered(first.pk, "w1", NOW, 200)
    (second,) = await outbox.claim("w2", NOW, LEASE, 1)
    assert second.event_number == 2
    assert await outbox.claim("w3", NOW + LEASE - timedelta(seconds=1), LEASE, 10) == []
    later = await outbox.claim("w3", NOW + LEASE + timedelta(seconds=1), LEASE, 10)  # w2 died
    assert [d.event_number for d in later] == [2, 3]


async def test_a_renewed_lease_keeps_the_target(store: SqlStore) -> None:
    """A worker still sending renews its leases, so a slow send is never taken over."""
    outbox = store.outbox()
    await add_subscription(store, subscription("s"))
    async with store.writing(set()) as writer:
        await writer.enqueue.add(NOTIFICATION, "s", {}, NOW, event_number=1)
    await outbox.claim("w1", NOW, LEASE, 10)
    assert await outbox.renew("w1", NOW + 2 * LEASE) == 1
    assert await outbox.claim("w2", NOW + LEASE + timedelta(seconds=1), LEASE, 10) == []
    assert len(await outbox.claim("w2", NOW + 2 * LEASE + timedelta(seconds=1), LEASE, 10)) == 1


async def test_an_event_queued_while_an_earlier_one_backs_off_waits_for_it(store: SqlStore) -> None:
    """Event 2, queued after event 1 failed and was scheduled for a retry, is not sent before event 1."""
    outbox = store.outbox()
    await add_subscription(store, subscription("s"))
    async with store.writing(set()) as writer:
        await writer.enqueue.add(NOTIFICATION, "s", {}, NOW, event_number=1)
    (first,) = await outbox.claim("w", NOW, LEASE, 10)
    retry_at = NOW + timedelta(minutes=1)
    await outbox.retry(
        first.pk, "w", at=retry_at, attempts=1, give_up=False, http_status=503, error="HTTP 503", outcome=None
    )
    async with store.writing(set()) as writer:
        await writer.enqueue.add(NOTIFICATION, "s", {}, NOW, event_number=2)
    assert await outbox.claim("w", NOW + timedelta(seconds=1), LEASE, 10) == []
    assert [d.event_number for d in await outbox.claim("w", retry_at, LEASE, 10)] == [1, 2]
