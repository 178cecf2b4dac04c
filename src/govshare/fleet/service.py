"""Writes of the fleet domain: vehicles and their status machine, odometer readings (each
vehicle's sequence re-checked after every write), the region's fleet parameters.
Keyword-only; flush, never commit; every write leaves an audit row. (Imports of fuel-card
exports and trip logs live in ``importer``.)

Carbon: :func:`record_carbon` records each vehicle's fuel (gallons by carbon activity, blends
split so that biogenic CO2 is reported apart) and miles (CH4 and N2O by Hub vehicle type and
model year) into carbon through carbon's service, one period per calendar year, LGOP
vehicle-fleet sector (off-road equipment: equipment). The imports call it at their end, and a
vehicle's edit or new reading re-records that vehicle. It states each vehicle's whole history
from fleet's store (``replace="all"``), so it is idempotent and a corrected line or model year
leaves nothing stale. :func:`grid_lookup` gives electrification the grid factor of a
vehicle's home site from carbon.

Status machine (checked here, values backed by a DB check constraint):

    active <-> reserve <-> out_of_service, each -> surplus
    surplus -> active (withdrawn) | disposed          disposed: final
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from govshare.carbon import service as carbon_service
from govshare.core import audit, parameters
from govshare.core.db import utcnow
from govshare.core.errors import BadRequest, Conflict, NotFound
from govshare.core.states import StateMachine
from govshare.core.tenancy import Action, Principal, authorize, can_see_jurisdiction_rows
from govshare.fleet import queries
from govshare.fleet.calc import (
    PRODUCT_ACTIVITIES,
    Parameters,
    Reading,
    check_odometer,
    checked_parameters,
    hub_vehicle_type,
    year_miles,
)
from govshare.fleet.models import (
    FleetParameters,
    FuelTransaction,
    OdometerReading,
    ReadingSource,
    Vehicle,
    VehicleStatus,
    VehicleStatusChange,
)
from govshare.fleet.schemas import STATUS_LABELS, ReadingIn, VehicleIn
from govshare.regions import queries as regions_queries

S = VehicleStatus
TRANSITIONS: dict[VehicleStatus, frozenset[VehicleStatus]] = {
    S.active: frozenset({S.reserve, S.out_of_service, S.surplus}),
    S.reserve: frozenset({S.active, S.out_of_service, S.surplus}),
    S.out_of_service: frozenset({S.active, S.reserve, S.surplus}),
    S.surplus: frozenset({S.active, S.disposed}),
    S.disposed: frozenset(),
}
VEHICLES = StateMachine.of("vehicle", STATUS_LABELS, TRANSITIONS)
AUDIT_FIELDS = tuple(f for f in VehicleIn.model_fields if f != "status")
# What the vehicle's carbon depends on besides its fuel, trips and readings.
CARBON_FIELDS = ("vehicle_class", "fuel_type", "model_year", "home_lon", "home_lat",
                 "description")


def _vehicle(session: Session, actor: Principal, vehicle_id: int) -> Vehicle:
    return queries.get_vehicle(session=session, actor=actor, vehicle_id=vehicle_id)


def _home(session: Session, actor: Principal, jurisdiction_id: int, data: VehicleIn
          ) -> tuple[float | None, float | None]:
    """The home point: the asset's (the owner's own, or another member's whose location is
    published), or the point given."""
    if data.home_asset_id is None:
        return data.home_lon, data.home_lat
    asset = queries.home_asset(session=session, asset_id=data.home_asset_id)
    if asset is None or not (asset.jurisdiction_id == jurisdiction_id or asset.location_public
                             or can_see_jurisdiction_rows(actor, asset.jurisdiction_id)):
        raise BadRequest(f"Home site: asset {data.home_asset_id} not found")
    if asset.lon is None or asset.lat is None:
        raise BadRequest(f"Home site: asset {data.home_asset_id} ({asset.name}) has no "
                         "location; give the home site as a point instead")
    return asset.lon, asset.lat


def create_vehicle(*, session: Session, actor: Principal, jurisdiction_id: int,
                   data: VehicleIn, source: str | None = None, synthetic: bool = False
                   ) -> Vehicle:
    authorize(actor, Action.fleet_manage, jurisdiction_id)
    regions_queries.get_jurisdiction(session=session, jurisdiction_id=jurisdiction_id)
    if queries.vehicle_by_unit(session=session, jurisdiction_id=jurisdiction_id,
                               unit_id=data.unit_id) is not None:
        raise Conflict(f"Unit {data.unit_id!r} is already registered for this member")
    lon, lat = _home(session, actor, jurisdiction_id, data)
    values = data.model_dump(mode="python")
    values.update(home_lon=lon, home_lat=lat, status=data.status.value,
                  vehicle_class=data.vehicle_class.value, fuel_type=data.fuel_type.value)
    v = Vehicle(jurisdiction_id=jurisdiction_id, source=source, synthetic=synthetic, **values)
    session.add(v)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(f"Unit {data.unit_id!r} is already registered") from exc
    session.add(VehicleStatusChange(vehicle_id=v.id, from_status=None, to_status=v.status,
                                    at=utcnow(), actor=actor.ref, reason="registered"))
    audit.record(session, actor, action="vehicle.create", entity="vehicle", entity_id=v.id,
                 jurisdiction_id=jurisdiction_id, after=audit.snapshot(v, AUDIT_FIELDS))
    return v


def update_vehicle(*, session: Session, actor: Principal, vehicle_id: int, data: VehicleIn
                   ) -> Vehicle:
    v = _vehicle(session, actor, vehicle_id)
    authorize(actor, Action.fleet_manage, v.jurisdiction_id)
    if data.unit_id != v.unit_id:
        raise BadRequest("The unit id cannot be changed; register a new vehicle instead")
    if data.status.value != v.status:
        raise BadRequest("Change the status with a status transition, which keeps history")
    lon, lat = _home(session, actor, v.jurisdiction_id, data)
    before = audit.snapshot(v, AUDIT_FIELDS)
    values = data.model_dump(mode="python", exclude={"status"})
    values.update(home_lon=lon, home_lat=lat, vehicle_class=data.vehicle_class.value,
                  fuel_type=data.fuel_type.value)
    for key, value in values.items():
        setattr(v, key, value)
    session.flush()
    changed = audit.record_changes(session, actor, v, fields=AUDIT_FIELDS, before=before,
                                   action="vehicle.update", entity="vehicle",
                                   jurisdiction_id=v.jurisdiction_id)
    if changed.intersection(CARBON_FIELDS):
        record_carbon(session=session, actor=actor, vehicle_ids=[v.id])
    return v


def transition(*, session: Session, actor: Principal, vehicle_id: int,
               to_status: VehicleStatus, reason: str | None = None) -> Vehicle:
    v = _vehicle(session, actor, vehicle_id)
    authorize(actor, Action.fleet_manage, v.jurisdiction_id)
    current = VehicleStatus(VEHICLES.move(v, to_status))
    session.add(VehicleStatusChange(vehicle_id=v.id, from_status=current.value,
                                    to_status=to_status.value, at=utcnow(), actor=actor.ref,
                                    reason=reason))
    session.flush()
    audit.record(session, actor, action="vehicle.status", entity="vehicle", entity_id=v.id,
                 jurisdiction_id=v.jurisdiction_id, before={"status": current.value},
                 after={"status": to_status.value, "reason": reason})
    return v


def recheck_odometer(*, session: Session, vehicle_ids: list[int], params: Parameters) -> int:
    """Check each vehicle's whole reading sequence again (after readings were added) and
    store every reading's verdict. Returns the number of flagged readings."""
    flagged = 0
    for vid in vehicle_ids:
        rows = queries.readings(session=session, vehicle_id=vid)
        fuel_ids = [r.fuel_transaction_id for r in rows if r.fuel_transaction_id]
        gallons: dict[int, float] = {}
        if fuel_ids:
            for fid, g in session.execute(select(FuelTransaction.id, FuelTransaction.gallons)
                                          .where(FuelTransaction.id.in_(fuel_ids))):
                gallons[fid] = g or 0.0
        flags = check_odometer(
            [Reading(r.id, r.read_at, r.miles, gallons.get(r.fuel_transaction_id or 0, 0.0))
             for r in rows], max_mpg=params.max_mpg,
            max_miles_per_day=params.max_miles_per_day)
        for r in rows:
            flag = flags.get(r.id)
            if r.flag != flag or r.accepted != (flag is None):
                r.flag, r.accepted = flag, flag is None
            flagged += flag is not None
    session.flush()
    return flagged


