"""HTML pages of the geo domain: "who serves this place?" and boundary upload."""

from __future__ import annotations

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy.orm import Session

from govshare.core import tabular
from govshare.core.errors import BadRequest, GovshareError
from govshare.core.http import allow, body_limit, csrf_protect, get_session, redirect, render
from govshare.core.tenancy import Action, Principal
from govshare.geo import queries, service
from govshare.regions import queries as regions_queries

router = APIRouter(include_in_schema=False)
MAX_UPLOAD = 20 * 1024 * 1024


@router.get("/locate")
def locate_page(
    request: Request,
    address: str = Query("", max_length=300),
    zip: str = Query("", max_length=10),
    lon: str = Query("", max_length=30),
    lat: str = Query("", max_length=30),
    session: Session = Depends(get_session),
    _: Principal = Depends(allow(Action.public_read)),
) -> Response:
    region = regions_queries.require_current_region(session=session)
    result, error, search = None, None, None
    try:
        if address.strip():
            search = queries.search_address(
                session=session, region_id=region.id, text=address,
                online=service.online_geocoder(request.app.state.settings))
            result = search.result
        elif zip.strip():
            result = queries.locate_zip(session=session, region_id=region.id, zip_code=zip)
        elif lon.strip() or lat.strip():
            try:
                x, y = float(lon), float(lat)
            except ValueError:
                raise BadRequest("Longitude and latitude must be numbers, "
                                    "for example -122.3351 and 47.6080") from None
            result = queries.locate(session=session, region_id=region.id, lon=x, lat=y)
    except GovshareError as exc:
        error = exc.detail
    return render(request, "geo/locate.html", {
        "region": region, "result": result, "error": error, "search": search,
        "form": {"address": address, "zip": zip, "lon": lon, "lat": lat},
    }, status_code=400 if error else 200)


@router.get("/admin/jurisdictions/{jurisdiction_id}/boundary")
def boundary_form(request: Request, jurisdiction_id: int,
                  session: Session = Depends(get_session),
                  _: Principal = Depends(allow(Action.jurisdiction_manage))) -> Response:
    j = regions_queries.get_jurisdiction(session=session, jurisdiction_id=jurisdiction_id)
    row = queries.get_boundary(session=session, jurisdiction_id=jurisdiction_id)
    return render(request, "geo/boundary.html", {"j": j, "boundary": row, "errors": []})


@router.post("/admin/jurisdictions/{jurisdiction_id}/boundary",
             dependencies=[Depends(csrf_protect)])
@body_limit("upload", max_bytes=MAX_UPLOAD + 64 * 1024)
async def boundary_upload(
    request: Request, jurisdiction_id: int,
    file: UploadFile = File(...), repair: str = Form(""),
    session: Session = Depends(get_session),
    actor: Principal = Depends(allow(Action.jurisdiction_manage)),
) -> Response:
    j = regions_queries.get_jurisdiction(session=session, jurisdiction_id=jurisdiction_id)
    raw = await file.read(MAX_UPLOAD + 1)
    errors: list[dict[str, object]] = []
    try:
        if len(raw) > MAX_UPLOAD:
            raise BadRequest("The file is larger than 20 MB")
        try:
            doc = tabular.load_json(raw)
        except tabular.FileRefused as exc:
            reason = exc.error.reason
            raise BadRequest(reason[:1].upper() + reason[1:]) from None
        service.set_boundary(session=session, actor=actor, jurisdiction_id=jurisdiction_id,
                             geojson=doc, source=f"GeoJSON file {file.filename}"[:300],
                             repair=repair == "on")
    except GovshareError as exc:
        errors = exc.errors or [{"loc": ["file"], "reason": exc.detail}]
        row = queries.get_boundary(session=session, jurisdiction_id=jurisdiction_id)
        return render(request, "geo/boundary.html", {"j": j, "boundary": row, "errors": errors,
                                                      "detail": exc.detail},
                      status_code=exc.status)
    session.commit()
    return redirect("/admin/jurisdictions", flash=f"New boundary saved for {j.name}.")


@router.get("/admin/address-points")
def address_points_page(request: Request, session: Session = Depends(get_session),
                        _: Principal = Depends(allow(Action.jurisdiction_manage))) -> Response:
    region = regions_queries.require_current_region(session=session)
    return render(request, "geo/address_points.html", {
        "sources": queries.address_point_sources(session=session, region_id=region.id),
        "errors": [], "form": {"source": ""}})


@router.post("/admin/address-points", dependencies=[Depends(csrf_protect)])
@body_limit("upload")
async def address_points_upload(
    request: Request, file: UploadFile = File(...), source: str = Form("", max_length=300),
    session: Session = Depends(get_session),
    actor: Principal = Depends(allow(Action.jurisdiction_manage)),
) -> Response:
    import io

    region = regions_queries.require_current_region(session=session)
    # The upload limit (GOVSHARE_BODY_LIMIT_UPLOAD_MB) bounds the body; a county's whole
    # address file is imported with `govshare address-points import` instead.
    raw = await file.read()
    try:
        done = service.import_address_points(
            session=session, actor=actor, region_id=region.id, stream=io.BytesIO(raw),
            filename=file.filename or "upload", source=source)
    except GovshareError as exc:
        session.rollback()
        return render(request, "geo/address_points.html", {
            "sources": queries.address_point_sources(session=session, region_id=region.id),
            "errors": exc.errors or [{"reason": exc.detail}], "detail": exc.detail,
            "form": {"source": source}}, status_code=exc.status)
    session.commit()
    return redirect("/admin/address-points",
                    flash=f"Imported {done.imported:,} address points from {done.source} "
                    f"({done.replaced:,} earlier points of that source replaced).")
