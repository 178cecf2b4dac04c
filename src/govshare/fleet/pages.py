"""Staff pages of the fleet: the overview per member and region, a vehicle's page (its
readings with the flagged ones and why, fuel, status, its right-sizing and EV case), the
right-sizing list, the pooling plan on a map, the electrification plan with charts, and CSV
or XLSX exports of the lists."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import FileResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from govshare.carbon import service as carbon_service
from govshare.core import charts, forms
from govshare.core import tabular as t
from govshare.core.charts import Field
from govshare.core.errors import BadRequest, GovshareError, ValidationFailed
from govshare.core.http import allow, csrf_protect, get_session, redirect, render, row_id
from govshare.core.paging import PageParams
from govshare.core.tenancy import Action, Principal, allows, authorize
from govshare.fleet import importer, planning, queries, service
from govshare.fleet.calc import (
    AFLEET_SOURCE,
    ASSUMED_SOURCE,
    CLASS_LABELS,
    EV_CATALOG,
    FUEL_FACTOR_SOURCE,
    NASA_SOURCE,
    PRODUCT_LABELS,
    Parameters,
    parameter_values,
)
from govshare.fleet.models import VehicleClass, VehicleStatus
from govshare.fleet.schemas import FUEL_LABELS, STATUS_LABELS, VehicleIn
from govshare.fleet.service import TRANSITIONS
from govshare.regions import queries as regions_queries

router = APIRouter(include_in_schema=False)
MEMBER = Field("member", "Member", "text")


def dollars(cents: float | None) -> str:
    if cents is None:
        return "—"
    sign = "−" if cents < 0 else ""
    x = abs(cents) / 100
    return f"{sign}${x:,.0f}" if x >= 1_000 else f"{sign}${x:,.2f}"


def miles(x: float | None) -> str:
    return "—" if x is None else f"{x:,.0f}"


def _names(session: Session, region_id: int) -> dict[int, str]:
    return {j.id: j.name for j in regions_queries.list_jurisdictions(session=session,
                                                                     region_id=region_id)}


def _member_arg(jurisdiction_id: str) -> int | None:
    return int(jurisdiction_id) if jurisdiction_id.isdigit() and len(jurisdiction_id) < 10 \
        else None


def _render(request: Request, name: str, ctx: dict[str, Any], status_code: int = 200
            ) -> Response:
    """A fleet page; its navigation offers the import and "add a vehicle" only to those who
    may use them (an analyst would get a 403)."""
    principal = getattr(request.state, "principal", None)
    ctx.setdefault("can_import", principal is not None
                   and allows(principal, Action.fleet_manage))
    return render(request, name, ctx, status_code=status_code)


COMMON = {"classes": CLASS_LABELS, "fuels": FUEL_LABELS, "statuses": STATUS_LABELS,
          "dollars": dollars, "miles": miles, "products": PRODUCT_LABELS}


@router.get("/fleet")
def overview(request: Request, jurisdiction_id: str = Query("", max_length=12),
             vehicle_class: str = Query("", max_length=40), q: str = Query("", max_length=100),
             session: Session = Depends(get_session),
             actor: Principal = Depends(allow(Action.fleet_read))) -> Response:
    region = regions_queries.require_current_region(session=session)
    jid = _member_arg(jurisdiction_id)
    ov = planning.overview(session=session, actor=actor, region_id=region.id,
                           jurisdiction_id=jid)
    names = _names(session, region.id)
    flt = queries.VehicleFilter(
        jurisdiction_id=jid, q=q or None,
        vehicle_class=vehicle_class if vehicle_class in VehicleClass.__members__ else None)
    vehicles, total = queries.list_vehicles(session=session, actor=actor, region_id=region.id,
                                            flt=flt, page=PageParams(300))
    class_chart = charts.bar(
        [{"c": CLASS_LABELS[k], "n": v} for k, v in sorted(ov.classes.items(),
                                                           key=lambda kv: -kv[1])],
        id="fleet-by-class", title="Vehicles in service by class",
        category=Field("c", "Class", "text"), value=Field("n", "Vehicles"))
    fuel_chart = charts.bar(
        [{"p": f"{label} ({PRODUCT_LABELS[p]})", "g": g} for p, label, g, _c in ov.products
         if g > 0],
        id="fleet-gallons", title="Fuel bought by product, gallons",
        category=Field("p", "Product (as the card export names it)", "text"),
        value=Field("g", "Gallons", decimals=1))
    return _render(request, "fleet/overview.html", {
        **COMMON, "ov": ov, "names": names, "vehicles": vehicles, "total": total,
        "class_chart": class_chart, "fuel_chart": fuel_chart,
        "filters": {"jurisdiction_id": jurisdiction_id, "vehicle_class": vehicle_class,
                    "q": q},
        "can_pool": allows(actor, Action.fleet_pool),
        "can_manage": allows(actor, Action.fleet_manage)})


# ----------------------------------------------------------------------------- vehicle form

VEHICLE_LABELS = {
    "jurisdiction_id": "Member", "unit_id": "Unit id", "vehicle_class": "Class",
    "make": "Make", "model": "Model", "model_year": "Model year", "fuel_type": "Fuel",
    "description": "Description", "department": "Department",
    "home_asset_id": "Home site: asset id of the registry",
    "home_lon": "Home site: longitude", "home_lat": "Home site: latitude",
    "acquired_on": "Acquired on", "acquisition_cost_cents": "Acquisition cost, cents",
    "annual_maintenance_cents": "Maintenance a year, cents",
}
VEHICLE_FORM_FIELDS = tuple(k for k in VEHICLE_LABELS if k != "jurisdiction_id")


def _vehicle_form(request: Request, session: Session, actor: Principal, *,
                  values: dict[str, Any], vehicle_id: int | None,
                  errors: list[dict[str, Any]], status_code: int = 200) -> Response:
    region = regions_queries.require_current_region(session=session)
    members = [j for j in regions_queries.list_jurisdictions(session=session,
                                                             region_id=region.id)
               if allows(actor, Action.fleet_manage, j.id)]
    return _render(request, "fleet/vehicle_form.html", {
        **COMMON, "values": values, "vehicle_id": vehicle_id,
        "member_options": [("", "Choose a member")] + [(str(j.id), j.name) for j in members],
        "labels": VEHICLE_LABELS, "errors": errors, "field_errors": forms.by_field(errors),
        "can_manage": True}, status_code=status_code)


async def _posted(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: str(form.get(k, "")).strip()[:300] for k in ("jurisdiction_id",
                                                            *VEHICLE_FORM_FIELDS)}


def _vehicle_in(values: dict[str, str], status: str) -> VehicleIn:
    """The form's text as a VehicleIn (empty = not given); pydantic says what is wrong."""
    data: dict[str, Any] = {k: v for k, v in values.items()
                            if k in VEHICLE_FORM_FIELDS and v != ""}
    data["status"] = status
    return VehicleIn.model_validate(data)


