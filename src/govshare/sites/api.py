"""JSON API of sites under /api/v1: county reference data, center scenarios, their ranking
(every list a ``core.paging.Page``), and the candidate-data upload."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel
from sqlalchemy.orm import Session

from govshare.core.errors import BadRequest
from govshare.core.http import (
    allow,
    body_limit,
    get_session,
    row_id,
)
from govshare.core.paging import Page, PageParams, page_params
from govshare.core.tenancy import Action, Principal
from govshare.regions import queries as regions_queries
from govshare.sites import calc, queries, service
from govshare.sites.schemas import FIPS, STATE, ScenarioIn, ScenarioRead

ScenarioId = Annotated[int, row_id("scenario")]  # 422 naming it unless 1..MAX_ID
router = APIRouter(prefix="/api/v1", tags=["sites"])


class CountyOut(BaseModel):
    fips: str
    state: str
    name: str
    distress_score: float | None
    proxies: dict[str, str]
    values: dict[str, float | None]


class CandidateOut(BaseModel):
    """One candidate. ``savings_usd`` is budget (cash a year); jobs, payroll injected and
    distress are development benefit (social): the two are never added."""

    rank: int
    fips: str
    name: str
    state: str
    score: float
    wage_index: float
    weekly_wage_2022: float
    wage_origin: str | None
    rent_usd_ft2: float
    rent_origin: str | None
    payroll_usd: int
    rent_usd: int
    other_usd: int
    operating_usd: int
    savings_usd: int
    one_time_usd: int
    payback_years: float | None
    jobs_direct: int
    jobs_total_low: int
    jobs_total_high: int
    jobs_share_unemployed_pct: float | None
    labor_force_2018: float
    unemployed_2018: float
    distress_score: float | None
    km_to_hq: float
    on_frontier: bool
    p_top3: float
    p_first: float
    rank_p05: float | None  # None: not computed (more than 5 million draws x candidates)
    rank_p95: float | None
    is_baseline: bool


class ExcludedOut(BaseModel):
    fips: str
    name: str
    reason: str


class ColumnOut(BaseModel):
    """What one field of the ranking is: its side (``budget`` cash and ``social``
    development benefit are never added; ``id``, ``data``, ``score``, ``robustness``), unit,
    formula with the scenario's numbers, and source with vintage."""

    column: str
    label: str
    side: str
    side_means: str
    unit: str
    formula: str
    source: str


class SourceOut(BaseModel):
    field: str
    label: str
    unit: str
    source: str
    vintage: str


def _county(row: dict[str, Any]) -> CountyOut:
    return CountyOut(fips=row["fips"], state=row["state"], name=row["name"],
                     distress_score=row["distress_score"], proxies=row["proxies"],
                     values={k: row[k] for k in calc.FIELDS})


def _region_id(session: Session) -> int:
    return regions_queries.require_current_region(session=session).id


@router.get("/sites/counties", response_model=Page[CountyOut],
            summary="Every US county's reference data with its distress score")
def list_counties(state: str | None = Query(None, pattern=STATE),
                  page: PageParams = Depends(page_params(100, 1000)),
                  _: Principal = Depends(allow(Action.sites_read))) -> Page[CountyOut]:
    rows, total = queries.list_counties(state, page)
    return page.page([_county(r) for r in rows], total)


@router.get("/sites/counties/{fips}", response_model=CountyOut)
def get_county(fips: str = PathParam(pattern=FIPS, description="5-digit county code"),
               _: Principal = Depends(allow(Action.sites_read))) -> CountyOut:
    return _county(queries.county_row(fips))


@router.get("/sites/sources", response_model=Page[SourceOut],
            summary="Source and vintage of every county figure")
def list_sources(page: PageParams = Depends(page_params(100, 1000)),
                 _: Principal = Depends(allow(Action.sites_read))) -> Page[SourceOut]:
    items = [SourceOut(field=k, label=f.label, unit=f.unit, source=f.source, vintage=f.vintage)
             for k, f in calc.FIELDS.items()]
    return page.page(items[page.offset:page.offset + page.limit], len(items))


@router.get("/sites/scenarios", response_model=Page[ScenarioRead])
def list_scenarios(page: PageParams = Depends(page_params(100, 1000)),
                   session: Session = Depends(get_session),
                   _: Principal = Depends(allow(Action.sites_read))) -> Page[ScenarioRead]:
    rows, total = queries.list_scenarios(session=session, region_id=_region_id(session),
                                         page=page)
    return page.page([queries.scenario_read(r) for r in rows], total)


@router.post("/sites/scenarios", response_model=ScenarioRead, status_code=201)
def create_scenario(data: ScenarioIn, session: Session = Depends(get_session),
                    actor: Principal = Depends(allow(Action.sites_manage))) -> ScenarioRead:
    row = service.create_scenario(session=session, actor=actor,
                                  region_id=_region_id(session), data=data)
    session.commit()
    return queries.scenario_read(row)


