"""The consolidation solver: Lagrangian bounds and plans, reduced-cost fixing, then HiGHS.

Pure computation, like `consolidation` (whose model, `Site`, `Need` and `Solution` it shares):
`solve` takes the same arguments as `consolidation.solve` and returns the same `Solution`
with the same guarantees, plus progress reports and cancellation. `consolidation.solve`, the
direct MILP, stays the reference (the tests compare the two) and the fallback.

Method (docs/adr/0018-consolidation-solver.md)
----------------------------------------------
1. Lagrangian relaxation of the demand rows (Beasley 1993). For multipliers u_j, every site's
   subproblem is a continuous knapsack: v_i = f_i + min { sum_j (c_ij - u_j) x_ij :
   0 <= x_ij <= 1, sum_j d_j x_ij <= C_i }, solved greedily. The choice of sites is then a
   small problem of its own: open the sites with v_i < 0 (and the pinned ones), and, without
   `max_sites`, enough more to hold the total demand (the aggregate capacity row
   sum_i C_i y_i >= sum_j d_j, valid for every plan, solved as a fractional knapsack); with
   `max_sites` = K, the K most negative. L(u) = sum_j u_j + sum_i v_i y_i is a lower bound on
   every plan's cost. The multipliers follow subgradient steps (Polyak step toward the best
   plan's cost, the step factor halved when the bound stalls), from each need's cheapest
   connection or, where the strong LP is cheap (at most QUICK_MAX_PAIRS pairs), from its
   demand duals: L(u) is then the LP bound at once, and the LP's rounded plan
   (`_lp_plan`) the first incumbent.
2. Plans: each new set of open sites the relaxation suggests (topped up to hold the demand) is
   completed by HiGHS's simplex as a transportation problem; the cheapest is the incumbent.
3. Reduced-cost fixing: the bound with site i forced the other way (open instead of closed,
   or closed instead of open) is recomputed exactly for the site-choice problem; where it
   exceeds the incumbent's cost, no better plan flips site i, so it is pinned for the rest.
4. The remaining problem (fixed sites pinned, the incumbent as HiGHS's first solution) goes to
   the direct MILP, `consolidation.solve`, for the proof. If the Lagrangian bound already
   meets the incumbent (within HiGHS's absolute tolerance, 1e-6), that is the proof.
5. Split demand above TREE_MIN_PAIRS pairs, up to TREE_MAX_SITES sites (`_tree_path`):
   instead of steps 2-4, a Lagrangian branch-and-bound over the choice of sites (`_tree`,
   after Görtz and Klose 2012): subgradient steps at the root, then depth first, each node a
   set of sites forced open and allowed to open, its bound the Lagrangian bound of step 1
   within the node (a few subgradient steps from its parent's multipliers), reduced-cost
   fixing within the node, a plan from the node's choice of sites, and two children on the
   site the node's relaxation is least sure of. The search running out of nodes is the
   proof; a leaf (every site decided) is priced exactly by the transportation LP.
   Single-source instances take steps 1-4 (their leaves would be MIPs).

Before anything else ('auto', without max_sites): a region that falls into independent parts
(the connected components of the graph of allowed pairs, e.g. towns farther apart than the
moving radius) is solved part by part (`_parts`, `_by_parts`); the whole is proven when every
part is, and its bound is the sum of theirs.

It picks the method itself: small instances (at most SMALL_PAIRS allowed pairs) go straight
to the direct MILP; up to DIRECT_MAX_SITES sites and QUICK_MAX_PAIRS pairs, the direct MILP
is seeded and reduced (`_seeded`: the strong LP's duals give L(u), a restricted MILP over the
LP's sites gives the plan, reduced-cost fixing pins sites, then the direct MILP with that plan
as its incumbent and, when the plan is likely optimal, without HiGHS's sub-MIP heuristics,
which spent most of the demo's schools solve looking for it); up to QUICK_MAX_PAIRS pairs
the direct MILP runs beside the Lagrangian path on the second core for the whole limit, the
cheaper plan and higher bound kept (`_race`; inside a region solved in parts, whose workers
keep both cores busy, it gets a short try first instead); the others take the
four steps above (plus a restricted MILP on the weak formulation for plans, see ADR 18);
above TREE_MIN_PAIRS pairs and up to TREE_MAX_SITES sites split demand takes step 5.
Single-source instances above SMALL_PAIRS pairs solve the split problem first, by all of
the above (`_split_first`): its bound is theirs, and its plan made single-source (its
buildings with each need assigned whole by HiGHS, or rounded) starts the single-source
direct MILP with every HiGHS default (which often proves such instances at its root), or,
above QUICK_MAX_PAIRS pairs, where that MILP does not finish its root LP, is the answer.
`Solution.method` says which ('milp' for the direct MILP, seeded or not, 'lagrangian+milp',
'lagrangian', 'tree', 'split+milp' or 'split'), and `extra` holds the Lagrangian bound,
iterations and the number of sites fixed (the seeded path adds 'seed_seconds', 'seed_cost'
and 'strong_lp_value', the tree 'tree_nodes' and 'tree_iterations', the split-first path
'split_bound', 'split_seconds' and 'split_objective'; a region solved in parts 'parts',
'parts_proven', 'parts_<method>' per method, the largest part's size and, when some part is
not proven, the largest such part's: where the gap lies, said on the page and by the CLI).

Status: as in `consolidation`. 'optimal' only with a proof (HiGHS's on the reduced problem, or
the bound); at the time limit 'time_limit' with the best plan, its gap and the best bound;
'canceled' when the caller's cancel token is set (checked between iterations, and inside
HiGHS through its interrupt callback).

Why the reduced problem's proof is a proof of the whole: every plan that flips a fixed site
costs at least that site's flip bound, which is above the incumbent's cost, and the incumbent
obeys every fixing (its own cost is below each flip bound), so the optimum of the reduced
problem is the optimum of the whole. The reported dual bound is
max(Lagrangian bound, min(the reduced problem's bound, the smallest flip bound)).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import highspy
import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray
from scipy.sparse.csgraph import connected_components

from govshare.property import consolidation
from govshare.property.consolidation import (
    MIP_ABS_GAP,
    PROVEN_GAP,
    SHARE_EPS,
    CancelToken,
    Need,
    Site,
    Solution,
)

SMALL_PAIRS = 400
"""Instances with at most this many allowed pairs go straight to the direct MILP."""

DIRECT_MAX_SITES = 150
"""Up to this many sites (and QUICK_MAX_PAIRS pairs), 'auto' takes the seeded direct MILP:
HiGHS's branching beats the subgradient steps there (the demo's 94 schools: the Lagrangian
path found the plan but spent 20 s before HiGHS and did not prove it within 60 s, on the
loaded shared machine), and the strong LP is cheap (0.04 s CPU on the schools)."""

QUICK_MAX_PAIRS = 50_000
"""Up to this many pairs, 'auto' first gives the direct MILP a short try."""

QUICK_SECONDS = 2.0
QUICK_SHARE = 0.1
"""The short try lasts min(QUICK_SECONDS, QUICK_SHARE x the time limit)."""

LAGRANGE_SHARE = 0.35
"""Share of the time limit the subgradient phase may use at most."""

MAX_ITERATIONS = 600
STALL_ITERATIONS = 25
"""The step factor is halved after this many iterations without a better bound."""

MIN_STEP_FACTOR = 5e-3
MAX_PLANS = 150
"""At most this many transportation problems are solved for plans in the Lagrangian phase."""

RESTRICT_EXTRA = 10
"""Sites beyond the relaxation's own that the restricted MILP may open."""

RESTRICT_SHARE = 0.3
"""Share of the time limit the restricted MILPs may use together at most (the first
round half of it)."""

FIX_ROUNDS = 3
"""Rounds of restricted MILP and fixing after the first."""

PLANS_FROM = 100
"""Plans are built from the multipliers of this iteration on (earlier ones are poor)."""

PLAN_SECONDS = 2.0
"""Time limit of one transportation problem (a MIP when single-source)."""

PLAN_EXTRA_SITES = 2
"""Each plan from the relaxation is also tried with this many more sites, one by one."""

PROGRESS_EVERY = 0.5

SEED_SHARE = 0.25
"""The restricted MILP that seeds the direct MILP (instances up to DIRECT_MAX_SITES sites)
may use this share of the time limit."""

SEED_TRUST_GAP = 0.01
"""The seeded direct MILP turns HiGHS's sub-MIP heuristics off (`_seeded` step 4) only when
the seed is the optimum of its restricted problem and within this share of the Lagrangian
bound. The demo's schools: 0.39%, the seed optimal, proven in 1.3 s (heuristics on: 4.1 s).
The hard parts of the 2,000 x 10,000 registry: 1.5-3.2%, the seed 0.1-1.1% above the best
plan known; with the heuristics off HiGHS never finds better (a 96 x 475 part: 1.83% at
120 s, heuristics on: 0.88% at 60 s)."""

SEED_PAIRS = 10
"""The seeding restricted MILP keeps, besides the pairs the strong LP uses, each need's
SEED_PAIRS pairs of smallest LP reduced cost (a heuristic: its plan is checked by the proof
that follows)."""

TREE_MIN_PAIRS = QUICK_MAX_PAIRS
TREE_MAX_SITES = 200
"""Above TREE_MIN_PAIRS pairs and up to TREE_MAX_SITES sites, 'auto' takes the Lagrangian
branch-and-bound (`_tree`) for split demand. Measured on the 100-site OR-Library sets (all
12 of capa/capb/capc proven in 1.5-7 s); every node's fixing tries each free site, so larger
registries keep the Lagrangian path."""

TREE_ROOT_SHARE = 0.25
TREE_ROOT_ITERATIONS = 400
"""The subgradient steps at the root: at most this share of the time limit and this many."""

TREE_PLAN_EVERY = 50
"""A plan (transportation LP) from the root relaxation's sites every this many steps."""

TREE_ITERATIONS = 30
"""Subgradient steps at each node of the Lagrangian branch-and-bound (`_tree`), from the best
of its parent's, the root's and recent nodes' multipliers (10: twice the nodes; 50: fewer
nodes, more time; measured on capb 6000/7000 and capc 5750)."""

TREE_STEP = 1.0
TREE_STALL = 5
"""A node's step factor starts at TREE_STEP and is halved after TREE_STALL steps without a
better bound."""

TREE_AVERAGE = 0.1
"""Weight of each step's choice of sites in the node's averaged choice, which picks the site
to branch on (the one nearest one half; the site whose flip bound is largest took 2-3 times
the nodes)."""

TREE_POOL = 30
"""The multipliers of this many recent nodes are tried at each node."""

SPLIT_SHARE = 0.4
"""Single-source instances: at most this share of the time limit goes to the split-demand
problem first (`_split_first`), the rest to making its plan single-source and to the
single-source direct MILP. A split plan from less is poor: the 2,000 x 10,000 towns kept
together at 120 s (parts of 4-17 s each) ended at 3.03% with 0.15 of the time, their split
plans 4-12% above their bounds, and at 2.75% with 0.4."""

GAP_SHARE = 0.15
GAP_MIN_SECONDS = 2.0
GAP_MAX_SECONDS = 5.0
GAP_MAX_NEEDS = 1_000
"""The split plan's buildings, each need assigned whole (`_assign_whole`): the larger of
GAP_SHARE of the time limit, half the time left and GAP_MIN_SECONDS, but at most 80% of
the time left and GAP_MAX_SECONDS (HiGHS cannot be interrupted there); not tried above
GAP_MAX_NEEDS needs (the 400 x 2,000 registry's 2,000: no plan in 10 s). HiGHS's first
plans there are poor: on four towns of 21-43 buildings, 66-73% above the split optimum
after 0.5 s, 0.4-0.9% after 2-4 s (rounding: 4.2-6.3%; the single-source optima 0.4-1.3%)."""

SPLIT_LARGE_SHARE = 0.15
"""The same above DIRECT_MAX_SITES sites, where the single-source MILP needs the time more
than the split plan does (the 400 x 2,000 registry at 60 s: 3.7-4.8% with 0.15, 6.4%
with 0.4, the direct MILP 4.0-5.2%: a fuller split plan rounds worse)."""

SPLIT_BIG_SHARE = 0.9
"""The same above QUICK_MAX_PAIRS pairs, where the single-source direct MILP does not finish
its root LP in a minute (capa at capacity 8,000, 100,000 pairs: not in 20 s, and it ran 14 s
past a 60 s limit): the split problem gets this share and its plan, made single-source,
is the answer (the rest of the time is for that)."""

PART_MIN_SECONDS = 1.0
"""In a region solved part by part (smallest first), a part (more than SMALL_PAIRS pairs,
or any single-source part) keeps its quick plan (`_quick`: the strong LP's bound and a
rounding of its sites priced by the transportation LP, a few hundredths of a second; single
source, rounded to one site per need by `_single_source`) instead of a full solve when the
time left is less than this many seconds for each part not yet solved: a full solve takes
up to about a second at any limit, and 59 parts at a 10 s limit ran 33 s (single-source:
78 s, before single-source parts had quick plans)."""

PART_WORKERS = 2
"""In a region solved part by part, this many parts' full solves run at once, each in its own
thread (HiGHS releases the GIL while it solves; the machine this was measured on has 2
cores). The time left is shared among them in proportion to their pairs as if it were
PART_WORKERS times as long, each part's limit never past the deadline."""

RETRY_FACTOR = 2.0
"""In a region solved part by part, once every part has had its full solve, a worker with
time left solves an unproven part again (the largest gap first), with all the time left,
when that is at least this many times the limit it had (HiGHS's search is deterministic:
with about the same time it ends where it did)."""

QUICK_LP_PAIRS = 20_000
"""Up to this many pairs a part's quick plan rounds the strong LP (0.04 s at 16,000 pairs);
above, where that LP is slow (capb's 100,000 pairs: 42 s), it takes subgradient steps."""
QUICK_STEPS_SECONDS = 1.0
"""At most this long for those steps (each plan they try is a transportation LP)."""

