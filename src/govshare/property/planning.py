"""Consolidation across members: which same-use buildings to keep, where their users go.

A read-only analysis (nothing is written): it turns the registry into a capacitated
facility-location problem (the model of ``consolidation``) and hands it to ``solver``, which
picks its method (the direct MILP, or Lagrangian bounds and fixing first) and reports progress
and honors a cancel token.

- Candidate sites: the region's assets of one use that are in use, under-used or vacant,
  with a location and a capacity. Fixed cost of keeping a site = its annual true cost
  without the vacancy component (vacancy is a consequence of the plan, not a cost of the
  building).
- Needs: the current occupants of each candidate (demand = occupancy), located at their
  building. Serving need j from site i costs demand_j x km(i, j) x the annual travel cost per
  person-km; pairs farther apart than the travel limit are not allowed. By default a need may
  be split among several sites (split demand); with ``keep_together`` each need goes whole to
  one site (the solver's single-source model: same guarantees, a plan that costs the same or
  more).
- Savings for a member = fixed costs of its closed buildings - the added travel cost of its
  people. Tonnes CO2e avoided = the closed buildings' emissions (the kept buildings' energy
  is assumed not to grow with the added occupants: a stated simplification).
- Left out, and said why: assets whose space is not interchangeable within its use (a justice
  center among offices, a lab: ``Asset.interchangeable``), without a location or capacity, or
  leaving the portfolio (surplus, disposal in progress).
- After the choice (which minimizes the annual cost only): one-time costs (moving cost for
  every person who moves, fit-out for every person a building takes in, both borne by the
  people's member), the occupancy charge guests pay their host each year (the host building's
  cost per place x people housed x the charge percentage; nothing between a member's own
  buildings), each member's net after charges, its payback year, and a flag on any member
  worse off. Charges move money between members: the region's savings do not change.

`prepare` reads the registry (in the request) and `run` solves and builds the plan from
plain values, so a long solve can run in a background thread (``core.jobs``: `JOBS`).

What acts on a plan (adds it to the carbon plan, makes it a proposal) takes the plan the
page showed, not one solved again: `plan(job=..., inline_limit=...)` looks in `JOBS` for the
finished solve of the same problem (same inputs, same registry data, same time for the
solver: `Problem.key`) before it solves, and solves inside the request only within
``inline_limit`` seconds. A plan stopped at its time limit is the best found in that time, so
solving again could choose other buildings; a proven one can too, where plans tie.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from govshare.core import jobs
from govshare.core.errors import BadRequest, Conflict
from govshare.core.geodesy import haversine_km
from govshare.core.tenancy import Action, Principal, authorize
from govshare.property import queries
from govshare.property.calc import TrueCost
from govshare.property.consolidation import (
    CancelToken,
    Need,
    Site,
    Solution,
    travel_cost_matrix,
)
from govshare.property.models import Asset, AssetStatus
from govshare.property.schemas import (
    CONSOLIDATION_MODELS,
    CONSOLIDATION_SOURCES,
    ConsolidationIn,
    stored_values,
)
from govshare.property.solver import ProgressCallback, solve
from govshare.regions import queries as regions_queries

# Fields the plan uses directly (true cost reads the rest, leaving out-of-range values out).
PLANNED_FIELDS = ("lon", "lat", "capacity", "occupancy")
CANDIDATE_STATUSES = (AssetStatus.in_use.value, AssetStatus.under_used.value,
                      AssetStatus.vacant.value)
LEAVING_STATUSES = (AssetStatus.surplus.value, AssetStatus.disposal_in_progress.value)
# 230 commuting days x 2 trips x $0.416/km (IRS 2024 standard mileage rate, 67 cents a mile)
DEFAULT_TRAVEL_CENTS_PER_PERSON_KM = 19_136
TRAVEL_SOURCE = ("assumed: 230 working days x 2 trips x IRS 2024 standard mileage rate "
                 "($0.67/mile = $0.416/km) per person and km of distance")
_F = ConsolidationIn.model_fields
# The defaults of the one-time costs and the charge: their one definition is ConsolidationIn.
DEFAULT_MOVE_CENTS_PER_PERSON = round(float(_F["move_cost"].default) * 100)
DEFAULT_FITOUT_CENTS_PER_PERSON = round(float(_F["fitout_cost"].default) * 100)
DEFAULT_CHARGE_PCT = float(_F["charge_pct"].default)
DEFAULT_TIME_LIMIT = 60.0 * int(_F["minutes"].default)
"""Seconds the solver may work on a plan unless asked otherwise (ConsolidationIn.minutes)."""
MOVE_SOURCE = CONSOLIDATION_SOURCES["move_cost"]
FITOUT_SOURCE = CONSOLIDATION_SOURCES["fitout_cost"]
CHARGE_SOURCE = CONSOLIDATION_SOURCES["charge_pct"]


@dataclass(frozen=True)
class AssetView:
    """The facts of an asset a plan shows: plain values, so that a plan outlives the session
    that read it (a background solve)."""

    id: int
    asset_code: str
    name: str
    jurisdiction_id: int
    use: str
    status: str
    lon: float | None
    lat: float | None
    capacity: int | None
    occupancy: int | None

    @classmethod
    def of(cls, a: Asset) -> AssetView:
        return cls(id=a.id, asset_code=a.asset_code, name=a.name,
                   jurisdiction_id=a.jurisdiction_id, use=a.use, status=a.status, lon=a.lon,
                   lat=a.lat, capacity=a.capacity, occupancy=a.occupancy)


@dataclass
class PlanSite:
    asset: AssetView
    jurisdiction: str
    keep: bool
    fixed_cents: int
    tco2e: float
    occupancy: int
    capacity: int
    pin: bool | None
    served_from: list[tuple[int, float, float]] = field(default_factory=list)  # (asset, share, km)

    @property
    def cost_per_place_cents(self) -> float:
        """The building's annual true cost (without vacancy) per place: what the charge is
        a percentage of."""
        return self.fixed_cents / self.capacity if self.capacity else 0.0


def duration(seconds: float) -> str:
    """A solver's time limit in words: "60 seconds", "5 minutes", "1 minute"."""
    if seconds >= 120 and seconds % 60 == 0:
        return f"{seconds / 60:g} minutes"
    return "1 minute" if seconds == 60 else f"{seconds:g} seconds"


