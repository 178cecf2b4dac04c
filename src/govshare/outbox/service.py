"""Writes of the outbox: enqueue in the caller's transaction, claim, record, requeue, purge.

Invariants:
- :func:`enqueue` only adds and flushes: the message commits or rolls back with the caller's
  change (the transactional outbox). Enqueueing an idempotency key twice returns the first
  message; the same key for another destination or topic is a conflict.
- A claim sets ``in_flight``, a fresh ``lease_token`` and ``locked_until``, and counts the
  attempt, in one short transaction. On PostgreSQL the rows are picked with
  ``SELECT ... FOR UPDATE SKIP LOCKED``, so concurrent workers take disjoint batches without
  waiting; on SQLite one ``UPDATE ... WHERE id IN (SELECT ...)`` statement claims them under
  the database's single write lock. A message whose lease has run out (its worker died) is
  claimable again: nothing is lost, and the receiver's idempotency key absorbs the repeat.
- A withdrawn destination (:func:`withdraw_destination`) is sent nothing more: its waiting
  and in-flight messages become dead letters at once (an answer to an attempt already on the
  wire then finds no lease to apply to, so no retry is scheduled), every claim dead-letters
  instead of sending what is due for it, and its dead letters cannot be requeued until it
  is restored.
- :func:`record_result` applies an answer only while the worker still holds the lease
  (``UPDATE ... WHERE lease_token = :token``): a worker that answers late cannot undo what the
  next holder did. A late 2xx still marks the message delivered, since it was.
- Every statement that changes a claimed row starts with the write itself, never a read
  followed by a write, so SQLite's snapshot rule cannot refuse it half-way (WAL + deferred
  transactions raise "database is locked" when a read snapshot goes stale before a write).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from govshare.core import audit, crypto
from govshare.core.db import utcnow
from govshare.core.errors import Conflict, NotFound
from govshare.core.security import new_token
from govshare.core.tenancy import Action, Principal, authorize
from govshare.outbox import calc
from govshare.outbox.calc import MESSAGES
from govshare.outbox.models import (
    DeliveryAttempt,
    MessageStatus,
    OutboxDestination,
    OutboxMessage,
)

PENDING, IN_FLIGHT = MessageStatus.pending.value, MessageStatus.in_flight.value
DELIVERED, DEAD = MessageStatus.delivered.value, MessageStatus.dead.value


def encode_body(payload: dict[str, Any]) -> bytes:
    """The exact bytes that are signed and sent (stable: sorted keys, no spaces)."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode()


def _sealer(secret_key: str) -> crypto.Sealer:
    return crypto.sealer(secret_key, crypto.OUTBOX_PAYLOAD)


# ------------------------------------------------------------------------------ producers


def enqueue(
    session: Session,
    *,
    secret_key: str,
    topic: str,
    payload: dict[str, Any],
    idempotency_key: str,
    destination: str,
    destination_label: str,
    url: str,
    signing_secret: str,
    jurisdiction_id: int | None = None,
    now: datetime | None = None,
) -> OutboxMessage:
    """Queue one webhook in the caller's transaction (flush only; the caller commits).

    ``idempotency_key`` is sent as the ``webhook-id`` and ``signing_secret`` must be a
    ``whsec_`` secret (:func:`calc.new_signing_secret`); anything else is a producer's bug
    (``ValueError``).
    """
    calc.check_webhook_id(idempotency_key)
    calc.check_signing_secret(signing_secret)
    existing = session.scalars(select(OutboxMessage).where(
        OutboxMessage.idempotency_key == idempotency_key)).first()
    if existing is not None:
        if existing.destination != destination or existing.topic != topic:
            raise Conflict(f"Idempotency key {idempotency_key!r} is already used by another "
                           "message")
        return existing
    now = now or utcnow()
    sealer = _sealer(secret_key)
    message = OutboxMessage(
        topic=topic, idempotency_key=idempotency_key, destination=destination,
        destination_label=destination_label[:300], jurisdiction_id=jurisdiction_id, url=url,
        secret_enc=sealer.seal(signing_secret),
        body_enc=sealer.seal(encode_body(payload).decode()),
        status=PENDING, attempts=0, next_attempt_at=now, created_at=now,
        round_started_at=now, updated_at=now)
    session.add(message)
    session.flush()
    return message


