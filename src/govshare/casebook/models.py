"""Tables of the casebook: shared-service proposals, their members' figures, and the costs
members actually had each year (the projected-vs-realized tracker). Money is integer cents."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from govshare.casebook.calc import Basis
from govshare.core.db import Base, UTCDateTime, check_in, utcnow


class ServiceKind(StrEnum):
    it = "it"
    payroll = "payroll"
    procurement = "procurement"
    fleet_maintenance = "fleet_maintenance"
    facilities = "facilities"
    front_office = "front_office"
    consolidation = "consolidation"  # a consolidation plan from the property registry
    sited_center = "sited_center"  # a shared-service center sited by the sites domain
    fleet_pool = "fleet_pool"  # a fleet pooling plan
    other = "other"


class SourceKind(StrEnum):
    """Where a proposal's figures came from."""

    entered = "entered"  # typed in by staff
    consolidation = "consolidation"  # property.planning
    sited_center = "sited_center"  # sites (when it lands)
    fleet_pool = "fleet_pool"  # fleet.planning (when it lands)


class CaseStatus(StrEnum):
    draft = "draft"
    adopted = "adopted"
    withdrawn = "withdrawn"


class CaseProposal(Base):
    """A shared service proposed among members, or a scenario of one (``parent_id``)."""

    __tablename__ = "casebook_proposals"
    __table_args__ = (
        CheckConstraint(f"service IN ({check_in(ServiceKind)})", name="service"),
        CheckConstraint(f"source_kind IN ({check_in(SourceKind)})", name="source_kind"),
        CheckConstraint(f"status IN ({check_in(CaseStatus)})", name="status"),
        CheckConstraint(f"basis IN ({check_in(Basis)})", name="basis"),
        CheckConstraint("horizon_years >= 1", name="horizon"),
        CheckConstraint("shared_annual_cents >= 0", name="shared_annual"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id", ondelete="CASCADE"),
                                           index=True)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("casebook_proposals.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    service: Mapped[str] = mapped_column(String(30))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=CaseStatus.draft.value)
    source_kind: Mapped[str] = mapped_column(String(30), default=SourceKind.entered.value)
    source_params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    source_link: Mapped[str | None] = mapped_column(String(500))
    source_note: Mapped[str | None] = mapped_column(Text)
    start_year: Mapped[int] = mapped_column(Integer)
    horizon_years: Mapped[int] = mapped_column(Integer)
    discount_rate: Mapped[float] = mapped_column(Float)
    discount_source: Mapped[str] = mapped_column(String(300))
    ramp_pct: Mapped[list[float]] = mapped_column(JSON, default=list)
    one_time_cents: Mapped[list[int]] = mapped_column(JSON, default=list)
    shared_annual_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    basis: Mapped[str] = mapped_column(String(20), default=Basis.equal.value)
    blend: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    tco2e_per_year: Mapped[float | None] = mapped_column(Float)
    tco2e_source: Mapped[str | None] = mapped_column(String(300))
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    adopted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CaseMember(Base):
    """One member's figures in a proposal: its baseline going alone (by component), the
    costs that stay its own under the shared model, and its allocation drivers."""

    __tablename__ = "casebook_members"
    __table_args__ = (
        UniqueConstraint("proposal_id", "jurisdiction_id"),
        CheckConstraint("staff_cents >= 0 AND contracts_cents >= 0 AND systems_cents >= 0 "
                        "AND space_cents >= 0 AND other_cents >= 0 AND direct_cents >= 0",
                        name="money"),
        CheckConstraint("own_one_time_cents >= 0", name="own_one_time"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("casebook_proposals.id", ondelete="CASCADE"), index=True)
    jurisdiction_id: Mapped[int] = mapped_column(
        ForeignKey("jurisdictions.id", ondelete="CASCADE"), index=True)
    ftes: Mapped[float | None] = mapped_column(Float)
    staff_cents: Mapped[int] = mapped_column(BigInteger, default=0)  # salaries and benefits
    contracts_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    systems_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    space_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    other_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    direct_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    # Its own one-time transition costs (its people's moves), borne by it alone in year 1.
    own_one_time_cents: Mapped[int] = mapped_column(BigInteger, default=0,
                                                    server_default="0")
    population: Mapped[int | None] = mapped_column(BigInteger)
    headcount: Mapped[float | None] = mapped_column(Float)
    usage: Mapped[float | None] = mapped_column(Float)
    assessed_value_cents: Mapped[int | None] = mapped_column(BigInteger)
    note: Mapped[str | None] = mapped_column(String(500))

    @property
    def baseline_cents(self) -> int:
        return (self.staff_cents + self.contracts_cents + self.systems_cents
                + self.space_cents + self.other_cents)


class CaseActual(Base):
    """What a member's service actually cost it in a year (its charges included), what it was
    billed, and its actual usage: one row per (proposal, member, year)."""

    __tablename__ = "casebook_actuals"
    __table_args__ = (
        UniqueConstraint("proposal_id", "jurisdiction_id", "year"),
        CheckConstraint("actual_cents >= 0", name="actual"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("casebook_proposals.id", ondelete="CASCADE"), index=True)
    jurisdiction_id: Mapped[int] = mapped_column(
        ForeignKey("jurisdictions.id", ondelete="CASCADE"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    actual_cents: Mapped[int] = mapped_column(BigInteger)
    billed_cents: Mapped[int | None] = mapped_column(BigInteger)
    usage: Mapped[float | None] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(300))
    updated_by: Mapped[str] = mapped_column(String(80))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
