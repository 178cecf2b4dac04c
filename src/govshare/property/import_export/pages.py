"""Staff pages to import and export assets: the upload form, its result or per-row errors,
the error report download, and CSV / XLSX / GeoJSON exports.

- ``POST /property/import`` reads its form itself (after ``csrf_protect``) rather than through
  FastAPI ``File``/``Form`` parameters: the upload streams to a spooled temporary file either
  way, and a route without declared body parameters needs no canned body in the
  authorization matrix (an allowed role posting nothing gets a 400 form page, not a 403).
- The import itself runs in a worker thread (it is CPU-bound; the event loop stays free).
- A refused import keeps its full report for an hour under ``<data_dir>/reports/`` named by a
  random 192-bit token and bound to the uploader (``principal.ref``). Anyone else, or after
  the hour, gets 404. The page shows the first 50 problems and links the full CSV.
- Exports: the owner's staff and regional roles get every field; staff of another member get
  that member's published assets with only their public field groups
  (``exporter.export_rows``). Without ``jurisdiction_id`` a jurisdiction's staff export their
  own assets and regional roles the whole region.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, Response, StreamingResponse
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from govshare.core import tabular
from govshare.core.errors import BadRequest, GovshareError, NotFound
from govshare.core.http import allow, body_limit, csrf_protect, get_session, render
from govshare.core.tabular import FORMATS, MEDIA_TYPES, ReportStore
from govshare.core.tenancy import Action, Principal, allows
from govshare.property.import_export import exporter, importer, mappings
from govshare.property.import_export.fileio import LAYOUT
from govshare.property.import_export.presets import PRESETS
from govshare.regions import queries as regions_queries

router = APIRouter(include_in_schema=False)

REPORT_TTL_SECONDS = 3600
PAGE_ERRORS = 50
MAPPING_CHARS = 20_000  # the mapping box; a mapping has at most tabular.MAX_MAPPED lines


# --------------------------------------------------------------------------- report store


def _reports(request: Request) -> ReportStore:
    return ReportStore(Path(request.app.state.settings.data_dir) / "reports",
                       ttl=REPORT_TTL_SECONDS)


# --------------------------------------------------------------------------------- pages


def _manageable(session: Session, actor: Principal) -> list[Any]:
    region = regions_queries.require_current_region(session=session)
    return [j for j in regions_queries.list_jurisdictions(session=session, region_id=region.id)
            if allows(actor, Action.property_manage, j.id)]


def _form(request: Request, session: Session, actor: Principal, *,
          values: dict[str, Any] | None = None, status_code: int = 200,
          **extra: Any) -> Response:
    members = _manageable(session, actor)
    region = regions_queries.require_current_region(session=session)
    saved = mappings.list_mappings(session=session, actor=actor, region_id=region.id) \
        if members else []
    chosen = dict(values or {})
    chosen.setdefault("jurisdiction_id", str(actor.jurisdiction_id or
                                             (members[0].id if members else "")))
    chosen.setdefault("preset", "govshare")
    return render(request, "property/import.html", {
        "members": members, "presets": list(PRESETS.values()), "form": chosen,
        "fields": LAYOUT.fields, "units": list(tabular.KBTU_PER_UNIT),
        "saved_mappings": saved,
        "formats": FORMATS, "result": None, "problems": [], "detail": None, "saved_note": None,
        "report_token": None, "report_count": 0, **extra,
    }, status_code=status_code)


@router.get("/property/import")
def import_form(request: Request, session: Session = Depends(get_session),
                actor: Principal = Depends(allow(Action.property_manage))) -> Response:
    return _form(request, session, actor)


@router.post("/property/import", dependencies=[Depends(csrf_protect)])
@body_limit("upload")
async def import_upload(request: Request, session: Session = Depends(get_session),
                        actor: Principal = Depends(allow(Action.property_manage))) -> Response:
    form = await request.form()
    jurisdiction_id = str(form.get("jurisdiction_id") or "")
    values: dict[str, Any] = {"jurisdiction_id": jurisdiction_id,
                              "preset": str(form.get("preset") or "govshare"),
                              "dry_run": form.get("dry_run") == "on",
                              "mapping": str(form.get("mapping") or "")[:MAPPING_CHARS],
                              "saved": str(form.get("saved") or "")[:100],
                              "save_as": str(form.get("save_as") or "")[:100]}
    upload = form.get("file")
    region = regions_queries.require_current_region(session=session)
    try:
        if values["saved"] and not values["mapping"].strip():
            row = mappings.get_mapping(session=session, actor=actor, region_id=region.id,
                                       name=values["saved"])
            values["mapping"] = "\n".join(row.pairs)
        try:
            mapping = tabular.parse_mapping(
                [line for line in values["mapping"].splitlines() if line.strip()])
        except tabular.MappingError as exc:
            raise BadRequest(f"Column mapping: {exc}") from None
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise BadRequest("Choose a file to import (CSV, XLSX or GeoJSON)")
        if not jurisdiction_id.isdigit() or len(jurisdiction_id) > 9:
            raise BadRequest("Choose the jurisdiction that owns the assets")
        if values["preset"] not in PRESETS:
            raise BadRequest("Choose one of the column presets")
        name = Path(upload.filename).name[:200]
        result = await run_in_threadpool(
            importer.import_assets, session=session, actor=actor,
            jurisdiction_id=int(jurisdiction_id), source=upload.file,
            preset=values["preset"], dry_run=bool(values["dry_run"]), file_name=name,
            mapping=mapping)
    except importer.ImportRefused as exc:
        token = _reports(request).save(exc.report, owner=actor.ref,
                                       file_name=exc.result.file_name)
        count = exc.report.count
        exc.report.close()
        return _form(request, session, actor, values=values, status_code=exc.status,
                     detail=exc.detail, problems=exc.result.errors[:PAGE_ERRORS],
                     report_token=token, report_count=count)
    except GovshareError as exc:
        if exc.status in (401, 403, 404):
            raise
        return _form(request, session, actor, values=values, status_code=exc.status,
                     detail=exc.detail)
    saved_note = None
    if values["save_as"].strip():
        try:
            row = mappings.save_mapping(session=session, actor=actor, region_id=region.id,
                                        name=values["save_as"],
                                        pairs=values["mapping"].splitlines())
            saved_note = f"The column mapping is saved as {row.name!r} for next time."
            values["saved"], values["save_as"] = row.name, ""
        except GovshareError as exc:
            saved_note = f"The column mapping was not saved: {exc.detail}"
    if not result.dry_run or saved_note:
        session.commit()
    jurisdiction = regions_queries.get_jurisdiction(session=session,
                                                    jurisdiction_id=int(jurisdiction_id))
    return _form(request, session, actor, values=values, result=result,
                 jurisdiction=jurisdiction, saved_note=saved_note)


@router.get("/property/import/report")
def import_report(request: Request, token: str = Query(..., max_length=64),
                  actor: Principal = Depends(allow(Action.property_manage))) -> Response:
    store = _reports(request)
    path, meta = store.find(token, owner=actor.ref)
    return FileResponse(path, media_type=MEDIA_TYPES["csv"],
                        filename=store.download_name(meta))


# --------------------------------------------------------------------------------- export


def _export(request: Request, session: Session, actor: Principal, fmt: str,
            jurisdiction_id: str) -> Response:
    region = regions_queries.require_current_region(session=session)
    if jurisdiction_id:
        if not jurisdiction_id.isdigit() or len(jurisdiction_id) > 9:
            raise BadRequest("jurisdiction_id must be a member's id")
        ids = [int(jurisdiction_id)]
        j = regions_queries.get_jurisdiction(session=session, jurisdiction_id=ids[0])
        if j.region_id != region.id:
            raise NotFound("Jurisdiction not found")
        label = re.sub(r"[^A-Za-z0-9]+", "-", j.name).strip("-").lower()
    elif actor.jurisdiction_id is not None:
        ids = [actor.jurisdiction_id]
        label = "own"
    else:
        ids = [j.id for j in regions_queries.list_jurisdictions(session=session,
                                                                region_id=region.id)]
        label = "region"
    spool = tempfile.SpooledTemporaryFile(max_size=8 << 20)  # noqa: SIM115 - closed below
    try:
        exporter.export_file(session=session, actor=actor, jurisdiction_ids=ids, fmt=fmt,
                            out=spool)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)

    def chunks() -> Any:
        try:
            while block := spool.read(1 << 16):
                yield block
        finally:
            spool.close()

    filename = f"assets-{label}.{fmt}"
    return StreamingResponse(chunks(), media_type=MEDIA_TYPES[fmt], headers={
        "Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/property/export.csv")
def export_csv(request: Request, jurisdiction_id: str = Query("", max_length=12),
               session: Session = Depends(get_session),
               actor: Principal = Depends(allow(Action.property_read))) -> Response:
    return _export(request, session, actor, "csv", jurisdiction_id)


@router.get("/property/export.xlsx")
def export_xlsx(request: Request, jurisdiction_id: str = Query("", max_length=12),
                session: Session = Depends(get_session),
                actor: Principal = Depends(allow(Action.property_read))) -> Response:
    return _export(request, session, actor, "xlsx", jurisdiction_id)


@router.get("/property/export.geojson")
def export_geojson(request: Request, jurisdiction_id: str = Query("", max_length=12),
                   session: Session = Depends(get_session),
                   actor: Principal = Depends(allow(Action.property_read))) -> Response:
    return _export(request, session, actor, "geojson", jurisdiction_id)
