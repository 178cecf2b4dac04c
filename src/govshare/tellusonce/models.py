"""Tables of "tell us once": agencies subscribed to life events, and the reports people make."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from govshare.core.db import Base, UTCDateTime, utcnow


class LifeEventType(StrEnum):
    change_of_address = "change_of_address"
    birth = "birth"
    death = "death"


class AgencySubscription(Base):
    """An office of a member that wants to be told of a kind of life event, by webhook.

    The signing secret is needed in plaintext to sign, so it cannot be hashed like an API key:
    it is sealed at rest (``core.crypto.WEBHOOK_SECRET``) and shown once, when made or rotated.
    ``secret_hint`` (its last characters) lets staff and the agency tell secrets apart.
    ``sample`` marks the demo's sample agencies, labelled wherever they appear.
    """

    __tablename__ = "tellusonce_subscriptions"
    __table_args__ = (UniqueConstraint("jurisdiction_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    jurisdiction_id: Mapped[int] = mapped_column(
        ForeignKey("jurisdictions.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(Text)  # shown to the public: why they want to know
    event_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    webhook_url: Mapped[str] = mapped_column(String(500))
    secret_enc: Mapped[str] = mapped_column(Text)
    secret_hint: Mapped[str] = mapped_column(String(12))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    sample: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


def _in(values: type[StrEnum]) -> str:
    return ", ".join(f"'{v.value}'" for v in values)


class LifeEventReport(Base):
    """One report of a move, a birth or a death, and the consent that lets it be shared.

    ``personal_data_enc`` holds only the fields the event needs, sealed at rest
    (``core.crypto.PERSONAL_DATA``); it is deleted at ``purge_after``. What stays after the
    purge is what proves the sharing was allowed and lets anyone quote the reference: the
    event type, the consent record (which agencies, when, which consent text) and the dates.
    ``submission_key`` is the form's one-time token, so a form sent twice makes one report.
    """

    __tablename__ = "tellusonce_reports"
    __table_args__ = (
        CheckConstraint(f"event_type IN ({_in(LifeEventType)})", name="event_type"),
        CheckConstraint("verification IN ('awaiting_verification', 'verified', 'rejected')",
                        name="verification"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id", ondelete="CASCADE"),
                                           index=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    submission_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    event_type: Mapped[str] = mapped_column(String(30))
    personal_data_enc: Mapped[str | None] = mapped_column(Text)
    consent: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    consent_version: Mapped[str] = mapped_column(String(40))
    consented_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    purge_after: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Identity assurance (tellusonce.calc): nothing is sent while ``awaiting_verification``.
    # ``verification_enc`` (the reporter's contact, a certificate number, the evidence staff
    # recorded) is sealed like the personal data and purged with it.
    verification: Mapped[str] = mapped_column(String(30), default="awaiting_verification",
                                              index=True)
    verification_enc: Mapped[str | None] = mapped_column(Text)
    verification_method: Mapped[str | None] = mapped_column(String(200))
    verified_by: Mapped[str | None] = mapped_column(String(80))
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
