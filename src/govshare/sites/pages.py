"""Staff pages of sites: the scenarios, the scenario form, a scenario's result (map, ranked
table with sources, frontier and sensitivity charts, the spotlight comparison), one
candidate's trace, the candidate-data upload and the exports."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from govshare.core import charts, forms
from govshare.core import tabular as t
from govshare.core.charts import Field
from govshare.core.errors import BadRequest, GovshareError
from govshare.core.http import (
    allow,
    body_limit,
    csrf_protect,
    get_session,
    redirect,
    render,
    row_id,
)
from govshare.core.paging import PageParams
from govshare.core.tenancy import Action, Principal, allows
from govshare.regions import queries as regions_queries
from govshare.sites import calc, queries, service
from govshare.sites.schemas import ScenarioIn

ScenarioId = Annotated[int, row_id("scenario")]  # 422 naming it unless 1..MAX_ID
router = APIRouter(include_in_schema=False)

TABLE_ROWS = 60  # candidates the page's table lists; the exports have all

def _reports(request: Request) -> t.ReportStore:
    return t.ReportStore(Path(request.app.state.settings.data_dir) / "reports",
                         ttl=3600)


def _region_id(session: Session) -> int:
    return regions_queries.require_current_region(session=session).id


@router.get("/sites")
def index(request: Request, session: Session = Depends(get_session),
          actor: Principal = Depends(allow(Action.sites_read))) -> Response:
    rows, total = queries.list_scenarios(session=session, region_id=_region_id(session),
                                         page=PageParams(500))
    return render(request, "sites/index.html", {
        "scenarios": rows, "total": total, "fields": calc.FIELDS,
        "not_available": calc.DCI_NOT_AVAILABLE, "used": calc.DCI_USED,
        "can_manage": allows(actor, Action.sites_manage)})


# ------------------------------------------------------------------------------- the form

DEFAULT_FORM: dict[str, Any] = {
    "name": "", "description": "", "roles": "Analysts, 150, 60000\nSupervisors, 15, 85000",
    "baseline_fips": "", "ft2_per_person": "175", "rent_baseline_usd_ft2": "",
    "other_usd_per_person": "5000", "one_time_usd": "0", "multiplier_low": "1.3",
    "multiplier_high": "1.8", "multiplier_source": "", "w_savings": "0.4", "w_distress": "0.3",
    "w_jobs_share": "0.15",
    "w_labor_pool": "0.15", "kind": "state", "states": "", "fips": "", "lat": "", "lon": "",
    "radius_km": "", "min_labor_force_multiple": "10", "max_km_to_hq": "",
    "rent_uncertainty_pct": "20", "wage_uncertainty_pct": "10", "draws": "1000",
    "spotlight": "",
}


def _codes(text: str) -> list[str]:
    return [c for c in re.split(r"[\s,;]+", text.strip()) if c]


def form_to_scenario(form: dict[str, str]) -> dict[str, Any]:
    """The form's fields as ``ScenarioIn`` takes them (validation is the model's)."""
    roles = []
    for n, line in enumerate(form.get("roles", "").splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.rsplit(",", 2)]
        if len(parts) != 3:
            raise BadRequest(f"Roles, line {n}: write 'role name, headcount, salary'")
        roles.append({"name": parts[0], "headcount": parts[1].replace(" ", ""),
                      "salary_usd": parts[2].replace("$", "").replace(",", "")})
    blank = {k: (v if v.strip() else None) for k, v in form.items()}
    return {
        "name": form.get("name", ""), "description": form.get("description", ""),
        "multiplier_source": form.get("multiplier_source", "").strip(), "roles": roles,
        "baseline_fips": form.get("baseline_fips", "").strip(),
        **{k: blank.get(k) for k in (
            "ft2_per_person", "rent_baseline_usd_ft2", "other_usd_per_person", "one_time_usd",
            "multiplier_low", "multiplier_high", "min_labor_force_multiple", "max_km_to_hq",
            "rent_uncertainty_pct", "wage_uncertainty_pct", "draws") if blank.get(k)
           is not None or k == "max_km_to_hq"},
        "weights": {k: blank.get(f"w_{k}") or 0 for k in calc.CRITERIA},
        "candidates": {"kind": form.get("kind", "state"),
                       "states": _codes(form.get("states", "")),
                       "fips": _codes(form.get("fips", "")),
                       "lat": blank.get("lat"), "lon": blank.get("lon"),
                       "radius_km": blank.get("radius_km")},
        "spotlight": _codes(form.get("spotlight", "")),
    }


def scenario_to_form(data: ScenarioIn) -> dict[str, str]:
    def num(v: Any) -> str:
        return "" if v is None else f"{v:g}" if isinstance(v, float) else str(v)

    c = data.candidates
    return {
        "name": data.name, "description": data.description,
        "multiplier_source": data.multiplier_source,
        "roles": "\n".join(f"{r.name}, {r.headcount}, {r.salary_usd:g}" for r in data.roles),
        "baseline_fips": data.baseline_fips,
        **{k: num(getattr(data, k)) for k in (
            "ft2_per_person", "rent_baseline_usd_ft2", "other_usd_per_person", "one_time_usd",
            "multiplier_low", "multiplier_high", "min_labor_force_multiple", "max_km_to_hq",
            "rent_uncertainty_pct", "wage_uncertainty_pct", "draws")},
        **{f"w_{k}": num(v) for k, v in data.weights.model_dump().items()},
        "kind": c.kind, "states": ", ".join(c.states), "fips": ", ".join(c.fips),
        "lat": num(c.lat), "lon": num(c.lon), "radius_km": num(c.radius_km),
        "spotlight": ", ".join(data.spotlight),
    }


def _errors(exc: Exception) -> list[dict[str, Any]]:
    return forms.form_errors(exc)  # core.forms: the one mapping of refusals to fields


def _form_page(request: Request, form: dict[str, str], *, scenario_id: int | None = None,
               errors: list[dict[str, Any]] | None = None, status_code: int = 200
               ) -> Response:
    return render(request, "sites/form.html", {
        "form": form, "errors": errors or [], "scenario_id": scenario_id,
        "criteria": calc.CRITERIA}, status_code=status_code)


@router.get("/sites/new")
def new_form(request: Request, _: Principal = Depends(allow(Action.sites_manage))
             ) -> Response:
    return _form_page(request, dict(DEFAULT_FORM))


async def _form_values(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: str(form.get(k) or "")[:20_000] for k in DEFAULT_FORM}


@router.post("/sites/new", dependencies=[Depends(csrf_protect)])
async def create(request: Request, session: Session = Depends(get_session),
                 actor: Principal = Depends(allow(Action.sites_manage))) -> Response:
    values = await _form_values(request)
    try:
        data = ScenarioIn.model_validate(form_to_scenario(values))
        row = await run_in_threadpool(service.create_scenario, session=session, actor=actor,
                                      region_id=_region_id(session), data=data)
    except (ValidationError, GovshareError) as exc:
        if isinstance(exc, GovshareError) and exc.status in (401, 403, 404):
            raise
        session.rollback()
        return _form_page(request, values, errors=_errors(exc), status_code=422)
    session.commit()
    return redirect(f"/sites/scenarios/{row.id}", flash="Scenario saved.")


@router.get("/sites/scenarios/{scenario_id}/edit")
def edit_form(request: Request, scenario_id: ScenarioId, session: Session = Depends(get_session),
              _: Principal = Depends(allow(Action.sites_manage))) -> Response:
    row = queries.get_scenario(session=session, region_id=_region_id(session),
                               scenario_id=scenario_id)
    return _form_page(request, scenario_to_form(queries.scenario_in(row)),
                      scenario_id=row.id)


@router.post("/sites/scenarios/{scenario_id}/edit", dependencies=[Depends(csrf_protect)])
async def edit(request: Request, scenario_id: ScenarioId, session: Session = Depends(get_session),
               actor: Principal = Depends(allow(Action.sites_manage))) -> Response:
    region_id = _region_id(session)
    queries.get_scenario(session=session, region_id=region_id, scenario_id=scenario_id)
    values = await _form_values(request)
    try:
        data = ScenarioIn.model_validate(form_to_scenario(values))
        await run_in_threadpool(service.update_scenario, session=session, actor=actor,
                                region_id=region_id, scenario_id=scenario_id, data=data)
    except (ValidationError, GovshareError) as exc:
        if isinstance(exc, GovshareError) and exc.status in (401, 403, 404):
            raise
        session.rollback()
        return _form_page(request, values, scenario_id=scenario_id, errors=_errors(exc),
                          status_code=422)
    session.commit()
    return redirect(f"/sites/scenarios/{scenario_id}", flash="Scenario saved.")


# ------------------------------------------------------------------------------ the result

SAVINGS = Field("savings", "Savings a year vs the baseline (budget)", "usd")
DISTRESS = Field("distress", "Distress score (0-100)", "number", decimals=1)
COUNTY = Field("county", "County", "text")


def _charts(rows: list[dict[str, Any]]) -> tuple[charts.Chart, charts.Chart]:
    frontier = charts.scatter(
        [{"county": f"{r['name']}, {r['state']}", "savings": r["savings_usd"],
          "distress": r["distress_score"] or 0.0, "front": r["on_frontier"]} for r in rows],
        id="sites-frontier", title="Trade-off: savings (budget) against distress (development)",
        x=SAVINGS, y=DISTRESS, label=COUNTY,
        highlight=Field("front", "On the Pareto frontier", "flag"), connect=True)
    top = sorted(rows, key=lambda r: (-r["p_top3"], r["rank"]))[:15]
    sens = charts.bar(
        [{"county": f"{r['name']}, {r['state']}", "p": 100 * r["p_top3"]} for r in top],
        id="sites-sensitivity", title="Probability of ranking in the top three "
                                      "(Monte Carlo over weights, multiplier, rent, wages)",
        category=COUNTY, value=Field("p", "Probability in the top three", "percent"))
    return frontier, sens


# The map's shades, lightest (lowest score) first: score s falls in band floor(s x 6), the
# top band closed. One definition: the page's legend and sites-map.js (data-shades) read it.
MAP_SHADES = ("#e7f6f8", "#99deea", "#00bde3", "#0081a1", "#00687d", "#07374c")


def map_legend() -> list[dict[str, Any]]:
    n = len(MAP_SHADES)
    return [{"color": c, "lo": k / n, "hi": (k + 1) / n, "last": k == n - 1}
            for k, c in enumerate(MAP_SHADES)]


def _spotlight(ev: queries.Evaluation) -> list[dict[str, Any]]:
    """The spotlight counties beside the baseline: their trace, or why they are not
    candidates."""
    out = []
    excluded = {f: why for f, _n, why in ev.result.excluded}
    eligible = set(ev.result.counties.fips.tolist())
    for f in [ev.data.baseline_fips, *ev.data.spotlight]:
        county = queries.county_row(f)
        item: dict[str, Any] = {"fips": f, "name": county["name"], "state": county["state"],
                                "lines": None, "why": None}
        if f in eligible:
            item["lines"] = queries.trace(ev, f)
        else:
            item["why"] = excluded.get(f, "not in the candidate set")
        out.append(item)
    return out


@router.get("/sites/scenarios/{scenario_id}")
def result_page(request: Request, scenario_id: ScenarioId, session: Session = Depends(get_session),
                actor: Principal = Depends(allow(Action.sites_read))) -> Response:
    row = queries.get_scenario(session=session, region_id=_region_id(session),
                               scenario_id=scenario_id)
    try:
        ev = queries.evaluate_or_progress(row)
    except GovshareError as exc:  # data changed under a stored scenario: say what
        return render(request, "sites/result.html", {
            "row": row, "ev": None, "error": exc.detail, "can_manage":
                allows(actor, Action.sites_manage)}, status_code=200)
    if isinstance(ev, queries.Progress):
        return render(request, "sites/progress.html", {
            "row": row, "job": ev, "can_manage": allows(actor, Action.sites_manage)},
            status_code=200 if ev.canceled or ev.error else 202)
    rows = queries.candidate_rows(ev)
    frontier, sens = _charts(rows)
    return render(request, "sites/result.html", {
        "row": row, "ev": ev, "data": ev.data, "rows": rows[:TABLE_ROWS], "total": len(rows),
        "frontier_rows": [r for r in rows if r["on_frontier"]],
        "excluded": sorted(ev.result.excluded), "baseline": ev.result.baseline,
        "frontier_chart": frontier, "sensitivity_chart": sens, "fields": calc.FIELDS,
        "spotlight": _spotlight(ev), "used": calc.DCI_USED, "legend": map_legend(),
        "shades": ",".join(MAP_SHADES),
        "weight_ranges": queries.weight_ranges(ev), "leader": rows[0],
        "not_available": calc.DCI_NOT_AVAILABLE, "criteria": calc.CRITERIA,
        "weights": dict(zip(calc.CRITERIA, calc.normalized_weights(ev.data.weights
                                                                   .model_dump()),
                            strict=True)),
        "usd": calc.fmt_usd, "error": None, "chosen": row.chosen_fips,
        "upload": {"token": request.query_params.get("report", "")[:64]},
        "can_manage": allows(actor, Action.sites_manage),
    })


@router.get("/sites/scenarios/{scenario_id}/progress.json")
def run_progress(scenario_id: ScenarioId, session: Session = Depends(get_session),
                 _: Principal = Depends(allow(Action.sites_read))) -> Response:
    """How far the scenario's background run is: ``running`` (with draws done of total),
    ``canceled``, ``failed``, or ``ready`` (nothing runs: the result page computes or shows
    it). Never starts a run."""
    row = queries.get_scenario(session=session, region_id=_region_id(session),
                               scenario_id=scenario_id)
    job = queries.running(row)
    state = ("ready" if job is None else "failed" if job.error is not None
             else "canceled" if job.canceled else "running")
    return JSONResponse({"state": state, "done": job.done if job else None,
                         "total": job.total if job else None},
                        headers={"Cache-Control": "no-store"})


@router.post("/sites/scenarios/{scenario_id}/cancel", dependencies=[Depends(csrf_protect)])
def cancel_run(scenario_id: ScenarioId, session: Session = Depends(get_session),
               _: Principal = Depends(allow(Action.sites_manage))) -> Response:
    """Stop the scenario's background Monte Carlo run (for everyone watching it)."""
    row = queries.get_scenario(session=session, region_id=_region_id(session),
                               scenario_id=scenario_id)
    stopped = queries.cancel_run(row)
    return redirect(f"/sites/scenarios/{scenario_id}",
                    flash="Stopping the sensitivity analysis." if stopped
                    else "No sensitivity analysis was running.")


