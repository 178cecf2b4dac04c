"""Writes of the casebook (keyword-only; flush, never commit; every write audited) and the
proposal sources: other domains' plans that become a proposal in one click.

Sources (``SOURCES``): each names the domain that makes the plan, whether it is on this
installation, and how its figures become a proposal:

- ``consolidation`` (property, available): a consolidation plan from the registry. Members
  are the members with candidate buildings; a member's baseline is the true cost (without
  vacancy) of its candidate buildings ("space"); its direct cost is its people's added
  travel; the shared model's cost is the kept buildings' true cost, allocated on usage =
  each member's occupants housed (so a host is paid by its guests for shared space). The
  total annual savings equal the plan's; tonnes CO2e avoided are the plan's.
- ``sited_center`` (sites, available): a scenario's chosen center (see
  :func:`from_sited_center`).
- ``fleet_pool`` (fleet, available): the region's pooling plan (see :func:`from_fleet_pool`).
  Members are the members with vehicles in the plan; a member's baseline is its pooled
  vehicles' annual cost (ownership spread over the fleet's ownership years plus recorded
  fixed maintenance, "other"); the shared model's cost is the kept vehicles' annual cost,
  allocated on usage = each member's miles (so a member whose trips the pool absorbs pays
  for them). The total annual savings equal the plan's.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from functools import lru_cache
from importlib import resources
from typing import Any, BinaryIO
from urllib.parse import urlencode

from pydantic import ValidationError
from sqlalchemy import delete
from sqlalchemy.orm import Session

from govshare.casebook import calc, queries
from govshare.casebook.models import (
    CaseActual,
    CaseMember,
    CaseProposal,
    CaseStatus,
    ServiceKind,
    SourceKind,
)
from govshare.casebook.schemas import (
    ActualIn,
    ActualRow,
    FromConsolidationIn,
    MemberIn,
    ProposalIn,
    cents,
)
from govshare.core import audit, tabular
from govshare.core.db import utcnow
from govshare.core.errors import BadRequest, NotFound, ValidationFailed
from govshare.core.states import StateMachine
from govshare.core.tenancy import Action, Principal, allows, authorize
from govshare.fleet import planning as fleet_planning
from govshare.property import planning as property_planning
from govshare.regions import queries as regions_queries
from govshare.sites import queries as sites_queries

MAX_ACTUAL_ROWS = 10_000


# ----------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class Source:
    kind: SourceKind
    domain: str
    label: str
    available: bool
    carries: str


SOURCES: dict[str, Source] = {
    "consolidation": Source(
        SourceKind.consolidation, "property", "A consolidation plan from the property registry",
        True, "members' building costs, added travel, kept buildings' cost shared on "
              "occupants housed, tonnes CO2e avoided, a link back to the plan"),
    "sited_center": Source(
        SourceKind.sited_center, "sites", "A shared-service center sited by the sites domain",
        True,
        "the center's annual cost and one-time set-up, jobs and payroll in the chosen "
        "county (economic development), a link back to the scenario"),
    "fleet_pool": Source(
        SourceKind.fleet_pool, "fleet", "A fleet pooling plan", True,
        "each member's pooled vehicles and their annual cost, the kept vehicles' cost shared "
        "on miles driven, the vehicles that can be shared or removed, a link back to the "
        "plan"),
}


# ----------------------------------------------------------------------------- helpers



APPENDIX_C_FILE = "a94_appendix_c.csv"


@lru_cache(maxsize=1)
def appendix_c() -> tuple[calc.AppendixC, ...]:
    """The A-94 Appendix C editions shipped as package data (casebook/data/SOURCES.md)."""
    text = (resources.files("govshare.casebook") / "data" / APPENDIX_C_FILE).read_text(
        encoding="utf-8")
    return tuple(calc.appendix_c(list(csv.DictReader(io.StringIO(text)))))


def default_rate(horizon_years: int, today: date | None = None) -> calc.RateChoice:
    """The default real discount rate for a horizon: the Appendix C edition in force today,
    else A-94 §8.b's 7% (and the choice says why)."""
    return calc.default_rate(appendix_c(), horizon_years, today or date.today())


