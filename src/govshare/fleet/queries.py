"""Reads of the fleet domain. Row-level scope: a member's vehicles, readings, fuel and trips
are visible to its own staff and to regional roles only (``core.tenancy``); to anyone else
they do not exist (404).

The home site's asset is read from the property registry's table through the database (a
foreign key and the small read in :func:`home_asset`), because ``property`` is a sibling
domain that ``fleet`` may not import (docs/adr/0013-fleet.md).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, column, func, select, table
from sqlalchemy.orm import Session

from govshare.core.errors import NotFound
from govshare.core.paging import PageParams, fetch_page
from govshare.core.tenancy import Principal, ensure_visible, visible_jurisdiction_ids
from govshare.fleet.calc import Parameters, usable_parameters
from govshare.fleet.models import (
    FleetParameters,
    FuelTransaction,
    OdometerReading,
    Trip,
    Vehicle,
    VehicleStatusChange,
)
from govshare.regions import queries as regions_queries

log = logging.getLogger(__name__)

_assets = table("assets", column("id"), column("jurisdiction_id"), column("name"),
                column("lon"), column("lat"), column("public_groups"))


@dataclass(frozen=True)
class HomeAsset:
    id: int
    jurisdiction_id: int
    name: str
    lon: float | None
    lat: float | None
    location_public: bool


def home_asset(*, session: Session, asset_id: int) -> HomeAsset | None:
    row = session.execute(select(_assets.c.id, _assets.c.jurisdiction_id, _assets.c.name,
                                 _assets.c.lon, _assets.c.lat, _assets.c.public_groups)
                          .where(_assets.c.id == asset_id)).first()
    if row is None:
        return None
    groups = row.public_groups
    if isinstance(groups, str):  # JSON read raw through a table clause
        import json
        groups = json.loads(groups)
    return HomeAsset(id=row.id, jurisdiction_id=row.jurisdiction_id, name=row.name,
                     lon=row.lon, lat=row.lat, location_public="location" in (groups or []))


def parameters(*, session: Session, region_id: int) -> Parameters:
    row = session.scalars(select(FleetParameters).where(FleetParameters.region_id == region_id)
                          ).first()
    params, ignored = usable_parameters(dict(row.params) if row else {})
    if ignored:
        log.warning("stored fleet parameters not valid; their defaults are used",
                    extra={"region_id": region_id, "parameters": ignored})
    return params


@dataclass(frozen=True)
class VehicleFilter:
    jurisdiction_id: int | None = None
    vehicle_class: str | None = None
    status: str | None = None
    q: str | None = None


def _vehicles(actor: Principal, region_id: int, flt: VehicleFilter) -> Select[Any]:
    stmt = select(Vehicle).where(Vehicle.jurisdiction_id.in_(
        regions_queries.member_ids_query(region_id)))
    visible = visible_jurisdiction_ids(actor)
    if visible is not None:
        stmt = stmt.where(Vehicle.jurisdiction_id.in_(sorted(visible) or [-1]))
    if flt.jurisdiction_id is not None:
        stmt = stmt.where(Vehicle.jurisdiction_id == flt.jurisdiction_id)
    if flt.vehicle_class:
        stmt = stmt.where(Vehicle.vehicle_class == flt.vehicle_class)
    if flt.status:
        stmt = stmt.where(Vehicle.status == flt.status)
    if flt.q:
        word = f"%{flt.q.strip().lower()}%"
        stmt = stmt.where(func.lower(Vehicle.unit_id).like(word)
                          | func.lower(func.coalesce(Vehicle.description, "")).like(word)
                          | func.lower(func.coalesce(Vehicle.make, "")).like(word)
                          | func.lower(func.coalesce(Vehicle.model, "")).like(word))
    return stmt.order_by(Vehicle.jurisdiction_id, Vehicle.unit_id, Vehicle.id)


def list_vehicles(*, session: Session, actor: Principal, region_id: int, flt: VehicleFilter,
                  page: PageParams) -> tuple[list[Vehicle], int]:
    return fetch_page(session, _vehicles(actor, region_id, flt), page)


def all_vehicles(*, session: Session, actor: Principal, region_id: int,
                 flt: VehicleFilter | None = None) -> list[Vehicle]:
    return list(session.scalars(_vehicles(actor, region_id, flt or VehicleFilter())))


def get_vehicle(*, session: Session, actor: Principal, vehicle_id: int) -> Vehicle:
    v = session.get(Vehicle, vehicle_id) if 1 <= vehicle_id <= 2**31 - 1 else None
    if v is None:
        raise NotFound("Vehicle not found")
    ensure_visible(actor, v.jurisdiction_id, "Vehicle")
    return v


def vehicle_by_unit(*, session: Session, jurisdiction_id: int, unit_id: str) -> Vehicle | None:
    return session.scalars(select(Vehicle).where(Vehicle.jurisdiction_id == jurisdiction_id,
                                                 Vehicle.unit_id == unit_id)).first()


def units(*, session: Session, jurisdiction_id: int) -> dict[str, Vehicle]:
    return {v.unit_id: v for v in session.scalars(
        select(Vehicle).where(Vehicle.jurisdiction_id == jurisdiction_id))}


def readings(*, session: Session, vehicle_id: int) -> list[OdometerReading]:
    return list(session.scalars(select(OdometerReading)
                                .where(OdometerReading.vehicle_id == vehicle_id)
                                .order_by(OdometerReading.read_at, OdometerReading.id)))


def fuel(*, session: Session, vehicle_id: int, limit: int = 500) -> list[FuelTransaction]:
    return list(session.scalars(select(FuelTransaction)
                                .where(FuelTransaction.vehicle_id == vehicle_id)
                                .order_by(FuelTransaction.occurred_at.desc(),
                                          FuelTransaction.id).limit(limit)))


def status_history(*, session: Session, vehicle_id: int) -> list[VehicleStatusChange]:
    return list(session.scalars(select(VehicleStatusChange)
                                .where(VehicleStatusChange.vehicle_id == vehicle_id)
                                .order_by(VehicleStatusChange.at, VehicleStatusChange.id)))


def trips_of(*, session: Session, vehicle_ids: list[int]
             ) -> dict[int, list[tuple[datetime, datetime, float]]]:
    out: dict[int, list[tuple[datetime, datetime, float]]] = defaultdict(list)
    if not vehicle_ids:
        return out
    for chunk in range(0, len(vehicle_ids), 5000):
        ids = vehicle_ids[chunk:chunk + 5000]
        for vid, s, e, m in session.execute(
                select(Trip.vehicle_id, Trip.started_at, Trip.ended_at, Trip.miles)
                .where(Trip.vehicle_id.in_(ids)).order_by(Trip.vehicle_id, Trip.started_at)):
            out[vid].append((s, e, m))
    return out


def accepted_readings(*, session: Session, vehicle_ids: list[int]
                      ) -> dict[int, list[tuple[datetime, float]]]:
    out: dict[int, list[tuple[datetime, float]]] = defaultdict(list)
    for chunk in range(0, len(vehicle_ids), 5000):
        ids = vehicle_ids[chunk:chunk + 5000]
        for vid, at, miles in session.execute(
                select(OdometerReading.vehicle_id, OdometerReading.read_at,
                       OdometerReading.miles)
                .where(OdometerReading.vehicle_id.in_(ids), OdometerReading.accepted)):
            out[vid].append((at, miles))
    return out


def fuel_by_year(*, session: Session, vehicle_ids: list[int]
                 ) -> dict[int, dict[int, tuple[float, int, set[str]]]]:
    """vehicle -> year -> (gallons, cost cents, products)."""
    out: dict[int, dict[int, tuple[float, int, set[str]]]] = defaultdict(dict)
    for chunk in range(0, len(vehicle_ids), 5000):
        ids = vehicle_ids[chunk:chunk + 5000]
        for vid, at, gallons, cents, product in session.execute(
                select(FuelTransaction.vehicle_id, FuelTransaction.occurred_at,
                       FuelTransaction.gallons, FuelTransaction.cost_cents,
                       FuelTransaction.product)
                .where(FuelTransaction.vehicle_id.in_(ids))):
            g, c, p = out[vid].get(at.year, (0.0, 0, set()))
            p.add(product)
            out[vid][at.year] = (g + (gallons or 0.0), c + cents, p)
    return out


def gallons_by_year_product(*, session: Session, vehicle_ids: list[int]
                            ) -> dict[int, dict[tuple[int, str], float]]:
    """vehicle -> (year, product) -> gallons bought (positive lines only)."""
    out: dict[int, dict[tuple[int, str], float]] = defaultdict(dict)
    for chunk in range(0, len(vehicle_ids), 5000):
        ids = vehicle_ids[chunk:chunk + 5000]
        for vid, at, product, gallons in session.execute(
                select(FuelTransaction.vehicle_id, FuelTransaction.occurred_at,
                       FuelTransaction.product, FuelTransaction.gallons)
                .where(FuelTransaction.vehicle_id.in_(ids), FuelTransaction.gallons > 0)):
            per = out[vid]
            per[(at.year, product)] = per.get((at.year, product), 0.0) + (gallons or 0.0)
    return out


def gallons_by_product(*, session: Session, actor: Principal, region_id: int,
                       jurisdiction_id: int | None = None) -> list[tuple[str, str, float, int]]:
    """(product, label as the export names it, gallons, cost cents), largest first."""
    stmt = (select(FuelTransaction.product, FuelTransaction.product_label,
                   func.sum(FuelTransaction.gallons), func.sum(FuelTransaction.cost_cents))
            .where(FuelTransaction.jurisdiction_id.in_(
                regions_queries.member_ids_query(region_id))))
    visible = visible_jurisdiction_ids(actor)
    if visible is not None:
        stmt = stmt.where(FuelTransaction.jurisdiction_id.in_(sorted(visible) or [-1]))
    if jurisdiction_id is not None:
        stmt = stmt.where(FuelTransaction.jurisdiction_id == jurisdiction_id)
    stmt = stmt.group_by(FuelTransaction.product, FuelTransaction.product_label)
    rows = [(p, lbl, float(g or 0), int(c or 0)) for p, lbl, g, c in session.execute(stmt)]
    return sorted(rows, key=lambda r: (-r[2], r[1]))


def flagged_counts(*, session: Session, vehicle_ids: list[int]) -> dict[int, int]:
    out: dict[int, int] = {}
    for chunk in range(0, len(vehicle_ids), 5000):
        ids = vehicle_ids[chunk:chunk + 5000]
        for vid, n in session.execute(
                select(OdometerReading.vehicle_id, func.count())
                .where(OdometerReading.vehicle_id.in_(ids), ~OdometerReading.accepted)
                .group_by(OdometerReading.vehicle_id)):
            out[vid] = int(n)
    return out


def trip_counts(*, session: Session, vehicle_ids: list[int]) -> dict[int, int]:
    out: dict[int, int] = {}
    for chunk in range(0, len(vehicle_ids), 5000):
        ids = vehicle_ids[chunk:chunk + 5000]
        for vid, n in session.execute(select(Trip.vehicle_id, func.count())
                                      .where(Trip.vehicle_id.in_(ids))
                                      .group_by(Trip.vehicle_id)):
            out[vid] = int(n)
    return out