@router.post("/sites/scenarios/{scenario_id}/run", dependencies=[Depends(csrf_protect)])
def restart_run(scenario_id: ScenarioId, session: Session = Depends(get_session),
                _: Principal = Depends(allow(Action.sites_manage))) -> Response:
    """Run a canceled (or failed) sensitivity analysis again."""
    row = queries.get_scenario(session=session, region_id=_region_id(session),
                               scenario_id=scenario_id)
    queries.restart_run(row)
    return redirect(f"/sites/scenarios/{scenario_id}")


@router.get("/sites/scenarios/{scenario_id}/counties/{fips}")
def county_page(request: Request, scenario_id: ScenarioId, fips: str,
                session: Session = Depends(get_session),
                _: Principal = Depends(allow(Action.sites_read))) -> Response:
    if len(fips) != 5 or not fips.isdigit():
        raise BadRequest("A county code is 5 digits (FIPS)")
    row = queries.get_scenario(session=session, region_id=_region_id(session),
                               scenario_id=scenario_id)
    ev = queries.evaluate_row(row)
    county = queries.county_row(fips)
    return render(request, "sites/county.html", {
        "row": row, "county": county, "lines": queries.trace(ev, fips), "fields": calc.FIELDS,
        "usd": calc.fmt_usd})


@router.get("/sites/scenarios/{scenario_id}/map.json")
def map_data(scenario_id: ScenarioId, session: Session = Depends(get_session),
             _: Principal = Depends(allow(Action.sites_read))) -> Response:
    """The candidates' boundaries with their rank, score, savings and distress, for the
    page's map (one GeoJSON document: a map draws it whole)."""
    row = queries.get_scenario(session=session, region_id=_region_id(session),
                               scenario_id=scenario_id)
    rows = queries.candidate_rows(queries.evaluate_row(row))
    shapes = queries.county_geometries([r["fips"] for r in rows])
    feats = [{"type": "Feature", "id": r["fips"], "geometry": shapes[r["fips"]],
              "properties": {"name": f"{r['name']}, {r['state']}", "rank": r["rank"],
                             "score": r["score"], "savings": r["savings_usd"],
                             "distress": r["distress_score"], "baseline": r["is_baseline"],
                             "p_top3": r["p_top3"]}}
             for r in rows if r["fips"] in shapes]
    return JSONResponse({"type": "FeatureCollection", "features": feats},
                        media_type="application/geo+json")


