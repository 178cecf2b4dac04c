"""Pydantic models of the carbon domain: what other domains hand to ``carbon.service``
(:class:`ActivityIn`), what the inventory answers, factor sets, targets."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from govshare.carbon.calc import ACTIVITIES, Boundary, Method, Sector
from govshare.core.bounds import Bounds

QUANTITY = Bounds(-1e12, 1e12)  # negative only where the meter is net (checked in service)
GFA = Bounds(0, 1e8)
YEAR = Bounds(1990, 2100)
PCT = Bounds(0, 100)
LON = Bounds(-180, 180)
LAT = Bounds(-90, 90)
ROW_ID = Bounds(1, 2**31 - 1)  # an INTEGER column's ids (core.http.MAX_ID)


class ActivityIn(BaseModel):
    """One period of one activity of one emitting asset, as a source domain records it.

    ``source_key`` is the asset's stable id in the recording domain (e.g. property's asset
    id, fleet's vehicle id); ``jurisdiction_id`` is the member with operational control.
    Location is ``subregion`` (eGRID), else ``zip``, else ``lon``/``lat``; electricity needs
    one of them. ``utility`` names the market-based factor's match key (e.g.
    ``seattle-city-light``). Vehicle miles need ``vehicle_type`` (a Hub 2025 Table 3/4 type,
    e.g. ``Gasoline Passenger Cars``, ``Diesel Light-Duty Trucks``) and ``model_year``. Fuel
    burned off-road (sector ``equipment``, or any row naming ``equipment_type``) takes Hub
    2025 Table 5's CH4 and N2O per gallon besides the fuel's CO2.
    """

    model_config = ConfigDict(extra="forbid")

    source_key: str = Field(min_length=1, max_length=120)
    jurisdiction_id: int = ROW_ID.field()
    name: str = Field(min_length=1, max_length=300)
    sector: Sector = Sector.buildings
    boundary: Boundary = Boundary.government
    activity: str
    quantity: float = QUANTITY.field()
    unit: str = Field(min_length=1, max_length=20)
    period_start: date
    period_end: date
    vehicle_type: str | None = Field(None, max_length=100)
    model_year: int | None = YEAR.field(None)
    # Off-road equipment's fuel (Hub 2025 Table 5, CH4 and N2O per gallon): the equipment
    # type (e.g. ``Construction/Mining Equipment``) and the table's fuel line (e.g. ``Diesel
    # Equipment``, ``Gasoline (2 stroke)``); fuel of the equipment sector takes
    # ``Construction/Mining Equipment`` and its most common engine when they are not given.
    equipment_type: str | None = Field(None, max_length=60)
    equipment_fuel: str | None = Field(None, max_length=60)
    subregion: str | None = Field(None, max_length=10)
    zip: str | None = Field(None, max_length=10)
    lon: float | None = LON.field(None)
    lat: float | None = LAT.field(None)
    utility: str | None = Field(None, max_length=80)
    property_type: str | None = Field(None, max_length=100)
    gross_floor_area_ft2: float | None = GFA.field(None)
    net_metered: bool = False
    shared_with: list[Annotated[int, ROW_ID.field()]] = Field(default_factory=list,
                                                              max_length=50)
    published_t_co2e: float | None = Bounds(-1e9, 1e9).field(None)

    @field_validator("activity")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in ACTIVITIES:
            raise ValueError(f"unknown activity {v!r} (known: {', '.join(ACTIVITIES)})")
        return v

    @model_validator(mode="after")
    def _period(self) -> ActivityIn:
        if self.period_end < self.period_start:
            raise ValueError("period_end is before period_start (a reversed period)")
        if self.activity == "vehicle_miles" and (not self.vehicle_type or not self.model_year):
            raise ValueError("vehicle miles need vehicle_type and model_year")
        return self


class RecordResult(BaseModel):
    sources: int
    periods: int
    years: list[int]
    replaced_periods: int


class InventoryRow(BaseModel):
    """One line of an inventory: the key it is grouped by and tonnes by method."""

    jurisdiction_id: int | None = None
    jurisdiction: str | None = None
    year: int
    sector: str | None = None
    scope: str | None = None
    gas: str | None = None
    source_id: int | None = None
    source: str | None = None
    t_gas: float | None = Field(None, description="Tonnes of the gas itself (by gas only)")
    t_co2e_location: float
    t_co2e_market: float
    t_biogenic_co2: float = 0.0


class Gap(BaseModel):
    """Activity the inventory could not compute: never a silent zero."""

    jurisdiction_id: int
    source_id: int | None = None
    year: int
    activity: str
    detail: str
    quantity: float
    reason: str


class Inventory(BaseModel):
    factor_set: str
    gwp_set: str
    by: str
    boundary: str
    rows: list[InventoryRow]
    gaps: list[Gap]
    total_location: float
    total_market: float


class Rollup(BaseModel):
    """The region counted once (operational control) against members' own inventories summed."""

    year: int
    method: Method
    region_t: float
    naive_t: float
    double_counted_t: float
    shared_sources: int


class FactorSetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=2, max_length=80, pattern=r"^[a-z0-9][a-z0-9._-]*$")
    title: str = Field(min_length=2, max_length=300)
    edition: str = Field(min_length=1, max_length=100)
    publisher: str = Field(min_length=1, max_length=300)
    year_from: int = YEAR.field()
    year_to: int = YEAR.field()
    notes: str | None = Field(None, max_length=2000)

    @model_validator(mode="after")
    def _years(self) -> FactorSetIn:
        if self.year_to < self.year_from:
            raise ValueError("year_to is before year_from")
        return self


class FactorSetRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    title: str
    edition: str
    publisher: str
    year_from: int
    year_to: int
    builtin: bool
    notes: str | None


class FactorRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    activity: str
    detail: str
    basis: str
    match_key: str
    gas: str
    value: float
    unit: str
    kg_per_unit: float
    source_table: str
    note: str


class GridFactor(BaseModel):
    """The location-based electricity factor at a place (fleet's electrification uses it)."""

    subregion: str
    subregion_name: str
    factor_set: str
    edition: str
    gwp_set: str
    kg_co2e_per_mwh: float
    kg_per_mwh: dict[str, float]
    source: str


class TargetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    jurisdiction_id: int | None = ROW_ID.field(None)
    base_year: int = YEAR.field()
    target_year: int = YEAR.field()
    reduction_pct: float = PCT.field()
    label: str = Field(min_length=1, max_length=200)
    synthetic: bool = False

    @model_validator(mode="after")
    def _years(self) -> TargetIn:
        if self.target_year <= self.base_year:
            raise ValueError("target_year must come after base_year")
        return self


class MeasureIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    jurisdiction_id: int = ROW_ID.field()
    source_id: int | None = ROW_ID.field(None)
    kind: str = Field(pattern=r"^(retrofit|electrification|consolidation|other)$")
    name: str = Field(min_length=1, max_length=300)
    start_year: int = YEAR.field()
    t_co2e_per_year: float = Bounds(0, 1e9).field()
    cost_cents: int | None = Bounds(0, 10**13).field(None)
    synthetic: bool = False


class BenchmarkRow(BaseModel):
    """One building of a community benchmarking file (a benchmarking ordinance's data set)."""

    building_id: str = Field(min_length=1, max_length=60)
    name: str = Field(min_length=1, max_length=300)
    data_year: int = YEAR.field()
    zip: str | None = Field(None, max_length=10)
    lat: float | None = LAT.field(None)
    lon: float | None = LON.field(None)
    property_type: str | None = Field(None, max_length=100)
    gross_floor_area_ft2: float | None = GFA.field(None)
    electricity_kwh: float | None = Bounds(-1e10, 1e10).field(None)
    natural_gas_therms: float | None = Bounds(-1e9, 1e9).field(None)
    district_steam_kbtu: float | None = Bounds(-1e11, 1e11).field(None)
    published_t_co2e: float | None = Bounds(-1e7, 1e7).field(None)


class BenchmarkResult(BaseModel):
    file: str
    buildings: int
    periods: int
    years: list[int]
    replaced_periods: int
    without_energy: list[str]
    unplaced_columns: dict[str, int]


class TargetRead(TargetIn):
    """A stored target (``jurisdiction_id`` null: the region's own)."""

    model_config = ConfigDict(from_attributes=True)

    id: int


class MeasureRead(BaseModel):
    """A stored planned measure: ``t_co2e_per_year`` is subtracted from business as usual in
    every year from ``start_year``. ``origin`` names the analysis that wrote it (e.g.
    ``property.consolidation:office``; null when entered by hand) and ``link`` the page it
    came from."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    jurisdiction_id: int
    source_id: int | None
    kind: str
    name: str
    start_year: int
    t_co2e_per_year: float
    cost_cents: int | None
    synthetic: bool
    origin: str | None = None
    link: str | None = None


class YearValue(BaseModel):
    year: int
    t_co2e: float


class HistoryYear(YearValue):
    """An inventory year; ``partial`` when it lacks sectors of the reference year (named in
    ``missing_sectors``): shown, never judged against the trajectory nor fitted."""

    partial: bool = False
    missing_sectors: list[str] = Field(default_factory=list)


class ProgressRead(BaseModel):
    """A member's (or the region's) emissions against its targets. Every figure is t CO2e a
    year under ``method``, ``factor_set`` and ``gwp_set``; ``formulas`` says how each series
    is made."""

    label: str
    jurisdiction_id: int | None
    unit: str = "t CO2e/year"
    method: Method
    factor_set: str
    gwp_set: str
    history: list[HistoryYear]
    targets: list[TargetRead]
    trajectory: list[YearValue]
    bau: list[YearValue]
    with_measures: list[YearValue]
    measures: list[MeasureRead]
    latest_year: int | None
    on_track: bool | None
    base_missing: bool
    formulas: dict[str, str]


class GwpRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    gas: str
    value: float
    source: str


class GwpSetRead(BaseModel):
    """A set of global warming potentials (100-year, relative to CO2 = 1)."""

    name: str
    builtin: bool
    gases: list[GwpRead]
