"""Pure carbon arithmetic: activities and their units, the one place for unit conversions,
LGOP sectors and scopes, factor rows and their checks, targets and trajectories, site and
source EUI. No database, no web framework, no other domain.

Conversions. Every activity has one canonical unit (MWh for electricity, MMBtu for natural gas
and steam, US gallons for liquid fuels, scf for CNG, miles for vehicle miles, kg for refrigerant
released). :func:`to_canonical` converts any accepted unit of the activity to it, the only place
quantities change unit; :func:`factor_to_kg_per_canonical` converts a published factor (``kg/
mmbtu``, ``g/mile``, ``lb/mwh`` ...) to kg of gas per canonical unit, the only place factors do.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

# ------------------------------------------------------------------------------------ units

KG_PER_LB = 0.45359237  # exact, by definition of the avoirdupois pound
KG_PER = {"kg": 1.0, "g": 0.001, "lb": KG_PER_LB, "t": 1000.0, "mt": 1000.0}
# Energy in MMBtu (higher heating value); 1 kWh = 3,412.14 Btu.
MMBTU_PER = {"mmbtu": 1.0, "kbtu": 1e-3, "btu": 1e-6, "therm": 0.1, "dth": 1.0,
             "mwh": 3.41214, "kwh": 3.41214e-3, "gj": 0.947817}
# Volume in US gallons.
GALLON_PER = {"gallon": 1.0, "gal": 1.0, "l": 0.264172052, "liter": 0.264172052,
              "m3": 264.172052}
# Gas volume in standard cubic feet.
SCF_PER = {"scf": 1.0, "ccf": 100.0, "mcf": 1000.0}
MILE_PER = {"mile": 1.0, "mi": 1.0, "km": 0.621371192}
# Heat content used to convert natural gas volume to energy (Hub 2025 Table 1: 0.001026
# MMBtu per scf).
NATURAL_GAS_MMBTU_PER_SCF = 0.001026


class Dim(StrEnum):
    energy = "energy"
    volume = "volume"
    gas_volume = "gas_volume"
    distance = "distance"
    mass = "mass"


DIM_UNITS: dict[Dim, dict[str, float]] = {
    Dim.energy: MMBTU_PER, Dim.volume: GALLON_PER, Dim.gas_volume: SCF_PER,
    Dim.distance: MILE_PER, Dim.mass: KG_PER,
}


class Scope(StrEnum):
    s1 = "1"
    s2 = "2"
    s3 = "3"


@dataclass(frozen=True)
class Activity:
    key: str
    label: str
    dim: Dim
    unit: str  # canonical unit, within dim
    scope: Scope
    may_be_negative: bool = False  # net-metered electricity can export more than it uses


ACTIVITIES: dict[str, Activity] = {a.key: a for a in (
    Activity("electricity", "Electricity", Dim.energy, "mwh", Scope.s2, may_be_negative=True),
    Activity("district_steam", "Purchased steam", Dim.energy, "mmbtu", Scope.s2),
    Activity("natural_gas", "Natural gas", Dim.energy, "mmbtu", Scope.s1),
    Activity("fuel_oil", "Fuel oil No. 2", Dim.volume, "gallon", Scope.s1),
    Activity("residual_fuel_oil", "Residual fuel oil No. 6", Dim.volume, "gallon", Scope.s1),
    Activity("kerosene", "Kerosene", Dim.volume, "gallon", Scope.s1),
    Activity("propane", "Propane", Dim.volume, "gallon", Scope.s1),
    Activity("wood", "Wood", Dim.energy, "mmbtu", Scope.s1),
    Activity("gasoline", "Motor gasoline", Dim.volume, "gallon", Scope.s1),
    Activity("diesel", "Diesel", Dim.volume, "gallon", Scope.s1),
    Activity("biodiesel", "Biodiesel (B100)", Dim.volume, "gallon", Scope.s1),
    Activity("ethanol", "Ethanol (E100)", Dim.volume, "gallon", Scope.s1),
    Activity("lpg", "LPG (vehicles)", Dim.volume, "gallon", Scope.s1),
    Activity("lng", "LNG (vehicles)", Dim.volume, "gallon", Scope.s1),
    Activity("cng", "CNG (vehicles)", Dim.gas_volume, "scf", Scope.s1),
    Activity("jet_fuel", "Jet fuel", Dim.volume, "gallon", Scope.s1),
    Activity("aviation_gasoline", "Aviation gasoline", Dim.volume, "gallon", Scope.s1),
    Activity("vehicle_miles", "Vehicle miles (CH4, N2O)", Dim.distance, "mile", Scope.s1),
    Activity("refrigerant", "Refrigerant released", Dim.mass, "kg", Scope.s1),
)}


class UnitError(ValueError):
    """A unit the activity does not take, or a quantity that cannot be converted."""


def norm_unit(unit: str) -> str:
    u = unit.strip().lower().replace(" ", "").replace("_", "")
    return {"gallons": "gallon", "gals": "gallon", "therms": "therm", "miles": "mile",
            "litres": "l", "liters": "l", "litre": "l", "kilometers": "km", "lbs": "lb",
            "mmbtus": "mmbtu", "kwhs": "kwh", "m³": "m3"}.get(u, u)


def to_canonical(activity: str, quantity: float, unit: str) -> float:
    """``quantity`` of ``unit`` in the activity's canonical unit (the one conversion place)."""
    act = ACTIVITIES.get(activity)
    if act is None:
        raise UnitError(f"unknown activity {activity!r} (known: {', '.join(ACTIVITIES)})")
    if not math.isfinite(quantity):
        raise UnitError("quantity is not a finite number")
    u = norm_unit(unit)
    table = DIM_UNITS[act.dim]
    if u in table:
        return quantity * table[u] / table[act.unit]
    if activity == "natural_gas" and u in SCF_PER:
        return quantity * SCF_PER[u] * NATURAL_GAS_MMBTU_PER_SCF
    accepted = sorted(table) + (sorted(SCF_PER) if activity == "natural_gas" else [])
    raise UnitError(f"unit {unit!r} is not a unit of {act.label.lower()} "
                    f"(accepted: {', '.join(accepted)})")


