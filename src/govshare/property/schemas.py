"""Pydantic models of the property domain: AssetIn (create / import row), AssetRead,
AssetPublic (only public field groups), status transitions, proposals."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator

from govshare.property.models import (
    AssetKind,
    AssetStatus,
    AssetUse,
    Ownership,
    ProposalKind,
    ProposalStatus,
)

# Field groups an owner can publish. "identity" (name, use, kind) is public whenever any
# group is; an asset with no public group is private: invisible (404) to non-owners.
FIELD_GROUPS: dict[str, tuple[str, ...]] = {
    "identity": ("name", "kind", "use", "pm_property_type"),
    "location": ("address", "city", "zip", "lon", "lat", "footprint_geojson"),
    "size": ("gross_floor_area_ft2", "land_area_acres", "year_built"),
    "status": ("status",),
    "utilization": ("capacity", "occupancy"),
    "condition": ("repair_needs_cents", "replacement_value_cents"),
    "cost": ("ownership", "annual_lease_cost_cents", "annual_om_cost_cents",
             "annual_energy_cost_cents"),
    "energy": ("energy_year", "electricity_kwh", "natural_gas_therms", "district_steam_kbtu",
               "fuel_oil_gallons", "propane_gallons"),
}
DEFAULT_PUBLIC_GROUPS = ["identity", "location", "size", "status"]

# Portfolio Manager property types for the uses that have one.
PM_TYPES: dict[AssetUse, str | None] = {
    AssetUse.office: "Office",
    AssetUse.school: "K-12 School",
    AssetUse.library: "Library",
    AssetUse.fire_station: "Fire Station",
    AssetUse.police_station: "Police Station",
    AssetUse.courthouse: "Courthouse",
    AssetUse.warehouse: "Non-Refrigerated Warehouse",
    AssetUse.garage_maintenance: "Repair Services (Vehicle, Shoe, Locksmith, etc.)",
    AssetUse.community_center: "Social/Meeting Hall",
    AssetUse.park: None,
    AssetUse.vacant_land: None,
    AssetUse.other: "Other",
}

USE_LABELS: dict[str, str] = {
    "office": "Office", "school": "School", "library": "Library",
    "fire_station": "Fire station", "police_station": "Police station",
    "courthouse": "Courthouse", "warehouse": "Warehouse",
    "garage_maintenance": "Garage / maintenance", "community_center": "Community center",
    "park": "Park", "vacant_land": "Vacant land", "other": "Other",
}
STATUS_LABELS: dict[str, str] = {
    "in_use": "In use", "under_used": "Under-used", "vacant": "Vacant", "surplus": "Surplus",
    "disposal_in_progress": "Disposal in progress", "disposed": "Disposed",
}

MAX_MONEY_CENTS = 10**13  # $100 billion: anything larger is a unit mistake


class AssetIn(BaseModel):
    """One asset as created by hand or by an import row. Money in integer cents."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    asset_code: str = Field(min_length=1, max_length=64, description="The owner's asset id")
    name: str = Field(min_length=1, max_length=300)
    kind: AssetKind = AssetKind.building
    use: AssetUse
    pm_property_type: str | None = Field(None, max_length=100)
    address: str | None = Field(None, max_length=300)
    city: str | None = Field(None, max_length=100)
    zip: str | None = Field(None, pattern=r"^\d{5}(-\d{4})?$")
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    footprint_geojson: str | None = None
    gross_floor_area_ft2: float | None = Field(None, ge=0, le=50_000_000)
    land_area_acres: float | None = Field(None, ge=0, le=10_000_000)
    year_built: int | None = Field(None, ge=1600, le=2100)
    ownership: Ownership = Ownership.owned
    annual_lease_cost_cents: int | None = Field(None, ge=0, le=MAX_MONEY_CENTS)
    repair_needs_cents: int | None = Field(None, ge=0, le=MAX_MONEY_CENTS)
    replacement_value_cents: int | None = Field(None, ge=0, le=MAX_MONEY_CENTS)
    capacity: int | None = Field(None, ge=0, le=10_000_000)
    occupancy: int | None = Field(None, ge=0, le=10_000_000)
    annual_om_cost_cents: int | None = Field(None, ge=0, le=MAX_MONEY_CENTS)
    annual_energy_cost_cents: int | None = Field(None, ge=0, le=MAX_MONEY_CENTS)
    energy_year: int | None = Field(None, ge=1990, le=2100)
    electricity_kwh: float | None = Field(None, ge=0)
    natural_gas_therms: float | None = Field(None, ge=0)
    district_steam_kbtu: float | None = Field(None, ge=0)
    fuel_oil_gallons: float | None = Field(None, ge=0)
    propane_gallons: float | None = Field(None, ge=0)
    status: AssetStatus = AssetStatus.in_use
    public_groups: list[str] = Field(default_factory=lambda: list(DEFAULT_PUBLIC_GROUPS))
    synthetic_fields: list[str] = Field(default_factory=list)

    @field_validator("public_groups")
    @classmethod
    def _groups(cls, v: list[str]) -> list[str]:
        unknown = sorted(set(v) - set(FIELD_GROUPS))
        if unknown:
            raise ValueError(f"unknown field group(s): {', '.join(unknown)}; known: "
                             f"{', '.join(FIELD_GROUPS)}")
        if v and "identity" not in v:
            v = ["identity", *v]
        return sorted(set(v), key=list(FIELD_GROUPS).index)

    @model_validator(mode="after")
    def _consistent(self) -> AssetIn:
        if (self.lon is None) != (self.lat is None):
            raise ValueError("give both lon and lat, or neither")
        if self.ownership is Ownership.leased and self.annual_lease_cost_cents is None:
            raise ValueError("a leased asset needs annual_lease_cost_cents")
        if self.ownership is Ownership.owned and self.annual_lease_cost_cents:
            raise ValueError("an owned asset has no lease cost")
        if self.pm_property_type is None:
            self.pm_property_type = PM_TYPES.get(self.use)
        return self

    def values(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class AssetRead(AssetIn):
    model_config = ConfigDict(from_attributes=True, extra="ignore")
    id: int
    jurisdiction_id: int
    source: str | None
    created_at: datetime
    updated_at: datetime


class AssetPublic(BaseModel):
    """What anyone may see: the asset's public field groups, nothing else."""

    id: int
    jurisdiction_id: int
    jurisdiction_name: str
    public_groups: list[str]
    fields: dict[str, Any]


class AssetPage(BaseModel):
    items: list[AssetRead]
    total: int


class StatusChangeIn(BaseModel):
    to_status: AssetStatus
    reason: str | None = Field(None, max_length=500)


class StatusChangeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    from_status: AssetStatus | None
    to_status: AssetStatus
    at: datetime
    actor: str
    reason: str | None


class ProposalIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)
    kind: ProposalKind = ProposalKind.proposal
    name: str = Field(min_length=1, max_length=200)
    organisation: str | None = Field(None, max_length=200)
    contact_email: EmailStr
    proposed_use: str = Field(min_length=3, max_length=300)
    description: str = Field(min_length=10, max_length=5000)


class ProposalPublic(BaseModel):
    """A proposal as the public sees it: no name, organisation or contact details."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    asset_id: int
    kind: ProposalKind
    proposed_use: str
    status: ProposalStatus
    public_reason: str | None
    created_at: datetime


class ProposalRead(ProposalPublic):
    name: str
    organisation: str | None
    contact_email: str
    description: str


class ProposalDecision(BaseModel):
    to_status: ProposalStatus
    public_reason: str | None = Field(None, max_length=2000)
    note: str | None = Field(None, max_length=2000)