def payback_year(one_time_cents: int, annual_net_cents: int) -> int | None:
    """The first whole year after the move by whose end the annual net has repaid the
    one-time cost (undiscounted): 0 when there is nothing to repay and the net is not
    negative; None when it never pays back (a net of zero or less against a cost, or a
    negative net)."""
    if annual_net_cents < 0:
        return None
    if one_time_cents <= 0:
        return 0
    if annual_net_cents == 0:
        return None
    return math.ceil(one_time_cents / annual_net_cents)


@dataclass
class MemberSavings:
    jurisdiction: str
    closed: int
    fixed_saved_cents: int
    travel_added_cents: int
    tco2e_avoided: float
    people_moved: float = 0.0
    move_cents: int = 0
    fitout_cents: int = 0
    charges_paid_cents: int = 0
    charges_received_cents: int = 0

    @property
    def net_cents(self) -> int:
        """Annual: buildings' cost saved - travel added (before charges)."""
        return self.fixed_saved_cents - self.travel_added_cents

    @property
    def one_time_cents(self) -> int:
        return self.move_cents + self.fitout_cents

    @property
    def net_after_charges_cents(self) -> int:
        """Annual: net - occupancy charges paid to hosts + charges received as a host."""
        return self.net_cents - self.charges_paid_cents + self.charges_received_cents

    @property
    def payback_year(self) -> int | None:
        return payback_year(self.one_time_cents, self.net_after_charges_cents)

    @property
    def worse_off(self) -> bool:
        """Loses money every year after charges, or never recovers its one-time cost."""
        return self.net_after_charges_cents < 0 or (
            self.one_time_cents > 0 and self.net_after_charges_cents <= 0)