SUPPORT_EPS = 1e-6
"""Sites whose strong LP value is below this are closed in the seeding restricted MILP."""
IMPROVE_ROUNDS = 5
"""Rounds of `_improve`'s local search on a rounded single-source plan (each round tries
every need and every used site once)."""


@dataclass(frozen=True)
class Progress:
    """One progress report: `phase` is 'lagrangian', 'milp', 'tree', 'quick' (a part's quick
    plan, `_quick`), 'split' (a single-source instance's split problem: its bound, no plan,
    `_split_first`) or 'done'; `best` the
    cost of the best plan so far and `bound` the best proven lower bound (None when not
    known yet); `gap` = (best - bound) / |best|; `open_sites` in the best plan; `elapsed`
    seconds since `solve` was called; `fixed_sites` by reduced-cost fixing so far; when the
    region is solved in independent parts, `part` (from 1, the part reporting: PART_WORKERS
    parts are solved at once) of `parts`, and `parts_done` whose plan is settled (proven, or
    a full solve finished, or kept as its quick plan for want of time)."""

    phase: str
    elapsed: float
    best: float | None
    bound: float | None
    gap: float | None
    open_sites: int | None
    iteration: int = 0
    fixed_sites: int = 0
    part: int = 0
    parts: int = 0
    parts_done: int = 0


ProgressCallback = Callable[[Progress], None]


def _dot(a: NDArray[np.floating[Any]], b: NDArray[np.floating[Any]]) -> float:
    """sum a_i b_i without BLAS: OpenBLAS splits long dot products over threads that then
    spin for a while, which on a shared 2-core machine took a whole second core during a
    search (CPU time twice the wall time)."""
    return float(np.multiply(a, b).sum())


def _gap(best: float | None, bound: float | None) -> float | None:
    if best is None or bound is None:
        return None
    return max(0.0, best - bound) / max(abs(best), 1e-12)


def _proven(best: float, bound: float) -> bool:
    return best - bound <= MIP_ABS_GAP or (_gap(best, bound) or 0.0) <= PROVEN_GAP


def _step(inst: _Instance, u: NDArray[np.float64], k: NDArray[np.intp],
          take: NDArray[np.float64], y: NDArray[np.float64], value: float, best: float,
          factor: float) -> NDArray[np.float64] | None:
    """The next multipliers: a Polyak step along the subgradient of the demand rows,
    1 - sum_i y_i x_ij (k, take: the knapsacks' pairs and shares at u; y: the choice of sites),
    toward the best plan's cost (without a plan, 5% above the bound's size). None when the
    subgradient is zero: the relaxation's solution serves every need exactly once."""
    served = np.bincount(inst.pj[k], weights=take * y[inst.pi[k]], minlength=inst.n)
    g = 1.0 - served
    norm = _dot(g, g)
    if norm <= 1e-18:
        return None
    target = best if math.isfinite(best) else abs(value) * 1.05 + 1.0
    return u + factor * max(target - value, 1e-9 * max(1.0, abs(value))) / norm * g


class _Instance:
    """The allowed pairs of one instance as flat arrays, site-major."""

    def __init__(self, sites: Sequence[Site], needs: Sequence[Need],
                 cost: NDArray[np.float64]) -> None:
        self.m, self.n = len(sites), len(needs)
        self.fixed = np.array([s.fixed_cost for s in sites], dtype=np.float64)
        self.cap = np.array([s.capacity for s in sites], dtype=np.float64)
        self.dem = np.array([nd.demand for nd in needs], dtype=np.float64)
        self.lo = np.array([s.pin is True for s in sites], dtype=bool)
        self.hi = np.array([s.pin is not False for s in sites], dtype=bool)
        allowed = np.isfinite(cost)
        allowed[~self.hi, :] = False
        self.pi, self.pj = np.nonzero(allowed)
        self.pc = cost[self.pi, self.pj]
        self.total_demand = float(self.dem.sum())
        caps = np.unique(self.cap[self.hi])
        self.equal_cap: float | None = float(caps[0]) if caps.size == 1 else None

    def site_values(self, u: NDArray[np.float64], pairs: NDArray[np.intp] | None = None
                    ) -> tuple[NDArray[np.float64], NDArray[np.intp], NDArray[np.float64]]:
        """v_i for multipliers u, and the pairs (index into pi/pj) and shares of each site's
        knapsack solution. With `pairs` (indices into pi/pj, every pair of the sites they
        touch), only those sites' knapsacks are solved; the others' v_i is their fixed cost
        alone (meaningless: the caller leaves those sites closed)."""
        r = self.pc - u[self.pj]
        neg = np.flatnonzero(r < 0) if pairs is None else pairs[r[pairs] < 0]
        d = self.dem[self.pj[neg]]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(d > 0, r[neg] / np.where(d > 0, d, 1.0), -np.inf)
        order = np.lexsort((ratio, self.pi[neg]))
        k = neg[order]
        d = d[order]
        site = self.pi[k]
        cum = np.cumsum(d)
        # cumulative demand within each site: subtract the total before the site's first pair
        first = np.ones(k.size, dtype=bool)
        first[1:] = site[1:] != site[:-1]
        start_total = np.where(first, cum - d, 0.0)
        start_total = np.maximum.accumulate(start_total) if k.size else start_total
        before = cum - d - start_total
        room = self.cap[site] - before
        with np.errstate(divide="ignore", invalid="ignore"):
            take = np.where(d > 0, np.clip(room / np.where(d > 0, d, 1.0), 0.0, 1.0),
                            1.0)
        keep = take > 0
        k, take = k[keep], take[keep]
        v = self.fixed + np.bincount(self.pi[k], weights=r[k] * take, minlength=self.m)
        return v, k, take

    def choose_sites(self, v: NDArray[np.float64], lo: NDArray[np.bool_],
                     hi: NDArray[np.bool_], max_sites: int | None
                     ) -> tuple[float, NDArray[np.float64]]:
        """min sum_i v_i y_i over the site-choice relaxation (see the module docstring),
        with y_i = 1 where lo, y_i = 0 where not hi. Returns (value, y); value inf when
        no choice can hold the demand / respect max_sites."""
        y = lo.astype(np.float64)
        free = hi & ~lo
        if self.equal_cap is not None:
            # Every site has the same capacity C: at least `need` more sites must open to
            # hold the demand; the exact choice is the `need` (or, if more are negative, all
            # negative, up to max_sites) smallest v_i.
            c = self.equal_cap
            left = self.total_demand - float(_dot(self.cap, y))
            need = max(0, math.ceil(left / c - 1e-9)) if c > 0 else 0
            room = (max_sites - int(lo.sum())) if max_sites is not None else int(free.sum())
            cand = np.flatnonzero(free)
            if need > min(room, cand.size):
                return math.inf, y
            cand = cand[np.argsort(v[cand], kind="stable")]
            take = min(room, max(need, int((v[cand] < 0).sum())))
            y[cand[:take]] = 1.0
            return float(_dot(v, y)), y
        if max_sites is not None:
            room = max_sites - int(lo.sum())
            if room < 0:
                return math.inf, y
            cand = np.flatnonzero(free & (v < 0))
            if cand.size > room:
                cand = cand[np.argsort(v[cand], kind="stable")[:room]]
            y[cand] = 1.0
            return float(_dot(v, y)), y
        y[free & (v < 0)] = 1.0
        short = self.total_demand - float(_dot(self.cap, y))
        if short > 1e-9 * max(1.0, self.total_demand):
            cand = np.flatnonzero(free & (y == 0) & (self.cap > 0))
            if cand.size:
                cand = cand[np.argsort(v[cand] / self.cap[cand], kind="stable")]
                cum = np.cumsum(self.cap[cand])
                full = cum <= short
                y[cand[full]] = 1.0
                nxt = int(full.sum())
                if nxt < cand.size:
                    left = short - (float(cum[nxt - 1]) if nxt else 0.0)
                    y[cand[nxt]] = min(1.0, left / self.cap[cand[nxt]])
                    short = 0.0
                else:
                    short -= float(cum[-1])
            if short > 1e-9 * max(1.0, self.total_demand):
                return math.inf, y
        return float(_dot(v, y)), y


class _Transport:
    """Cost of serving every need from a given set of open sites (HiGHS simplex)."""

    def __init__(self, inst: _Instance, single_source: bool) -> None:
        self.inst = inst
        self.single = single_source
        self.infeasible = False
        """Set by `plan`: its last None was a proof that the sites cannot serve every
        need (not a time limit)."""

    def plan(self, open_mask: NDArray[np.bool_], time_limit: float
             ) -> tuple[float, NDArray[np.float64]] | None:
        """(cost, shares per pair) of the best plan with exactly these sites open, or None."""
        inst = self.inst
        self.infeasible = True
        use = np.flatnonzero(open_mask[inst.pi])
        if inst.n and np.bincount(inst.pj[use], minlength=inst.n).min() == 0:
            return None
        if float(inst.cap[open_mask].sum()) < inst.total_demand * (1 - 1e-9):
            return None
        self.infeasible = False
        pi, pj = inst.pi[use], inst.pj[use]
        k = use.size
        sites = np.flatnonzero(open_mask)
        row_of_site = np.full(inst.m, -1)
        row_of_site[sites] = inst.n + np.arange(sites.size)
        rows = np.concatenate([pj, row_of_site[pi]])
        cols = np.concatenate([np.arange(k), np.arange(k)])
        vals = np.concatenate([np.ones(k), inst.dem[pj]])
        nrow = inst.n + sites.size
        a = sp.csc_matrix((vals, (rows, cols)), shape=(nrow, k))
        a.sort_indices()
        inf = highspy.kHighsInf
        row_lo = np.concatenate([np.ones(inst.n), np.full(sites.size, -inf)])
        row_hi = np.concatenate([np.ones(inst.n), inst.cap[sites]])
        h = consolidation.new_highs()
        h.setOptionValue("time_limit", max(0.05, float(time_limit)))
        args = (k, nrow, int(a.nnz), int(highspy.MatrixFormat.kColwise),
                int(highspy.ObjSense.kMinimize), 0.0, inst.pc[use], np.zeros(k), np.ones(k),
                row_lo, row_hi, a.indptr.astype(np.int32), a.indices.astype(np.int32), a.data)
        h.passModel(*args, np.full(k, 1 if self.single else 0, dtype=np.int32))
        h.run()
        info = h.getInfo()
        if info.primal_solution_status != 2:
            self.infeasible = h.getModelStatus() == highspy.HighsModelStatus.kInfeasible
            return None
        got = h.getSolution()
        x = np.zeros(inst.pi.size)
        x[use] = np.clip(np.asarray(got.col_value), 0.0, 1.0)
        if self.single:
            x = np.round(x)
        cost = float(inst.fixed[open_mask].sum() + _dot(inst.pc, x))
        return cost, x


    def restricted(self, core: NDArray[np.bool_], max_sites: int | None, time_limit: float,
                   start_open: NDArray[np.bool_] | None, start_x: NDArray[np.float64] | None,
                   cancel: CancelToken | None
                   ) -> tuple[float, NDArray[np.float64], NDArray[np.bool_]] | None:
        """The best plan HiGHS finds in time_limit when only `core` sites may open, on the
        weak formulation (capacity rows, no linking rows: a small LP, quick dives). A
        heuristic: its bound is not used."""
        inst = self.inst
        sites = np.flatnonzero(core)
        ns = sites.size
        col_of_site = np.full(inst.m, -1)
        col_of_site[sites] = np.arange(ns)
        use = np.flatnonzero(core[inst.pi])
        k = use.size
        pi, pj = inst.pi[use], inst.pj[use]
        # columns: y (ns), x (k); rows: demand (n), capacity (ns), aggregate, max_sites
        rows = [pj, inst.n + col_of_site[pi], inst.n + np.arange(ns),
                np.full(ns, inst.n + ns)]
        cols = [ns + np.arange(k), ns + np.arange(k), np.arange(ns), np.arange(ns)]
        vals = [np.ones(k), inst.dem[pj], -inst.cap[sites], inst.cap[sites]]
        inf = highspy.kHighsInf
        row_lo = [np.ones(inst.n), np.full(ns, -inf), np.array([inst.total_demand])]
        row_hi = [np.ones(inst.n), np.zeros(ns), np.array([inf])]
        integrality = np.concatenate([np.ones(ns, dtype=np.int32),
                                      np.full(k, 1 if self.single else 0, dtype=np.int32)])
        h = _highs_model(rows=rows, cols=cols, vals=vals, row_lo=row_lo, row_hi=row_hi,
                         nrow=inst.n + ns + 1, n_sites=ns, max_sites=max_sites,
                         cost=np.concatenate([inst.fixed[sites], inst.pc[use]]),
                         col_lo=np.concatenate([inst.lo[sites].astype(np.float64),
                                                np.zeros(k)]),
                         col_hi=np.ones(ns + k), integrality=integrality)
        h.setOptionValue("time_limit", max(0.1, float(time_limit)))
        if (start_open is not None and start_x is not None
                and not (start_open & ~core).any()):
            sol = highspy.HighsSolution()
            sol.col_value = np.concatenate([start_open[sites].astype(np.float64),
                                            start_x[use]]).tolist()
            sol.value_valid = True
            h.setSolution(sol)
        consolidation._hook(h, None, cancel)
        h.run()
        if h.getInfo().primal_solution_status != 2:
            return None
        col = np.asarray(h.getSolution().col_value)
        open_mask = np.zeros(inst.m, dtype=bool)
        open_mask[sites[col[:ns] > 0.5]] = True
        x = np.zeros(inst.pi.size)
        x[use] = np.clip(col[ns:], 0.0, 1.0)
        if self.single:
            x = np.round(x)
        x[~open_mask[inst.pi]] = 0.0
        return float(inst.fixed[open_mask].sum() + _dot(inst.pc, x)), x, open_mask