def factor_to_kg_per_canonical(activity: str, value: float, unit: str) -> float:
    """A published factor (``<mass>/<unit>``, e.g. ``lb/mwh``) as kg of gas per canonical unit."""
    if "/" not in unit:
        raise UnitError(f"factor unit {unit!r} must be <mass>/<unit>, e.g. kg/mmbtu")
    mass, per = (norm_unit(p) for p in unit.split("/", 1))
    if mass not in KG_PER:
        raise UnitError(f"factor mass unit {mass!r} unknown (accepted: {', '.join(KG_PER)})")
    # value kg per 1 `per` = value / (canonical units in one `per`)
    return value * KG_PER[mass] / to_canonical(activity, 1.0, per)


def mile_detail(vehicle_type: str, model_year: int) -> str:
    """The detail key of vehicle miles: the Hub's vehicle type and the model year."""
    return f"{vehicle_type}|{model_year}"


# ------------------------------------------------------------------------------- sectors

class Sector(StrEnum):
    """LGOP 1.1 sectors of government operations (plus the community's buildings)."""

    buildings = "buildings"
    streetlights = "streetlights"
    water_wastewater = "water_wastewater"
    vehicle_fleet = "vehicle_fleet"
    transit_fleet = "transit_fleet"
    equipment = "equipment"
    solid_waste = "solid_waste"
    other = "other"


SECTOR_LABELS = {
    Sector.buildings: "Buildings & facilities",
    Sector.streetlights: "Streetlights & traffic signals",
    Sector.water_wastewater: "Water & wastewater",
    Sector.vehicle_fleet: "Vehicle fleet",
    Sector.transit_fleet: "Transit fleet",
    Sector.equipment: "Equipment",
    Sector.solid_waste: "Solid waste",
    Sector.other: "Other",
}