@router.get("/fleet/vehicles/new")
def vehicle_new(request: Request, session: Session = Depends(get_session),
                actor: Principal = Depends(allow(Action.fleet_manage))) -> Response:
    values = {"jurisdiction_id": str(actor.jurisdiction_id or ""), "vehicle_class": "sedan",
              "fuel_type": "gasoline"}
    return _vehicle_form(request, session, actor, values=values, vehicle_id=None, errors=[])


@router.post("/fleet/vehicles/new", dependencies=[Depends(csrf_protect)])
async def vehicle_create(request: Request, session: Session = Depends(get_session),
                         actor: Principal = Depends(allow(Action.fleet_manage))) -> Response:
    values = await _posted(request)
    jid = _member_arg(values["jurisdiction_id"])
    try:
        if jid is None:
            raise ValidationFailed("Choose a member", errors=[
                {"loc": ["jurisdiction_id"], "reason": "Choose the member that owns it"}])
        v = service.create_vehicle(session=session, actor=actor, jurisdiction_id=jid,
                                   data=_vehicle_in(values, VehicleStatus.active.value))
    except (ValidationError, GovshareError) as exc:
        if isinstance(exc, GovshareError) and exc.status in (401, 403):
            raise
        session.rollback()
        return _vehicle_form(request, session, actor, values=values, vehicle_id=None,
                             errors=forms.form_errors(exc, labels=VEHICLE_LABELS),
                             status_code=getattr(exc, "status", 422))
    session.commit()
    return redirect(f"/fleet/vehicles/{v.id}", flash=f"Vehicle {v.unit_id} registered.")


