"""JSON API of carbon under /api/v1: the inventory (a Page of rows), the roll-up, factor sets
and their factors (Pages), GWP sets, the grid factor at a place, targets and planned measures
(the same as the pages: list, add, remove) and progress against them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from govshare.carbon import queries, service
from govshare.carbon.calc import Method
from govshare.carbon.schemas import (
    FactorRead,
    FactorSetIn,
    FactorSetRead,
    Gap,
    GridFactor,
    GwpRead,
    GwpSetRead,
    HistoryYear,
    InventoryRow,
    MeasureIn,
    MeasureRead,
    ProgressRead,
    Rollup,
    TargetIn,
    TargetRead,
    YearValue,
)
from govshare.core.errors import NotFound, ValidationFailed
from govshare.core.http import MAX_ID, allow, body_limit, get_session, row_id
from govshare.core.paging import Page, PageParams, fetch_page, page_params
from govshare.core.tenancy import Action, Principal

router = APIRouter(prefix="/api/v1/carbon", tags=["carbon"])
MAX_FACTOR_FILE = service.MAX_FACTOR_FILE


class InventoryPage(Page[InventoryRow]):
    """One page of inventory rows, with what applies to all of them."""

    factor_set: str
    gwp_set: str
    by: str
    boundary: str
    total_location: float
    total_market: float
    gaps: int


@router.get("/inventory", response_model=InventoryPage,
            summary="Inventory rows (t CO2e, location and market side by side)")
def inventory(
    session: Annotated[Session, Depends(get_session)],
    principal: Annotated[Principal, Depends(allow(Action.carbon_read))],
    page: Annotated[PageParams, Depends(page_params(500, 5000))],
    jurisdiction_id: int | None = Query(None, ge=1, le=MAX_ID),
    year: int | None = Query(None, ge=1990, le=2100),
    factor_set: str | None = Query(None, max_length=80),
    gwp_set: str = Query(service.DEFAULT_GWP, max_length=20),
    by: str = Query("sector", pattern="^(jurisdiction|sector|scope|gas|asset|region)$"),
    boundary: str = Query("government", pattern="^(government|community)$"),
) -> InventoryPage:
    inv = service.inventory(session, principal, year=year, jurisdiction_id=jurisdiction_id,
                            factor_set=factor_set, gwp_set=gwp_set, by=by, boundary=boundary)
    rows = inv.rows[page.offset:page.offset + page.limit]
    return InventoryPage(items=rows, total=len(inv.rows), limit=page.limit, offset=page.offset,
                         factor_set=inv.factor_set, gwp_set=inv.gwp_set, by=inv.by,
                         boundary=inv.boundary, total_location=inv.total_location,
                         total_market=inv.total_market, gaps=len(inv.gaps))


@router.get("/inventory/gaps", response_model=Page[Gap],
            summary="Activity no factor covers (left out of the totals, never zero)")
def inventory_gaps(
    session: Annotated[Session, Depends(get_session)],
    principal: Annotated[Principal, Depends(allow(Action.carbon_read))],
    page: Annotated[PageParams, Depends(page_params(100, 1000))],
    jurisdiction_id: int | None = Query(None, ge=1, le=MAX_ID),
    year: int | None = Query(None, ge=1990, le=2100),
    factor_set: str | None = Query(None, max_length=80),
    boundary: str = Query("government", pattern="^(government|community)$"),
) -> Page[Gap]:
    inv = service.inventory(session, principal, year=year, jurisdiction_id=jurisdiction_id,
                            factor_set=factor_set, by="region", boundary=boundary)
    return page.page(inv.gaps[page.offset:page.offset + page.limit], len(inv.gaps))


@router.get("/rollup", response_model=Rollup,
            summary="The region counted once by operational control vs the naive sum")
def rollup(
    session: Annotated[Session, Depends(get_session)],
    principal: Annotated[Principal, Depends(allow(Action.carbon_read))],
    year: int = Query(ge=1990, le=2100), method: Method = Method.location,
    factor_set: str | None = Query(None, max_length=80),
    gwp_set: str = Query(service.DEFAULT_GWP, max_length=20),
) -> Rollup:
    return service.regional_rollup(session, principal, year=year, factor_set=factor_set,
                                   gwp_set=gwp_set, method=method)


@router.get("/factor-sets", response_model=Page[FactorSetRead], summary="Factor sets")
def factor_sets(
    session: Annotated[Session, Depends(get_session)],
    _: Annotated[Principal, Depends(allow(Action.carbon_read))],
    page: Annotated[PageParams, Depends(page_params(100, 1000))],
) -> Page[FactorSetRead]:
    items, total = fetch_page(session, queries.factor_sets_stmt(), page)
    return page.page([FactorSetRead.model_validate(i) for i in items], total)


@router.get("/factor-sets/{set_name}/factors", response_model=Page[FactorRead],
            summary="The factors of one set, as published and per canonical unit")
def factors(
    set_name: str, session: Annotated[Session, Depends(get_session)],
    _: Annotated[Principal, Depends(allow(Action.carbon_read))],
    page: Annotated[PageParams, Depends(page_params(500, 5000))],
    activity: str | None = Query(None, max_length=40),
) -> Page[FactorRead]:
    fs = queries.factor_set_by_name(session, set_name)
    if fs is None:
        raise NotFound("No such factor set")
    items, total = fetch_page(session, queries.factors_stmt(fs.id, activity), page)
    return page.page([FactorRead.model_validate(i) for i in items], total)


@router.post("/factor-sets", response_model=FactorSetRead, status_code=201,
             summary="Add a factor set from a CSV file (all factors or none)")
@body_limit("upload", max_bytes=MAX_FACTOR_FILE + 64 * 1024)
def add_factor_set(
    session: Annotated[Session, Depends(get_session)],
    principal: Annotated[Principal, Depends(allow(Action.carbon_factors))],
    file: Annotated[UploadFile, File()],
    name: Annotated[str, Form()], title: Annotated[str, Form()],
    edition: Annotated[str, Form()], publisher: Annotated[str, Form()],
    year_from: Annotated[int, Form()], year_to: Annotated[int, Form()],
    replace: Annotated[bool, Form()] = False,
) -> FactorSetRead:
    try:
        meta = FactorSetIn(name=name, title=title, edition=edition, publisher=publisher,
                           year_from=year_from, year_to=year_to)
    except ValidationError as exc:
        raise ValidationFailed("The factor set's description is not valid", errors=[
            {"loc": ["body", *map(str, e["loc"])], "reason": e["msg"]}
            for e in exc.errors()]) from None
    fs = service.add_factor_set(session, principal, meta, file.file, file.filename or "factors",
                                replace=replace)
    session.commit()
    return FactorSetRead.model_validate(fs)


@router.get("/grid-factor", response_model=GridFactor,
            summary="Location-based electricity factor at a ZIP code or a point")
def grid_factor(
    session: Annotated[Session, Depends(get_session)],
    _: Annotated[Principal, Depends(allow(Action.carbon_read))],
    zip: str | None = Query(None, pattern=r"^\d{5}(-\d{4})?$"),
    lon: float | None = Query(None, ge=-180, le=180),
    lat: float | None = Query(None, ge=-90, le=90),
    gwp_set: str = Query(service.DEFAULT_GWP, max_length=20),
) -> GridFactor:
    return service.grid_factor(session, zip_code=zip, lon=lon, lat=lat, gwp_set=gwp_set)


TargetId = Annotated[int, row_id("target")]  # 422 naming it unless 1..MAX_ID
MeasureId = Annotated[int, row_id("measure")]


@router.get("/targets", response_model=Page[TargetRead],
            summary="Reduction targets the caller may see: the region's and its members' "
                    "(a member's staff: its own and the region's)")
def list_targets(
    session: Annotated[Session, Depends(get_session)],
    principal: Annotated[Principal, Depends(allow(Action.carbon_read))],
    page: Annotated[PageParams, Depends(page_params(100, 1000))],
) -> Page[TargetRead]:
    targets, _ = service.plan_items(session, principal)
    return page.page([TargetRead.model_validate(x)
                      for x in targets[page.offset:page.offset + page.limit]], len(targets))


@router.post("/targets", response_model=TargetRead, status_code=201,
             summary="Add a reduction target for a member or (jurisdiction_id null) the region")
def add_target(
    data: TargetIn, session: Annotated[Session, Depends(get_session)],
    principal: Annotated[Principal, Depends(allow(Action.carbon_plan))],
) -> TargetRead:
    tgt = service.add_target(session, principal, data)
    out = TargetRead.model_validate(tgt)
    session.commit()
    return out


@router.delete("/targets/{target_id}", response_model=TargetRead,
               summary="Remove a target (its member's planners; the region's: regional roles)")
def remove_target(
    target_id: TargetId, session: Annotated[Session, Depends(get_session)],
    principal: Annotated[Principal, Depends(allow(Action.carbon_plan))],
) -> TargetRead:
    out = TargetRead.model_validate(service.remove_target(session, principal, target_id))
    session.commit()
    return out


@router.get("/measures", response_model=Page[MeasureRead],
            summary="Planned measures the caller may see (a member's staff: its own)")
def list_measures(
    session: Annotated[Session, Depends(get_session)],
    principal: Annotated[Principal, Depends(allow(Action.carbon_read))],
    page: Annotated[PageParams, Depends(page_params(100, 1000))],
) -> Page[MeasureRead]:
    _, measures = service.plan_items(session, principal)
    return page.page([MeasureRead.model_validate(m)
                      for m in measures[page.offset:page.offset + page.limit]], len(measures))


@router.post("/measures", response_model=MeasureRead, status_code=201,
             summary="Add a planned measure: t CO2e a year avoided from its start year")
def add_measure(
    data: MeasureIn, session: Annotated[Session, Depends(get_session)],
    principal: Annotated[Principal, Depends(allow(Action.carbon_plan))],
) -> MeasureRead:
    out = MeasureRead.model_validate(service.add_measure(session, principal, data))
    session.commit()
    return out


@router.delete("/measures/{measure_id}", response_model=MeasureRead,
               summary="Remove a planned measure (its member's planners)")
def remove_measure(
    measure_id: MeasureId, session: Annotated[Session, Depends(get_session)],
    principal: Annotated[Principal, Depends(allow(Action.carbon_plan))],
) -> MeasureRead:
    out = MeasureRead.model_validate(service.remove_measure(session, principal, measure_id))
    session.commit()
    return out


FORMULAS = {
    "history": "the inventory's t CO2e of each recorded year (sum over assets of activity x "
               "factor x GWP, under factor_set, gwp_set and method); a partial year lacks "
               "sectors of the reference year (the base year, else the year with the most "
               "assets) and is neither judged nor fitted",
    "trajectory": "linear from the base year's inventory to each target year's (1 - "
                  "reduction_pct/100) x base, target by target",
    "bau": "business as usual: the least-squares line through the whole inventory years, "
           "from the latest whole year on (never below 0)",
    "with_measures": "bau minus the sum of t_co2e_per_year of every measure whose start_year "
                     "is that year or earlier (never below 0)",
    "on_track": "the latest whole year's inventory at or below the trajectory in that year",
}


@router.get("/progress", response_model=ProgressRead,
            summary="Emissions against targets: history, trajectory, business as usual and "
                    "with planned measures (a member, or the region for regional roles)")
def progress(
    session: Annotated[Session, Depends(get_session)],
    principal: Annotated[Principal, Depends(allow(Action.carbon_read))],
    jurisdiction_id: int | None = Query(
        None, ge=1, le=MAX_ID,
        description="A member; empty: the region (regional roles) or the caller's member"),
    factor_set: str | None = Query(None, max_length=80),
    gwp_set: str = Query(service.DEFAULT_GWP, max_length=20),
    method: Method = Method.location,
    horizon: int = Query(2050, ge=2000, le=2100, description="Last year forecast"),
) -> ProgressRead:
    if jurisdiction_id is None and not principal.role.is_regional:
        jurisdiction_id = principal.jurisdiction_id
    p = service.progress(session, principal, jurisdiction_id=jurisdiction_id,
                         factor_set=factor_set, gwp_set=gwp_set, method=method,
                         horizon=horizon)

    def series(values: dict[int, float]) -> list[YearValue]:
        return [YearValue(year=y, t_co2e=v) for y, v in sorted(values.items())]

    return ProgressRead(
        label=p.label, jurisdiction_id=p.jurisdiction_id, method=p.method,
        factor_set=service.stack(session, factor_set)[0].name, gwp_set=gwp_set,
        history=[HistoryYear(year=y, t_co2e=v, partial=y in p.partial,
                             missing_sectors=p.partial.get(y, []))
                 for y, v in sorted(p.history.items())],
        targets=[TargetRead.model_validate(x) for x in p.targets],
        trajectory=series(p.trajectory), bau=series(p.bau),
        with_measures=series(p.with_measures) if p.measures else [],
        measures=[MeasureRead.model_validate(m) for m in p.measures],
        latest_year=p.latest_year, on_track=p.on_track, base_missing=p.base_missing,
        formulas=FORMULAS)


def _gwp_set(session: Session, name: str) -> GwpSetRead:
    return GwpSetRead(name=name, builtin=name in service.builtin_gwp_sets(),
                      gases=[GwpRead.model_validate(g) for g in queries.gwp_rows(session, name)])


@router.get("/gwp-sets", response_model=Page[GwpSetRead],
            summary="Sets of global warming potentials (100-year, CO2 = 1), each with its gases")
def gwp_sets(
    session: Annotated[Session, Depends(get_session)],
    _: Annotated[Principal, Depends(allow(Action.carbon_read))],
    page: Annotated[PageParams, Depends(page_params(50, 200))],
) -> Page[GwpSetRead]:
    names = queries.gwp_sets(session)
    if not names:
        service.install_builtin_sets(session)
        names = queries.gwp_sets(session)
    return page.page([_gwp_set(session, n) for n in names[page.offset:page.offset + page.limit]],
                     len(names))


@router.post("/gwp-sets", response_model=GwpSetRead, status_code=201,
             summary="Add a GWP set from a CSV file (gas, value[, source]; CO2 = 1; at most "
                     "1 MB; all rows or none; the same file again changes nothing)")
@body_limit("upload", max_bytes=service.MAX_GWP_FILE + 64 * 1024)
async def add_gwp_set(
    session: Annotated[Session, Depends(get_session)],
    principal: Annotated[Principal, Depends(allow(Action.carbon_factors))],
    file: Annotated[UploadFile, File()],
    name: Annotated[str, Form(max_length=20)], source: Annotated[str, Form(max_length=300)],
    replace: Annotated[bool, Form()] = False,
) -> GwpSetRead:
    await run_in_threadpool(service.add_gwp_set, session, principal, name, file.file,
                            file.filename or "gwp.csv", source=source, replace=replace)
    session.commit()
    return _gwp_set(session, name)
