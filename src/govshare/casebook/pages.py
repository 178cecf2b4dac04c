"""Staff pages of the casebook: proposals (editor, results with charts, allocation, scenarios
side by side, projected vs realized) and the leaders' page "What the sharing is worth" with
its report (HTML, PDF) and exports (CSV, XLSX).

Charts are built in sync handlers (FastAPI runs them in a worker thread), never on the event
loop (docs/architecture.md, Charts).
"""

from __future__ import annotations

import atexit
import functools
import io
import mimetypes
import re
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import Response, StreamingResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import ValidationError
from sqlalchemy.orm import Session

from govshare.casebook import calc, queries, service, value
from govshare.casebook.models import CaseProposal, CaseStatus
from govshare.casebook.schemas import (
    BASIS_TEXT,
    MAX_MEMBERS,
    SERVICE_LABELS,
    SOURCE_LABELS,
    STATUS_LABELS,
    ActualIn,
    FromConsolidationIn,
    ProposalIn,
)
from govshare.core import charts, formats, tabular
from govshare.core.charts import Field
from govshare.core.errors import BadRequest, GovshareError, NotFound, ValidationFailed
from govshare.core.http import (
    allow,
    body_limit,
    csrf_protect,
    get_session,
    redirect,
    render,
    row_id,
)
from govshare.core.jsonhtml import json_for_html
from govshare.core.paging import PageParams
from govshare.core.tenancy import Action, Principal, allows
from govshare.property import planning as property_planning
from govshare.regions import queries as regions_queries

router = APIRouter(include_in_schema=False)
PACKAGE_DIR = Path(__file__).resolve().parents[1]
STATIC = PACKAGE_DIR / "web" / "static"
MAX_UPLOAD = 5 * 1024 * 1024
# The editor has a row of fields per member: room for the largest proposal the schema takes.
EDITOR_FIELDS = MAX_MEMBERS * 15 + 50
MEMBER_FIELDS = ("ftes", "staff", "contracts", "systems", "space", "other", "direct",
                 "own_one_time", "population", "headcount", "usage", "assessed_value")
MEMBER_LABELS = {"ftes": "FTEs", "staff": "Salaries and benefits ($/yr)",
                 "contracts": "Contracts ($/yr)", "systems": "Systems ($/yr)",
                 "space": "Space ($/yr)", "other": "Other ($/yr)",
                 "direct": "Own costs kept under the shared model ($/yr)",
                 "own_one_time": "Own one-time costs, first year ($)",
                 "population": "Population", "headcount": "Headcount served",
                 "usage": "Usage", "assessed_value": "Assessed value ($)"}
DRIVER_FIELDS = ("population", "headcount", "usage", "assessed_value")
YEAR = Field("year", "Year", "year")
MEMBER = Field("member", "Member", "text")


def _region(session: Session) -> Any:
    return regions_queries.require_current_region(session=session)


def _dollars(x: float | None) -> str:
    return "—" if x is None else calc.dollars(round(x * 100))


def _ctx(**kw: Any) -> dict[str, Any]:
    return {"dollars": calc.dollars, "pct": calc.pct, "services": SERVICE_LABELS,
            "sources_text": SOURCE_LABELS, "statuses": STATUS_LABELS, "bases": BASIS_TEXT,
            **kw}


# ----------------------------------------------------------------------------- list


@router.get("/casebook")
def index(request: Request, status: str = Query("", max_length=20),
          session: Session = Depends(get_session),
          actor: Principal = Depends(allow(Action.casebook_read))) -> Response:
    region = _region(session)
    flt = status if status in CaseStatus.__members__ else None
    rows, total = queries.list_proposals(session=session, actor=actor, region_id=region.id,
                                         status=flt, page=PageParams(500))
    return render(request, "casebook/index.html", _ctx(
        proposals=rows, total=total, status=flt or "", sources=service.SOURCES,
        can_manage=allows(actor, Action.casebook_manage)))


# ----------------------------------------------------------------------------- editor


def _num(raw: str) -> float | None:
    raw = raw.strip().replace(",", "").replace("$", "")
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        return None


def _list(raw: str) -> list[Any]:
    out: list[Any] = []
    for part in re.split(r"[;\s]+", raw.strip()):
        if part:
            n = _num(part)
            out.append(part if n is None else n)
    return out


