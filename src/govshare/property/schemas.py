"""Pydantic models of the property domain: AssetIn (create / import row), AssetRead,
AssetPublic (only public field groups), status transitions, proposals."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator

from govshare.carbon.schemas import MeasureRead
from govshare.core.bounds import Bounds, out_of_bounds
from govshare.core.phones import PHONE_MAX, check_phone
from govshare.core.states import StateMachine
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
    # The deadline goes with the status: the window takes submissions only when the status is
    # published, and a refusal after the deadline says the date, so the two are public together.
    "status": ("status", "proposal_deadline"),
    "utilization": ("capacity", "occupancy"),
    "condition": ("repair_needs_cents", "replacement_value_cents"),
    "cost": ("ownership", "annual_lease_cost_cents", "annual_om_cost_cents",
             "annual_energy_cost_cents"),
    "energy": ("energy_year", "electricity_kwh", "natural_gas_therms", "district_steam_kbtu",
               "fuel_oil_gallons", "propane_gallons"),
    # Issue 9 §6, the public asset page. Each its own group, unpublished until the owner ticks
    # it: a zoning code, a person's name and telephone, and photos are not published by an
    # owner who chose groups before they existed.
    "zoning": ("zoning",),
    "contact": ("contact_name", "contact_email", "contact_phone"),
    "photos": (),  # no field: the asset's photos (table asset_photos), served by the window
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
_S, _P = AssetStatus, ProposalStatus
# The state machines of assets and of the public's proposals (core.states): every status
# change goes through them.
ASSETS = StateMachine.of(
    "asset",
    labels={_S.in_use: "In use", _S.under_used: "Under-used", _S.vacant: "Vacant",
            _S.surplus: "Surplus", _S.disposal_in_progress: "Disposal in progress",
            _S.disposed: "Disposed"},
    moves={
        _S.in_use: {_S.under_used, _S.vacant, _S.surplus},
        _S.under_used: {_S.in_use, _S.vacant, _S.surplus},
        _S.vacant: {_S.in_use, _S.under_used, _S.surplus},
        _S.surplus: {_S.in_use, _S.disposal_in_progress},
        _S.disposal_in_progress: {_S.surplus, _S.disposed},
        _S.disposed: set(),
    })
PROPOSALS = StateMachine.of(
    "proposal",
    labels={_P.received: "Received", _P.under_review: "Under review",
            _P.accepted: "Accepted", _P.declined: "Declined"},
    moves={
        _P.received: {_P.under_review, _P.declined},
        _P.under_review: {_P.accepted, _P.declined},
        _P.accepted: set(),
        _P.declined: set(),
    })
STATUS_LABELS = ASSETS.labels
PROPOSAL_STATUS_LABELS = PROPOSALS.labels

# Plausible ranges, one per kind of number (core.bounds): the API, the importer's converters
# (import_export.presets) and the reads of stored rows all take them from the fields below.
MONEY_CENTS = Bounds(0, 10**13)  # $100 billion: anything larger is a unit mistake
PEOPLE = Bounds(0, 10_000_000)
YEAR = Bounds(1600, 2100)
ENERGY_YEAR = Bounds(1990, 2100)
# Annual use of one building, parcel or structure. The largest US government buildings use a
# few hundred GWh a year; ten TWh (and its equivalent in each fuel) is past any single asset.
ELECTRICITY_KWH = Bounds(0, 10_000_000_000)
GAS_THERMS = Bounds(0, 400_000_000)  # ~ 10 TWh
STEAM_KBTU = Bounds(0, 40_000_000_000)  # ~ 10 TWh
FUEL_GALLONS = Bounds(0, 300_000_000)  # ~ 10 TWh of fuel oil; propane in the same range
# Site (land) area in acres, the one unit stored; pages also show it in ft² (43,560 ft² an
# acre). The largest single federal holdings (a national park, a range) run to a few million
# acres; ten million is past any one parcel or site.
SITE_AREA_ACRES = Bounds(0, 10_000_000)
ZONING_MAX = 100  # "C-2 Commercial", "RSL (M1) Residential Small Lot": a code and its name
CONTACT_NAME_MAX = 200
EMAIL_MAX = 254  # RFC 5321's limit on a forward path
# The WHATWG HTML "valid e-mail address" (what a browser's type=email accepts).
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}"
                    r"[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+")
# Deadlines are for proposals this decade, not typing slips (year 2206, 0027).
DEADLINE_YEARS = (2000, 2100)


def check_email(value: str) -> str:
    """A public contact's e-mail address (the rule of a browser's type=email), lower-cased
    domain; ValueError in words otherwise."""
    if len(value) > EMAIL_MAX:
        raise ValueError(f"must be at most {EMAIL_MAX} characters")
    if not _EMAIL.fullmatch(value):
        raise ValueError("is not an e-mail address (like name@example.gov)")
    local_part, _, domain = value.rpartition("@")
    return f"{local_part}@{domain.lower()}"


def check_deadline(value: date) -> date:
    lo, hi = DEADLINE_YEARS
    if not lo <= value.year <= hi:
        raise ValueError(f"must be a date between {lo} and {hi}")
    return value


class _PublicPageChecks(BaseModel):
    """The checks of the public page's fields, shared by every model that has them."""

    @field_validator("zoning", "contact_name", "contact_email", "contact_phone",
                     mode="before", check_fields=False)
    @classmethod
    def _blank_is_none(cls, v: Any) -> Any:
        return None if isinstance(v, str) and not v.strip() else v

    @field_validator("contact_email", check_fields=False)
    @classmethod
    def _email(cls, v: str | None) -> str | None:
        return None if v is None else check_email(v)

    @field_validator("contact_phone", check_fields=False)
    @classmethod
    def _phone(cls, v: str | None) -> str | None:
        return None if v is None else check_phone(v)

    @field_validator("proposal_deadline", check_fields=False)
    @classmethod
    def _deadline(cls, v: date | None) -> date | None:
        return None if v is None else check_deadline(v)