# A proposal is drafted, then adopted or withdrawn; either may go back to draft to be revised.
CASES = StateMachine.of(
    "proposal", {CaseStatus.draft: "Draft", CaseStatus.adopted: "Adopted",
                 CaseStatus.withdrawn: "Withdrawn"},
    {CaseStatus.draft: {CaseStatus.adopted, CaseStatus.withdrawn},
     CaseStatus.adopted: {CaseStatus.draft, CaseStatus.withdrawn},
     CaseStatus.withdrawn: {CaseStatus.draft}})

def _errors(exc: ValidationError, prefix: Sequence[Any] = ()) -> list[dict[str, Any]]:
    return [{"loc": [*prefix, *e["loc"]], "reason": e["msg"]} for e in exc.errors()]


def _calc_failed(exc: calc.CalcError) -> ValidationFailed:
    return ValidationFailed(f"{exc.field}: {exc.reason}",
                            errors=[{"loc": [exc.field], "reason": exc.reason}])


def _check_members(session: Session, region_id: int, data: ProposalIn) -> dict[int, Any]:
    """Members must be jurisdictions of the region; named by position when not."""
    region_members = {j.id: j for j in regions_queries.list_jurisdictions(session=session,
                                                                           region_id=region_id)}
    bad = [{"loc": ["members", i, "jurisdiction_id"],
            "reason": f"jurisdiction {m.jurisdiction_id} is not a member of this region"}
           for i, m in enumerate(data.members) if m.jurisdiction_id not in region_members]
    if bad:
        raise ValidationFailed(str(bad[0]["reason"]), errors=bad)
    return region_members


def _member_row(m: MemberIn, population_default: int | None) -> CaseMember:
    return CaseMember(
        jurisdiction_id=m.jurisdiction_id, ftes=m.ftes, staff_cents=cents(m.staff) or 0,
        contracts_cents=cents(m.contracts) or 0, systems_cents=cents(m.systems) or 0,
        space_cents=cents(m.space) or 0, other_cents=cents(m.other) or 0,
        direct_cents=cents(m.direct) or 0, own_one_time_cents=cents(m.own_one_time) or 0,
        population=m.population if m.population is not None else population_default,
        headcount=m.headcount, usage=m.usage, assessed_value_cents=cents(m.assessed_value),
        note=m.note)


def _fill(p: CaseProposal, data: ProposalIn) -> None:
    p.name = data.name
    p.service = data.service.value
    p.description = data.description
    p.start_year = data.start_year
    p.horizon_years = data.horizon_years
    default = default_rate(data.horizon_years)
    if data.discount_rate is None:
        p.discount_rate = default.rate
        p.discount_source = default.source
    else:
        p.discount_rate = data.discount_rate
        p.discount_source = data.discount_source or (
            default.source if data.discount_rate == default.rate
            else "entered by staff (no source given)")
    p.ramp_pct = list(data.ramp_pct)
    p.one_time_cents = [cents(x) or 0 for x in data.one_time]
    p.shared_annual_cents = cents(data.shared_annual) or 0
    p.basis = data.basis.value
    p.blend = {b.value: v for b, v in data.blend.items() if v}
    p.tco2e_per_year = data.tco2e_per_year
    p.tco2e_source = data.tco2e_source


def _check_computes(session: Session, p: CaseProposal) -> None:
    """The figures must compute (e.g. usage given for every member when shared on usage)."""
    session.flush()
    try:
        queries.evaluate(p, queries.members(session=session, proposal_id=p.id))
    except calc.CalcError as exc:
        raise _calc_failed(exc) from None


def snapshot(p: CaseProposal) -> dict[str, Any]:
    return {"name": p.name, "service": p.service, "status": p.status,
            "start_year": p.start_year, "horizon_years": p.horizon_years,
            "discount_rate": p.discount_rate, "ramp_pct": p.ramp_pct,
            "one_time_cents": p.one_time_cents, "shared_annual_cents": p.shared_annual_cents,
            "basis": p.basis, "blend": p.blend, "source_kind": p.source_kind}


# ----------------------------------------------------------------------------- proposals