@router.get("/fleet/vehicles/{vehicle_id}/edit")
def vehicle_edit(request: Request, vehicle_id: int = row_id("vehicle"),
                 session: Session = Depends(get_session),
                 actor: Principal = Depends(allow(Action.fleet_manage))) -> Response:
    v = service.vehicle_or_404(session=session, actor=actor, vehicle_id=vehicle_id)
    authorize(actor, Action.fleet_manage, v.jurisdiction_id)
    values = {k: "" if getattr(v, k) is None else str(getattr(v, k))
              for k in VEHICLE_FORM_FIELDS}
    if v.home_asset_id is not None:  # the point is the asset's, copied
        values["home_lon"] = values["home_lat"] = ""
    values["jurisdiction_id"] = str(v.jurisdiction_id)
    return _vehicle_form(request, session, actor, values=values, vehicle_id=v.id, errors=[])


@router.post("/fleet/vehicles/{vehicle_id}/edit", dependencies=[Depends(csrf_protect)])
async def vehicle_update(request: Request, vehicle_id: int = row_id("vehicle"),
                         session: Session = Depends(get_session),
                         actor: Principal = Depends(allow(Action.fleet_manage))) -> Response:
    v = service.vehicle_or_404(session=session, actor=actor, vehicle_id=vehicle_id)
    values = await _posted(request)
    values["unit_id"], values["jurisdiction_id"] = v.unit_id, str(v.jurisdiction_id)
    try:
        service.update_vehicle(session=session, actor=actor, vehicle_id=v.id,
                               data=_vehicle_in(values, v.status))
    except (ValidationError, GovshareError) as exc:
        if isinstance(exc, GovshareError) and exc.status in (401, 403, 404):
            raise
        session.rollback()
        return _vehicle_form(request, session, actor, values=values, vehicle_id=vehicle_id,
                             errors=forms.form_errors(exc, labels=VEHICLE_LABELS),
                             status_code=getattr(exc, "status", 422))
    session.commit()
    return redirect(f"/fleet/vehicles/{vehicle_id}", flash="Vehicle saved.")


@router.get("/fleet/vehicles/{vehicle_id}")
def vehicle_page(request: Request, vehicle_id: int = row_id("vehicle"),
                 session: Session = Depends(get_session),
                 actor: Principal = Depends(allow(Action.fleet_read))) -> Response:
    return _vehicle_page(request, session, actor, vehicle_id, [])


def _vehicle_page(request: Request, session: Session, actor: Principal, vehicle_id: int,
                  errors: list[dict[str, Any]], status_code: int = 200) -> Response:
    region = regions_queries.require_current_region(session=session)
    v = queries.get_vehicle(session=session, actor=actor, vehicle_id=vehicle_id)
    entries, params = planning.rightsizing(session=session, actor=actor, region_id=region.id,
                                           jurisdiction_id=v.jurisdiction_id)
    mine = next(((e, f) for e, f in entries if e.use.vehicle_id == v.id), None)
    el = planning.electrification(session=session, actor=actor, region_id=region.id,
                                  jurisdiction_id=v.jurisdiction_id,
                                  grid=service.grid_lookup(session))
    case = next((c for c, _f in el.cases if c.vehicle_id == v.id), None)
    planned = {c.vehicle_id: y for c, y in el.plan.chosen}.get(v.id)
    home = queries.home_asset(session=session, asset_id=v.home_asset_id) \
        if v.home_asset_id else None
    return _render(request, "fleet/vehicle.html", {
        **COMMON, "v": v, "member": _names(session, region.id).get(v.jurisdiction_id),
        "entry": mine[0] if mine else None, "facts": mine[1] if mine else None,
        "case": case, "planned": planned, "params": params, "home": home,
        "readings": queries.readings(session=session, vehicle_id=v.id),
        "fuel": queries.fuel(session=session, vehicle_id=v.id, limit=200),
        "history": queries.status_history(session=session, vehicle_id=v.id),
        "next_statuses": sorted(TRANSITIONS[VehicleStatus(v.status)]), "errors": errors,
        "can_manage": allows(actor, Action.fleet_manage, v.jurisdiction_id),
        "carbon_years": carbon_service.source_emissions(
            session, actor, source_domain="fleet", source_key=service.carbon_key(v.id))
        if allows(actor, Action.carbon_read, v.jurisdiction_id) else [],
        "grid_note": el.grid_note}, status_code=status_code)