class AssetFields(_PublicPageChecks):
    """The fields of an asset, each with its type, length or range (declared once here)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    asset_code: str = Field(min_length=1, max_length=64, description="The owner's asset id")
    name: str = Field(min_length=1, max_length=300)
    kind: AssetKind = AssetKind.building
    use: AssetUse
    pm_property_type: str | None = Field(None, max_length=100)
    address: str | None = Field(None, max_length=300)
    city: str | None = Field(None, max_length=100)
    zip: str | None = Field(None, pattern=r"^\d{5}(-\d{4})?$")
    lon: float | None = Bounds(-180, 180).field(None)
    lat: float | None = Bounds(-90, 90).field(None)
    footprint_geojson: str | None = None
    gross_floor_area_ft2: float | None = Bounds(0, 50_000_000).field(None)
    land_area_acres: float | None = SITE_AREA_ACRES.field(
        None, description="Site area, acres (43,560 ft² an acre)")
    year_built: int | None = YEAR.field(None)
    ownership: Ownership = Ownership.owned
    annual_lease_cost_cents: int | None = MONEY_CENTS.field(None)
    repair_needs_cents: int | None = MONEY_CENTS.field(None)
    replacement_value_cents: int | None = MONEY_CENTS.field(None)
    capacity: int | None = PEOPLE.field(None)
    occupancy: int | None = PEOPLE.field(None)
    annual_om_cost_cents: int | None = MONEY_CENTS.field(None)
    annual_energy_cost_cents: int | None = MONEY_CENTS.field(None)
    energy_year: int | None = ENERGY_YEAR.field(None)
    electricity_kwh: float | None = ELECTRICITY_KWH.field(None)
    natural_gas_therms: float | None = GAS_THERMS.field(None)
    district_steam_kbtu: float | None = STEAM_KBTU.field(None)
    fuel_oil_gallons: float | None = FUEL_GALLONS.field(None)
    propane_gallons: float | None = FUEL_GALLONS.field(None)
    status: AssetStatus = AssetStatus.in_use
    proposal_deadline: date | None = Field(
        None, description="Last day proposals are taken, in the region's time zone (through "
        "the end of that day); later proposals are refused")
    interchangeable: bool = Field(
        True, description="Whether its space can take in, or move into, another building of "
        "the same use (false for a justice center among offices, or a lab): consolidation "
        "leaves the others out")
    zoning: str | None = Field(None, max_length=ZONING_MAX,
                               description='Zoning, e.g. "C-2 Commercial"')
    contact_name: str | None = Field(None, max_length=CONTACT_NAME_MAX,
                                     description="Public contact for the property")
    contact_email: str | None = Field(None, max_length=EMAIL_MAX)
    contact_phone: str | None = Field(None, max_length=PHONE_MAX)
    public_groups: list[str] = Field(default_factory=lambda: list(DEFAULT_PUBLIC_GROUPS))
    synthetic_fields: list[str] = Field(default_factory=list)


class AssetIn(AssetFields):
    """One asset as created by hand or by an import row. Money in integer cents."""

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
        """The fields as stored: enums as their values, a day as a date."""
        out = self.model_dump(mode="json")
        out["proposal_deadline"] = self.proposal_deadline
        return out


def stored_values(row: Any) -> tuple[dict[str, Any], list[str]]:
    """An asset row's fields as they may be shown or computed with, and the fields left out:
    a number stored outside its range (before the range existed) reads as None, and a
    location with either coordinate out of range as no location."""
    values = {name: getattr(row, name) for name in AssetFields.model_fields}
    bad = out_of_bounds(AssetFields, values)
    if "lon" in bad or "lat" in bad:
        bad = sorted(set(bad) | {"lon", "lat"}, key=list(AssetFields.model_fields).index)
    for name in bad:
        values[name] = None
    return values, bad


class AssetRead(AssetFields):
    """An asset as stored. The input rules are not applied again: a value stored before its
    range existed is shown as null and named in ``out_of_range`` (its owner should correct
    it), instead of failing the read."""

    model_config = ConfigDict(from_attributes=True, extra="ignore")
    id: int
    jurisdiction_id: int
    source: str | None
    created_at: datetime
    updated_at: datetime
    out_of_range: list[str] = Field(
        default_factory=list, description="Fields whose stored value is outside the field's "
        "range; shown as null and left out of true cost until corrected")

    @model_validator(mode="before")
    @classmethod
    def _stored(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return data
        values, bad = stored_values(data)
        return {**values, "id": data.id, "jurisdiction_id": data.jurisdiction_id,
                "source": data.source, "created_at": data.created_at,
                "updated_at": data.updated_at, "out_of_range": bad}

    @field_validator("contact_phone")
    @classmethod
    def _phone(cls, v: str | None) -> str | None:
        """Replaces the input check (same name): a stored number is shown written the one way
        (core.phones), and one stored under the earlier, looser rule that the check now
        refuses is shown as stored, instead of failing the read; the next save corrects it."""
        if v is None:
            return None
        try:
            return check_phone(v)
        except ValueError:
            return v


# The fields of the public asset page an owner edits on the asset's page (the whole asset
# goes through AssetIn on the API and in files).
LISTING_FIELDS = ("land_area_acres", "zoning", "contact_name", "contact_email",
                  "contact_phone", "proposal_deadline")
LISTING_LABELS = {"land_area_acres": "Site area (acres)", "zoning": "Zoning",
                  "contact_name": "Contact name", "contact_email": "Contact e-mail address",
                  "contact_phone": "Contact telephone",
                  "proposal_deadline": "Proposal deadline"}


class ListingIn(_PublicPageChecks):
    """The public page's fields, as the asset's page edits them: each declared as on
    ``AssetFields`` (copied from there below, so ranges and lengths cannot drift)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


