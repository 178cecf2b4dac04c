"""JSON API of the property registry for staff and systems, under /api/v1."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.orm import Session

from govshare.core import forms, images
from govshare.core.errors import BadRequest, ValidationFailed
from govshare.core.http import allow, body_limit, get_session, row_id
from govshare.core.paging import Page, PageParams, page_params
from govshare.core.tenancy import Action, Principal
from govshare.property import planning, queries, service
from govshare.property.models import AssetStatus, AssetUse
from govshare.property.schemas import (
    PHOTO_ALT_MAX,
    AssetIn,
    AssetRead,
    ConsolidationCarbonIn,
    ConsolidationCarbonOut,
    PhotoIn,
    StatusChangeIn,
)
from govshare.regions import queries as regions_queries

AssetId = Annotated[int, row_id("asset")]  # 422 naming it unless 1..MAX_ID
PhotoId = Annotated[int, row_id("photo")]
router = APIRouter(prefix="/api/v1", tags=["property"])


class ComponentOut(BaseModel):
    key: str
    label: str
    cents: int
    formula: str
    inputs: dict[str, str]
    sources: list[str]
    synthetic: bool
    missing: list[str]


class TrueCostOut(BaseModel):
    asset_id: int
    total_cents: int
    complete: bool
    tco2e: float
    components: list[ComponentOut]
    emissions: list[dict[str, Any]]
    parameters: dict[str, Any]


class RollupOut(BaseModel):
    key: str
    count: int
    ft2: float
    total_cents: int
    tco2e: float
    components: dict[str, int]
    underused: int
    vacant: int
    incomplete: int


@router.get("/assets", response_model=Page[AssetRead],
            summary="Assets you may see in full (your jurisdiction's; all for regional roles)")
def list_assets(
    jurisdiction_id: int | None = None, use: AssetUse | None = None,
    status: AssetStatus | None = None, q: str | None = Query(None, max_length=100),
    page: PageParams = Depends(page_params(100, 1000)),
    session: Session = Depends(get_session),
    actor: Principal = Depends(allow(Action.property_read)),
) -> Page[AssetRead]:
    flt = queries.AssetFilter(jurisdiction_id=jurisdiction_id, use=use.value if use else None,
                              status=status.value if status else None, q=q)
    region_id = regions_queries.require_current_region(session=session).id
    rows, total = queries.list_full_assets(session=session, actor=actor, region_id=region_id,
                                           flt=flt, page=page)
    return page.page([AssetRead.model_validate(a) for a in rows], total)


@router.get("/assets/{asset_id}", response_model=AssetRead)
def get_asset(asset_id: AssetId, session: Session = Depends(get_session),
              actor: Principal = Depends(allow(Action.property_read))) -> AssetRead:
    return AssetRead.model_validate(queries.get_asset(session=session, actor=actor,
                                                      asset_id=asset_id))


@router.post("/assets", response_model=AssetRead, status_code=201)
def create_asset(data: AssetIn, jurisdiction_id: int = Query(...),
                 session: Session = Depends(get_session),
                 actor: Principal = Depends(allow(Action.property_manage))) -> AssetRead:
    asset = service.create_asset(session=session, actor=actor, jurisdiction_id=jurisdiction_id,
                                 data=data, source="API")
    session.commit()
    return AssetRead.model_validate(asset)


@router.put("/assets/{asset_id}", response_model=AssetRead)
def update_asset(asset_id: AssetId, data: AssetIn, session: Session = Depends(get_session),
                 actor: Principal = Depends(allow(Action.property_manage))) -> AssetRead:
    asset = service.update_asset(session=session, actor=actor, asset_id=asset_id, data=data)
    session.commit()
    return AssetRead.model_validate(asset)


@router.post("/assets/{asset_id}/status", response_model=AssetRead,
             summary="Move an asset along its status machine (kept in its history)")
def change_status(asset_id: AssetId, data: StatusChangeIn, session: Session = Depends(get_session),
                  actor: Principal = Depends(allow(Action.property_manage))) -> AssetRead:
    asset = service.transition(session=session, actor=actor, asset_id=asset_id,
                               to_status=data.to_status, reason=data.reason)
    session.commit()
    return AssetRead.model_validate(asset)


class PhotoRead(BaseModel):
    """A photo of an asset as its staff see it: ``url`` and ``thumbnail_url`` are the staff
    addresses; ``public_url`` and ``public_thumbnail_url`` answer anyone while the asset
    publishes its ``photos`` group. A thumbnail is 320 pixels on its longer side, or the
    photo itself when it is no larger (or was stored before thumbnails)."""

    id: int
    asset_id: int
    url: str
    thumbnail_url: str
    public_url: str
    public_thumbnail_url: str
    alt_text: str
    content_type: str
    width: int
    height: int
    bytes: int
    synthetic: bool
    public: bool = Field(description="Whether the public window shows it now")


def _photo_read(asset: Any, p: Any) -> PhotoRead:
    return PhotoRead(id=p.id, asset_id=p.asset_id,
                     url=queries.staff_photo_url(p.asset_id, p.id),
                     thumbnail_url=queries.staff_thumbnail_url(p.asset_id, p.id),
                     public_url=queries.public_photo_url(p.asset_id, p.id),
                     public_thumbnail_url=queries.public_thumbnail_url(p.asset_id, p.id),
                     alt_text=p.alt_text, content_type=p.content_type, width=p.width,
                     height=p.height, bytes=p.bytes, synthetic=p.synthetic,
                     public=queries.photos_public(asset))


@router.get("/assets/{asset_id}/photos", response_model=Page[PhotoRead],
            summary="The asset's photos, oldest first (staff who see the asset in full)")
def list_photos(asset_id: AssetId, page: PageParams = Depends(page_params(20, 100)),
                session: Session = Depends(get_session),
                actor: Principal = Depends(allow(Action.property_read))) -> Page[PhotoRead]:
    asset = queries.get_asset(session=session, actor=actor, asset_id=asset_id)
    rows = queries.asset_photos(session=session, asset_id=asset.id)  # at most MAX_PHOTOS
    return page.page([_photo_read(asset, p) for p in rows[page.offset:page.offset + page.limit]],
                     len(rows))


@router.post("/assets/{asset_id}/photos", response_model=PhotoRead, status_code=201,
             summary="Add a photo (multipart: photo, alt_text). JPEG, PNG or WebP checked by "
                     "content, at most 5 MB (bounded while it streams in) and 8,000 pixels a "
                     "side; re-encoded without EXIF/GPS metadata. Owner's staff only")
@body_limit("upload", max_bytes=images.MAX_BYTES + 64 * 1024)
async def add_photo(asset_id: AssetId, photo: UploadFile,
                    alt_text: str = Form(..., max_length=PHOTO_ALT_MAX,
                                         description="What the photo shows"),
                    session: Session = Depends(get_session),
                    actor: Principal = Depends(allow(Action.property_manage))) -> PhotoRead:
    try:
        data = PhotoIn(alt_text=alt_text)
    except ValidationError as exc:
        errors = forms.form_errors(exc)
        raise ValidationFailed(f"alt_text: {errors[0]['reason']}", errors=errors) from None
    content = await photo.read(images.MAX_BYTES + 1)
    if not content:
        raise ValidationFailed("The photo is empty",
                               errors=[{"loc": ["photo"], "reason": "the file is empty"}])
    row = service.add_photo(session=session, actor=actor, asset_id=asset_id,
                            content=content, data=data)
    session.commit()
    asset = queries.get_asset(session=session, actor=actor, asset_id=asset_id)
    return _photo_read(asset, row)


@router.delete("/assets/{asset_id}/photos/{photo_id}", status_code=204,
               summary="Remove a photo (owner's staff only)")
def remove_photo(asset_id: AssetId, photo_id: PhotoId, session: Session = Depends(get_session),
                 actor: Principal = Depends(allow(Action.property_manage))) -> Response:
    service.remove_photo(session=session, actor=actor, asset_id=asset_id, photo_id=photo_id)
    session.commit()
    return Response(status_code=204)


@router.get("/assets/{asset_id}/true-cost", response_model=TrueCostOut,
            summary="Annual true cost, each component with its formula, inputs and sources")
def asset_true_cost(asset_id: AssetId, session: Session = Depends(get_session),
                    actor: Principal = Depends(allow(Action.property_read))) -> TrueCostOut:
    asset = queries.get_asset(session=session, actor=actor, asset_id=asset_id)
    region_id = regions_queries.require_current_region(session=session).id
    params = queries.parameters(session=session, region_id=region_id)
    tc = queries.asset_true_cost(asset, params)
    return TrueCostOut(
        asset_id=asset.id, total_cents=tc.total_cents, complete=tc.complete,
        tco2e=tc.emissions.tco2e,
        components=[ComponentOut(**c.__dict__) for c in tc.components],
        emissions=tc.emissions.lines, parameters=params.__dict__)


@router.get("/property/summary", response_model=Page[RollupOut],
            summary="True cost, floor area and tCO2e rolled up by jurisdiction or by use, "
                    "largest true cost first")
def summary(by: str = Query("jurisdiction", pattern="^(jurisdiction|use)$"),
            page: PageParams = Depends(page_params(100, 1000)),
            session: Session = Depends(get_session),
            actor: Principal = Depends(allow(Action.property_read))) -> Page[RollupOut]:
    region_id = regions_queries.require_current_region(session=session).id
    rows = queries.asset_rows(session=session, actor=actor, region_id=region_id)
    groups = queries.rollup(rows, by)  # totals of every asset: computed whole, then paged
    return page.page([RollupOut(**g) for g in groups[page.offset:page.offset + page.limit]],
                     len(groups))


@router.get("/property/parameters", response_model=dict[str, Any])
def get_parameters(session: Session = Depends(get_session),
                   _: Principal = Depends(allow(Action.property_read))) -> dict[str, Any]:
    region_id = regions_queries.require_current_region(session=session).id
    return queries.parameters(session=session, region_id=region_id).__dict__


@router.put("/property/parameters", response_model=dict[str, Any])
def put_parameters(params: dict[str, Any], session: Session = Depends(get_session),
                   actor: Principal = Depends(allow(Action.property_parameters))
                   ) -> dict[str, Any]:
    region_id = regions_queries.require_current_region(session=session).id
    service.set_parameters(session=session, actor=actor, region_id=region_id,
                           params=params)
    session.commit()
    return queries.parameters(session=session, region_id=region_id).__dict__


def run_plan(*, session: Session, actor: Principal, region_id: int,
             data: ConsolidationCarbonIn, time_limit: float | None = None, job: str = "",
             inline_limit: float | None = None) -> planning.Plan:
    """The consolidation plan for these inputs (empty ones: the plan's defaults): the
    finished plan of the same solve when this process keeps one (``job``: the plan page's
    solve; `planning.kept`), else solved here for at most time_limit seconds (default:
    data.minutes; the CLI's --minutes), refused above ``inline_limit`` (a request's: the
    API and the pages do not wait longer than the default minute)."""
    pins = {**{i: True for i in data.keep}, **{i: False for i in data.close}}
    kw: dict[str, Any] = {
        "time_limit": 60.0 * data.minutes if time_limit is None else time_limit,
        "job": job, "inline_limit": inline_limit}
    if data.max_km is not None:
        kw["max_km"] = data.max_km
    if data.travel is not None:
        kw["travel_cents_per_person_km"] = round(data.travel * 100)
    return planning.plan(session=session, actor=actor, region_id=region_id,
                         use=data.use.value, max_sites=data.max_sites, pins=pins,
                         keep_together=data.keep_together, **kw)


def add_plan_to_carbon(*, session: Session, actor: Principal, region_id: int,
                       data: ConsolidationCarbonIn, time_limit: float | None = None,
                       job: str = "", inline_limit: float | None = None
                       ) -> ConsolidationCarbonOut:
    """The consolidation plan for ``data`` (the one kept from its solve, or solved again:
    see `run_plan`) with its emissions effect added to the carbon plan
    (``service.add_consolidation_measures``); the pages and the CLI use it too."""
    plan = run_plan(session=session, actor=actor, region_id=region_id, data=data,
                    time_limit=time_limit, job=job, inline_limit=inline_limit)
    if not plan.has_plan:
        raise BadRequest(f"The consolidation plan has no solution ({plan.why_not_proven}); "
                         "nothing to add to the carbon plan")
    closed = [service.ClosedBuilding(s.asset.id, s.asset.name, s.asset.jurisdiction_id)
              for s in plan.sites if not s.keep]
    return service.add_consolidation_measures(session=session, actor=actor,
                                              region_id=region_id, data=data, closed=closed,
                                              proven=plan.proven)


@router.post("/property/consolidation/carbon-measures", response_model=ConsolidationCarbonOut,
             status_code=201,
             summary="Add a consolidation plan's emissions effect to the carbon plan: one "
                     "measure per member whose buildings it closes (their recorded t CO2e of "
                     "the member's latest whole inventory year); the same use again replaces "
                     "them")
def consolidation_to_carbon(data: ConsolidationCarbonIn,
                            session: Session = Depends(get_session),
                            actor: Principal = Depends(allow(Action.carbon_plan))
                            ) -> ConsolidationCarbonOut:
    region_id = regions_queries.require_current_region(session=session).id
    out = add_plan_to_carbon(session=session, actor=actor, region_id=region_id, data=data,
                             inline_limit=planning.DEFAULT_TIME_LIMIT)
    session.commit()
    return out
