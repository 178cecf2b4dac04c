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
  person-km; pairs farther apart than the travel limit are not allowed.
- Savings for a member = fixed costs of its closed buildings - the added travel cost of its
  people. Tonnes CO2e avoided = the closed buildings' emissions (the kept buildings' energy
  is assumed not to grow with the added occupants: a stated simplification).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from govshare.core.errors import BadRequest
from govshare.core.geodesy import haversine_km
from govshare.core.tenancy import Action, Principal, authorize
from govshare.property import queries
from govshare.property.consolidation import (
    CancelToken,
    Need,
    Site,
    Solution,
    travel_cost_matrix,
)
from govshare.property.models import Asset, AssetStatus
from govshare.property.schemas import stored_values
from govshare.property.solver import ProgressCallback, solve
from govshare.regions import queries as regions_queries

# Fields the plan uses directly (true cost reads the rest, leaving out-of-range values out).
PLANNED_FIELDS = ("lon", "lat", "capacity", "occupancy")
CANDIDATE_STATUSES = (AssetStatus.in_use.value, AssetStatus.under_used.value,
                      AssetStatus.vacant.value)
# 230 commuting days x 2 trips x $0.416/km (IRS 2024 standard mileage rate, 67 cents a mile)
DEFAULT_TRAVEL_CENTS_PER_PERSON_KM = 19_136
TRAVEL_SOURCE = ("assumed: 230 working days x 2 trips x IRS 2024 standard mileage rate "
                 "($0.67/mile = $0.416/km) per person and km of distance")


@dataclass
class PlanSite:
    asset: Asset
    jurisdiction: str
    keep: bool
    fixed_cents: int
    tco2e: float
    occupancy: int
    capacity: int
    pin: bool | None
    served_from: list[tuple[int, float, float]] = field(default_factory=list)  # (asset, share, km)


@dataclass
class MemberSavings:
    jurisdiction: str
    closed: int
    fixed_saved_cents: int
    travel_added_cents: int
    tco2e_avoided: float

    @property
    def net_cents(self) -> int:
        return self.fixed_saved_cents - self.travel_added_cents


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
    excluded: list[tuple[Asset, str]]
    time_limit: float = 60.0

    @property
    def savings_cents(self) -> int:
        return self.baseline_cents - self.plan_cents

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
            "time_limit": f"the solver reached its time limit of {self.time_limit:g} seconds",
            "gap_limit": "the solver stopped at the optimality gap it was asked for",
            "limit": "the solver stopped at one of its work limits",
            "canceled": "the solve was canceled before it could prove the plan optimal",
            "infeasible": "no choice of buildings fits everyone within the travel limit, "
                          "the capacities, the pins and the maximum number of buildings",
            "error": "the solver failed",
        }.get(sol.status, f"the solver stopped ({sol.status})")

    @property
    def method_label(self) -> str:
        """How the plan was solved, in words (see property.solver)."""
        return {"milp": "one MILP (HiGHS)",
                "lagrangian+milp": "Lagrangian bounds and site fixing, then a MILP (HiGHS)",
                "lagrangian": "Lagrangian relaxation (its bound met the plan's cost)",
                }.get(self.solution.method, self.solution.method)

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


def _km(a: Asset, b: Asset) -> float:
    if a.lon is None or a.lat is None or b.lon is None or b.lat is None:
        raise ValueError("only assets with a location are planned")  # plan() leaves the others out
    return haversine_km(a.lon, a.lat, b.lon, b.lat)