def reseal_destination(session: Session, *, secret_key: str, destination: str, url: str,
                       signing_secret: str, now: datetime | None = None) -> int:
    """A destination's URL or secret changed: undelivered messages use the new ones."""
    calc.check_signing_secret(signing_secret)
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.destination == destination, OutboxMessage.status != DELIVERED)
        .values(url=url, secret_enc=_sealer(secret_key).seal(signing_secret),
                updated_at=now or utcnow())
        .execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _withdrawn() -> Any:
    return select(OutboxDestination.destination).where(
        OutboxDestination.withdrawn_at.is_not(None))


def withdraw_destination(session: Session, *, destination: str, reason: str,
                         now: datetime | None = None) -> int:
    """The destination takes no more messages; its undelivered ones become dead letters.

    A request already on the wire cannot be called back, but its answer no longer finds the
    message in flight, so nothing is retried; and every later claim checks the destination.
    Requeueing its dead letters is refused until :func:`restore_destination`.
    """
    now = now or utcnow()
    row = session.get(OutboxDestination, destination)
    if row is None:
        session.add(OutboxDestination(destination=destination, withdrawn_at=now,
                                      updated_at=now))
    else:
        row.withdrawn_at, row.updated_at = now, now
    session.flush()
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.destination == destination,
               MESSAGES.guard(OutboxMessage.status, DEAD))  # waiting or in flight
        .values(status=DEAD, dead_at=now, lease_token=None, locked_until=None,
                last_error=calc.clip(reason), updated_at=now)
        .execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def restore_destination(session: Session, *, destination: str,
                        now: datetime | None = None) -> None:
    """The destination takes messages again (its dead letters stay dead until requeued)."""
    row = session.get(OutboxDestination, destination)
    if row is not None and row.withdrawn_at is not None:
        row.withdrawn_at, row.updated_at = None, now or utcnow()
        session.flush()


def _is_withdrawn(session: Session, destination: str) -> bool:
    return session.scalar(_withdrawn().where(
        OutboxDestination.destination == destination)) is not None


