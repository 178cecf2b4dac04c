"""Tables of the outbox: messages to deliver, and the history of every delivery attempt."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from govshare.core.db import Base, UTCDateTime, check_in, utcnow


class MessageStatus(StrEnum):
    """``calc.TRANSITIONS`` says which moves are allowed; the DB check backs the values."""

    pending = "pending"  # waiting for its next attempt (``next_attempt_at``)
    in_flight = "in_flight"  # claimed by a worker until ``locked_until``
    delivered = "delivered"  # the receiver answered 2xx
    dead = "dead"  # a dead letter: refused, or retried until the policy gave up


class OutboxMessage(Base):
    """One webhook to one destination, written in the same transaction as its cause.

    ``body_enc`` is the exact JSON body that is signed and sent, sealed at rest (Fernet, key
    ``core.crypto.OUTBOX_PAYLOAD``); the producer has already reduced it to what the receiver
    needs. It is emptied by ``service.purge_bodies`` after the retention period. The URL and
    the (sealed) signing secret are copied from the destination when the message is queued, so
    the worker needs nothing but this row; the producer re-seals pending messages when a
    destination's URL or secret changes.

    ``destination`` names the subscription in the producer's terms (``"subscription:12"``) and
    ``jurisdiction_id`` the member it belongs to, which limits who sees the message's status.
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (
        CheckConstraint(f"status IN ({check_in(MessageStatus)})", name="status"),
        CheckConstraint("attempts >= 0", name="attempts"),
        Index("ix_outbox_messages_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_outbox_messages_status_locked_until", "status", "locked_until"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    topic: Mapped[str] = mapped_column(String(100), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    destination: Mapped[str] = mapped_column(String(100), index=True)
    destination_label: Mapped[str] = mapped_column(String(300))
    jurisdiction_id: Mapped[int | None] = mapped_column(ForeignKey("jurisdictions.id"),
                                                        index=True)
    url: Mapped[str] = mapped_column(String(500))
    secret_enc: Mapped[str] = mapped_column(Text)
    body_enc: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=MessageStatus.pending.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lease_token: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    # When the current round of retries began: queued, or requeued by staff. The max-age rule
    # counts from here, so a requeued dead letter gets a full round.
    round_started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    dead_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class DeliveryAttempt(Base):
    """History: one row per HTTP attempt (FixMyStreet's send_fail_count/reason, kept whole).

    ``outcome`` is what the attempt did to the message: ``delivered``, ``retry``, ``dead``, or
    ``late`` when the answer came after the worker's lease had passed to another worker.
    """

    __tablename__ = "outbox_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("outbox_messages.id", ondelete="CASCADE"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    duration_ms: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(20))
    worker: Mapped[str] = mapped_column(String(100))


class OutboxDestination(Base):
    """A destination that no longer takes messages (a deactivated subscription).

    Producers withdraw and restore their destinations through ``service`` in the same
    transaction as the change that causes it; every claim checks this table, so a withdrawn
    destination is sent nothing more, retries included. A destination with no row, or with
    ``withdrawn_at`` empty, takes messages.
    """

    __tablename__ = "outbox_destinations"

    destination: Mapped[str] = mapped_column(String(100), primary_key=True)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