def create_proposal(*, session: Session, actor: Principal, region_id: int, data: ProposalIn,
                    source_kind: SourceKind = SourceKind.entered,
                    source_params: dict[str, Any] | None = None,
                    source_link: str | None = None, source_note: str | None = None,
                    parent_id: int | None = None, synthetic: bool = False) -> CaseProposal:
    authorize(actor, Action.casebook_manage, region_id=region_id)
    known = _check_members(session, region_id, data)
    p = CaseProposal(region_id=region_id, parent_id=parent_id, source_kind=source_kind.value,
                     source_params=source_params or {}, source_link=source_link,
                     source_note=source_note, synthetic=synthetic, created_by=actor.ref,
                     status=CaseStatus.draft.value)
    _fill(p, data)
    session.add(p)
    session.flush()
    for m in data.members:
        row = _member_row(m, known[m.jurisdiction_id].population)
        row.proposal_id = p.id
        session.add(row)
    _check_computes(session, p)
    audit.record(session, actor, action="casebook.proposal.create", entity="casebook_proposal",
                 entity_id=p.id, after=snapshot(p))
    return p


def update_proposal(*, session: Session, actor: Principal, proposal_id: int,
                    data: ProposalIn) -> CaseProposal:
    authorize(actor, Action.casebook_manage)
    p = queries.get_proposal(session=session, actor=actor, proposal_id=proposal_id)
    before = snapshot(p)
    known = _check_members(session, p.region_id, data)
    _fill(p, data)
    session.execute(delete(CaseMember).where(CaseMember.proposal_id == p.id))
    for m in data.members:
        row = _member_row(m, known[m.jurisdiction_id].population)
        row.proposal_id = p.id
        session.add(row)
    _check_computes(session, p)
    audit.record(session, actor, action="casebook.proposal.update", entity="casebook_proposal",
                 entity_id=p.id, before=before, after=snapshot(p))
    return p


def proposal_in(session: Session, p: CaseProposal) -> ProposalIn:
    """A stored proposal as the input that would make it (the editor's values)."""
    rows = queries.members(session=session, proposal_id=p.id)
    return ProposalIn(
        name=p.name, service=ServiceKind(p.service), description=p.description,
        start_year=p.start_year, horizon_years=p.horizon_years, discount_rate=p.discount_rate,
        discount_source=p.discount_source, ramp_pct=list(p.ramp_pct or []),
        one_time=[c / 100 for c in p.one_time_cents or []],
        shared_annual=p.shared_annual_cents / 100, basis=calc.Basis(p.basis),
        blend={calc.Basis(k): v for k, v in (p.blend or {}).items()},
        tco2e_per_year=p.tco2e_per_year, tco2e_source=p.tco2e_source,
        members=[MemberIn(
            jurisdiction_id=r.member.jurisdiction_id, ftes=r.member.ftes,
            staff=r.member.staff_cents / 100, contracts=r.member.contracts_cents / 100,
            systems=r.member.systems_cents / 100, space=r.member.space_cents / 100,
            other=r.member.other_cents / 100, direct=r.member.direct_cents / 100,
            own_one_time=r.member.own_one_time_cents / 100,
            population=r.member.population, headcount=r.member.headcount,
            usage=r.member.usage,
            assessed_value=(None if r.member.assessed_value_cents is None
                            else r.member.assessed_value_cents / 100),
            note=r.member.note) for r in rows])


def add_scenario(*, session: Session, actor: Principal, proposal_id: int, name: str,
                 changes: dict[str, Any] | None = None) -> CaseProposal:
    """A copy of the proposal (of its original, if it is a scenario) with ``changes`` to its
    terms, shown beside it."""
    authorize(actor, Action.casebook_manage)
    p = queries.get_proposal(session=session, actor=actor, proposal_id=proposal_id)
    values = proposal_in(session, p).model_dump()
    values.update(changes or {})
    values["name"] = name
    try:
        data = ProposalIn.model_validate(values)
    except ValidationError as exc:
        raise ValidationFailed("The scenario's terms are not valid",
                               errors=_errors(exc)) from None
    return create_proposal(session=session, actor=actor, region_id=p.region_id, data=data,
                           source_kind=SourceKind(p.source_kind),
                           source_params=dict(p.source_params or {}),
                           source_link=p.source_link, source_note=p.source_note,
                           parent_id=p.parent_id or p.id, synthetic=p.synthetic)


def set_status(*, session: Session, actor: Principal, proposal_id: int,
               status: CaseStatus) -> CaseProposal:
    authorize(actor, Action.casebook_manage)
    p = queries.get_proposal(session=session, actor=actor, proposal_id=proposal_id)
    before = CASES.move(p, status)
    p.adopted_at = utcnow() if status == CaseStatus.adopted else p.adopted_at
    audit.record(session, actor, action="casebook.proposal.status", entity="casebook_proposal",
                 entity_id=p.id, before={"status": before}, after={"status": p.status})
    session.flush()
    return p


