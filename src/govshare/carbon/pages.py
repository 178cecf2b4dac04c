"""Staff pages of carbon: the region's dashboard, a member's inventory, the methodology (every
factor with its source and edition), exports in a ClearPath-like layout, factor-set upload,
building benchmarking with ranked retrofits that can be added to the plan."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from govshare.carbon import queries, service
from govshare.carbon.calc import ACTIVITIES, KG_PER_LB, SECTOR_LABELS, SOURCE_SITE_RATIO, Method
from govshare.carbon.schemas import FactorSetIn, MeasureIn, TargetIn
from govshare.core import charts, forms
from govshare.core import tabular as t
from govshare.core.charts import Field
from govshare.core.errors import BadRequest, GovshareError, ValidationFailed
from govshare.core.http import (
    MAX_ID,
    allow,
    body_limit,
    csrf_protect,
    get_session,
    redirect,
    render,
    row_id,
)
from govshare.core.tenancy import Action, Principal, allows
from govshare.regions import queries as regions_queries

router = APIRouter(include_in_schema=False)

YEAR = Field("year", "Year", "year")
TONNES = Field("t", "Emissions", unit="t CO2e")
MEMBER = Field("member", "Member", "text")
SERIES = Field("series", "Series", "text")
SECTOR = Field("sector", "Sector", "text")
EXPORT_COLUMNS = ("Jurisdiction", "Year", "Sector", "Scope", "Gas", "Tonnes of gas",
                  "t CO2e (location-based)", "t CO2e (market-based)", "Factor set",
                  "GWP set")


def _year(value: str) -> int | None:
    return int(value) if value.isdigit() and 1990 <= int(value) <= 2100 else None


def _common(session: Session, factor_set: str, gwp: str) -> dict[str, Any]:
    sets = list(session.scalars(queries.factor_sets_stmt()))
    if not sets:
        service.install_builtin_sets(session)
        sets = list(session.scalars(queries.factor_sets_stmt()))
    names = {s.name for s in sets}
    gwp_sets = queries.gwp_sets(session) or ["AR5", "AR6"]
    return {"factor_sets": sets, "gwp_sets": gwp_sets,
            "factor_set": factor_set if factor_set in names else service.DEFAULT_SET,
            "gwp": gwp if gwp in gwp_sets else service.DEFAULT_GWP,
            "sector_labels": SECTOR_LABELS}


def _trend_chart(p: service.Progress, chart_id: str, title: str) -> charts.Chart:
    rows: list[dict[str, Any]] = []
    for y, v in sorted(p.history.items()):
        rows.append({"year": y, "t": v, "series": "Partial year (sectors missing)"
                     if y in p.partial else "Inventory"})
    for y, v in sorted(p.trajectory.items()):
        rows.append({"year": y, "t": v, "series": "Target trajectory"})
    for y, v in sorted(p.bau.items()):
        rows.append({"year": y, "t": v, "series": "Business as usual"})
    if p.measures:
        for y, v in sorted(p.with_measures.items()):
            rows.append({"year": y, "t": v, "series": "With planned measures"})
    return charts.line(rows, id=chart_id, title=title, x=YEAR, y=TONNES, series=SERIES,
                       dashed=("Target trajectory", "Business as usual",
                               "With planned measures"))



def _summary(exc: ValidationError) -> str:
    """A refused form's problems in one line, each naming its field (core.forms)."""
    return "; ".join(f"{e['label']}: {e['reason']}" if e.get("field") else str(e["reason"])
                     for e in forms.form_errors(exc))