def _form_values(form: Any, member_ids: list[int]) -> dict[str, Any]:
    """The editor's fields as ProposalIn's input (bad text is passed on, to be named)."""
    def text(name: str) -> str:
        return str(form.get(name, "")).strip()

    def number(name: str) -> Any:
        raw = text(name)
        n = _num(raw)
        return raw if (raw and n is None) else n

    rate = number("discount_rate_pct")
    values: dict[str, Any] = {
        "name": text("name"), "service": text("service") or "other",
        "description": text("description") or None, "start_year": number("start_year"),
        "horizon_years": number("horizon_years"),
        "discount_rate": rate / 100 if isinstance(rate, float) else rate,
        "discount_source": text("discount_source") or None,
        "ramp_pct": _list(text("ramp_pct")), "one_time": _list(text("one_time")),
        "shared_annual": number("shared_annual") or 0, "basis": text("basis") or "equal",
        "blend": {b: number(f"blend_{b}") for b in DRIVER_FIELDS
                  if number(f"blend_{b}") not in (None, 0)},
        "tco2e_per_year": number("tco2e_per_year"),
        "tco2e_source": text("tco2e_source") or None, "members": []}
    for jid in member_ids:
        if not form.get(f"m{jid}_in"):
            continue
        m: dict[str, Any] = {"jurisdiction_id": jid}
        for f in MEMBER_FIELDS:
            v = number(f"m{jid}_{f}")
            if v is not None:
                m[f] = v
        note = text(f"m{jid}_note")
        if note:
            m["note"] = note
        values["members"].append(m)
    return values


def _editor(request: Request, session: Session, actor: Principal, *, proposal: Any,
            values: dict[str, Any], errors: list[dict[str, Any]],
            status_code: int = 200) -> Response:
    region = _region(session)
    jurisdictions = regions_queries.list_jurisdictions(session=session, region_id=region.id)
    members = {m["jurisdiction_id"]: m for m in values.get("members", [])}
    return render(request, "casebook/edit.html", _ctx(
        proposal=proposal, v=values, members=members, jurisdictions=jurisdictions,
        member_fields=MEMBER_FIELDS, member_labels=MEMBER_LABELS, errors=errors,
        default=_default_rate(values), driver_fields=DRIVER_FIELDS), status_code=status_code)


def _default_rate(values: dict[str, Any]) -> tuple[int, calc.RateChoice]:
    """The default rate for the horizon shown in the editor (10 years if none is valid)."""
    h = values.get("horizon_years")
    horizon = h if isinstance(h, int) and 1 <= h <= 50 else 10
    return horizon, service.default_rate(horizon)


def _shown_values(data: ProposalIn | None, raw: dict[str, Any]) -> dict[str, Any]:
    if data is None:
        return raw
    v = data.model_dump(mode="json")
    v["discount_rate_pct"] = None if data.discount_rate is None else data.discount_rate * 100
    return v


@router.get("/casebook/new")
def new_page(request: Request, session: Session = Depends(get_session),
             actor: Principal = Depends(allow(Action.casebook_manage))) -> Response:
    values: dict[str, Any] = {"start_year": regions_queries.today(session=session).year + 1,
                              "horizon_years": 10, "discount_rate_pct": None,
                              "discount_source": None, "ramp_pct": [50, 80], "basis": "equal",
                              "members": []}
    return _editor(request, session, actor, proposal=None, values=values, errors=[])


def _save(request: Request, session: Session, actor: Principal, form: Any,
          proposal: CaseProposal | None) -> Response:
    region = _region(session)
    ids = [j.id for j in regions_queries.list_jurisdictions(session=session,
                                                            region_id=region.id)]
    raw = _form_values(form, ids)
    try:
        data = ProposalIn.model_validate(raw)
    except ValidationError as exc:
        shown = dict(raw, discount_rate_pct=form.get("discount_rate_pct", ""))
        return _editor(request, session, actor, proposal=proposal, values=shown,
                       errors=service._errors(exc), status_code=422)
    try:
        if proposal is None:
            p = service.create_proposal(session=session, actor=actor, region_id=region.id,
                                        data=data)
        else:
            p = service.update_proposal(session=session, actor=actor, proposal_id=proposal.id,
                                        data=data)
    except GovshareError as exc:
        if exc.status == 404:
            raise
        session.rollback()
        return _editor(request, session, actor, proposal=proposal,
                       values=_shown_values(data, raw),
                       errors=exc.errors or [{"loc": [], "reason": exc.detail}],
                       status_code=exc.status)
    session.commit()
    return redirect(f"/casebook/{p.id}", flash="Proposal saved.")