def add_reading(*, session: Session, actor: Principal, vehicle_id: int, data: ReadingIn
                ) -> OdometerReading:
    v = _vehicle(session, actor, vehicle_id)
    authorize(actor, Action.fleet_manage, v.jurisdiction_id)
    # Readings are kept as the region's wall-clock time (like the logs they come from); a
    # time given with an offset is converted to it, not compared naive against aware.
    zone = ZoneInfo(regions_queries.require_current_region(session=session).time_zone)
    read_at = data.read_at
    if read_at.tzinfo is not None:
        read_at = read_at.astimezone(zone).replace(tzinfo=None)
    if read_at > utcnow().astimezone(zone).replace(tzinfo=None):
        raise BadRequest("The reading's date is in the future")
    r = OdometerReading(vehicle_id=v.id, read_at=read_at,
                        miles=data.miles, source=ReadingSource.manual.value)
    session.add(r)
    session.flush()
    region = regions_queries.require_current_region(session=session)
    recheck_odometer(session=session, vehicle_ids=[v.id],
                     params=queries.parameters(session=session, region_id=region.id))
    audit.record(session, actor, action="vehicle.reading", entity="vehicle", entity_id=v.id,
                 jurisdiction_id=v.jurisdiction_id,
                 after={"read_at": r.read_at.isoformat(), "miles": r.miles, "flag": r.flag})
    record_carbon(session=session, actor=actor, vehicle_ids=[v.id])
    return r