def solve(
    sites: Sequence[Site],
    needs: Sequence[Need],
    assign_cost: ArrayLike,
    *,
    max_sites: int | None = None,
    single_source: bool = False,
    time_limit: float = 60.0,
    on_progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    method: str = "auto",
    spare_core: bool = True,
) -> Solution:
    """Like `consolidation.solve` (same arguments, model, result and guarantees), by the
    method of the module docstring. method: 'auto' (choose), 'milp' (the direct MILP only),
    'seeded' (the seeded direct MILP), 'lagrangian' (always take the Lagrangian steps
    first) or 'tree' (the Lagrangian branch-and-bound; single-source instances take the
    Lagrangian steps instead). spare_core: with 'auto', where the Lagrangian path is taken
    on at most QUICK_MAX_PAIRS pairs, the direct MILP runs beside it in a second thread
    (`_race`); False where the caller already keeps both cores busy (parts)."""
    t0 = time.perf_counter()
    if method not in ("auto", "milp", "seeded", "lagrangian", "tree"):
        raise ValueError(f"unknown method {method!r}")
    cost = np.asarray(assign_cost, dtype=np.float64)
    consolidation._validate(sites, needs, cost, max_sites)
    if cancel is not None and cancel.is_set():
        return consolidation._empty("canceled", "canceled before the solve started",
                                    [s.id for s in sites], t0)
    if method == "auto" and max_sites is None and len(sites) * len(needs) > SMALL_PAIRS:
        parts = _parts(sites, cost)
        if parts is not None:
            return _by_parts(sites, needs, cost, parts, single_source, time_limit,
                             on_progress, cancel, t0)
    inst = _Instance(sites, needs, cost)
    direct = method == "milp" or (method == "auto" and (
        inst.pi.size <= SMALL_PAIRS
        or (inst.m <= DIRECT_MAX_SITES and inst.pi.size <= QUICK_MAX_PAIRS)))
    seeded = method == "seeded" or (direct and method == "auto"
                                    and inst.pi.size > SMALL_PAIRS)
    if (method == "auto" and single_source and inst.pi.size > SMALL_PAIRS
            and inst.m > 0 and inst.n > 0):
        reason = consolidation._precheck(sites, needs, np.isfinite(cost) & inst.hi[:, None],
                                         max_sites, single_source)
        if reason is not None:
            return consolidation._empty("infeasible", reason, [s.id for s in sites], t0)
        return _split_first(sites, needs, cost, inst, max_sites, time_limit, on_progress,
                            cancel, t0, spare_core)
    if seeded and inst.m > 0 and inst.n > 0:
        return _seeded(sites, needs, cost, inst, max_sites, single_source, time_limit,
                       on_progress, cancel, t0)
    if direct or inst.m == 0 or inst.n == 0:
        return _direct(sites, needs, cost, max_sites, single_source, time_limit, on_progress,
                       cancel, t0)
    reason = consolidation._precheck(sites, needs, np.isfinite(cost) & inst.hi[:, None],
                                     max_sites, single_source)
    if reason is not None:
        return consolidation._empty("infeasible", reason, [s.id for s in sites], t0)
    if not single_source and (method == "tree" or (
            method == "auto" and inst.pi.size > TREE_MIN_PAIRS and inst.m <= TREE_MAX_SITES)):
        return _tree_path(sites, needs, inst, max_sites, time_limit, on_progress, cancel, t0)
    quick: Solution | None = None
    if method == "auto" and inst.pi.size <= QUICK_MAX_PAIRS and spare_core:
        return _race(sites, needs, cost, inst, max_sites, single_source, time_limit,
                     on_progress, cancel, t0)
    if method == "auto" and inst.pi.size <= QUICK_MAX_PAIRS:
        # The direct MILP proves many instances at its root node: give it a short try.
        quick = consolidation.solve(sites, needs, cost, max_sites=max_sites,
                                    single_source=single_source,
                                    time_limit=min(QUICK_SECONDS, QUICK_SHARE * time_limit),
                                    on_progress=_milp_hook(on_progress, t0, None, 0),
                                    cancel=cancel)
        if quick.proven_optimal or quick.status in ("infeasible", "canceled"):
            _report_done(on_progress, quick, t0, 0)
            return quick
    return _lagrangian(sites, needs, cost, inst, max_sites, single_source, time_limit,
                       on_progress, cancel, t0, quick)


def _direct(sites: Sequence[Site], needs: Sequence[Need], cost: NDArray[np.float64],
            max_sites: int | None, single_source: bool, time_limit: float,
            on_progress: ProgressCallback | None, cancel: CancelToken | None,
            t0: float) -> Solution:
    hook = _milp_hook(on_progress, t0, None, 0)
    sol = consolidation.solve(sites, needs, cost, max_sites=max_sites,
                              single_source=single_source, time_limit=time_limit,
                              on_progress=hook, cancel=cancel, elastic=True)
    _report_done(on_progress, sol, t0, 0)
    return sol


def _started_milp(sites: Sequence[Site], needs: Sequence[Need], cost: NDArray[np.float64],
                  max_sites: int | None, time_limit: float,
                  on_progress: ProgressCallback | None, cancel: CancelToken | None,
                  t0: float, quick: Solution | None) -> Solution:
    """The single-source direct MILP for the time left, started from `quick`'s plan (the
    split plan made single-source); the cheaper plan and the higher bound of the two."""
    lag = quick.dual_bound if quick is not None else None
    sol = consolidation.solve(sites, needs, cost, max_sites=max_sites, single_source=True,
                              time_limit=max(0.5, time_limit - (time.perf_counter() - t0)),
                              on_progress=_milp_hook(on_progress, t0, lag, 0),
                              cancel=cancel, elastic=True,
                              start=quick.assignment if quick is not None
                              and quick.has_solution else None)
    if quick is not None and sol.status != "infeasible":
        # (infeasible: a split plan, when `quick` has only its bound, is no single-source one)
        sol = _better(quick, sol)
    if sol.status != "infeasible":
        sol = replace(sol, method="split+milp")
    _report_done(on_progress, sol, t0, 0)
    return sol


def _split_first(sites: Sequence[Site], needs: Sequence[Need], cost: NDArray[np.float64],
                 inst: _Instance, max_sites: int | None, time_limit: float,
                 on_progress: ProgressCallback | None, cancel: CancelToken | None,
                 t0: float, spare_core: bool = True) -> Solution:
    """Single-source instances ('auto', above SMALL_PAIRS pairs): the split-demand problem
    first, by this solver's own method, for at most SPLIT_SHARE of the time. Every
    single-source plan is a split plan, so its bound is a bound here, often far above
    HiGHS's single-source bound (capa at capacity 8,000: the split optimum, 1.4% above
    HiGHS's bound after 60 s). Its plan is made single-source two ways, the cheaper kept:
    its buildings with each need assigned whole by HiGHS (`_assign_whole`, for the time
    GAP_MIN_SECONDS says) and rounded (`_single_source`); that plan starts the
    single-source direct MILP, every HiGHS default on, for the time left (`_started_milp`).
    Above QUICK_MAX_PAIRS pairs that MILP does not finish its root LP, and the plan is the
    answer. A split plan that already serves every need from one site, proven, is proven
    here. Before: up to DIRECT_MAX_SITES sites the direct MILP started from the strong LP's
    rounded plan (about twice the gap on the registry's towns at 20 s), above it the
    Lagrangian path (7.6-20% above its bound where the direct MILP ended 2-4% above its
    own; ADR 18)."""
    def bound_only(p: Progress) -> None:
        # the split plan is not a single-source plan: only its bound is reported
        if on_progress is not None and p.phase != "done":
            on_progress(Progress(phase="split", elapsed=time.perf_counter() - t0, best=None,
                                 bound=p.bound, gap=None, open_sites=None,
                                 iteration=p.iteration, fixed_sites=p.fixed_sites))
    big = inst.pi.size > QUICK_MAX_PAIRS
    share = (SPLIT_BIG_SHARE if big else SPLIT_SHARE if inst.m <= DIRECT_MAX_SITES
             else SPLIT_LARGE_SHARE)
    split = solve(sites, needs, cost, max_sites=max_sites,
                  time_limit=max(0.5, share * time_limit),
                  on_progress=bound_only if on_progress is not None else None,
                  cancel=None if cancel is None else _Cancel(cancel), spare_core=spare_core)
    site_ids = [s.id for s in sites]
    if split.status == "infeasible":
        out = consolidation._empty("infeasible", split.message, site_ids, t0)
        _report_done(on_progress, out, t0, 0)
        return out
    lb = split.dual_bound if split.dual_bound is not None else -math.inf
    extra = {"split_bound": lb, "split_seconds": time.perf_counter() - t0}
    if split.objective is not None:
        extra["split_objective"] = split.objective
    quick: Solution | None = None
    if split.has_solution:
        x = _pairs_from(inst, split, site_ids, needs)
        open_mask = np.isin(np.array(site_ids), split.open_site_ids)
        served = np.bincount(inst.pj[x > SHARE_EPS], minlength=inst.n)
        if np.all(served == 1):  # already one site per need: the split plan itself
            x = (x > SHARE_EPS).astype(np.float64)
            plan: tuple[float, NDArray[np.float64], NDArray[np.bool_]] | None = (
                float(inst.fixed[open_mask].sum() + _dot(inst.pc, x)), x, open_mask)
        else:
            plan = _single_source(inst, x, open_mask)
            left = time_limit - (time.perf_counter() - t0)
            seconds = min(GAP_MAX_SECONDS, 0.8 * left,
                          max(GAP_SHARE * time_limit, 0.5 * left, GAP_MIN_SECONDS))
            if (seconds >= 0.1 and inst.n <= GAP_MAX_NEEDS
                    and not (cancel is not None and cancel.is_set())):
                gap_plan = _assign_whole(inst, open_mask, seconds)
                if gap_plan is not None and (plan is None or gap_plan[0] < plan[0]):
                    plan = gap_plan
        if plan is not None and (max_sites is None or plan[2].sum() <= max_sites):
            quick = replace(_quick_solution(inst, sites, needs, plan[1], plan[2], plan[0], lb,
                                            t0, extra), extra=extra)
    canceled = cancel is not None and cancel.is_set()
    if quick is not None and (quick.proven_optimal or canceled or big):
        # stopped short of the time limit by choice (the MILP would not help): a work limit
        status = "optimal" if quick.proven_optimal else "canceled" if canceled else (
            "time_limit" if split.status == "time_limit" else "limit")
        out = replace(quick, method="split", status=status,
                      message="" if quick.proven_optimal else status)
        _report_done(on_progress, out, t0, 0)
        return out
    if quick is None and math.isfinite(lb):
        # no rounded plan: the bound alone, carried by an empty result
        quick = replace(consolidation._empty("time_limit", "time_limit", site_ids, t0),
                        dual_bound=lb)
    out = _started_milp(sites, needs, cost, max_sites, time_limit, on_progress, cancel, t0,
                        quick)
    return replace(out, extra={**out.extra, **extra})


def _assign_whole(inst: _Instance, open_mask: NDArray[np.bool_], seconds: float
                  ) -> tuple[float, NDArray[np.float64], NDArray[np.bool_]] | None:
    """The best single-source plan HiGHS finds in `seconds` with only these sites open (a
    generalized assignment problem: each need whole to one site, within capacities), as
    (cost, shares per pair, sites kept: those serving someone and the pinned), or None. On
    a split plan's sites it keeps the split plan's choice of buildings, which rounding
    does not: on a 57 x 290 town, 0.46% above the split optimum in 3 s, where rounding was
    5.2% above and the single-source MILP 3.2% above after 20 s (ADR 18)."""
    got = _Transport(inst, single_source=True).plan(open_mask, seconds)
    if got is None:
        return None
    x = got[1]
    used = np.zeros(inst.m, dtype=bool)
    used[inst.pi[x > 0.5]] = True
    keep = inst.lo | used | (open_mask & (inst.fixed < 0))
    return float(inst.fixed[keep].sum() + _dot(inst.pc, x)), x, keep


