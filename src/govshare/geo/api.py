"""JSON API of the geo domain, under /api/v1."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from govshare.core.errors import BadRequest, NotFound
from govshare.core.http import allow, body_limit, get_session, row_id
from govshare.core.tenancy import Action, Principal
from govshare.geo import queries, service
from govshare.geo.schemas import AddressSearch, BoundaryRead, LocateResult
from govshare.regions import queries as regions_queries

router = APIRouter(prefix="/api/v1", tags=["geo"])
GEOJSON = "application/geo+json"


@router.get("/boundaries.geojson", summary="Member boundaries as RFC 7946 GeoJSON",
            response_class=JSONResponse)
def boundaries(
    simplify: float = Query(0.0, ge=0, le=0.1,
                            description="Douglas-Peucker tolerance in degrees (0 = exact)"),
    session: Session = Depends(get_session), _: Principal = Depends(allow(Action.public_read)),
) -> JSONResponse:
    region_id = regions_queries.require_current_region(session=session).id
    doc = queries.boundaries_geojson(session=session, region_id=region_id,
                                     simplify=simplify)
    return JSONResponse(doc, media_type=GEOJSON,
                        headers={"Cache-Control": "public, max-age=300"})


@router.get("/locate", response_model=LocateResult,
            summary="Every member jurisdiction serving a point or ZIP code")
def locate(
    lon: float | None = Query(None, ge=-180, le=180),
    lat: float | None = Query(None, ge=-90, le=90),
    zip: str | None = Query(None, pattern=r"^\d{5}$", description="5-digit ZIP code"),
    session: Session = Depends(get_session), _: Principal = Depends(allow(Action.public_read)),
) -> LocateResult:
    region_id = regions_queries.require_current_region(session=session).id
    if zip is not None:
        if lon is not None or lat is not None:
            raise BadRequest("Give either zip or lon and lat, not both")
        return queries.locate_zip(session=session, region_id=region_id, zip_code=zip)
    if lon is None or lat is None:
        raise BadRequest("Give lon and lat (WGS84 degrees), or a 5-digit zip")
    return queries.locate(session=session, region_id=region_id, lon=lon, lat=lat)


@router.get("/locate/address", response_model=AddressSearch,
            summary="Find a street address among the region's address points and locate it")
def locate_address(
    request: Request,
    q: str = Query(..., min_length=1, max_length=300,
                   description="A US street address, e.g. 12525 Stone Ave N, Seattle, WA "
                   "98133, or a named place among the address points"),
    session: Session = Depends(get_session), _: Principal = Depends(allow(Action.public_read)),
) -> AddressSearch:
    region_id = regions_queries.require_current_region(session=session).id
    return queries.search_address(session=session, region_id=region_id, text=q,
                                  online=service.online_geocoder(request.app.state.settings))


@router.get("/jurisdictions/{jurisdiction_id}/boundary", summary="One member's boundary",
            response_class=JSONResponse)
def get_boundary(jurisdiction_id: Annotated[int, row_id("jurisdiction")],
                 session: Session = Depends(get_session),
                 _: Principal = Depends(allow(Action.public_read))) -> JSONResponse:
    regions_queries.get_jurisdiction(session=session, jurisdiction_id=jurisdiction_id)
    row = queries.get_boundary(session=session, jurisdiction_id=jurisdiction_id)
    if row is None:
        raise NotFound(f"Jurisdiction {jurisdiction_id} has no boundary yet")
    feature = {"type": "Feature", "id": jurisdiction_id, "geometry": json.loads(row.geojson),
               "properties": {"source": row.source, "area_km2": round(row.area_km2, 3)}}
    return JSONResponse(feature, media_type=GEOJSON)


@router.put("/jurisdictions/{jurisdiction_id}/boundary", response_model=BoundaryRead,
            summary="Replace a member's boundary with a GeoJSON Polygon/MultiPolygon")
@body_limit("upload")
def put_boundary(
    jurisdiction_id: Annotated[int, row_id("jurisdiction")],
    geojson: dict[str, Any] = Body(..., description="GeoJSON geometry, Feature or "
                                   "FeatureCollection of polygons (WGS84)"),
    repair: bool = Query(False, description="Repair an invalid polygon instead of refusing"),
    source: str = Query("uploaded through the API", max_length=300),
    session: Session = Depends(get_session),
    actor: Principal = Depends(allow(Action.jurisdiction_manage)),
) -> BoundaryRead:
    row, checked = service.set_boundary(session=session, actor=actor,
                                        jurisdiction_id=jurisdiction_id, geojson=geojson,
                                        source=source, repair=repair)
    session.commit()
    return BoundaryRead(jurisdiction_id=jurisdiction_id,
                        bbox=(row.min_lon, row.min_lat, row.max_lon, row.max_lat),
                        area_km2=row.area_km2, source=row.source, repaired=checked.repaired,
                        notes=checked.notes)
