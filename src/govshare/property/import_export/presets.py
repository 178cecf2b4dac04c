"""The file layouts an asset import accepts (``govshare`` export, FRPP, Seattle energy
benchmarking): the :class:`~govshare.core.tabular.Preset` of each, with the converters for
its units (FRPP dollars -> integer cents, Seattle's ``1,234.5`` numbers) and its derived
fields (Seattle's ``use`` from its property types, its 2015 ``Location`` point and address).
Columns named exactly like an ``AssetIn`` field are understood by every preset; the cell
rules are ``fileio``'s, the plan and its per-row validation ``core.tabular``'s.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from govshare.core.tabular import (
    MISSING,
    CellError,
    Derived,
    Preset,
    dollars_converter,
    enum_converter,
)
from govshare.property.import_export.fileio import (
    CONVERTERS,
    FIELDS,
    JURISDICTION_COLUMN,
    LAYOUT,
    field_bounds,
)
from govshare.property.models import AssetKind, Ownership

ASSET_REQUIRED = ("asset_code", "name", "use")  # fields every preset needs a column for

# Seattle benchmarking: LargestPropertyUseType (Portfolio Manager types), then
# PrimaryPropertyType, then keywords of the property name where the types say little.
SEATTLE_USE_TYPES: dict[str, str] = {
    "office": "office", "medical office": "office", "financial office": "office",
    "large office": "office", "small- and mid-sized office": "office",
    "k-12 school": "school", "library": "library", "fire station": "fire_station",
    "police station": "police_station", "courthouse": "courthouse",
    "non-refrigerated warehouse": "warehouse", "refrigerated warehouse": "warehouse",
    "distribution center": "warehouse", "self-storage facility": "warehouse",
    "warehouse": "warehouse",
    "repair services (vehicle, shoe, locksmith, etc)": "garage_maintenance",
    "repair services (vehicle, shoe, locksmith, etc.)": "garage_maintenance",
    "other - recreation": "community_center", "fitness center/health club/gym":
    "community_center", "social/meeting hall": "community_center",
    "swimming pool": "community_center", "senior care community": "community_center",
    "parking": "other",
}
SEATTLE_NAME_KEYWORDS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bfire station\b", re.I), "fire_station"),
    (re.compile(r"\bprecinct\b", re.I), "police_station"),
    (re.compile(r"\bcourthouse\b", re.I), "courthouse"),
    (re.compile(r"\bmaintenance\b|\btransit\b.*\bbases?\b", re.I), "garage_maintenance"),
    (re.compile(r"\bcommunity cent(er|re)\b|\bpool\b", re.I), "community_center"),
    (re.compile(r"\blibrary\b", re.I), "library"),
)


def seattle_use(cells: Sequence[str]) -> str:
    """AssetUse of a Seattle benchmarking row from (LargestPropertyUseType,
    PrimaryPropertyType, PropertyName). The self-reported types are trusted first; where they
    give no specific use ("Other", or an implausible one such as three new fire stations
    filed as "Prison/Incarceration") a keyword of the name decides; else ``other``."""
    largest, primary, name = (c.strip() for c in cells)
    if not largest and not primary:
        raise CellError("needs LargestPropertyUseType or PrimaryPropertyType")
    use = SEATTLE_USE_TYPES.get(largest.casefold()) or SEATTLE_USE_TYPES.get(primary.casefold())
    if use is None or use == "other":
        for pattern, keyword_use in SEATTLE_NAME_KEYWORDS:
            if pattern.search(name):
                return keyword_use
    return use or "other"


FRPP_USES: dict[str, str] = {
    "office": "office", "office building locations": "office", "school": "school",
    "warehouses": "warehouse", "warehouse": "warehouse", "service": "garage_maintenance",
    "parks and historic sites": "park", "recreational": "park", "vacant": "vacant_land",
    "library": "library", "courthouse": "courthouse", "fire station": "fire_station",
    "police station": "police_station",
}
FRPP_STATUS = {"active": "in_use", "inactive": "vacant", "excess": "surplus",
               "disposed": "disposed", "report of excess accepted": "disposal_in_progress"}


def frpp_use(cells: Sequence[str]) -> str:
    """FRPP's Real Property Use has more categories than ours; the rest are ``other``."""
    text = cells[0].strip()
    if not text:
        raise CellError("a value is required")
    return FRPP_USES.get(text.casefold()) or _our_use(text) or "other"