def _export(session: Session, scenario_id: int, fmt: str, what: str = "export") -> Response:
    """The candidates (``export``), the column dictionary (``columns``) or every figure
    explained (``figures``) as CSV; XLSX holds all three as sheets. Budget and social
    figures are apart in every one (the ``side`` of each column or figure)."""
    row = queries.get_scenario(session=session, region_id=_region_id(session),
                               scenario_id=scenario_id)
    ev = queries.evaluate_row(row)
    columns = [c.name for c in queries.export_columns(ev)]
    buf = io.BytesIO()
    table = [[r[c] for c in columns] for r in queries.candidate_rows(ev)]
    if fmt == "csv":
        header, body = {"export": (columns, table),
                        "columns": (queries.COLUMN_HEADER, queries.column_rows(ev)),
                        "figures": (queries.FIGURE_HEADER, queries.figure_rows(ev))}[what]
        text = io.StringIO()
        t.write_csv(list(header), body, text)
        buf.write(text.getvalue().encode("utf-8"))
    else:
        t.write_xlsx_sheets([("Candidates", columns, table),
                             ("Columns explained", queries.COLUMN_HEADER,
                              queries.column_rows(ev)),
                             ("Figures explained", queries.FIGURE_HEADER,
                              queries.figure_rows(ev))], buf)
    slug = re.sub(r"[^A-Za-z0-9]+", "-", row.name).strip("-").lower()[:60] or "scenario"
    suffix = "" if what == "export" else f"-{what}"
    return Response(buf.getvalue(), media_type=t.MEDIA_TYPES[fmt], headers={
        "Content-Disposition": f'attachment; filename="sites-{slug}{suffix}.{fmt}"'})