def consolidation_link(data: FromConsolidationIn) -> str:
    q: list[tuple[str, Any]] = [("use", data.use), ("max_km", f"{data.max_km:g}"),
                                ("max_sites", data.max_sites or ""),
                                ("travel", f"{data.travel:g}"),
                                ("move_cost", f"{data.move_cost:g}"),
                                ("fitout_cost", f"{data.fitout_cost:g}"),
                                ("charge_pct", f"{data.charge_pct:g}")]
    if data.keep_together:
        q.append(("keep_together", "yes"))  # as the plan page's checkbox sends it
    q.append(("minutes", data.minutes))  # the same time for the solver
    q += [("keep", i) for i in data.keep] + [("close", i) for i in data.close]
    return "/property/consolidation?" + urlencode(q)


def from_consolidation(*, session: Session, actor: Principal, region_id: int,
                       data: FromConsolidationIn, name: str | None = None,
                       synthetic: bool = False, job: str = "",
                       inline_limit: float | None = None) -> CaseProposal:
    """The consolidation plan for these inputs made a proposal: the plan its page showed
    when this process keeps its solve (``job``: that page's; `property.planning.kept`),
    else solved again, for at most data.minutes, refused above ``inline_limit`` seconds
    (`PlanNotKept`: a request's limit).

    The proposal carries the plan's figures so that each member's annual savings equal its
    "net after charges" on the plan page, to the cent: its baseline is the annual cost of
    all its candidate buildings, its direct cost its people's added travel, and the kept
    buildings' cost is shared in proportion to each member's occupancy cost under the plan
    (its own kept buildings + occupancy charges paid to hosts - charges received as a host;
    these add up to the kept buildings' cost because charges only move money between
    members). Each member's moving and fit-out costs are its own, in the first year; other
    one-time costs (``data.one_time``) are shared on the same basis. When the charge is
    above 100% a host can receive more than its building costs: the occupancy cost is then
    negative, which no allocation base can hold, and the kept buildings' cost is shared on
    occupants housed instead (the description says so)."""
    authorize(actor, Action.casebook_manage, region_id=region_id)
    pins = {**{i: True for i in data.keep}, **{i: False for i in data.close}}
    plan = property_planning.plan(session=session, actor=actor, region_id=region_id,
                                  use=data.use, max_km=data.max_km, max_sites=data.max_sites,
                                  travel_cents_per_person_km=round(data.travel * 100),
                                  pins=pins, move_cents_per_person=round(data.move_cost * 100),
                                  fitout_cents_per_person=round(data.fitout_cost * 100),
                                  charge_pct=data.charge_pct,
                                  keep_together=data.keep_together,
                                  time_limit=60.0 * data.minutes, job=job,
                                  inline_limit=inline_limit)
    if not plan.has_plan:
        raise BadRequest(f"The consolidation plan has no solution ({plan.why_not_proven}); "
                         "nothing to propose")
    ids = {j.name: j.id for j in regions_queries.list_jurisdictions(session=session,
                                                                     region_id=region_id)}
    by_member: dict[str, dict[str, float]] = {}
    for s in plan.sites:
        m = by_member.setdefault(s.jurisdiction, {"space": 0, "kept": 0, "occupants": 0})
        m["space"] += s.fixed_cents
        m["kept"] += s.fixed_cents if s.keep else 0
        m["occupants"] += s.occupancy
    savings = {m.jurisdiction: m for m in plan.members}
    occupancy = {j: round(v["kept"]) + savings[j].charges_paid_cents
                 - savings[j].charges_received_cents for j, v in by_member.items()}
    on_charges = all(c >= 0 for c in occupancy.values())
    kept = sum(s.fixed_cents for s in plan.sites if s.keep)
    use = data.use.replace("_", " ")
    status = "proven optimal" if plan.proven else f"best found, not proven ({plan.why_not_proven})"
    charge = f"occupancy charge {data.charge_pct:g}% of the host's cost per place"

    def member(jname: str, v: dict[str, float]) -> MemberIn:
        sv = savings[jname]
        basis_note = (f"occupancy cost {calc.dollars(occupancy[jname])} a year (own kept "
                      f"buildings {calc.dollars(round(v['kept']))} + charges paid "
                      f"{calc.dollars(sv.charges_paid_cents)} - received "
                      f"{calc.dollars(sv.charges_received_cents)})" if on_charges
                      else f"{int(v['occupants'])} occupants housed")
        return MemberIn(
            jurisdiction_id=ids[jname], space=v["space"] / 100,
            direct=sv.travel_added_cents / 100, own_one_time=sv.one_time_cents / 100,
            usage=occupancy[jname] / 100 if on_charges else v["occupants"],
            note=(f"Usage = {basis_note}; own one-time cost = {sv.people_moved:,.0f} people "
                  f"moved x ({calc.dollars(plan.move_cents_per_person)} moving + "
                  f"{calc.dollars(plan.fitout_cents_per_person)} fit-out)")[:500])

    members = [member(jname, v) for jname, v in sorted(by_member.items())]
    shared_on = (f"the kept buildings' cost shared as the plan's {charge} does (each member's "
                 "usage is its occupancy cost in dollars)" if on_charges else
                 f"the kept buildings' cost shared on occupants housed (the plan's {charge} "
                 "lets a host receive more than its building costs, which no allocation base "
                 "can hold)")
    proposal = ProposalIn(
        name=name or f"Consolidate {use} buildings",
        service=ServiceKind.consolidation,
        description=(f"From the registry's consolidation plan for {use} buildings ({status}): "
                     f"keep {sum(s.keep for s in plan.sites)} of {len(plan.sites)}, farthest "
                     f"move {data.max_km:g} km; {plan.model_label.lower()}; {shared_on}; "
                     f"moving and fit-out costs {calc.dollars(plan.one_time_cents)} in all, "
                     "each member's its own."),
        start_year=data.start_year, horizon_years=data.horizon_years,
        one_time=[data.one_time] if data.one_time else [],
        shared_annual=kept / 100, basis=calc.Basis.usage,
        tco2e_per_year=round(plan.tco2e_avoided, 3),
        tco2e_source="the consolidation plan: the closed buildings' emissions in their true "
                     "cost (carbon's default factors: EPA Hub 2025, eGRID2023)",
        members=members)
    link = consolidation_link(data)
    return create_proposal(
        session=session, actor=actor, region_id=region_id, data=proposal,
        source_kind=SourceKind.consolidation, source_params=data.model_dump(),
        source_link=link, synthetic=synthetic,
        source_note=(f"Plan of {utcnow():%Y-%m-%d}: baseline {calc.dollars(plan.baseline_cents)}"
                     f" a year, with the plan {calc.dollars(plan.plan_cents)} (kept buildings "
                     f"{calc.dollars(kept)} + added travel "
                     f"{calc.dollars(plan.plan_cents - kept)}); savings "
                     f"{calc.dollars(plan.savings_cents)} a year; one-time moving and fit-out "
                     f"{calc.dollars(plan.one_time_cents)}; {charge}; {status}."))


