"""The fleet analyses over what the caller may see: overview, right-sizing, pooling across
members and electrification with its replacement plan. Reads through ``queries``, computes
through the pure ``calc``; writes nothing.

Each member is analyzed over its year with the most data (fuel lines and trips), and a vehicle
without data that year over its own (members' logs cover different years: the Urbana export
is 2017, the demo's synthetic logs 2025); a vehicle's year is said wherever its figures are
shown.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from govshare.core.tenancy import Action, Principal, authorize
from govshare.fleet import calc, queries
from govshare.fleet.models import LIGHT_DUTY, FuelType, Vehicle, VehicleStatus

IN_FLEET = (VehicleStatus.active.value, VehicleStatus.reserve.value,
            VehicleStatus.out_of_service.value)

# A vehicle -> (kg CO2e per kWh at its home site, where the factor comes from): the callers
# pass ``service.grid_lookup(session)`` (carbon's service owns grid factors).
GridLookup = Callable[[Vehicle], tuple[float | None, str | None]]


@dataclass
class VehicleFacts:
    vehicle: Vehicle
    year: int | None
    use: calc.Use
    trips: list[tuple[datetime, datetime, float]]
    mpg: float | None
    flagged_readings: int


def _member_years(vehicles: list[Vehicle], trips: dict[int, list[Any]],
                  fuel: dict[int, dict[int, Any]]) -> dict[int, int]:
    """Each member's analysis year: the year with the most trips and fuel lines (the latest
    of equals), so that one mistyped date does not pick an empty year."""
    counts: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for v in vehicles:
        for s, _e, _m in trips.get(v.id, []):
            counts[v.jurisdiction_id][s.year] += 1
        for year, (_g, _c, products) in fuel.get(v.id, {}).items():
            counts[v.jurisdiction_id][year] += max(1, len(products))
    return {j: max(c, key=lambda y: (c[y], y)) for j, c in counts.items()}


def _vehicle_year(v: Vehicle, member_year: int | None, trips: dict[int, list[Any]],
                  fuel: dict[int, dict[int, Any]]) -> int | None:
    """The member's year if the vehicle has data in it, else the vehicle's own year with the
    most data (a member may hold logs of different years, e.g. an imported old export)."""
    counts: dict[int, int] = defaultdict(int)
    for s, _e, _m in trips.get(v.id, []):
        counts[s.year] += 1
    for year, (_g, _c, products) in fuel.get(v.id, {}).items():
        counts[year] += max(1, len(products))
    if not counts or member_year in counts:
        return member_year
    return max(counts, key=lambda y: (counts[y], y))


def facts(*, session: Session, vehicles: list[Vehicle]) -> list[VehicleFacts]:
    """Each vehicle's use in its member's analysis year: miles from its trips if it has any
    that year, else from its accepted odometer readings; fuel bought; days used."""
    ids = [v.id for v in vehicles]
    trips = queries.trips_of(session=session, vehicle_ids=ids)
    fuel = queries.fuel_by_year(session=session, vehicle_ids=ids)
    readings = queries.accepted_readings(session=session, vehicle_ids=ids)
    flagged = queries.flagged_counts(session=session, vehicle_ids=ids)
    years = _member_years(vehicles, trips, fuel)
    out = []
    for v in vehicles:
        year = _vehicle_year(v, years.get(v.jurisdiction_id), trips, fuel)
        its = [tr for tr in trips.get(v.id, []) if year is not None and tr[0].year == year]
        gallons, cents, _products = fuel.get(v.id, {}).get(year or 0, (0.0, 0, set()))
        days: int | None = None
        if its:
            miles: float | None = sum(m for _s, _e, m in its)
            days = len({s.date() for s, _e, _m in its})
            how = f"{len(its):,} trips in {year} from the usage logs"
        elif year is not None:
            miles, how = calc.odometer_miles(readings.get(v.id, []), year)
        else:
            miles, how = None, "no trips, fuel or odometer readings"
        odo_miles, _ = calc.odometer_miles(readings.get(v.id, []), year) if year else (None, "")
        mpg = (odo_miles / gallons) if odo_miles and gallons > 0 else None
        if mpg is not None and not 3 <= mpg <= 80:
            mpg = None  # readings and fuel do not agree well enough to use
        use = calc.Use(vehicle_id=v.id, jurisdiction_id=v.jurisdiction_id,
                       vehicle_class=v.vehicle_class, annual_miles=miles, days_used=days,
                       miles_source=how, fuel_cents=cents, gallons=gallons,
                       acquisition_cost_cents=v.acquisition_cost_cents,
                       annual_maintenance_cents=v.annual_maintenance_cents, year=year)
        out.append(VehicleFacts(vehicle=v, year=year, use=use, trips=trips.get(v.id, []),
                                mpg=mpg, flagged_readings=flagged.get(v.id, 0)))
    return out


def _fleet(session: Session, actor: Principal, region_id: int,
           jurisdiction_id: int | None = None) -> list[Vehicle]:
    flt = queries.VehicleFilter(jurisdiction_id=jurisdiction_id)
    return [v for v in queries.all_vehicles(session=session, actor=actor, region_id=region_id,
                                            flt=flt) if v.status in IN_FLEET]


def rightsizing(*, session: Session, actor: Principal, region_id: int,
                jurisdiction_id: int | None = None
                ) -> tuple[list[tuple[calc.RightSize, VehicleFacts]], calc.Parameters]:
    authorize(actor, Action.fleet_read, region_id=region_id)
    params = queries.parameters(session=session, region_id=region_id)
    fs = facts(session=session, vehicles=_fleet(session, actor, region_id, jurisdiction_id))
    by_id = {f.vehicle.id: f for f in fs}
    entries = calc.rightsize([f.use for f in fs], params)
    return [(e, by_id[e.use.vehicle_id]) for e in entries], params


@dataclass
class PoolResult:
    plan: calc.PoolPlan
    params: calc.Parameters
    vehicles: dict[int, Vehicle]
    epoch: datetime | None
    trips: int
    left_out: list[tuple[Vehicle, str]]

    def peak_time(self, minute: int) -> datetime | None:
        if minute < 0 or self.epoch is None:
            return None
        from datetime import timedelta
        return self.epoch + timedelta(minutes=minute)


def pooling(*, session: Session, actor: Principal, region_id: int,
            fleet_facts: list[VehicleFacts] | None = None) -> PoolResult:
    """The pooling plan over every member's vehicles with a home site and their trips (all
    of them, whatever their year).

    The vehicles' use comes from `facts` over the whole fleet, so each member's analysis
    year is the one right-sizing and electrification use. A caller that already has those
    facts (`electrification(...).cases` over the region) passes them as `fleet_facts`: they
    are used for the vehicles they cover, and the rest are read."""
    authorize(actor, Action.fleet_pool, region_id=region_id)
    params = queries.parameters(session=session, region_id=region_id)
    vehicles = _fleet(session, actor, region_id)
    left_out = [(v, "no home site") for v in vehicles if v.home_lon is None]
    placed = [v for v in vehicles if v.home_lon is not None and v.home_lat is not None]
    fs = {f.vehicle.id: f for f in fleet_facts or ()}
    if any(v.id not in fs for v in vehicles):
        fs = {f.vehicle.id: f for f in facts(session=session, vehicles=vehicles)}
    epoch = min((fs[v.id].trips[0][0] for v in placed if fs[v.id].trips), default=None)
    vidx, start, end = [], [], []
    for i, v in enumerate(placed):
        for s, e, _m in fs[v.id].trips:
            vidx.append(i)
            start.append(calc.minutes(s, epoch) if epoch else 0)
            end.append(calc.minutes(e, epoch) if epoch else 0)
    pvs = [calc.PoolVehicle(vehicle_id=v.id, jurisdiction_id=v.jurisdiction_id,
                            vehicle_class=v.vehicle_class, lon=float(v.home_lon or 0),
                            lat=float(v.home_lat or 0),
                            annual_miles=fs[v.id].use.annual_miles,
                            ownership_cents=calc.ownership_cents(v.acquisition_cost_cents,
                                                                 params),
                            fixed_maintenance_cents=v.annual_maintenance_cents or 0)
           for v in placed]
    plan = calc.pool(pvs, (np.array(vidx, dtype=np.int64), np.array(start, dtype=np.int64),
                           np.array(end, dtype=np.int64)), params)
    # vehicles without trips cannot show a peak: their groups keep everything (peak 0)
    return PoolResult(plan=plan, params=params, vehicles={v.id: v for v in placed},
                      epoch=epoch, trips=len(vidx), left_out=left_out)


@dataclass
class ElectrificationResult:
    cases: list[tuple[calc.Electrification, VehicleFacts]]
    plan: calc.ReplacementPlan
    params: calc.Parameters
    base_year: int
    grid_note: str


def electrification(*, session: Session, actor: Principal, region_id: int,
                    jurisdiction_id: int | None = None,
                    grid: GridLookup | None = None
                    ) -> ElectrificationResult:
    """Every vehicle's EV case and the least-cost plan to the region's target."""
    authorize(actor, Action.fleet_read, region_id=region_id)
    params = queries.parameters(session=session, region_id=region_id)
    vehicles = _fleet(session, actor, region_id, jurisdiction_id)
    fs = facts(session=session, vehicles=vehicles)
    cases = []
    for f in fs:
        v = f.vehicle
        daily = calc.daily_use([tr for tr in f.trips if f.year is None or tr[0].year == f.year])
        factor, source = grid(v) if grid is not None else (None, None)
        case = calc.electrify(vehicle_id=v.id, jurisdiction_id=v.jurisdiction_id,
                              vehicle_class=v.vehicle_class, fuel_type=v.fuel_type,
                              model_year=v.model_year, annual_miles=f.use.annual_miles,
                              mpg=f.mpg, daily=daily, grid_kg_per_kwh=factor,
                              grid_source=source, params=params)
        cases.append((case, f))
    light = [f for f in fs if f.vehicle.vehicle_class in {c.value for c in LIGHT_DUTY}]
    electric = sum(1 for f in light if f.vehicle.fuel_type == FuelType.electric.value)
    base_year = max((f.year for f in fs if f.year), default=params.target_year - 1)
    plan = calc.replacement_plan([c for c, _f in cases], light_duty=len(light),
                                 already_electric=electric, params=params,
                                 base_year=base_year)
    unplaced = sum(1 for c, _f in cases
                   if c.ice_kg_per_year is not None and c.ev_kg_per_year is None)
    if grid is None:
        note = ("Electric emissions are not counted here (no grid factors were given): the "
                "trajectory shows combustion emissions removed and none added.")
    else:
        note = ("Electric emissions are counted: the replacement's kWh per mile x the grid "
                "factor of the vehicle's home site (location-based, its eGRID subregion) from "
                "the carbon domain.")
        if unplaced:
            note += (f" {unplaced:,} vehicle(s) have no home site or none inside an eGRID "
                     "subregion: their replacement counts no electric emissions (an "
                     "underestimate of the plan's emissions); give them a home site.")
    return ElectrificationResult(cases=cases, plan=plan, params=params, base_year=base_year,
                                 grid_note=note)


@dataclass
class Overview:
    members: list[dict[str, Any]]
    classes: dict[str, int]
    products: list[tuple[str, str, float, int]]
    total: dict[str, Any]


def overview(*, session: Session, actor: Principal, region_id: int,
             jurisdiction_id: int | None = None) -> Overview:
    authorize(actor, Action.fleet_read, region_id=region_id)
    vehicles = queries.all_vehicles(session=session, actor=actor, region_id=region_id,
                                    flt=queries.VehicleFilter(jurisdiction_id=jurisdiction_id))
    active = [v for v in vehicles if v.status in IN_FLEET]
    fs = facts(session=session, vehicles=active)
    members: dict[int, dict[str, Any]] = defaultdict(lambda: {
        "vehicles": 0, "miles": 0.0, "gallons": 0.0, "fuel_cents": 0, "flagged": 0,
        "year": None, "synthetic": 0})
    classes: dict[str, int] = defaultdict(int)
    for f in fs:
        m = members[f.vehicle.jurisdiction_id]
        m["vehicles"] += 1
        m["miles"] += f.use.annual_miles or 0.0
        m["gallons"] += f.use.gallons
        m["fuel_cents"] += f.use.fuel_cents
        m["flagged"] += f.flagged_readings
        m["year"] = f.year or m["year"]
        m["synthetic"] += f.vehicle.synthetic
        classes[f.vehicle.vehicle_class] += 1
    rows = [{"jurisdiction_id": j, **m} for j, m in sorted(members.items())]
    total = {k: sum(r[k] for r in rows) for k in ("vehicles", "miles", "gallons",
                                                   "fuel_cents", "flagged")}
    return Overview(members=rows, classes=dict(classes),
                    products=queries.gallons_by_product(session=session, actor=actor,
                                                        region_id=region_id,
                                                        jurisdiction_id=jurisdiction_id),
                    total=total)