@router.get("/sites/scenarios/{scenario_id}/export.csv")
def export_csv(scenario_id: ScenarioId, session: Session = Depends(get_session),
               _: Principal = Depends(allow(Action.sites_read))) -> Response:
    return _export(session, scenario_id, "csv")


@router.get("/sites/scenarios/{scenario_id}/columns.csv")
def export_columns_csv(scenario_id: ScenarioId, session: Session = Depends(get_session),
                       _: Principal = Depends(allow(Action.sites_read))) -> Response:
    return _export(session, scenario_id, "csv", "columns")


@router.get("/sites/scenarios/{scenario_id}/figures.csv")
def export_figures_csv(scenario_id: ScenarioId, session: Session = Depends(get_session),
                       _: Principal = Depends(allow(Action.sites_read))) -> Response:
    return _export(session, scenario_id, "csv", "figures")


@router.get("/sites/scenarios/{scenario_id}/export.xlsx")
def export_xlsx(scenario_id: ScenarioId, session: Session = Depends(get_session),
                _: Principal = Depends(allow(Action.sites_read))) -> Response:
    return _export(session, scenario_id, "xlsx")


# ------------------------------------------------------------------ upload, choose, report


@router.post("/sites/scenarios/{scenario_id}/candidates", dependencies=[Depends(csrf_protect)])
@body_limit("upload", max_bytes=service.MAX_UPLOAD_BYTES + 64 * 1024)
async def upload(request: Request, scenario_id: ScenarioId, session: Session = Depends(get_session),
                 actor: Principal = Depends(allow(Action.sites_manage))) -> Response:
    region_id = _region_id(session)
    queries.get_scenario(session=session, region_id=region_id, scenario_id=scenario_id)
    form = await request.form()
    file = form.get("file")
    if form.get("clear") == "yes":
        service.clear_candidates(session=session, actor=actor, region_id=region_id,
                                 scenario_id=scenario_id)
        session.commit()
        return redirect(f"/sites/scenarios/{scenario_id}", flash="Uploaded data removed.")
    if not isinstance(file, UploadFile) or not file.filename:
        return redirect(f"/sites/scenarios/{scenario_id}",
                        flash="Choose a CSV or XLSX file of candidate data.")
    name = Path(file.filename).name[:200]
    try:
        await run_in_threadpool(service.upload_candidates, session=session, actor=actor,
                                region_id=region_id, scenario_id=scenario_id,
                                stream=file.file, name=name)
    except t.Refused as exc:
        session.rollback()
        token = _reports(request).save(exc.report, owner=actor.ref, file_name=name)
        first = "; ".join(f"row {e.row}, {e.column}: {e.reason}" if e.row else e.reason
                          for e in exc.preview[:3])
        exc.report.close()
        return redirect(f"/sites/scenarios/{scenario_id}?report={token}#upload",
                        flash=f"{exc.detail}. {first}")
    session.commit()
    return redirect(f"/sites/scenarios/{scenario_id}",
                    flash=f"Candidate data from {name} now replaces the published figures it "
                          "names.")


@router.get("/sites/candidates/report")
def upload_report(request: Request, token: str = Query(..., max_length=64),
                  actor: Principal = Depends(allow(Action.sites_manage))) -> Response:
    store = _reports(request)
    path, meta = store.find(token, owner=actor.ref)
    return FileResponse(path, media_type=t.MEDIA_TYPES["csv"],
                        filename=store.download_name(meta))


@router.post("/sites/scenarios/{scenario_id}/choose", dependencies=[Depends(csrf_protect)])
async def choose(request: Request, scenario_id: ScenarioId, session: Session = Depends(get_session),
                 actor: Principal = Depends(allow(Action.sites_manage))) -> Response:
    form = await request.form()
    fips = str(form.get("fips") or "")[:5] or None
    try:
        await run_in_threadpool(service.choose_site, session=session, actor=actor,
                                region_id=_region_id(session), scenario_id=scenario_id,
                                fips=fips)
    except GovshareError as exc:
        if exc.status in (401, 403, 404):
            raise
        session.rollback()
        return redirect(f"/sites/scenarios/{scenario_id}", flash=exc.detail)
    session.commit()
    return redirect(f"/sites/scenarios/{scenario_id}",
                    flash="Chosen site recorded." if fips else "Choice cleared.")