def from_sited_center(*, session: Session, actor: Principal, region_id: int, scenario_id: int,
                      start_year: int, horizon_years: int = 10,
                      name: str | None = None) -> CaseProposal:
    """A sites scenario's chosen center as a proposal: the center at the baseline site is
    what the members pay going alone, the chosen county's operating cost is the shared
    model's; both are shared among the region's members on population (their recorded
    figures), so each member's saving is its population share of the scenario's. The
    one-time cost is the scenario's; jobs and payroll stay on the value page (social)."""
    authorize(actor, Action.casebook_manage, region_id=region_id)
    row = sites_queries.get_scenario(session=session, region_id=region_id,
                                     scenario_id=scenario_id)
    if row.chosen_fips is None:
        raise BadRequest("Choose a county on the sites scenario first: there is no center "
                         "to propose")
    rows = sites_queries.candidate_rows(sites_queries.evaluate_row(row))
    chosen = next((r for r in rows if r["fips"] == row.chosen_fips), None)
    base = next((r for r in rows if r["is_baseline"]), None)
    if chosen is None or base is None:
        raise BadRequest("The chosen county is no longer a candidate of this scenario")
    members = [j for j in regions_queries.list_jurisdictions(session=session,
                                                              region_id=region_id)
               if j.population]
    if not members:
        raise BadRequest("No member has a recorded population to share the center by")
    whole = sum(j.population or 0 for j in members)
    baseline_cents = round(base["operating_usd"] * 100)
    shares = calc.allocate(baseline_cents, {j.id: Fraction(j.population or 0, whole)
                                            for j in members})
    proposal = ProposalIn(
        name=name or f"Shared-service center in {chosen['name']}, {chosen['state']}",
        service=ServiceKind.sited_center,
        description=(f"From the sites scenario {row.name!r}: the center in {chosen['name']}, "
                     f"{chosen['state']} instead of the baseline {base['name']}, "
                     f"{base['state']}; {chosen['jobs_direct']} jobs there."),
        start_year=start_year, horizon_years=horizon_years,
        one_time=[float(chosen["one_time_usd"])] if chosen["one_time_usd"] else [],
        shared_annual=float(chosen["operating_usd"]), basis=calc.Basis.population,
        members=[MemberIn(jurisdiction_id=j.id, other=shares[j.id] / 100,
                          note="population share of the center at the baseline site")
                 for j in members])
    return create_proposal(
        session=session, actor=actor, region_id=region_id, data=proposal,
        source_kind=SourceKind.sited_center,
        source_params={"scenario_id": row.id, "fips": row.chosen_fips},
        source_link=f"/sites/scenarios/{row.id}", synthetic=bool(row.sample),
        source_note=(f"Operating cost a year: baseline site {calc.dollars(baseline_cents)}, "
                     f"chosen county {calc.dollars(round(chosen['operating_usd'] * 100))}; "
                     f"one-time {calc.dollars(round(chosen['one_time_usd'] * 100))}."))