@router.post("/casebook/new", dependencies=[Depends(csrf_protect)])
async def new_save(request: Request, session: Session = Depends(get_session),
                   actor: Principal = Depends(allow(Action.casebook_manage))) -> Response:
    form = await request.form(max_fields=EDITOR_FIELDS)
    return await _in_thread(_save, request, session, actor, form, None)


async def _in_thread(fn: Any, *args: Any) -> Response:
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(fn, *args)


@router.get("/casebook/{case_id}/edit")
def edit_page(request: Request, case_id: int = row_id("proposal"),
              session: Session = Depends(get_session),
              actor: Principal = Depends(allow(Action.casebook_manage))) -> Response:
    p = queries.get_proposal(session=session, actor=actor, proposal_id=case_id)
    data = service.proposal_in(session, p)
    return _editor(request, session, actor, proposal=p, values=_shown_values(data, {}),
                   errors=[])


@router.post("/casebook/{case_id}/edit", dependencies=[Depends(csrf_protect)])
async def edit_save(request: Request, case_id: int = row_id("proposal"),
                    session: Session = Depends(get_session),
                    actor: Principal = Depends(allow(Action.casebook_manage))) -> Response:
    form = await request.form(max_fields=EDITOR_FIELDS)
    p = queries.get_proposal(session=session, actor=actor, proposal_id=case_id)
    return await _in_thread(_save, request, session, actor, form, p)


# ----------------------------------------------------------------------------- results


def _result_charts(p: CaseProposal, result: calc.CaseResult, shown: set[int],
                   tracker: queries.Tracker) -> dict[str, charts.Chart]:
    whole = shown == {m.key for m in result.members}
    o = result.total if whole else next(m.outcome for m in result.members if m.key in shown)
    out = {
        "cumulative": charts.line(
            [{"year": y.year, "v": y.cumulative_cents / 100, "s": "Cumulative net savings"}
             for y in o.years]
            + [{"year": y.year, "v": y.cumulative_pv_cents / 100,
                "s": "Cumulative, discounted"} for y in o.years],
            id=f"cumulative-{p.id}", title="Cumulative net savings by year", x=YEAR,
            y=Field("v", "Dollars", "usd"), series=Field("s", "Series", "text"),
            dashed=["Cumulative, discounted"]),
        "members": charts.bar(
            [{"member": m.name, "v": m.annual_savings_cents / 100}
             for m in result.members if m.key in shown],
            id=f"member-savings-{p.id}", title="Savings a year at full ramp, by member",
            category=MEMBER, value=Field("v", "Savings a year", "usd")),
    }
    if any(t.realized_cents is not None for t in tracker.total):
        out["tracker"] = charts.line(
            [{"year": t.year, "v": t.against_cents / 100, "s": "Projected"}
             for t in tracker.total if t.realized_cents is not None]
            + [{"year": t.year, "v": (t.realized_cents or 0) / 100, "s": "Realized"}
               for t in tracker.total if t.realized_cents is not None],
            id=f"tracker-{p.id}", title="Projected and realized net savings, reporting "
            "members", x=YEAR, y=Field("v", "Dollars", "usd"),
            series=Field("s", "Series", "text"), dashed=["Projected"])
    return out


def _true_ups(actual_rows: list[Any], names: dict[int, str]) -> list[dict[str, Any]]:
    """Per year with billed amounts and usage from every reporting member: billed re-shared
    on actual usage."""
    by_year: dict[int, list[Any]] = {}
    for a in actual_rows:
        by_year.setdefault(a.year, []).append(a)
    out = []
    for year, rows in sorted(by_year.items()):
        if any(a.billed_cents is None or a.usage is None for a in rows):
            continue
        if not any(a.usage for a in rows):
            continue
        t = calc.true_up({a.jurisdiction_id: a.billed_cents for a in rows},
                         {a.jurisdiction_id: a.usage for a in rows})
        for a in rows:
            out.append({"year": year, "member": names.get(a.jurisdiction_id, "?"),
                        "billed": a.billed_cents, "usage": a.usage,
                        "allocated": a.billed_cents + t[a.jurisdiction_id],
                        "true_up": t[a.jurisdiction_id]})
    return out