def _part_methods(joined: str, names: dict[str, str]) -> list[str]:
    """The parts' methods from `solver`'s "+"-joined list, whose own names may hold a "+"
    ("lagrangian+milp", "split+milp"): the longest known name first."""
    tokens, out, i = joined.split("+"), [], 0
    while i < len(tokens):
        pair = "+".join(tokens[i:i + 2])
        if i + 1 < len(tokens) and pair in names:
            out.append(pair)
            i += 2
        else:
            out.append(tokens[i])
            i += 1
    return out


@dataclass
class Plan:
    use: str
    max_km: float
    max_sites: int | None
    travel_cents_per_person_km: int
    sites: list[PlanSite]
    members: list[MemberSavings]
    solution: Solution
    baseline_cents: int
    plan_cents: int
    tco2e_avoided: float
    excluded: list[tuple[AssetView, str]]
    time_limit: float = DEFAULT_TIME_LIMIT
    move_cents_per_person: int = DEFAULT_MOVE_CENTS_PER_PERSON
    fitout_cents_per_person: int = DEFAULT_FITOUT_CENTS_PER_PERSON
    charge_pct: float = DEFAULT_CHARGE_PCT
    keep_together: bool = False

    @property
    def model_label(self) -> str:
        """What the plan assumed of each building's occupants, in words."""
        return CONSOLIDATION_MODELS[self.keep_together]

    @property
    def savings_cents(self) -> int:
        return self.baseline_cents - self.plan_cents

    @property
    def one_time_cents(self) -> int:
        return sum(m.one_time_cents for m in self.members)

    @property
    def people_moved(self) -> float:
        return sum(m.people_moved for m in self.members)

    @property
    def payback_year(self) -> int | None:
        """The region's payback year: its one-time costs against its annual savings."""
        return payback_year(self.one_time_cents, self.savings_cents)

    @property
    def worse_off(self) -> list[MemberSavings]:
        return [m for m in self.members if m.worse_off]

    @property
    def has_plan(self) -> bool:
        """The solver returned a plan (proven optimal or the best found before a limit)."""
        return self.solution.has_solution

    @property
    def proven(self) -> bool:
        return self.solution.proven_optimal

    @property
    def why_not_proven(self) -> str:
        """Plain words for why the solver stopped without proof ("" when proven)."""
        sol = self.solution
        if sol.proven_optimal:
            return ""
        return {
            "time_limit": f"the solver reached its time limit of {duration(self.time_limit)}",
            "gap_limit": "the solver stopped at the optimality gap it was asked for",
            "limit": "the solver stopped at one of its work limits",
            "canceled": "the solve was canceled before it could prove the plan optimal",
            "infeasible": "no choice of buildings fits everyone within the travel limit, "
                          "the capacities, the pins and the maximum number of buildings"
                          + (" with each building's occupants kept together"
                             if self.keep_together else ""),
            "error": "the solver failed",
        }.get(sol.status, f"the solver stopped ({sol.status})")

    @property
    def method_label(self) -> str:
        """How the plan was solved, in words (see property.solver)."""
        method = self.solution.method
        if method.startswith("parts:"):
            labels = {"milp": "one MILP", "lagrangian+milp": "Lagrangian bounds, then a MILP",
                      "lagrangian": "Lagrangian relaxation",
                      "tree": "Lagrangian branch-and-bound",
                      "split+milp": "the plan that lets occupants split, then a MILP "
                                    "keeping them together",
                      "split": "the plan that lets occupants split, then kept together by "
                               "the cheapest moves",
                      "quick": "a quick plan and bound, not proven (too little time left "
                               "for a full solve)"}
            each = ", ".join(labels.get(m, m) for m in _part_methods(
                method.removeprefix("parts:"), labels))
            parts = int(self.solution.extra.get("parts", 0))
            return (f"{parts} independent parts (groups of buildings no one may move between), "
                    f"each solved on its own: {each} (HiGHS)")
        return {"milp": "one MILP (HiGHS)",
                "lagrangian+milp": "Lagrangian bounds and site fixing, then a MILP (HiGHS)",
                "lagrangian": "Lagrangian relaxation (its bound met the plan's cost)",
                "tree": "Lagrangian branch-and-bound over which buildings to keep, each "
                        "choice priced by a transportation LP (HiGHS)",
                "split+milp": "a MILP (HiGHS) keeping each building's occupants together, "
                              "started from the plan that lets them split between "
                              "buildings, solved first (no plan keeping them together "
                              "costs less than that one)",
                "split": "the plan that lets each building's occupants split between "
                         "buildings, then kept together by the cheapest moves (HiGHS; a "
                         "MILP keeping them together is too large to help here)",
                }.get(method, method)

    @property
    def parts_note(self) -> str:
        """Where the gap of a region solved part by part lies, in words ("" when the plan
        is proven or the region was solved whole)."""
        extra = self.solution.extra
        parts, proven = int(extra.get("parts", 0)), extra.get("parts_proven")
        if self.proven or parts < 2 or proven is None:
            return ""
        done = int(proven)
        left = parts - done
        where = ("none of them is proven optimal" if done == 0 else
                 f"{done:,} {'is' if done == 1 else 'are'} proven optimal, and the gap is in "
                 + ("the other one" if left == 1 else f"the other {left:,}"))
        note = (f"The region falls into {parts:,} independent parts (groups of buildings no "
                f"one may move between): {where}")
        sites = extra.get("largest_unproven_part_sites")
        needs = extra.get("largest_unproven_part_needs")
        if sites is not None and needs is not None:
            note += (f" ({'the largest: ' if left > 1 else ''}{int(sites):,} buildings and "
                     f"{int(needs):,} groups of occupants)")
        return note + "."

    @property
    def bound_cents(self) -> int | None:
        """Proven lower bound on the best plan's annual cost, when the solver has one."""
        bound = self.solution.dual_bound
        return None if bound is None else round(bound)

    @property
    def buildings_share(self) -> float | None:
        """Share of the plan's annual cost that is buildings (the rest is travel)."""
        sol = self.solution
        if sol.fixed_cost_total is None or not sol.objective:
            return None
        return sol.fixed_cost_total / sol.objective

    def map_data(self) -> dict[str, Any]:
        by_id = {s.asset.id: s for s in self.sites}
        return {
            "sites": [{"id": s.asset.id, "name": s.asset.name, "jurisdiction": s.jurisdiction,
                       "lon": s.asset.lon, "lat": s.asset.lat, "keep": s.keep}
                      for s in self.sites],
            "moves": [{"from": [s.asset.lon, s.asset.lat],
                       "to": [by_id[t].asset.lon, by_id[t].asset.lat], "share": share}
                      for s in self.sites for t, share, _km in s.served_from
                      if t != s.asset.id],
        }


