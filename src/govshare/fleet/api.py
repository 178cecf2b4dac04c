"""JSON API of the fleet domain under /api/v1: vehicles, readings, status, imports of
fuel-card exports and trip logs, and the analyses (right-sizing, pooling, electrification).
Every list answers a ``core.paging.Page``."""

from __future__ import annotations

import io
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Path, Query, UploadFile
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from govshare.core.errors import BadRequest
from govshare.core.http import allow, get_session
from govshare.core.paging import Page, PageParams, page_params
from govshare.core.tenancy import Action, Principal
from govshare.fleet import importer, planning, queries, service
from govshare.fleet.calc import parameter_values
from govshare.fleet.models import VehicleClass, VehicleStatus
from govshare.fleet.schemas import (
    ElectrifyOut,
    ImportSummary,
    PoolGroupOut,
    ReadingIn,
    ReadingRead,
    RightSizeOut,
    StatusChangeIn,
    VehicleIn,
    VehicleRead,
)
from govshare.regions import queries as regions_queries

router = APIRouter(prefix="/api/v1", tags=["fleet"])
VehicleId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/fleet/vehicles", response_model=Page[VehicleRead],
            summary="Vehicles you may see (your member's; all for regional roles)")
def list_vehicles(
    jurisdiction_id: int | None = Query(None, ge=1, le=2**31 - 1),
    vehicle_class: VehicleClass | None = None, status: VehicleStatus | None = None,
    q: str | None = Query(None, max_length=100),
    page: PageParams = Depends(page_params(100, 1000)),
    session: Session = Depends(get_session),
    actor: Principal = Depends(allow(Action.fleet_read)),
) -> Page[VehicleRead]:
    region_id = regions_queries.require_current_region(session=session).id
    flt = queries.VehicleFilter(jurisdiction_id=jurisdiction_id,
                                vehicle_class=vehicle_class.value if vehicle_class else None,
                                status=status.value if status else None, q=q)
    rows, total = queries.list_vehicles(session=session, actor=actor, region_id=region_id,
                                        flt=flt, page=page)
    return page.page([VehicleRead.model_validate(v) for v in rows], total)


@router.get("/fleet/vehicles/{vehicle_id}", response_model=VehicleRead)
def get_vehicle(vehicle_id: VehicleId, session: Session = Depends(get_session),
                actor: Principal = Depends(allow(Action.fleet_read))) -> VehicleRead:
    return VehicleRead.model_validate(queries.get_vehicle(session=session, actor=actor,
                                                          vehicle_id=vehicle_id))


@router.post("/fleet/vehicles", response_model=VehicleRead, status_code=201)
def create_vehicle(data: VehicleIn, jurisdiction_id: int = Query(..., ge=1, le=2**31 - 1),
                   session: Session = Depends(get_session),
                   actor: Principal = Depends(allow(Action.fleet_manage))) -> VehicleRead:
    v = service.create_vehicle(session=session, actor=actor, jurisdiction_id=jurisdiction_id,
                               data=data, source="API")
    session.commit()
    return VehicleRead.model_validate(v)


@router.put("/fleet/vehicles/{vehicle_id}", response_model=VehicleRead)
def update_vehicle(vehicle_id: VehicleId, data: VehicleIn, session: Session = Depends(get_session),
                   actor: Principal = Depends(allow(Action.fleet_manage))) -> VehicleRead:
    v = service.update_vehicle(session=session, actor=actor, vehicle_id=vehicle_id, data=data)
    session.commit()
    return VehicleRead.model_validate(v)


@router.post("/fleet/vehicles/{vehicle_id}/status", response_model=VehicleRead,
             summary="Move a vehicle along its status machine (kept in its history)")
def change_status(vehicle_id: VehicleId, data: StatusChangeIn,
                  session: Session = Depends(get_session),
                  actor: Principal = Depends(allow(Action.fleet_manage))) -> VehicleRead:
    v = service.transition(session=session, actor=actor, vehicle_id=vehicle_id,
                           to_status=data.to_status, reason=data.reason)
    session.commit()
    return VehicleRead.model_validate(v)


@router.post("/fleet/vehicles/{vehicle_id}/readings", response_model=ReadingRead,
             status_code=201, summary="Add an odometer reading (the sequence is checked "
                                      "again; an impossible reading is kept, flagged)")
def add_reading(vehicle_id: VehicleId, data: ReadingIn, session: Session = Depends(get_session),
                actor: Principal = Depends(allow(Action.fleet_manage))) -> ReadingRead:
    r = service.add_reading(session=session, actor=actor, vehicle_id=vehicle_id, data=data)
    session.commit()
    return ReadingRead.model_validate(r)


async def _upload(file: UploadFile) -> tuple[bytes, str]:
    raw = await file.read(importer.MAX_BYTES + 1)
    if len(raw) > importer.MAX_BYTES:
        raise BadRequest(f"The file is larger than {importer.MAX_BYTES // 2**20} MB")
    return raw, FilePath(file.filename or "upload").name[:200]