def purge_bodies(session: Session, *, topic_prefix: str, created_before: datetime,
                 now: datetime | None = None) -> int:
    """Delete the bodies (personal data) of messages queued before ``created_before``.

    Undelivered ones become dead letters that cannot be requeued: there is nothing left to
    send. The row, its status and its attempt history stay.
    """
    now = now or utcnow()
    old = and_(OutboxMessage.topic.startswith(topic_prefix, autoescape=True),
               OutboxMessage.created_at < created_before, OutboxMessage.body_enc.is_not(None))
    session.execute(
        update(OutboxMessage)
        .where(old, MESSAGES.guard(OutboxMessage.status, DEAD))
        .values(status=DEAD, dead_at=now, lease_token=None, locked_until=None, updated_at=now,
                last_error="The retention period ended before delivery; the body was deleted")
        .execution_options(synchronize_session=False))
    result = session.execute(
        update(OutboxMessage).where(old)
        .values(body_enc=None, purged_at=now, updated_at=now)
        .execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------ workers


@dataclass(frozen=True)
class Claim:
    """What a worker needs to send one message, opened; valid while it holds the lease."""

    id: int
    lease_token: str
    topic: str
    idempotency_key: str
    url: str
    secret: str
    body: bytes
    attempt: int  # this attempt's number in the current round (1 = first)
    round_started_at: datetime


@dataclass(frozen=True)
class Outcome:
    """One HTTP attempt: the status code (``None``: no answer) and what went wrong, if."""

    status_code: int | None
    error: str | None
    started_at: datetime
    duration_ms: int
    retry_after: float | None = None
    refused: str | None = None  # not sent: the destination is not allowed (calc.url_problem)


def _claimable(now: datetime) -> Any:
    return or_(
        and_(OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at <= now),
        and_(OutboxMessage.status == IN_FLIGHT, OutboxMessage.locked_until < now),
    )


def claim_batch(session: Session, *, now: datetime, limit: int, lease_seconds: float,
                secret_key: str, max_attempts: int | None = None) -> list[Claim]:
    """Claim up to ``limit`` due messages (oldest due first) for ``lease_seconds``.

    The caller commits at once, so the claim is visible to other workers, then delivers
    outside any transaction. Becomes a dead letter instead of being sent: a message for a
    withdrawn destination; one claimed more than ``max_attempts`` times without an answer
    ever being recorded (its workers died each time, e.g. on a poison message); one that
    cannot be opened or whose secret is not a ``whsec_`` secret.
    """
    token = new_token(24)
    due = (select(OutboxMessage.id).where(_claimable(now))
           .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit))
    claim = (update(OutboxMessage).where(MESSAGES.guard(OutboxMessage.status, IN_FLIGHT))
             .values(status=IN_FLIGHT, lease_token=token,
                     locked_until=now + timedelta(seconds=lease_seconds),
                     attempts=OutboxMessage.attempts + 1, updated_at=now)
             .execution_options(synchronize_session=False))
    if session.get_bind().dialect.name == "postgresql":
        ids = list(session.scalars(due.with_for_update(skip_locked=True)).all())
        if not ids:
            return []
        session.execute(claim.where(OutboxMessage.id.in_(ids)))
    else:
        session.execute(claim.where(OutboxMessage.id.in_(due.scalar_subquery())))
    rows = session.scalars(
        select(OutboxMessage).where(OutboxMessage.lease_token == token)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .execution_options(populate_existing=True)).all()
    destinations = {m.destination for m in rows}
    withdrawn = set(session.scalars(_withdrawn().where(
        OutboxDestination.destination.in_(destinations))).all()) if rows else set()
    sealer = _sealer(secret_key)
    claims = []
    for m in rows:
        if m.destination in withdrawn:
            MESSAGES.move(m, DEAD)
            m.dead_at, m.lease_token, m.locked_until = now, None, None
            m.last_error = ("Not sent: the destination was withdrawn (the subscription is "
                            "deactivated)")
            continue
        if max_attempts is not None and m.attempts > max_attempts:
            MESSAGES.move(m, DEAD)
            m.dead_at, m.lease_token, m.locked_until = now, None, None
            m.last_error = (f"Claimed {m.attempts - 1} times without an answer being recorded: "
                            "the worker stopped each time")
            continue
        try:
            if m.body_enc is None:
                raise ValueError("the body has been purged")
            secret, body = sealer.open(m.secret_enc), sealer.open(m.body_enc).encode()
            calc.check_signing_secret(secret)
        except (crypto.SealedValueUnreadable, ValueError) as exc:
            detail = exc.detail if isinstance(exc, crypto.SealedValueUnreadable) else str(exc)
            MESSAGES.move(m, DEAD)
            m.dead_at, m.lease_token, m.locked_until = now, None, None
            m.last_error = calc.clip(f"Cannot be sent: {detail}")
            continue
        claims.append(Claim(id=m.id, lease_token=token, topic=m.topic,
                            idempotency_key=m.idempotency_key, url=m.url, secret=secret,
                            body=body, attempt=m.attempts, round_started_at=m.round_started_at))
    session.flush()
    return claims