def plan(*, session: Session, actor: Principal, region_id: int, use: str, max_km: float = 15.0,
         max_sites: int | None = None,
         travel_cents_per_person_km: int = DEFAULT_TRAVEL_CENTS_PER_PERSON_KM,
         pins: dict[int, bool] | None = None, time_limit: float = 60.0,
         on_progress: ProgressCallback | None = None,
         cancel: CancelToken | None = None) -> Plan:
    """The consolidation plan for one use. on_progress receives `solver.Progress` reports
    (bound, best plan, gap, elapsed) while solving; setting `cancel` (e.g. a
    threading.Event) stops the solve with the best plan found, reported as not proven."""
    authorize(actor, Action.property_consolidate, region_id=region_id)
    if max_km <= 0:
        raise BadRequest("The travel limit must be more than 0 km")
    pins = pins or {}
    params = queries.parameters(session=session, region_id=region_id)
    names = {j.id: j.name for j in regions_queries.list_jurisdictions(session=session,
                                                                      region_id=region_id)}
    assets = list(session.scalars(
        select(Asset).where(Asset.jurisdiction_id.in_(list(names)), Asset.use == use,
                            Asset.status.in_(CANDIDATE_STATUSES)).order_by(Asset.id)))
    candidates, excluded = [], []
    for a in assets:
        unusable = [f for f in stored_values(a)[1] if f in PLANNED_FIELDS]
        if unusable:
            excluded.append((a, "stored value out of range: " + ", ".join(unusable)))
        elif a.lon is None or a.lat is None:
            excluded.append((a, "no location"))
        elif not a.capacity:
            excluded.append((a, "no capacity"))
        else:
            candidates.append(a)
    if not candidates:
        raise BadRequest(f"No {use.replace('_', ' ')} with a location and a capacity to plan "
                         "with")
    unknown_pins = set(pins) - {a.id for a in candidates}
    if unknown_pins:
        raise BadRequest(f"Pinned asset(s) {sorted(unknown_pins)} are not candidates")
    costs = [queries.asset_true_cost(a, params) for a in candidates]
    fixed = [tc.total_cents - tc.by_key()["vacancy"].cents for tc in costs]
    sites = [Site(id=str(a.id), capacity=float(a.capacity or 0), fixed_cost=float(f),
                  pin=pins.get(a.id)) for a, f in zip(candidates, fixed, strict=True)]
    need_assets = [a for a in candidates if (a.occupancy or 0) > 0]
    needs = [Need(id=str(a.id), demand=float(a.occupancy or 0)) for a in need_assets]
    lonlat = np.array([[a.lon, a.lat] for a in candidates], dtype=np.float64)
    need_lonlat = np.array([[a.lon, a.lat] for a in need_assets], dtype=np.float64)
    cost = travel_cost_matrix(lonlat, need_lonlat.reshape(-1, 2),
                              [n.demand for n in needs], travel_cents_per_person_km, max_km)
    sol = solve(sites, needs, cost, max_sites=max_sites, time_limit=time_limit,
                on_progress=on_progress, cancel=cancel)
    # A plan exists whenever the solver has one, proven optimal or not (a time limit with an
    # incumbent): show that plan and its cost. Without one, everything stays as it is today.
    has_plan = sol.has_solution
    open_ids = set(sol.open_site_ids)
    plan_sites = []
    for a, f, tc in zip(candidates, fixed, costs, strict=True):
        plan_sites.append(PlanSite(
            asset=a, jurisdiction=names[a.jurisdiction_id],
            keep=str(a.id) in open_ids if has_plan else True,
            fixed_cents=f, tco2e=tc.emissions.tco2e, occupancy=a.occupancy or 0,
            capacity=a.capacity or 0, pin=pins.get(a.id)))
    by_id = {s.asset.id: s for s in plan_sites}
    members: dict[str, MemberSavings] = {}
    for s in plan_sites:
        m = members.setdefault(s.jurisdiction, MemberSavings(s.jurisdiction, 0, 0, 0, 0.0))
        if not s.keep:
            m.closed += 1
            m.fixed_saved_cents += s.fixed_cents
            m.tco2e_avoided += s.tco2e
        for site_id, share in sol.assignment.get(str(s.asset.id), []):
            t = by_id[int(site_id)]
            km = _km(s.asset, t.asset)
            s.served_from.append((t.asset.id, share, km))
            m.travel_added_cents += round(share * s.occupancy * km * travel_cents_per_person_km)
    baseline = sum(fixed)
    plan_cents = round(sol.objective) if sol.objective is not None else baseline
    return Plan(use=use, max_km=max_km, max_sites=max_sites, time_limit=time_limit,
                travel_cents_per_person_km=travel_cents_per_person_km, sites=plan_sites,
                members=sorted(members.values(), key=lambda m: -m.net_cents), solution=sol,
                baseline_cents=baseline, plan_cents=plan_cents,
                tco2e_avoided=sum(m.tco2e_avoided for m in members.values()),
                excluded=excluded)