def set_parameters(*, session: Session, actor: Principal, region_id: int,
                   params: dict[str, Any]) -> FleetParameters:
    """Store the region's parameters that differ from the defaults, after validating all."""
    authorize(actor, Action.fleet_parameters, region_id=region_id)
    values = parameters.changed_from_defaults(params, Parameters, checked_parameters)
    row: FleetParameters = parameters.store(session, actor, FleetParameters, region_id, values,
                                    action="fleet.parameters")
    return row


def vehicle_or_404(*, session: Session, actor: Principal, vehicle_id: int) -> Vehicle:
    return _vehicle(session, actor, vehicle_id)


# ------------------------------------------------------------------------------ carbon

def carbon_key(vehicle_id: int) -> str:
    """The vehicle's ``source_key`` in carbon (source domain ``fleet``)."""
    return f"vehicle:{vehicle_id}"


def carbon_rows(vehicle: Vehicle, fuel: dict[tuple[int, str], float],
                trips: list[Any], readings: list[Any]) -> list[dict[str, Any]]:
    """One vehicle's activity for carbon, one period per calendar year: gallons by carbon
    activity (a blend split by its shares) and, where the Hub has a vehicle type for it and
    the model year is known, the year's miles."""
    v = vehicle
    name = f"Vehicle {v.unit_id}" + (f" ({v.description})" if v.description else "")
    base: dict[str, Any] = {
        "source_key": carbon_key(v.id), "jurisdiction_id": v.jurisdiction_id,
        "name": name[:300],
        "sector": "equipment" if v.vehicle_class == "off_road" else "vehicle_fleet",
        "lon": v.home_lon, "lat": v.home_lat}
    gallons_of: dict[tuple[int, str], float] = {}
    for (year, product), gallons in sorted(fuel.items()):
        for activity, share in PRODUCT_ACTIVITIES.get(product, ()):
            gallons_of[(year, activity)] = gallons_of.get((year, activity), 0.0) + \
                gallons * share
    years: dict[int, list[dict[str, Any]]] = {}
    for (year, activity), gallons in sorted(gallons_of.items()):
        years.setdefault(year, []).append(
            {"activity": activity, "quantity": gallons, "unit": "gallon"})
    vtype = hub_vehicle_type(v.vehicle_class, v.fuel_type)
    if vtype and v.model_year:
        for year in sorted({s.year for s, _e, _m in trips} | {at.year for at, _m in readings}):
            miles = year_miles(trips, readings, year)
            if miles:
                years.setdefault(year, []).append(
                    {"activity": "vehicle_miles", "quantity": miles, "unit": "mile",
                     "vehicle_type": vtype, "model_year": v.model_year})
    return [{**base, "period_start": date(year, 1, 1), "period_end": date(year, 12, 31), **a}
            for year, acts in sorted(years.items()) for a in acts]