@router.post("/fleet/vehicles/{vehicle_id}/status", dependencies=[Depends(csrf_protect)])
def vehicle_status(request: Request, vehicle_id: int = row_id("vehicle"), to_status: str = Form(""),
                   reason: str = Form(""), session: Session = Depends(get_session),
                   actor: Principal = Depends(allow(Action.fleet_manage))) -> Response:
    try:
        if to_status not in VehicleStatus.__members__:
            raise BadRequest(f"Unknown status {to_status!r}")
        v = service.transition(session=session, actor=actor, vehicle_id=vehicle_id,
                               to_status=VehicleStatus(to_status), reason=reason[:500] or None)
    except GovshareError as exc:
        if exc.status == 404:
            raise
        session.rollback()
        return _vehicle_page(request, session, actor, vehicle_id,
                             [{"loc": ["status"], "reason": exc.detail}], exc.status)
    session.commit()
    return redirect(f"/fleet/vehicles/{v.id}",
                    flash=f"Status is now {STATUS_LABELS[v.status].lower()}.")


def _rightsizing_rows(session: Session, actor: Principal, region_id: int, jid: int | None
                      ) -> tuple[list[Any], Any]:
    entries, params = planning.rightsizing(session=session, actor=actor, region_id=region_id,
                                           jurisdiction_id=jid)
    return entries, params


@router.get("/fleet/rightsizing")
def rightsizing_page(request: Request, jurisdiction_id: str = Query("", max_length=12),
                     session: Session = Depends(get_session),
                     actor: Principal = Depends(allow(Action.fleet_read))) -> Response:
    region = regions_queries.require_current_region(session=session)
    entries, params = _rightsizing_rows(session, actor, region.id,
                                        _member_arg(jurisdiction_id))
    under = [(e, f) for e, f in entries if e.under_used]
    return _render(request, "fleet/rightsizing.html", {
        **COMMON, "under": under, "n": len(entries), "params": params,
        "names": _names(session, region.id), "jurisdiction_id": jurisdiction_id,
        "nasa": NASA_SOURCE, "afleet": AFLEET_SOURCE,
        "no_verdict": sum(1 for e, _f in entries if e.class_count < 2 or
                          e.use.annual_miles is None)})


RIGHTSIZE_COLUMNS = ("member", "unit_id", "class", "year", "annual_miles", "days_used",
                     "class_average_miles", "threshold_pct", "threshold_miles", "under_used",
                     "cost_per_mile_dollars", "evidence")


@router.get("/fleet/rightsizing/export")
def rightsizing_export(fmt: str = Query("csv", pattern="^(csv|xlsx)$"),
                       jurisdiction_id: str = Query("", max_length=12),
                       session: Session = Depends(get_session),
                       actor: Principal = Depends(allow(Action.fleet_read))) -> Response:
    region = regions_queries.require_current_region(session=session)
    entries, _ = _rightsizing_rows(session, actor, region.id, _member_arg(jurisdiction_id))
    names = _names(session, region.id)
    rows = [(names.get(e.use.jurisdiction_id, ""), f.vehicle.unit_id,
             CLASS_LABELS[e.use.vehicle_class], f.year,
             None if e.use.annual_miles is None else round(e.use.annual_miles, 1),
             e.use.days_used,
             None if e.class_average is None else round(e.class_average, 1), e.threshold_pct,
             None if e.threshold_miles is None else round(e.threshold_miles, 1),
             "yes" if e.under_used else "no",
             None if e.cost_per_mile_cents is None else round(e.cost_per_mile_cents / 100, 3),
             " | ".join(e.evidence)) for e, f in entries]
    return _export(rows, RIGHTSIZE_COLUMNS, fmt, "fleet-rightsizing", "right-sizing")