def _seeded(sites: Sequence[Site], needs: Sequence[Need], cost: NDArray[np.float64],
            inst: _Instance, max_sites: int | None, single_source: bool, time_limit: float,
            on_progress: ProgressCallback | None, cancel: CancelToken | None,
            t0: float) -> Solution:
    """The direct MILP for instances of up to DIRECT_MAX_SITES sites, seeded and reduced.

    1. The strong LP relaxation (with the aggregate capacity row): its demand-row duals u
       give the Lagrangian bound L(u), recomputed exactly (valid whatever u is).
    2. A plan: the MILP restricted to the sites the LP opens (the others pinned closed),
       without HiGHS's sub-MIP heuristics (on the demo's schools they spend most of the
       time of an unseeded solve looking for the plan this step finds).
    3. Reduced-cost fixing at u against that plan (`_fix`).
    4. The direct MILP on the whole instance, the fixed sites pinned, the plan as its first
       incumbent and its sub-MIP heuristics off when step 2 proved its restricted problem
       (the plan is then likely optimal and only the proof is left).
    Its proof is a proof of the whole (see the module docstring on fixing)."""
    lp = _strong_lp(inst, max_sites)
    if lp is None or (cancel is not None and cancel.is_set()):
        return _direct(sites, needs, cost, max_sites, single_source, time_limit, on_progress,
                       cancel, t0)
    lp_value, y, u = lp.value, lp.y, lp.u
    v, lb = _lp_bound(inst, lp, max_sites)
    lb_or_none = lb if math.isfinite(lb) else None
    support = [replace(s, pin=False) if y[i] < SUPPORT_EPS and s.pin is None else s
               for i, s in enumerate(sites)]
    # The pairs the LP uses, and each need's SEED_PAIRS of smallest reduced cost.
    order = np.lexsort((lp.reduced_cost, inst.pj))
    starts = np.searchsorted(inst.pj[order], inst.pj[order], side="left")
    rank = np.empty(order.size, dtype=np.intp)
    rank[order] = np.arange(order.size) - starts
    keep = (lp.x > SHARE_EPS) | (rank < SEED_PAIRS)
    pruned = np.full_like(cost, np.inf)
    pruned[inst.pi[keep], inst.pj[keep]] = inst.pc[keep]
    seed_hook = _milp_hook(on_progress, t0, lb_or_none, 0, bound_cap=None)
    seed = consolidation.solve(support, needs, pruned, max_sites=max_sites,
                               single_source=single_source,
                               time_limit=max(0.5, SEED_SHARE * time_limit),
                               on_progress=seed_hook, cancel=cancel, heuristics=False)
    if not seed.has_solution and seed.status == "infeasible":
        # too few pairs kept: every pair of the LP's sites
        seed = consolidation.solve(support, needs, cost, max_sites=max_sites,
                                   single_source=single_source,
                                   time_limit=max(0.5, SEED_SHARE * time_limit),
                                   on_progress=seed_hook, cancel=cancel, heuristics=False)
    if single_source:
        # HiGHS's seed is often far from the best single-source plan: the LP's rounded
        # (`_lp_plan`, milliseconds) when cheaper, as the incumbent and the start
        rounded = _lp_plan(inst, lp, v, True)
        if rounded is not None and (seed.objective is None or rounded[0] < seed.objective):
            seed = replace(_own_solution(inst, sites, needs, rounded[1], rounded[2], lb, t0,
                                         {}, proven=False, status="time_limit"),
                           proven_optimal=False)
    t_seed = time.perf_counter() - t0
    extra = {"strong_lp_value": lp_value, "lagrangian_bound": lb,
             "seed_seconds": t_seed, "seed_sites_closed": float(
                 sum(1 for s, o in zip(support, sites, strict=True) if s.pin != o.pin))}
    if not seed.has_solution:
        sol = consolidation.solve(sites, needs, cost, max_sites=max_sites,
                                  single_source=single_source,
                                  time_limit=max(0.5, time_limit - t_seed),
                                  on_progress=_milp_hook(on_progress, t0, None, 0),
                                  cancel=cancel, elastic=True)
        out = replace(sol, extra={**sol.extra, **extra})
        _report_done(on_progress, out, t0, 0)
        return out
    site_ids = [s.id for s in sites]
    ub_x = _pairs_from(inst, seed, site_ids, needs)
    ub_open = np.isin(np.array(site_ids), seed.open_site_ids)
    ub = float(inst.fixed[ub_open].sum() + _dot(inst.pc, ub_x))
    fixed_open, fixed_closed, min_flip = _fix(inst, u, ub, lb, max_sites, ub_open)
    n_fixed = int(fixed_open.sum() + fixed_closed.sum())
    extra.update({"seed_cost": ub, "fixed_open": float(fixed_open.sum()),
                  "fixed_closed": float(fixed_closed.sum())})
    if math.isfinite(lb) and _proven(ub, lb):
        own = _own_solution(inst, sites, needs, ub_x, ub_open, lb, t0, extra,
                            proven=True, status="optimal")
        own = replace(own, method="milp")
        _report_done(on_progress, own, t0, n_fixed)
        return own
    reduced = [replace(s, pin=True) if fixed_open[i] else
               replace(s, pin=False) if fixed_closed[i] else s for i, s in enumerate(sites)]
    lag_bound = lb if math.isfinite(lb) else None
    # A seed that is the optimum of its restricted problem and near the bound is likely
    # optimal: only the proof is left, and HiGHS's sub-MIP heuristics would only slow it.
    trusted = (seed.proven_optimal and math.isfinite(lb)
               and (ub - lb) <= SEED_TRUST_GAP * abs(ub))
    extra["seed_trusted"] = float(trusted)
    sol = consolidation.solve(reduced, needs, cost, max_sites=max_sites,
                              single_source=single_source,
                              time_limit=max(0.5, time_limit - (time.perf_counter() - t0)),
                              on_progress=_milp_hook(on_progress, t0, lag_bound, n_fixed,
                                                     bound_cap=min_flip),
                              cancel=cancel, elastic=True, start=seed.assignment,
                              heuristics=not trusted, restart=False)
    extra.update(sol.extra)
    if not sol.has_solution:
        status = sol.status if sol.status in ("time_limit", "canceled", "limit") else "limit"
        own = _own_solution(inst, sites, needs, ub_x, ub_open, lb, t0, extra,
                            proven=False, status=status)
        own = replace(own, method="milp")
        _report_done(on_progress, own, t0, n_fixed)
        return own
    if sol.proven_optimal:
        dual = sol.objective
    else:
        reduced_bound = (None if sol.dual_bound is None else min(sol.dual_bound, min_flip))
        cands = [b for b in (lag_bound, reduced_bound) if b is not None and math.isfinite(b)]
        dual = max(cands) if cands else None
    gap = 0.0 if sol.proven_optimal else _gap(sol.objective, dual)
    out = replace(sol, dual_bound=dual, gap=gap, extra=extra,
                  solve_seconds=time.perf_counter() - t0 - sol.build_seconds)
    _report_done(on_progress, out, t0, n_fixed)
    return out


def _milp_hook(on_progress: ProgressCallback | None, t0: float, lag_bound: float | None,
               fixed: int, bound_cap: float | None = math.inf
               ) -> consolidation.ProgressHook | None:
    """Progress from inside HiGHS. HiGHS's dual bound is a bound of the whole only up to
    `bound_cap` (on a problem reduced by fixing: the smallest flip bound); None: HiGHS
    solves a restriction and its bound says nothing of the whole (only lag_bound is
    reported)."""
    if on_progress is None:
        return None
    report = on_progress

    def hook(phase: str, best: float | None, bound: float | None) -> None:
        if bound is not None:
            bound = None if bound_cap is None else min(bound, bound_cap)
        if lag_bound is not None:
            bound = lag_bound if bound is None else max(bound, lag_bound)
        report(Progress(phase=phase, elapsed=time.perf_counter() - t0, best=best,
                        bound=bound, gap=_gap(best, bound), open_sites=None,
                        fixed_sites=fixed))
    return hook


def _report_done(on_progress: ProgressCallback | None, sol: Solution, t0: float,
                 fixed: int) -> None:
    if on_progress is not None:
        on_progress(Progress(phase="done", elapsed=time.perf_counter() - t0,
                             best=sol.objective, bound=sol.dual_bound, gap=sol.gap,
                             open_sites=len(sol.open_site_ids) if sol.has_solution else None,
                             fixed_sites=fixed))


def _lagrangian(sites: Sequence[Site], needs: Sequence[Need], cost: NDArray[np.float64],
                inst: _Instance, max_sites: int | None, single_source: bool,
                time_limit: float, on_progress: ProgressCallback | None,
                cancel: CancelToken | None, t0: float,
                quick: Solution | None = None) -> Solution:
    deadline = t0 + time_limit
    lag_deadline = t0 + LAGRANGE_SHARE * time_limit
    transport = _Transport(inst, single_source)
    # Start: each need's cheapest connection.
    u = np.full(inst.n, np.inf)
    np.minimum.at(u, inst.pj, inst.pc)
    best_u = u.copy()
    lb = -math.inf
    ub = math.inf
    ub_x: NDArray[np.float64] | None = None
    ub_open: NDArray[np.bool_] | None = None
    tried: set[bytes] = set()
    quick_bound = None if quick is None else quick.dual_bound
    if quick is not None and quick.objective is not None:
        ub_x = _pairs_from(inst, quick, [s.id for s in sites], needs)
        ub_open = np.isin(np.array([s.id for s in sites]), quick.open_site_ids)
        ub = float(inst.fixed[ub_open].sum() + _dot(inst.pc, ub_x))
    # Where the strong LP is cheap, its demand duals start the steps: L(u) there is the LP
    # bound, which hundreds of steps from the cheapest connections may not reach (the
    # 400 x 2,000 registry: 600 steps in 12 s ended 0.09% below it), and its rounded plan
    # is a first incumbent; the steps then only look for plans around it.
    warm = False
    lp = (_strong_lp(inst, max_sites) if inst.pi.size <= QUICK_MAX_PAIRS
          and not (cancel is not None and cancel.is_set()) else None)
    if lp is not None:
        v_lp, lb_lp = _lp_bound(inst, lp, max_sites)
        if math.isfinite(lb_lp):
            warm = True
            u, best_u, lb = lp.u.copy(), lp.u.copy(), lb_lp
            rounded = _lp_plan(inst, lp, v_lp, single_source)
            if rounded is not None and rounded[0] < ub and (
                    max_sites is None or rounded[2].sum() <= max_sites):
                ub, ub_x, ub_open = rounded
    factor, stall, it = 2.0, 0, 0
    plan_seconds = 0.0
    last_report = 0.0
    canceled = False
    while it < MAX_ITERATIONS:
        if cancel is not None and cancel.is_set():
            canceled = True
            break
        if time.perf_counter() > lag_deadline:
            break
        it += 1
        v, k, take = inst.site_values(u)
        val, y = inst.choose_sites(v, inst.lo, inst.hi, max_sites)
        if not math.isfinite(val):
            break  # no site choice holds the demand: the MILP will say why
        bound = float(u.sum()) + val
        improved = not math.isfinite(lb) or bound > lb + 1e-12 * max(1.0, abs(lb))
        if improved:
            lb, best_u, stall = bound, u.copy(), 0
        else:
            stall += 1
            if stall >= STALL_ITERATIONS:
                factor, stall = factor / 2, 0
                u = best_u.copy()
        # A plan from the sites the relaxation opens (topped up to hold the demand).
        # Plans from good multipliers: one at the start (the step needs a target), then
        # once the bound has settled, when it improves and now and then.
        want = (not math.isfinite(ub)
                or ((warm or it >= PLANS_FROM) and (improved or it % 20 == 0)))
        if want and len(tried) < MAX_PLANS and plan_seconds < 0.4 * LAGRANGE_SHARE * time_limit:
            t_plan = time.perf_counter()
            base = y > 1e-9
            if max_sites is None:
                base = _top_up(inst, base, v)
            # The relaxation's sites, and with one or two more (next smallest v_i): a set
            # that just holds the demand often serves it dearly.
            spare = np.flatnonzero(inst.hi & ~base)
            spare = spare[np.argsort(v[spare], kind="stable")][:PLAN_EXTRA_SITES]
            room = math.inf if max_sites is None else max_sites - int(base.sum())
            for extra_sites in range(int(min(room, spare.size)) + 1):
                open_mask = base.copy()
                open_mask[spare[:extra_sites]] = True
                key = np.packbits(open_mask).tobytes()
                if key in tried:
                    continue
                tried.add(key)
                got = transport.plan(open_mask, max(0.1, min(PLAN_SECONDS,
                                                             deadline - time.perf_counter())))
                if got is not None and got[0] < ub:
                    ub, ub_x, ub_open = got[0], got[1], open_mask.copy()
            plan_seconds += time.perf_counter() - t_plan
        if math.isfinite(ub) and _proven(ub, lb):
            break
        if factor < MIN_STEP_FACTOR:
            break
        nxt = _step(inst, u, k, take, y, bound, ub, factor)
        if nxt is None:
            break  # the relaxation's solution serves every need exactly: it is optimal
        u = nxt
        now = time.perf_counter()
        if on_progress is not None and now - last_report >= PROGRESS_EVERY:
            last_report = now
            on_progress(Progress(
                phase="lagrangian", elapsed=now - t0,
                best=ub if math.isfinite(ub) else None, bound=lb if math.isfinite(lb) else None,
                gap=_gap(ub if math.isfinite(ub) else None, lb if math.isfinite(lb) else None),
                open_sites=int(ub_open.sum()) if ub_open is not None else None, iteration=it))

    site_ids = [s.id for s in sites]
    plan = None if ub_x is None else _assignment(inst, ub_x, site_ids, needs)
    # A better plan from a restricted MILP: only the sites the relaxation opens at its best
    # multipliers, the best plan's sites and the next RESTRICT_EXTRA by v_i may open.
    restricted_gain = 0.0
    restrict_left = RESTRICT_SHARE * time_limit
    core_used: NDArray[np.bool_] | None = None
    if (not canceled and math.isfinite(lb) and not (math.isfinite(ub) and _proven(ub, lb))
            and not (cancel is not None and cancel.is_set())):
        v, _, _ = inst.site_values(best_u)
        _, y = inst.choose_sites(v, inst.lo, inst.hi, max_sites)
        core = y > 1e-9
        if ub_open is not None:
            core |= ub_open
        spare = np.flatnonzero(inst.hi & ~core)
        core[spare[np.argsort(v[spare], kind="stable")][:RESTRICT_EXTRA]] = True
        if not core[inst.hi].all():
            budget = min(restrict_left / 2, max(0.5, deadline - time.perf_counter()))
            core_used = core
            t_r = time.perf_counter()
            better = transport.restricted(core, max_sites, budget, ub_open, ub_x, cancel)
            restrict_left -= time.perf_counter() - t_r
            if better is not None and better[0] < ub - MIP_ABS_GAP:
                restricted_gain = ub - better[0] if math.isfinite(ub) else 0.0
                ub, ub_x, ub_open = better
                plan = _assignment(inst, ub_x, site_ids, needs)
    extra = {"restricted_milp_gain": restricted_gain, "lagrangian_bound": lb,
             "lagrangian_iterations": float(it),
             "lagrangian_plans": float(len(tried)),
             "lagrangian_seconds": time.perf_counter() - t0}
    if ub_x is not None and ub_open is not None and _proven(ub, lb):
        sol = _own_solution(inst, sites, needs, ub_x, ub_open, lb, t0, extra,
                            proven=True, status="optimal")
        _report_done(on_progress, sol, t0, 0)
        return sol
    if canceled and ub_x is not None and ub_open is not None:
        sol = _own_solution(inst, sites, needs, ub_x, ub_open, lb, t0, extra,
                            proven=False, status="canceled")
        _report_done(on_progress, sol, t0, 0)
        return sol

    # Reduced-cost fixing at the best multipliers; when it leaves a smaller set of sites than
    # the restricted MILP had, that set gets its own restricted MILP and the fixing is redone
    # with the better plan.
    fixed_open, fixed_closed, min_flip = _fix(inst, best_u, ub, lb, max_sites, ub_open)
    last_core = core_used
    for _round in range(FIX_ROUNDS):
        core = inst.hi & ~fixed_closed
        if (cancel is not None and cancel.is_set()) or last_core is None \
                or not (core.sum() < last_core.sum() or (core != last_core).any()):
            break
        budget = min(restrict_left, deadline - time.perf_counter() - 1.0)
        if budget <= 0.5:
            break
        last_core = core
        t_r = time.perf_counter()
        better = transport.restricted(core, max_sites, budget, ub_open, ub_x, cancel)
        restrict_left -= time.perf_counter() - t_r
        if better is None or better[0] >= ub - MIP_ABS_GAP:
            break
        restricted_gain += ub - better[0]
        ub, ub_x, ub_open = better
        plan = _assignment(inst, ub_x, site_ids, needs)
        fixed_open, fixed_closed, min_flip = _fix(inst, best_u, ub, lb, max_sites, ub_open)
    extra["restricted_milp_gain"] = restricted_gain
    n_fixed = int(fixed_open.sum() + fixed_closed.sum())
    extra["fixed_open"] = float(fixed_open.sum())
    extra["fixed_closed"] = float(fixed_closed.sum())

    remaining = deadline - time.perf_counter()
    reduced = [replace(s, pin=True) if fixed_open[i] else
               replace(s, pin=False) if fixed_closed[i] else s for i, s in enumerate(sites)]
    lag_bound = lb if math.isfinite(lb) else None
    sol = consolidation.solve(reduced, needs, cost, max_sites=max_sites,
                              single_source=single_source, time_limit=max(0.5, remaining),
                              on_progress=_milp_hook(on_progress, t0, lag_bound, n_fixed,
                                                     bound_cap=min_flip),
                              cancel=cancel, elastic=True, start=plan)
    extra.update(sol.extra)
    if not sol.has_solution and ub_x is not None and ub_open is not None:
        # HiGHS stopped before taking up the start: our plan is the best found
        status = sol.status if sol.status in ("time_limit", "canceled", "limit") else "limit"
        own = _own_solution(inst, sites, needs, ub_x, ub_open, lb, t0, extra,
                            proven=False, status=status)
        _report_done(on_progress, own, t0, n_fixed)
        return own
    if sol.proven_optimal:
        dual = sol.objective
    else:
        parts = [b for b in (sol.dual_bound, ) if b is not None]
        reduced_bound = min([*parts, min_flip]) if parts else None
        cands = [b for b in (lag_bound, reduced_bound, quick_bound)
                 if b is not None and math.isfinite(b)]
        dual = max(cands) if cands else None
    gap = 0.0 if sol.proven_optimal else _gap(sol.objective, dual)
    out = replace(sol, dual_bound=dual, gap=gap, method="lagrangian+milp",
                  build_seconds=sol.build_seconds, extra=extra,
                  solve_seconds=time.perf_counter() - t0 - sol.build_seconds)
    _report_done(on_progress, out, t0, n_fixed)
    return out


