"""JSON API of the casebook under /api/v1: proposals, their results, allocations and actual
costs. Lists answer ``core.paging.Page``. A member's staff see the proposals their member is
in and their own member's rows only; another member's rows are not listed, and asking for
one answers 404."""

from __future__ import annotations

import io
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, UploadFile
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from govshare.casebook import calc, queries, service
from govshare.casebook.models import CaseProposal, CaseStatus
from govshare.casebook.schemas import (
    DOLLARS,
    HORIZON,
    YEAR,
    ActualIn,
    ActualOut,
    AllocationOut,
    FromConsolidationIn,
    MemberOut,
    ProposalIn,
    ProposalOut,
    ResultOut,
)
from govshare.core.errors import BadRequest, NotFound
from govshare.core.http import allow, body_limit, get_session, row_id
from govshare.core.paging import Page, PageParams, page_params
from govshare.core.tenancy import Action, Principal
from govshare.property import planning as property_planning
from govshare.regions import queries as regions_queries

router = APIRouter(prefix="/api/v1/casebook", tags=["casebook"])
CaseId = Annotated[int, row_id("proposal")]
MemberId = Annotated[int, row_id("jurisdiction")]
MAX_UPLOAD = 5 * 1024 * 1024


class StatusIn(BaseModel):
    status: CaseStatus


class ScenarioIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    changes: dict[str, Any] = Field(default_factory=dict, max_length=20,
                                    description="Terms to change (ProposalIn's fields)")


class FromConsolidationBody(FromConsolidationIn):
    name: str | None = Field(None, max_length=200)


class FromSitedCenterBody(BaseModel):
    scenario_id: int = Field(ge=1, le=2**31 - 1)
    start_year: int = YEAR.field()
    horizon_years: int = HORIZON.field(10)
    name: str | None = Field(None, max_length=200)


class FromFleetPoolBody(BaseModel):
    start_year: int = YEAR.field()
    horizon_years: int = HORIZON.field(10)
    one_time: float = DOLLARS.field(0, description="One-time transition costs, $")
    name: str | None = Field(None, max_length=200)


class ImportOut(BaseModel):
    rows: int
    added: int
    updated: int
    unchanged: int
    dry_run: bool
    summary: str


def _out(p: CaseProposal) -> ProposalOut:
    return ProposalOut.model_validate(p)


def _result(session: Session, actor: Principal, case_id: int
            ) -> tuple[CaseProposal, list[queries.MemberRow], calc.CaseResult, set[int]]:
    p = queries.get_proposal(session=session, actor=actor, proposal_id=case_id)
    rows = queries.members(session=session, proposal_id=p.id)
    return p, rows, queries.evaluate(p, rows), queries.shown_member_ids(actor, rows)


@router.get("/proposals", response_model=Page[ProposalOut],
            summary="Proposals you may see (your member's; all for regional roles)")
def list_proposals(status: CaseStatus | None = None,
                   page: PageParams = Depends(page_params(100, 500)),
                   session: Session = Depends(get_session),
                   actor: Principal = Depends(allow(Action.casebook_read))) -> Page[ProposalOut]:
    region_id = regions_queries.require_current_region(session=session).id
    rows, total = queries.list_proposals(session=session, actor=actor, region_id=region_id,
                                         status=status.value if status else None, page=page)
    return page.page([_out(p) for p in rows], total)


@router.post("/proposals", response_model=ProposalOut, status_code=201)
def create_proposal(data: ProposalIn, session: Session = Depends(get_session),
                    actor: Principal = Depends(allow(Action.casebook_manage))) -> ProposalOut:
    region_id = regions_queries.require_current_region(session=session).id
    p = service.create_proposal(session=session, actor=actor, region_id=region_id, data=data)
    session.commit()
    return _out(p)


@router.post("/proposals/from-consolidation", response_model=ProposalOut, status_code=201,
             summary="Run a consolidation plan and make it a proposal, linked back to it")
def from_consolidation(data: FromConsolidationBody, session: Session = Depends(get_session),
                       actor: Principal = Depends(allow(Action.casebook_manage))
                       ) -> ProposalOut:
    region_id = regions_queries.require_current_region(session=session).id
    body = data.model_dump()
    name = body.pop("name")
    p = service.from_consolidation(session=session, actor=actor, region_id=region_id,
                                   data=FromConsolidationIn(**body), name=name,
                                   inline_limit=property_planning.DEFAULT_TIME_LIMIT)
    session.commit()
    return _out(p)


