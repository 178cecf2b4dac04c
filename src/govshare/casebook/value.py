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
- green: the carbon inventory (region and each member: the latest year against the base
  year, the next target and the trajectory, with the factor sets and their editions), the
  fleet's pooling and electrification plans, retrofits priced from the buildings'
  benchmarking, planned measures, and the tonnes adopted proposals avoid;
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

from govshare.carbon import queries as carbon_queries
from govshare.carbon import service as carbon_service
from govshare.casebook import calc, queries
from govshare.casebook.models import SourceKind
from govshare.core.db import utcnow
from govshare.core.errors import NotFound
from govshare.core.paging import PageParams
from govshare.core.tenancy import Action, Principal, allows, can_see_jurisdiction_rows
from govshare.fleet import planning as fleet_planning
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


def _t(x: float) -> str:
    return f"{x:,.0f} t CO2e"


def _carbon_sources(session: Session) -> str:
    sets = carbon_service.stack(session)
    return ("carbon inventory, location-based scope 2, GWP " + carbon_service.DEFAULT_GWP
            + "; factor sets, first wins: "
            + "; ".join(f"{s.title} — {s.edition} ({s.publisher}, for {s.year_from}-"
                        f"{s.year_to})" for s in sets))


def _target_text(tg: Any) -> str:
    what = "net zero" if tg.reduction_pct >= 100 else f"{tg.reduction_pct:g}% below"
    return f"{what} {tg.base_year} by {tg.target_year}"


def _progress_row(name: str, link: str, prog: Any) -> dict[str, Any]:
    """One member's (or the region's) latest year against its base year and targets."""
    last = prog.latest_year
    latest = prog.history.get(last) if last is not None else None
    base_year = min((x.base_year for x in prog.targets), default=None)
    base = prog.history.get(base_year) if base_year is not None else None
    change = (100 * (latest - base) / base if latest is not None and base else None)
    nxt = min((x for x in prog.targets if last is None or x.target_year >= last),
              key=lambda x: x.target_year, default=None)
    goal = (base * (1 - nxt.reduction_pct / 100) if nxt is not None and base is not None
            else None)
    return {"member": name, "link": link, "latest_year": last, "latest_t": latest,
            "base_year": base_year, "base_t": base, "change_pct": change,
            "target": _target_text(nxt) if nxt is not None else None,
            "target_t": goal, "path_t": prog.trajectory.get(last) if last else None,
            "on_track": prog.on_track, "sample": any(x.synthetic for x in prog.targets)}