@router.post("/fleet/imports/fuel", response_model=ImportSummary,
             summary="Import a fuel-card export for one member: all lines or none (422 with "
                     "every problem's row, column, value and reason)")
async def import_fuel(jurisdiction_id: int = Query(..., ge=1, le=2**31 - 1),
                      preset: str = Query("fuel-card", pattern="^(fuel-card|govshare)$"),
                      dry_run: bool = False, file: UploadFile = File(...),
                      session: Session = Depends(get_session),
                      actor: Principal = Depends(allow(Action.fleet_manage))) -> ImportSummary:
    raw, name = await _upload(file)
    result = await run_in_threadpool(
        importer.import_fuel, session=session, actor=actor, jurisdiction_id=jurisdiction_id,
        source=io.BytesIO(raw), file_name=name, preset=preset, dry_run=dry_run)
    if not dry_run:
        session.commit()
    return result


@router.post("/fleet/imports/trips", response_model=ImportSummary,
             summary="Import a trip or usage log for one member's vehicles: all or none")
async def import_trips(jurisdiction_id: int = Query(..., ge=1, le=2**31 - 1),
                       dry_run: bool = False, file: UploadFile = File(...),
                       session: Session = Depends(get_session),
                       actor: Principal = Depends(allow(Action.fleet_manage))
                       ) -> ImportSummary:
    raw, name = await _upload(file)
    result = await run_in_threadpool(
        importer.import_trips, session=session, actor=actor, jurisdiction_id=jurisdiction_id,
        source=io.BytesIO(raw), file_name=name, dry_run=dry_run)
    if not dry_run:
        session.commit()
    return result


def rightsize_out(entry: Any, facts: planning.VehicleFacts) -> RightSizeOut:
    u = entry.use
    return RightSizeOut(vehicle_id=u.vehicle_id, unit_id=facts.vehicle.unit_id,
                        jurisdiction_id=u.jurisdiction_id,
                        vehicle_class=VehicleClass(u.vehicle_class),
                        annual_miles=u.annual_miles, days_used=u.days_used,
                        class_average=entry.class_average, threshold_pct=entry.threshold_pct,
                        threshold_miles=entry.threshold_miles, under_used=entry.under_used,
                        cost_per_mile_cents=entry.cost_per_mile_cents, year=facts.year,
                        evidence=entry.evidence)


@router.get("/fleet/rightsizing", response_model=Page[RightSizeOut],
            summary="Each vehicle's annual miles against its class (under-used first), with "
                    "the evidence")
def rightsizing(jurisdiction_id: int | None = Query(None, ge=1, le=2**31 - 1),
                under_used: bool = False,
                page: PageParams = Depends(page_params(100, 1000)),
                session: Session = Depends(get_session),
                actor: Principal = Depends(allow(Action.fleet_read))) -> Page[RightSizeOut]:
    region_id = regions_queries.require_current_region(session=session).id
    entries, _ = planning.rightsizing(session=session, actor=actor, region_id=region_id,
                                      jurisdiction_id=jurisdiction_id)
    rows = [(e, f) for e, f in entries if e.under_used or not under_used]
    cut = rows[page.offset:page.offset + page.limit]  # computed whole (class averages)
    return page.page([rightsize_out(e, f) for e, f in cut], len(rows))


class PoolSummaryOut(BaseModel):
    radius_km: float
    reserve_pct: float
    vehicles: int
    trips: int
    vehicles_removable: int
    savings_cents: int
    members: dict[int, dict[str, int]]
    left_out_vehicle_ids: list[int]


def pool_group_out(g: Any, result: planning.PoolResult) -> PoolGroupOut:
    return PoolGroupOut(cluster=g.cluster, vehicle_class=VehicleClass(g.vehicle_class),
                        vehicles=g.vehicles, peak=g.peak, peak_at=result.peak_time(g.peak_at),
                        keep=g.keep, removable_vehicle_ids=[v.vehicle_id for v in g.removable],
                        savings_cents=g.savings_cents, member_peaks=g.member_peaks,
                        pooling_gain=g.pooling_gain)


@router.get("/fleet/pooling", response_model=PoolSummaryOut,
            summary="The pooling plan across members: totals and what each member gains")
def pooling_summary(session: Session = Depends(get_session),
                    actor: Principal = Depends(allow(Action.fleet_pool))) -> PoolSummaryOut:
    region_id = regions_queries.require_current_region(session=session).id
    r = planning.pooling(session=session, actor=actor, region_id=region_id)
    return PoolSummaryOut(radius_km=r.params.pool_radius_km,
                          reserve_pct=r.params.pool_reserve_pct, vehicles=len(r.vehicles),
                          trips=r.trips, vehicles_removable=r.plan.removable,
                          savings_cents=r.plan.savings_cents, members=r.plan.by_member,
                          left_out_vehicle_ids=[v.id for v, _why in r.left_out])


@router.get("/fleet/pooling/groups", response_model=Page[PoolGroupOut],
            summary="Each cluster's classes: vehicles, peak in use at once, vehicles to keep "
                    "and those that can be shared or removed")
