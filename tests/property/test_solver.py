"""The consolidation solver (govshare.property.solver) against the direct MILP and the data.

Every comparison recomputes the plan's cost from the raw instance (`check_invariants`: shares,
capacities, pins, max_sites, and fixed + assignment cost summed again from the sites and the
cost matrix), not only the solver's objective:

1. the brute-force cases of test_consolidation (split and single-source, pins, max_sites,
   infeasible ones), with the Lagrangian steps forced and with the automatic choice;
2. seeded random instances large enough to take the Lagrangian path, where buildings
   dominate the cost: the same optimum as `consolidation.solve`;
3. OR-Library instances: the published optima;
4. progress reports, cancellation and the time limit: honest statuses.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from govshare.property import consolidation, solver
from govshare.property.consolidation import Need, Site, Solution
from tests.property.test_consolidation import (
    CASES,
    ORLIB,
    REL,
    SMALL,
    Instance,
    brute_force,
    case,
    check_invariants,
    parse_orlib,
    published_optima,
)


@pytest.mark.parametrize(("seed", "single_source"), CASES[::3])
@pytest.mark.parametrize("method", ["lagrangian", "seeded", "auto"])
def test_matches_brute_force(seed: int, single_source: bool, method: str) -> None:
    sites, needs, cost, max_sites = case(seed, single_source)
    expected = brute_force(sites, needs, cost, max_sites, single_source)
    sol = solver.solve(sites, needs, cost, max_sites=max_sites, single_source=single_source,
                       method=method)
    if expected is None:
        assert sol.status == "infeasible", sol
        assert not sol.proven_optimal and sol.objective is None and sol.message
    else:
        assert sol.status == "optimal" and sol.proven_optimal and sol.gap == 0.0, sol
        assert sol.objective == pytest.approx(expected, rel=REL)
        check_invariants(sol, sites, needs, cost, max_sites, single_source)


def registry(seed: int, m: int, n: int, radius: float) -> Instance:
    """Buildings (sites) whose occupants (needs) may move to any building within `radius`:
    fixed costs dominate, travel is cheap; some pins."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 20, size=(m, 2))
    owner = rng.integers(0, m, size=n)
    need_xy = xy[owner] + rng.normal(0, 0.3, size=(n, 2))
    demand = rng.integers(5, 60, size=n).astype(float)
    load = np.bincount(owner, weights=demand, minlength=m)
    cap = np.round(np.maximum(load, 20) * rng.uniform(1.1, 2.5, size=m))
    pins: list[bool | None] = [None] * m
    for i in rng.choice(m, size=max(1, m // 15), replace=False).tolist():
        pins[i] = bool(rng.random() < 0.5)
    sites = [Site(id=f"b{i}", capacity=float(cap[i]),
                  fixed_cost=float(20_000 + 40 * cap[i] * rng.uniform(0.5, 1.5)), pin=pins[i])
             for i in range(m)]
    needs = [Need(id=f"g{j}", demand=float(demand[j])) for j in range(n)]
    dist = np.hypot(*(xy[:, None, :] - need_xy[None, :, :]).transpose(2, 0, 1))
    cost = dist * demand[None, :] * 30.0
    cost[dist > radius] = np.inf
    cost[owner, np.arange(n)] = np.minimum(cost[owner, np.arange(n)],
                                           dist[owner, np.arange(n)] * demand * 30.0)
    return sites, needs, cost


@pytest.mark.parametrize(("seed", "single_source", "max_sites"),
                         [(1, False, None), (2, False, None), (3, True, None),
                          (4, False, 14), (5, True, 16)])
def test_same_optimum_as_the_direct_milp(seed: int, single_source: bool,
                                         max_sites: int | None) -> None:
    sites, needs, cost = registry(seed, 30, 90, radius=6.0)
    ref = consolidation.solve(sites, needs, cost, max_sites=max_sites,
                              single_source=single_source, time_limit=60)
    sol = solver.solve(sites, needs, cost, max_sites=max_sites, single_source=single_source,
                       time_limit=60)
    assert sol.method in ("milp", "lagrangian+milp", "lagrangian", "split+milp", "split")
    if ref.status == "infeasible":
        assert sol.status == "infeasible"
        return
    assert ref.proven_optimal, ref
    assert sol.status == "optimal" and sol.proven_optimal and sol.gap == 0.0, sol
    assert sol.dual_bound == pytest.approx(sol.objective, rel=REL)
    assert sol.objective == pytest.approx(ref.objective, rel=REL)
    check_invariants(sol, sites, needs, cost, max_sites, single_source)
    assert sol.extra.get("lagrangian_bound", -math.inf) <= sol.objective * (1 + 1e-9)


@pytest.mark.parametrize("name", SMALL[::2] + ["cap81", "cap103", "cap131"])
def test_orlib_matches_published_optimum(name: str) -> None:
    sites, needs, cost = parse_orlib(ORLIB / f"{name}.txt")
    sol = solver.solve(sites, needs, cost, method="lagrangian")
    assert sol.status == "optimal" and sol.proven_optimal and sol.gap == 0.0, sol
    assert sol.objective == pytest.approx(published_optima()[(name, None)], rel=REL)
    check_invariants(sol, sites, needs, cost)


def test_the_steps_start_at_the_strong_lps_duals_where_that_lp_is_cheap() -> None:
    """160 buildings, 15,166 pairs, 2 s: from the cheapest connections the steps ended 0.09%
    below the LP bound (386 steps, gap 5.9%); from the LP's duals the bound is the LP's at
    once (its value recomputed as L(u), so equal within rounding)."""
    sites, needs, cost = registry(5, 160, 640, 5.0)
    inst = solver._Instance(sites, needs, cost)
    assert inst.pi.size <= solver.QUICK_MAX_PAIRS
    lp = solver._strong_lp(inst, None)
    assert lp is not None
    sol = solver.solve(sites, needs, cost, method="lagrangian", time_limit=2.0)
    assert sol.method == "lagrangian+milp" and sol.objective is not None
    assert sol.extra["lagrangian_bound"] == pytest.approx(lp.value, rel=1e-9)
    assert sol.dual_bound is not None and sol.dual_bound >= lp.value * (1 - 1e-9)
    check_invariants(sol, sites, needs, cost)


def test_progress_reports_bound_best_gap_and_ends_with_done() -> None:
    sites, needs, cost = parse_orlib(ORLIB / "cap131.txt")
    seen: list[solver.Progress] = []
    sol = solver.solve(sites, needs, cost, on_progress=seen.append, method="lagrangian")
    assert seen and seen[-1].phase == "done"
    assert seen[-1].best == sol.objective and seen[-1].gap == 0.0
    assert all(p.elapsed >= 0 for p in seen)
    bounds = [p.bound for p in seen if p.bound is not None]
    assert bounds and max(bounds) <= sol.objective * (1 + 1e-9)
    for p in seen:
        if p.best is not None and p.bound is not None:
            assert p.gap is not None and math.isclose(
                p.gap, max(0.0, p.best - p.bound) / abs(p.best), rel_tol=1e-9, abs_tol=1e-12)


@pytest.mark.parametrize("method", ["lagrangian", "milp"])
def test_cancel_stops_without_claiming_a_proof(method: str) -> None:
    sites, needs, cost = parse_orlib(ORLIB / "capa.txt", capacity=8000)
    stop = threading.Event()
    stop.set()
    sol = solver.solve(sites, needs, cost, cancel=stop, method=method, time_limit=30)
    assert sol.status == "canceled" and not sol.proven_optimal
    if sol.has_solution:
        check_invariants(sol, sites, needs, cost)


def test_cancel_from_another_thread_while_solving() -> None:
    sites, needs, cost = parse_orlib(ORLIB / "capa.txt", capacity=8000)
    stop = threading.Event()
    timer = threading.Timer(0.5, stop.set)
    timer.start()
    try:
        sol = solver.solve(sites, needs, cost, cancel=stop, time_limit=60)
    finally:
        timer.cancel()
    assert sol.status == "canceled" and not sol.proven_optimal
    if sol.has_solution:
        check_invariants(sol, sites, needs, cost)
        assert sol.gap is not None and sol.gap > 0


def test_time_limit_gives_best_plan_gap_and_bound() -> None:
    """capc at 5,750 needs a few hundred nodes of the tree: at 1.5 s the best plan so far
    with an honest bound (capa 8,000 is proven within 2 s now)."""
    sites, needs, cost = parse_orlib(ORLIB / "capc.txt", capacity=5750)
    sol = solver.solve(sites, needs, cost, time_limit=1.5)
    assert sol.status == "time_limit" and not sol.proven_optimal
    assert sol.has_solution and sol.dual_bound is not None and sol.gap is not None
    check_invariants(sol, sites, needs, cost)
    optimum = published_optima()[("capc", 5750.0)]
    assert sol.dual_bound <= optimum * (1 + 1e-9) <= sol.objective * (1 + 2e-9)
    assert sol.gap == pytest.approx((sol.objective - sol.dual_bound) / sol.objective)


def test_small_instances_go_straight_to_the_direct_milp() -> None:
    sites, needs, cost, max_sites = case(0, False)
    sol = solver.solve(sites, needs, cost, max_sites=max_sites)
    assert sol.method == "milp"


def test_unknown_method_is_refused() -> None:
    sites, needs, cost, _ = case(0, False)
    with pytest.raises(ValueError, match="method"):
        solver.solve(sites, needs, cost, method="magic")


@pytest.mark.parametrize("seed", [1, 4])
def test_lagrangian_path_gives_the_direct_milps_optimum(seed: int) -> None:
    """The Lagrangian steps forced (auto may leave these sizes to the direct MILP)."""
    sites, needs, cost = registry(seed, 30, 90, radius=6.0)
    max_sites = 14 if seed == 4 else None
    ref = consolidation.solve(sites, needs, cost, max_sites=max_sites)
    sol = solver.solve(sites, needs, cost, max_sites=max_sites, method="lagrangian")
    assert ref.proven_optimal and sol.proven_optimal and sol.method != "milp"
    assert sol.objective == pytest.approx(ref.objective, rel=REL)
    check_invariants(sol, sites, needs, cost, max_sites)


def test_direct_milp_takes_a_start_plan_and_a_foreign_one_is_ignored() -> None:
    sites, needs, cost = parse_orlib(ORLIB / "cap41.txt")
    ref = consolidation.solve(sites, needs, cost)
    again = consolidation.solve(sites, needs, cost, start=ref.assignment)
    assert again.proven_optimal and again.objective == pytest.approx(ref.objective, rel=REL)
    check_invariants(again, sites, needs, cost)
    foreign = {needs[0].id: [("no such site", 1.0)]}
    other = consolidation.solve(sites, needs, cost, start=foreign)
    assert other.proven_optimal and other.objective == pytest.approx(ref.objective, rel=REL)


@pytest.mark.parametrize(("seed", "single_source", "max_sites"),
                         [(6, False, None), (8, False, 16)])
def test_seeded_direct_milp_gives_the_direct_milps_optimum(seed: int, single_source: bool,
                                                           max_sites: int | None) -> None:
    """Up to DIRECT_MAX_SITES sites, 'auto' seeds the direct MILP (strong LP, restricted MILP,
    reduced-cost fixing): same optimum, a bound that never passes it, the plan recomputed."""
    sites, needs, cost = registry(seed, 40, 120, radius=6.0)
    ref = consolidation.solve(sites, needs, cost, max_sites=max_sites,
                              single_source=single_source, time_limit=60)
    sol = solver.solve(sites, needs, cost, max_sites=max_sites, single_source=single_source,
                       time_limit=60)
    assert "seed_seconds" in sol.extra and sol.method == "milp"
    assert ref.proven_optimal, ref
    assert sol.status == "optimal" and sol.proven_optimal and sol.gap == 0.0, sol
    assert sol.objective == pytest.approx(ref.objective, rel=REL)
    check_invariants(sol, sites, needs, cost, max_sites, single_source)
    assert sol.extra["lagrangian_bound"] <= sol.objective * (1 + 1e-9)
    assert sol.extra["strong_lp_value"] <= sol.objective * (1 + 1e-9)
    assert sol.extra["seed_cost"] >= sol.objective * (1 - 1e-9)


@pytest.mark.parametrize("name", ["cap41", "cap113", "cap134"])
def test_seeded_path_matches_published_optimum(name: str) -> None:
    sites, needs, cost = parse_orlib(ORLIB / f"{name}.txt")
    sol = solver.solve(sites, needs, cost)
    assert "seed_seconds" in sol.extra
    assert sol.status == "optimal" and sol.proven_optimal and sol.gap == 0.0, sol
    assert sol.objective == pytest.approx(published_optima()[(name, None)], rel=REL)
    check_invariants(sol, sites, needs, cost)


def test_direct_milp_without_sub_mip_heuristics_proves_the_same_optimum() -> None:
    sites, needs, cost = parse_orlib(ORLIB / "cap71.txt")
    ref = consolidation.solve(sites, needs, cost)
    bare = consolidation.solve(sites, needs, cost, heuristics=False)
    seeded = consolidation.solve(sites, needs, cost, heuristics=False, start=ref.assignment)
    for sol in (bare, seeded):
        assert sol.proven_optimal and sol.objective == pytest.approx(ref.objective, rel=REL)
        check_invariants(sol, sites, needs, cost)
    assert ref.objective == pytest.approx(published_optima()[("cap71", None)], rel=REL)


@pytest.mark.parametrize(("trust_gap", "heuristics"), [(1.0, False), (0.0, True)])
def test_the_seeded_milp_trusts_only_a_seed_near_the_bound(
        monkeypatch: pytest.MonkeyPatch, trust_gap: float, heuristics: bool) -> None:
    """The final MILP turns HiGHS's sub-MIP heuristics off only for a seed that is its
    restricted problem's optimum within SEED_TRUST_GAP of the bound; the optimum is the
    same either way."""
    sites, needs, cost = registry(6, 40, 120, radius=6.0)
    real = consolidation.solve
    finals: list[bool] = []

    def spy(*args: Any, **kwargs: Any) -> Solution:
        if "start" in kwargs:  # the final MILP, started from the seed
            finals.append(kwargs["heuristics"])
        return real(*args, **kwargs)
    monkeypatch.setattr(consolidation, "solve", spy)
    monkeypatch.setattr(solver, "SEED_TRUST_GAP", trust_gap)
    sol = solver.solve(sites, needs, cost, time_limit=60)
    assert finals == [heuristics], finals
    assert sol.extra["seed_trusted"] == float(not heuristics)
    ref = real(sites, needs, cost, time_limit=60)
    assert ref.proven_optimal and sol.proven_optimal, sol
    assert sol.objective == pytest.approx(ref.objective, rel=REL)
    check_invariants(sol, sites, needs, cost)


def test_seeded_path_reports_only_bounds_of_the_whole() -> None:
    """The seeding MILP solves a restriction (its own bound is not a bound of the whole) and
    the final MILP a problem reduced by fixing: no report may claim a bound above the
    optimum."""
    sites, needs, cost = registry(6, 40, 120, radius=6.0)
    seen: list[solver.Progress] = []
    sol = solver.solve(sites, needs, cost, on_progress=seen.append, time_limit=60)
    assert "seed_seconds" in sol.extra and sol.proven_optimal
    assert seen and seen[-1].phase == "done" and seen[-1].best == sol.objective
    for p in seen:
        assert p.bound is None or p.bound <= sol.objective * (1 + 1e-9), p
        assert p.best is None or p.best >= sol.objective * (1 - 1e-9), p


def test_seeded_path_canceled_before_it_starts_claims_nothing() -> None:
    sites, needs, cost = registry(6, 40, 120, radius=6.0)
    stop = threading.Event()
    stop.set()
    sol = solver.solve(sites, needs, cost, cancel=stop, time_limit=60)
    assert sol.status == "canceled" and not sol.proven_optimal


def test_seeded_path_canceled_while_solving_claims_nothing() -> None:
    sites, needs, cost = registry(6, 40, 120, radius=6.0)

    class AfterChecks:
        """Set once it has been asked a few times: cancels inside the seeded steps."""

        def __init__(self, n: int) -> None:
            self.left = n

        def is_set(self) -> bool:
            self.left -= 1
            return self.left < 0

    ref = consolidation.solve(sites, needs, cost)
    statuses = set()
    for n in (1, 2, 3, 5):
        sol = solver.solve(sites, needs, cost, cancel=AfterChecks(n), time_limit=60)
        statuses.add(sol.status)
        assert sol.status in ("canceled", "optimal"), sol
        if sol.status == "canceled":
            assert not sol.proven_optimal
        else:  # the proof was in before the cancel was seen
            assert sol.objective == pytest.approx(ref.objective, rel=REL)
        if sol.has_solution:
            check_invariants(sol, sites, needs, cost)
    assert "canceled" in statuses


# --- the Lagrangian branch-and-bound (split demand; 'auto' above TREE_MIN_PAIRS pairs) -------

@pytest.mark.parametrize("seed", range(30))
def test_tree_matches_brute_force(seed: int) -> None:
    """Pins, max_sites, forbidden pairs (costs beyond a radius) and infeasible cases, forced
    through the tree: the enumerated optimum, the plan recomputed from the data."""
    sites, needs, cost, max_sites = case(seed, False)
    expected = brute_force(sites, needs, cost, max_sites, False)
    sol = solver.solve(sites, needs, cost, max_sites=max_sites, method="tree")
    if expected is None:
        assert sol.status == "infeasible", sol
        assert not sol.proven_optimal and sol.objective is None and sol.message
        return
    assert sol.method == "tree"
    assert sol.status == "optimal" and sol.proven_optimal and sol.gap == 0.0, sol
    assert sol.objective == pytest.approx(expected, rel=REL)
    assert sol.dual_bound == pytest.approx(expected, rel=REL)
    check_invariants(sol, sites, needs, cost, max_sites)


@pytest.mark.parametrize(("seed", "max_sites"),
                         [(1, None), (2, None), (3, None), (4, 9), (9, 8), (14, None)])
def test_tree_gives_the_direct_milps_optimum(seed: int, max_sites: int | None) -> None:
    """Random registries with pins, a travel radius (forbidden pairs), unequal capacities
    (the site choice's capacity row is then a fractional knapsack) and max_sites."""
    sites, needs, cost = registry(seed, 30, 90, radius=6.0)
    ref = consolidation.solve(sites, needs, cost, max_sites=max_sites, time_limit=60)
    sol = solver.solve(sites, needs, cost, max_sites=max_sites, method="tree",
                       time_limit=60)
    if ref.status == "infeasible":
        assert sol.status == "infeasible"
        return
    assert ref.proven_optimal, ref
    assert sol.method == "tree"
    assert sol.status == "optimal" and sol.proven_optimal and sol.gap == 0.0, sol
    assert sol.objective == pytest.approx(ref.objective, rel=REL)
    check_invariants(sol, sites, needs, cost, max_sites)
    assert sol.extra["lagrangian_bound"] <= sol.objective * (1 + 1e-9)


@pytest.mark.parametrize("name", ["cap41", "cap64", "cap93", "cap111", "cap134"])
def test_tree_proves_the_published_optima_of_small_orlib_instances(name: str) -> None:
    """Equal capacities (the site choice is then exact) and, in cap111-cap134, 50 sites:
    the published optimum, proven, with the plan recomputed from the data."""
    sites, needs, cost = parse_orlib(ORLIB / f"{name}.txt")
    sol = solver.solve(sites, needs, cost, method="tree", time_limit=60)
    assert sol.status == "optimal" and sol.proven_optimal, sol
    assert sol.objective == pytest.approx(published_optima()[(name, None)], rel=REL)
    check_invariants(sol, sites, needs, cost)


def test_tree_is_not_used_for_single_source() -> None:
    """Its leaves are priced by a transportation LP: with single-source the solver picks
    another method, and still the direct MILP's optimum."""
    sites, needs, cost = registry(3, 30, 90, radius=6.0)
    ref = consolidation.solve(sites, needs, cost, single_source=True, time_limit=60)
    sol = solver.solve(sites, needs, cost, single_source=True, method="tree",
                       time_limit=60)
    assert sol.method != "tree"
    assert ref.proven_optimal and sol.proven_optimal
    assert sol.objective == pytest.approx(ref.objective, rel=REL)
    check_invariants(sol, sites, needs, cost, single_source=True)


@pytest.mark.parametrize("capacity", [7000, 5750])
def test_auto_proves_the_hardest_100_x_1000_instances_by_the_tree(capacity: int) -> None:
    """capb at 7,000 and capc at 5,750 (100,000 pairs; the direct MILP does not finish its
    root in 60 s): the published optimum, proven, and the progress reports never claim a
    bound above it or a plan below it."""
    name = "capb" if capacity == 7000 else "capc"
    sites, needs, cost = parse_orlib(ORLIB / f"{name}.txt", capacity=capacity)
    seen: list[solver.Progress] = []
    sol = solver.solve(sites, needs, cost, time_limit=120, on_progress=seen.append)
    assert sol.method == "tree"
    assert sol.status == "optimal" and sol.proven_optimal and sol.gap == 0.0, sol
    optimum = published_optima()[(name, float(capacity))]
    assert sol.objective == pytest.approx(optimum, rel=REL)
    check_invariants(sol, sites, needs, cost)
    assert sol.extra["tree_nodes"] > 1
    assert seen and seen[-1].phase == "done" and seen[-1].gap == 0.0
    assert any(p.phase == "tree" for p in seen)
    for p in seen:
        assert p.bound is None or p.bound <= optimum * (1 + 1e-9), p
        assert p.best is None or p.best >= optimum * (1 - 1e-9), p


def test_tree_time_limit_reports_plan_gap_and_bound() -> None:
    sites, needs, cost = parse_orlib(ORLIB / "capb.txt", capacity=6000)
    sol = solver.solve(sites, needs, cost, time_limit=2.0, method="tree")
    assert sol.status == "time_limit" and not sol.proven_optimal
    assert sol.has_solution and sol.dual_bound is not None and sol.gap is not None
    check_invariants(sol, sites, needs, cost)
    optimum = published_optima()[("capb", 6000.0)]
    assert sol.dual_bound <= optimum * (1 + 1e-9) <= sol.objective * (1 + 2e-9)
    assert sol.gap == pytest.approx((sol.objective - sol.dual_bound) / sol.objective)


def test_tree_can_be_canceled_with_its_best_plan() -> None:
    sites, needs, cost = parse_orlib(ORLIB / "capb.txt", capacity=7000)
    stop = threading.Event()

    def progress(p: solver.Progress) -> None:
        if p.phase == "tree":
            stop.set()

    sol = solver.solve(sites, needs, cost, time_limit=120, method="tree",
                       on_progress=progress, cancel=stop)
    assert sol.status == "canceled" and not sol.proven_optimal, sol
    assert sol.has_solution and sol.dual_bound is not None
    check_invariants(sol, sites, needs, cost)
    optimum = published_optima()[("capb", 7000.0)]
    assert sol.dual_bound <= optimum * (1 + 1e-9) <= sol.objective * (1 + 2e-9)


@pytest.mark.parametrize(("max_tree_sites", "tree"), [(100, True), (10, False)])
def test_auto_takes_the_tree_only_up_to_its_site_limit(monkeypatch: pytest.MonkeyPatch,
                                                        max_tree_sites: int,
                                                        tree: bool) -> None:
    """The thresholds lowered so a small registry stands in for a large one: split demand
    above TREE_MIN_PAIRS pairs goes to the tree only up to TREE_MAX_SITES sites; either way
    the direct MILP's optimum."""
    monkeypatch.setattr(solver, "SMALL_PAIRS", 0)
    monkeypatch.setattr(solver, "DIRECT_MAX_SITES", 0)
    monkeypatch.setattr(solver, "TREE_MIN_PAIRS", 0)
    monkeypatch.setattr(solver, "TREE_MAX_SITES", max_tree_sites)
    sites, needs, cost = registry(2, 18, 54, radius=6.0)
    ref = consolidation.solve(sites, needs, cost)
    sol = solver.solve(sites, needs, cost, time_limit=60)
    assert (sol.method == "tree") is tree
    assert ref.proven_optimal and sol.proven_optimal
    assert sol.objective == pytest.approx(ref.objective, rel=REL)
    check_invariants(sol, sites, needs, cost)


# --- independent parts (groups of buildings no one may move between) ----------------------

def towns(seed: int, n_towns: int, m: int, n: int, *, short_town: bool = False) -> Instance:
    """n_towns registries 100 km apart (radius 6 km: no one moves between towns), plus a
    building pinned open that no one may reach and one that no one may reach and nothing
    pins; with short_town, the last town cannot house its own people."""
    sites: list[Site] = []
    needs: list[Need] = []
    blocks = []
    for t in range(n_towns):
        s, nd, c = registry(seed * 100 + t, m, n, radius=6.0)
        if short_town and t == n_towns - 1:
            s = [Site(id=x.id, capacity=x.capacity * 0.2, fixed_cost=x.fixed_cost, pin=x.pin)
                 for x in s]
        sites += [Site(id=f"t{t}-{x.id}", capacity=x.capacity, fixed_cost=x.fixed_cost,
                       pin=x.pin) for x in s]
        needs += [Need(id=f"t{t}-{x.id}", demand=x.demand) for x in nd]
        blocks.append(c)
    sites += [Site(id="far-kept", capacity=50.0, fixed_cost=30_000.0, pin=True),
              Site(id="far-free", capacity=50.0, fixed_cost=30_000.0)]
    cost = np.full((len(sites), len(needs)), np.inf)
    for t, c in enumerate(blocks):
        cost[t * m:(t + 1) * m, t * n:(t + 1) * n] = c
    return sites, needs, cost


@pytest.mark.parametrize(("seed", "single_source"), [(1, False), (2, False), (3, True)])
def test_independent_parts_are_solved_apart_with_the_wholes_optimum(
        seed: int, single_source: bool) -> None:
    sites, needs, cost = towns(seed, 3, 16, 48)
    ref = consolidation.solve(sites, needs, cost, single_source=single_source, time_limit=60)
    seen: list[solver.Progress] = []
    sol = solver.solve(sites, needs, cost, single_source=single_source, time_limit=60,
                       on_progress=seen.append)
    assert ref.proven_optimal, ref
    assert sol.method.startswith("parts:") and sol.extra["parts"] >= 3, sol.method
    assert sol.status == "optimal" and sol.proven_optimal and sol.gap == 0.0, sol
    assert sol.objective == pytest.approx(ref.objective, rel=REL)
    assert sol.dual_bound == pytest.approx(ref.objective, rel=REL)
    check_invariants(sol, sites, needs, cost, single_source=single_source)
    assert "far-kept" in sol.open_site_ids and "far-free" in sol.closed_site_ids
    assert sol.extra["parts_proven"] == sol.extra["parts"]
    assert "largest_unproven_part_sites" not in sol.extra
    assert seen and seen[-1].phase == "done" and seen[-1].gap == 0.0
    assert [p.phase for p in seen].count("done") == 1
    parts = int(sol.extra["parts"])
    assert all(p.parts == parts and 1 <= p.part <= parts for p in seen[:-1])
    for p in seen:
        assert p.best is None or p.best >= ref.objective * (1 - 1e-9), p
        assert p.bound is None or p.bound <= ref.objective * (1 + 1e-9), p


def test_a_part_that_cannot_house_its_people_makes_the_whole_infeasible() -> None:
    sites, needs, cost = towns(4, 3, 12, 36, short_town=True)
    assert consolidation.solve(sites, needs, cost).status == "infeasible"
    sol = solver.solve(sites, needs, cost)
    assert sol.status == "infeasible" and not sol.proven_optimal and sol.objective is None
    assert sol.message


def test_max_sites_ties_the_parts_together() -> None:
    """A limit on the number of buildings kept is shared by every part: no split then."""
    sites, needs, cost = towns(5, 2, 12, 36)
    ref = consolidation.solve(sites, needs, cost, max_sites=17, time_limit=60)
    sol = solver.solve(sites, needs, cost, max_sites=17, time_limit=60)
    assert not sol.method.startswith("parts:")
    assert ref.status == sol.status
    if ref.proven_optimal:
        assert sol.proven_optimal
        assert sol.objective == pytest.approx(ref.objective, rel=REL)
        check_invariants(sol, sites, needs, cost, 17)


def test_parts_share_the_time_limit_and_say_what_is_not_proven() -> None:
    """Two capb-sized towns at a time limit too short for either: the plan of the whole
    with a bound that is the sum of the parts' bounds, never a claim of optimality."""
    a_sites, a_needs, a_cost = parse_orlib(ORLIB / "capb.txt", capacity=7000)
    sites = [Site(id=f"{t}{s.id}", capacity=s.capacity, fixed_cost=s.fixed_cost)
             for t in "xy" for s in a_sites]
    needs = [Need(id=f"{t}{nd.id}", demand=nd.demand) for t in "xy" for nd in a_needs]
    m, n = len(a_sites), len(a_needs)
    cost = np.full((2 * m, 2 * n), np.inf)
    cost[:m, :n] = a_cost
    cost[m:, n:] = a_cost
    seen: list[solver.Progress] = []
    sol = solver.solve(sites, needs, cost, time_limit=3.0, on_progress=seen.append)
    assert sol.method.startswith("parts:")
    optimum = 2 * published_optima()[("capb", 7000.0)]
    # the page says which part is being solved; after the quick plans of both parts it has a
    # plan of the whole and its bound, never better than the optimum on either side
    assert {p.part for p in seen[:-1]} == {1, 2} and all(p.parts == 2 for p in seen[:-1])
    assert seen[0].phase == "quick" and seen[0].part == 1 and seen[0].best is None
    whole = next(i for i, p in enumerate(seen) if p.best is not None)
    assert seen[whole].phase == "quick" and seen[whole].part == 2  # both quick plans made
    assert all(p.best is not None and p.bound is not None for p in seen[whole:])
    for p in seen:
        assert p.best is None or p.best >= optimum * (1 - 1e-9), p
        assert p.bound is None or p.bound <= optimum * (1 + 1e-9), p
    assert sol.status == "time_limit" and not sol.proven_optimal
    assert sol.has_solution and sol.dual_bound is not None
    check_invariants(sol, sites, needs, cost)
    assert sol.dual_bound <= optimum * (1 + 1e-9) <= sol.objective * (1 + 2e-9)
    # where the gap lies, for the page: at least one of the two capb towns is not proven
    assert sol.extra["parts"] == 2 and sol.extra["parts_proven"] in (0, 1)
    assert (sol.extra["largest_unproven_part_sites"],
            sol.extra["largest_unproven_part_needs"]) == (m, n)


def test_a_canceled_region_of_parts_keeps_the_plan_of_the_whole_it_had() -> None:
    """Canceled while its first large part is solved, a region of parts still returns a
    plan of the whole (the quick plans, with their bound), marked canceled, not proven."""
    sites, needs, cost = towns(2, 4, 30, 90)
    token = threading.Event()
    seen: list[solver.Progress] = []

    def on_progress(p: solver.Progress) -> None:
        seen.append(p)
        if p.phase != "quick" and p.best is not None:
            token.set()
    sol = solver.solve(sites, needs, cost, time_limit=60, on_progress=on_progress,
                       cancel=token)
    assert token.is_set()
    assert sol.status == "canceled" and not sol.proven_optimal and sol.has_solution
    check_invariants(sol, sites, needs, cost)
    full = solver.solve(sites, needs, cost, time_limit=120)
    assert full.proven_optimal
    assert sol.dual_bound is not None
    assert sol.dual_bound <= full.objective * (1 + 1e-9) <= sol.objective * (1 + 2e-9)


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_a_quick_plan_serves_everyone_and_its_bound_is_below_the_optimum(seed: int) -> None:
    """`_quick` (a part the time left cannot prove): a plan that keeps every promise of a
    solution, and a bound no higher than the direct MILP's proven optimum."""
    sites, needs, cost = registry(seed, 24, 80, radius=8.0)
    ref = consolidation.solve(sites, needs, cost, time_limit=60)
    inst = solver._Instance(sites, needs, cost)
    sol = solver._quick(sites, needs, inst, 0.0)
    assert ref.proven_optimal and sol is not None
    check_invariants(sol, sites, needs, cost)
    assert sol.dual_bound is not None
    assert sol.dual_bound <= ref.objective * (1 + 1e-9) <= sol.objective * (1 + 2e-9)
    assert sol.proven_optimal == (sol.status == "optimal") == (sol.gap == 0.0)
    assert sol.method == ("lagrangian" if sol.proven_optimal else "quick")


def test_many_parts_at_a_short_limit_each_get_a_quick_plan_not_an_overrun() -> None:
    """Twelve towns at a limit far too short for a full solve of each (which takes up to
    about a second whatever its limit): the parts the time cannot cover get a quick plan,
    so the whole still has a plan, an honest bound, and no claim of optimality it lacks."""
    sites, needs, cost = towns(2, 12, 30, 90)
    sol = solver.solve(sites, needs, cost, time_limit=0.05)
    assert sol.method.startswith("parts:") and "quick" in sol.method.split(":")[1].split("+")
    assert sol.extra["parts_quick"] >= 1
    check_invariants(sol, sites, needs, cost)
    assert sol.dual_bound is not None and sol.dual_bound <= sol.objective * (1 + 1e-9)
    full = solver.solve(sites, needs, cost, time_limit=120)
    assert full.proven_optimal and "quick" not in full.method
    assert sol.dual_bound <= full.objective * (1 + 1e-9) <= sol.objective * (1 + 2e-9)
    assert sol.status == ("optimal" if sol.objective == pytest.approx(full.objective, rel=REL)
                          and sol.proven_optimal else "time_limit")


# --- single-source regions of parts: quick plans rounded to one site per need ------------

def _pairs_plan(inst: solver._Instance, x: NDArray[np.float64], open_mask: NDArray[np.bool_],
                sites: list[Site], needs: list[Need]) -> Solution:
    return solver._own_solution(inst, sites, needs, x, open_mask, -math.inf, 0.0, {},
                                proven=False, status="time_limit")


@pytest.mark.parametrize("seed", [21, 22, 23, 24])
def test_a_split_plan_rounds_to_one_site_per_need_within_capacities(seed: int) -> None:
    """`_single_source`: from the transportation LP's split plan, every need at exactly one
    open site it may use, no site over its capacity, the cost it reports the plan's cost
    recomputed from the data, and the pinned sites open."""
    sites, needs, cost = registry(seed, 20, 70, radius=8.0)
    sites[3] = replace(sites[3], pin=True)
    inst = solver._Instance(sites, needs, cost)
    # the sites the strong LP opens at all (they can serve everyone: the LP does)
    lp = solver._strong_lp(inst, None)
    assert lp is not None
    mask = inst.lo | ((lp.y > solver.SUPPORT_EPS) & inst.hi)
    got = solver._Transport(inst, single_source=False).plan(mask, 5.0)
    assert got is not None
    _, x = got
    assert np.count_nonzero((x > 1e-9) & (x < 1 - 1e-9)) > 0  # something to round
    rounded = solver._single_source(inst, x, mask)
    assert rounded is not None
    cost_now, x1, open_now = rounded
    assert set(np.unique(x1).tolist()) <= {0.0, 1.0}
    assert np.all(np.bincount(inst.pj[x1 > 0], minlength=inst.n) == 1)
    sol = _pairs_plan(inst, x1, open_now, sites, needs)
    check_invariants(sol, sites, needs, cost, single_source=True)
    assert sol.objective == pytest.approx(cost_now, rel=1e-9)
    assert "b3" in sol.open_site_ids


def _spy_solves(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, object]]:
    """Every direct MILP `solver` runs, by its keyword arguments."""
    calls: list[dict[str, object]] = []
    real = consolidation.solve

    def spy(*args: object, **kwargs: object) -> consolidation.Solution:
        calls.append(kwargs)
        return real(*args, **kwargs)  # type: ignore[arg-type]
    monkeypatch.setattr(consolidation, "solve", spy)
    return calls


@pytest.mark.parametrize("max_sites", [None, 12])
def test_single_source_solves_the_split_problem_first(
        max_sites: int | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Single-source ('auto', above SMALL_PAIRS pairs): the split problem first, its bound
    kept (no single-source plan costs less), its plan made single-source (its buildings with
    each need assigned whole, or rounded) as the start of the single-source direct MILP with
    every HiGHS default, which proves the same optimum as the direct MILP alone. Progress
    during the split phase gives its bound and no plan (a split plan is not a
    single-source one)."""
    sites, needs, cost = registry(12, 25, 75, radius=6.0)  # 424 pairs, one part
    ref = consolidation.solve(sites, needs, cost, max_sites=max_sites, single_source=True,
                              time_limit=60)
    split_ref = consolidation.solve(sites, needs, cost, max_sites=max_sites, time_limit=60)
    assert ref.proven_optimal and split_ref.proven_optimal
    assert split_ref.objective is not None and ref.objective is not None
    assert split_ref.objective < ref.objective * (1 - 1e-6)  # the split plan splits someone
    assert solver._parts(sites, cost) is None
    calls = _spy_solves(monkeypatch)
    seen: list[solver.Progress] = []
    sol = solver.solve(sites, needs, cost, max_sites=max_sites, single_source=True,
                       time_limit=60, on_progress=seen.append)
    assert sol.status == "optimal" and sol.proven_optimal and sol.method == "split+milp", sol
    assert sol.objective == pytest.approx(ref.objective, rel=REL)
    check_invariants(sol, sites, needs, cost, max_sites, single_source=True)
    assert sol.extra["split_bound"] <= split_ref.objective * (1 + 1e-9)
    assert sol.extra["split_bound"] <= ref.objective * (1 + 1e-9)
    last = calls[-1]
    assert last["single_source"] is True
    assert "heuristics" not in last and "restart" not in last  # HiGHS's defaults
    start = last["start"]  # the split plan made single-source
    assert isinstance(start, dict) and set(start) == {nd.id for nd in needs}
    assert all(len(v) == 1 and v[0][1] == 1.0 for v in start.values())  # one site each
    opened = {sid for v in start.values() for sid, _ in v}
    if max_sites is not None:
        assert len(opened) <= max_sites
    ids = [s.id for s in sites]
    start_cost = sum(s.fixed_cost for s in sites if s.id in opened) + sum(
        cost[ids.index(start[nd.id][0][0]), j] for j, nd in enumerate(needs))
    assert start_cost >= ref.objective * (1 - 1e-9)
    assert all(not c.get("single_source") for c in calls[:-1])  # the split problem's
    split_reports = [p for p in seen if p.phase == "split"]
    assert split_reports and all(p.best is None and p.gap is None for p in split_reports)
    assert all(p.bound is None or p.bound <= ref.objective * (1 + 1e-9)
               for p in split_reports)
    assert seen[-1].phase == "done" and seen[-1].best == pytest.approx(ref.objective, rel=REL)


def test_single_source_above_the_pairs_the_milp_can_take_keeps_the_rounded_split_plan(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Above QUICK_MAX_PAIRS pairs (lowered here) the single-source direct MILP would not
    finish its root LP (capa at capacity 8,000): the split problem gets the time, and its
    plan rounded to one site per need is the answer, bracketed by the split bound and
    honest about it: not proven, status 'limit' when it stopped before the time limit."""
    sites, needs, cost = registry(12, 25, 75, radius=6.0)
    ref = consolidation.solve(sites, needs, cost, single_source=True, time_limit=60)
    assert ref.proven_optimal and ref.objective is not None
    monkeypatch.setattr(solver, "DIRECT_MAX_SITES", 10)
    monkeypatch.setattr(solver, "QUICK_MAX_PAIRS", 100)
    calls = _spy_solves(monkeypatch)
    sol = solver.solve(sites, needs, cost, single_source=True, time_limit=60)
    assert all(not c.get("single_source") for c in calls)  # no single-source MILP
    assert sol.method == "split" and sol.status == "limit" and not sol.proven_optimal, sol
    check_invariants(sol, sites, needs, cost, single_source=True)
    assert sol.dual_bound == pytest.approx(sol.extra["split_bound"])
    assert sol.dual_bound <= ref.objective * (1 + 1e-9) <= sol.objective * (1 + 2e-9)
    assert sol.gap == pytest.approx((sol.objective - sol.dual_bound) / sol.objective)


@pytest.mark.parametrize(("direct_max_sites", "quick_max_pairs", "share"),
                         [(150, 50_000, solver.SPLIT_SHARE),
                          (10, 50_000, solver.SPLIT_LARGE_SHARE),
                          (10, 100, solver.SPLIT_BIG_SHARE)])
def test_the_split_problems_share_of_a_single_source_solve(
        direct_max_sites: int, quick_max_pairs: int, share: float,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The split problem's time: SPLIT_SHARE of the limit up to DIRECT_MAX_SITES sites,
    SPLIT_LARGE_SHARE above (the single-source MILP needs the time more), SPLIT_BIG_SHARE
    above QUICK_MAX_PAIRS pairs (no single-source MILP follows). The limits are lowered so
    that one 25-site instance takes each branch."""
    sites, needs, cost = registry(12, 25, 75, radius=6.0)
    monkeypatch.setattr(solver, "DIRECT_MAX_SITES", direct_max_sites)
    monkeypatch.setattr(solver, "QUICK_MAX_PAIRS", quick_max_pairs)
    real = solver.solve
    limits: list[float] = []

    def spy(*args: Any, **kwargs: Any) -> Solution:
        limits.append(kwargs["time_limit"])
        return real(*args, **kwargs)
    monkeypatch.setattr(solver, "solve", spy)
    sol = real(sites, needs, cost, single_source=True, time_limit=20.0)
    assert sol.has_solution and limits == [pytest.approx(share * 20.0)]


def test_needs_are_assigned_whole_only_up_to_gap_max_needs(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """`_assign_whole` is tried on the split plan's buildings up to GAP_MAX_NEEDS needs (the
    400 x 2,000 registry's 2,000 gave no plan in 10 s), and not above: rounding alone then
    makes the plan single-source."""
    sites, needs, cost = registry(12, 25, 75, radius=6.0)  # its split plan splits a need
    real = solver._assign_whole
    calls: list[float] = []

    def spy(inst: Any, mask: Any, seconds: float) -> Any:
        calls.append(seconds)
        return real(inst, mask, seconds)
    monkeypatch.setattr(solver, "_assign_whole", spy)
    for cap, tried in ((solver.GAP_MAX_NEEDS, 1), (10, 0)):
        calls.clear()
        monkeypatch.setattr(solver, "GAP_MAX_NEEDS", cap)
        sol = solver.solve(sites, needs, cost, single_source=True, time_limit=20.0)
        assert sol.proven_optimal and len(calls) == tried, (cap, calls)
        assert all(solver.GAP_MIN_SECONDS <= s <= solver.GAP_MAX_SECONDS for s in calls)


def test_each_need_whole_on_the_split_plans_buildings() -> None:
    """`_assign_whole`: the split optimum's buildings, each need assigned whole to one of
    them within capacities by HiGHS (a generalized assignment problem); its cost is the
    plan's, recomputed; it keeps only buildings that serve someone."""
    sites, needs, cost = registry(12, 25, 75, radius=6.0)
    inst = solver._Instance(sites, needs, cost)
    split = consolidation.solve(sites, needs, cost, time_limit=60)
    assert split.proven_optimal
    mask = np.isin(np.array([s.id for s in sites]), split.open_site_ids)
    got = solver._assign_whole(inst, mask, 10.0)
    assert got is not None
    cost_now, x, keep = got
    assert not (keep & ~mask).any()
    assert np.all(np.bincount(inst.pj[x > 0.5], minlength=inst.n) == 1)
    sol = _pairs_plan(inst, x, keep, sites, needs)
    check_invariants(sol, sites, needs, cost, single_source=True)
    assert sol.objective == pytest.approx(cost_now, rel=1e-9)
    assert split.objective is not None and cost_now >= split.objective * (1 - 1e-9)
    assert solver._assign_whole(inst, np.zeros(inst.m, dtype=bool), 1.0) is None


def test_a_split_optimum_serving_everyone_from_one_site_is_the_single_source_optimum(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Capacities so large that the split optimum serves each need from its cheapest open
    site: it is a single-source plan, proven by the split problem's proof, with no
    single-source MILP."""
    s, needs, cost = registry(12, 25, 75, radius=6.0)
    sites = [replace(x, capacity=x.capacity * 100) for x in s]
    ref = consolidation.solve(sites, needs, cost, single_source=True, time_limit=60)
    monkeypatch.setattr(solver, "DIRECT_MAX_SITES", 10)
    calls = _spy_solves(monkeypatch)
    sol = solver.solve(sites, needs, cost, single_source=True, time_limit=60)
    assert all(not c.get("single_source") for c in calls)
    assert sol.proven_optimal and sol.status == "optimal" and sol.method == "split", sol
    assert sol.objective == pytest.approx(ref.objective, rel=REL)
    check_invariants(sol, sites, needs, cost, single_source=True)
    assert all(len(parts) == 1 and parts[0][1] == 1.0 for parts in sol.assignment.values())


def test_single_source_infeasible_where_the_split_problem_is_not(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Needs of 7, 7 and 6 people and two buildings of 10: shared out they fit, whole they
    do not. The split problem's plan cannot be rounded and the single-source MILP says
    'infeasible', which is what the solver says (not a time limit with a bound)."""
    sites = [Site(id="a", capacity=10.0, fixed_cost=100.0),
             Site(id="b", capacity=10.0, fixed_cost=100.0)]
    needs = [Need(id=f"n{j}", demand=d) for j, d in enumerate((7.0, 7.0, 6.0))]
    cost = np.array([[1.0, 2.0, 1.0], [2.0, 1.0, 2.0]])
    monkeypatch.setattr(solver, "DIRECT_MAX_SITES", 0)
    monkeypatch.setattr(solver, "SMALL_PAIRS", 0)
    sol = solver.solve(sites, needs, cost, single_source=True, time_limit=30)
    assert sol.status == "infeasible" and not sol.has_solution, sol
    assert solver.solve(sites, needs, cost, time_limit=30).proven_optimal


def test_rounding_gives_up_where_no_need_can_move() -> None:
    """Two buildings of 10 places and needs of 7, 7 and 6 people: shared out, they fit (20
    places for 20 people); one building each, they cannot, and `_single_source` says so
    instead of overfilling a building."""
    sites = [Site(id="a", capacity=10.0, fixed_cost=100.0),
             Site(id="b", capacity=10.0, fixed_cost=100.0)]
    needs = [Need(id=f"n{j}", demand=d) for j, d in enumerate((7.0, 7.0, 6.0))]
    cost = np.array([[1.0, 2.0, 1.0], [2.0, 1.0, 2.0]])
    inst = solver._Instance(sites, needs, cost)
    mask = np.ones(2, dtype=bool)
    got = solver._Transport(inst, single_source=False).plan(mask, 5.0)
    assert got is not None
    assert solver._single_source(inst, got[1], mask) is None
    assert consolidation.solve(sites, needs, cost, single_source=True).status == "infeasible"


def test_rounding_closes_a_building_whose_people_fit_elsewhere_for_less() -> None:
    """A split plan that keeps three buildings where two hold everyone: the local search
    moves the third's people and closes it when the move costs less than the building."""
    sites = [Site(id="a", capacity=100.0, fixed_cost=1_000.0),
             Site(id="b", capacity=100.0, fixed_cost=1_000.0),
             Site(id="c", capacity=100.0, fixed_cost=50_000.0)]
    needs = [Need(id=f"n{j}", demand=30.0) for j in range(6)]
    cost = np.array([[10.0, 10.0, 10.0, 10.0, 900.0, 900.0],
                     [10.0, 10.0, 10.0, 10.0, 900.0, 900.0],
                     [900.0, 900.0, 900.0, 900.0, 10.0, 10.0]])
    inst = solver._Instance(sites, needs, cost)
    x = np.zeros(inst.pi.size)
    for j, i in enumerate((0, 0, 1, 1, 2, 2)):
        x[np.flatnonzero((inst.pi == i) & (inst.pj == j))] = 1.0
    got = solver._single_source(inst, x, np.ones(3, dtype=bool))
    assert got is not None
    cost_now, x1, open_now = got
    assert open_now.tolist() == [True, True, False]
    assert cost_now == pytest.approx(2_000.0 + 4 * 10.0 + 2 * 900.0)
    ref = consolidation.solve(sites, needs, cost, single_source=True)
    assert ref.proven_optimal and ref.objective == pytest.approx(cost_now)


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_a_single_source_quick_plan_and_its_bound_bracket_the_optimum(seed: int) -> None:
    """`_quick` single-source: one site per need within capacities, and its bound (the
    split relaxation's) no higher than the direct MILP's proven single-source optimum."""
    sites, needs, cost = registry(seed, 16, 50, radius=8.0)
    ref = consolidation.solve(sites, needs, cost, single_source=True, time_limit=60)
    sol = solver._quick(sites, needs, solver._Instance(sites, needs, cost), 0.0, True)
    assert ref.proven_optimal and sol is not None
    check_invariants(sol, sites, needs, cost, single_source=True)
    assert sol.dual_bound is not None
    assert sol.dual_bound <= ref.objective * (1 + 1e-9) <= sol.objective * (1 + 2e-9)


def test_single_source_parts_at_a_short_limit_get_quick_plans_not_full_solves() -> None:
    """A single-source region of many parts at a limit far too short: every part gets a
    rounded quick plan (before, each got a full solve of about a second whatever the limit:
    the 2,000 x 10,000 registry's 59 parts ran 78 s at a 10 s limit), so the whole has a
    single-source plan and a bound no higher than even the split-demand optimum."""
    sites, needs, cost = towns(2, 8, 24, 72)
    seen: list[solver.Progress] = []
    sol = solver.solve(sites, needs, cost, single_source=True, time_limit=0.05,
                       on_progress=seen.append)
    methods = sol.method.split(":")[1].split("+")
    assert sol.method.startswith("parts:") and "quick" in methods and "milp" not in methods
    check_invariants(sol, sites, needs, cost, single_source=True)
    assert sol.status == "time_limit" and not sol.proven_optimal
    assert "quick" in [p.phase for p in seen]
    split = solver.solve(sites, needs, cost, time_limit=120)
    assert split.proven_optimal and sol.dual_bound is not None
    assert sol.dual_bound <= split.objective * (1 + 1e-9) <= sol.objective * (1 + 2e-9)


def _twin_towns() -> Instance:
    """Two copies of one town (424 pairs, one part each) 100 km apart."""
    s, nd, c = registry(12, 25, 75, radius=6.0)
    sites = [Site(id=f"{t}{x.id}", capacity=x.capacity, fixed_cost=x.fixed_cost, pin=x.pin)
             for t in "xy" for x in s]
    needs = [Need(id=f"{t}{x.id}", demand=x.demand) for t in "xy" for x in nd]
    cost = np.full((2 * len(s), 2 * len(nd)), np.inf)
    cost[:len(s), :len(nd)] = c
    cost[len(s):, len(nd):] = c
    return sites, needs, cost


def test_two_parts_are_solved_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """PART_WORKERS (2) parts' full solves run side by side, each in its own thread: each of
    the first two waits until the other has started (a serial schedule would time out)."""
    sites, needs, cost = _twin_towns()
    real = solver.solve
    started = [threading.Event(), threading.Event()]
    names: list[str] = []
    lock = threading.Lock()

    def spy(*args: Any, **kwargs: Any) -> Solution:
        if not kwargs.get("single_source"):  # a part's split problem, within its solve
            return real(*args, **kwargs)
        with lock:
            i = len(names)
            names.append(threading.current_thread().name)
        if i < 2:
            started[i].set()
            assert started[1 - i].wait(30), "the other part did not start alongside"
        return real(*args, **kwargs)
    monkeypatch.setattr(solver, "solve", spy)
    seen: list[solver.Progress] = []
    sol = real(sites, needs, cost, single_source=True, time_limit=60, on_progress=seen.append)
    assert solver.PART_WORKERS == 2 and len(names) == 2 and len(set(names)) == 2, names
    ref = consolidation.solve(sites, needs, cost, single_source=True, time_limit=60)
    assert ref.proven_optimal and sol.proven_optimal, sol
    assert sol.objective == pytest.approx(ref.objective, rel=REL)
    check_invariants(sol, sites, needs, cost, single_source=True)
    assert [p.phase for p in seen].count("done") == 1 and seen[-1].phase == "done"
    assert {p.part for p in seen[:-1]} == {1, 2}
    done = [p.parts_done for p in seen[:-1]]  # settled parts only grow, reports are serial
    assert done == sorted(done) and done[0] == 0 and done[-1] <= 2


def _copies(k: int) -> Instance:
    """k copies of one town (424 pairs, one part each), far apart; the copies' ids start
    with a, b, c..."""
    s, nd, c = registry(12, 25, 75, radius=6.0)
    tags = "abcdefgh"[:k]
    sites = [Site(id=f"{t}{x.id}", capacity=x.capacity, fixed_cost=x.fixed_cost, pin=x.pin)
             for t in tags for x in s]
    needs = [Need(id=f"{t}{x.id}", demand=x.demand) for t in tags for x in nd]
    cost = np.full((k * len(s), k * len(nd)), np.inf)
    for i in range(k):
        cost[i * len(s):(i + 1) * len(s), i * len(nd):(i + 1) * len(nd)] = c
    return sites, needs, cost


def test_the_direct_milp_runs_beside_the_lagrangian_path_and_the_better_is_kept(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Above DIRECT_MAX_SITES sites (lowered here so that a 25 x 75 town takes that path) the
    direct MILP races the Lagrangian path: its proof is the answer, equal to the reference;
    inside a region solved in parts (both cores busy) no part races."""
    monkeypatch.setattr(solver, "DIRECT_MAX_SITES", 10)
    raced: list[int] = []
    real_race = solver._race

    def race(sites: Any, *args: Any) -> Solution:
        raced.append(len(sites))
        return real_race(sites, *args)
    monkeypatch.setattr(solver, "_race", race)
    sites, needs, cost = _copies(1)
    ref = consolidation.solve(sites, needs, cost, time_limit=30)
    sol = solver.solve(sites, needs, cost, time_limit=30)
    assert raced == [25]
    assert sol.status == "optimal" and sol.proven_optimal and ref.proven_optimal
    assert sol.objective == pytest.approx(ref.objective, rel=REL)
    assert sol.extra["race_milp_objective"] == pytest.approx(ref.objective, rel=REL)
    check_invariants(sol, sites, needs, cost)
    assert not [t for t in threading.enumerate() if t.name == "govshare-direct-milp"]
    sites, needs, cost = _copies(2)
    sol = solver.solve(sites, needs, cost, time_limit=30)
    assert raced == [25] and sol.proven_optimal  # two parts, neither raced
    check_invariants(sol, sites, needs, cost)


def test_a_race_stops_both_sides_when_canceled() -> None:
    """200 buildings, 17,173 pairs (neither side proves it in seconds), canceled after 1 s:
    the answer says canceled with the better plan so far, and the direct MILP's thread
    is gone."""
    sites, needs, cost = registry(6, 200, 800, 4.0)
    token = threading.Event()
    timer = threading.Timer(1.0, token.set)
    timer.start()
    try:
        t = time.perf_counter()
        sol = solver.solve(sites, needs, cost, time_limit=60, cancel=token)
        took = time.perf_counter() - t
    finally:
        timer.cancel()
    assert sol.status == "canceled" and not sol.proven_optimal, sol.status
    assert took < 10, took
    assert not [t for t in threading.enumerate() if t.name == "govshare-direct-milp"]
    if sol.objective is not None:
        check_invariants(sol, sites, needs, cost)


def test_an_unproven_part_is_solved_again_with_the_time_left(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A part whose full solve stops unproven is solved again once every part has had its
    turn, with all the time left (at least RETRY_FACTOR times its first limit), and the
    better result is kept; with no such time left it keeps its first result."""
    sites, needs, cost = _copies(6)
    real = solver.solve
    calls: list[tuple[str, float]] = []
    lock = threading.Lock()

    def stalls_once(*args: Any, **kwargs: Any) -> Solution:
        """Part a's first full solve stops at its limit, 10% from its bound."""
        got = real(*args, **kwargs)
        tag = args[0][0].id[0]
        with lock:
            calls.append((tag, kwargs["time_limit"]))
            first = [c for c in calls if c[0] == "a"] == [(tag, kwargs["time_limit"])]
        if tag == "a" and first:
            assert got.proven_optimal and got.objective is not None
            return replace(got, status="time_limit", proven_optimal=False,
                           dual_bound=0.9 * got.objective, gap=0.1)
        return got
    monkeypatch.setattr(solver, "solve", stalls_once)
    sol = real(sites, needs, cost, time_limit=60)
    a = [lim for tag, lim in calls if tag == "a"]
    assert len(a) == 2 and a[1] >= solver.RETRY_FACTOR * a[0], calls
    assert sorted(tag for tag, _ in calls) == sorted("abcdefa")
    ref = consolidation.solve(sites, needs, cost, time_limit=60)
    assert ref.proven_optimal and sol.proven_optimal, sol
    assert sol.objective == pytest.approx(ref.objective, rel=REL)
    check_invariants(sol, sites, needs, cost)

    # Two parts: each one's first limit is most of the time left; no second solve.
    sites, needs, cost = _copies(2)
    calls.clear()
    sol = real(sites, needs, cost, time_limit=60)
    assert sorted(tag for tag, _ in calls) == ["a", "b"], calls
    assert sol.status == "time_limit" and not sol.proven_optimal
    assert sol.dual_bound is not None and sol.objective is not None
    assert sol.dual_bound < sol.objective


class _Clock:
    """A cancel token with a deadline (as `solver._PartClock`), never set."""

    def __init__(self, deadline: float) -> None:
        self.at = deadline

    def is_set(self) -> bool:
        return False

    def deadline(self) -> float:
        return self.at


def test_an_elastic_solve_runs_on_to_its_tokens_deadline() -> None:
    """consolidation.solve(elastic=True) moves HiGHS's time limit out to the token's later
    deadline; without elastic, or with a plain token, the time limit holds. (A single-source
    instance HiGHS does not prove in seconds.)"""
    import time

    sites, needs, cost = registry(5, 80, 400, radius=6.0)
    runs = {}
    for name, token, elastic in (("elastic", True, True), ("not elastic", True, False),
                                 ("plain token", False, True)):
        t = time.perf_counter()
        cancel = _Clock(t + 4.0) if token else threading.Event()
        sol = consolidation.solve(sites, needs, cost, single_source=True, time_limit=1.0,
                                  cancel=cancel, elastic=elastic)
        runs[name] = time.perf_counter() - t
        assert sol.status == "time_limit" and sol.has_solution, (name, sol)
        check_invariants(sol, sites, needs, cost, single_source=True)
    assert runs["elastic"] >= 3.0, runs
    assert runs["not elastic"] < 3.0 and runs["plain token"] < 3.0, runs


def test_a_parts_deadline_is_its_own_until_no_part_waits(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Each part's full solve gets a `_PartClock`: its deadline is its own limit while parts
    wait for their first full solve, the whole's once none does."""
    sites, needs, cost = _copies(4)
    real = solver.solve
    clocks: list[tuple[str, Any, float]] = []
    lock = threading.Lock()

    def spy(*args: Any, **kwargs: Any) -> Solution:
        token = kwargs["cancel"]
        if isinstance(token, solver._PartClock):
            with lock:
                clocks.append((args[0][0].id[0], token, token.deadline()))
        return real(*args, **kwargs)
    monkeypatch.setattr(solver, "solve", spy)
    t0 = __import__("time").perf_counter()
    sol = real(sites, needs, cost, time_limit=60)
    assert sol.proven_optimal
    assert sorted(tag for tag, _, _ in clocks) == list("abcd"), clocks
    for tag, token, at_start in clocks:
        assert token.own == at_start or tag in "cd", (tag, at_start, token.own)
        assert token.deadline() == pytest.approx(t0 + 60, abs=1.0)  # none waits now
    first = clocks[0][2]
    assert first < t0 + 59, "the first part's own deadline is its share, not the whole's"


def test_an_error_in_a_parts_thread_reaches_the_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    sites, needs, cost = _twin_towns()
    real = solver.solve
    calls: list[str] = []
    caller = threading.current_thread()  # not always the main thread under xdist

    def failing(*args: Any, **kwargs: Any) -> Solution:
        if not kwargs.get("single_source"):  # a part's split problem, within its solve
            return real(*args, **kwargs)
        calls.append(threading.current_thread().name)
        if threading.current_thread() is not caller:
            raise RuntimeError("a part failed")
        return real(*args, **kwargs)
    monkeypatch.setattr(solver, "solve", failing)
    with pytest.raises(RuntimeError, match="a part failed"):
        real(sites, needs, cost, single_source=True, time_limit=60)
    # the part thread raised; the caller's own part may not have started (no new part
    # starts once one has failed)
    assert "govshare-part-0" in calls and len(calls) <= 2
