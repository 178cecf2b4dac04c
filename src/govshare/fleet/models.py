"""Tables of the fleet domain.

Money is integer cents, distances are miles (US fleets' unit), fuel is US gallons. Trip and
fuel times are the region's local wall-clock time as the logs give them (naive datetimes):
fuel-card exports and trip logs carry no offset, and peak concurrency compares them with each
other only.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from govshare.core.db import Base, UTCDateTime, check_in, utcnow


class VehicleClass(StrEnum):
    sedan = "sedan"
    suv = "suv"
    pickup = "pickup"
    van = "van"
    police_interceptor = "police_interceptor"
    medium_truck = "medium_truck"
    heavy_truck = "heavy_truck"
    bus = "bus"
    off_road = "off_road"
    other = "other"


LIGHT_DUTY = frozenset({VehicleClass.sedan, VehicleClass.suv, VehicleClass.pickup,
                        VehicleClass.van, VehicleClass.police_interceptor})


class FuelType(StrEnum):
    gasoline = "gasoline"
    diesel = "diesel"
    flex_fuel = "flex_fuel"  # E85-capable
    hybrid = "hybrid"
    plug_in_hybrid = "plug_in_hybrid"
    electric = "electric"
    cng = "cng"
    propane = "propane"
    unknown = "unknown"


class VehicleStatus(StrEnum):
    active = "active"
    reserve = "reserve"
    out_of_service = "out_of_service"
    surplus = "surplus"
    disposed = "disposed"


class Product(StrEnum):
    """What a fuel-card row bought, as the carbon inventory needs it."""

    gasoline = "gasoline"  # unleaded, any grade
    e10 = "e10"  # unleaded with 10% ethanol
    e85 = "e85"
    diesel = "diesel"
    b2 = "b2"  # diesel with 2% biodiesel
    non_fuel = "non_fuel"  # car wash, merchandise, discounts


class ReadingSource(StrEnum):
    manual = "manual"
    fuel_card = "fuel_card"


class Vehicle(Base):
    """One vehicle or piece of equipment of a member. Its home site is an asset of the
    property registry (``home_asset_id``; its point is copied into ``home_lon/home_lat`` when
    set) or a point given directly."""

    __tablename__ = "fleet_vehicles"
    __table_args__ = (
        UniqueConstraint("jurisdiction_id", "unit_id"),
        CheckConstraint(f"vehicle_class IN ({check_in(VehicleClass)})", name="vehicle_class"),
        CheckConstraint(f"fuel_type IN ({check_in(FuelType)})", name="fuel_type"),
        CheckConstraint(f"status IN ({check_in(VehicleStatus)})", name="status"),
        Index("ix_fleet_vehicles_class_status", "vehicle_class", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    jurisdiction_id: Mapped[int] = mapped_column(
        ForeignKey("jurisdictions.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[str] = mapped_column(String(64))
    vehicle_class: Mapped[str] = mapped_column(String(30))
    make: Mapped[str | None] = mapped_column(String(60))
    model: Mapped[str | None] = mapped_column(String(60))
    model_year: Mapped[int | None] = mapped_column(Integer)
    fuel_type: Mapped[str] = mapped_column(String(20), default=FuelType.gasoline.value)
    description: Mapped[str | None] = mapped_column(String(200))
    department: Mapped[str | None] = mapped_column(String(60))
    home_asset_id: Mapped[int | None] = mapped_column(
        ForeignKey("assets.id", ondelete="SET NULL"), index=True)
    home_lon: Mapped[float | None] = mapped_column(Float)
    home_lat: Mapped[float | None] = mapped_column(Float)
    acquired_on: Mapped[date | None] = mapped_column(Date)
    acquisition_cost_cents: Mapped[int | None] = mapped_column(BigInteger)
    annual_maintenance_cents: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(20), default=VehicleStatus.active.value)
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class VehicleStatusChange(Base):
    __tablename__ = "fleet_vehicle_status_changes"
    __table_args__ = (
        CheckConstraint(f"to_status IN ({check_in(VehicleStatus)})", name="to_status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("fleet_vehicles.id", ondelete="CASCADE"),
                                            index=True)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor: Mapped[str] = mapped_column(String(80))
    reason: Mapped[str | None] = mapped_column(String(500))


class FuelTransaction(Base):
    """One fuel-card line (a fill-up, or a non-fuel item on the card). ``source_key`` is the
    export's own transaction key, which makes a re-import idempotent. ``flag`` says why a
    row's date is doubtful (it is imported and shown, with the reason)."""

    __tablename__ = "fleet_fuel_transactions"
    __table_args__ = (
        UniqueConstraint("jurisdiction_id", "source_key"),
        CheckConstraint(f"product IN ({check_in(Product)})", name="product"),
        CheckConstraint("gallons IS NULL OR gallons >= 0", name="gallons"),
        Index("ix_fleet_fuel_vehicle_at", "vehicle_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    jurisdiction_id: Mapped[int] = mapped_column(
        ForeignKey("jurisdictions.id", ondelete="CASCADE"), index=True)
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("fleet_vehicles.id", ondelete="CASCADE"))
    source_key: Mapped[str] = mapped_column(String(100))
    occurred_at: Mapped[datetime] = mapped_column(DateTime())
    product: Mapped[str] = mapped_column(String(20))
    product_label: Mapped[str] = mapped_column(String(100))
    gallons: Mapped[float | None] = mapped_column(Float)
    quantity: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(10))
    cost_cents: Mapped[int] = mapped_column(BigInteger)
    odometer: Mapped[float | None] = mapped_column(Float)
    flag: Mapped[str | None] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(String(300))


class OdometerReading(Base):
    """An odometer reading, given by hand or read off a fuel-card row. A reading that cannot
    be right (backwards, an impossible jump) keeps ``accepted`` false and its reason in
    ``flag``: it is shown, never used for miles."""

    __tablename__ = "fleet_odometer_readings"
    __table_args__ = (
        CheckConstraint(f"source IN ({check_in(ReadingSource)})", name="source"),
        CheckConstraint("miles >= 0", name="miles"),
        Index("ix_fleet_odometer_vehicle_at", "vehicle_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("fleet_vehicles.id", ondelete="CASCADE"))
    read_at: Mapped[datetime] = mapped_column(DateTime())
    miles: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(20))
    fuel_transaction_id: Mapped[int | None] = mapped_column(
        ForeignKey("fleet_fuel_transactions.id", ondelete="CASCADE"), unique=True)
    accepted: Mapped[bool] = mapped_column(Boolean, default=True)
    flag: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Trip(Base):
    """One use of a vehicle from a trip or usage log: start and end (local time) and miles."""

    __tablename__ = "fleet_trips"
    __table_args__ = (
        UniqueConstraint("vehicle_id", "started_at"),
        CheckConstraint("ended_at > started_at", name="order"),
        CheckConstraint("miles >= 0", name="miles"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    jurisdiction_id: Mapped[int] = mapped_column(
        ForeignKey("jurisdictions.id", ondelete="CASCADE"), index=True)
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("fleet_vehicles.id", ondelete="CASCADE"))
    started_at: Mapped[datetime] = mapped_column(DateTime())
    ended_at: Mapped[datetime] = mapped_column(DateTime())
    miles: Mapped[float] = mapped_column(Float)
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(300))


class FleetParameters(Base):
    """A region's fleet parameters (thresholds per class, pooling radius and reserve, prices,
    EV assumptions); values not set fall back to the documented defaults in ``calc``."""

    __tablename__ = "fleet_parameters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id", ondelete="CASCADE"),
                                           unique=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str] = mapped_column(String(80))