def _inventory_figures(session: Session, actor: Principal, region_id: int, jid: int | None,
                       p: Point) -> None:
    """The carbon inventory against the targets: the region's (or the member's) latest year
    against its base year, its next target and its trajectory; each member as a row."""
    if not allows(actor, Action.carbon_read, region_id=region_id):
        return
    if not carbon_queries.years_with_data(session):
        p.missing.append("Not yet measured: the carbon inventory has no emissions. Record "
                         "the members' buildings and fleets in the carbon inventory (/carbon) "
                         "and set their targets, and emissions against the targets appear "
                         "here.")
        return
    src = _carbon_sources(session)
    names = {j.id: j.name for j in regions_queries.list_jurisdictions(session=session,
                                                                      region_id=region_id)}
    members = [jid] if jid is not None else sorted(
        j for j in names if can_see_jurisdiction_rows(actor, j))
    for m in members:
        prog = carbon_service.progress(session, actor, jurisdiction_id=m)
        if prog.history:
            p.rows.append(_progress_row(names[m], f"/carbon/jurisdictions/{m}", prog))
    if jid is None and actor.role.is_regional:
        head = _progress_row("Region", "/carbon", carbon_service.progress(session, actor))
        label, link = "The region's", "/carbon"
    elif p.rows:
        head = p.rows[0]
        label, link = f"{head['member']}'s", head["link"]
    else:
        head = None
    if head is None or head["latest_t"] is None:
        p.missing.append("Not yet measured: no emissions in the carbon inventory for "
                         + ("this member" if jid is not None else "the members you may see")
                         + ". Record its buildings and fleet in the carbon inventory (/carbon).")
        return
    sample = " (sample targets made for the demo)" if head["sample"] else ""
    data = (f"inventory years {', '.join(str(y) for y in carbon_queries.years_with_data(session))}"
            f"; {len(p.rows)} member(s) with emissions")
    p.figures.append(Figure(
        "inventory", f"{label} emissions in {head['latest_year']}", _t(head["latest_t"]),
        head["latest_t"], Kind.physical, "sum over recorded activity of quantity x emission "
        "factor x GWP (the carbon inventory, operations, each asset once)", data, src, link))
    if head["base_t"] is None and head["base_year"] is not None:
        p.missing.append(f"The targets' base year {head['base_year']} has no emissions in the "
                         "inventory: record that year's activity (/carbon) to measure against "
                         "it.")
    elif head["base_year"] is None:
        p.missing.append("No emission target is set: set one on the carbon pages (/carbon) and "
                         "the inventory is measured against it here.")
    else:
        p.figures.append(Figure(
            "against_base", f"Change since the base year {head['base_year']}",
            f"{head['change_pct']:+.1f}% ({_t(head['base_t'])} in {head['base_year']})",
            head["change_pct"], Kind.physical, "(latest year's emissions - base year's) / "
            "base year's", data, src, link))
        if head["target"] is not None:
            on = ("on track" if head["on_track"] else "above its path" if head["on_track"]
                  is False else "no path for the latest year")
            path = (f"; path for {head['latest_year']}: {_t(head['path_t'])}, {on}"
                    if head["path_t"] is not None else "")
            p.figures.append(Figure(
                "target", f"Next target: {head['target']}{sample}",
                f"{_t(head['target_t'])}{path}", head["target_t"], Kind.physical,
                "base year's emissions x (1 - the target's reduction); the path is the "
                "straight line from the base year through each target",
                f"{data}; targets recorded on the carbon pages", src, link))


def _fleet_figures(session: Session, actor: Principal, region_id: int, jid: int | None,
                   p: Point) -> None:
    """The fleet's plans: pooling (vehicles that can be shared or removed) and the
    electrification plan to the region's target."""
    if not allows(actor, Action.fleet_read, region_id=region_id):
        return
    elec = fleet_planning.electrification(session=session, actor=actor, region_id=region_id,
                                          jurisdiction_id=jid)
    if not elec.cases:
        p.missing.append("No fleet plans yet: import the members' vehicles and fuel or trip "
                         "logs (/fleet/import) and the pooling and electrification plans "
                         "appear here.")
        return
    n = len(elec.cases)
    params = elec.params
    src = ("fleet domain: members' vehicle records, fuel-card and trip logs; the region's "
           "fleet parameters (/fleet/parameters)")
    if jid is None and allows(actor, Action.fleet_pool, region_id=region_id):
        pool = fleet_planning.pooling(session=session, actor=actor, region_id=region_id,
                                      fleet_facts=[f for _c, f in elec.cases])
        if pool.vehicles:
            p.figures.append(Figure(
                "pool", "Vehicles the pooling plan can share or remove",
                f"{pool.plan.removable:,} of {len(pool.vehicles):,}, saving "
                f"{_d(pool.plan.savings_cents)} a year (identified, not adopted)",
                pool.plan.removable, Kind.counted,
                "per cluster of home sites and class: vehicles - (peak in use at once + "
                f"{params.pool_reserve_pct:g}% reserve); savings = their ownership over "
                f"{params.ownership_years} years + fixed maintenance",
                f"{len(pool.vehicles):,} vehicles with a home site, {pool.trips:,} trips",
                src, "/fleet/pooling"))
    plan = elec.plan
    years = [y for s in plan.trajectory.values() for y in s]
    at = params.target_year
    cut = sum(s[at][0] - s[at][1] for s in plan.trajectory.values() if at in s) if years else 0
    p.figures.append(Figure(
        "electrify", f"Electrification plan to {params.target_pct:g}% of light-duty vehicles "
        f"by {at}", f"{len(plan.chosen):,} replacements"
        + (f", {plan.shortfall:,} short of the target" if plan.shortfall else "")
        + f"; {cut:,.0f} t CO2 a year less in {at}", len(plan.chosen), Kind.counted,
        "the suitable light-duty vehicles with the lowest added cost of ownership, each "
        "replaced at its end of life; tonnes = tailpipe emissions removed less electric "
        f"emissions where the grid factor is known ({elec.grid_note})",
        f"{n:,} vehicles' use in their analysis year", src, "/fleet/electrification"))


