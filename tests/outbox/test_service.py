"""The outbox's writes: enqueue inside the caller's transaction, claims under a lease (SKIP
LOCKED on PostgreSQL), answers recorded only by the lease holder, requeue, purge."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from govshare.core import crypto, migrate
from govshare.core.db import make_engine, unit_of_work, utcnow
from govshare.core.errors import Conflict, Forbidden
from govshare.core.tenancy import Role
from govshare.outbox import calc, queries, service
from govshare.outbox.models import DeliveryAttempt, OutboxMessage
from tests.conftest import BACKENDS, fresh_database_url
from tests.conftest import _drop_pg as drop_pg
from tests.factories.regions import principal

KEY = "k" * 40
SIGNING_SECRET = calc.new_signing_secret()
POLICY = calc.RetryPolicy(max_attempts=3, max_age_seconds=3600, base_seconds=10,
                          cap_seconds=100)


def enqueue(session: Session, key: str, *, destination: str = "subscription:1",
            **extra: Any) -> OutboxMessage:
    return service.enqueue(
        session, secret_key=KEY, topic="test.event", payload={"name": "Ada Lovelace",
                                                              "key": key},
        idempotency_key=key, destination=destination, destination_label="Test agency",
        url="http://127.0.0.1:9/hook", signing_secret=SIGNING_SECRET, **extra)


def outcome(code: int | None, error: str | None = None) -> service.Outcome:
    return service.Outcome(status_code=code, error=error, started_at=utcnow(), duration_ms=5)


def count(session: Session, key_prefix: str = "") -> int:
    return int(session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)
                              .where(OutboxMessage.idempotency_key.startswith(key_prefix)))
               or 0)


def test_enqueue_lands_or_vanishes_with_the_callers_transaction(
        connection: sa.Connection) -> None:
    def factory() -> Session:
        return Session(bind=connection, join_transaction_mode="create_savepoint",
                       expire_on_commit=False)

    with pytest.raises(RuntimeError), unit_of_work(factory) as s:  # type: ignore[arg-type]
        enqueue(s, "tx-rolled-back")
        raise RuntimeError("the caller's change failed after queueing")
    with unit_of_work(factory) as s:  # type: ignore[arg-type]
        assert count(s, "tx-") == 0
        enqueue(s, "tx-committed")
    with unit_of_work(factory) as s:  # type: ignore[arg-type]
        assert count(s, "tx-") == 1


def test_enqueue_is_idempotent_and_seals_body_and_secret(session: Session) -> None:
    first = enqueue(session, "same-key")
    assert enqueue(session, "same-key").id == first.id
    with pytest.raises(Conflict):
        enqueue(session, "same-key", destination="subscription:2")
    raw = session.execute(sa.text("SELECT body_enc, secret_enc FROM outbox_messages "
                                  "WHERE idempotency_key = 'same-key'")).one()
    assert "Ada" not in raw.body_enc and SIGNING_SECRET[6:] not in raw.secret_enc
    [claim] = service.claim_batch(session, now=utcnow(), limit=5, lease_seconds=30,
                                  secret_key=KEY)
    assert claim.secret == SIGNING_SECRET
    assert claim.body == b'{"key":"same-key","name":"Ada Lovelace"}'


def test_claim_takes_due_messages_under_a_lease_and_reclaims_after_it(session: Session
                                                                       ) -> None:
    now = utcnow()
    due = [enqueue(session, f"due-{i}", now=now - timedelta(seconds=i)) for i in range(3)]
    enqueue(session, "later", now=now).next_attempt_at = now + timedelta(minutes=5)
    session.flush()
    claims = service.claim_batch(session, now=now, limit=10, lease_seconds=30, secret_key=KEY)
    assert sorted(c.id for c in claims) == sorted(m.id for m in due)
    assert [c.idempotency_key for c in claims] == ["due-2", "due-1", "due-0"]  # oldest first
    assert {c.attempt for c in claims} == {1}
    row = session.get(OutboxMessage, claims[0].id)
    assert row is not None and row.status == "in_flight"
    assert row.locked_until == now + timedelta(seconds=30)
    # held: nobody else gets them while the lease runs
    assert service.claim_batch(session, now=now + timedelta(seconds=29), limit=10,
                               lease_seconds=30, secret_key=KEY) == []
    # the worker died: after the lease, they are claimed again, as a second attempt
    again = service.claim_batch(session, now=now + timedelta(seconds=31), limit=10,
                                lease_seconds=30, secret_key=KEY)
    assert sorted(c.id for c in again) == sorted(c.id for c in claims)
    assert {c.attempt for c in again} == {2}
    assert {c.lease_token for c in again}.isdisjoint({c.lease_token for c in claims})

    # the first worker's late failure changes nothing; its late success still counts
    late = service.record_result(session, claims[0], outcome(None, "timeout"),
                                 now=now + timedelta(seconds=32), policy=POLICY, worker="w1")
    assert late == "late"
    session.refresh(row)
    assert row.status == "in_flight" and row.lease_token == again[0].lease_token
    assert service.record_result(session, claims[1], outcome(200), now=now,
                                 policy=POLICY, worker="w1") == "late"
    delivered = session.get(OutboxMessage, claims[1].id)
    assert delivered is not None
    session.refresh(delivered)
    assert delivered.status == "delivered"
    # ... and the current holder's own answer then changes nothing more
    holder = next(c for c in again if c.id == claims[1].id)
    assert service.record_result(session, holder, outcome(503), now=now, policy=POLICY,
                                 worker="w2") == "late"
    session.refresh(delivered)
    assert delivered.status == "delivered"


def test_answers_move_the_message_and_leave_history(session: Session) -> None:
    now = utcnow()
    for key in ("ok", "flaky", "refused"):
        enqueue(session, f"ans-{key}", now=now)
    claims = {c.idempotency_key: c for c in service.claim_batch(
        session, now=now, limit=10, lease_seconds=30, secret_key=KEY)}
    assert service.record_result(session, claims["ans-ok"], outcome(204), now=now,
                                 policy=POLICY, worker="w") == "delivered"
    assert service.record_result(session, claims["ans-flaky"], outcome(503, "HTTP 503: busy"),
                                 now=now, policy=POLICY, worker="w") == "retry"
    assert service.record_result(session, claims["ans-refused"],
                                 outcome(400, "HTTP 400: unknown event"), now=now,
                                 policy=POLICY, worker="w") == "dead"
    rows = {m.idempotency_key: m for m in session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.idempotency_key.startswith("ans-"))
        .execution_options(populate_existing=True))}
    assert rows["ans-ok"].status == "delivered" and rows["ans-ok"].delivered_at is not None
    flaky = rows["ans-flaky"]
    assert flaky.status == "pending" and flaky.last_status_code == 503
    assert now + timedelta(seconds=5) <= flaky.next_attempt_at <= now + timedelta(seconds=10)
    assert "busy" in (flaky.last_error or "")
    refused = rows["ans-refused"]
    assert refused.status == "dead" and "refused" in (refused.last_error or "")
    assert "unknown event" in (refused.last_error or "")
    history = session.scalars(sa.select(DeliveryAttempt).where(
        DeliveryAttempt.message_id.in_([m.id for m in rows.values()]))).all()
    assert sorted(a.outcome for a in history) == ["dead", "delivered", "retry"]

    # the flaky one keeps failing: dead after max_attempts, with the reason
    for attempt in (2, 3):
        session.refresh(flaky)  # record_result wrote behind the ORM's back
        flaky.next_attempt_at = now
        session.flush()
        [c] = service.claim_batch(session, now=now, limit=10, lease_seconds=30,
                                  secret_key=KEY)
        assert c.attempt == attempt
        service.record_result(session, c, outcome(None, "ConnectError: refused"), now=now,
                              policy=POLICY, worker="w")
    session.refresh(flaky)
    assert flaky.status == "dead" and "gave up after 3 attempts" in (flaky.last_error or "")


def test_requeue_dead_letters_staff_only(session: Session) -> None:
    now = utcnow()
    enqueue(session, "rq-1", now=now)
    [c] = service.claim_batch(session, now=now, limit=1, lease_seconds=30, secret_key=KEY)
    service.record_result(session, c, outcome(404), now=now, policy=POLICY, worker="w")
    admin = principal(Role.regional_admin)
    with pytest.raises(Forbidden):
        service.requeue(session=session, actor=principal(Role.regional_analyst),
                        message_id=c.id)
    msg = service.requeue(session=session, actor=admin, message_id=c.id)
    assert (msg.status, msg.attempts, msg.dead_at) == ("pending", 0, None)
    with pytest.raises(Conflict, match="Only dead letters"):
        service.requeue(session=session, actor=admin, message_id=c.id)
    counts = queries.status_counts(session=session, actor=admin)
    assert counts["pending"] >= 1


def test_purge_deletes_old_bodies_and_dead_letters_what_was_not_sent(session: Session
                                                                      ) -> None:
    now = utcnow()
    old = now - timedelta(days=40)
    enqueue(session, "purge-sent", now=old)
    [c] = service.claim_batch(session, now=old, limit=1, lease_seconds=30, secret_key=KEY)
    service.record_result(session, c, outcome(200), now=old, policy=POLICY, worker="w")
    enqueue(session, "purge-stuck", now=old).next_attempt_at = now + timedelta(days=1)
    enqueue(session, "purge-recent", now=now)
    session.flush()
    n = service.purge_bodies(session, topic_prefix="test.", created_before=now - timedelta(
        days=30), now=now)
    assert n == 2
    rows = {m.idempotency_key: m for m in session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.idempotency_key.startswith("purge-"))
        .execution_options(populate_existing=True))}
    assert rows["purge-sent"].body_enc is None and rows["purge-sent"].status == "delivered"
    assert rows["purge-stuck"].body_enc is None and rows["purge-stuck"].status == "dead"
    assert rows["purge-recent"].body_enc is not None
    with pytest.raises(Conflict, match="retention"):
        service.requeue(session=session, actor=principal(Role.regional_admin),
                        message_id=rows["purge-stuck"].id)


def test_staff_of_a_member_see_only_their_own_messages(session: Session,
                                                       ids: dict[str, int]) -> None:
    enqueue(session, "vis-city", jurisdiction_id=ids["city"])
    enqueue(session, "vis-county", jurisdiction_id=ids["county"])
    seattle = principal(Role.jurisdiction_staff, ids["city"])
    rows, _ = queries.messages(session=session, actor=seattle)
    keys = {m.idempotency_key for m in rows}
    assert "vis-city" in keys and "vis-county" not in keys
    everything, _ = queries.messages(session=session, actor=principal(Role.regional_analyst))
    assert {"vis-city", "vis-county"} <= {m.idempotency_key for m in everything}


@pytest.mark.parametrize("backend", BACKENDS)
def test_concurrent_claims_take_disjoint_batches(backend: str, tmp_path: Path) -> None:
    """Two workers at once: on PostgreSQL neither waits for the other's uncommitted claim
    (SKIP LOCKED); on SQLite the claims take turns. Either way no message is claimed twice."""
    engine = make_engine(fresh_database_url(backend, tmp_path, "claims"))
    try:
        migrate.upgrade(engine)
        now = utcnow()
        with Session(engine) as s:
            for i in range(10):
                enqueue(s, f"c-{i}", now=now)
            s.commit()
        with Session(engine) as a, Session(engine) as b:
            first = service.claim_batch(a, now=now, limit=4, lease_seconds=30, secret_key=KEY)
            if backend == "postgresql":
                # A's claim is still uncommitted: B must skip those rows, not wait for them
                b.execute(sa.text("SET LOCAL lock_timeout = '2s'"))
            else:
                a.commit()
            second = service.claim_batch(b, now=now, limit=10, lease_seconds=30,
                                         secret_key=KEY)
            a.commit()
            b.commit()
        assert len(first) == 4 and len(second) == 6
        assert {c.id for c in first}.isdisjoint({c.id for c in second})
        with Session(engine) as s:
            assert s.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)
                            .where(OutboxMessage.status == "in_flight")) == 10
    finally:
        engine.dispose()
        if backend == "postgresql":
            drop_pg(f"govshare_claims_{os.getpid()}")


# ------------------------------------------------------------------------------ withdrawal


def test_a_withdrawn_destination_gets_no_retry_of_a_message_in_flight(session: Session
                                                                       ) -> None:
    """The bug: a message in flight when its subscription was deactivated came back as a
    retry and was sent twice more. Withdrawn means not sent: the answer finds no lease, no
    claim takes it, staff cannot requeue it until the destination is restored."""
    now = utcnow()
    enqueue(session, "wd-flying", destination="subscription:wd", now=now)
    enqueue(session, "wd-waiting", destination="subscription:wd", now=now + timedelta(
        seconds=1)).next_attempt_at = now + timedelta(minutes=5)
    enqueue(session, "wd-other", destination="subscription:kept", now=now)
    session.flush()
    claims = {c.idempotency_key: c for c in service.claim_batch(
        session, now=now, limit=10, lease_seconds=30, secret_key=KEY)}
    flying = claims["wd-flying"]

    n = service.withdraw_destination(session, destination="subscription:wd",
                                     reason="The subscription was deactivated", now=now)
    assert n == 2  # the one in flight and the one waiting
    # the attempt on the wire fails; its answer must not schedule a retry
    assert service.record_result(session, flying, outcome(503), now=now, policy=POLICY,
                                 worker="w") == "late"
    later = now + timedelta(days=1)  # long past every lease and backoff
    again = service.claim_batch(session, now=later, limit=10, lease_seconds=30,
                                secret_key=KEY)
    assert not {c.idempotency_key for c in again} & {"wd-flying", "wd-waiting"}
    rows = {m.idempotency_key: m for m in session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.idempotency_key.startswith("wd-"))
        .execution_options(populate_existing=True))}
    assert rows["wd-flying"].status == rows["wd-waiting"].status == "dead"
    assert "deactivated" in (rows["wd-flying"].last_error or "")
    assert rows["wd-other"].status == "in_flight"  # other destinations are untouched

    admin = principal(Role.regional_admin)
    with pytest.raises(Conflict, match="withdrawn"):
        service.requeue(session=session, actor=admin, message_id=rows["wd-flying"].id)
    assert service.requeue_dead(session=session, actor=admin,
                                destination="subscription:wd") == 0

    service.restore_destination(session, destination="subscription:wd", now=later)
    assert service.requeue_dead(session=session, actor=admin,
                                destination="subscription:wd") == 2
    resent = service.claim_batch(session, now=later, limit=10, lease_seconds=30,
                                 secret_key=KEY)
    assert {"wd-flying", "wd-waiting"} <= {c.idempotency_key for c in resent}


def test_a_claim_dead_letters_what_is_due_for_a_withdrawn_destination(session: Session
                                                                      ) -> None:
    """However a message came to be waiting for a withdrawn destination (queued in a race
    with the withdrawal, or a lease that ran out), the claim checks and does not send it."""
    now = utcnow()
    service.withdraw_destination(session, destination="subscription:gone", reason="gone",
                                 now=now)
    msg = enqueue(session, "gone-1", destination="subscription:gone", now=now)
    assert service.claim_batch(session, now=now, limit=10, lease_seconds=30,
                               secret_key=KEY) == []
    session.refresh(msg)
    assert msg.status == "dead" and "withdrawn" in (msg.last_error or "")
    assert msg.lease_token is None


def test_producers_must_give_a_signable_id_and_a_whsec_secret(session: Session) -> None:
    with pytest.raises(ValueError, match="webhook-id"):
        enqueue(session, "has.a.dot")
    with pytest.raises(ValueError, match="not base64"):
        service.enqueue(session, secret_key=KEY, topic="test.event", payload={},
                        idempotency_key="bad-secret", destination="subscription:1",
                        destination_label="x", url="https://hooks.example.org/x",
                        signing_secret="whsec_test-secret")
    assert count(session, "bad-secret") == 0


def test_a_message_sealed_with_an_old_style_secret_is_dead_not_sent(session: Session
                                                                      ) -> None:
    """Secrets made before Standard Webhooks (whsec_ + url-safe text) cannot be read by the
    receivers' libraries: such a message is a dead letter saying to rotate the secret."""
    msg = enqueue(session, "legacy-secret")
    msg.secret_enc = crypto.sealer(KEY, crypto.OUTBOX_PAYLOAD).seal("whsec_" + "a-b_c" * 9)
    session.flush()
    assert service.claim_batch(session, now=utcnow(), limit=5, lease_seconds=30,
                               secret_key=KEY) == []
    session.refresh(msg)
    assert msg.status == "dead" and "not base64" in (msg.last_error or "")

