"""Tables of the regions domain (SQLAlchemy only; no behaviour)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from govshare.core.db import Base, UTCDateTime, utcnow


class JurisdictionKind(StrEnum):
    state = "state"
    county = "county"
    city = "city"
    school_district = "school_district"
    special_district = "special_district"
    federal_agency = "federal_agency"

    @property
    def label(self) -> str:
        return KIND_LABELS[self]


KIND_LABELS = {
    JurisdictionKind.state: "State / province",
    JurisdictionKind.county: "County",
    JurisdictionKind.city: "City / town",
    JurisdictionKind.school_district: "School district",
    JurisdictionKind.special_district: "Special district",
    JurisdictionKind.federal_agency: "Federal agency",
}

_KINDS = ", ".join(f"'{k.value}'" for k in JurisdictionKind)
_REGIONAL = "'regional_admin', 'regional_analyst'"
_LOCAL = "'jurisdiction_admin', 'jurisdiction_staff'"
ROLE_SCOPE_CHECK = (
    f"(role IN ({_REGIONAL}) AND jurisdiction_id IS NULL) OR "
    f"(role IN ({_LOCAL}) AND jurisdiction_id IS NOT NULL)"
)
# Keys may also be Open311 clients, region-wide or for one member (migration 0008).
APIKEY_ROLE_SCOPE_CHECK = ROLE_SCOPE_CHECK + " OR (role = 'open311_client')"


class Region(Base):
    __tablename__ = "regions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Jurisdiction(Base):
    __tablename__ = "jurisdictions"
    __table_args__ = (
        UniqueConstraint("region_id", "name"),
        UniqueConstraint("region_id", "kind", "geoid"),
        CheckConstraint(f"kind IN ({_KINDS})", name="kind"),
        CheckConstraint("population IS NULL OR population >= 0", name="population"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("jurisdictions.id", ondelete="SET NULL"), index=True
    )
    geoid: Mapped[str | None] = mapped_column(String(20))
    population: Mapped[int | None] = mapped_column(Integer)
    population_source: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(ROLE_SCOPE_CHECK, name="role_scope"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(40))
    jurisdiction_id: Mapped[int | None] = mapped_column(
        ForeignKey("jurisdictions.id", ondelete="CASCADE"), index=True
    )
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class UserSession(Base):
    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SignInAddress(Base):
    """An address a user signed in from successfully: attempts for that account from there are
    throttled on their own, so an attacker hammering the account elsewhere cannot lock the
    user out (ADR 15). The address is kept as an HMAC under the secret key, not in clear."""

    __tablename__ = "sign_in_addresses"
    __table_args__ = (UniqueConstraint("user_id", "address_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    address_hash: Mapped[str] = mapped_column(String(64))
    first_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class ApiKey(Base):
    __tablename__ = "api_keys"
    __table_args__ = (
        CheckConstraint(APIKEY_ROLE_SCOPE_CHECK, name="role_scope"),
        Index("ix_api_keys_region_id_revoked_at", "region_id", "revoked_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(40))
    jurisdiction_id: Mapped[int | None] = mapped_column(
        ForeignKey("jurisdictions.id", ondelete="CASCADE"), index=True
    )
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