def _our_use(text: str) -> str | None:
    try:
        return CONVERTERS["use"](text)  # type: ignore[no-any-return]
    except CellError:
        return None


def frpp_status(cells: Sequence[str]) -> Any:
    """Asset Status (Active/Inactive/Excess/Disposed) refined by Utilization: an active asset
    reported Underutilized is under_used, Not Utilized is vacant."""
    status, utilization = (c.strip().casefold() for c in cells)
    if not status:
        return MISSING
    mapped = FRPP_STATUS.get(status)
    if mapped is None:
        try:
            mapped = CONVERTERS["status"](status)
        except CellError:
            raise CellError("is not an FRPP asset status (Active, Inactive, Excess, "
                            "Disposed)") from None
    if mapped == "in_use" and utilization in ("underutilized", "under utilized"):
        return "under_used"
    if mapped == "in_use" and utilization in ("not utilized", "unutilized"):
        return "vacant"
    return mapped


# Seattle's 2015 file (a Socrata export) has no Latitude/Longitude/Address columns: one
# `Location` cell holds the point and the address, as a Python-style dict whose
# `human_address` is JSON text:
#   {'latitude': '47.61219025', 'longitude': '-122.33799744', 'human_address':
#    '{"address": "405 OLIVE WAY", "city": "SEATTLE", "state": "WA", "zip": "98101"}'}
SOCRATA_MAX = 2_000  # characters: a real cell has under 200
SOCRATA_PARTS = {"lat": "latitude", "lon": "longitude", "address": "address", "city": "city",
                 "zip": "zip"}
SOCRATA_SHAPE = ("is not a Socrata location ({'latitude': ..., 'longitude': ..., "
                 "'human_address': '{\"address\": ..., \"city\": ..., \"zip\": ...}'})")


@lru_cache(maxsize=1)  # one row's five fields parse its cell once
def _socrata_location(text: str) -> dict[str, str] | str:
    """The parts of a Location cell, or why it is not one."""
    text = text.strip()
    if not text:
        return {}
    if len(text) > SOCRATA_MAX:
        return f"is longer than {SOCRATA_MAX:,} characters; {SOCRATA_SHAPE}"
    try:
        outer = ast.literal_eval(text)  # literals only: never runs code
        if not isinstance(outer, dict):
            raise TypeError
        human = outer.get("human_address") or "{}"
        inner = json.loads(human) if isinstance(human, str) else human
        if not isinstance(inner, dict):
            raise TypeError
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return SOCRATA_SHAPE
    parts = {"latitude": outer.get("latitude"), "longitude": outer.get("longitude"),
             **{k: inner.get(k) for k in ("address", "city", "zip")}}
    return {k: str(v).strip() for k, v in parts.items() if v not in (None, "")}


def socrata_part(name: str) -> Any:
    """The derivation of one field (lat, lon, address, city, zip) from a Location cell,
    checked by the field's own converter."""
    key, convert = SOCRATA_PARTS[name], CONVERTERS[name]

    def compute(cells: Sequence[str]) -> Any:
        parts = _socrata_location(cells[0])
        if isinstance(parts, str):  # not a location: said once, by the first part
            if name == next(iter(SOCRATA_PARTS)):
                raise CellError(parts)
            return MISSING
        value = parts.get(key)
        if value is None:
            return None
        try:
            return convert(value)
        except CellError as exc:
            raise CellError(f"{key} {value!r} {exc}") from None
    return compute


def use_or_pm_type(text: str) -> str:
    """A use by our value or label, or by its ENERGY STAR Portfolio Manager property type
    ("K-12 School", "Fire Station"): what benchmarking files from any city give."""
    try:
        return CONVERTERS["use"](text)  # type: ignore[no-any-return]
    except CellError:
        found = SEATTLE_USE_TYPES.get(text.strip().casefold())
        if found is None:
            raise
        return found