def _result_page(request: Request, session: Session, actor: Principal, case_id: int,
                 errors: list[dict[str, Any]] | None = None, status_code: int = 200,
                 report_token: str | None = None) -> Response:
    p = queries.get_proposal(session=session, actor=actor, proposal_id=case_id)
    rows = queries.members(session=session, proposal_id=p.id)
    shown = queries.shown_member_ids(actor, rows)
    problem = None
    try:
        result = queries.evaluate(p, rows)
    except calc.CalcError as exc:
        result, problem = None, f"{exc.field}: {exc.reason}"
    actual_rows = queries.actuals(session=session, proposal_id=p.id, jurisdiction_ids=shown)
    names = {r.member.jurisdiction_id: r.name for r in rows}
    ctx: dict[str, Any] = _ctx(
        p=p, rows=[r for r in rows if r.member.jurisdiction_id in shown], shown=shown,
        hidden=len(rows) - len(shown), result=result, problem=problem,
        family=queries.scenarios(session=session, actor=actor, proposal=p),
        actuals=actual_rows, names=names, errors=errors or [], report_token=report_token,
        can_manage=allows(actor, Action.casebook_manage),
        can_record=[j for j in sorted(shown) if allows(actor, Action.casebook_actuals, j)],
        rate_note=calc.RATE_NOTE, true_ups=_true_ups(actual_rows, names),
        last_year=p.start_year + p.horizon_years - 1)
    if result is not None:
        tracker = queries.tracker(result, actual_rows, shown)
        family: list[tuple[CaseProposal, calc.Outcome | None, str | None]] = []
        for q in ctx["family"]:
            try:
                r = queries.evaluate(q, queries.members(session=session, proposal_id=q.id))
                mine = [m for m in r.members if m.key in shown]
                whole = len(mine) == len(r.members)
                o = r.total if whole else (mine[0].outcome if mine else None)
                family.append((q, o, None))
            except calc.CalcError as exc:
                family.append((q, None, exc.reason))
        ctx.update(tracker=tracker, charts=_result_charts(p, result, shown, tracker),
                   whole=shown == {m.key for m in result.members}, scenarios=family)
    return render(request, "casebook/proposal.html", ctx, status_code=status_code)


@router.get("/casebook/{case_id}")
def proposal_page(request: Request, case_id: int = row_id("proposal"),
                  report: str = Query("", max_length=64),
                  session: Session = Depends(get_session),
                  actor: Principal = Depends(allow(Action.casebook_read))) -> Response:
    return _result_page(request, session, actor, case_id, report_token=report or None)


@router.post("/casebook/{case_id}/status", dependencies=[Depends(csrf_protect)])
def status_save(request: Request, case_id: int = row_id("proposal"), status: str = Form(""),
                session: Session = Depends(get_session),
                actor: Principal = Depends(allow(Action.casebook_manage))) -> Response:
    if status not in CaseStatus.__members__:
        raise BadRequest(f"Unknown status {status!r}")
    p = service.set_status(session=session, actor=actor, proposal_id=case_id,
                           status=CaseStatus(status))
    session.commit()
    return redirect(f"/casebook/{p.id}", flash=f"The proposal is now {STATUS_LABELS[status]}.")