def _fix(inst: _Instance, u: NDArray[np.float64], ub: float, lb: float,
         max_sites: int | None, ub_open: NDArray[np.bool_] | None
         ) -> tuple[NDArray[np.bool_], NDArray[np.bool_], float]:
    """Reduced-cost fixing: (sites fixed open, sites fixed closed, the smallest bound of a
    plan that flips a fixed site)."""
    fixed_open = np.zeros(inst.m, dtype=bool)
    fixed_closed = np.zeros(inst.m, dtype=bool)
    min_flip = math.inf
    if not (math.isfinite(ub) and math.isfinite(lb)):
        return fixed_open, fixed_closed, min_flip
    v, _, _ = inst.site_values(u)
    _, y = inst.choose_sites(v, inst.lo, inst.hi, max_sites)
    usum = float(u.sum())
    margin = MIP_ABS_GAP + 1e-9 * abs(ub)
    for i in np.flatnonzero(inst.hi & ~inst.lo).tolist():
        lo, hi = inst.lo.copy(), inst.hi.copy()
        if y[i] > 0.5:
            hi[i] = False  # what does closing it cost?
        else:
            lo[i] = True   # what does opening it cost?
        flip, _ = inst.choose_sites(v, lo, hi, max_sites)
        flip += usum
        if flip > ub + margin:
            if y[i] > 0.5:
                fixed_open[i] = True
            else:
                fixed_closed[i] = True
            min_flip = min(min_flip, flip)
    # The incumbent obeys every fixing (its cost is below each flip bound); should rounding
    # ever say otherwise, fix nothing rather than cut the incumbent off.
    if ub_open is not None and ((ub_open & fixed_closed).any() or (~ub_open & fixed_open).any()):
        return np.zeros(inst.m, dtype=bool), np.zeros(inst.m, dtype=bool), math.inf
    return fixed_open, fixed_closed, min_flip


def _pairs_from(inst: _Instance, sol: Solution, site_ids: list[str],
                needs: Sequence[Need]) -> NDArray[np.float64]:
    """A solution's shares as an array over the instance's pairs."""
    s_idx = {s: i for i, s in enumerate(site_ids)}
    keys = inst.pi.astype(np.int64) * inst.n + inst.pj
    x = np.zeros(inst.pi.size)
    for j, nd in enumerate(needs):
        for sid, share in sol.assignment.get(nd.id, []):
            k = int(np.searchsorted(keys, s_idx[sid] * inst.n + j))
            x[k] = share
    return x


def _top_up(inst: _Instance, open_mask: NDArray[np.bool_],
            v: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Open more sites (cheapest v_i per unit of capacity first) until the open ones could
    hold the total demand."""
    mask = open_mask.copy()
    short = inst.total_demand - float(inst.cap[mask].sum())
    if short <= 0:
        return mask
    cand = np.flatnonzero(inst.hi & ~mask & (inst.cap > 0))
    cand = cand[np.argsort(v[cand] / inst.cap[cand], kind="stable")]
    for i in cand.tolist():
        mask[i] = True
        short -= inst.cap[i]
        if short <= 0:
            break
    return mask


def _assignment(inst: _Instance, x: NDArray[np.float64], site_ids: list[str],
                needs: Sequence[Need]) -> dict[str, list[tuple[str, float]]]:
    keep = x > consolidation.SHARE_EPS
    out: dict[str, list[tuple[str, float]]] = {nd.id: [] for nd in needs}
    order = np.lexsort((-x[keep], inst.pj[keep]))
    for i, j, s in zip(inst.pi[keep][order].tolist(), inst.pj[keep][order].tolist(),
                       x[keep][order].tolist(), strict=True):
        out[needs[j].id].append((site_ids[i], s))
    return out


def _own_solution(inst: _Instance, sites: Sequence[Site], needs: Sequence[Need],
                  x: NDArray[np.float64], open_mask: NDArray[np.bool_], lb: float,
                  t0: float, extra: dict[str, float], *, proven: bool,
                  status: str) -> Solution:
    """A Solution from the Lagrangian phase's own plan."""
    site_ids = [s.id for s in sites]
    share = np.where(x > SHARE_EPS, x, 0.0)
    # a site is open when it serves someone or is pinned open (a plan may open sites that
    # serve no one only when pinned)
    used = np.zeros(inst.m, dtype=bool)
    used[inst.pi[share > 0]] = True
    opened = (open_mask & (used | inst.lo)) if np.all(inst.fixed >= 0) else open_mask
    fixed_total = float(inst.fixed[opened].sum())
    assign_total = float(_dot(inst.pc, share))
    obj = fixed_total + assign_total
    dual = obj if proven else (lb if math.isfinite(lb) else None)
    return Solution(
        status=status, proven_optimal=proven, objective=obj, fixed_cost_total=fixed_total,
        assignment_cost_total=assign_total, gap=0.0 if proven else _gap(obj, dual),
        dual_bound=dual, open_site_ids=[site_ids[i] for i in np.flatnonzero(opened).tolist()],
        closed_site_ids=[site_ids[i] for i in np.flatnonzero(~opened).tolist()],
        assignment=_assignment(inst, share, site_ids, needs), build_seconds=0.0,
        solve_seconds=time.perf_counter() - t0, n_variables=inst.m + int(inst.pi.size),
        n_constraints=inst.n + inst.m + int(inst.pi.size), extra=extra,
        message="" if proven else status,
        method="lagrangian")


@dataclass(frozen=True)
class _StrongLP:
    """The strong LP relaxation's solution: value, y per site, x and reduced cost per pair,
    u per need (the duals of the demand rows)."""

    value: float
    y: NDArray[np.float64]
    x: NDArray[np.float64]
    reduced_cost: NDArray[np.float64]
    u: NDArray[np.float64]


def _highs_model(*, rows: list[Any], cols: list[Any], vals: list[Any], row_lo: list[Any],
                 row_hi: list[Any], nrow: int, n_sites: int, max_sites: int | None,
                 cost: NDArray[np.float64], col_lo: NDArray[np.float64],
                 col_hi: NDArray[np.float64], integrality: NDArray[np.int32]) -> Any:
    """A quiet HiGHS instance holding the model given as coordinate triplets (lists of
    arrays) and row bounds; the site columns come first, and ``max_sites`` adds the row
    sum of the first ``n_sites`` columns <= max_sites. The lists are not changed."""
    rows, cols, vals = list(rows), list(cols), list(vals)
    row_lo, row_hi = list(row_lo), list(row_hi)
    if max_sites is not None:
        rows.append(np.full(n_sites, nrow))
        cols.append(np.arange(n_sites))
        vals.append(np.ones(n_sites))
        row_lo.append(np.array([-highspy.kHighsInf]))
        row_hi.append(np.array([float(max_sites)]))
        nrow += 1
    ncol = cost.size
    a = sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                      shape=(nrow, ncol))
    a.sort_indices()
    h = consolidation.new_highs()
    h.passModel(ncol, nrow, int(a.nnz), int(highspy.MatrixFormat.kColwise),
                int(highspy.ObjSense.kMinimize), 0.0, cost, col_lo, col_hi,
                np.concatenate(row_lo), np.concatenate(row_hi),
                a.indptr.astype(np.int32), a.indices.astype(np.int32), a.data, integrality)
    return h


def _strong_lp(inst: _Instance, max_sites: int | None) -> _StrongLP | None:
    """The LP relaxation of the strong formulation (consolidation's model, with the
    aggregate capacity row sum_i C_i y_i >= sum_j d_j), or None when HiGHS does not solve
    it to optimality. Its value is only reported; the bound the solver uses is L(u),
    recomputed from u."""
    m, k = inst.m, inst.pi.size
    xcol = m + np.arange(k)
    link = inst.n + m + np.arange(k)
    agg = inst.n + m + k
    rows = [inst.pj, inst.n + inst.pi, link, inst.n + np.arange(m), link, np.full(m, agg)]
    cols = [xcol, xcol, xcol, np.arange(m), inst.pi, np.arange(m)]
    vals = [np.ones(k), inst.dem[inst.pj], np.ones(k), -inst.cap, -np.ones(k), inst.cap]
    inf = highspy.kHighsInf
    row_lo = [np.ones(inst.n), np.full(m + k, -inf), np.array([inst.total_demand])]
    row_hi = [np.ones(inst.n), np.zeros(m + k), np.array([inf])]
    h = _highs_model(rows=rows, cols=cols, vals=vals, row_lo=row_lo, row_hi=row_hi,
                     nrow=agg + 1, n_sites=m, max_sites=max_sites,
                     cost=np.concatenate([inst.fixed, inst.pc]),
                     col_lo=np.concatenate([inst.lo.astype(np.float64), np.zeros(k)]),
                     col_hi=np.concatenate([inst.hi.astype(np.float64), np.ones(k)]),
                     integrality=np.zeros(m + k, dtype=np.int32))
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    sol = h.getSolution()
    col, dual = np.asarray(sol.col_value), np.asarray(sol.col_dual)
    return _StrongLP(value=float(h.getInfo().objective_function_value), y=col[:m],
                     x=col[m:], reduced_cost=dual[m:], u=np.asarray(sol.row_dual)[:inst.n])


@dataclass
class _TreeResult:
    ub: float
    ub_x: NDArray[np.float64] | None
    ub_open: NDArray[np.bool_] | None
    bound: float
    """A lower bound on every plan: the best plan's cost when the search is complete, else
    the least bound of the nodes left open."""
    complete: bool
    canceled: bool
    nodes: int
    iterations: int


class _Incumbent:
    """The best plan so far; `consider` completes a choice of sites by the transportation LP
    (split demand) and keeps it when it is cheaper."""

    def __init__(self, transport: _Transport, deadline: float) -> None:
        self.transport = transport
        self.deadline = deadline
        self.ub = math.inf
        self.x: NDArray[np.float64] | None = None
        self.open: NDArray[np.bool_] | None = None
        self.tried: set[bytes] = set()

    def consider(self, open_mask: NDArray[np.bool_]) -> bool:
        """True if the choice can serve every need (whether or not it is the best); False
        with `transport.infeasible` False: the LP ran out of time, nothing is known."""
        self.tried.add(np.packbits(open_mask).tobytes())
        got = self.transport.plan(open_mask, max(0.1, min(PLAN_SECONDS,
                                                          self.deadline - time.perf_counter())))
        if got is None:
            return False
        if got[0] < self.ub:
            self.ub, self.x, self.open = got[0], got[1], open_mask.copy()
        return True

    def new(self, open_mask: NDArray[np.bool_]) -> bool:
        return np.packbits(open_mask).tobytes() not in self.tried