FLEET_POOL_LINK = "/fleet/pooling"


def from_fleet_pool(*, session: Session, actor: Principal, region_id: int, start_year: int,
                    horizon_years: int = 10, one_time: float = 0.0,
                    name: str | None = None) -> CaseProposal:
    """Run the region's fleet pooling plan again and make it a proposal: each member's pooled
    vehicles at their annual cost are what it pays going alone; the vehicles the plan keeps
    are the shared pool, its cost shared on the miles each member's vehicles drive (usage).
    The total annual savings are the plan's, to the cent. Pooling moves trips onto kept
    vehicles rather than ending them, so no tonnes avoided are claimed (the miles are still
    driven); the fleet's emissions are on the value page from the carbon inventory."""
    authorize(actor, Action.casebook_manage, region_id=region_id)
    pool = fleet_planning.pooling(session=session, actor=actor, region_id=region_id)
    plan = pool.plan
    if not plan.removable:
        raise BadRequest("The fleet pooling plan finds no vehicle to share or remove; "
                         "nothing to propose")
    known = {j.id for j in regions_queries.list_jurisdictions(session=session,
                                                              region_id=region_id)}
    by_member: dict[int, dict[str, float]] = {}
    for cluster in plan.clusters:
        for v in cluster:
            m = by_member.setdefault(v.jurisdiction_id, {"cost": 0, "miles": 0.0,
                                                         "vehicles": 0})
            m["cost"] += v.ownership_cents + v.fixed_maintenance_cents
            m["miles"] += v.annual_miles or 0.0
            m["vehicles"] += 1
    removed_ids = {v.vehicle_id for g in plan.groups for v in g.removable}
    kept = sum(v.ownership_cents + v.fixed_maintenance_cents for c in plan.clusters for v in c
               if v.vehicle_id not in removed_ids)
    if not any(m["miles"] > 0 for m in by_member.values()):
        raise BadRequest("No pooled vehicle has miles recorded: nothing to share the pool's "
                         "cost by")
    removable = {j: x["removable"] for j, x in plan.by_member.items()}
    members = [MemberIn(jurisdiction_id=jid, other=v["cost"] / 100,
                        usage=round(v["miles"], 1),
                        note=(f"{int(v['vehicles'])} pooled vehicles, "
                              f"{removable.get(jid, 0)} of them can be shared or removed; "
                              f"usage = miles driven a year"))
               for jid, v in sorted(by_member.items()) if jid in known]
    p = pool.params
    proposal = ProposalIn(
        name=name or "Pool the members' fleets",
        service=ServiceKind.fleet_pool,
        description=(f"From the fleet pooling plan: {plan.removable} of "
                     f"{sum(int(v['vehicles']) for v in by_member.values())} vehicles can be "
                     f"shared or removed (peak in use at once plus a {p.pool_reserve_pct:g}% "
                     f"reserve kept, home sites within {p.pool_radius_km:g} km pooled), "
                     f"from {pool.trips:,} trips."),
        start_year=start_year, horizon_years=horizon_years,
        one_time=[one_time] if one_time else [],
        shared_annual=kept / 100, basis=calc.Basis.usage, members=members)
    return create_proposal(
        session=session, actor=actor, region_id=region_id, data=proposal,
        source_kind=SourceKind.fleet_pool,
        source_params={"pool_radius_km": p.pool_radius_km,
                       "pool_reserve_pct": p.pool_reserve_pct,
                       "ownership_years": p.ownership_years, "trips": pool.trips,
                       "removable": plan.removable, "savings_cents": plan.savings_cents},
        source_link=FLEET_POOL_LINK,
        source_note=(f"Plan of {utcnow():%Y-%m-%d}: the pooled vehicles cost "
                     f"{calc.dollars(kept + plan.savings_cents)} a year (ownership over "
                     f"{p.ownership_years:g} years + recorded fixed maintenance), the kept "
                     f"ones {calc.dollars(kept)}; savings {calc.dollars(plan.savings_cents)} "
                     f"a year from {plan.removable} vehicles shared or removed."))