def _km(a: AssetView, b: AssetView) -> float:
    if a.lon is None or a.lat is None or b.lon is None or b.lat is None:
        raise ValueError("only assets with a location are planned")  # plan() leaves the others out
    return haversine_km(a.lon, a.lat, b.lon, b.lat)


@dataclass
class Problem:
    """A consolidation problem read from the registry: plain values only (see `run`)."""

    use: str
    max_km: float
    max_sites: int | None
    travel_cents_per_person_km: int
    pins: dict[int, bool]
    time_limit: float
    move_cents_per_person: int
    fitout_cents_per_person: int
    charge_pct: float
    candidates: list[AssetView]
    names: dict[int, str]
    fixed: list[int]
    tco2e: list[float]
    sites: list[Site]
    needs: list[Need]
    cost: Any  # numpy (sites x needs) travel cost, inf where not allowed
    excluded: list[tuple[AssetView, str]]
    keep_together: bool = False  # each need to one site (single-source), else split demand

    def key(self) -> str:
        """A digest of everything the plan depends on: equal keys, equal plans."""
        facts = [self.use, self.max_km, self.max_sites, self.travel_cents_per_person_km,
                 sorted(self.pins.items()), self.time_limit, self.move_cents_per_person,
                 self.fitout_cents_per_person, self.charge_pct, self.keep_together,
                 [(a.id, a.jurisdiction_id, a.lon, a.lat, a.capacity, a.occupancy, f)
                  for a, f in zip(self.candidates, self.fixed, strict=True)],
                 [(a.id, why) for a, why in self.excluded]]
        return hashlib.sha256(json.dumps(facts, default=str).encode()).hexdigest()


