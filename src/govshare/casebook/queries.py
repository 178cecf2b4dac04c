"""Reads of the casebook, filtered by who is asking.

Visibility: regional roles see every proposal and every member's figures. A member's staff
see the proposals their member is in, the totals, and their own member's figures only;
other members' rows are not shown, and asking for one by id answers 404.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from govshare.casebook import calc
from govshare.casebook.models import CaseActual, CaseMember, CaseProposal, CaseStatus
from govshare.core.errors import NotFound
from govshare.core.paging import PageParams, fetch_page
from govshare.core.tenancy import Principal, same_region, visible_jurisdiction_ids
from govshare.regions import queries as regions_queries


def _visible(actor: Principal):  # type: ignore[no-untyped-def]
    """The condition on proposals the actor may see (None: all)."""
    seen = visible_jurisdiction_ids(actor)
    if seen is None:
        return None
    return exists().where(CaseMember.proposal_id == CaseProposal.id,
                          CaseMember.jurisdiction_id.in_(sorted(seen) or [-1]))


def list_proposals(*, session: Session, actor: Principal, region_id: int,
                   status: str | None = None, page: PageParams = PageParams(100)
                   ) -> tuple[list[CaseProposal], int]:
    stmt = select(CaseProposal).where(CaseProposal.region_id == region_id)
    cond = _visible(actor)
    if cond is not None:
        stmt = stmt.where(cond)
    if status:
        stmt = stmt.where(CaseProposal.status == status)
    return fetch_page(session, stmt.order_by(CaseProposal.parent_id.is_not(None),
                                             CaseProposal.created_at.desc(),
                                             CaseProposal.id.desc()), page)


def get_proposal(*, session: Session, actor: Principal, proposal_id: int) -> CaseProposal:
    """The proposal, or 404 when it does not exist or the actor's member is not in it."""
    stmt = select(CaseProposal).where(CaseProposal.id == proposal_id)
    cond = _visible(actor)
    if cond is not None:
        stmt = stmt.where(cond)
    p = session.scalar(stmt)
    if p is None or not same_region(actor, p.region_id):
        raise NotFound("Proposal not found")
    return p


@dataclass(frozen=True)
class MemberRow:
    member: CaseMember
    name: str


def members(*, session: Session, proposal_id: int) -> list[MemberRow]:
    """Every member of a proposal in id order (callers filter what they show)."""
    rows = session.scalars(select(CaseMember).where(CaseMember.proposal_id == proposal_id)
                           .order_by(CaseMember.id))
    out = []
    for m in rows:
        j = regions_queries.get_jurisdiction(session=session, jurisdiction_id=m.jurisdiction_id)
        out.append(MemberRow(member=m, name=j.name))
    return out


def scenarios(*, session: Session, actor: Principal, proposal: CaseProposal
              ) -> list[CaseProposal]:
    """The proposal's family side by side: the original first, then its scenarios."""
    root = proposal.parent_id or proposal.id
    stmt = select(CaseProposal).where((CaseProposal.id == root)
                                      | (CaseProposal.parent_id == root))
    cond = _visible(actor)
    if cond is not None:
        stmt = stmt.where(cond)
    return list(session.scalars(stmt.order_by(CaseProposal.parent_id.is_not(None),
                                              CaseProposal.id)))


def member_inputs(rows: list[MemberRow]) -> list[calc.MemberIn]:
    return [calc.MemberIn(
        key=r.member.jurisdiction_id, name=r.name, baseline_cents=r.member.baseline_cents,
        direct_cents=r.member.direct_cents, own_one_time_cents=r.member.own_one_time_cents,
        drivers={"population": r.member.population, "headcount": r.member.headcount,
                 "usage": r.member.usage,
                 "assessed_value": r.member.assessed_value_cents})
        for r in rows]


def evaluate(proposal: CaseProposal, rows: list[MemberRow]) -> calc.CaseResult:
    """The proposal's results (every member: the allocation needs them all)."""
    return calc.evaluate(
        members=member_inputs(rows), shared_annual_cents=proposal.shared_annual_cents,
        one_time_cents=list(proposal.one_time_cents or []),
        ramp=list(proposal.ramp_pct or []), horizon=proposal.horizon_years,
        start_year=proposal.start_year, rate=proposal.discount_rate,
        basis=calc.Basis(proposal.basis), blend=proposal.blend or None)


def shown_member_ids(actor: Principal, rows: list[MemberRow]) -> set[int]:
    """Members whose figures the actor may see."""
    seen = visible_jurisdiction_ids(actor)
    ids = {r.member.jurisdiction_id for r in rows}
    return ids if seen is None else ids & seen


def actuals(*, session: Session, proposal_id: int, jurisdiction_ids: set[int] | None = None
            ) -> list[CaseActual]:
    stmt = select(CaseActual).where(CaseActual.proposal_id == proposal_id)
    if jurisdiction_ids is not None:
        stmt = stmt.where(CaseActual.jurisdiction_id.in_(sorted(jurisdiction_ids) or [-1]))
    return list(session.scalars(stmt.order_by(CaseActual.year, CaseActual.jurisdiction_id)))


def actuals_page(*, session: Session, proposal_id: int, jurisdiction_ids: set[int] | None,
                 page: PageParams) -> tuple[list[CaseActual], int]:
    stmt = select(CaseActual).where(CaseActual.proposal_id == proposal_id)
    if jurisdiction_ids is not None:
        stmt = stmt.where(CaseActual.jurisdiction_id.in_(sorted(jurisdiction_ids) or [-1]))
    return fetch_page(session, stmt.order_by(CaseActual.year, CaseActual.jurisdiction_id,
                                             CaseActual.id), page)


@dataclass(frozen=True)
class Tracker:
    """Projected beside realized, by member and year, and the total of the members shown."""

    by_member: dict[int, list[calc.Realized]]
    total: list[calc.Realized]


def tracker(result: calc.CaseResult, rows: list[CaseActual], shown: set[int]) -> Tracker:
    """Realized savings (baseline - actual) beside the projection's net flow, per member and
    year; the total adds the members that reported, and says how many did."""
    got = {(a.jurisdiction_id, a.year): a for a in rows}
    by_member: dict[int, list[calc.Realized]] = {}
    for m in result.members:
        if m.key not in shown:
            continue
        by_member[m.key] = [
            calc.Realized(year=y.year, projected_cents=y.net_cents,
                          realized_cents=(calc.realized(m.baseline_cents,
                                                        got[(m.key, y.year)].actual_cents)
                                          if (m.key, y.year) in got else None))
            for y in m.outcome.years]
    total = []
    for i, y in enumerate(result.total.years):
        reporting = [ms[i] for ms in by_member.values() if ms[i].realized_cents is not None]
        total.append(calc.Realized(
            year=y.year,
            projected_cents=sum(ms[i].projected_cents for ms in by_member.values()),
            realized_cents=(sum(r.realized_cents or 0 for r in reporting) if reporting
                            else None),
            reporting=len(reporting), expected=len(by_member),
            compared_cents=sum(r.projected_cents for r in reporting) if reporting else None))
    return Tracker(by_member=by_member, total=total)


def adopted(*, session: Session, actor: Principal, region_id: int) -> list[CaseProposal]:
    """Adopted proposals the actor may see (the value page's fiscal point)."""
    stmt = select(CaseProposal).where(CaseProposal.region_id == region_id,
                                      CaseProposal.status == CaseStatus.adopted.value)
    cond = _visible(actor)
    if cond is not None:
        stmt = stmt.where(cond)
    return list(session.scalars(stmt.order_by(CaseProposal.id)))