# ----------------------------------------------------------------------------- actuals


def _member_ids(session: Session, proposal_id: int) -> dict[int, str]:
    return {r.member.jurisdiction_id: r.name
            for r in queries.members(session=session, proposal_id=proposal_id)}


def _upsert_actual(session: Session, actor: Principal, p: CaseProposal, jid: int, year: int,
                   actual_cents: int, billed_cents: int | None, usage: float | None,
                   source: str) -> str:
    row = session.query(CaseActual).filter_by(proposal_id=p.id, jurisdiction_id=jid,
                                              year=year).one_or_none()
    if row is None:
        session.add(CaseActual(proposal_id=p.id, jurisdiction_id=jid, year=year,
                               actual_cents=actual_cents, billed_cents=billed_cents,
                               usage=usage, source=source, updated_by=actor.ref))
        return "added"
    if (row.actual_cents, row.billed_cents, row.usage) == (actual_cents, billed_cents, usage):
        return "unchanged"
    row.actual_cents, row.billed_cents, row.usage = actual_cents, billed_cents, usage
    row.source, row.updated_by = source, actor.ref
    return "updated"


def record_actual(*, session: Session, actor: Principal, proposal_id: int, data: ActualIn,
                  source: str = "form") -> str:
    """Record (or correct) what a member's service cost it in a year. Staff of a member record
    their own member's only; another member's id is refused (404)."""
    p = queries.get_proposal(session=session, actor=actor, proposal_id=proposal_id)
    members = _member_ids(session, p.id)
    authorize(actor, Action.casebook_actuals, data.jurisdiction_id)
    if data.jurisdiction_id not in members:
        raise NotFound("That member is not in this proposal")
    last = p.start_year + p.horizon_years - 1
    if not p.start_year <= data.year <= last:
        raise ValidationFailed(f"year: {data.year} is outside the proposal's horizon "
                               f"({p.start_year}-{last})",
                               errors=[{"loc": ["year"], "reason": f"must be between "
                                        f"{p.start_year} and {last}"}])
    outcome = _upsert_actual(session, actor, p, data.jurisdiction_id, data.year,
                             cents(data.actual) or 0, cents(data.billed), data.usage, source)
    audit.record(session, actor, action="casebook.actual.record", entity="casebook_proposal",
                 entity_id=p.id, jurisdiction_id=data.jurisdiction_id,
                 after={"year": data.year, "actual_cents": cents(data.actual),
                        "billed_cents": cents(data.billed), "usage": data.usage,
                        "outcome": outcome})
    session.flush()
    return outcome


ACTUAL_LAYOUT = tabular.Layout(
    fields=tuple(ActualRow.model_fields),
    converters=tabular.model_converters(
        ActualRow, special={"actual": tabular.dollars_converter(0, 1_000_000_000_000),
                            "billed": tabular.dollars_converter(0, 1_000_000_000_000)}),
    required=frozenset({"member", "year", "actual"}), jurisdiction_column="member")
ACTUAL_PRESET = tabular.Preset(
    name="actuals", label="Actual costs by member and year",
    description="member (name or id), year, actual ($), billed ($, optional), usage "
                "(optional)",
    layout=ACTUAL_LAYOUT,
    columns={"member": ("member", "jurisdiction", "jurisdiction_id"),
             "year": ("year", "fiscal_year"), "actual": ("actual", "actual_cost"),
             "billed": ("billed",), "usage": ("usage",)},
    required=("member", "year", "actual"))


