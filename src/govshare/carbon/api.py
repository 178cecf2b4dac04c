"""JSON API of carbon under /api/v1: the inventory (a Page of rows), the roll-up, factor sets
and their factors (Pages), the grid factor at a place, targets."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile
from pydantic import ValidationError
from sqlalchemy.orm import Session

from govshare.carbon import queries, service
from govshare.carbon.calc import Method
from govshare.carbon.schemas import (
    FactorRead,
    FactorSetIn,
    FactorSetRead,
    Gap,
    GridFactor,
    InventoryRow,
    Rollup,
    TargetIn,
)
from govshare.core.errors import NotFound, ValidationFailed
from govshare.core.http import MAX_ID, allow, get_session
from govshare.core.paging import Page, PageParams, fetch_page, page_params
from govshare.core.tenancy import Action, Principal

router = APIRouter(prefix="/api/v1/carbon", tags=["carbon"])
MAX_FACTOR_FILE = 20_000_000


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


class TargetOut(TargetIn):
    id: int


@router.post("/targets", response_model=TargetOut, status_code=201,
             summary="Add a reduction target for a member or (jurisdiction_id null) the region")
def add_target(
    data: TargetIn, session: Annotated[Session, Depends(get_session)],
    principal: Annotated[Principal, Depends(allow(Action.carbon_plan))],
) -> TargetOut:
    tgt = service.add_target(session, principal, data)
    session.commit()
    return TargetOut(id=tgt.id, **data.model_dump())
