"""Pure computation of the fleet domain: odometer checks, annual use, right-sizing, peak
concurrency for pooling, EV suitability, total cost of ownership, lifetime emissions and the
replacement plan. No database, no I/O: ``queries`` loads the rows and passes plain values in.

Units: money in integer cents (floats inside a formula, rounded once at the end), distance in
miles, fuel in US gallons, energy in kWh, emissions in kg CO2 (reported in metric tonnes).
Times are naive local datetimes (the region's wall clock, as the logs give them).

Sources of the defaults (each shown on the page that uses it):
- Under-use: NASA's rule, a vehicle is under-utilized below 25% of its class's average annual
  miles (NASA fleet management procedures, as cited by GSA's Vehicle Allocation Methodology,
  FMR 102-34.50); configurable per class.
- Maintenance per mile: Argonne AFLEET, light duty, 10.1 cents (gasoline) and 6.1 cents
  (battery electric) per mile.
- CO2 per gallon: EPA GHG Emission Factors Hub 2025, Table 2 (motor gasoline 8.78 kg,
  diesel 10.21 kg, ethanol 5.75 kg, biodiesel 9.45 kg per gallon). Blends count their fossil
  share (E10: 90% gasoline; E85: 15%; B2: 98% diesel); the biogenic CO2 is reported apart,
  as the Local Government Operations Protocol asks.
- EV catalog, ICE counterparts, prices: govshare's assumed defaults (typical list prices,
  EPA-rated ranges); every one of them is a parameter a region should set.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Annotated, Any

import numpy as np
from pydantic import TypeAdapter, ValidationError, field_validator
from pydantic.dataclasses import dataclass as pydantic_dataclass

from govshare.core.bounds import Bounds
from govshare.core.geodesy import haversine_km

CLASSES = ("sedan", "suv", "pickup", "van", "police_interceptor", "medium_truck",
           "heavy_truck", "bus", "off_road", "other")
LIGHT_DUTY = ("sedan", "suv", "pickup", "van", "police_interceptor")
CLASS_LABELS = {"sedan": "Sedan", "suv": "SUV", "pickup": "Pickup", "van": "Van",
                "police_interceptor": "Police interceptor", "medium_truck": "Medium truck",
                "heavy_truck": "Heavy truck", "bus": "Bus", "off_road": "Off-road equipment",
                "other": "Other"}

PERCENT = Bounds(0, 100)
CENTS_PER_GALLON = Bounds(0, 5_000)  # $50 a gallon is past any pump price
CENTS_PER_KWH = Bounds(0, 500)
CENTS_PER_MILE = Bounds(0, 1_000)
MONEY_CENTS = Bounds(0, 10**11)  # $1 billion for one vehicle or charger is a unit mistake

NASA_SOURCE = ("NASA utilization rule: under-utilized below 25% of the class's average annual "
               "miles (cited by GSA's Vehicle Allocation Methodology, FMR 102-34.50)")
AFLEET_SOURCE = ("Argonne AFLEET: maintenance 10.1 cents/mile (gasoline) and 6.1 cents/mile "
                 "(battery electric), light duty")
FUEL_FACTOR_SOURCE = ("EPA GHG Emission Factors Hub 2025, Table 2 (mobile combustion CO2): "
                      "motor gasoline 8.78, diesel 10.21, ethanol 5.75, biodiesel 9.45 kg/gal")
ASSUMED_SOURCE = ("govshare default assumptions (typical list prices and EPA-rated ranges); "
                  "set your region's own under Fleet parameters")


@dataclass(frozen=True)
class FuelFactor:
    fossil_kg_co2_per_gallon: float
    biogenic_kg_co2_per_gallon: float


GASOLINE_KG, DIESEL_KG, ETHANOL_KG, BIODIESEL_KG = 8.78, 10.21, 5.75, 9.45
FUEL_FACTORS: dict[str, FuelFactor] = {
    "gasoline": FuelFactor(GASOLINE_KG, 0.0),
    "e10": FuelFactor(0.90 * GASOLINE_KG, 0.10 * ETHANOL_KG),
    "e85": FuelFactor(0.15 * GASOLINE_KG, 0.85 * ETHANOL_KG),
    "diesel": FuelFactor(DIESEL_KG, 0.0),
    "b2": FuelFactor(0.98 * DIESEL_KG, 0.02 * BIODIESEL_KG),
    "non_fuel": FuelFactor(0.0, 0.0),
}
PRODUCT_LABELS = {"gasoline": "Gasoline", "e10": "E10 (10% ethanol)", "e85": "E85",
                  "diesel": "Diesel", "b2": "B2 (2% biodiesel)", "non_fuel": "Not fuel"}
DIESEL_PRODUCTS = frozenset({"diesel", "b2"})


@dataclass(frozen=True)
class EVOption:
    """The default battery-electric replacement of a class and its combustion counterpart."""

    name: str
    ev_price_cents: int
    range_miles: float  # EPA-rated
    kwh_per_mile: float
    ice_price_cents: int
    ice_mpg: float


EV_CATALOG: dict[str, EVOption] = {
    "sedan": EVOption("Battery-electric compact sedan", 3_000_000, 259, 0.28, 2_500_000, 30),
    "suv": EVOption("Battery-electric compact SUV", 4_500_000, 250, 0.33, 3_500_000, 24),
    "pickup": EVOption("Battery-electric full-size pickup", 5_500_000, 240, 0.48,
                       4_500_000, 18),
    "van": EVOption("Battery-electric cargo van", 5_200_000, 126, 0.55, 4_500_000, 15),
    "police_interceptor": EVOption("Battery-electric pursuit-rated SUV", 6_000_000, 250, 0.40,
                                   4_800_000, 15),
}


def _class_pcts() -> dict[str, float]:
    return dict.fromkeys(CLASSES, 25.0)


@pydantic_dataclass(frozen=True)
class Parameters:
    """A region's fleet parameters; every default is documented and shown where it is used.
    Each number has its range (``core.bounds``)."""

    underuse_pct: dict[str, Annotated[float, PERCENT.field()]] = field(
        default_factory=_class_pcts)
    pool_radius_km: Annotated[float, Bounds(0.1, 200).field()] = 5.0
    pool_reserve_pct: Annotated[float, PERCENT.field()] = 10.0
    max_mpg: Annotated[float, Bounds(5, 500).field()] = 60.0
    max_miles_per_day: Annotated[float, Bounds(50, 5_000).field()] = 800.0
    ownership_years: Annotated[int, Bounds(1, 40).field()] = 10
    gasoline_cents_per_gallon: Annotated[float, CENTS_PER_GALLON.field()] = 320.0
    diesel_cents_per_gallon: Annotated[float, CENTS_PER_GALLON.field()] = 380.0
    electricity_cents_per_kwh: Annotated[float, CENTS_PER_KWH.field()] = 14.0
    ice_maintenance_cents_per_mile: Annotated[float, CENTS_PER_MILE.field()] = 10.1
    ev_maintenance_cents_per_mile: Annotated[float, CENTS_PER_MILE.field()] = 6.1
    life_years: Annotated[int, Bounds(1, 30).field()] = 10
    discount_rate_pct: Annotated[float, Bounds(0, 20).field()] = 3.0
    ev_incentive_cents: Annotated[int, MONEY_CENTS.field()] = 0
    charger_cents: Annotated[int, MONEY_CENTS.field()] = 600_000
    residual_pct: Annotated[float, PERCENT.field()] = 15.0
    usable_range_pct: Annotated[float, Bounds(10, 100).field()] = 70.0
    charger_kw: Annotated[float, Bounds(1, 350).field()] = 7.2
    target_pct: Annotated[float, PERCENT.field()] = 50.0
    target_year: Annotated[int, Bounds(2000, 2100).field()] = 2030

    @field_validator("underuse_pct")
    @classmethod
    def _known_classes(cls, v: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(v) - set(CLASSES))
        if unknown:
            raise ValueError(f"unknown vehicle class(es): {', '.join(unknown)}")
        return {**_class_pcts(), **v}

    def threshold_pct(self, vehicle_class: str) -> float:
        return self.underuse_pct.get(vehicle_class, 25.0)

    def fuel_cents_per_gallon(self, diesel: bool) -> float:
        return self.diesel_cents_per_gallon if diesel else self.gasoline_cents_per_gallon


PARAMETERS = TypeAdapter(Parameters)


def checked_parameters(values: dict[str, Any]) -> Parameters:
    """Parameters from stored or submitted values, every range checked (pydantic's
    ``ValidationError`` names the field)."""
    return PARAMETERS.validate_python(values)


def usable_parameters(values: dict[str, Any]) -> tuple[Parameters, list[str]]:
    """Parameters from stored values, never failing: an invalid value gives way to its
    default. Returns the parameters and the names of the values left out."""
    known = {k: v for k, v in values.items() if k in Parameters.__dataclass_fields__}
    try:
        return checked_parameters(known), []
    except ValidationError as exc:
        bad = sorted({str(e["loc"][0]) for e in exc.errors() if e["loc"]} or known)
    return checked_parameters({k: v for k, v in known.items() if k not in bad}), bad


def parameter_values(params: Parameters) -> dict[str, Any]:
    return {name: getattr(params, name) for name in Parameters.__dataclass_fields__}


# ------------------------------------------------------------------------------ odometer


@dataclass(frozen=True)
class Reading:
    """One odometer reading in a vehicle's sequence; ``gallons`` is the fuel bought with it
    (a fuel-card reading) or 0."""

    key: Any
    at: datetime
    miles: float | None
    gallons: float = 0.0


def check_odometer(readings: Iterable[Reading], *, max_mpg: float, max_miles_per_day: float,
                   window: int = 400) -> dict[Any, str | None]:
    """Each reading's flag (None: accepted).

    The accepted readings are the longest chain, in time order, in which every step is
    possible: the odometer does not go backwards, adds at most ``max_miles_per_day`` a day
    (at least one day counted) and at most ``max_mpg`` times the fuel bought over the step
    (the later fill included). Taking the longest chain, not the first reading as the anchor,
    keeps a typo at the start (or a second card's readings mixed in) from condemning every
    true reading after it. Every other reading is flagged with its reason against the last
    accepted reading before it (or the first one after it). Empty or zero is no reading.
    ``window``: how many earlier readings a step may skip (bounds the work per vehicle).
    """
    ordered = sorted(readings, key=lambda r: (r.at, str(r.key)))
    cum = [0.0]
    for r in ordered:
        cum.append(cum[-1] + (r.gallons or 0.0))

    def problem(j: int, i: int) -> str | None:
        a, b = ordered[j], ordered[i]
        assert a.miles is not None and b.miles is not None
        delta = b.miles - a.miles
        when = f"{a.miles:,.0f} on {a.at.date().isoformat()}"
        if delta < 0:
            return f"odometer went backwards: {b.miles:,.0f} after {when}"
        days = max((b.at - a.at).total_seconds() / 86400, 1.0)
        if delta > max_miles_per_day * days:
            return (f"impossible jump: {delta:,.0f} miles in {days:,.1f} days since {when} "
                    f"(at most {max_miles_per_day:,.0f} a day)")
        gallons = cum[i + 1] - cum[j + 1]
        if gallons > 0 and delta > max_mpg * gallons:
            return (f"impossible jump: {delta:,.0f} miles on {gallons:,.1f} gallons since "
                    f"{when} ({delta / gallons:,.0f} mpg; at most {max_mpg:,.0f})")
        return None

    valid = [i for i, r in enumerate(ordered) if r.miles is not None and r.miles > 0]
    best: dict[int, int] = {}
    back: dict[int, int | None] = {}
    for pos, i in enumerate(valid):
        best[i], back[i] = 1, None
        for j in reversed(valid[max(0, pos - window):pos]):
            if best[j] + 1 > best[i] and problem(j, i) is None:
                best[i], back[i] = best[j] + 1, j
    chain: set[int] = set()
    if best:
        end: int | None = max(valid, key=lambda i: (best[i], -i))
        while end is not None:
            chain.add(end)
            end = back[end]
    flags: dict[Any, str | None] = {}
    accepted = sorted(chain)
    k = 0  # accepted[k - 1] is the last accepted reading before i
    for i, r in enumerate(ordered):
        while k < len(accepted) and accepted[k] < i:
            k += 1
        if i in chain:
            flags[r.key] = None
        elif r.miles is None or r.miles <= 0:
            flags[r.key] = "no odometer reading (empty or 0)"
        elif k > 0 and (reason := problem(accepted[k - 1], i)) is not None:
            flags[r.key] = reason
        else:
            nxt = accepted[k] if k < len(accepted) else None
            if nxt is not None and ordered[nxt].miles is not None:
                after = ordered[nxt]
                assert after.miles is not None
                flags[r.key] = (f"does not fit the readings around it: {r.miles:,.0f} against "
                                f"{after.miles:,.0f} on {after.at.date().isoformat()} after it")
            else:
                flags[r.key] = "does not fit the vehicle's other readings"
    return flags


# --------------------------------------------------------------------------- annual use


@dataclass(frozen=True)
class Use:
    """What right-sizing and electrification know of one vehicle in its analysis year."""

    vehicle_id: int
    jurisdiction_id: int
    vehicle_class: str
    annual_miles: float | None
    days_used: int | None
    miles_source: str  # how annual_miles was reached, in words
    fuel_cents: int = 0
    gallons: float = 0.0
    acquisition_cost_cents: int | None = None
    annual_maintenance_cents: int | None = None
    year: int | None = None  # the year the figures are of


def odometer_miles(points: Sequence[tuple[datetime, float]], year: int
                   ) -> tuple[float | None, str]:
    """Annual miles from accepted readings in ``year``: last minus first, annualized over the
    days between them (at least 30 days apart, or no figure)."""
    inside = sorted(p for p in points if p[0].year == year)
    if len(inside) < 2:
        return None, f"fewer than two accepted odometer readings in {year}"
    (t0, m0), (t1, m1) = inside[0], inside[-1]
    span = (t1 - t0).total_seconds() / 86400
    if span < 30:
        return None, f"accepted odometer readings in {year} span only {span:.0f} days"
    miles = (m1 - m0) * 365 / span
    return miles, (f"odometer {m0:,.0f} on {t0.date()} to {m1:,.0f} on {t1.date()} "
                   f"({m1 - m0:,.0f} miles in {span:.0f} days, x 365/{span:.0f})")


def year_miles(trips: Sequence[tuple[datetime, datetime, float]],
               points: Sequence[tuple[datetime, float]], year: int) -> float | None:
    """Miles driven in ``year`` as the carbon inventory counts them (CH4 and N2O per mile):
    the year's trips if the vehicle has any, else the distance between the year's first and
    last accepted odometer readings (not annualized: the miles the readings show, as fuel is
    the gallons bought). None when neither gives a positive figure."""
    trip_miles = [m for s, _e, m in trips if s.year == year]
    if trip_miles:
        total = sum(trip_miles)
        return total if total > 0 else None
    inside = sorted(p for p in points if p[0].year == year)
    if len(inside) >= 2 and inside[-1][1] > inside[0][1]:
        return inside[-1][1] - inside[0][1]
    return None


# Fleet class and fuel -> the EPA Hub 2025 Table 3/4 vehicle type of carbon's CH4/N2O factors
# per mile (LGOP vehicle-fleet sector). Hybrids, plug-in hybrids and flex-fuel vehicles take
# the gasoline type (Urbana's flex-fuel units mostly burn E10); electric, CNG and propane
# vehicles and off-road equipment record their fuel only.
_LIGHT_TRUCKS = frozenset({"suv", "pickup", "van", "police_interceptor"})
_HEAVY = frozenset({"medium_truck", "heavy_truck", "bus"})


def hub_vehicle_type(vehicle_class: str, fuel_type: str) -> str | None:
    if vehicle_class in ("off_road", "other") or fuel_type in ("electric", "cng", "propane"):
        return None
    diesel = fuel_type == "diesel"
    if vehicle_class in _HEAVY:
        return ("Diesel Medium- and Heavy-Duty Vehicles" if diesel
                else "Gasoline Heavy-Duty Vehicles")
    if vehicle_class in _LIGHT_TRUCKS:
        return "Diesel Light-Duty Trucks" if diesel else "Gasoline Light-Duty Trucks"
    return "Diesel Passenger Cars" if diesel else "Gasoline Passenger Cars"


# A fuel-card product -> carbon's activities and their shares of the gallons: blends are split
# so that the biogenic CO2 of their ethanol or biodiesel is reported apart (LGOP), the same
# shares as FUEL_FACTORS.
PRODUCT_ACTIVITIES: dict[str, tuple[tuple[str, float], ...]] = {
    "gasoline": (("gasoline", 1.0),),
    "e10": (("gasoline", 0.90), ("ethanol", 0.10)),
    "e85": (("gasoline", 0.15), ("ethanol", 0.85)),
    "diesel": (("diesel", 1.0),),
    "b2": (("diesel", 0.98), ("biodiesel", 0.02)),
    "non_fuel": (),
}


def ownership_cents(acquisition_cost_cents: int | None, params: Parameters) -> int:
    """Straight-line ownership cost a year (0 when the cost is not known)."""
    return round((acquisition_cost_cents or 0) / params.ownership_years)


def cost_per_mile_cents(use: Use, params: Parameters) -> float | None:
    """(ownership a year + fuel bought + maintenance) / annual miles. Maintenance is the
    vehicle's recorded annual figure, else AFLEET's per-mile default."""
    if not use.annual_miles:
        return None
    maint = (use.annual_maintenance_cents if use.annual_maintenance_cents is not None
             else params.ice_maintenance_cents_per_mile * use.annual_miles)
    total = ownership_cents(use.acquisition_cost_cents, params) + use.fuel_cents + maint
    return total / use.annual_miles


@dataclass(frozen=True)
class RightSize:
    use: Use
    class_average: float | None
    class_count: int
    threshold_pct: float
    threshold_miles: float | None
    under_used: bool
    cost_per_mile_cents: float | None
    evidence: list[str]


def rightsize(uses: Sequence[Use], params: Parameters) -> list[RightSize]:
    """Each vehicle against its class: the class average is over the same member's vehicles
    of that class with a figure for the same year (the member is the agency NASA's rule
    speaks of); a vehicle below ``threshold_pct`` of it is under-used. Least used first
    within each verdict."""
    groups: dict[tuple[int, str, int | None], list[float]] = defaultdict(list)
    for u in uses:
        if u.annual_miles is not None:
            groups[(u.jurisdiction_id, u.vehicle_class, u.year)].append(u.annual_miles)
    out = []
    for u in uses:
        miles = groups.get((u.jurisdiction_id, u.vehicle_class, u.year), [])
        avg = sum(miles) / len(miles) if miles else None
        pct = params.threshold_pct(u.vehicle_class)
        limit = avg * pct / 100 if avg is not None else None
        under = u.annual_miles is not None and limit is not None and len(miles) >= 2 \
            and u.annual_miles < limit
        cpm = cost_per_mile_cents(u, params)
        evidence = [f"annual miles: {u.miles_source}"]
        if avg is not None:
            evidence.append(f"class average {avg:,.0f} miles over {len(miles)} "
                            f"{CLASS_LABELS[u.vehicle_class].lower()}(s) of this member"
                            + (f" in {u.year}" if u.year else "") + "; "
                            f"threshold {pct:g}% = {limit:,.0f} miles")
        if len(miles) < 2:
            evidence.append("fewer than two vehicles of the class with miles: no verdict")
        if u.days_used is not None:
            evidence.append(f"used on {u.days_used} day(s)")
        if cpm is not None:
            evidence.append(f"cost per mile {cpm / 100:,.2f} $ (ownership straight-line over "
                            f"{params.ownership_years} years + fuel bought + maintenance)")
        out.append(RightSize(use=u, class_average=avg, class_count=len(miles),
                             threshold_pct=pct, threshold_miles=limit, under_used=under,
                             cost_per_mile_cents=cpm, evidence=evidence))
    out.sort(key=lambda r: (not r.under_used, r.use.annual_miles if r.use.annual_miles
                            is not None else math.inf, r.use.vehicle_id))
    return out


# ------------------------------------------------------------------------ peak concurrency


TIME_BITS, SUB_BITS = 30, 10  # minutes (2,000 years) and sub-groups (members) per group
GROUP_SHIFT = TIME_BITS + 1 + SUB_BITS


def peak_concurrency(group: np.ndarray, start: np.ndarray, end: np.ndarray, n_groups: int,
                     sub: np.ndarray | None = None, n_sub: int = 1
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The most intervals ``[start, end)`` open at once in each group, a time when it
    happened (-1 for a group without intervals), and — with ``sub`` (e.g. the member owning
    each interval) — the same peak within each (group, sub) as an ``n_groups x n_sub`` array.

    One sort of packed 64-bit keys ``group | time | kind | sub``: each interval becomes an
    event +1 at its start and -1 at its end; at equal times the end sorts first (a vehicle
    returned at 10:00 can go out again at 10:00). Every group's events sum to zero, so the
    plain cumulative sum is already each group's running count, and a per-group maximum
    (``reduceat``) gives the peaks. The (group, sub) peaks reuse the sorted events: a stable
    radix argsort on the 10-bit sub index (linear time) orders them by (sub, group, time),
    and the same cumulative sum and maximum apply. Times are integer minutes in
    ``0 .. 2**30``; at most ``2**22`` groups and ``2**10`` subs.
    """
    group = np.asarray(group, dtype=np.int64)
    start = np.asarray(start, dtype=np.int64)
    end = np.asarray(end, dtype=np.int64)
    subs = np.zeros_like(group) if sub is None else np.asarray(sub, dtype=np.int64)
    peaks = np.zeros(n_groups, dtype=np.int64)
    when = np.full(n_groups, -1, dtype=np.int64)
    sub_peaks = np.zeros((n_groups, n_sub), dtype=np.int64)
    n = group.size
    if n == 0:
        return peaks, when, sub_peaks
    if (start.min() < 0 or end.max() >= 2**TIME_BITS or n_groups > 2**22
            or n_sub > 2**SUB_BITS):
        raise ValueError("times must be in 0..2**30, groups at most 2**22, subs 2**10")
    base = (group << GROUP_SHIFT) | subs
    keys = np.empty(2 * n, dtype=np.int64)
    np.bitwise_or(base, (start << (SUB_BITS + 1)) | (1 << SUB_BITS), out=keys[:n])
    np.bitwise_or(base, end << (SUB_BITS + 1), out=keys[n:])
    keys.sort()
    delta = ((keys >> SUB_BITS) & 1) * 2 - 1
    running = np.cumsum(delta)
    g = keys >> GROUP_SHIFT
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    gmax = np.maximum.reduceat(running, starts)
    ids = g[starts]
    peaks[ids] = gmax
    lengths = np.diff(np.r_[starts, running.size])
    hit = np.flatnonzero(running == np.repeat(gmax, lengths))
    hg = g[hit]
    first = hit[np.r_[True, hg[1:] != hg[:-1]]]
    when[g[first]] = (keys[first] >> (SUB_BITS + 1)) & ((1 << TIME_BITS) - 1)
    if sub is not None:
        s = (keys & ((1 << SUB_BITS) - 1)).astype(np.uint16)
        order = np.argsort(s, kind="stable")  # radix sort: by sub, then (group, time)
        run2 = np.cumsum(delta[order])
        g2, s2 = g[order], s[order]
        cut = np.flatnonzero(np.r_[True, (g2[1:] != g2[:-1]) | (s2[1:] != s2[:-1])])
        sub_peaks[g2[cut], s2[cut]] = np.maximum.reduceat(run2, cut)
    return peaks, when, sub_peaks


# ------------------------------------------------------------------------------ clusters


def cluster_sites(points: Sequence[tuple[float, float]], radius_km: float) -> list[int]:
    """Single-linkage clusters of home sites: two sites within ``radius_km`` of each other
    are in one cluster, and so on transitively. Labels are 0.. in order of first site.
    A grid of cells one radius wide keeps it near-linear (only neighboring cells compared)."""
    unique: dict[tuple[float, float], int] = {}
    which = [unique.setdefault((float(lon), float(lat)), len(unique)) for lon, lat in points]
    if len(unique) < len(points):  # many vehicles share a home site: cluster the sites
        site_labels = cluster_sites(list(unique), radius_km)
        return [site_labels[w] for w in which]
    n = len(points)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    cell_lat = radius_km / 111.0
    cells: dict[tuple[int, int], list[int]] = defaultdict(list)
    for i, (lon, lat) in enumerate(points):
        cell_lon = cell_lat / max(math.cos(math.radians(lat)), 0.01)
        cells[(math.floor(lat / cell_lat), math.floor(lon / cell_lon))].append(i)
    for (cy, cx), members in cells.items():
        for dy in (-1, 0, 1):
            for dx in (-2, -1, 0, 1, 2):  # longitude cells narrow with latitude: look wider
                other = cells.get((cy + dy, cx + dx))
                if not other:
                    continue
                for i in members:
                    for j in other:
                        if j <= i:
                            continue
                        a, b = points[i], points[j]
                        if haversine_km(a[0], a[1], b[0], b[1]) <= radius_km:
                            ri, rj = find(i), find(j)
                            if ri != rj:
                                parent[max(ri, rj)] = min(ri, rj)
    labels: dict[int, int] = {}
    return [labels.setdefault(find(i), len(labels)) for i in range(n)]


# ------------------------------------------------------------------------------- pooling


@dataclass(frozen=True)
class PoolVehicle:
    vehicle_id: int
    jurisdiction_id: int
    vehicle_class: str
    lon: float
    lat: float
    annual_miles: float | None
    ownership_cents: int
    fixed_maintenance_cents: int


@dataclass
class PoolGroup:
    cluster: int
    vehicle_class: str
    vehicles: int
    peak: int
    peak_at: int  # minutes since the epoch of the times given, -1 if no trips
    member_peaks: dict[int, int]
    keep: int
    removable: list[PoolVehicle]

    @property
    def savings_cents(self) -> int:
        return sum(v.ownership_cents + v.fixed_maintenance_cents for v in self.removable)

    @property
    def pooling_gain(self) -> int:
        """Vehicles that pooling across members saves beyond each member pooling its own."""
        return max(0, sum(self.member_peaks.values()) - self.peak)


@dataclass
class PoolPlan:
    clusters: list[list[PoolVehicle]]
    groups: list[PoolGroup]
    by_member: dict[int, dict[str, int]] = field(default_factory=dict)

    @property
    def removable(self) -> int:
        return sum(len(g.removable) for g in self.groups)

    @property
    def savings_cents(self) -> int:
        return sum(g.savings_cents for g in self.groups)


def pool(vehicles: Sequence[PoolVehicle], trips: tuple[np.ndarray, np.ndarray, np.ndarray],
         params: Parameters) -> PoolPlan:
    """The pooling plan: clusters of nearby home sites (any members), the peak number of each
    class in use at once in each cluster, and the vehicles above peak + reserve (the least
    used first) that can be shared or removed. ``trips`` is (vehicle index into ``vehicles``,
    start minute, end minute) as arrays."""
    labels = cluster_sites([(v.lon, v.lat) for v in vehicles], params.pool_radius_km)
    n_clusters = max(labels, default=-1) + 1
    clusters: list[list[PoolVehicle]] = [[] for _ in range(n_clusters)]
    for v, c in zip(vehicles, labels, strict=True):
        clusters[c].append(v)
    cls_index = {c: i for i, c in enumerate(CLASSES)}
    vidx, start, end = trips
    vlab = np.array(labels, dtype=np.int64)
    vcls = np.array([cls_index[v.vehicle_class] for v in vehicles], dtype=np.int64)
    members = sorted({v.jurisdiction_id for v in vehicles})
    m_index = {m: i for i, m in enumerate(members)}
    vmem = np.array([m_index[v.jurisdiction_id] for v in vehicles], dtype=np.int64)
    nc = len(CLASSES)
    if len(vehicles):
        gkey = vlab[vidx] * nc + vcls[vidx]
        peaks, when, mpeaks = peak_concurrency(gkey, start, end, n_clusters * nc,
                                               sub=vmem[vidx], n_sub=len(members))
    else:
        peaks = when = np.zeros(0, dtype=np.int64)
        mpeaks = np.zeros((0, 0), dtype=np.int64)
    groups = []
    by_member: dict[int, dict[str, int]] = {m: {"vehicles": 0, "removable": 0,
                                                 "savings_cents": 0} for m in members}
    for c, vs in enumerate(clusters):
        for cls in CLASSES:
            here = [v for v in vs if v.vehicle_class == cls]
            if not here:
                continue
            k = c * nc + cls_index[cls]
            peak = int(peaks[k])
            keep = min(len(here), peak + math.ceil(peak * params.pool_reserve_pct / 100))
            order = sorted(here, key=lambda v: (v.annual_miles if v.annual_miles is not None
                                                else -1.0, v.vehicle_id))
            removable = order[:len(here) - keep] if peak > 0 else []
            mp = {m: int(mpeaks[k, m_index[m]]) for m in
                  sorted({v.jurisdiction_id for v in here})}
            groups.append(PoolGroup(cluster=c, vehicle_class=cls, vehicles=len(here),
                                    peak=peak, peak_at=int(when[k]), member_peaks=mp,
                                    keep=keep, removable=removable))
            for v in here:
                by_member[v.jurisdiction_id]["vehicles"] += 1
            for v in removable:
                by_member[v.jurisdiction_id]["removable"] += 1
                by_member[v.jurisdiction_id]["savings_cents"] += (v.ownership_cents +
                                                                  v.fixed_maintenance_cents)
    return PoolPlan(clusters=clusters, groups=groups, by_member=by_member)


# ------------------------------------------------------------------------- electrification


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (the value at rank ceil(pct/100 * n))."""
    s = sorted(values)
    if not s:
        raise ValueError("no values")
    return s[max(0, math.ceil(pct / 100 * len(s)) - 1)]


@dataclass(frozen=True)
class DailyUse:
    days: int
    typical_miles: float  # median of days used
    p95_miles: float
    dwell_hours_p5: float | None  # hours parked between days, exceeded on 95% of nights


def daily_use(trips: Sequence[tuple[datetime, datetime, float]]) -> DailyUse | None:
    """Daily miles (by the day a trip starts) and the dwell between a day's last return and
    the next trip (capped at 24 h: a day without use is a full night and day parked)."""
    if not trips:
        return None
    by_day: dict[date, float] = defaultdict(float)
    for s, _e, m in trips:
        by_day[s.date()] += m
    miles = list(by_day.values())
    ordered = sorted(trips)
    dwell = []
    for a, b in zip(ordered, ordered[1:], strict=False):
        if b[0].date() != a[0].date():
            dwell.append(min((b[0] - a[1]).total_seconds() / 3600, 24.0))
    return DailyUse(days=len(by_day), typical_miles=percentile(miles, 50),
                    p95_miles=percentile(miles, 95),
                    dwell_hours_p5=percentile(dwell, 5) if dwell else None)


@dataclass(frozen=True)
class Suitability:
    suitable: bool
    usable_range: float | None
    charge_hours: float | None
    reasons: list[str]


def ev_suitability(vehicle_class: str, fuel_type: str, use: DailyUse | None,
                   params: Parameters) -> Suitability:
    """Geotab-style: the 95th-percentile day within the replacement's usable range, and the
    night's dwell at home long enough to put that day's energy back at the site's charger."""
    option = EV_CATALOG.get(vehicle_class)
    if fuel_type == "electric":
        return Suitability(False, None, None, ["already battery-electric"])
    if option is None:
        return Suitability(False, None, None, [
            f"no battery-electric replacement for {CLASS_LABELS[vehicle_class].lower()} in "
            "the catalog"])
    usable = option.range_miles * params.usable_range_pct / 100
    if use is None:
        return Suitability(False, usable, None, ["no trip logs: daily miles unknown"])
    reasons = []
    ok = True
    if use.p95_miles <= usable:
        reasons.append(f"95th-percentile day {use.p95_miles:,.0f} miles is within the usable "
                       f"range {usable:,.0f} ({params.usable_range_pct:g}% of "
                       f"{option.range_miles:,.0f})")
    else:
        ok = False
        reasons.append(f"95th-percentile day {use.p95_miles:,.0f} miles exceeds the usable "
                       f"range {usable:,.0f}")
    hours = use.p95_miles * option.kwh_per_mile / params.charger_kw
    if use.dwell_hours_p5 is None:
        reasons.append("dwell at home unknown (no overnight gap in the logs)")
    elif use.dwell_hours_p5 >= hours:
        reasons.append(f"parked {use.dwell_hours_p5:,.1f} h or more on 95% of nights; "
                       f"{hours:,.1f} h recharge the 95th-percentile day at "
                       f"{params.charger_kw:g} kW")
    else:
        ok = False
        reasons.append(f"parked only {use.dwell_hours_p5:,.1f} h on some nights; "
                       f"{hours:,.1f} h needed at {params.charger_kw:g} kW")
    return Suitability(ok, usable, hours, reasons)


@dataclass(frozen=True)
class TCO:
    """Present value over the life: purchase (net of incentive, plus charger) + the yearly
    energy and maintenance, each year discounted, - the discounted residual value."""

    purchase_cents: float
    energy_cents: float
    maintenance_cents: float
    residual_cents: float
    total_cents: float
    formula: str


def tco(*, price_cents: float, incentive_cents: float = 0.0, charger_cents: float = 0.0,
        annual_miles: float, energy_cents_per_mile: float, maintenance_cents_per_mile: float,
        life_years: int, discount_rate_pct: float, residual_pct: float) -> TCO:
    r = discount_rate_pct / 100
    annuity = sum(1 / (1 + r) ** t for t in range(1, life_years + 1))
    purchase = price_cents - incentive_cents + charger_cents
    energy = annual_miles * energy_cents_per_mile * annuity
    maint = annual_miles * maintenance_cents_per_mile * annuity
    residual = price_cents * residual_pct / 100 / (1 + r) ** life_years
    total = purchase + energy + maint - residual
    return TCO(purchase, energy, maint, residual, total,
               "price - incentive + charger + miles x (energy + maintenance per mile) x "
               f"sum 1/(1+{r:g})^t for t=1..{life_years} - price x {residual_pct:g}% / "
               f"(1+{r:g})^{life_years}")


@dataclass(frozen=True)
class Electrification:
    vehicle_id: int
    jurisdiction_id: int
    vehicle_class: str
    option: EVOption | None
    suitability: Suitability
    annual_miles: float | None
    ice: TCO | None
    ev: TCO | None
    ice_kg_per_year: float | None
    ev_kg_per_year: float | None
    ev_grid_source: str | None
    end_of_life_year: int | None

    @property
    def incremental_cents(self) -> float | None:
        if self.ice is None or self.ev is None:
            return None
        return self.ev.total_cents - self.ice.total_cents


def electrify(*, vehicle_id: int, jurisdiction_id: int, vehicle_class: str, fuel_type: str,
              model_year: int | None, annual_miles: float | None, mpg: float | None,
              daily: DailyUse | None, grid_kg_per_kwh: float | None, grid_source: str | None,
              params: Parameters) -> Electrification:
    """One vehicle's EV case: suitability, both TCOs over the life and the yearly emissions
    (combustion from its fuel economy; electric from the grid factor of its site, when the
    carbon domain gives one)."""
    option = EV_CATALOG.get(vehicle_class)
    suit = ev_suitability(vehicle_class, fuel_type, daily, params)
    ice = ev = None
    ice_kg = ev_kg = None
    if option is not None and annual_miles:
        diesel = fuel_type == "diesel"
        economy = mpg or option.ice_mpg
        ice = tco(price_cents=option.ice_price_cents, annual_miles=annual_miles,
                  energy_cents_per_mile=params.fuel_cents_per_gallon(diesel) / economy,
                  maintenance_cents_per_mile=params.ice_maintenance_cents_per_mile,
                  life_years=params.life_years, discount_rate_pct=params.discount_rate_pct,
                  residual_pct=params.residual_pct)
        ev = tco(price_cents=option.ev_price_cents, incentive_cents=params.ev_incentive_cents,
                 charger_cents=params.charger_cents, annual_miles=annual_miles,
                 energy_cents_per_mile=option.kwh_per_mile * params.electricity_cents_per_kwh,
                 maintenance_cents_per_mile=params.ev_maintenance_cents_per_mile,
                 life_years=params.life_years, discount_rate_pct=params.discount_rate_pct,
                 residual_pct=params.residual_pct)
        factor = FUEL_FACTORS["diesel" if diesel else "e10"]
        ice_kg = annual_miles / economy * factor.fossil_kg_co2_per_gallon
        if grid_kg_per_kwh is not None:
            ev_kg = annual_miles * option.kwh_per_mile * grid_kg_per_kwh
    eol = model_year + params.ownership_years if model_year else None
    return Electrification(vehicle_id=vehicle_id, jurisdiction_id=jurisdiction_id,
                           vehicle_class=vehicle_class, option=option, suitability=suit,
                           annual_miles=annual_miles, ice=ice, ev=ev, ice_kg_per_year=ice_kg,
                           ev_kg_per_year=ev_kg, ev_grid_source=grid_source,
                           end_of_life_year=eol)


@dataclass
class ReplacementPlan:
    light_duty: int
    already_electric: int
    needed: int
    chosen: list[tuple[Electrification, int]]  # (case, replacement year)
    shortfall: int
    incremental_cents: float
    trajectory: dict[int, dict[int, tuple[float, float]]]  # member -> year -> (base, plan) t

    @property
    def meets_target(self) -> bool:
        return self.shortfall == 0


def replacement_plan(cases: Sequence[Electrification], *, light_duty: int,
                     already_electric: int, params: Parameters, base_year: int
                     ) -> ReplacementPlan:
    """The least-cost set of replacements that electrifies ``target_pct`` of the light-duty
    vehicles by ``target_year``: the suitable candidates with the lowest incremental TCO
    (EV minus combustion, negative = saves money) — picking the k cheapest is exactly the
    least total for k vehicles. Each is replaced at its end of life, or in the target year
    if that comes later. Trajectory: each member's fleet tCO2 a year, without and with the
    plan (a replaced vehicle's electric emissions count when the grid factor is known, else
    0 and the page says so)."""
    needed = max(0, math.ceil(params.target_pct / 100 * light_duty) - already_electric)
    candidates = [c for c in cases if c.suitability.suitable and c.incremental_cents is not None
                  and c.vehicle_class in LIGHT_DUTY]
    candidates.sort(key=lambda c: (c.incremental_cents, c.vehicle_id))
    picked = candidates[:needed]
    chosen = []
    for c in picked:
        eol = c.end_of_life_year or params.target_year
        chosen.append((c, max(base_year + 1, min(eol, params.target_year))))
    years = range(base_year, max(params.target_year, base_year) + 6)
    trajectory: dict[int, dict[int, tuple[float, float]]] = {}
    when = {c.vehicle_id: y for c, y in chosen}
    for c in cases:
        if c.ice_kg_per_year is None:
            continue
        series = trajectory.setdefault(c.jurisdiction_id, {y: (0.0, 0.0) for y in years})
        for y in years:
            base, plan = series[y]
            after = c.vehicle_id in when and y >= when[c.vehicle_id]
            plan_kg = (c.ev_kg_per_year or 0.0) if after else c.ice_kg_per_year
            series[y] = (base + c.ice_kg_per_year / 1000, plan + plan_kg / 1000)
    return ReplacementPlan(light_duty=light_duty, already_electric=already_electric,
                           needed=needed, chosen=chosen,
                           shortfall=max(0, needed - len(picked)),
                           incremental_cents=sum(c.incremental_cents or 0 for c in picked),
                           trajectory=trajectory)


def minutes(t: datetime, epoch: datetime) -> int:
    """Whole minutes from ``epoch`` (the earliest time of an analysis) to ``t``."""
    return int((t - epoch) // timedelta(minutes=1))