def _retrofit_figures(session: Session, actor: Principal, jid: int | None, p: Point) -> None:
    """Buildings above their type's national median energy use, priced as retrofits, and the
    members' planned measures (the carbon domain's benchmarking and plans)."""
    if not allows(actor, Action.carbon_read):
        return
    years = carbon_queries.years_with_data(session)
    if not years:
        return
    year = years[-1]
    marks = carbon_service.benchmarks(session, actor, year=year, jurisdiction_id=jid)
    retrofits = [b.retrofit for b in marks if b.retrofit is not None]
    measures = [m for m in carbon_queries.measures(session, [jid] if jid is not None else None)
                if jid is not None or can_see_jurisdiction_rows(actor, m.jurisdiction_id)]
    src = ("carbon domain: the buildings' recorded energy and floor area in " + str(year)
           + "; ENERGY STAR Portfolio Manager national median EUI by property type (Technical "
           "Reference, August 2023); first cost at an assumed "
           f"${carbon_service.RETROFIT_USD_PER_FT2:g} per ft2")
    if retrofits:
        t = sum(r.avoidable_t for r in retrofits)
        cost = round(sum(r.cost_usd for r in retrofits) * 100)
        p.figures.append(Figure(
            "retrofits", f"Retrofits to the median energy use ({year} data)",
            f"{len(retrofits):,} buildings; {_t(t)} a year avoidable for {_d(cost)} first "
            "cost (estimate)", t, Kind.physical,
            "per building above its type's median site EUI: (EUI - median) x floor area x its "
            "own emissions per kBtu; first cost = floor area x the assumed cost per ft2",
            f"{len(marks):,} buildings benchmarked", src, "/carbon/benchmarking"))
    elif marks:
        p.missing.append("No building is above its type's median energy use, or none has a "
                         "property type and floor area: record them (/carbon/benchmarking) "
                         "to price retrofits.")
    if measures:
        t = sum(m.t_co2e_per_year for m in measures)
        p.figures.append(Figure(
            "measures", "Planned reduction measures", f"{len(measures):,} measures, {_t(t)} "
            "a year when all are in place", t, Kind.physical,
            "sum of each planned measure's tonnes a year", f"{len(measures):,} measures",
            "members' plans recorded on the carbon pages", "/carbon"))


def _green(session: Session, actor: Principal, region_id: int, jid: int | None) -> Point:
    """The carbon inventory against the members' targets (the carbon domain), the fleet's
    pooling and electrification plans, retrofits and planned measures, and the tonnes the
    adopted proposals avoid. Each part that has no data is left out, and says what would add
    it."""
    p = Point("green", "Green: emissions against the targets")
    _inventory_figures(session, actor, region_id, jid, p)
    _fleet_figures(session, actor, region_id, jid, p)
    _retrofit_figures(session, actor, jid, p)
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
    if proposals:
        p.figures.append(Figure(
            "avoided", "Avoided a year by adopted proposals", _t(avoided),
            avoided, Kind.physical, "sum of each adopted proposal's tonnes avoided a year "
            "(whole proposal, not a member's share)", f"{proposals} adopted proposals",
            "each proposal's source plan (e.g. the consolidation plan's closed buildings)",
            "/casebook?status=adopted"))
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
