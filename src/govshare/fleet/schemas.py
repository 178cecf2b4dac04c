"""Pydantic models of the fleet domain: a vehicle (create, read), odometer readings, status
changes, a fuel-card row and a trip-log row (the imports' converters are compiled from
these), and the answers of the analyses. Every number has one range (``core.bounds``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from govshare.core.bounds import Bounds
from govshare.fleet.calc import CLASS_LABELS
from govshare.fleet.models import FuelType, Product, VehicleClass, VehicleStatus

MONEY_CENTS = Bounds(0, 10**11)  # $1 billion for one vehicle is a unit mistake
MODEL_YEAR = Bounds(1900, 2100)
ODOMETER = Bounds(0, 10_000_000)  # miles; past any vehicle's life (and a 7-digit odometer)
GALLONS = Bounds(0, 2_000)  # one fuel-card line: a tanker truck's fill is a few hundred
FUEL_QUANTITY = Bounds(-100_000, 100_000)  # a line's units (discounts are negative)
LINE_CENTS = Bounds(-10_000_000, 10_000_000)  # one line: +-$100,000
TRIP_MILES = Bounds(0, 2_000)  # one trip of one day and night
LON, LAT = Bounds(-180, 180), Bounds(-90, 90)

FUEL_LABELS = {"gasoline": "Gasoline", "diesel": "Diesel", "flex_fuel": "Flex fuel (E85)",
               "hybrid": "Hybrid", "plug_in_hybrid": "Plug-in hybrid",
               "electric": "Battery electric", "cng": "CNG", "propane": "Propane",
               "unknown": "Unknown"}
STATUS_LABELS = {"active": "Active", "reserve": "Reserve", "out_of_service": "Out of service",
                 "surplus": "Surplus", "disposed": "Disposed"}
__all__ = ["CLASS_LABELS", "FUEL_LABELS", "STATUS_LABELS"]


class VehicleFields(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    unit_id: str = Field(min_length=1, max_length=64, description="The owner's unit number")
    vehicle_class: VehicleClass
    make: str | None = Field(None, max_length=60)
    model: str | None = Field(None, max_length=60)
    model_year: int | None = MODEL_YEAR.field(None)
    fuel_type: FuelType = FuelType.gasoline
    description: str | None = Field(None, max_length=200)
    department: str | None = Field(None, max_length=60)
    home_asset_id: int | None = Field(None, ge=1, le=2**31 - 1,
                                      description="Home site: an asset of the registry")
    home_lon: float | None = LON.field(None, description="Home site as a point (no asset)")
    home_lat: float | None = LAT.field(None)
    acquired_on: date | None = None
    acquisition_cost_cents: int | None = MONEY_CENTS.field(None)
    annual_maintenance_cents: int | None = MONEY_CENTS.field(None)


class VehicleIn(VehicleFields):
    """A vehicle as registered by hand or through the API. Money in integer cents."""

    status: VehicleStatus = VehicleStatus.active

    @model_validator(mode="after")
    def _home(self) -> VehicleIn:
        if (self.home_lon is None) != (self.home_lat is None):
            raise ValueError("give both home_lon and home_lat, or neither")
        if self.home_asset_id is not None and self.home_lon is not None:
            raise ValueError("give the home site as an asset or as a point, not both")
        return self


class VehicleRead(VehicleFields):
    model_config = ConfigDict(from_attributes=True, extra="ignore")
    id: int
    jurisdiction_id: int
    status: VehicleStatus
    synthetic: bool
    source: str | None
    created_at: datetime
    updated_at: datetime


class StatusChangeIn(BaseModel):
    to_status: VehicleStatus
    reason: str | None = Field(None, max_length=500)


class ReadingIn(BaseModel):
    read_at: datetime
    miles: float = ODOMETER.field()


class ReadingRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    read_at: datetime
    miles: float
    source: str
    accepted: bool
    flag: str | None


class FuelRow(BaseModel):
    """One fuel-card line as the import reads it (the presets map an export's columns)."""

    source_key: str = Field(min_length=1, max_length=100)
    unit_id: str = Field(min_length=1, max_length=64)
    occurred_at: datetime
    fuel_product: Product
    product_label: str = Field(min_length=1, max_length=100)
    quantity: float = FUEL_QUANTITY.field()
    unit: str = Field(min_length=1, max_length=10)
    cost_cents: int = LINE_CENTS.field()
    odometer: float | None = ODOMETER.field(None)


class TripRow(BaseModel):
    unit_id: str = Field(min_length=1, max_length=64)
    started_at: datetime
    ended_at: datetime
    miles: float = TRIP_MILES.field()


class ImportSummary(BaseModel):
    """What an import did (or, in a dry run, would do)."""

    kind: str
    file_name: str
    rows: int
    added: int
    unchanged: int
    updated: int
    vehicles_registered: int
    flagged: int
    notes: list[str]
    dry_run: bool


class RightSizeOut(BaseModel):
    vehicle_id: int
    unit_id: str
    jurisdiction_id: int
    vehicle_class: VehicleClass
    annual_miles: float | None
    days_used: int | None
    class_average: float | None
    threshold_pct: float = Bounds(0, 100).field()
    threshold_miles: float | None
    under_used: bool
    cost_per_mile_cents: float | None
    year: int | None
    evidence: list[str]


class PoolGroupOut(BaseModel):
    cluster: int
    vehicle_class: VehicleClass
    vehicles: int
    peak: int
    peak_at: datetime | None
    keep: int
    removable_vehicle_ids: list[int]
    savings_cents: int
    member_peaks: dict[int, int]
    pooling_gain: int


class PoolOut(BaseModel):
    radius_km: float
    reserve_pct: float
    vehicles_removable: int
    savings_cents: int
    groups: list[PoolGroupOut]
    members: dict[int, dict[str, int]]


class ElectrifyOut(BaseModel):
    vehicle_id: int
    unit_id: str
    jurisdiction_id: int
    vehicle_class: VehicleClass
    suitable: bool
    reasons: list[str]
    annual_miles: float | None
    replacement: str | None
    ice_tco_cents: float | None
    ev_tco_cents: float | None
    incremental_cents: float | None
    ice_t_co2_per_year: float | None
    ev_t_co2_per_year: float | None
    grid_source: str | None
    planned_year: int | None


class PlanOut(BaseModel):
    target_pct: float
    target_year: int
    light_duty: int
    already_electric: int
    needed: int
    chosen: int
    shortfall: int
    incremental_cents: float
    trajectory: dict[int, dict[int, dict[str, float]]]
    vehicles: list[ElectrifyOut]


def summary_dict(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")