@router.post("/proposals/from-sited-center", response_model=ProposalOut, status_code=201,
             summary="Make a sites scenario's chosen center a proposal, linked back to it")
def from_sited_center(data: FromSitedCenterBody, session: Session = Depends(get_session),
                      actor: Principal = Depends(allow(Action.casebook_manage))
                      ) -> ProposalOut:
    region_id = regions_queries.require_current_region(session=session).id
    p = service.from_sited_center(session=session, actor=actor, region_id=region_id,
                                  scenario_id=data.scenario_id, start_year=data.start_year,
                                  horizon_years=data.horizon_years, name=data.name)
    session.commit()
    return _out(p)


@router.post("/proposals/from-fleet-pool", response_model=ProposalOut, status_code=201,
             summary="Run the fleet pooling plan and make it a proposal, linked back to it")
def from_fleet_pool(data: FromFleetPoolBody, session: Session = Depends(get_session),
                    actor: Principal = Depends(allow(Action.casebook_manage))) -> ProposalOut:
    region_id = regions_queries.require_current_region(session=session).id
    p = service.from_fleet_pool(session=session, actor=actor, region_id=region_id,
                                start_year=data.start_year, horizon_years=data.horizon_years,
                                one_time=data.one_time, name=data.name)
    session.commit()
    return _out(p)


@router.get("/proposals/{case_id}", response_model=ProposalOut)
def get_proposal(case_id: CaseId, session: Session = Depends(get_session),
                 actor: Principal = Depends(allow(Action.casebook_read))) -> ProposalOut:
    return _out(queries.get_proposal(session=session, actor=actor, proposal_id=case_id))


@router.put("/proposals/{case_id}", response_model=ProposalOut)
def update_proposal(case_id: CaseId, data: ProposalIn, session: Session = Depends(get_session),
                    actor: Principal = Depends(allow(Action.casebook_manage))) -> ProposalOut:
    p = service.update_proposal(session=session, actor=actor, proposal_id=case_id,
                                data=data)
    session.commit()
    return _out(p)


@router.post("/proposals/{case_id}/status", response_model=ProposalOut)
def set_status(case_id: CaseId, data: StatusIn, session: Session = Depends(get_session),
               actor: Principal = Depends(allow(Action.casebook_manage))) -> ProposalOut:
    p = service.set_status(session=session, actor=actor, proposal_id=case_id,
                           status=data.status)
    session.commit()
    return _out(p)


@router.post("/proposals/{case_id}/scenarios", response_model=ProposalOut, status_code=201,
             summary="A copy of the proposal with changed terms, shown beside it")
def add_scenario(case_id: CaseId, data: ScenarioIn, session: Session = Depends(get_session),
                 actor: Principal = Depends(allow(Action.casebook_manage))) -> ProposalOut:
    p = service.add_scenario(session=session, actor=actor, proposal_id=case_id,
                             name=data.name, changes=data.changes)
    session.commit()
    return _out(p)


@router.get("/proposals/{case_id}/results", response_model=ResultOut,
            summary="Savings by year, NPV, IRR and payback of the members you see "
                    "(the whole proposal for regional roles)")
def results(case_id: CaseId, session: Session = Depends(get_session),
            actor: Principal = Depends(allow(Action.casebook_read))) -> ResultOut:
    p, rows, r, shown = _result(session, actor, case_id)
    if shown == {m.key for m in r.members}:
        o = r.total
    else:  # a member's staff: their own member's stream
        o = next(m.outcome for m in r.members if m.key in shown)
    return ResultOut(
        proposal_id=p.id, discount_rate=p.discount_rate, discount_source=p.discount_source,
        annual_savings_cents=o.annual_savings_cents, npv_cents=o.npv_cents, irr=o.irr,
        payback_year=o.payback_year, total_savings_cents=o.total_savings_cents,
        total_one_time_cents=o.total_one_time_cents, years=[asdict(y) for y in o.years],
        worse_off=[m.key for m in r.worse_off if m.key in shown],
        members_shown=len(shown), members_total=len(rows))


@router.get("/proposals/{case_id}/members", response_model=Page[MemberOut],
            summary="Each member's savings, charge, NPV and worse-off flag")