def _export(rows: list[tuple[Any, ...]], columns: tuple[str, ...], fmt: str, stem: str,
            sheet: str) -> Response:
    if fmt == "xlsx":
        buf = io.BytesIO()
        t.write_xlsx(columns, rows, buf, sheet=sheet)
        body, media = buf.getvalue(), t.MEDIA_TYPES["xlsx"]
    else:
        text = io.StringIO()
        t.write_csv(columns, rows, text)
        body, media = text.getvalue().encode("utf-8"), t.MEDIA_TYPES["csv"]
    return Response(body, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="{stem}.{fmt}"'})


@router.get("/fleet/pooling")
def pooling_page(request: Request, session: Session = Depends(get_session),
                 actor: Principal = Depends(allow(Action.fleet_pool))) -> Response:
    region = regions_queries.require_current_region(session=session)
    r = planning.pooling(session=session, actor=actor, region_id=region.id)
    names = _names(session, region.id)
    clusters: list[dict[str, Any]] = []
    for c, vs in enumerate(r.plan.clusters):
        if not vs:
            continue
        lon = sum(v.lon for v in vs) / len(vs)
        lat = sum(v.lat for v in vs) / len(vs)
        groups = [g for g in r.plan.groups if g.cluster == c]
        removable = sum(len(g.removable) for g in groups)
        members = sorted({names.get(v.jurisdiction_id, "?") for v in vs})
        clusters.append({"n": c + 1, "lon": lon, "lat": lat, "vehicles": len(vs),
                         "removable": removable, "members": members,
                         "savings_cents": sum(g.savings_cents for g in groups),
                         "sites": sorted({(round(v.lon, 5), round(v.lat, 5)) for v in vs})})
    map_data = {"clusters": [{"n": c["n"], "lon": c["lon"], "lat": c["lat"],
                              "label": f"Cluster {c['n']}: {c['vehicles']} vehicles of "
                                       f"{', '.join(c['members'])}; {c['removable']} can be "
                                       "shared or removed",
                              "removable": c["removable"]} for c in clusters],
                "sites": [{"lon": s[0], "lat": s[1], "cluster": c["n"]}
                          for c in clusters for s in c["sites"]]}
    return _render(request, "fleet/pooling.html", {
        **COMMON, "r": r, "names": names, "clusters": clusters, "map_data": map_data,
        "peak_time": r.peak_time})


@router.get("/fleet/electrification")
def electrification_page(request: Request, jurisdiction_id: str = Query("", max_length=12),
                         session: Session = Depends(get_session),
                         actor: Principal = Depends(allow(Action.fleet_read))) -> Response:
    region = regions_queries.require_current_region(session=session)
    r = planning.electrification(session=session, actor=actor, region_id=region.id,
                                 jurisdiction_id=_member_arg(jurisdiction_id),
                                 grid=service.grid_lookup(session))
    names = _names(session, region.id)
    years = sorted({y for s in r.plan.trajectory.values() for y in s})
    line_rows = []
    for y in years:
        base = sum(s[y][0] for s in r.plan.trajectory.values())
        plan = sum(s[y][1] for s in r.plan.trajectory.values())
        line_rows += [{"year": y, "t": round(base, 1), "s": "Without the plan"},
                      {"year": y, "t": round(plan, 1), "s": "With the plan"}]
    trajectory = charts.line(
        line_rows, id="fleet-trajectory",
        title="Fleet emissions a year (fuel CO2 plus the grid's CO2e for electric vehicles), "
              "all members shown",
        x=Field("year", "Year", "year"),
        y=Field("t", "Emissions", unit="t a year (fuel CO2, grid CO2e)", decimals=1),
        series=Field("s", "Series", "text"), dashed=["With the plan"])
    chosen = [c for c, _y in r.plan.chosen]
    planned = dict((c.vehicle_id, y) for c, y in r.plan.chosen)
    by_member: dict[int, float] = {}
    for c in chosen:
        by_member[c.jurisdiction_id] = by_member.get(c.jurisdiction_id, 0.0) + \
            (c.incremental_cents or 0.0)
    cost_chart = charts.bar(
        [{"member": names.get(j, str(j)), "c": cents / 100} for j, cents in
         sorted(by_member.items(), key=lambda kv: kv[1])],
        id="fleet-plan-cost", title="Net cost of the planned replacements over their life "
                                    "(negative: saves money)",
        category=MEMBER, value=Field("c", "EV minus combustion TCO", "usd"))
    facts = {c.vehicle_id: f for c, f in r.cases}
    return _render(request, "fleet/electrification.html", {
        **COMMON, "r": r, "names": names, "trajectory": trajectory, "cost_chart": cost_chart,
        "planned": planned, "facts": facts, "jurisdiction_id": jurisdiction_id,
        "catalog": EV_CATALOG, "assumed": ASSUMED_SOURCE, "afleet": AFLEET_SOURCE,
        "fuel_source": FUEL_FACTOR_SOURCE,
        "suitable": sum(1 for c, _f in r.cases if c.suitability.suitable)})


ELECTRIFY_COLUMNS = ("member", "unit_id", "class", "suitable", "reasons", "annual_miles",
                     "replacement", "ice_tco_dollars", "ev_tco_dollars",
                     "ev_minus_ice_dollars", "ice_t_co2_per_year", "ev_t_co2_per_year",
                     "planned_year")


@router.get("/fleet/electrification/export")
def electrification_export(fmt: str = Query("csv", pattern="^(csv|xlsx)$"),
                           jurisdiction_id: str = Query("", max_length=12),
                           session: Session = Depends(get_session),
                           actor: Principal = Depends(allow(Action.fleet_read))) -> Response:
    region = regions_queries.require_current_region(session=session)
    r = planning.electrification(session=session, actor=actor, region_id=region.id,
                                 jurisdiction_id=_member_arg(jurisdiction_id),
                                 grid=service.grid_lookup(session))
    names = _names(session, region.id)
    planned = {c.vehicle_id: y for c, y in r.plan.chosen}

    def money(x: float | None) -> float | None:
        return None if x is None else round(x / 100, 2)

    rows = [(names.get(c.jurisdiction_id, ""), f.vehicle.unit_id,
             CLASS_LABELS[c.vehicle_class], "yes" if c.suitability.suitable else "no",
             " | ".join(c.suitability.reasons),
             None if c.annual_miles is None else round(c.annual_miles, 1),
             c.option.name if c.option else None,
             money(c.ice.total_cents if c.ice else None),
             money(c.ev.total_cents if c.ev else None), money(c.incremental_cents),
             None if c.ice_kg_per_year is None else round(c.ice_kg_per_year / 1000, 3),
             None if c.ev_kg_per_year is None else round(c.ev_kg_per_year / 1000, 3),
             planned.get(c.vehicle_id)) for c, f in r.cases]
    return _export(rows, ELECTRIFY_COLUMNS, fmt, "fleet-electrification", "electrification")


PARAMETER_HELP: dict[str, str] = {
    "pool_radius_km": "Home sites within this many km form a pooling cluster",
    "pool_reserve_pct": "Reserve kept above the peak in use at once, %",
    "max_mpg": "Odometer check: at most this many miles per gallon bought",
    "max_miles_per_day": "Odometer check: at most this many miles a day",
    "ownership_years": "Years over which a vehicle's purchase is spread (straight line)",
    "gasoline_cents_per_gallon": "Gasoline price, cents per gallon",
    "diesel_cents_per_gallon": "Diesel price, cents per gallon",
    "electricity_cents_per_kwh": "Electricity price for charging, cents per kWh",
    "ice_maintenance_cents_per_mile": "Maintenance of a combustion vehicle, cents per mile",
    "ev_maintenance_cents_per_mile": "Maintenance of a battery-electric vehicle, cents per mile",
    "life_years": "Life of a replacement for its total cost of ownership, years",
    "discount_rate_pct": "Discount rate, %",
    "ev_incentive_cents": "Incentive per battery-electric vehicle, cents",
    "charger_cents": "Charger installed per vehicle, cents",
    "residual_pct": "Residual value at the end of the life, % of the price",
    "usable_range_pct": "Usable share of an EV's rated range (cold, reserve), %",
    "charger_kw": "Charger power at the home site, kW",
    "target_pct": "Target: share of light-duty vehicles battery-electric, %",
    "target_year": "Target year",
}


def _parameters_page(request: Request, actor: Principal, values: dict[str, Any],
                     errors: list[dict[str, Any]], status_code: int = 200) -> Response:
    return _render(request, "fleet/parameters.html", {
        **COMMON, "values": values, "defaults": parameter_values(Parameters()),
        "help": PARAMETER_HELP, "errors": errors, "nasa": NASA_SOURCE,
        "can_edit": allows(actor, Action.fleet_parameters)}, status_code=status_code)


@router.get("/fleet/parameters")
def parameters_page(request: Request, session: Session = Depends(get_session),
                    actor: Principal = Depends(allow(Action.fleet_read))) -> Response:
    region = regions_queries.require_current_region(session=session)
    values = parameter_values(queries.parameters(session=session, region_id=region.id))
    return _parameters_page(request, actor, values, [])


@router.post("/fleet/parameters", dependencies=[Depends(csrf_protect)])
async def parameters_save(request: Request, session: Session = Depends(get_session),
                          actor: Principal = Depends(allow(Action.fleet_parameters))
                          ) -> Response:
    form = await request.form()
    values: dict[str, Any] = {}
    for key in PARAMETER_HELP:
        raw = str(form.get(key, "")).strip()[:40]
        if raw:
            values[key] = raw
    pcts: dict[str, Any] = {}
    for cls in CLASS_LABELS:
        raw = str(form.get(f"underuse_{cls}", "")).strip()[:40]
        if raw:
            pcts[cls] = raw
    if pcts:
        values["underuse_pct"] = pcts
    try:
        region = regions_queries.require_current_region(session=session)
        service.set_parameters(session=session, actor=actor, region_id=region.id,
                               params=values)
    except GovshareError as exc:
        shown = {k: v for k, v in values.items() if k != "underuse_pct"}
        shown["underuse_pct"] = pcts
        return _parameters_page(request, actor, shown,
                                exc.errors or [{"loc": [], "reason": exc.detail}], exc.status)
    session.commit()
    return redirect("/fleet/parameters", flash="Fleet parameters saved; every analysis now "
                    "uses them.")


# ---------------------------------------------------------------------------------- import

REPORT_TTL_SECONDS = 3600
PAGE_ERRORS = 50


def _reports(request: Request) -> t.ReportStore:
    return t.ReportStore(Path(request.app.state.settings.data_dir) / "reports",
                         ttl=REPORT_TTL_SECONDS)


def _import_form(request: Request, session: Session, actor: Principal, *,
                 values: dict[str, Any] | None = None, status_code: int = 200,
                 **extra: Any) -> Response:
    region = regions_queries.require_current_region(session=session)
    members = [j for j in regions_queries.list_jurisdictions(session=session,
                                                             region_id=region.id)
               if allows(actor, Action.fleet_manage, j.id)]
    chosen = dict(values or {})
    chosen.setdefault("jurisdiction_id", str(actor.jurisdiction_id or
                                             (members[0].id if members else "")))
    chosen.setdefault("kind", "fuel")
    chosen.setdefault("preset", "fuel-card")
    return _render(request, "fleet/import.html", {
        "members": members, "presets": list(importer.FUEL_PRESETS.values()),
        "trip_preset": importer.TRIP_LOG, "form": chosen, "result": None, "problems": [],
        "detail": None, "report_token": None, "report_count": 0, **extra,
    }, status_code=status_code)


@router.get("/fleet/import")
def import_form(request: Request, session: Session = Depends(get_session),
                actor: Principal = Depends(allow(Action.fleet_manage))) -> Response:
    return _import_form(request, session, actor)


@router.post("/fleet/import", dependencies=[Depends(csrf_protect)])
async def import_upload(request: Request, session: Session = Depends(get_session),
                        actor: Principal = Depends(allow(Action.fleet_manage))) -> Response:
    form = await request.form()
    jurisdiction_id = str(form.get("jurisdiction_id") or "")[:12]
    values: dict[str, Any] = {"jurisdiction_id": jurisdiction_id,
                              "kind": str(form.get("kind") or "fuel")[:10],
                              "preset": str(form.get("preset") or "fuel-card")[:20],
                              "dry_run": form.get("dry_run") == "on"}
    upload = form.get("file")
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise BadRequest("Choose a file to import (CSV or XLSX)")
        if not jurisdiction_id.isdigit():
            raise BadRequest("Choose the member whose vehicles the file is about")
        if values["kind"] not in ("fuel", "trips"):
            raise BadRequest("Choose fuel-card export or trip log")
        if values["preset"] not in importer.FUEL_PRESETS:
            raise BadRequest("Choose one of the column presets")
        raw = await upload.read(importer.MAX_BYTES + 1)
        if len(raw) > importer.MAX_BYTES:
            raise BadRequest(f"The file is larger than {importer.MAX_BYTES // 2**20} MB")
        name = Path(upload.filename).name[:200]
        if values["kind"] == "fuel":
            result = await run_in_threadpool(
                importer.import_fuel, session=session, actor=actor,
                jurisdiction_id=int(jurisdiction_id), source=io.BytesIO(raw), file_name=name,
                preset=values["preset"], dry_run=bool(values["dry_run"]))
        else:
            result = await run_in_threadpool(
                importer.import_trips, session=session, actor=actor,
                jurisdiction_id=int(jurisdiction_id), source=io.BytesIO(raw), file_name=name,
                dry_run=bool(values["dry_run"]))
    except importer.ImportRefused as exc:
        session.rollback()
        problems = exc.report.first(PAGE_ERRORS)
        token = _reports(request).save(exc.report, owner=actor.ref,
                                       file_name=upload.filename if isinstance(
                                           upload, UploadFile) and upload.filename else "file")
        count = exc.report.count
        exc.report.close()
        return _import_form(request, session, actor, values=values, status_code=exc.status,
                            detail=exc.detail, problems=problems, report_token=token,
                            report_count=count)
    except GovshareError as exc:
        if exc.status in (401, 403, 404):
            raise
        session.rollback()
        return _import_form(request, session, actor, values=values, status_code=exc.status,
                            detail=exc.detail)
    if not result.dry_run:
        session.commit()
    member = regions_queries.get_jurisdiction(session=session,
                                              jurisdiction_id=int(jurisdiction_id))
    return _import_form(request, session, actor, values=values, result=result,
                        member=member)


@router.get("/fleet/import/report")
def import_report(request: Request, token: str = Query(..., max_length=64),
                  actor: Principal = Depends(allow(Action.fleet_manage))) -> Response:
    store = _reports(request)
    path, meta = store.find(token, owner=actor.ref)
    return FileResponse(path, media_type=t.MEDIA_TYPES["csv"],
                        filename=store.download_name(meta))


VEHICLE_COLUMNS = ("member", "unit_id", "class", "make", "model", "model_year", "fuel_type",
                   "description", "department", "home_asset_id", "home_lon", "home_lat",
                   "acquired_on", "acquisition_cost_dollars", "status", "synthetic", "source")


@router.get("/fleet/export")
def vehicles_export(fmt: str = Query("csv", pattern="^(csv|xlsx)$"),
                    jurisdiction_id: str = Query("", max_length=12),
                    session: Session = Depends(get_session),
                    actor: Principal = Depends(allow(Action.fleet_read))) -> Response:
    region = regions_queries.require_current_region(session=session)
    names = _names(session, region.id)
    vehicles = queries.all_vehicles(session=session, actor=actor, region_id=region.id,
                                    flt=queries.VehicleFilter(
                                        jurisdiction_id=_member_arg(jurisdiction_id)))
    rows = [(names.get(v.jurisdiction_id, ""), v.unit_id, CLASS_LABELS[v.vehicle_class], v.make,
             v.model, v.model_year, FUEL_LABELS[v.fuel_type], v.description, v.department,
             v.home_asset_id, v.home_lon, v.home_lat,
             v.acquired_on.isoformat() if v.acquired_on else None,
             None if v.acquisition_cost_cents is None else v.acquisition_cost_cents / 100,
             STATUS_LABELS[v.status], "yes" if v.synthetic else "no", v.source)
            for v in vehicles]
    return _export(rows, VEHICLE_COLUMNS, fmt, "fleet-vehicles", "vehicles")
