"""Writes of the fleet domain: vehicles and their status machine, odometer readings (each
vehicle's sequence re-checked after every write), the region's fleet parameters.
Keyword-only; flush, never commit; every write leaves an audit row. (Imports of fuel-card
exports and trip logs live in ``importer``.)

Status machine (checked here, values backed by a DB check constraint):

    active <-> reserve <-> out_of_service, each -> surplus
    surplus -> active (withdrawn) | disposed          disposed: final
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from govshare.core import audit
from govshare.core.db import utcnow
from govshare.core.errors import BadRequest, Conflict, ValidationFailed
from govshare.core.states import StateMachine
from govshare.core.tenancy import Action, Principal, authorize, can_see_jurisdiction_rows
from govshare.fleet import queries
from govshare.fleet.calc import Parameters, Reading, check_odometer, checked_parameters
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
    after = audit.snapshot(v, AUDIT_FIELDS)
    if after != before:
        audit.record(session, actor, action="vehicle.update", entity="vehicle", entity_id=v.id,
                     jurisdiction_id=v.jurisdiction_id,
                     before={k: x for k, x in before.items() if after[k] != x},
                     after={k: x for k, x in after.items() if before[k] != x})
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
    return r


def set_parameters(*, session: Session, actor: Principal, region_id: int,
                   params: dict[str, Any]) -> FleetParameters:
    """Store the region's parameters that differ from the defaults, after validating all."""
    authorize(actor, Action.fleet_parameters, region_id=region_id)
    unknown = sorted(set(params) - set(Parameters.__dataclass_fields__))
    if unknown:
        raise ValidationFailed("Unknown parameter(s): " + ", ".join(unknown), errors=[
            {"loc": [k], "reason": "unknown parameter", "value": params[k]} for k in unknown])
    try:
        checked = checked_parameters(params)
    except ValidationError as exc:
        raise ValidationFailed("The parameters are not valid", errors=[
            {"loc": [str(p) for p in e["loc"]], "reason": e["msg"], "value": e.get("input")}
            for e in exc.errors()]) from None
    defaults = Parameters()
    values = {k: getattr(checked, k) for k in Parameters.__dataclass_fields__
              if getattr(checked, k) != getattr(defaults, k)}
    row = session.scalars(select(FleetParameters).where(FleetParameters.region_id == region_id)
                          ).first()
    before = dict(row.params) if row else {}
    if row is None:
        row = FleetParameters(region_id=region_id, params={}, updated_by=actor.ref)
        session.add(row)
    row.params = values
    row.updated_by = actor.ref
    session.flush()
    audit.record(session, actor, action="fleet.parameters", entity="fleet_parameters",
                 entity_id=row.id, before=before, after=values)
    return row


def vehicle_or_404(*, session: Session, actor: Principal, vehicle_id: int) -> Vehicle:
    return _vehicle(session, actor, vehicle_id)