def record_result(session: Session, claim: Claim, outcome: Outcome, *, now: datetime,
                  policy: calc.RetryPolicy, worker: str) -> str:
    """Apply one attempt's answer; returns what it did: delivered, retry, dead or late."""
    verdict, reason = calc.classify(outcome.status_code, refused=outcome.refused)
    if outcome.error and verdict is not calc.Verdict.delivered:
        reason = f"{reason}: {outcome.error}"
    state = calc.next_state(verdict, attempts=claim.attempt,
                            age_seconds=(now - claim.round_started_at).total_seconds(),
                            policy=policy, reason=reason, retry_after=outcome.retry_after)
    values: dict[str, Any] = {"last_status_code": outcome.status_code, "updated_at": now,
                              "lease_token": None, "locked_until": None}
    if state.status == DELIVERED:
        values.update(status=DELIVERED, delivered_at=now, last_error=None)
    elif state.status == DEAD:
        values.update(status=DEAD, dead_at=now, last_error=calc.clip(state.reason))
    else:
        values.update(status=PENDING, last_error=calc.clip(state.reason),
                      next_attempt_at=now + timedelta(seconds=state.delay_seconds or 0))
    held = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == claim.id, OutboxMessage.lease_token == claim.lease_token,
               OutboxMessage.status == IN_FLIGHT, MESSAGES.guard(OutboxMessage.status,
                                                                 state.status))
        .values(**values).execution_options(synchronize_session=False))
    outcome_name = "retry" if state.status == PENDING else state.status
    if not held.rowcount:  # type: ignore[attr-defined]
        outcome_name = "late"
        if state.status == DELIVERED:  # it was delivered, whoever holds the lease now
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == claim.id,
                       MESSAGES.guard(OutboxMessage.status, DELIVERED))  # not delivered yet
                .values(status=DELIVERED, delivered_at=now, last_error=None,
                        last_status_code=outcome.status_code, lease_token=None,
                        locked_until=None, updated_at=now)
                .execution_options(synchronize_session=False))
    session.add(DeliveryAttempt(
        message_id=claim.id, attempt=claim.attempt, started_at=outcome.started_at,
        duration_ms=outcome.duration_ms, status_code=outcome.status_code,
        error=calc.clip(outcome.error or outcome.refused), outcome=outcome_name,
        worker=worker[:100]))
    session.flush()
    return outcome_name


# ------------------------------------------------------------------------------ staff


def _requeue(message: OutboxMessage, now: datetime) -> None:
    MESSAGES.move(message, PENDING)
    message.attempts, message.next_attempt_at = 0, now
    message.round_started_at, message.updated_at, message.dead_at = now, now, None


def requeue(session: Session, *, actor: Principal, message_id: int,
            now: datetime | None = None) -> OutboxMessage:
    """Staff: send a dead letter again, with a fresh round of attempts."""
    authorize(actor, Action.outbox_manage)
    message = session.get(OutboxMessage, message_id)
    if message is None:
        raise NotFound("Message not found")
    if message.status != DEAD:
        raise Conflict(f"Only dead letters can be requeued; this message is "
                       f"{message.status.replace('_', ' ')}")
    if message.body_enc is None:
        raise Conflict("This message's body was deleted at the end of the retention period; "
                       "there is nothing left to send")
    if _is_withdrawn(session, message.destination):
        raise Conflict("This message's destination was withdrawn (its subscription is "
                       "deactivated); reactivate it before requeueing")
    before = {"status": message.status, "attempts": message.attempts,
              "last_error": message.last_error}
    _requeue(message, now or utcnow())
    session.flush()
    audit.record(session, actor, action="outbox.requeue", entity="outbox_message",
                 entity_id=message.id, jurisdiction_id=message.jurisdiction_id, before=before,
                 after={"status": message.status, "destination": message.destination})
    return message


def requeue_dead(session: Session, *, actor: Principal, destination: str | None = None,
                 now: datetime | None = None) -> int:
    """Staff: requeue every dead letter that still has its body (of one destination), but
    none of a withdrawn destination."""
    authorize(actor, Action.outbox_manage)
    now = now or utcnow()
    stmt = select(OutboxMessage).where(OutboxMessage.status == DEAD,
                                       OutboxMessage.body_enc.is_not(None),
                                       OutboxMessage.destination.not_in(_withdrawn()))
    if destination:
        stmt = stmt.where(OutboxMessage.destination == destination)
    messages = session.scalars(stmt.order_by(OutboxMessage.id)).all()
    for m in messages:
        _requeue(m, now)
    session.flush()
    if messages:
        audit.record(session, actor, action="outbox.requeue", entity="outbox_message",
                     entity_id=None, after={"count": len(messages), "destination": destination,
                                            "ids": [m.id for m in messages][:200]})
    return len(messages)


def count_due(session: Session, *, now: datetime) -> int:
    return int(session.scalar(select(func.count()).select_from(OutboxMessage)
                              .where(_claimable(now))) or 0)