def record_carbon(*, session: Session, actor: Principal, vehicle_ids: list[int]) -> int:
    """Record these vehicles' fuel and miles into carbon (see the module docstring). Each
    vehicle's whole history is stated again, so a re-import replaces its periods and never
    adds to them; a vehicle left with no activity has its periods cleared. Returns the
    vehicles with activity recorded."""
    ids = sorted(set(vehicle_ids))
    if not ids:
        return 0
    vehicles = [v for i in range(0, len(ids), 5000) for v in session.scalars(
        select(Vehicle).where(Vehicle.id.in_(ids[i:i + 5000])))]
    ids = [v.id for v in vehicles]
    fuel = queries.gallons_by_year_product(session=session, vehicle_ids=ids)
    trips = queries.trips_of(session=session, vehicle_ids=ids)
    readings = queries.accepted_readings(session=session, vehicle_ids=ids)
    rows: list[dict[str, Any]] = []
    empty: list[str] = []
    recorded = 0
    for v in vehicles:
        mine = carbon_rows(v, fuel.get(v.id, {}), trips.get(v.id, []), readings.get(v.id, []))
        if mine:
            recorded += 1
            rows += mine
        else:
            empty.append(carbon_key(v.id))
    if rows:
        carbon_service.record_activity(session, actor, "fleet", rows, replace="all")
    if empty:
        carbon_service.clear_periods(session, actor, "fleet", empty)
    return recorded


GridLookup = Callable[[Vehicle], tuple[float | None, str | None]]


def grid_lookup(session: Session) -> GridLookup:
    """A vehicle's home-site grid factor from carbon (kg CO2e per kWh, location-based, and
    where it comes from), cached per place; (None, None) for a vehicle without a home site or
    where carbon knows no eGRID subregion."""
    cache: dict[tuple[float, float], tuple[float | None, str | None]] = {}

    def lookup(v: Vehicle) -> tuple[float | None, str | None]:
        if v.home_lon is None or v.home_lat is None:
            return None, None
        key = (round(v.home_lon, 3), round(v.home_lat, 3))
        if key not in cache:
            try:
                g = carbon_service.grid_factor(session, lon=v.home_lon, lat=v.home_lat)
                cache[key] = (g.kg_co2e_per_mwh / 1000,
                              f"eGRID {g.subregion} ({g.subregion_name}), "
                              f"{g.kg_co2e_per_mwh:,.0f} kg CO2e/MWh, {g.factor_set} "
                              f"{g.edition}, {g.gwp_set}; {g.source}")
            except NotFound:
                cache[key] = (None, None)
        return cache[key]
    return lookup
