"""Tables of the carbon domain (migration 0014).

- ``carbon_factor_sets`` / ``carbon_factors``: versioned emission-factor sets, each factor with
  its activity, optional detail (vehicle type|model year), basis (any, location, market), match
  key (eGRID subregion for location, utility for market, empty for everywhere), gas, the value
  and unit as published, the value in kg per canonical unit, its table and note.
- ``carbon_gwp``: global warming potentials by set (AR5, AR6) and gas.
- ``carbon_sources``: an emitting asset (a building, vehicle, streetlight circuit...), under the
  operational control of one member (``jurisdiction_id``), with the keys its factors depend on
  (sector, eGRID subregion, utility). ``source_domain``/``source_key`` say who recorded it.
- ``carbon_source_claims``: other members that also count the asset in their own inventories
  (a shared asset): the regional roll-up counts it once, the naive sum once per claim.
- ``carbon_activity_periods``: the series, one row per period and activity, as recorded.
- ``carbon_activity``: pre-aggregated per source x year x activity x detail (kept at write).
- ``carbon_rollup``: pre-aggregated per jurisdiction x boundary x year x sector x activity x
  detail x subregion x utility, every key a factor depends on: the region's inventory under any
  factor set is one join of this small table with the factors (ADR 11).
- ``carbon_targets`` and ``carbon_measures``: goals and planned measures (a measure another
  analysis wrote names its ``origin`` and links back, migration 0020).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from govshare.carbon.calc import Basis, Boundary, Sector
from govshare.core.db import Base, UTCDateTime, check_in, utcnow


class FactorSet(Base):
    __tablename__ = "carbon_factor_sets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    edition: Mapped[str] = mapped_column(String(100))
    publisher: Mapped[str] = mapped_column(String(300))
    year_from: Mapped[int] = mapped_column(Integer)
    year_to: Mapped[int] = mapped_column(Integer)
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    checksum: Mapped[str] = mapped_column(String(64))
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(80))


class Factor(Base):
    __tablename__ = "carbon_factors"
    __table_args__ = (
        UniqueConstraint("factor_set_id", "activity", "detail", "basis", "match_key", "gas"),
        CheckConstraint(f"basis IN ({check_in(Basis)})", name="basis"),
        CheckConstraint("kg_per_unit >= 0", name="kg_per_unit"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    factor_set_id: Mapped[int] = mapped_column(
        ForeignKey("carbon_factor_sets.id", ondelete="CASCADE"), index=True)
    activity: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(String(120), default="")
    basis: Mapped[str] = mapped_column(String(10), default=Basis.any.value)
    match_key: Mapped[str] = mapped_column(String(80), default="")
    gas: Mapped[str] = mapped_column(String(40))
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(40))
    kg_per_unit: Mapped[float] = mapped_column(Float)
    source_table: Mapped[str] = mapped_column(String(300), default="")
    note: Mapped[str] = mapped_column(String(500), default="")


class Gwp(Base):
    __tablename__ = "carbon_gwp"
    __table_args__ = (UniqueConstraint("gwp_set", "gas"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    gwp_set: Mapped[str] = mapped_column(String(20))
    gas: Mapped[str] = mapped_column(String(40))
    value: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(300))


class Source(Base):
    __tablename__ = "carbon_sources"
    __table_args__ = (
        UniqueConstraint("source_domain", "source_key"),
        CheckConstraint(f"sector IN ({check_in(Sector)})", name="sector"),
        CheckConstraint(f"boundary IN ({check_in(Boundary)})", name="boundary"),
        Index("ix_carbon_sources_jurisdiction", "jurisdiction_id", "boundary"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    jurisdiction_id: Mapped[int] = mapped_column(
        ForeignKey("jurisdictions.id", ondelete="CASCADE"))
    boundary: Mapped[str] = mapped_column(String(20), default=Boundary.government.value)
    source_domain: Mapped[str] = mapped_column(String(40))
    source_key: Mapped[str] = mapped_column(String(120))
    name: Mapped[str] = mapped_column(String(300))
    sector: Mapped[str] = mapped_column(String(30))
    subregion: Mapped[str] = mapped_column(String(10), default="")
    utility: Mapped[str] = mapped_column(String(80), default="")
    zip: Mapped[str | None] = mapped_column(String(10))
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    property_type: Mapped[str | None] = mapped_column(String(100))
    gross_floor_area_ft2: Mapped[float | None] = mapped_column(Float)
    net_metered: Mapped[bool] = mapped_column(Boolean, default=False)
    published_t_co2e: Mapped[float | None] = mapped_column(Float)
    published_year: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class SourceClaim(Base):
    __tablename__ = "carbon_source_claims"

    source_id: Mapped[int] = mapped_column(
        ForeignKey("carbon_sources.id", ondelete="CASCADE"), primary_key=True)
    jurisdiction_id: Mapped[int] = mapped_column(
        ForeignKey("jurisdictions.id", ondelete="CASCADE"), primary_key=True)


class ActivityPeriod(Base):
    __tablename__ = "carbon_activity_periods"
    __table_args__ = (
        CheckConstraint("period_end >= period_start", name="period_order"),
        Index("ix_carbon_periods_source", "source_id", "activity", "period_start"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("carbon_sources.id", ondelete="CASCADE"))
    activity: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(String(120), default="")
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    year: Mapped[int] = mapped_column(Integer)
    quantity: Mapped[float] = mapped_column(Float)  # canonical unit
    quantity_in: Mapped[float] = mapped_column(Float)
    unit_in: Mapped[str] = mapped_column(String(20))


class ActivityTotal(Base):
    __tablename__ = "carbon_activity"

    source_id: Mapped[int] = mapped_column(
        ForeignKey("carbon_sources.id", ondelete="CASCADE"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    activity: Mapped[str] = mapped_column(String(40), primary_key=True)
    detail: Mapped[str] = mapped_column(String(120), primary_key=True, default="")
    quantity: Mapped[float] = mapped_column(Float)


class Rollup(Base):
    __tablename__ = "carbon_rollup"

    jurisdiction_id: Mapped[int] = mapped_column(
        ForeignKey("jurisdictions.id", ondelete="CASCADE"), primary_key=True)
    boundary: Mapped[str] = mapped_column(String(20), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    sector: Mapped[str] = mapped_column(String(30), primary_key=True)
    activity: Mapped[str] = mapped_column(String(40), primary_key=True)
    detail: Mapped[str] = mapped_column(String(120), primary_key=True)
    subregion: Mapped[str] = mapped_column(String(10), primary_key=True)
    utility: Mapped[str] = mapped_column(String(80), primary_key=True)
    quantity: Mapped[float] = mapped_column(Float)
    sources: Mapped[int] = mapped_column(Integer)


class Target(Base):
    """A reduction goal of a member (``jurisdiction_id``) or of the region (``None``)."""

    __tablename__ = "carbon_targets"
    __table_args__ = (
        CheckConstraint("target_year > base_year", name="years"),
        CheckConstraint("reduction_pct >= 0 AND reduction_pct <= 100", name="reduction"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id", ondelete="CASCADE"),
                                           index=True)
    jurisdiction_id: Mapped[int | None] = mapped_column(
        ForeignKey("jurisdictions.id", ondelete="CASCADE"), index=True)
    base_year: Mapped[int] = mapped_column(Integer)
    target_year: Mapped[int] = mapped_column(Integer)
    reduction_pct: Mapped[float] = mapped_column(Float)
    label: Mapped[str] = mapped_column(String(200))
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Measure(Base):
    """A planned measure (retrofit, electrification, consolidation) and what it avoids."""

    __tablename__ = "carbon_measures"
    __table_args__ = (CheckConstraint("t_co2e_per_year >= 0", name="t_co2e"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    jurisdiction_id: Mapped[int] = mapped_column(
        ForeignKey("jurisdictions.id", ondelete="CASCADE"), index=True)
    source_id: Mapped[int | None] = mapped_column(
        ForeignKey("carbon_sources.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(300))
    start_year: Mapped[int] = mapped_column(Integer)
    t_co2e_per_year: Mapped[float] = mapped_column(Float)
    cost_cents: Mapped[int | None] = mapped_column(BigInteger)
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # the analysis that wrote the measure (e.g. ``property.consolidation:office``, migration
    # 0020): writing it again replaces its measures; None for a measure entered by hand
    origin: Mapped[str | None] = mapped_column(String(120), index=True)
    link: Mapped[str | None] = mapped_column(String(2000))  # the page it came from (a path)