@router.post("/casebook/{case_id}/scenario", dependencies=[Depends(csrf_protect)])
def scenario_save(request: Request, case_id: int = row_id("proposal"),
                  name: str = Form("", max_length=200),
                  discount_rate_pct: str = Form("", max_length=20),
                  horizon_years: str = Form("", max_length=10),
                  shared_annual: str = Form("", max_length=30),
                  basis: str = Form("", max_length=20),
                  session: Session = Depends(get_session),
                  actor: Principal = Depends(allow(Action.casebook_manage))) -> Response:
    changes: dict[str, Any] = {}
    rate = _num(discount_rate_pct)
    if discount_rate_pct.strip():
        changes["discount_rate"] = rate / 100 if rate is not None else discount_rate_pct
        changes["discount_source"] = "scenario: rate entered by staff"
    if horizon_years.strip():
        changes["horizon_years"] = _num(horizon_years) or horizon_years
    if shared_annual.strip():
        changes["shared_annual"] = _num(shared_annual) if _num(shared_annual) is not None \
            else shared_annual
    if basis.strip():
        changes["basis"] = basis
    try:
        s = service.add_scenario(session=session, actor=actor, proposal_id=case_id,
                                 name=name.strip() or "Scenario", changes=changes)
    except GovshareError as exc:
        if exc.status == 404:
            raise
        session.rollback()
        return _result_page(request, session, actor, case_id,
                            errors=exc.errors or [{"loc": [], "reason": exc.detail}],
                            status_code=exc.status)
    session.commit()
    return redirect(f"/casebook/{s.id}", flash="Scenario added; it is shown beside the others.")


@router.post("/casebook/{case_id}/actuals", dependencies=[Depends(csrf_protect)])
def actual_save(request: Request, case_id: int = row_id("proposal"),
                jurisdiction_id: str = Form(""),
                year: str = Form(""), actual: str = Form(""), billed: str = Form(""),
                usage: str = Form(""), session: Session = Depends(get_session),
                actor: Principal = Depends(allow(Action.casebook_actuals))) -> Response:
    raw = {"jurisdiction_id": jurisdiction_id, "year": year, "actual": _num(actual)
           if _num(actual) is not None else actual, "billed": _num(billed),
           "usage": _num(usage)}
    try:
        try:
            data = ActualIn.model_validate(raw)
        except ValidationError as exc:
            raise ValidationFailed("The actual cost is not valid",
                                errors=service._errors(exc)) from None
        outcome = service.record_actual(session=session, actor=actor, proposal_id=case_id,
                                        data=data, source="form")
    except GovshareError as exc:
        if exc.status == 404:
            raise
        session.rollback()
        return _result_page(request, session, actor, case_id,
                            errors=exc.errors or [{"loc": [], "reason": exc.detail}],
                            status_code=exc.status)
    session.commit()
    return redirect(f"/casebook/{case_id}#tracker", flash=f"Actual cost {outcome}.")


@router.post("/casebook/{case_id}/actuals/import", dependencies=[Depends(csrf_protect)])
@body_limit("upload", max_bytes=MAX_UPLOAD + 64 * 1024)
def actual_import(request: Request, case_id: int = row_id("proposal"), file: UploadFile = File(...),
                  session: Session = Depends(get_session),
                  actor: Principal = Depends(allow(Action.casebook_actuals))) -> Response:
    data = file.file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        return _result_page(request, session, actor, case_id, errors=[
            {"loc": ["file"], "reason": f"larger than {MAX_UPLOAD // (1024 * 1024)} MB"}],
            status_code=413)
    name = (file.filename or "upload")[:200]
    try:
        res = service.import_actuals(session=session, actor=actor, proposal_id=case_id,
                                     stream=io.BytesIO(data), file_name=name)
    except tabular.Refused as exc:
        session.rollback()
        store: tabular.ReportStore = _report_store(request)
        token = store.save(exc.report, owner=actor.ref, file_name=name)
        errs = [{"loc": [f"row {e.row}" if e.row is not None else "file", e.column],
                 "reason": f"{e.reason} (value: {e.value})" if e.value else e.reason}
                for e in exc.report.first()]
        exc.report.close()
        return _result_page(request, session, actor, case_id, errors=errs,
                            status_code=422, report_token=token)
    session.commit()
    return redirect(f"/casebook/{case_id}#tracker", flash=f"Imported: {res.summary()}.")


def _report_store(request: Request) -> tabular.ReportStore:
    store = getattr(request.app.state, "casebook_reports", None)
    if store is None:
        folder = Path(request.app.state.settings.data_dir) / "casebook-reports"
        store = tabular.ReportStore(folder)
        request.app.state.casebook_reports = store
    return store