@dataclass
class ActualsImport:
    rows: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    dry_run: bool = False
    unplaced: list[tuple[str, int]] | None = None

    def summary(self) -> str:
        verb = "would be" if self.dry_run else "were"
        return (f"{self.rows:,} rows: {self.added:,} {verb} added, {self.updated:,} updated, "
                f"{self.unchanged:,} unchanged")


def import_actuals(*, session: Session, actor: Principal, proposal_id: int, stream: BinaryIO,
                   file_name: str, dry_run: bool = False) -> ActualsImport:
    """Actual costs from a CSV or XLSX file: every row checked first (member in the proposal
    and one the actor may record for, year within the horizon, numbers in range, no
    duplicate member-year), all or nothing, idempotent (a row equal to what is stored is
    unchanged)."""
    p = queries.get_proposal(session=session, actor=actor, proposal_id=proposal_id)
    authorize(actor, Action.casebook_actuals, region_id=p.region_id)
    members = _member_ids(session, p.id)
    by_name = {name.casefold(): jid for jid, name in members.items()}
    head = stream.read(8192)
    stream.seek(0)
    data = stream.read()
    sha = hashlib.sha256(data).hexdigest()
    fmt = tabular.detect_format(file_name, head)
    report = tabular.ErrorReport()
    try:
        table = tabular.open_table(io.BytesIO(data), fmt)
    except tabular.FileRefused as exc:
        report.add(exc.error)
        raise tabular.Refused(f"{file_name} cannot be read: {exc.error.reason}",
                              report=report) from None
    plan = tabular.make_plan(table.columns, ACTUAL_PRESET, fmt)
    for e in plan.header_errors:
        report.add(e)
    last = p.start_year + p.horizon_years - 1
    staged: dict[tuple[int, int], tuple[int, int, int | None, float | None]] = {}
    result = ActualsImport(dry_run=dry_run)
    for number, cells, problems in table.rows:
        for e in problems:
            report.add(e)
        if cells is None or plan.header_errors:
            continue
        result.rows += 1
        if result.rows > MAX_ACTUAL_ROWS:
            report.add(tabular.RowError(number, "", "", f"more than {MAX_ACTUAL_ROWS:,} rows"))
            break
        values, errors = plan.validate(number, cells)
        if plan.ignored_at:
            plan.tally(cells)
        for e in errors:
            report.add(e)
        if errors:
            continue
        col = plan.column_of
        ref = str(values["member"]).strip()
        jid = (int(ref) if ref.isdigit() and int(ref) in members
               else by_name.get(ref.casefold()))
        if jid is None:
            report.add(tabular.RowError(number, col["member"], tabular.shown(ref),
                                        "not a member of this proposal"))
            continue
        if not allows(actor, Action.casebook_actuals, jid):
            report.add(tabular.RowError(number, col["member"], tabular.shown(ref),
                                        "you may record actual costs for your own member only"))
            continue
        year = values["year"]
        if not p.start_year <= year <= last:
            report.add(tabular.RowError(number, col["year"], str(year),
                                        f"outside the proposal's horizon ({p.start_year}-"
                                        f"{last})"))
            continue
        if (jid, year) in staged:
            report.add(tabular.RowError(number, col["year"], str(year),
                                        f"{members[jid]} {year} is also on row "
                                        f"{staged[(jid, year)][0]}"))
            continue
        staged[(jid, year)] = (number, values["actual"], values.get("billed"),
                               values.get("usage"))
    if report.count:
        raise tabular.Refused(f"{report.count:,} problem{'s' if report.count != 1 else ''} "
                              f"in {file_name}; nothing was recorded", report=report)
    result.unplaced = plan.unplaced
    with session.begin_nested() as nested:
        for (jid, year), (_n, actual, billed, usage) in staged.items():
            outcome = _upsert_actual(session, actor, p, jid, year, actual, billed, usage,
                                     f"file {file_name[:200]}")
            setattr(result, outcome, getattr(result, outcome) + 1)
        session.flush()
        if dry_run:
            nested.rollback()
    if not dry_run:
        audit.record(session, actor, action="casebook.actual.import",
                     entity="casebook_proposal", entity_id=p.id,
                     after={"file": file_name[:200], "sha256": sha, "rows": result.rows,
                            "added": result.added, "updated": result.updated,
                            "unchanged": result.unchanged})
    return result