@router.get("/carbon")
def dashboard(request: Request, year: str = Query("", max_length=4),
              factor_set: str = Query("", max_length=80), gwp: str = Query("", max_length=20),
              session: Session = Depends(get_session),
              actor: Principal = Depends(allow(Action.carbon_read))) -> Response:
    if not actor.role.is_regional and actor.jurisdiction_id is not None:
        return redirect(f"/carbon/jurisdictions/{actor.jurisdiction_id}")
    ctx = _common(session, factor_set, gwp)
    years = queries.years_with_data(session)
    y = _year(year) or queries.fullest_year(session)
    inv = service.inventory(session, actor, year=y, factor_set=ctx["factor_set"],
                            gwp_set=ctx["gwp"], by="jurisdiction")
    sectors = service.inventory(session, actor, year=y, factor_set=ctx["factor_set"],
                                gwp_set=ctx["gwp"], by="sector")
    by_sector: dict[str, list[float]] = {}
    for r in sectors.rows:
        acc = by_sector.setdefault(r.sector or "", [0.0, 0.0])
        acc[0] += r.t_co2e_location
        acc[1] += r.t_co2e_market
    rollups = {m: service.regional_rollup(session, actor, year=y, factor_set=ctx["factor_set"],
                                          gwp_set=ctx["gwp"], method=m)
               for m in (Method.location, Method.market)} if y else {}
    region_progress = service.progress(session, actor, factor_set=ctx["factor_set"],
                                       gwp_set=ctx["gwp"])
    members = regions_queries.list_jurisdictions(
        session=session, region_id=regions_queries.require_current_region(session=session).id)
    member_progress = [service.progress(session, actor, jurisdiction_id=j.id,
                                        factor_set=ctx["factor_set"], gwp_set=ctx["gwp"])
                       for j in members]
    member_rows = [{"member": r.jurisdiction, "series": s, "t": v} for r in inv.rows
                   for s, v in (("Location-based", r.t_co2e_location),
                                ("Market-based", r.t_co2e_market))]
    return render(request, "carbon/dashboard.html", {
        **ctx, "year": y, "years": years, "inv": inv, "by_sector": by_sector,
        "rollups": rollups, "progress": region_progress, "member_progress": member_progress,
        "trend_chart": _trend_chart(region_progress, "region-trend",
                                    "Region: emissions against the target trajectory "
                                    "(location-based)"),
        "member_chart": charts.bar(member_rows, id="by-member",
                                   title=f"Emissions by member, {y}", category=MEMBER,
                                   value=TONNES, series=SERIES),
        "sector_chart": charts.bar(
            [{"sector": SECTOR_LABELS.get(k, k), "t": v[0]}  # type: ignore[call-overload]
             for k, v in sorted(by_sector.items(), key=lambda kv: -kv[1][0])],
            id="by-sector", title=f"Emissions by sector, {y} (location-based)",
            category=SECTOR, value=TONNES),
        "can_plan": allows(actor, Action.carbon_plan),
    })


@router.get("/carbon/jurisdictions/{jurisdiction_id}")
def jurisdiction_page(request: Request, jurisdiction_id: int = row_id("jurisdiction"),
                      year: str = Query("", max_length=4),
                      factor_set: str = Query("", max_length=80),
                      gwp: str = Query("", max_length=20),
                      session: Session = Depends(get_session),
                      actor: Principal = Depends(allow(Action.carbon_read))) -> Response:
    ctx = _common(session, factor_set, gwp)
    kw = {"factor_set": ctx["factor_set"], "gwp_set": ctx["gwp"]}
    all_years = service.inventory(session, actor, jurisdiction_id=jurisdiction_id,
                                  by="jurisdiction", **kw)
    years = sorted({r.year for r in all_years.rows})
    y = _year(year) or queries.fullest_year(session, jurisdiction_ids=[jurisdiction_id])
    inv = service.inventory(session, actor, jurisdiction_id=jurisdiction_id, year=y,
                            by="scope", **kw)
    gases = service.inventory(session, actor, jurisdiction_id=jurisdiction_id, year=y,
                              by="gas", **kw)
    assets = service.inventory(session, actor, jurisdiction_id=jurisdiction_id, year=y,
                               by="asset", **kw)
    prog = service.progress(session, actor, jurisdiction_id=jurisdiction_id, **kw)
    j = regions_queries.get_jurisdiction(session=session, jurisdiction_id=jurisdiction_id)
    top = sorted(assets.rows, key=lambda r: -r.t_co2e_location)[:25]
    return render(request, "carbon/jurisdiction.html", {
        **ctx, "j": j, "year": y, "years": years, "inv": inv, "gases": gases,
        "top_assets": top, "asset_count": len(assets.rows), "progress": prog,
        "trend_chart": _trend_chart(prog, "member-trend",
                                    f"{j.name}: emissions against its trajectory"),
        "can_plan": allows(actor, Action.carbon_plan, jurisdiction_id),
    })