@router.get("/casebook/import-reports/{report_token}.csv")
def import_report(request: Request, report_token: str,
                  actor: Principal = Depends(allow(Action.casebook_actuals))) -> Response:
    if not re.fullmatch(r"[A-Za-z0-9_-]{8,64}", report_token):
        raise NotFound("Report not found")
    path, meta = _report_store(request).find(report_token, owner=actor.ref)
    return Response(path.read_bytes(), media_type="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{tabular.ReportStore.download_name(meta)}"'})


@router.post("/casebook/from-consolidation", dependencies=[Depends(csrf_protect)])
async def from_consolidation(request: Request, session: Session = Depends(get_session),
                             actor: Principal = Depends(allow(Action.casebook_manage))
                             ) -> Response:
    form = await request.form()
    # The plan's own values, as its page had them; an empty one takes the schema's default
    # and a bad one is refused by name (never replaced by a default: 0 is a value).
    raw: dict[str, Any] = {
        "use": str(form.get("use", "")),
        **{k: v for k in ("max_km", "max_sites", "travel", "move_cost", "fitout_cost",
                          "charge_pct", "keep_together", "minutes")
           if (v := str(form.get(k, "")).strip()) != ""},
        "keep": [int(str(x)) for x in form.getlist("keep") if str(x).isdigit()],
        "close": [int(str(x)) for x in form.getlist("close") if str(x).isdigit()],
        "start_year": regions_queries.today(session=session).year + 1, "horizon_years": 10}
    job = str(form.get("job") or "").strip()[:40]  # the plan page's solve: its plan is used

    def run() -> Response:
        try:
            data = FromConsolidationIn.model_validate(raw)
        except ValidationError as exc:
            raise BadRequest("The consolidation plan's inputs are not valid",
                             errors=service._errors(exc)) from None
        try:
            p = service.from_consolidation(
                session=session, actor=actor, region_id=_region(session).id, data=data,
                job=job, inline_limit=property_planning.DEFAULT_TIME_LIMIT)
        except property_planning.PlanNotKept:  # its page finds it again, in the background
            return redirect(service.consolidation_link(data), flash=property_planning.found_again(
                60.0 * data.minutes, "Make it a proposal"))
        session.commit()
        return redirect(f"/casebook/{p.id}", flash="The consolidation plan is now a proposal "
                        "(draft) with its moving, fit-out and occupancy charges. Add a ramp "
                        "and any other one-time costs, then adopt it.")
    return await _in_thread(run)


@router.post("/casebook/from-sited-center", dependencies=[Depends(csrf_protect)])
def from_sited_center(request: Request, scenario_id: str = Form("", max_length=12),
                      session: Session = Depends(get_session),
                      actor: Principal = Depends(allow(Action.casebook_manage))) -> Response:
    if not scenario_id.isdigit():
        raise BadRequest("scenario_id: a sites scenario's id is required")
    p = service.from_sited_center(session=session, actor=actor, region_id=_region(session).id,
                                  scenario_id=int(scenario_id),
                                  start_year=regions_queries.today(session=session).year + 1)
    session.commit()
    return redirect(f"/casebook/{p.id}", flash="The chosen center is now a proposal (draft).")


@router.post("/casebook/from-fleet-pool", dependencies=[Depends(csrf_protect)])
def from_fleet_pool(request: Request, session: Session = Depends(get_session),
                    actor: Principal = Depends(allow(Action.casebook_manage))) -> Response:
    p = service.from_fleet_pool(session=session, actor=actor, region_id=_region(session).id,
                                start_year=regions_queries.today(session=session).year + 1)
    session.commit()
    return redirect(f"/casebook/{p.id}", flash="The fleet pooling plan is now a proposal "
                    "(draft). Add one-time costs and a ramp, then adopt it.")


# ----------------------------------------------------------------------------- value


def value_charts(case: value.ValueCase) -> dict[str, charts.Chart]:
    out = {}
    fiscal = case.point("fiscal")
    if fiscal.rows:
        data = []
        for r in fiscal.rows:
            data.append({"p": r["proposal"], "s": "Projected a year", "v": r["annual"]})
        out["fiscal"] = charts.bar(data, id="value-fiscal",
                                   title="Projected savings a year by adopted proposal",
                                   category=Field("p", "Proposal", "text"),
                                   value=Field("v", "Savings a year", "usd"))
    green = case.point("green")
    if green.rows:
        data = []
        for r in green.rows:
            if r["base_t"] is not None:
                data.append({"m": r["member"], "s": f"Base year ({r['base_year']})",
                             "v": r["base_t"]})
            data.append({"m": r["member"], "s": "Latest year", "v": r["latest_t"]})
            if r["target_t"] is not None:
                data.append({"m": r["member"], "s": "Next target", "v": r["target_t"]})
        out["green"] = charts.bar(
            data, id="value-green", title="Emissions by member: base year, latest year and "
            "next target (t CO2e, location-based)", category=Field("m", "Member", "text"),
            value=Field("v", "t CO2e", decimals=0), series=Field("s", "Series", "text"))
    front = case.point("front_office")
    if front.rows:
        out["front"] = charts.bar(
            [{"c": r["channel"], "v": r["volume"], "h": r["hours"]} for r in front.rows],
            id="value-channels", title="Requests by channel",
            category=Field("c", "Channel", "text"), value=Field("v", "Requests"),
            details=[Field("h", "Median hours to close", decimals=1)])
    return out


def _value_params(session: Session, actor: Principal, jurisdiction_id: str
                  ) -> tuple[Any, int | None, list[Any]]:
    region = _region(session)
    jid = int(jurisdiction_id) if jurisdiction_id.isdigit() else None
    members = regions_queries.list_jurisdictions(session=session, region_id=region.id)
    if not actor.role.is_regional:
        members = [m for m in members if m.id == actor.jurisdiction_id]
    return region, jid, members


@router.get("/value")
def value_page(request: Request, jurisdiction_id: str = Query("", max_length=12),
               session: Session = Depends(get_session),
               actor: Principal = Depends(allow(Action.value_read))) -> Response:
    region, jid, members = _value_params(session, actor, jurisdiction_id)
    case = value.value_case(session=session, actor=actor, region_id=region.id,
                            jurisdiction_id=jid)
    return render(request, "casebook/value.html", _ctx(
        case=case, charts=value_charts(case), members=members, audiences=value.AUDIENCE_TEXT,
        query=urlencode({"jurisdiction_id": case.member_id} if case.member_id else {})))


@router.get("/value/report")
def report_builder(request: Request, audience: str = Query("governor", max_length=20),
                   jurisdiction_id: str = Query("", max_length=12),
                   session: Session = Depends(get_session),
                   actor: Principal = Depends(allow(Action.value_read))) -> Response:
    region, jid, members = _value_params(session, actor, jurisdiction_id)
    aud = value.Audience(audience) if audience in value.Audience.__members__ \
        else value.Audience.governor
    case = value.value_case(session=session, actor=actor, region_id=region.id,
                            jurisdiction_id=jid)
    q = {"audience": aud.value, **({"jurisdiction_id": case.member_id}
                                   if case.member_id else {})}
    return render(request, "casebook/report.html", _ctx(
        case=case, charts=value_charts(case), members=members, audience=aud,
        audiences=value.AUDIENCE_TEXT, query=urlencode(q)))


# --- printing (the PDF and the CLI share this)


def _local_static() -> Any:
    """WeasyPrint's fetcher: the package's static files for /static/ URLs; anything else
    stops the PDF (nothing is fetched from outside the package)."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class LocalStatic(URLFetcher):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__(fail_on_errors=True)

        def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
            m = re.fullmatch(re.escape(_PRINT_BASE) + r"static/([\w./-]+?)(?:[?#].*)?", url)
            path = (STATIC / m.group(1)).resolve() if m else None
            if path is None or not path.is_relative_to(STATIC.resolve()) or not path.is_file():
                raise ValueError(f"not fetched: {url}")
            kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": kind})

    return LocalStatic()


def print_environment() -> Environment:
    """Templates for printing outside a request (the CLI): the casebook's and web's."""
    env = Environment(loader=FileSystemLoader([str(PACKAGE_DIR / "casebook" / "templates"),
                                               str(PACKAGE_DIR / "web" / "templates")]),
                      autoescape=select_autoescape(["html"]))
    env.globals["static"] = lambda p: f"/static/{p}"
    env.filters["tojson"] = json_for_html
    formats.register(env)  # the pages' |money |number |when |day, outside a request too
    return env


# The printed report's stylesheets (under static/). A page saved as HTML links them; the PDF
# gets them parsed once per process (`_print_styles`).
PRINT_STYLESHEETS = ("vendor/uswds/css/uswds.min.css", "css/govshare.css")
_PRINT_BASE = "https://govshare.print/"
_print_lock = threading.Lock()


def report_html(env: Environment, case: value.ValueCase, audience: value.Audience,
                time_zone: str, *, for_pdf: bool = False) -> str:
    """The printed value case, its times in `time_zone` (the region's). for_pdf leaves out
    the stylesheet links: `report_pdf` brings the stylesheets itself."""
    return env.get_template("casebook/report_print.html").render(_ctx(
        case=case, charts=value_charts(case), audience=audience,
        audiences=value.AUDIENCE_TEXT, time_zone=time_zone,
        stylesheets=() if for_pdf else PRINT_STYLESHEETS))


@functools.cache
def _print_styles() -> tuple[Any, list[Any]]:
    """WeasyPrint's font configuration and the parsed PRINT_STYLESHEETS, made once per process:
    parsing USWDS's half-megabyte stylesheet and unpacking its 18 web fonts took 2.4 of the
    6.4 s a report took to print. Call with `_print_lock` held."""
    import weasyprint
    from weasyprint.text.fonts import FontConfiguration

    fonts = FontConfiguration()
    sheets = [weasyprint.CSS(url=f"{_PRINT_BASE}static/{p}", url_fetcher=_local_static(),
                             font_config=fonts) for p in PRINT_STYLESHEETS]
    return fonts, sheets


# Dropped before the interpreter's teardown, while FontConfiguration.__del__ can still
# remove its temporary font files.
atexit.register(_print_styles.cache_clear)


def report_pdf(html: str) -> bytes:
    """The PDF of `report_html(..., for_pdf=True)`. One print at a time: the shared font
    configuration is not made for threads, and a print is CPU work under the GIL anyway."""
    import weasyprint

    with _print_lock:
        fonts, sheets = _print_styles()
        pdf = weasyprint.HTML(string=html, base_url=f"{_PRINT_BASE}value/",
                              url_fetcher=_local_static()).write_pdf(
            stylesheets=sheets, font_config=fonts)
    assert pdf is not None
    return pdf  # type: ignore[no-any-return]


@router.get("/value/report.pdf")
def report_download(request: Request, audience: str = Query("governor", max_length=20),
                    jurisdiction_id: str = Query("", max_length=12),
                    session: Session = Depends(get_session),
                    actor: Principal = Depends(allow(Action.value_read))) -> Response:
    region, jid, _members = _value_params(session, actor, jurisdiction_id)
    aud = value.Audience(audience) if audience in value.Audience.__members__ \
        else value.Audience.governor
    case = value.value_case(session=session, actor=actor, region_id=region.id,
                            jurisdiction_id=jid)
    env = request.app.state.templates.env
    pdf = report_pdf(report_html(env, case, aud, region.time_zone, for_pdf=True))
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="value-case-{aud.value}.pdf"'})


def figure_rows(case: value.ValueCase) -> tuple[list[str], list[list[Any]]]:
    cols = ["point", "figure", "value", "number", "kind", "formula", "data", "source", "page"]
    rows = [[p.title, f.label, f.value, f.raw, f.kind.value, f.formula, f.data, f.source,
             f.link] for p, f in case.figures()]
    rows += [[p.title, "not yet measured", m, None, "", "", "", "", ""]
             for p in case.points for m in p.missing]
    return cols, rows


@router.get("/value/figures.{fmt}")
def value_export(request: Request, fmt: str, jurisdiction_id: str = Query("", max_length=12),
                 session: Session = Depends(get_session),
                 actor: Principal = Depends(allow(Action.value_read))) -> Response:
    if fmt not in ("csv", "xlsx"):
        raise NotFound("Export not found")
    region, jid, _members = _value_params(session, actor, jurisdiction_id)
    case = value.value_case(session=session, actor=actor, region_id=region.id,
                            jurisdiction_id=jid)
    cols, rows = figure_rows(case)
    if fmt == "csv":
        buf = io.StringIO()
        tabular.write_csv(cols, rows, buf)
        body, media = buf.getvalue().encode("utf-8"), "text/csv; charset=utf-8"
    else:
        out = io.BytesIO()
        tabular.write_xlsx(cols, rows, out, sheet="Value case")
        body = out.getvalue()
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return StreamingResponse(iter([body]), media_type=media, headers={
        "Content-Disposition": f'attachment; filename="value-case.{fmt}"'})