class Boundary(StrEnum):
    government = "government"  # the member's own operations (LGOP)
    community = "community"  # a community dataset, e.g. a benchmarking ordinance's buildings


class Basis(StrEnum):
    any = "any"
    location = "location"
    market = "market"


class Method(StrEnum):
    location = "location"
    market = "market"


GASES_IN_CO2E = ("CO2", "CH4", "N2O", "CO2e")  # others: HFCs etc. via the GWP set
BIOGENIC = "CO2_biogenic"

# ------------------------------------------------------------------------- factor rows

FACTOR_COLUMNS = ("activity", "detail", "basis", "match_key", "gas", "value", "unit",
                  "source_table", "note")


@dataclass(frozen=True)
class FactorRow:
    activity: str
    detail: str
    basis: str
    match_key: str
    gas: str
    value: float  # as published
    unit: str  # as published
    kg_per_unit: float  # kg gas per canonical unit
    source_table: str
    note: str


def parse_factor(row: Mapping[str, str | None], gases: Iterable[str]) -> FactorRow:
    """One factor row, checked; raises ``ValueError(field, reason)`` on the first problem."""
    def cell(k: str) -> str:
        return (row.get(k) or "").strip()
    activity = cell("activity")
    if activity not in ACTIVITIES:
        raise FactorProblem("activity", f"unknown activity {activity!r}")
    basis = cell("basis") or "any"
    if basis not in Basis.__members__:
        raise FactorProblem("basis", "basis must be any, location or market")
    gas = cell("gas")
    if gas not in set(gases):
        raise FactorProblem("gas", f"gas {gas!r} is not in the GWP sets")
    try:
        value = float(cell("value").replace(",", ""))
    except ValueError:
        raise FactorProblem("value", "not a number") from None
    if not math.isfinite(value) or value < 0 or value > 1e7:
        raise FactorProblem("value", "must be a finite number from 0 to 10,000,000")
    unit = cell("unit")
    try:
        kg = factor_to_kg_per_canonical(activity, value, unit)
    except UnitError as e:
        raise FactorProblem("unit", str(e)) from None
    return FactorRow(activity, cell("detail"), basis, cell("match_key"), gas, value, unit, kg,
                     cell("source_table")[:300], cell("note")[:500])


class FactorProblem(ValueError):
    def __init__(self, column: str, reason: str) -> None:
        super().__init__(reason)
        self.column = column
        self.reason = reason


def duplicate_problems(rows: list[FactorRow]) -> list[tuple[int, str, str]]:
    """(index, column, reason) for a factor given twice, or a gas given both for every detail
    and for a named detail (it would be counted twice)."""
    out: list[tuple[int, str, str]] = []
    seen: set[tuple[str, str, str, str, str]] = set()
    generic = {(r.activity, r.basis, r.match_key, r.gas) for r in rows if not r.detail}
    for i, r in enumerate(rows):
        key = (r.activity, r.detail, r.basis, r.match_key, r.gas)
        if key in seen:
            out.append((i, "gas", "the same factor is given twice"))
        seen.add(key)
        if r.detail and (r.activity, r.basis, r.match_key, r.gas) in generic:
            out.append((i, "detail", "this gas already has a factor for every detail"))
    return out


# ------------------------------------------------------------------------- targets

@dataclass(frozen=True)
class Target:
    base_year: int
    target_year: int
    reduction_pct: float  # 50 = -50% against the base year; 100 = net zero


def trajectory(base_t: float, targets: list[Target], years: Iterable[int]) -> dict[int, float]:
    """The linear path from the base year's emissions through each target, per year."""
    pts = sorted({(t.target_year, base_t * (1 - t.reduction_pct / 100)) for t in targets})
    if not targets:
        return {}
    base_year = min(t.base_year for t in targets)
    knots = [(base_year, base_t), *pts]
    out: dict[int, float] = {}
    for y in years:
        if y < base_year:
            continue
        for (y0, v0), (y1, v1) in zip(knots, knots[1:], strict=False):
            if y0 <= y <= y1:
                out[y] = v0 + (v1 - v0) * (y - y0) / (y1 - y0) if y1 != y0 else v1
                break
        else:
            if y >= knots[-1][0]:
                out[y] = knots[-1][1]
    return out