@router.get("/carbon/methodology")
def methodology(request: Request, factor_set: str = Query("", max_length=80),
                gwp: str = Query("", max_length=20), session: Session = Depends(get_session),
                actor: Principal = Depends(allow(Action.carbon_read))) -> Response:
    ctx = _common(session, factor_set, gwp)
    sets = service.stack(session, ctx["factor_set"])
    region = regions_queries.require_current_region(session=session)
    used = queries.factors_used(session, [s.id for s in sets], region.id)
    return render(request, "carbon/methodology.html", {
        **ctx, "stack": sets, "set_names": {s.id: s for s in sets}, "used": used,
        "gwp_rows": queries.gwp_rows(session, ctx["gwp"]), "activities": ACTIVITIES,
        "kg_per_lb": KG_PER_LB, "source_site": SOURCE_SITE_RATIO,
        "medians_source": "ENERGY STAR Portfolio Manager U.S. national median EUI table",
    })


def _export_rows(session: Session, actor: Principal, jurisdiction_id: int | None,
                 year: int | None, factor_set: str, gwp: str) -> list[list[Any]]:
    inv = service.inventory(session, actor, jurisdiction_id=jurisdiction_id, year=year,
                            factor_set=factor_set, gwp_set=gwp, by="gas")
    return [[r.jurisdiction, r.year, SECTOR_LABELS.get(r.sector, r.sector),  # type: ignore[call-overload]
             f"Scope {r.scope}", r.gas, round(r.t_gas or 0.0, 6), round(r.t_co2e_location, 6),
             round(r.t_co2e_market, 6), inv.factor_set, inv.gwp_set] for r in inv.rows]


