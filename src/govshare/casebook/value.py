"""What the sharing is worth: every value point the stored data support, for the region or
one member, each figure with its data, source and formula.

Read-only. A value point whose data is not there is marked "not yet measured" with what
data would add it; nothing is estimated to fill a gap. Budget (cash) figures and social
values (the social cost of carbon, vacant space) are kept apart: each figure says which it
is, and no figure adds the two.

Points and where they come from:
- fiscal: adopted casebook proposals (projected savings, NPV, realized against projected);
- facilities: the property registry (true cost split into budget and social parts, surplus
  assets, public proposals received, consolidations adopted as proposals);
- green: the registry's emissions and the tonnes adopted proposals avoid (the carbon
  domain's inventory against targets: not on this installation yet);
- economic development: the centers the region chose in the sites domain (jobs, payroll in
  the chosen county, savings against the baseline site);
- front office: the shared service catalog, requests by channel with time to close,
  requests forwarded to another member instead of turned away.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from govshare.casebook import calc, queries
from govshare.casebook.models import SourceKind
from govshare.core.db import utcnow
from govshare.core.errors import NotFound
from govshare.core.paging import PageParams
from govshare.core.tenancy import Principal, can_see_jurisdiction_rows
from govshare.frontoffice import queries as frontoffice_queries
from govshare.property import queries as property_queries
from govshare.regions import queries as regions_queries
from govshare.sites import queries as sites_queries
from govshare.sites import service as sites_service

# Property true-cost components paid from a budget, and those that are social values.
BUDGET_COMPONENTS = ("om", "energy", "lease", "repair")
SOCIAL_COMPONENTS = ("carbon", "vacancy")


class Kind(StrEnum):
    budget = "budget"  # cash in a member's budget
    social = "social"  # a social value in dollars (not in any budget)
    counted = "count"
    physical = "physical"  # tonnes, hours


class Audience(StrEnum):
    governor = "governor"
    mayor = "mayor"
    council = "council"
    public = "public"


AUDIENCE_TEXT = {
    Audience.governor: ("For the Governor", "What the region's shared services are worth to "
                        "the state and its local governments"),
    Audience.mayor: ("For the Mayor", "What sharing services with the region's other "
                     "governments is worth to the city"),
    Audience.council: ("For the Council", "What the shared services are worth, and what "
                       "they cost, member by member"),
    Audience.public: ("For residents", "What your governments save and gain by sharing "
                      "services"),
}


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    value: str  # as shown
    raw: float | int | None
    kind: Kind
    formula: str
    data: str  # the stored data it is computed from
    source: str  # sources and vintages
    link: str  # the page behind it


@dataclass
class Point:
    key: str
    title: str
    figures: list[Figure] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # what data would add (more of) it
    rows: list[dict[str, Any]] = field(default_factory=list)  # detail for charts and tables

    @property
    def measured(self) -> bool:
        return bool(self.figures)


@dataclass
class ValueCase:
    region: str
    member: str | None
    member_id: int | None
    generated_at: datetime
    points: list[Point]

    def point(self, key: str) -> Point:
        return next(p for p in self.points if p.key == key)

    def figures(self) -> list[tuple[Point, Figure]]:
        return [(p, f) for p in self.points for f in p.figures]


def _d(cents: int) -> str:
    return calc.dollars(cents)


def value_case(*, session: Session, actor: Principal, region_id: int,
               jurisdiction_id: int | None = None) -> ValueCase:
    """The value case for the region (``jurisdiction_id`` None) or one member. A member's
    staff get their own member's; another member's id answers 404."""
    region = regions_queries.require_current_region(session=session)
    names = {j.id: j.name for j in regions_queries.list_jurisdictions(session=session,
                                                                      region_id=region_id)}
    if jurisdiction_id is None and actor.role.is_jurisdictional:
        jurisdiction_id = actor.jurisdiction_id
    if jurisdiction_id is not None and (jurisdiction_id not in names
                                        or not can_see_jurisdiction_rows(actor,
                                                                         jurisdiction_id)):
        raise NotFound("Member not found")
    member = names.get(jurisdiction_id) if jurisdiction_id is not None else None
    points = [
        _fiscal(session, actor, region_id, jurisdiction_id),
        _facilities(session, actor, region_id, jurisdiction_id),
        _green(session, actor, region_id, jurisdiction_id),
        _economic(session, region_id),
        _front_office(session, actor, region_id, member),
    ]
    return ValueCase(region=region.name, member=member, member_id=jurisdiction_id,
                     generated_at=utcnow(), points=points)


def _fiscal(session: Session, actor: Principal, region_id: int, jid: int | None) -> Point:
    p = Point("fiscal", "Fiscal: what the shared services save")
    adopted = queries.adopted(session=session, actor=actor, region_id=region_id)
    annual = npv = realized = compared = 0
    counted = 0
    reporting_years = 0
    for prop in adopted:
        rows = queries.members(session=session, proposal_id=prop.id)
        result = queries.evaluate(prop, rows)
        shown = queries.shown_member_ids(actor, rows)
        if jid is not None:
            shown &= {jid}
        if not shown:
            continue
        counted += 1
        mine = [m for m in result.members if m.key in shown]
        a = sum(m.annual_savings_cents for m in mine)
        n = sum(m.outcome.npv_cents for m in mine)
        tr = queries.tracker(result, queries.actuals(session=session, proposal_id=prop.id,
                                                     jurisdiction_ids=shown), shown)
        r = sum(t.realized_cents or 0 for t in tr.total if t.realized_cents is not None)
        c = sum(t.against_cents for t in tr.total if t.realized_cents is not None)
        reported = sum(1 for t in tr.total if t.realized_cents is not None)
        reporting_years += reported
        annual, npv, realized, compared = annual + a, npv + n, realized + r, compared + c
        p.rows.append({"proposal": prop.name, "id": prop.id, "annual": a / 100,
                       "npv": n / 100, "realized": r / 100 if reported else None,
                       "compared": c / 100, "synthetic": prop.synthetic})
    if not counted:
        p.missing.append("No adopted proposal yet: adopt a proposal in the casebook "
                         "(/casebook) and its projected savings appear here.")
        return p
    src = ("casebook proposals: members' baselines and the shared model's cost as entered or "
           "carried from their source plan; discount rates with their sources on each "
           "proposal")
    p.figures += [
        Figure("adopted", "Adopted shared services", f"{counted:,}", counted, Kind.counted,
               "count of adopted proposals with this member" if jid else
               "count of adopted proposals", f"{counted} adopted proposals", src,
               "/casebook?status=adopted"),
        Figure("annual", "Projected savings a year at full ramp", _d(annual), annual,
               Kind.budget, "sum over adopted proposals of (baseline - direct costs - "
               "allocated share of the shared model's cost)",
               f"{counted} adopted proposals", src, "/casebook?status=adopted"),
        Figure("npv", "Net present value over each proposal's horizon", _d(npv), npv,
               Kind.budget, "sum of each proposal's NPV: net savings less one-time costs, "
               "discounted at its real rate (end of year)", f"{counted} adopted proposals",
               src, "/casebook?status=adopted"),
    ]
    if reporting_years:
        pct = f" ({100 * realized / compared:.0f}% of projected)" if compared > 0 else ""
        p.figures.append(Figure(
            "realized", "Realized to date against projected", f"{_d(realized)} of "
            f"{_d(compared)}{pct}", realized, Kind.budget,
            "sum of (baseline - actual cost) over the member-years with actual costs "
            "recorded, against the projection for the same member-years",
            f"{reporting_years} proposal-years with actual costs",
            "actual costs recorded by members (form or file)", "/casebook?status=adopted"))
    else:
        p.missing.append("No actual costs recorded yet: members record each year's actual "
                         "cost on the proposal's tracker, and realized savings appear here "
                         "beside the projection.")
    return p


def _facilities(session: Session, actor: Principal, region_id: int, jid: int | None) -> Point:
    p = Point("facilities", "Shared facilities: what the buildings cost, and what is freed")
    rows = property_queries.asset_rows(session=session, actor=actor, region_id=region_id)
    if jid is not None:
        rows = [r for r in rows if r.asset.jurisdiction_id == jid]
    if not rows:
        p.missing.append("No assets in the property registry: import the members' "
                         "buildings (/property/import) to add true cost and surplus.")
        return p
    budget = social = 0
    for r in rows:
        for c in r.cost.components:
            if c.key in BUDGET_COMPONENTS:
                budget += c.cents
            elif c.key in SOCIAL_COMPONENTS:
                social += c.cents
    surplus = sum(1 for r in rows if r.asset.status in ("surplus", "vacant"))
    incomplete = sum(1 for r in rows if not r.cost.complete)
    n = len(rows)
    data = f"{n:,} assets in the registry ({incomplete:,} with incomplete cost figures)"
    src = ("property registry: members' asset records; energy priced at the region's "
           "parameters; the social cost of carbon (EPA 2023 SC-GHG) and of vacant space "
           "as set in the region's parameters")
    p.figures += [
        Figure("budget_cost", "Annual cost of the buildings, paid from budgets", _d(budget), budget,
               Kind.budget, "sum of O&M + energy + lease + repair needs annualized, per asset",
               data, src, "/property"),
        Figure("social_cost", "Social cost of the buildings, in no budget", _d(social),
               social, Kind.social, "sum of carbon at the social cost of greenhouse gases + "
               "vacant space at its social cost, per asset", data, src, "/property"),
        Figure("surplus", "Surplus or vacant assets (could be shared or sold)", f"{surplus:,}",
               surplus, Kind.counted, "count of assets whose status is surplus or vacant", data,
               "property registry: asset status", "/property?status=surplus"),
    ]
    _proposals, received = property_queries.proposal_queue(session=session, actor=actor,
                                                           page=PageParams(1))
    if jid is None or actor.role.is_jurisdictional:
        p.figures.append(Figure(
            "proposals", "Public proposals received for assets", f"{received:,}", received,
            Kind.counted, "count of proposals and challenges from the public window",
            f"{received:,} proposals", "property public window", "/property/proposals"))
    adopted = [a for a in queries.adopted(session=session, actor=actor, region_id=region_id)
               if a.source_kind == SourceKind.consolidation.value]
    p.figures.append(Figure(
        "consolidations", "Consolidations adopted", f"{len(adopted):,}", len(adopted),
        Kind.counted, "count of adopted proposals made from a consolidation plan",
        f"{len(adopted)} proposals", "casebook proposals (source: property consolidation)",
        "/casebook?status=adopted"))
    return p


def _green(session: Session, actor: Principal, region_id: int, jid: int | None) -> Point:
    p = Point("green", "Green: the regional carbon picture")
    rows = property_queries.asset_rows(session=session, actor=actor, region_id=region_id)
    if jid is not None:
        rows = [r for r in rows if r.asset.jurisdiction_id == jid]
    tonnes = sum(r.cost.emissions.tco2e for r in rows)
    if rows:
        p.figures.append(Figure(
            "registry_tco2e", "Buildings' emissions a year", f"{tonnes:,.0f} t CO2e", tonnes,
            Kind.physical, "sum over assets of energy by fuel x emission factor",
            f"{len(rows):,} assets' energy use",
            "property registry energy; interim EPA emission factors (property data/SOURCES.md)",
            "/property"))
    avoided = 0.0
    proposals = 0
    for prop in queries.adopted(session=session, actor=actor, region_id=region_id):
        if prop.tco2e_per_year is None:
            continue
        members = queries.members(session=session, proposal_id=prop.id)
        ids = {m.member.jurisdiction_id for m in members}
        if jid is not None and jid not in ids:
            continue
        avoided += prop.tco2e_per_year
        proposals += 1
        p.rows.append({"proposal": prop.name, "t": prop.tco2e_per_year,
                       "source": prop.tco2e_source or ""})
    if proposals:
        p.figures.append(Figure(
            "avoided", "Avoided a year by adopted proposals", f"{avoided:,.0f} t CO2e",
            avoided, Kind.physical, "sum of each adopted proposal's tonnes avoided a year "
            "(whole proposal, not a member's share)", f"{proposals} adopted proposals",
            "each proposal's source plan (e.g. the consolidation plan's closed buildings)",
            "/casebook?status=adopted"))
    p.missing.append("Not yet measured: the regional carbon inventory against the members' "
                     "targets (the carbon domain is not on this installation yet), and fleet "
                     "and retrofit plans.")
    return p


def _economic(session: Session, region_id: int) -> Point:
    """The centers the region chose in the sites domain: jobs and payroll in their counties
    (social and economic values) and their savings against the baseline site (budget)."""
    p = Point("economic", "Economic development: jobs where they are needed")
    scenarios, _n = sites_queries.list_scenarios(session=session, region_id=region_id,
                                                 page=PageParams(500))
    chosen = []
    for sc in scenarios:
        if sc.chosen_fips is None:
            continue
        row = sites_service.chosen_result(session=session, region_id=region_id,
                                          scenario_id=sc.id)
        if row is not None:
            chosen.append((sc, row))
            p.rows.append({"scenario": sc.name, "county": f"{row['name']}, {row['state']}",
                           "jobs": row["jobs_direct"], "sample": sc.sample})
    if not chosen:
        p.missing.append("Not yet measured: no site has been chosen for a shared-service "
                         "center. Choose one on a sites scenario (/sites) and its jobs and "
                         "payroll in the chosen county appear here.")
        return p
    n = len(chosen)
    jobs = sum(r["jobs_direct"] for _s, r in chosen)
    low = sum(r["jobs_total_low"] for _s, r in chosen)
    high = sum(r["jobs_total_high"] for _s, r in chosen)
    payroll = sum(r["payroll_usd"] for _s, r in chosen) * 100
    savings = sum(r["savings_usd"] for _s, r in chosen) * 100
    where = "; ".join(f"{r['name']}, {r['state']} (distress {r['distress_score']})"
                      for _s, r in chosen)
    data = f"{n} sites scenario{'s' if n != 1 else ''} with a chosen county: {where}"
    src = ("sites domain: county data shipped with their sources and vintages (BLS QCEW "
           "wages, LAUS labor force, Census ACS), the scenario's roles and salaries")
    p.figures += [
        Figure("jobs", "Jobs at the chosen centers", f"{jobs:,}", jobs, Kind.physical,
               "sum of each chosen center's headcount", data, src, "/sites"),
        Figure("jobs_total", "Jobs with the local multiplier (range)",
               f"{low:,}–{high:,}", high, Kind.physical,
               "direct jobs x the scenario's multiplier range, summed", data, src, "/sites"),
        Figure("payroll", "Payroll paid in the chosen counties a year", _d(payroll),
               payroll, Kind.social, "sum of each center's payroll at the county's wage "
               "index (an economic benefit to the county, not a saving)", data, src,
               "/sites"),
        Figure("site_savings", "Savings a year against the baseline site", _d(savings),
               savings, Kind.budget, "sum of (baseline site's operating cost - the chosen "
               "county's operating cost)", data, src, "/sites"),
    ]
    return p


def _front_office(session: Session, actor: Principal, region_id: int,
                  member: str | None) -> Point:
    p = Point("front_office", "Front office: one door for residents")
    services = frontoffice_queries.search_services(session=session, region_id=region_id)
    stats = frontoffice_queries.channel_stats(session=session, actor=actor,
                                              region_id=region_id)
    if member is not None:
        stats = [s for s in stats if s["jurisdiction"] == member]
    if services:
        p.figures.append(Figure(
            "services", "Services in the one-stop catalog", f"{len(services):,}",
            len(services), Kind.counted, "count of services in the shared catalog",
            f"{len(services):,} services", "front office service catalog", "/services"))
    volume = sum(s["volume"] for s in stats)
    if volume:
        served_by = len({s["jurisdiction"] for s in stats})
        p.figures.append(Figure(
            "requests", "Requests handled through the shared front office", f"{volume:,}",
            volume, Kind.counted, "count of service requests from every channel",
            f"{volume:,} requests for {served_by} member(s)", "front office case records",
            "/staff/requests"))
        by_channel: dict[str, list[dict[str, Any]]] = {}
        for s in stats:
            by_channel.setdefault(s["channel"], []).append(s)
        for ch, items in sorted(by_channel.items()):
            medians = [s["median_hours_to_close"] for s in items
                       if s["median_hours_to_close"] is not None]
            p.rows.append({"channel": ch, "volume": sum(s["volume"] for s in items),
                           "closed": sum(s["closed"] for s in items),
                           "hours": (sorted(medians)[len(medians) // 2] if medians else None)})
        forwarded = frontoffice_queries.forwarded_count(session=session, actor=actor,
                                                        region_id=region_id)
        if member is None:
            p.figures.append(Figure(
                "forwarded", "Requests forwarded to the right member instead of turned away",
                f"{forwarded:,}", forwarded, Kind.counted,
                "count of requests with a forward to another member in their history",
                f"{forwarded:,} requests", "front office case histories", "/staff/requests"))
    else:
        p.missing.append("No service requests yet: requests from the web form, Open311, "
                         "phone and walk-in add volume and time to close by channel.")
    return p