def _tree(inst: _Instance, max_sites: int | None, u_root: NDArray[np.float64],
          root_bound: float, best: _Incumbent, deadline: float, cancel: CancelToken | None,
          report: Callable[[str, float, int, int], None]) -> _TreeResult:
    """Lagrangian branch-and-bound over the choice of sites (split demand).

    Each node is a set of sites forced open (`lo`) and allowed to open (`hi`). Its bound is
    the Lagrangian bound of step 1 with the site choice restricted to the node (valid for
    every plan in it), from the best of its parent's, the root's and recent nodes'
    multipliers (their site values are kept: a try costs only the site choice) and then
    TREE_ITERATIONS subgradient steps from there. A node is pruned when its bound meets the
    best plan's cost (`_proven`), solved when the relaxation's own choice of sites serves
    every need exactly once (its bound is then that plan's cost), and priced exactly by the
    transportation LP when every site is decided. Otherwise: a plan from the node's choice of
    sites (topped up), reduced-cost fixing with the node's multipliers (as `_fix`, within the
    node), then two children on the free site whose averaged relaxation value is nearest one
    half, the side it leans to first (depth first). Görtz and Klose (2012) solve the
    capacitated facility location problem this way."""
    t_start = time.perf_counter()
    m = inst.m
    # multipliers: (sum_j u_j, v(u), u, the sites whose v_i it holds: a node may use it
    # when every site the node may open is one of them)
    Entry = tuple[float, NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]
    v_root, _, _ = inst.site_values(u_root)
    root: Entry = (float(u_root.sum()), v_root, u_root, inst.hi)
    pool: list[Entry] = []
    # (lo, hi, bound, the parent's multipliers)
    stack: list[tuple[NDArray[np.bool_], NDArray[np.bool_], float, Entry]] = [
        (inst.lo.copy(), inst.hi.copy(), root_bound, root)]
    nodes = iterations = 0
    canceled = False
    unsettled = math.inf
    """The least bound of leaves whose transportation LP ran out of time (no proof then)."""

    def prunable(b: float) -> bool:
        return math.isfinite(best.ub) and (b >= best.ub or _proven(best.ub, b))

    def open_bound() -> float:
        return min([best.ub, unsettled, *(nd[2] for nd in stack)])

    while stack:
        if cancel is not None and cancel.is_set():
            canceled = True
            break
        if time.perf_counter() > deadline:
            break
        lo, hi, parent_bound, parent = stack.pop()
        if prunable(parent_bound):
            continue
        nodes += 1
        if not (hi & ~lo).any():
            # a leaf: every site decided, the LP prices it exactly
            if max_sites is not None and int(lo.sum()) > max_sites:
                continue
            if not best.consider(lo) and not best.transport.infeasible:
                unsettled = min(unsettled, parent_bound)
            continue
        bound, start = -math.inf, parent
        for cand in (parent, root, *pool):
            if (hi & ~cand[3]).any():
                continue
            val, _ = inst.choose_sites(cand[1], lo, hi, max_sites)
            if cand[0] + val > bound:
                bound, start = cand[0] + val, cand
        if prunable(bound):
            continue
        if not math.isfinite(bound):
            continue  # no choice within the node holds the demand (choose_sites: inf)
        node_best = start
        u = start[2].copy()
        factor, stall = TREE_STEP, 0
        ybar: NDArray[np.float64] | None = None
        # only the knapsacks of the sites the node may open
        pairs = None if hi.sum() == inst.hi.sum() else np.flatnonzero(hi[inst.pi])
        solved = interrupted = False
        for _ in range(TREE_ITERATIONS):
            if time.perf_counter() > deadline:
                interrupted = True
                break
            iterations += 1
            v, k, take = inst.site_values(u, pairs)
            val, y = inst.choose_sites(v, lo, hi, max_sites)
            if not math.isfinite(val):
                bound = math.inf
                break
            usum = float(u.sum())
            value = usum + val
            ybar = y if ybar is None else (1 - TREE_AVERAGE) * ybar + TREE_AVERAGE * y
            if value > bound + 1e-12 * max(1.0, abs(bound)):
                bound, node_best, stall = value, (usum, v, u, hi), 0
            else:
                stall += 1
                if stall >= TREE_STALL:
                    factor, stall = factor / 2, 0
            if prunable(bound):
                break
            nxt = _step(inst, u, k, take, y, value, best.ub, factor)
            if nxt is None:
                if np.all((y == 0) | (y == 1)):
                    # the relaxation's plan serves every need exactly once: its cost is
                    # value, no plan in the node is cheaper, and the LP prices it
                    solved = best.consider(y > 0.5)
                break
            u = nxt
        if interrupted:
            stack.append((lo, hi, max(parent_bound, bound), node_best))
            break
        if solved or not math.isfinite(bound) or prunable(bound):
            continue
        pool.append(node_best)
        if len(pool) > TREE_POOL:
            pool.pop(0)
        usum, v, _, _ = node_best
        _, y = inst.choose_sites(v, lo, hi, max_sites)
        # a plan from the node's choice of sites
        trial = y > 1e-9
        if max_sites is None:
            trial = _top_up(inst, trial | lo, v) & hi
        if best.new(trial) and (max_sites is None or int(trial.sum()) <= max_sites):
            best.consider(trial)
            if prunable(bound):
                continue
        # reduced-cost fixing within the node
        lo, hi = lo.copy(), hi.copy()
        for i in np.flatnonzero(hi & ~lo).tolist():
            lo2, hi2 = lo.copy(), hi.copy()
            if y[i] > 0.5:
                hi2[i] = False
            else:
                lo2[i] = True
            flip, _ = inst.choose_sites(v, lo2, hi2, max_sites)
            if prunable(usum + flip):
                if y[i] > 0.5:
                    lo[i] = True
                else:
                    hi[i] = False
        free = np.flatnonzero(hi & ~lo)
        if free.size == 0:
            stack.append((lo, hi, bound, node_best))
            continue
        lean = ybar if ybar is not None else y
        i = int(free[np.argmin(np.abs(lean[free] - 0.5))])
        open_lo = lo.copy()
        open_lo[i] = True
        closed_hi = hi.copy()
        closed_hi[i] = False
        children = [(lo, closed_hi), (open_lo, hi)]
        if lean[i] < 0.5:
            children.reverse()
        for c_lo, c_hi in children:  # the last pushed is explored first
            stack.append((c_lo, c_hi, bound, node_best))
        if nodes % 16 == 0:
            report("tree", max(root_bound, open_bound()), nodes, m - free.size)
    complete = not stack and not canceled and not math.isfinite(unsettled)
    final = best.ub if complete else max(root_bound, open_bound())
    del t_start
    return _TreeResult(ub=best.ub, ub_x=best.x, ub_open=best.open, bound=final,
                       complete=complete, canceled=canceled, nodes=nodes,
                       iterations=iterations)


def _root_steps(inst: _Instance, max_sites: int | None, best: _Incumbent, deadline: float,
                cancel: CancelToken | None, report: Callable[[str, float, int, int], None],
                iterations: int = TREE_ROOT_ITERATIONS
                ) -> tuple[float, NDArray[np.float64], int, bool]:
    """Subgradient steps on the demand rows at the root (step 1 of the module docstring),
    at most `iterations` and until `deadline`, with a plan from the
    relaxation's sites every TREE_PLAN_EVERY steps. Returns (bound, its multipliers,
    steps, canceled)."""
    u = np.full(inst.n, np.inf)
    np.minimum.at(u, inst.pj, inst.pc)
    best_u = u.copy()
    lb = -math.inf
    factor, stall, it = 2.0, 0, 0
    canceled = False
    while it < iterations and time.perf_counter() < deadline:
        if cancel is not None and cancel.is_set():
            canceled = True
            break
        it += 1
        v, k, take = inst.site_values(u)
        val, y = inst.choose_sites(v, inst.lo, inst.hi, max_sites)
        if not math.isfinite(val):
            lb = math.inf  # no choice of sites holds the demand: no plan at all
            break
        bound = float(u.sum()) + val
        if not math.isfinite(lb) or bound > lb + 1e-12 * max(1.0, abs(lb)):
            lb, best_u, stall = bound, u.copy(), 0
        else:
            stall += 1
            if stall >= STALL_ITERATIONS:
                factor, stall = factor / 2, 0
                u = best_u.copy()
        if not math.isfinite(best.ub) or it % TREE_PLAN_EVERY == 0:
            base = y > 1e-9
            if max_sites is None:
                base = _top_up(inst, base, v)
            if best.new(base):
                best.consider(base)
        if math.isfinite(best.ub) and _proven(best.ub, lb):
            break
        if factor < MIN_STEP_FACTOR:
            break
        nxt = _step(inst, u, k, take, y, bound, best.ub, factor)
        if nxt is None:
            break
        u = nxt
        report("lagrangian", lb, it, 0)
    return lb, best_u, it, canceled


def _tree_path(sites: Sequence[Site], needs: Sequence[Need], inst: _Instance,
               max_sites: int | None, time_limit: float, on_progress: ProgressCallback | None,
               cancel: CancelToken | None, t0: float) -> Solution:
    """Split demand: subgradient steps at the root, then the Lagrangian branch-and-bound
    (`_tree`) with the rest of the time."""
    deadline = t0 + time_limit
    site_ids = [s.id for s in sites]
    best = _Incumbent(_Transport(inst, False), deadline)
    last_report = 0.0

    def report(phase: str, bound: float, iteration: int, fixed: int) -> None:
        nonlocal last_report
        now = time.perf_counter()
        if on_progress is None or now - last_report < PROGRESS_EVERY:
            return
        last_report = now
        ub = best.ub if math.isfinite(best.ub) else None
        bnd = bound if math.isfinite(bound) else None
        on_progress(Progress(phase=phase, elapsed=now - t0, best=ub, bound=bnd,
                             gap=_gap(ub, bnd), iteration=iteration, fixed_sites=fixed,
                             open_sites=int(best.open.sum()) if best.open is not None
                             else None))

    lb, best_u, it, canceled = _root_steps(
        inst, max_sites, best, t0 + TREE_ROOT_SHARE * time_limit, cancel, report)
    extra: dict[str, float] = {"lagrangian_bound": lb, "lagrangian_iterations": float(it)}
    bound = lb
    status = "time_limit"
    if canceled:
        status = "canceled"
    elif not math.isfinite(lb) and lb > 0:
        status = "infeasible"
    elif math.isfinite(best.ub) and math.isfinite(lb) and _proven(best.ub, lb):
        status = "optimal"
    elif math.isfinite(lb):
        result = _tree(inst, max_sites, best_u, lb, best, deadline, cancel, report)
        extra.update({"tree_nodes": float(result.nodes),
                      "tree_iterations": float(result.iterations)})
        bound = max(lb, result.bound)
        if result.canceled:
            status = "canceled"
        elif result.complete:
            status = "optimal" if best.x is not None else "infeasible"
    if status == "infeasible":
        sol = consolidation._empty("infeasible", "no choice of sites serves every need within "
                                   "the capacities, pins and max_sites", site_ids, t0)
        _report_done(on_progress, sol, t0, 0)
        return sol
    if best.x is None or best.open is None:
        canceled = status == "canceled"
        sol = consolidation._empty(status if status != "optimal" else "time_limit",
                                   "canceled before a plan was found" if canceled else
                                   f"no feasible plan found within {time_limit:g} s",
                                   site_ids, t0)
        sol = replace(sol, dual_bound=bound if math.isfinite(bound) else None)
        _report_done(on_progress, sol, t0, 0)
        return sol
    out = _own_solution(inst, sites, needs, best.x, best.open, bound, t0, extra,
                        proven=status == "optimal", status=status)
    out = replace(out, method="tree")
    _report_done(on_progress, out, t0, 0)
    return out


def _parts(sites: Sequence[Site], cost: NDArray[np.float64]
           ) -> list[tuple[NDArray[np.intp], NDArray[np.intp]]] | None:
    """The instance's independent parts: the connected components of the graph of allowed
    pairs (a building and a group are joined when the group may move there), as (site
    indices, need indices), each with at least one need; None when there is only one. Sites
    no group may reach are in no part (`_by_parts` decides them alone)."""
    m, n = cost.shape
    hi = np.array([s.pin is not False for s in sites], dtype=bool)
    pi, pj = np.nonzero(np.isfinite(cost) & hi[:, None])
    graph = sp.coo_matrix((np.ones(pi.size), (pi, m + pj)), shape=(m + n, m + n))
    count, label = connected_components(graph, directed=False)
    need_label = label[m:]
    used = np.unique(need_label)
    if used.size <= 1:
        return None
    site_label = label[:m]
    reached = np.zeros(m, dtype=bool)
    reached[pi] = True
    del count
    return [(np.flatnonzero((site_label == c) & reached), np.flatnonzero(need_label == c))
            for c in used.tolist()]


def _quick(sites: Sequence[Site], needs: Sequence[Need], inst: _Instance,
           t0: float, single_source: bool = False) -> Solution | None:
    """A plan and a bound in a fraction of a full solve's time: the strong LP's demand
    duals give L(u) (recomputed exactly, valid whatever u is); the plan is `_lp_plan`'s. Status
    'optimal' when the bound meets the plan, else 'time_limit' (method 'quick'); None when
    the LP is not solved (the caller then takes the full solve). Single-source: the same
    bound (it relaxes single sourcing) and each split plan rounded to one site per need
    (`_single_source`)."""
    if inst.pi.size > QUICK_LP_PAIRS:
        return _quick_steps(sites, needs, inst, t0, single_source)
    lp = _strong_lp(inst, None)
    return None if lp is None else _lp_quick(sites, needs, inst, lp, None, single_source, t0)


