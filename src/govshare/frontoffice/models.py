"""Tables of the front office: catalogue, owners by location, journeys, requests, updates."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from govshare.core.db import Base, UTCDateTime, check_in, utcnow


class Channel(StrEnum):
    web = "web"
    open311 = "open311"
    phone = "phone"
    mail = "mail"
    walk_in = "walk_in"
    email = "email"


class RequestStatus(StrEnum):
    """Internal states; each maps to Open311's open/closed (``calc.OPEN311_STATUS``)."""

    submitted = "submitted"
    acknowledged = "acknowledged"
    in_progress = "in_progress"
    on_hold = "on_hold"
    resolved = "resolved"
    duplicate = "duplicate"
    declined = "declined"


class Service(Base):
    """A service in the shared catalogue; ``accepts_requests`` makes it an Open311 service.

    ``attributes`` holds the Open311 service-definition attributes (code, datatype, required,
    description, order, values) asked of every request for this service. ``sample`` marks
    sample content (the demo catalogue), shown labelled as such.
    """

    __tablename__ = "services"
    __table_args__ = (UniqueConstraint("region_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id", ondelete="CASCADE"),
                                           index=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    eligibility: Mapped[str | None] = mapped_column(Text)
    group: Mapped[str | None] = mapped_column(String(100))
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    life_events: Mapped[list[str]] = mapped_column(JSON, default=list)
    target_groups: Mapped[list[str]] = mapped_column(JSON, default=list)
    channels: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    accepts_requests: Mapped[bool] = mapped_column(Boolean, default=False)
    attributes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    search_text: Mapped[str] = mapped_column(Text, default="")
    # Service level: a request is due this many calendar days after it arrives (None: no
    # target); the queue flags open requests past it as overdue.
    target_days: Mapped[int | None] = mapped_column(Integer)
    sample: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class ServiceOwner(Base):
    """Who delivers a service where: the owner at a point is the member with the lowest
    ``priority`` whose boundary contains it (e.g. potholes: the city inside city limits,
    priority 1; the county elsewhere, priority 2). FixMyStreet's bodies <-> areas <->
    categories, in one table."""

    __tablename__ = "service_owners"
    __table_args__ = (UniqueConstraint("service_id", "jurisdiction_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"),
                                            index=True)
    jurisdiction_id: Mapped[int] = mapped_column(
        ForeignKey("jurisdictions.id", ondelete="CASCADE"), index=True)
    priority: Mapped[int] = mapped_column(Integer, default=1)
    contact: Mapped[str | None] = mapped_column(String(300))


class Journey(Base):
    """Step-by-step guide for a life event across levels of government."""

    __tablename__ = "journeys"
    __table_args__ = (UniqueConstraint("region_id", "life_event"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id", ondelete="CASCADE"))
    life_event: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    sample: Mapped[bool] = mapped_column(Boolean, default=False)


class ServiceRequest(Base):
    """One case: every channel (web form, Open311 client, phone, mail, walk-in) makes the same
    record. Contact details are personal data: never in public responses."""

    __tablename__ = "service_requests"
    __table_args__ = (
        CheckConstraint(f"status IN ({check_in(RequestStatus)})", name="status"),
        CheckConstraint(f"channel IN ({check_in(Channel)})", name="channel"),
        Index("ix_service_requests_jurisdiction_status", "jurisdiction_id", "status"),
        Index("ix_service_requests_service_requested", "service_id", "requested_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id", ondelete="CASCADE"))
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"), index=True)
    jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("jurisdictions.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=RequestStatus.submitted.value)
    status_notes: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(20))
    description: Mapped[str | None] = mapped_column(Text)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(String(300))
    address_id: Mapped[str | None] = mapped_column(String(100))
    zipcode: Mapped[str | None] = mapped_column(String(10))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    media_url: Mapped[str | None] = mapped_column(String(500))
    contact_first_name: Mapped[str | None] = mapped_column(String(100))
    contact_last_name: Mapped[str | None] = mapped_column(String(100))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    device_id: Mapped[str | None] = mapped_column(String(100))
    account_id: Mapped[str | None] = mapped_column(String(100))
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("service_requests.id"))
    # The staff member working on it (None: unassigned).
    assigned_to_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True)
    recorded_by: Mapped[str] = mapped_column(String(80))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    expected_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RequestUpdate(Base):
    """History of a request: status changes, notes, reassignments, recategorizations and
    forwards to another member. ``public`` updates appear in tracking and the Open311 feed."""

    __tablename__ = "request_updates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_requests.id", ondelete="CASCADE"),
                                            index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(20))  # status | note | forward | recategorize
    from_value: Mapped[str | None] = mapped_column(String(200))
    to_value: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    public: Mapped[bool] = mapped_column(Boolean, default=True)