GOVSHARE = Preset(
    name="govshare", label="govshare export",
    description="The columns of govshare's own export (field names, money in integer cents); "
                "export -> import round-trips exactly. A use may also be given as its "
                "ENERGY STAR Portfolio Manager property type (K-12 School, Fire Station).",
    layout=LAYOUT, columns={f: (f,) for f in FIELDS}, required=ASSET_REQUIRED,
    converters={"use": use_or_pm_type},
    jurisdiction_columns=(JURISDICTION_COLUMN,),
)

FRPP = Preset(
    name="frpp", label="FRPP-style (Federal Real Property Profile)",
    description="Column names of the federal FRPP public data set; money in dollars. "
                "Real Property Use categories we do not have become 'other'; Asset Status "
                "plus Utilization give the status.",
    layout=LAYOUT, required=ASSET_REQUIRED,
    columns={
        "asset_code": ("Real Property Unique Identifier", "RPUID"),
        "name": ("Real Property Name", "Real Property Asset Name", "Asset Name"),
        "kind": ("Real Property Type",),
        "ownership": ("Legal Interest", "Legal Interest Indicator"),
        "address": ("Street Address",),
        "city": ("City",),
        "zip": ("Zip Code",),
        "lat": ("Latitude",),
        "lon": ("Longitude",),
        "gross_floor_area_ft2": ("Square Feet (Buildings)", "Square Feet", "Gross Square Feet"),
        "land_area_acres": ("Acres", "Acres (Land)"),
        "year_built": ("Year Built", "Construction Date", "Year of Construction"),
        "annual_om_cost_cents": ("Annual Operating Costs",
                                 "Annual Operating and Maintenance Costs"),
        "annual_lease_cost_cents": ("Lease Annual Rent", "Lease Annual Rent to Lessor",
                                    "Annual Rent to Lessor"),
        "repair_needs_cents": ("Repair Needs",),
        "replacement_value_cents": ("Replacement Value",),
    },
    converters={
        **{f: dollars_converter(*field_bounds(f)) for f in (
            "annual_om_cost_cents", "annual_lease_cost_cents", "repair_needs_cents",
            "replacement_value_cents")},
        "kind": enum_converter(AssetKind),
        "ownership": enum_converter(Ownership, aliases={"owned": "owned", "leased": "leased",
                                                        "lease": "leased"}),
    },
    derived=(
        Derived("use", ("Real Property Use",), frpp_use),
        Derived("status", ("Asset Status", "Utilization"), frpp_status),
    ),
)

SEATTLE = Preset(
    name="seattle-benchmarking", label="Seattle building energy benchmarking",
    description="City of Seattle benchmarking columns (data.seattle.gov). Use from "
                "LargestPropertyUseType / PrimaryPropertyType / PropertyName; energy in kWh, "
                "therms and kBtu; DataYear is the energy year. The 2015 file's Location "
                "(a point with its address) gives latitude, longitude, address, city and ZIP.",
    layout=LAYOUT, required=ASSET_REQUIRED,
    columns={
        "asset_code": ("OSEBuildingID",),
        "name": ("PropertyName",),
        "pm_property_type": ("LargestPropertyUseType",),
        "address": ("Address",),
        "city": ("City",),
        "zip": ("ZipCode",),
        "lat": ("Latitude",),
        "lon": ("Longitude",),
        "year_built": ("YearBuilt",),
        "gross_floor_area_ft2": ("PropertyGFATotal",),
        "energy_year": ("DataYear",),
        "electricity_kwh": ("Electricity(kWh)",),
        "natural_gas_therms": ("NaturalGas(therms)",),
        "district_steam_kbtu": ("SteamUse(kBtu)",),
    },
    derived=(Derived("use", ("LargestPropertyUseType", "PrimaryPropertyType", "PropertyName"),
                     seattle_use, key_sources=2),
             *(Derived(name, ("Location",), socrata_part(name)) for name in SOCRATA_PARTS)),
)

PRESETS: dict[str, Preset] = {p.name: p for p in (GOVSHARE, FRPP, SEATTLE)}