def prepare(*, session: Session, actor: Principal, region_id: int, use: str,
            max_km: float = 15.0, max_sites: int | None = None,
            travel_cents_per_person_km: int = DEFAULT_TRAVEL_CENTS_PER_PERSON_KM,
            pins: dict[int, bool] | None = None, time_limit: float = DEFAULT_TIME_LIMIT,
            move_cents_per_person: int = DEFAULT_MOVE_CENTS_PER_PERSON,
            fitout_cents_per_person: int = DEFAULT_FITOUT_CENTS_PER_PERSON,
            charge_pct: float = DEFAULT_CHARGE_PCT, keep_together: bool = False) -> Problem:
    """Read the candidates of one use and build the problem (no solving). keep_together:
    each building's occupants go whole to one building (single-source)."""
    authorize(actor, Action.property_consolidate, region_id=region_id)
    if max_km <= 0:
        raise BadRequest("The travel limit must be more than 0 km")
    pins = pins or {}
    params = queries.parameters(session=session, region_id=region_id)
    names = {j.id: j.name for j in regions_queries.list_jurisdictions(session=session,
                                                                      region_id=region_id)}
    assets = list(session.scalars(
        select(Asset).where(Asset.jurisdiction_id.in_(list(names)), Asset.use == use,
                            Asset.status.in_((*CANDIDATE_STATUSES, *LEAVING_STATUSES)))
        .order_by(Asset.id)))
    label = use.replace("_", " ")
    candidates: list[Asset] = []
    excluded: list[tuple[AssetView, str]] = []
    for a in assets:
        unusable = [f for f in stored_values(a)[1] if f in PLANNED_FIELDS]
        if a.status in LEAVING_STATUSES:
            excluded.append((AssetView.of(a), "already leaving the portfolio (status "
                             f"{a.status.replace('_', ' ')})"))
        elif not a.interchangeable:
            excluded.append((AssetView.of(a), f"special-purpose space: not interchangeable "
                             f"with other {label} buildings (set on the asset)"))
        elif unusable:
            excluded.append((AssetView.of(a), "stored value out of range: "
                             + ", ".join(unusable)))
        elif a.lon is None or a.lat is None:
            excluded.append((AssetView.of(a), "no location"))
        elif not a.capacity:
            excluded.append((AssetView.of(a), "no capacity"))
        else:
            candidates.append(a)
    if not candidates:
        raise BadRequest(f"No {label} with a location and a capacity to plan with")
    unknown_pins = set(pins) - {a.id for a in candidates}
    if unknown_pins:
        raise BadRequest(f"Pinned asset(s) {sorted(unknown_pins)} are not candidates")
    costs: list[TrueCost] = [queries.asset_true_cost(a, params) for a in candidates]
    fixed = [tc.total_cents - tc.by_key()["vacancy"].cents for tc in costs]
    sites = [Site(id=str(a.id), capacity=float(a.capacity or 0), fixed_cost=float(f),
                  pin=pins.get(a.id)) for a, f in zip(candidates, fixed, strict=True)]
    need_assets = [a for a in candidates if (a.occupancy or 0) > 0]
    needs = [Need(id=str(a.id), demand=float(a.occupancy or 0)) for a in need_assets]
    lonlat = np.array([[a.lon, a.lat] for a in candidates], dtype=np.float64)
    need_lonlat = np.array([[a.lon, a.lat] for a in need_assets], dtype=np.float64)
    cost = travel_cost_matrix(lonlat, need_lonlat.reshape(-1, 2),
                              [n.demand for n in needs], travel_cents_per_person_km, max_km)
    return Problem(use=use, max_km=max_km, max_sites=max_sites,
                   travel_cents_per_person_km=travel_cents_per_person_km, pins=dict(pins),
                   time_limit=time_limit, move_cents_per_person=move_cents_per_person,
                   fitout_cents_per_person=fitout_cents_per_person, charge_pct=charge_pct,
                   candidates=[AssetView.of(a) for a in candidates], names=names,
                   fixed=fixed, tco2e=[tc.emissions.tco2e for tc in costs], sites=sites,
                   needs=needs, cost=cost, excluded=excluded, keep_together=keep_together)