def _lp_bound(inst: _Instance, lp: _StrongLP, max_sites: int | None
              ) -> tuple[NDArray[np.float64], float]:
    """The site values v(u) at the strong LP's demand duals u and the Lagrangian bound
    L(u), recomputed exactly (valid whatever u is; -inf when no choice of sites serves)."""
    v, _, _ = inst.site_values(lp.u)
    val, _ = inst.choose_sites(v, inst.lo, inst.hi, max_sites)
    return v, float(lp.u.sum()) + val if math.isfinite(val) else -math.inf


def _lp_quick(sites: Sequence[Site], needs: Sequence[Need], inst: _Instance, lp: _StrongLP,
              max_sites: int | None, single_source: bool, t0: float) -> Solution | None:
    """`_lp_plan`'s plan with the bound L(u) as a Solution (`_quick_solution`); None when
    there is no plan or it keeps more than max_sites sites."""
    v, lb = _lp_bound(inst, lp, max_sites)
    best = _lp_plan(inst, lp, v, single_source)
    if best is None or (max_sites is not None and best[2].sum() > max_sites):
        return None
    return _quick_solution(inst, sites, needs, best[1], best[2], best[0], lb, t0,
                           {"lagrangian_bound": lb, "strong_lp_value": lp.value})


def _lp_plan(inst: _Instance, lp: _StrongLP, v: NDArray[np.float64], single_source: bool
             ) -> tuple[float, NDArray[np.float64], NDArray[np.bool_]] | None:
    """The cheaper of two roundings of the strong LP's sites, each priced by the
    transportation LP: the sites the LP opens at least half (the pinned ones with them),
    topped up to hold the demand, and every site it opens at all (which can serve everyone:
    the LP does); single-source, each split plan rounded by `_single_source`. (cost, shares
    per pair, open sites) or None."""
    transport = _Transport(inst, single_source=False)
    best: tuple[float, NDArray[np.float64], NDArray[np.bool_]] | None = None
    for mask in (_top_up(inst, inst.lo | ((lp.y >= 0.5) & inst.hi), v),
                 inst.lo | ((lp.y > SUPPORT_EPS) & inst.hi)):
        got = transport.plan(mask, PLAN_SECONDS)
        plan = None if got is None else (got[0], got[1], mask)
        if got is not None and single_source:
            plan = _single_source(inst, got[1], mask)
        if plan is not None and (best is None or plan[0] < best[0]):
            best = plan
    return best


def _quick_steps(sites: Sequence[Site], needs: Sequence[Need], inst: _Instance,
                 t0: float, single_source: bool = False,
                 iterations: int = TREE_PLAN_EVERY) -> Solution | None:
    """`_quick` for a part too large for its strong LP to be quick (and, with one
    iteration, for a part reached after the time limit): TREE_PLAN_EVERY subgradient steps
    from the cheapest pairs (`_root_steps`, at most QUICK_STEPS_SECONDS), their bound, and
    the plans their choices of sites give (the transportation LP; for single-source the best
    of them rounded by `_single_source`), or, when none could serve every need, the plan
    with every site that may open."""
    best = _Incumbent(_Transport(inst, single_source=False),
                      time.perf_counter() + QUICK_STEPS_SECONDS)
    lb, _, steps, _ = _root_steps(inst, None, best, best.deadline, None,
                                  lambda *_: None, iterations=iterations)
    plan: tuple[float, NDArray[np.float64], NDArray[np.bool_]] | None = None
    if best.x is not None and best.open is not None:
        plan = (best.ub, best.x, best.open)
        if single_source:
            plan = _single_source(inst, best.x, best.open)
    if plan is None:  # every site that may open: the plan if there is one
        got = best.transport.plan(inst.hi.copy(), PLAN_SECONDS)
        if got is not None:
            plan = (_single_source(inst, got[1], inst.hi.copy()) if single_source
                    else (got[0], got[1], inst.hi.copy()))
    if plan is None:
        return None
    cost, x, open_mask = plan
    return _quick_solution(inst, sites, needs, x, open_mask, cost, lb, t0,
                           {"lagrangian_bound": lb, "iterations": float(steps)})


def _single_source(inst: _Instance, x: NDArray[np.float64], open_mask: NDArray[np.bool_]
                   ) -> tuple[float, NDArray[np.float64], NDArray[np.bool_]] | None:
    """A split plan rounded to one site per need, in milliseconds and without a MIP: each
    need goes to the open site that holds its largest share (a basic transportation plan
    splits fewer needs than it opens sites, so few move), then, while a site holds more
    than its capacity, the move that costs least per person is made: one of its needs to
    another site with room for it, a closed one's fixed cost counted when the move opens
    it. (cost, shares per pair, open sites: the used ones and the pinned), or None when no
    such move is left (the caller falls back on a full solve)."""
    ok = open_mask[inst.pi]
    by_need = np.lexsort((inst.pc, -np.where(ok, x, -1.0), inst.pj))
    first = np.ones(by_need.size, dtype=bool)
    first[1:] = inst.pj[by_need[1:]] != inst.pj[by_need[:-1]]
    take = by_need[first]
    at = np.empty(inst.n, dtype=np.intp)  # need -> its pair
    at[inst.pj[take]] = take
    load = np.bincount(inst.pi[take], weights=inst.dem[inst.pj[take]],
                       minlength=inst.m).astype(np.float64)
    opened = open_mask.copy()
    opened[inst.pi[take]] = True
    tol = 1e-9 * max(1.0, float(inst.cap.max(initial=0.0)))
    # each need's pairs, for the moves
    by_j = np.argsort(inst.pj, kind="stable")
    starts = np.searchsorted(inst.pj[by_j], np.arange(inst.n + 1))
    while True:
        over = np.flatnonzero(load > inst.cap + tol)
        if over.size == 0:
            break
        best: tuple[float, int, int] | None = None  # (cost per person, need, new pair)
        for i in over.tolist():
            for j in np.flatnonzero(inst.pi[at] == i).tolist():
                alt = by_j[starts[j]:starts[j + 1]]
                d = inst.dem[j]
                to = inst.pi[alt]
                alt = alt[(to != i) & (load[to] + d <= inst.cap[to] + tol)]
                if alt.size == 0:
                    continue
                extra = inst.pc[alt] + np.where(opened[inst.pi[alt]], 0.0,
                                                inst.fixed[inst.pi[alt]])
                k = int(np.argmin(extra))
                per = (float(extra[k]) - inst.pc[at[j]]) / max(d, 1e-12)
                if best is None or per < best[0]:
                    best = (per, j, int(alt[k]))
        if best is None:
            return None
        _, j, k = best
        load[inst.pi[at[j]]] -= inst.dem[j]
        load[inst.pi[k]] += inst.dem[j]
        opened[inst.pi[k]] = True
        at[j] = k
    _improve(inst, at, load, by_j, starts, tol)
    out = np.zeros(inst.pi.size)
    out[at] = 1.0
    keep = inst.lo | (load > 0) | (open_mask & (inst.fixed < 0))
    return float(inst.fixed[keep].sum() + _dot(inst.pc, out)), out, keep


def _quick_solution(inst: _Instance, sites: Sequence[Site], needs: Sequence[Need],
                    x: NDArray[np.float64], open_mask: NDArray[np.bool_], cost: float,
                    lb: float, t0: float, extra: dict[str, float]) -> Solution:
    """A quick plan as a Solution: 'optimal' (method 'lagrangian') when its bound meets its
    cost, else 'time_limit' (method 'quick')."""
    proven = math.isfinite(lb) and _proven(cost, lb)
    out = _own_solution(inst, sites, needs, x, open_mask, lb, t0, extra, proven=proven,
                        status="optimal" if proven else "time_limit")
    return replace(out, method="lagrangian" if proven else "quick")


def _improve(inst: _Instance, at: NDArray[np.intp], load: NDArray[np.float64],
             by_j: NDArray[np.intp], starts: NDArray[np.intp], tol: float) -> None:
    """Local search on a single-source plan (`at`: each need's pair; `load` per site; both
    changed in place), each move lowering its cost: a need to a cheaper used site with room
    for it, and the closing of a used site (not pinned, positive fixed cost) whose needs
    all fit, largest first, into the other used sites for less than its fixed cost. Until
    no move is left, at most IMPROVE_ROUNDS rounds."""
    def cheaper(j: int, used: NDArray[np.bool_], shut: int) -> int | None:
        alt = by_j[starts[j]:starts[j + 1]]
        to = inst.pi[alt]
        alt = alt[used[to] & (to != shut) & (to != inst.pi[at[j]])
                  & (load[to] + inst.dem[j] <= inst.cap[to] + tol)]
        if alt.size == 0:
            return None
        return int(alt[np.argmin(inst.pc[alt])])

    for _ in range(IMPROVE_ROUNDS):
        moved = False
        used = load > 0
        for j in range(inst.n):
            k = cheaper(j, used, -1)
            if k is not None and inst.pc[k] < inst.pc[at[j]] - 1e-9:
                load[inst.pi[at[j]]] -= inst.dem[j]
                load[inst.pi[k]] += inst.dem[j]
                at[j] = k
                moved = True
        for i in np.argsort(-inst.fixed).tolist():
            if load[i] <= 0 or inst.lo[i] or inst.fixed[i] <= 0:
                continue
            used = load > 0
            mine = np.flatnonzero(inst.pi[at] == i)
            mine = mine[np.argsort(-inst.dem[mine], kind="stable")]
            trial = load.copy()
            saved, moves = float(inst.fixed[i]), []
            for j in mine.tolist():
                alt = by_j[starts[j]:starts[j + 1]]
                to = inst.pi[alt]
                alt = alt[used[to] & (to != i) & (trial[to] + inst.dem[j] <= inst.cap[to] + tol)]
                if alt.size == 0:
                    saved = -math.inf
                    break
                k = int(alt[np.argmin(inst.pc[alt])])
                saved -= float(inst.pc[k] - inst.pc[at[j]])
                trial[inst.pi[k]] += inst.dem[j]
                moves.append((j, k))
            if saved > 1e-9:
                for j, k in moves:
                    at[j] = k
                load[:] = trial
                load[i] = 0.0
                moved = True
        if not moved:
            break


def _better(a: Solution, b: Solution) -> Solution:
    """Two results for the same part (its quick plan `a`, then a full solve `b`): the
    cheaper plan with the higher bound, proven when either is or when that bound meets that
    plan; the full solve's method (the last thing done) and, unproven, its status."""
    plan = (b if b.objective is not None and (a.objective is None or b.objective <= a.objective)
            else a)
    bounds = [x.dual_bound for x in (a, b) if x.dual_bound is not None]
    bound = max(bounds) if bounds else None
    proven = (plan.proven_optimal
              or (plan.objective is not None and bound is not None
                  and _proven(plan.objective, bound)))
    status = ("optimal" if proven else b.status
              if b.status in ("canceled", "time_limit", "limit") else "time_limit")
    return replace(plan, status=status, proven_optimal=proven,
                   dual_bound=plan.objective if proven else bound,
                   gap=0.0 if proven else _gap(plan.objective, bound),
                   message="" if proven else b.message or status, method=b.method,
                   mip_nodes=b.mip_nodes)


class _Either:
    """Set when the caller's token is or when `done` is (the other side of a race has its
    proof); no deadline (a race keeps to its limit)."""

    def __init__(self, cancel: CancelToken | None, done: threading.Event) -> None:
        self.cancel, self.done = cancel, done

    def is_set(self) -> bool:
        return self.done.is_set() or (self.cancel is not None and self.cancel.is_set())


def _race(sites: Sequence[Site], needs: Sequence[Need], cost: NDArray[np.float64],
          inst: _Instance, max_sites: int | None, single_source: bool, time_limit: float,
          on_progress: ProgressCallback | None, cancel: CancelToken | None,
          t0: float) -> Solution:
    """The Lagrangian path with the direct MILP beside it on the second core, both for the
    whole time limit (instead of the MILP's short try first): the cheaper plan and the
    higher bound are kept (`_better`), and the first proof stops the other side. At short
    limits HiGHS's root heuristics can find a better plan than the Lagrangian path leaves
    its final MILP time for (the 400 x 2,000 registry at 30 s: 0.74% against 1.16%); at
    longer ones the Lagrangian path's plan is better. The progress shown is the Lagrangian
    path's."""
    done = threading.Event()
    either = _Either(cancel, done)
    box: dict[str, Any] = {}

    def direct() -> None:
        try:
            box["sol"] = got = consolidation.solve(
                sites, needs, cost, max_sites=max_sites, single_source=single_source,
                time_limit=time_limit, cancel=either)
            if got.proven_optimal or got.status == "infeasible":
                done.set()
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    def hook(p: Progress) -> None:
        if on_progress is not None and p.phase != "done":
            on_progress(p)

    thread = threading.Thread(target=direct, name="govshare-direct-milp", daemon=True)
    thread.start()
    ours: Solution | None = None
    try:
        ours = _lagrangian(sites, needs, cost, inst, max_sites, single_source, time_limit,
                           hook, either, t0)
    finally:
        if ours is None or ours.proven_optimal:
            done.set()  # proven, or failed: the direct MILP need not go on
        thread.join()
    if "error" in box:
        raise box["error"]
    milp: Solution = box["sol"]
    if milp.status == "infeasible" or not milp.has_solution:
        out = milp if milp.status == "infeasible" else ours
    elif not ours.has_solution:
        out = milp
    else:
        out = _better(milp, ours)
        if out.objective == milp.objective and milp.objective != ours.objective:
            out = replace(out, method=milp.method, mip_nodes=milp.mip_nodes)
    extra = {**out.extra, **{k: v for k, v in (("race_milp_objective", milp.objective),
                                               ("race_milp_bound", milp.dual_bound))
                             if v is not None}}
    if cancel is not None and cancel.is_set() and not out.proven_optimal:
        out = replace(out, status="canceled")
    out = replace(out, extra=extra,
                  solve_seconds=time.perf_counter() - t0 - out.build_seconds)
    _report_done(on_progress, out, t0, 0)
    return out