@router.get("/sites/scenarios/{scenario_id}", response_model=ScenarioRead)
def get_scenario(scenario_id: ScenarioId, session: Session = Depends(get_session),
                 _: Principal = Depends(allow(Action.sites_read))) -> ScenarioRead:
    return queries.scenario_read(queries.get_scenario(
        session=session, region_id=_region_id(session), scenario_id=scenario_id))


@router.put("/sites/scenarios/{scenario_id}", response_model=ScenarioRead)
def update_scenario(scenario_id: ScenarioId, data: ScenarioIn,
                    session: Session = Depends(get_session),
                    actor: Principal = Depends(allow(Action.sites_manage))) -> ScenarioRead:
    row = service.update_scenario(session=session, actor=actor, region_id=_region_id(session),
                                  scenario_id=scenario_id, data=data)
    session.commit()
    return queries.scenario_read(row)


@router.get("/sites/scenarios/{scenario_id}/ranking", response_model=Page[CandidateOut],
            summary="Candidates best first, with cost (budget) and development benefit "
                    "(social) apart, frontier membership and the Monte Carlo robustness")
def ranking(scenario_id: ScenarioId, page: PageParams = Depends(page_params(100, 5000)),
            session: Session = Depends(get_session),
            _: Principal = Depends(allow(Action.sites_read))) -> Page[CandidateOut]:
    row = queries.get_scenario(session=session, region_id=_region_id(session),
                               scenario_id=scenario_id)
    rows = queries.candidate_rows(queries.evaluate_row(row))
    return page.page([CandidateOut(**r) for r in rows[page.offset:page.offset + page.limit]],
                     len(rows))


@router.get("/sites/scenarios/{scenario_id}/columns", response_model=Page[ColumnOut],
            summary="What each field of the ranking is: side (budget or social, never added), "
                    "unit, formula and source with vintage")
def columns(scenario_id: ScenarioId, page: PageParams = Depends(page_params(100, 1000)),
            session: Session = Depends(get_session),
            _: Principal = Depends(allow(Action.sites_read))) -> Page[ColumnOut]:
    row = queries.get_scenario(session=session, region_id=_region_id(session),
                               scenario_id=scenario_id)
    cols = [ColumnOut(column=c.name, label=c.label, side=c.side,
                      side_means=queries.SIDES[c.side], unit=c.unit, formula=c.formula,
                      source=c.source)
            for c in queries.export_columns(queries.evaluate_row(row))]
    return page.page(cols[page.offset:page.offset + page.limit], len(cols))


@router.get("/sites/scenarios/{scenario_id}/excluded", response_model=Page[ExcludedOut],
            summary="Candidates the constraints left out, with the reason")
def excluded(scenario_id: ScenarioId, page: PageParams = Depends(page_params(100, 5000)),
             session: Session = Depends(get_session),
             _: Principal = Depends(allow(Action.sites_read))) -> Page[ExcludedOut]:
    row = queries.get_scenario(session=session, region_id=_region_id(session),
                               scenario_id=scenario_id)
    ex = sorted(queries.evaluate_row(row).result.excluded)
    return page.page([ExcludedOut(fips=f, name=n, reason=r)
                      for f, n, r in ex[page.offset:page.offset + page.limit]], len(ex))


@router.post("/sites/scenarios/{scenario_id}/candidates", response_model=ScenarioRead,
             summary="Upload candidate data (CSV or XLSX: a fips column and any county "
                     "figure); replaces the scenario's uploaded data all or nothing")
@body_limit("upload", max_bytes=service.MAX_UPLOAD_BYTES)
async def upload_candidates(scenario_id: ScenarioId, request: Request, file: UploadFile,
                            session: Session = Depends(get_session),
                            actor: Principal = Depends(allow(Action.sites_manage))
                            ) -> ScenarioRead:
    name = Path(file.filename or "upload.csv").name[:200]
    try:
        row = await run_in_threadpool(
            service.upload_candidates, session=session, actor=actor,
            region_id=_region_id(session), scenario_id=scenario_id, stream=file.file,
            name=name)
    except Exception as exc:
        report = getattr(exc, "report", None)
        if report is not None:
            report.close()
        raise
    session.commit()
    return queries.scenario_read(row)


class ChoiceIn(BaseModel):
    fips: str | None = None


@router.put("/sites/scenarios/{scenario_id}/choice", response_model=ScenarioRead,
            summary="Record the chosen site (it feeds the value case); null clears it")
def choose(scenario_id: ScenarioId, data: ChoiceIn, session: Session = Depends(get_session),
           actor: Principal = Depends(allow(Action.sites_manage))) -> ScenarioRead:
    if data.fips is not None and (len(data.fips) != 5 or not data.fips.isdigit()):
        raise BadRequest("A county code is 5 digits (FIPS)")
    row = service.choose_site(session=session, actor=actor, region_id=_region_id(session),
                              scenario_id=scenario_id, fips=data.fips)
    session.commit()
    return queries.scenario_read(row)