def run(problem: Problem, *, on_progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None) -> Plan:
    """Solve a prepared problem and build the plan (no database: safe in any thread)."""
    p = problem
    sol = solve(p.sites, p.needs, p.cost, max_sites=p.max_sites,
                single_source=p.keep_together, time_limit=p.time_limit,
                on_progress=on_progress, cancel=cancel)
    # A plan exists whenever the solver has one, proven optimal or not (a time limit with an
    # incumbent): show that plan and its cost. Without one, everything stays as it is today.
    has_plan = sol.has_solution
    open_ids = set(sol.open_site_ids)
    plan_sites = []
    for a, f, co2 in zip(p.candidates, p.fixed, p.tco2e, strict=True):
        plan_sites.append(PlanSite(
            asset=a, jurisdiction=p.names[a.jurisdiction_id],
            keep=str(a.id) in open_ids if has_plan else True,
            fixed_cents=f, tco2e=co2, occupancy=a.occupancy or 0,
            capacity=a.capacity or 0, pin=p.pins.get(a.id)))
    by_id = {s.asset.id: s for s in plan_sites}
    members: dict[str, MemberSavings] = {}

    def member(name: str) -> MemberSavings:
        return members.setdefault(name, MemberSavings(name, 0, 0, 0, 0.0))

    charge = p.charge_pct / 100
    for s in plan_sites:
        m = member(s.jurisdiction)
        if not s.keep:
            m.closed += 1
            m.fixed_saved_cents += s.fixed_cents
            m.tco2e_avoided += s.tco2e
        served = sol.assignment.get(str(s.asset.id), [])
        for site_id, share in served:
            if len(served) == 1:  # served whole (always so when kept together): exactly 1,
                share = 1.0  # not the solver's 1 within its tolerance
            t = by_id[int(site_id)]
            km = _km(s.asset, t.asset)
            s.served_from.append((t.asset.id, share, km))
            people = share * s.occupancy
            m.travel_added_cents += round(people * km * p.travel_cents_per_person_km)
            if t.asset.id == s.asset.id:
                continue
            m.people_moved += people
            m.move_cents += round(people * p.move_cents_per_person)
            m.fitout_cents += round(people * p.fitout_cents_per_person)
            if t.jurisdiction != s.jurisdiction:
                paid = round(people * t.cost_per_place_cents * charge)
                m.charges_paid_cents += paid
                member(t.jurisdiction).charges_received_cents += paid
    baseline = sum(p.fixed)
    plan_cents = round(sol.objective) if sol.objective is not None else baseline
    return Plan(use=p.use, max_km=p.max_km, max_sites=p.max_sites, time_limit=p.time_limit,
                travel_cents_per_person_km=p.travel_cents_per_person_km, sites=plan_sites,
                members=sorted(members.values(), key=lambda m: -m.net_after_charges_cents),
                solution=sol,
                baseline_cents=baseline, plan_cents=plan_cents,
                tco2e_avoided=sum(m.tco2e_avoided for m in members.values()),
                excluded=p.excluded, move_cents_per_person=p.move_cents_per_person,
                fitout_cents_per_person=p.fitout_cents_per_person, charge_pct=p.charge_pct,
                keep_together=p.keep_together)