def member_results(case_id: CaseId, page: PageParams = Depends(page_params(100, 200)),
                   session: Session = Depends(get_session),
                   actor: Principal = Depends(allow(Action.casebook_read))) -> Page[MemberOut]:
    _p, _rows, r, shown = _result(session, actor, case_id)
    out = [_member_out(m) for m in r.members if m.key in shown]
    return page.page(out[page.offset:page.offset + page.limit], len(out))


@router.get("/proposals/{case_id}/members/{jurisdiction_id}", response_model=MemberOut)
def member_result(case_id: CaseId,
                  jurisdiction_id: MemberId,
                  session: Session = Depends(get_session),
                  actor: Principal = Depends(allow(Action.casebook_read))) -> MemberOut:
    _p, _rows, r, shown = _result(session, actor, case_id)
    m = next((m for m in r.members if m.key == jurisdiction_id and m.key in shown), None)
    if m is None:
        raise NotFound("Member not found in this proposal")
    return _member_out(m)


def _member_out(m: calc.MemberResult) -> MemberOut:
    return MemberOut(jurisdiction_id=m.key, name=m.name, share=float(m.share),
                     baseline_cents=m.baseline_cents, direct_cents=m.direct_cents,
                     charge_cents=m.charge_cents, one_time_cents=sum(m.one_time_cents),
                     annual_savings_cents=m.annual_savings_cents,
                     npv_cents=m.outcome.npv_cents, irr=m.outcome.irr,
                     payback_year=m.outcome.payback_year, worse_off=m.worse_off)


@router.get("/proposals/{case_id}/allocation", response_model=Page[AllocationOut],
            summary="The shared model's annual cost and one-time costs allocated among the "
                    "members (sums exactly to the totals)")
def allocation(case_id: CaseId, page: PageParams = Depends(page_params(100, 200)),
               session: Session = Depends(get_session),
               actor: Principal = Depends(allow(Action.casebook_read))
               ) -> Page[AllocationOut]:
    _p, _rows, r, shown = _result(session, actor, case_id)
    out = [AllocationOut(jurisdiction_id=m.key, name=m.name, share=float(m.share),
                         charge_cents=m.charge_cents, one_time_cents=sum(m.one_time_cents))
           for m in r.members if m.key in shown]
    return page.page(out[page.offset:page.offset + page.limit], len(out))


@router.get("/proposals/{case_id}/actuals", response_model=Page[ActualOut])
def list_actuals(case_id: CaseId, page: PageParams = Depends(page_params(100, 1000)),
                 session: Session = Depends(get_session),
                 actor: Principal = Depends(allow(Action.casebook_read))) -> Page[ActualOut]:
    p = queries.get_proposal(session=session, actor=actor, proposal_id=case_id)
    rows = queries.members(session=session, proposal_id=p.id)
    shown = queries.shown_member_ids(actor, rows)
    items, total = queries.actuals_page(session=session, proposal_id=p.id,
                                        jurisdiction_ids=shown, page=page)
    return page.page([ActualOut.model_validate(a) for a in items], total)


@router.post("/proposals/{case_id}/actuals", status_code=201,
             summary="Record (or correct) a member's actual cost for a year")
def record_actual(case_id: CaseId, data: ActualIn, session: Session = Depends(get_session),
                  actor: Principal = Depends(allow(Action.casebook_actuals))
                  ) -> dict[str, str]:
    outcome = service.record_actual(session=session, actor=actor, proposal_id=case_id,
                                    data=data, source="API")
    session.commit()
    return {"outcome": outcome}


@router.post("/proposals/{case_id}/actuals/import", response_model=ImportOut,
             summary="Actual costs from a CSV or XLSX file: all rows or none")
@body_limit("upload", max_bytes=MAX_UPLOAD + 64 * 1024)
def import_actuals(case_id: CaseId, file: UploadFile = File(...),
                   dry_run: bool = Query(False), session: Session = Depends(get_session),
                   actor: Principal = Depends(allow(Action.casebook_actuals))) -> ImportOut:
    data = file.file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise BadRequest(f"The file is larger than {MAX_UPLOAD // (1024 * 1024)} MB")
    res = service.import_actuals(session=session, actor=actor, proposal_id=case_id,
                                 stream=io.BytesIO(data), file_name=file.filename or "upload",
                                 dry_run=dry_run)
    session.commit()
    return ImportOut(rows=res.rows, added=res.added, updated=res.updated,
                     unchanged=res.unchanged, dry_run=res.dry_run, summary=res.summary())