ListingIn.model_fields.update({f: AssetFields.model_fields[f] for f in LISTING_FIELDS})
ListingIn.model_rebuild(force=True)

PHOTO_ALT_MAX = 300
MAX_PHOTOS = 20  # photos an asset may have


class PhotoIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)
    alt_text: str = Field(min_length=3, max_length=PHOTO_ALT_MAX,
                          description="What the photo shows, for people who cannot see it")


class PhotoPublic(BaseModel):
    """A published photo: where it is, what it shows, its size in pixels."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    url: str = Field(description="Where the photo is served: an absolute URL in the JSON API "
                     "and the feeds")
    thumbnail_url: str = Field(description="Where a small copy is served (320 pixels on its "
                               "longer side, or the photo itself if no larger), for lists: "
                               "an absolute URL in the JSON API")
    alt_text: str
    content_type: str
    width: int
    height: int
    synthetic: bool = False


class AssetPublic(BaseModel):
    """What anyone may see: the asset's public field groups, nothing else (and its photos
    when it publishes the ``photos`` group)."""

    id: int
    jurisdiction_id: int
    jurisdiction_name: str
    public_groups: list[str]
    fields: dict[str, Any]
    photos: list[PhotoPublic] = Field(
        default_factory=list, description="Its published photos, oldest first; empty unless "
        "the asset publishes its photos group")


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
    organization: str | None = Field(None, max_length=200)
    contact_email: EmailStr
    proposed_use: str = Field(min_length=3, max_length=300)
    description: str = Field(min_length=10, max_length=5000)


class ProposalPublic(BaseModel):
    """A proposal as the public sees it: no name, organization or contact details."""

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
    organization: str | None
    contact_email: str
    description: str


class ProposalDecision(BaseModel):
    to_status: ProposalStatus
    public_reason: str | None = Field(None, max_length=2000)
    note: str | None = Field(None, max_length=2000)


# The consolidation page's ranges, defined once (casebook's "make it a proposal" uses them).
CONSOLIDATION_KM = Bounds(0.1, 1_000)
CONSOLIDATION_SITES = Bounds(1, 100_000)
TRAVEL_DOLLARS = Bounds(0, 10_000)  # $ per person-km a year
# Packing, movers, IT and phones reconnected: office moves run about $1,000-$2,000 a
# person; $50,000 is past any move of one person's things.
MOVE_DOLLARS = Bounds(0, 50_000)
# A workstation, cabling and light partitions for each person a building takes in: a few
# thousand dollars; $100,000 a person is a new building, not a fit-out.
FITOUT_DOLLARS = Bounds(0, 100_000)
# What a guest pays its host each year for each place it uses, as a share of the host
# building's annual cost per place (true cost without vacancy / capacity). 100% is
# cost recovery; 300% would be far above any market rent.
CHARGE_PCT = Bounds(0, 300)
# How long the solver may work on one plan. A minute proves most regions' plans; a state's
# registry where buildings dominate the cost needs longer to narrow its gap (bench/results:
# the 2,000 x 10,000 registry 0.56% at 2 minutes, 0.015% at 30, proven in 38 at a limit of
# 60). An hour is the most a planner waits for one plan (a solve holds one of the server's
# two solver slots, and a region solved in parts both cores, until it ends or is stopped).
SOLVE_MINUTES = Bounds(1, 60)
SOLVE_MINUTES_CHOICES = (1, 5, 15, 60)
"""What the page offers (any whole number of minutes within SOLVE_MINUTES is accepted)."""


class ConsolidationIn(BaseModel):
    """The consolidation page's numbers, each within its range (the page shows the labels).

    The one definition of each: label (description), plausible range and default. The
    one-time costs and the occupancy charge do not change which buildings the plan keeps
    (it minimizes the annual cost); they give each member's one-time cost, its net after
    charges and the payback year."""

    max_km: float = CONSOLIDATION_KM.field(description="Farthest move (km)")
    max_sites: int | None = CONSOLIDATION_SITES.field(
        None, description="At most this many buildings")
    travel: float = TRAVEL_DOLLARS.field(
        description="Travel cost, $ per person-km per year")
    move_cost: float = MOVE_DOLLARS.field(
        1_500, description="Moving cost, $ per person who moves (once)")
    fitout_cost: float = FITOUT_DOLLARS.field(
        5_000, description="Fit-out cost, $ per person a building takes in (once)")
    charge_pct: float = CHARGE_PCT.field(
        100, description="Occupancy charge, % of the host building's annual cost per place")
    keep_together: bool = Field(
        False, description="Keep each building's occupants together")
    minutes: int = SOLVE_MINUTES.field(1, description="Time for the solver (minutes)")


# What the plan assumes of each building's occupants, in words (the page, the casebook's
# description): keep_together (single-source) or not (split demand).
CONSOLIDATION_MODELS: dict[bool, str] = {
    True: "Each building's occupants move together to one building",
    False: "Occupants of a building may be split among several buildings",
}
KEEP_TOGETHER_HINT = ("Off: the plan may send some of a building's people to one building "
                      "and the rest to another, if that costs less. On: everyone in a "
                      "building moves as one, which can cost more.")

CONSOLIDATION_SOURCES: dict[str, str] = {
    "move_cost": "assumed: packing, movers and reconnecting IT for one person (office moves "
                 "run about $1,000-$2,000 a person); replace with a quote",
    "fitout_cost": "assumed: a workstation, cabling and light partitions for each person a "
                   "building takes in; replace with a quote",
    "charge_pct": "cost recovery: each guest pays its host the host building's annual true "
                  "cost (without vacancy) divided by its capacity, per person housed, times "
                  "this percentage",
}


class ConsolidationCarbonIn(BaseModel):
    """A consolidation plan to add to the carbon plan: the inputs that decide which buildings
    it closes (``ConsolidationIn``'s ranges; the one-time costs and the charge do not change
    the choice), the buildings kept or closed by hand, and the year the measures take
    effect (empty: next year in the region's time zone)."""

    model_config = ConfigDict(extra="forbid")

    use: AssetUse
    max_km: float | None = Bounds(0.1, 1_000).field(
        None, description="Farthest move (km); empty: the plan's default, 15")
    max_sites: int | None = Bounds(1, 100_000).field(
        None, description="At most this many buildings")
    travel: float | None = Bounds(0, 10_000).field(
        None, description="Travel cost, $ per person-km per year; empty: the plan's default")
    keep_together: bool = Field(
        False, description=ConsolidationIn.model_fields["keep_together"].description)
    keep: list[Annotated[int, Bounds(1, 2**31 - 1).field()]] = Field(
        default_factory=list, max_length=1000, description="Buildings kept by hand (ids)")
    close: list[Annotated[int, Bounds(1, 2**31 - 1).field()]] = Field(
        default_factory=list, max_length=1000, description="Buildings closed by hand (ids)")
    start_year: int | None = Bounds(2000, 2100).field(
        None, description="First year the measures take effect (empty: next year)")
    minutes: int = SOLVE_MINUTES.field(
        1, description="Time the solver had for the plan (minutes): the finished plan of "
        "that solve is used when this server still keeps it; a plan of more than 1 minute "
        "is not solved again inside a request")


class BuildingCarbon(BaseModel):
    asset_id: int
    name: str
    t_co2e: float | None = None
    reason: str | None = None  # why it is left out


class MemberCarbonOut(BaseModel):
    """One member's closed buildings: their recorded emissions in the member's latest whole
    inventory year (location-based), and those left out with the reason."""

    jurisdiction_id: int
    jurisdiction: str
    year: int | None
    t_co2e_per_year: float
    counted: list[BuildingCarbon]
    left_out: list[BuildingCarbon]


class ConsolidationCarbonOut(BaseModel):
    origin: str
    link: str
    start_year: int
    replaced: int
    measures: list[MeasureRead]
    members: list[MemberCarbonOut]
    not_modeled: str