JOBS: jobs.Jobs[Plan] = jobs.Jobs("consolidation", keep=16, max_running=2)
"""The web process's consolidation solves (its plan page starts them, two at a time) and the
last 16 finished ones, kept by `Problem.key` and region."""


class PlanNotKept(Conflict):
    code = "plan-not-kept"
    title = "The plan is no longer kept"


def found_again(time_limit: float, then: str) -> str:
    """What a page says when it sends a planner back to a plan no longer kept (`PlanNotKept`),
    whose page finds it again; ``then``: what to do once it is shown."""
    return (f"The plan solved with up to {duration(time_limit)} is no longer kept here, so it "
            f"is being found again. {then} once it is shown.")


def kept(problem: Problem, region_id: int, job: str = "") -> Plan | None:
    """The finished plan of ``problem`` kept in `JOBS` for the region: the solve ``job`` (the
    id the plan page showed) when it solved this very problem, even if it was stopped by
    hand, else the latest such solve not stopped by hand; None when none is kept (the server
    restarted, or many plans were made since). Equal keys mean equal inputs and registry
    data, so a job id of another problem, or of another region, gives nothing."""
    key = problem.key()
    found = JOBS.get(job, region_id) if job else None
    if found is not None and (found.key != key or found.running or found.result is None):
        found = None
    found = found or JOBS.latest(key, region_id)
    return found.result if found is not None else None


def plan(*, session: Session, actor: Principal, region_id: int, use: str, max_km: float = 15.0,
         max_sites: int | None = None,
         travel_cents_per_person_km: int = DEFAULT_TRAVEL_CENTS_PER_PERSON_KM,
         pins: dict[int, bool] | None = None, time_limit: float = DEFAULT_TIME_LIMIT,
         on_progress: ProgressCallback | None = None,
         cancel: CancelToken | None = None,
         move_cents_per_person: int = DEFAULT_MOVE_CENTS_PER_PERSON,
         fitout_cents_per_person: int = DEFAULT_FITOUT_CENTS_PER_PERSON,
         charge_pct: float = DEFAULT_CHARGE_PCT, keep_together: bool = False,
         job: str = "", inline_limit: float | None = None) -> Plan:
    """The consolidation plan for one use. on_progress receives `solver.Progress` reports
    (bound, best plan, gap, elapsed) while solving; setting `cancel` (e.g. a
    threading.Event) stops the solve with the best plan found, reported as not proven.
    keep_together: each building's occupants go whole to one building (single-source).

    The plan of a finished solve of the same problem is taken from `JOBS` when one is kept
    (``job``: the page's own; see `kept`). Otherwise it is solved here, for at most
    time_limit seconds; with ``inline_limit`` (a request's), a time_limit above it is
    refused (`PlanNotKept`) rather than solved inside the request."""
    problem = prepare(session=session, actor=actor, region_id=region_id, use=use,
                      max_km=max_km, max_sites=max_sites,
                      travel_cents_per_person_km=travel_cents_per_person_km, pins=pins,
                      time_limit=time_limit, move_cents_per_person=move_cents_per_person,
                      fitout_cents_per_person=fitout_cents_per_person, charge_pct=charge_pct,
                      keep_together=keep_together)
    found = kept(problem, region_id, job)
    if found is not None:
        return found
    if inline_limit is not None and time_limit > inline_limit:
        raise PlanNotKept(
            f"The plan solved with up to {duration(time_limit)} is no longer kept here (the "
            "server restarted, or many plans were made since, or the registry changed): find "
            "the best plan again on the consolidation page, then use it")
    return run(problem, on_progress=on_progress, cancel=cancel)