class _Cancel:
    """Only a token's `is_set()`: a nested solve that must keep to its own time limit (the
    split problem of a single-source part) does not follow the part's deadline."""

    def __init__(self, cancel: CancelToken) -> None:
        self.cancel = cancel

    def is_set(self) -> bool:
        return self.cancel.is_set()


class _PartClock:
    """A part's cancel token in a region solved part by part: set when the caller's is, and
    its `deadline()` is the part's own (its start plus its limit) while another part waits
    for its first full solve, the whole's once none does: the part's last MILP
    (`consolidation.solve(elastic=True)`) then runs on into the time no one else needs."""

    def __init__(self, cancel: CancelToken | None, own: float, whole: float,
                 waiting: Callable[[], bool]) -> None:
        self.cancel, self.own, self.whole, self.waiting = cancel, own, whole, waiting

    def is_set(self) -> bool:
        return self.cancel is not None and self.cancel.is_set()

    def deadline(self) -> float:
        return self.own if self.waiting() else max(self.own, self.whole)


def _by_parts(sites: Sequence[Site], needs: Sequence[Need], cost: NDArray[np.float64],
              parts: list[tuple[NDArray[np.intp], NDArray[np.intp]]], single_source: bool,
              time_limit: float, on_progress: ProgressCallback | None,
              cancel: CancelToken | None, t0: float) -> Solution:
    """Solve each independent part on its own (without max_sites nothing ties them: the
    cheapest plan of the whole is the cheapest plan of each part) and put the plans
    together. A site no group may reach is kept only when pinned open or when keeping it
    costs less than nothing. A plan of the whole comes first (split demand: the parts of at
    most SMALL_PAIRS pairs solved; a quick plan for each other one, and for every part of a
    single-source region; a part reached after the time limit gets one Lagrangian step's),
    so progress shows the whole's plan and bound from the start, a cancel keeps a plan and
    the time limit holds within a quick plan's time; then the full
    solves, smallest first, PART_WORKERS at once in their own threads, each with a share of
    the time left in proportion to its pairs (what it leaves unused goes to the next; a part
    the time left cannot cover keeps its quick plan, see PART_MIN_SECONDS; once no part
    waits, the parts being solved run on to the whole's deadline, see `_PartClock`); then,
    while a worker has time left, an unproven part again (see RETRY_FACTOR); an error in a
    part's thread stops new parts and is raised here. The whole is proven when every part
    is, and its bound is the sum of the parts' bounds."""
    deadline = t0 + time_limit
    site_ids = [s.id for s in sites]
    in_part = np.zeros(len(sites), dtype=bool)
    for si, _ in parts:
        in_part[si] = True
    alone_open = [i for i in np.flatnonzero(~in_part).tolist()
                  if sites[i].pin is True or (sites[i].pin is None and sites[i].fixed_cost < 0)]
    fixed_total = sum(sites[i].fixed_cost for i in alone_open)
    size = [int(np.isfinite(cost[np.ix_(si, nj)]).sum()) for si, nj in parts]
    order = sorted(range(len(parts)), key=lambda k: size[k])
    held: list[Solution | None] = [None] * len(parts)
    """Each part's best plan so far, with its best bound."""
    rank_of = {k: r for r, k in enumerate(order)}
    settled: set[int] = set()
    """Parts whose plan is settled (proven, full solve done, or quick plan kept)."""
    lock = threading.Lock()
    """Held plans, the time shares and progress reports, shared by the parts' threads."""

    def whole(k_now: int, best: float | None, bound: float | None
              ) -> tuple[float | None, float | None]:
        """The whole's best plan and bound while part k_now reports (best, bound): every
        other part's held plan and bound, None when one is missing."""
        plans: list[float | None] = [fixed_total]
        bounds: list[float | None] = [fixed_total]
        for kk, h in enumerate(held):
            hb = h.objective if h is not None and h.has_solution else None
            hd = h.dual_bound if h is not None else None
            if kk == k_now:
                hb = min((x for x in (hb, best) if x is not None), default=None)
                hd = max((x for x in (hd, bound) if x is not None), default=None)
            plans.append(hb)
            bounds.append(hd)
        return (None if None in plans else sum(x for x in plans if x is not None),
                None if None in bounds else sum(x for x in bounds if x is not None))

    def report(k_now: int, p: Progress) -> None:
        if on_progress is None:
            return
        with lock:  # one report at a time, whichever part's thread it comes from
            best, bound = whole(k_now, p.best, p.bound)
            on_progress(replace(p, elapsed=time.perf_counter() - t0,
                                part=rank_of[k_now] + 1,
                                parts=len(parts), parts_done=len(settled), best=best,
                                bound=bound, gap=_gap(best, bound), open_sites=None,
                                fixed_sites=0))

    def sub(k: int, limit: float, clock: _PartClock | None = None) -> Solution:
        si, nj = parts[k]

        def hook(p: Progress) -> None:
            if p.phase != "done":  # a part's own 'done' is not the whole's
                report(k, p)
        return solve([sites[i] for i in si.tolist()], [needs[j] for j in nj.tolist()],
                     cost[np.ix_(si, nj)], single_source=single_source,
                     time_limit=max(0.5, limit),
                     on_progress=hook if on_progress is not None else None,
                     cancel=cancel if clock is None else clock, spare_core=False)

    # 1. A plan of the whole first: the small parts solved (split demand: the direct MILP,
    # hundredths of a second), a quick plan and bound for each of the others (one step of
    # the Lagrangian after the time limit).
    for k in order:
        if cancel is not None and cancel.is_set():
            break
        si, nj = parts[k]
        now = time.perf_counter()
        if size[k] <= SMALL_PAIRS and not single_source:  # hundredths of a second
            first: Solution | None = sub(k, deadline - now)
        else:
            p_sites = [sites[i] for i in si.tolist()]
            p_needs = [needs[j] for j in nj.tolist()]
            p_inst = _Instance(p_sites, p_needs, cost[np.ix_(si, nj)])
            first = (_quick(p_sites, p_needs, p_inst, now, single_source) if now < deadline
                     else _quick_steps(p_sites, p_needs, p_inst, now, single_source, 1))
        held[k] = first
        if first is not None and (first.proven_optimal or first.status == "infeasible"):
            settled.add(k)
        if first is not None and first.status == "infeasible":
            break
        # each part named as its quick plan is made (even when a loaded machine leaves no
        # time for full solves); the last one's report carries the whole's plan and bound
        report(k, Progress(phase="quick", elapsed=0.0, best=None, bound=None, gap=None,
                           open_sites=None))
    # 2. Full solves, smallest first, PART_WORKERS at once, each with a share of the time
    # left in proportion to its pairs; a part the time left cannot cover keeps its quick plan.
    todo = [k for k, h in ((k, held[k]) for k in order)
            if h is None or not (h.proven_optimal or h.status == "infeasible")]
    workers = max(1, min(PART_WORKERS, len(todo)))
    queue = {"pos": 0, "left": sum(size[k] for k in todo)}
    errors: list[BaseException] = []
    given: dict[int, float] = {}
    """Each fully solved part's time: its limit, or longer when it ran on (a part is
    solved again only with RETRY_FACTOR times more)."""
    running: set[int] = set()

    def again() -> tuple[int, float] | None:
        """Once every part has had its full solve: the unproven part with the largest gap
        (plan minus bound) that no worker is solving, whose last limit was at most
        1/RETRY_FACTOR of the time left, with all the time left (HiGHS's search is
        deterministic: a second solve with about the same time ends where the first did);
        None when there is none."""
        now = time.perf_counter()
        if cancel is not None and cancel.is_set():
            return None
        best_k, best_gap = None, -math.inf
        for k, lim in given.items():
            h = held[k]
            if (k in running or h is None or h.proven_optimal or h.objective is None
                    or h.dual_bound is None or deadline - now < RETRY_FACTOR * lim
                    or deadline - now < PART_MIN_SECONDS):
                continue
            if h.objective - h.dual_bound > best_gap:
                best_k, best_gap = k, h.objective - h.dual_bound
        return None if best_k is None else (best_k, deadline - now)

    def next_part() -> tuple[int, float] | None:
        """The next part to solve and its time limit, None when there is none; parts the
        time left cannot cover (or all, once canceled) keep their quick plans; once every
        part has had its turn, an unproven part again (`again`)."""
        with lock:
            job = first_turn()
            if job is None and not errors and not any(
                    h is not None and h.status == "infeasible" for h in held):
                job = again()
            if job is not None:
                running.add(job[0])
            return job

    def first_turn() -> tuple[int, float] | None:
        """The next part's first full solve and its limit (the lock held), as above."""
        while queue["pos"] < len(todo):
            if errors or any(h is not None and h.status == "infeasible" for h in held):
                return None
            pos, k = queue["pos"], todo[queue["pos"]]
            queue["pos"] += 1
            now = time.perf_counter()
            share = min(deadline - now,
                        workers * (deadline - now) * size[k] / max(1, queue["left"]))
            queue["left"] -= size[k]
            if held[k] is not None and (
                    (cancel is not None and cancel.is_set())
                    or deadline - now < PART_MIN_SECONDS * (len(todo) - pos) / workers):
                settled.add(k)
                continue
            if cancel is not None and cancel.is_set():
                held[k] = consolidation._empty("canceled", "canceled", [], now)
                continue
            return k, share if pos < len(todo) - 1 else deadline - now
        return None

    def work() -> None:
        try:
            while (job := next_part()) is not None:
                k, limit = job
                t_part = time.perf_counter()
                got = sub(k, limit, _PartClock(cancel, t_part + max(0.5, limit), deadline,
                                               lambda: queue["pos"] < len(todo)))
                with lock:
                    given[k] = max(limit, time.perf_counter() - t_part)
                    kept = held[k]
                    held[k] = (got if kept is None or got.status == "infeasible"
                               else _better(kept, got))
                    settled.add(k)
                    running.discard(k)
        except BaseException as exc:  # re-raised in the caller's thread
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=work, name=f"govshare-part-{i}", daemon=True)
               for i in range(workers - 1)]
    for th in threads:
        th.start()
    work()  # the caller's thread is one of the workers
    for th in threads:
        th.join()
    if errors:
        raise errors[0]
    for h in held:
        if h is not None and h.status == "infeasible":
            out = consolidation._empty("infeasible", h.message, site_ids, t0)
            _report_done(on_progress, out, t0, 0)
            return out
    solved = [h for h in held if h is not None]
    canceled = cancel is not None and cancel.is_set()
    extra: dict[str, float] = {"parts": float(len(parts))}
    if len(solved) < len(parts) or not all(s.has_solution for s in solved):
        status = ("canceled" if canceled or any(s.status == "canceled" for s in solved)
                  else "time_limit")
        out = consolidation._empty(status, "no plan for every part of the region within "
                                   f"{time_limit:g} s" if status == "time_limit" else
                                   "canceled before every part had a plan", site_ids, t0)
        out = replace(out, extra=extra)
        _report_done(on_progress, out, t0, 0)
        return out
    proven = all(s.proven_optimal for s in solved)
    objective = fixed_total + sum(s.objective or 0.0 for s in solved)
    bounds = [s.dual_bound for s in solved]
    bound = (objective if proven else fixed_total + sum(b for b in bounds if b is not None)
             if all(b is not None for b in bounds) else None)
    status = ("optimal" if proven else "canceled"
              if canceled or any(s.status == "canceled" for s in solved) else "time_limit")
    open_ids = {site_ids[i] for i in alone_open}
    assignment: dict[str, list[tuple[str, float]]] = {}
    for s in solved:
        open_ids.update(s.open_site_ids)
        assignment.update(s.assignment)
    methods = sorted({s.method for s in solved})
    for mth in methods:
        extra[f"parts_{mth}"] = float(sum(1 for s in solved if s.method == mth))
    extra["largest_part_sites"] = float(max(si.size for si, _ in parts))
    extra["largest_part_needs"] = float(max(nj.size for _, nj in parts))
    # where the gap lies: the parts proven, and the largest of the others
    extra["parts_proven"] = float(sum(1 for s in solved if s.proven_optimal))
    open_parts = [(parts[k][0].size, parts[k][1].size) for k, h in enumerate(held)
                  if h is not None and not h.proven_optimal]
    if open_parts:
        extra["largest_unproven_part_sites"], extra["largest_unproven_part_needs"] = (
            float(v) for v in max(open_parts))
    out = Solution(
        status=status, proven_optimal=proven, objective=objective,
        fixed_cost_total=fixed_total + sum(s.fixed_cost_total or 0.0 for s in solved),
        assignment_cost_total=sum(s.assignment_cost_total or 0.0 for s in solved),
        gap=0.0 if proven else _gap(objective, bound), dual_bound=bound,
        open_site_ids=[i for i in site_ids if i in open_ids],
        closed_site_ids=[i for i in site_ids if i not in open_ids],
        assignment={nd.id: assignment[nd.id] for nd in needs},
        build_seconds=sum(s.build_seconds for s in solved),
        solve_seconds=time.perf_counter() - t0 - sum(s.build_seconds for s in solved),
        n_variables=sum(s.n_variables for s in solved),
        n_constraints=sum(s.n_constraints for s in solved),
        mip_nodes=sum(s.mip_nodes for s in solved), extra=extra,
        method="parts:" + "+".join(methods))
    _report_done(on_progress, out, t0, 0)
    return out