@router.get("/carbon/export.{fmt}")
def export(request: Request, fmt: str, jurisdiction_id: str = Query("", max_length=12),
           year: str = Query("", max_length=4), factor_set: str = Query("", max_length=80),
           gwp: str = Query("", max_length=20), session: Session = Depends(get_session),
           actor: Principal = Depends(allow(Action.carbon_read))) -> Response:
    if fmt not in ("csv", "xlsx"):
        raise BadRequest("Export as csv or xlsx")
    if jurisdiction_id and not (jurisdiction_id.isdigit() and
                                0 < int(jurisdiction_id) <= MAX_ID):
        raise BadRequest("jurisdiction_id must be a member's id")
    ctx = _common(session, factor_set, gwp)
    jid = int(jurisdiction_id) if jurisdiction_id else None
    rows = _export_rows(session, actor, jid, _year(year), ctx["factor_set"], ctx["gwp"])
    name = f"govshare-inventory-{jid or 'region'}-{_year(year) or 'all'}.{fmt}"
    if fmt == "csv":
        text_out = io.StringIO()
        t.write_csv(EXPORT_COLUMNS, rows, text_out)
        body = text_out.getvalue().encode("utf-8")
    else:
        out = io.BytesIO()
        t.write_xlsx(EXPORT_COLUMNS, rows, out, sheet="Inventory")
        body = out.getvalue()
    return Response(body, media_type=t.MEDIA_TYPES[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


# ----------------------------------------------------------------------- factor sets

def _factor_form(request: Request, session: Session, **extra: Any) -> Response:
    status = extra.pop("status_code", 200)
    return render(request, "carbon/factor_sets.html", {
        "sets": list(session.scalars(queries.factor_sets_stmt())), "values": {}, **extra},
        status_code=status)


@router.get("/carbon/factor-sets")
def factor_sets(request: Request, session: Session = Depends(get_session),
                actor: Principal = Depends(allow(Action.carbon_read))) -> Response:
    return _factor_form(request, session, can_add=allows(actor, Action.carbon_factors))


@router.post("/carbon/factor-sets", dependencies=[Depends(csrf_protect)])
@body_limit("upload", max_bytes=service.MAX_FACTOR_FILE + 64 * 1024)
async def factor_set_upload(request: Request, session: Session = Depends(get_session),
                            actor: Principal = Depends(allow(Action.carbon_factors))
                            ) -> Response:
    form = await request.form()
    values = {k: str(form.get(k) or "")[:300] for k in (
        "name", "title", "edition", "publisher", "year_from", "year_to")}
    upload = form.get("file")
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise BadRequest("Choose a CSV file of factors")
        try:
            meta = FactorSetIn.model_validate(values)
        except ValidationError as exc:
            raise BadRequest(_summary(exc)) from None
        name = Path(upload.filename).name[:200]
        fs = await run_in_threadpool(service.add_factor_set, session, actor, meta, upload.file,
                                     name, replace=form.get("replace") == "on")
    except t.Refused as exc:
        problems = exc.report.first(50)
        count = exc.report.count
        exc.report.close()
        return _factor_form(request, session, can_add=True, values=values, detail=exc.detail,
                            problems=problems, count=count, status_code=422)
    except GovshareError as exc:
        if exc.status in (401, 403, 404):
            raise
        return _factor_form(request, session, can_add=True, values=values, detail=exc.detail,
                            status_code=exc.status)
    session.commit()
    return redirect(f"/carbon/methodology?factor_set={fs.name}",
                    flash=f"Factor set {fs.name} added")


# ----------------------------------------------------------------------- GWP sets

def _gwp_page(request: Request, session: Session, actor: Principal, **extra: Any) -> Response:
    status = extra.pop("status_code", 200)
    sets = queries.gwp_sets(session)
    if not sets:
        service.install_builtin_sets(session)
        sets = queries.gwp_sets(session)
    builtin = service.builtin_gwp_sets()
    rows = {name: queries.gwp_rows(session, name) for name in sets}
    errors = extra.pop("errors", [])
    return render(request, "carbon/gwp_sets.html", {
        "sets": sets, "rows": rows, "builtin": builtin, "values": {},
        "can_add": allows(actor, Action.carbon_factors), "errors": errors,
        "field_errors": forms.by_field(errors), **extra}, status_code=status)


@router.get("/carbon/gwp-sets")
def gwp_sets(request: Request, session: Session = Depends(get_session),
             actor: Principal = Depends(allow(Action.carbon_read))) -> Response:
    return _gwp_page(request, session, actor)


@router.post("/carbon/gwp-sets", dependencies=[Depends(csrf_protect)])
@body_limit("upload", max_bytes=service.MAX_GWP_FILE + 64 * 1024)
async def gwp_set_upload(request: Request, session: Session = Depends(get_session),
                         actor: Principal = Depends(allow(Action.carbon_factors))) -> Response:
    form = await request.form()
    values = {k: str(form.get(k) or "").strip()[:300] for k in ("name", "source")}
    upload = form.get("file")
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise ValidationFailed("Choose a CSV file", errors=[
                {"loc": ["file"], "reason": "Choose a CSV file of potentials (gas, value)"}])
        name = Path(upload.filename).name[:200]
        await run_in_threadpool(service.add_gwp_set, session, actor, values["name"],
                                upload.file, name, source=values["source"],
                                replace=form.get("replace") == "on")
    except t.Refused as exc:
        session.rollback()
        problems = exc.report.first(50)
        count = exc.report.count
        exc.report.close()
        return _gwp_page(request, session, actor, values=values, detail=exc.detail,
                         problems=problems, count=count, status_code=422)
    except GovshareError as exc:
        status = _refusal(exc)
        session.rollback()
        return _gwp_page(request, session, actor, values=values, status_code=status,
                         errors=forms.form_errors(exc, labels=GWP_LABELS,
                                                  anchors={k: f"gwp-{k}" for k in GWP_LABELS}))
    session.commit()
    return redirect(f"/carbon/methodology?gwp={values['name']}",
                    flash=f"GWP set {values['name']} added")


GWP_LABELS = {"name": "Name", "source": "Source", "file": "CSV file"}


# ----------------------------------------------------------------------- benchmarking

@router.get("/carbon/benchmarking")
def benchmarking(request: Request, year: str = Query("", max_length=4),
                 boundary: str = Query("government", pattern="^(government|community)$"),
                 jurisdiction_id: str = Query("", max_length=12),
                 session: Session = Depends(get_session),
                 actor: Principal = Depends(allow(Action.carbon_read))) -> Response:
    years = queries.years_with_data(session, boundary)
    y = _year(year) or queries.fullest_year(session, boundary, sector="buildings") or 2016
    jid = (int(jurisdiction_id) if jurisdiction_id.isdigit()
           and 0 < int(jurisdiction_id) <= MAX_ID else None)
    rows = service.benchmarks(session, actor, year=y, jurisdiction_id=jid, boundary=boundary)
    ranked = [b for b in rows if b.retrofit][:100]
    region = regions_queries.require_current_region(session=session)
    names = {j.id: j.name for j in regions_queries.list_jurisdictions(session=session,
                                                                       region_id=region.id)}
    return render(request, "carbon/benchmarking.html", {
        "year": y, "years": years, "boundary": boundary, "rows": rows[:300], "count": len(rows),
        "ranked": ranked, "names": names, "usd_per_ft2": service.RETROFIT_USD_PER_FT2,
        "source_site": SOURCE_SITE_RATIO, "jurisdiction_id": jid,
        "can_plan": allows(actor, Action.carbon_plan),
    })


@router.post("/carbon/measures", dependencies=[Depends(csrf_protect)])
async def add_measure(request: Request, session: Session = Depends(get_session),
                      actor: Principal = Depends(allow(Action.carbon_plan))) -> Response:
    form = await request.form()
    try:
        data = MeasureIn.model_validate({
            "jurisdiction_id": str(form.get("jurisdiction_id") or ""),
            "source_id": str(form.get("source_id") or "") or None,
            "kind": str(form.get("kind") or "retrofit"),
            "name": str(form.get("name") or "")[:300],
            "start_year": str(form.get("start_year") or ""),
            "t_co2e_per_year": str(form.get("t_co2e_per_year") or ""),
            "cost_cents": str(form.get("cost_cents") or "") or None})
    except ValidationError as exc:
        raise BadRequest(_summary(exc)) from None
    service.add_measure(session, actor, data)
    session.commit()
    back = str(form.get("back") or "/carbon")
    if not re.fullmatch(r"/carbon[/a-z0-9?=&_-]*", back):
        back = "/carbon"
    return redirect(back, flash=f"Added to the plan: {data.name}")


# ----------------------------------------------------------------------- targets and measures

TARGET_LABELS = {"jurisdiction_id": "Whose target", "base_year": "Base year",
                 "target_year": "Target year", "reduction_pct": "Reduction below the base year, %",
                 "label": "Label"}
MEASURE_LABELS = {"jurisdiction_id": "Member", "kind": "Kind", "name": "Name",
                  "start_year": "First year it takes effect",
                  "t_co2e_per_year": "Avoided emissions, t CO2e a year",
                  "cost_cents": "Cost, cents"}
MEASURE_KINDS = (("retrofit", "Building retrofit"), ("electrification", "Fleet electrification"),
                 ("consolidation", "Consolidation"), ("other", "Other"))
REGION_WIDE = "region"
WHOSE = "Choose a member, or the region as a whole"


def _plan_page(request: Request, session: Session, actor: Principal, *,
               target_values: dict[str, str] | None = None,
               measure_values: dict[str, str] | None = None,
               target_errors: list[dict[str, Any]] | None = None,
               measure_errors: list[dict[str, Any]] | None = None,
               status_code: int = 200) -> Response:
    region = regions_queries.require_current_region(session=session)
    members = regions_queries.list_jurisdictions(session=session, region_id=region.id)
    names = {j.id: j.name for j in members}
    targets, measures = service.plan_items(session, actor)
    plannable = [j for j in members if allows(actor, Action.carbon_plan, j.id)]
    target_options = ([(REGION_WIDE, "The region as a whole")] if actor.role.is_regional
                      and plannable else []) + [(str(j.id), j.name) for j in plannable]
    default_member = str(actor.jurisdiction_id or "")
    return render(request, "carbon/targets.html", {
        "targets": targets, "measures": measures, "names": names,
        "can_plan": bool(plannable), "is_regional": actor.role.is_regional,
        "target_options": target_options,
        "member_options": [("", "Choose a member")] + [(str(j.id), j.name) for j in plannable],
        "kinds": MEASURE_KINDS, "target_labels": TARGET_LABELS,
        "measure_labels": MEASURE_LABELS,
        "tv": target_values or {"jurisdiction_id": default_member or
                                (REGION_WIDE if actor.role.is_regional else "")},
        "mv": measure_values or {"jurisdiction_id": default_member, "kind": "retrofit"},
        "target_errors": target_errors or [], "measure_errors": measure_errors or [],
        "target_field_errors": forms.by_field(target_errors or []),
        "measure_field_errors": forms.by_field(measure_errors or []),
        "removable_targets": {x.id for x in targets if allows(actor, Action.carbon_plan,
                                                              x.jurisdiction_id)
                              and (x.jurisdiction_id is not None or actor.role.is_regional)},
        "removable_measures": {m.id for m in measures
                               if allows(actor, Action.carbon_plan, m.jurisdiction_id)},
    }, status_code=status_code)


@router.get("/carbon/targets")
def targets_page(request: Request, session: Session = Depends(get_session),
                 actor: Principal = Depends(allow(Action.carbon_read))) -> Response:
    return _plan_page(request, session, actor)


def _refusal(exc: Exception) -> int:
    """The status of a refused form (a 401/403/404 is raised, not shown on the form)."""
    status = getattr(exc, "status", 422)
    if isinstance(exc, GovshareError) and status in (401, 403, 404):
        raise exc
    return int(status)


@router.post("/carbon/targets", dependencies=[Depends(csrf_protect)])
async def target_add(request: Request, session: Session = Depends(get_session),
                     actor: Principal = Depends(allow(Action.carbon_plan))) -> Response:
    form = await request.form()
    values = {k: str(form.get(k) or "").strip()[:300] for k in TARGET_LABELS}
    who = values["jurisdiction_id"]
    chosen = who == REGION_WIDE or (who.isdigit() and 0 < int(who) <= MAX_ID)
    try:
        try:
            data = TargetIn.model_validate({
                **{k: v for k, v in values.items() if v != "" and k != "jurisdiction_id"},
                "jurisdiction_id": int(who) if chosen and who != REGION_WIDE else None})
        except ValidationError as exc:
            if chosen:
                raise
            raise ValidationFailed("The target is not valid", errors=[  # every field at once
                {"loc": ["jurisdiction_id"], "reason": WHOSE},
                *({"loc": e["loc"], "reason": e["reason"]} for e in forms.form_errors(exc))
            ]) from None
        if not chosen:
            raise ValidationFailed("Choose whose target it is", errors=[
                {"loc": ["jurisdiction_id"], "reason": WHOSE}])
        tgt = service.add_target(session, actor, data)
    except (ValidationError, GovshareError) as exc:
        status = _refusal(exc)
        session.rollback()
        return _plan_page(request, session, actor, target_values=values, status_code=status,
                          target_errors=forms.form_errors(exc, labels=TARGET_LABELS,
                                                          anchors=_anchors("target")))
    session.commit()
    return redirect("/carbon/targets", flash=f"Target added: {tgt.label}")


@router.post("/carbon/targets/{target_id}/delete", dependencies=[Depends(csrf_protect)])
def target_remove(target_id: int = row_id("target"), session: Session = Depends(get_session),
                  actor: Principal = Depends(allow(Action.carbon_plan))) -> Response:
    tgt = service.remove_target(session, actor, target_id)
    label = tgt.label
    session.commit()
    return redirect("/carbon/targets", flash=f"Target removed: {label}")


def _anchors(prefix: str) -> dict[str, str]:
    keys = TARGET_LABELS if prefix == "target" else MEASURE_LABELS
    return {k: f"{prefix}-{k}" for k in keys}


@router.post("/carbon/measures/new", dependencies=[Depends(csrf_protect)])
async def measure_add(request: Request, session: Session = Depends(get_session),
                      actor: Principal = Depends(allow(Action.carbon_plan))) -> Response:
    form = await request.form()
    values = {k: str(form.get(k) or "").strip()[:300] for k in MEASURE_LABELS}
    try:
        data = MeasureIn.model_validate({k: v for k, v in values.items() if v != ""})
        m = service.add_measure(session, actor, data)
    except (ValidationError, GovshareError) as exc:
        status = _refusal(exc)
        session.rollback()
        return _plan_page(request, session, actor, measure_values=values, status_code=status,
                          measure_errors=forms.form_errors(exc, labels=MEASURE_LABELS,
                                                           anchors=_anchors("measure")))
    session.commit()
    return redirect("/carbon/targets", flash=f"Added to the plan: {m.name}")


@router.post("/carbon/measures/{measure_id}/delete", dependencies=[Depends(csrf_protect)])
def measure_remove(measure_id: int = row_id("measure"), session: Session = Depends(get_session),
                   actor: Principal = Depends(allow(Action.carbon_plan))) -> Response:
    m = service.remove_measure(session, actor, measure_id)
    name = m.name
    session.commit()
    return redirect("/carbon/targets", flash=f"Removed from the plan: {name}")