def on_track(actual_t: float, path_t: float, tolerance_pct: float = 0.0) -> bool:
    return actual_t <= path_t * (1 + tolerance_pct / 100)


def bau_forecast(history: Mapping[int, float], years: Iterable[int]) -> dict[int, float]:
    """Business as usual: the least-squares line through the history (flat with one year)."""
    pts = sorted(history.items())
    if not pts:
        return {}
    if len(pts) == 1:
        return {y: pts[0][1] for y in years}
    n = len(pts)
    mx = sum(x for x, _ in pts) / n
    my = sum(y for _, y in pts) / n
    sxx = sum((x - mx) ** 2 for x, _ in pts)
    slope = sum((x - mx) * (y - my) for x, y in pts) / sxx if sxx else 0.0
    return {y: max(0.0, my + slope * (y - mx)) for y in years}


# --------------------------------------------------------------------------- EUI

# ENERGY STAR Portfolio Manager source-site ratios (U.S., Technical Reference "Source
# Energy", August 2023): electricity 2.80, natural gas 1.05, district steam 1.20, fuel oil
# and propane 1.01.
SOURCE_SITE_RATIO = {"electricity": 2.80, "natural_gas": 1.05, "district_steam": 1.20,
                     "fuel_oil": 1.01, "propane": 1.01, "kerosene": 1.01, "wood": 1.0}
# Site energy of each building activity in kBtu per canonical unit.
KBTU_PER_CANONICAL = {"electricity": 3412.14, "natural_gas": 1000.0, "district_steam": 1000.0,
                      "wood": 1000.0, "fuel_oil": 138.0, "propane": 91.0, "kerosene": 135.0}


@dataclass
class Eui:
    site_kbtu: float = 0.0
    source_kbtu: float = 0.0
    by_fuel: dict[str, float] = field(default_factory=dict)

    def site_eui(self, gfa_ft2: float | None) -> float | None:
        return self.site_kbtu / gfa_ft2 if gfa_ft2 else None

    def source_eui(self, gfa_ft2: float | None) -> float | None:
        return self.source_kbtu / gfa_ft2 if gfa_ft2 else None


def eui(quantities: Mapping[str, float]) -> Eui:
    """Site and source energy (kBtu) of a building's canonical quantities by activity."""
    e = Eui()
    for act, q in quantities.items():
        kbtu = KBTU_PER_CANONICAL.get(act)
        if kbtu is None:
            continue
        site = q * kbtu
        e.site_kbtu += site
        e.source_kbtu += site * SOURCE_SITE_RATIO.get(act, 1.0)
        e.by_fuel[act] = site
    return e


@dataclass(frozen=True)
class Retrofit:
    """A building's gap to the median EUI priced as a retrofit."""

    source_id: int
    name: str
    avoidable_kbtu: float
    avoidable_t: float
    cost_usd: float

    @property
    def usd_per_t(self) -> float | None:
        return self.cost_usd / self.avoidable_t if self.avoidable_t > 0 else None


def retrofit(source_id: int, name: str, site_eui: float, median_site_eui: float,
             gfa_ft2: float, t_per_kbtu: float, usd_per_ft2: float) -> Retrofit | None:
    """Bringing a building down to the median site EUI: the kBtu and tonnes it avoids a year
    (at its own average emissions per kBtu) and a first cost at ``usd_per_ft2``."""
    gap = site_eui - median_site_eui
    if gap <= 0 or gfa_ft2 <= 0:
        return None
    kbtu = gap * gfa_ft2
    return Retrofit(source_id, name, kbtu, kbtu * t_per_kbtu, usd_per_ft2 * gfa_ft2)