def pooling_groups(page: PageParams = Depends(page_params(100, 1000)),
                   session: Session = Depends(get_session),
                   actor: Principal = Depends(allow(Action.fleet_pool))) -> Page[PoolGroupOut]:
    region_id = regions_queries.require_current_region(session=session).id
    r = planning.pooling(session=session, actor=actor, region_id=region_id)
    groups = r.plan.groups
    return page.page([pool_group_out(g, r) for g in groups[page.offset:page.offset + page.limit]],
                     len(groups))


def electrify_out(case: Any, facts: planning.VehicleFacts, planned: dict[int, int]
                  ) -> ElectrifyOut:
    return ElectrifyOut(
        vehicle_id=case.vehicle_id, unit_id=facts.vehicle.unit_id,
        jurisdiction_id=case.jurisdiction_id, vehicle_class=VehicleClass(case.vehicle_class),
        suitable=case.suitability.suitable, reasons=case.suitability.reasons,
        annual_miles=case.annual_miles, replacement=case.option.name if case.option else None,
        ice_tco_cents=case.ice.total_cents if case.ice else None,
        ev_tco_cents=case.ev.total_cents if case.ev else None,
        incremental_cents=case.incremental_cents,
        ice_t_co2_per_year=case.ice_kg_per_year / 1000 if case.ice_kg_per_year else None,
        ev_t_co2_per_year=case.ev_kg_per_year / 1000 if case.ev_kg_per_year is not None
        else None,
        grid_source=case.ev_grid_source, planned_year=planned.get(case.vehicle_id))


@router.get("/fleet/electrification", response_model=Page[ElectrifyOut],
            summary="Each vehicle's EV suitability, both TCOs and yearly emissions; the "
                    "replacement plan's choices carry their year")
def electrification(jurisdiction_id: int | None = Query(None, ge=1, le=2**31 - 1),
                    page: PageParams = Depends(page_params(100, 1000)),
                    session: Session = Depends(get_session),
                    actor: Principal = Depends(allow(Action.fleet_read))) -> Page[ElectrifyOut]:
    region_id = regions_queries.require_current_region(session=session).id
    r = planning.electrification(session=session, actor=actor, region_id=region_id,
                                 jurisdiction_id=jurisdiction_id,
                                 grid=service.grid_lookup(session))
    planned = {c.vehicle_id: y for c, y in r.plan.chosen}
    cut = r.cases[page.offset:page.offset + page.limit]
    return page.page([electrify_out(c, f, planned) for c, f in cut], len(r.cases))


class PlanSummaryOut(BaseModel):
    target_pct: float
    target_year: int
    light_duty: int
    already_electric: int
    needed: int
    chosen_vehicle_ids: list[int]
    shortfall: int
    incremental_cents: float
    trajectory_t_co2: dict[int, dict[int, list[float]]]
    grid_note: str


@router.get("/fleet/electrification/plan", response_model=PlanSummaryOut,
            summary="The least-cost replacement plan to the target and each member's tCO2 "
                    "a year without and with it")
def electrification_plan(jurisdiction_id: int | None = Query(None, ge=1, le=2**31 - 1),
                         session: Session = Depends(get_session),
                         actor: Principal = Depends(allow(Action.fleet_read))
                         ) -> PlanSummaryOut:
    region_id = regions_queries.require_current_region(session=session).id
    r = planning.electrification(session=session, actor=actor, region_id=region_id,
                                 jurisdiction_id=jurisdiction_id,
                                 grid=service.grid_lookup(session))
    p = r.plan
    return PlanSummaryOut(
        target_pct=r.params.target_pct, target_year=r.params.target_year,
        light_duty=p.light_duty, already_electric=p.already_electric, needed=p.needed,
        chosen_vehicle_ids=[c.vehicle_id for c, _y in p.chosen], shortfall=p.shortfall,
        incremental_cents=p.incremental_cents,
        trajectory_t_co2={m: {y: [round(b, 3), round(pl, 3)] for y, (b, pl) in s.items()}
                          for m, s in p.trajectory.items()},
        grid_note=r.grid_note)


@router.get("/fleet/parameters", response_model=dict[str, Any])
def get_parameters(session: Session = Depends(get_session),
                   _: Principal = Depends(allow(Action.fleet_read))) -> dict[str, Any]:
    region_id = regions_queries.require_current_region(session=session).id
    return parameter_values(queries.parameters(session=session, region_id=region_id))


@router.put("/fleet/parameters", response_model=dict[str, Any])
def put_parameters(params: dict[str, Any], session: Session = Depends(get_session),
                   actor: Principal = Depends(allow(Action.fleet_parameters))
                   ) -> dict[str, Any]:
    region_id = regions_queries.require_current_region(session=session).id
    service.set_parameters(session=session, actor=actor, region_id=region_id, params=params)
    session.commit()
    return parameter_values(queries.parameters(session=session, region_id=region_id))
