"""Consolidation of same-use buildings across member governments, as a facility-location MILP.

This is the direct MILP: the reference, and the engine `property.solver` (the solver the
product uses, ADR 18) calls for its proofs after its own bounds, plans and fixing.

Pure computation on plain values: numpy arrays and the dataclasses below in, a `Solution` out.
No database, no files, no clock other than timing the solve. The registry's service layer turns
buildings into `Site`s, demand (of any member) into `Need`s and travel into a cost matrix
(`travel_cost_matrix`), then calls `solve`.

The model (capacitated facility location, "strong" formulation)
---------------------------------------------------------------
Sites i = 1..m (candidate buildings to keep), needs j = 1..n (a member's requirement of some
amount of space or seats). Only the pairs P = {(i, j) : assign_cost[i, j] is finite} exist; an
infinite cost means "site i may not serve need j" (beyond the travel radius, wrong use, ...).

    variables   y_i in {0, 1}                 1 = keep site i open
                x_ij in [0, 1]  for (i,j) in P  share of need j served from site i
                                              ({0, 1} when single_source=True)

    minimize    sum_i f_i y_i  +  sum_(i,j) in P  c_ij x_ij

    subject to  sum_i x_ij = 1                        for every need j        (demand)
                sum_j d_j x_ij - C_i y_i <= 0          for every site i        (capacity)
                x_ij - y_i <= 0                         for every (i,j) in P    (linking)
                sum_i y_i <= K                          if max_sites = K given
                y_i = 1 (pin True), y_i = 0 (pin False)

with f_i = `Site.fixed_cost`, C_i = `Site.capacity`, d_j = `Need.demand`,
c_ij = `assign_cost[i, j]` = the cost of serving *all* of need j from site i (so a share x_ij
costs c_ij x_ij). The linking rows are implied by the capacity rows for integral y but make the
LP relaxation far tighter; with them HiGHS proves every OR-Library instance cap41..cap134
optimal at the root node (published optima matched; see the tests).

How hard an instance is depends on its economics more than its size. When travel (assignment)
costs carry a good part of the objective, the LP relaxation is nearly integral and 500 sites x
2,000 needs solve in well under a minute (bench/bench_consolidation.py). When building costs
dominate and many buildings could close (fixed costs ~90% of the objective, occupants that could
move almost for free), the relaxation leaves a gap of 1-2%, and at that size HiGHS did not
prove optimality within several CPU-minutes in our trials; the result then says 'time_limit'
and carries the best plan found with its proven gap. Callers must show that status, not hide it.

Units: `capacity` and `demand` share one unit (square feet, workstations, seats...);
`fixed_cost` and `assign_cost` share one currency per year (the annual true cost of keeping a
building; the annual cost of serving a need from a building). The objective is in that
currency per year.

Invariants of a returned `Solution` with a solution (status 'optimal', 'gap_limit', or a
limit with an incumbent):
- every need's shares sum to 1 and each share comes from an open site with a finite cost;
- the demand assigned to an open site is at most its capacity (to HiGHS's primal feasibility
  tolerance, 1e-7 on its scaled rows);
- pins are honoured and the number of open sites is at most `max_sites`;
- objective == fixed_cost_total + assignment_cost_total;
- status 'optimal' means HiGHS *proved* optimality: proven_optimal is True and the gap between
  the incumbent and the dual bound is 0 (HiGHS's absolute gap tolerance of 1e-6 aside).
  With `mip_rel_gap` > 0 a solution whose proven gap is not ~0 is reported as 'gap_limit'.
"""

from __future__ import annotations

import math
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import highspy
import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from govshare.core.geodesy import haversine_km

_BANNER_LOCK = threading.Lock()
_banner_done = False


def new_highs() -> highspy.Highs:
    """A silent HiGHS instance. HiGHS writes its banner ("Running HiGHS ...", two lines) to
    the process's standard output from C++ at its first instance in a process, before any
    option can turn it off: in the middle of `govshare property consolidate --json`'s JSON.
    The first instance is therefore made with file descriptor 1 pointed at /dev/null for
    that moment (under a lock; Python's buffered stdout flushed first)."""
    global _banner_done
    if not _banner_done:
        with _BANNER_LOCK:
            if not _banner_done:
                sys.stdout.flush()
                saved = os.dup(1)
                try:
                    with open(os.devnull, "wb") as null:
                        os.dup2(null.fileno(), 1)
                        h = highspy.Highs()  # type: ignore[no-untyped-call]
                finally:
                    os.dup2(saved, 1)
                    os.close(saved)
                _banner_done = True
                h.setOptionValue("output_flag", False)
                return h
    h = highspy.Highs()  # type: ignore[no-untyped-call]
    h.setOptionValue("output_flag", False)
    return h


PROVEN_GAP = 1e-9
"""A relative gap at or below this counts as zero."""

MIP_ABS_GAP = 1e-6
"""HiGHS's absolute gap tolerance (its default, set explicitly): a gap this small is proof."""

SHARE_EPS = 1e-9
"""Assignment shares below this are solver noise and are not reported."""

PROGRESS_EVERY = 0.5
"""Seconds between two progress reports from inside HiGHS."""

ELASTIC_STEP = 0.1
"""An elastic solve's time limit moves only by more than this many seconds at a time."""


class CancelToken(Protocol):
    """Anything with `is_set()`, e.g. a `threading.Event`: set it to stop the solve."""

    def is_set(self) -> bool: ...


ProgressHook = Callable[[str, float | None, float | None], None]
"""Called from inside HiGHS as (phase, best objective or None, dual bound or None)."""


@dataclass(frozen=True)
class Site:
    """A building that could be kept. `capacity` in the need unit, `fixed_cost` per year.

    `pin`: True = must be kept, False = must be closed, None = the optimizer decides.
    """

    id: str
    capacity: float
    fixed_cost: float
    pin: bool | None = None


@dataclass(frozen=True)
class Need:
    """A requirement to be housed: `demand` in the same unit as `Site.capacity`."""

    id: str
    demand: float


@dataclass(frozen=True)
class Solution:
    """The outcome of `solve`. See the module docstring for the invariants.

    status: 'optimal' (proven), 'gap_limit' (stopped at a requested mip_rel_gap > 0),
    'time_limit', 'canceled' (stopped by the caller's cancel token), 'infeasible',
    'limit' (another HiGHS work limit), 'error'.
    objective/fixed_cost_total/assignment_cost_total are None when there is no solution.
    gap: relative MIP gap as reported by HiGHS ((primal - dual bound) / |primal|); 0 when
    proven; None without a solution. dual_bound: HiGHS's proven lower bound, if any.
    assignment: need id -> [(site id, share)], shares in (0, 1] summing to 1, largest first.
    build_seconds: validation and model construction; solve_seconds: HiGHS run and reading
    the solution back. n_variables/n_constraints: the model handed to HiGHS (before presolve).
    extra: HiGHS's own objective, gap, simplex iterations and run time (of
    solve_seconds), for diagnosis.
    """

    status: str
    proven_optimal: bool
    objective: float | None
    fixed_cost_total: float | None
    assignment_cost_total: float | None
    gap: float | None
    dual_bound: float | None
    open_site_ids: list[str]
    closed_site_ids: list[str]
    assignment: dict[str, list[tuple[str, float]]]
    build_seconds: float
    solve_seconds: float
    n_variables: int
    n_constraints: int
    message: str = ""
    mip_nodes: int = 0
    extra: dict[str, float] = field(default_factory=dict)
    method: str = "milp"

    @property
    def has_solution(self) -> bool:
        return self.objective is not None


def travel_cost_matrix(
    site_lonlat: ArrayLike,
    need_lonlat: ArrayLike,
    demand: ArrayLike,
    cost_per_unit_km: float,
    max_km: float | None,
) -> NDArray[np.float64]:
    """Annual cost of serving all of each need from each site, by distance.

    site_lonlat (m, 2) and need_lonlat (n, 2) in degrees; demand (n,) in the need unit;
    cost_per_unit_km: annual cost per unit of demand per km of great-circle distance.
    Returns an (m, n) matrix cost[i, j] = cost_per_unit_km * demand[j] * km(i, j), with np.inf
    where km(i, j) > max_km (not allowed). max_km=None allows every pair.
    """
    s = np.asarray(site_lonlat, dtype=np.float64).reshape(-1, 2)
    t = np.asarray(need_lonlat, dtype=np.float64).reshape(-1, 2)
    d = np.asarray(demand, dtype=np.float64).reshape(-1)
    if d.shape[0] != t.shape[0]:
        raise ValueError(f"demand has {d.shape[0]} entries for {t.shape[0]} needs")
    if cost_per_unit_km < 0 or not math.isfinite(cost_per_unit_km):
        raise ValueError("cost_per_unit_km must be finite and >= 0")
    km = haversine_km(s[:, 0:1], s[:, 1:2], t[None, :, 0], t[None, :, 1])
    cost = cost_per_unit_km * km * d[None, :]
    if max_km is not None:
        cost[km > max_km] = np.inf
    return np.asarray(cost)


def _validate(sites: Sequence[Site], needs: Sequence[Need], cost: NDArray[np.float64],
              max_sites: int | None) -> None:
    for kind, ids in (("site", [s.id for s in sites]), ("need", [n.id for n in needs])):
        if len(set(ids)) != len(ids):
            dup = sorted({i for i in ids if ids.count(i) > 1})
            raise ValueError(f"duplicate {kind} ids: {dup[:5]}")
    if cost.shape != (len(sites), len(needs)):
        raise ValueError(f"assign_cost has shape {cost.shape}, expected "
                         f"({len(sites)}, {len(needs)}) = (sites, needs)")
    if np.isnan(cost).any() or (cost == -np.inf).any():
        raise ValueError("assign_cost may hold finite values or +inf (not allowed), not NaN/-inf")
    for s in sites:
        if not (math.isfinite(s.capacity) and s.capacity >= 0):
            raise ValueError(f"site {s.id}: capacity must be finite and >= 0")
        if not math.isfinite(s.fixed_cost):
            raise ValueError(f"site {s.id}: fixed_cost must be finite")
    for n in needs:
        if not (math.isfinite(n.demand) and n.demand >= 0):
            raise ValueError(f"need {n.id}: demand must be finite and >= 0")
    if max_sites is not None and max_sites < 0:
        raise ValueError("max_sites must be >= 0")


def _names(ids: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def _precheck(sites: Sequence[Site], needs: Sequence[Need], allowed: NDArray[np.bool_],
              max_sites: int | None, single_source: bool) -> str | None:
    """A reason the instance is infeasible that is visible without solving, or None."""
    cap = np.array([s.capacity for s in sites], dtype=np.float64)
    dem = np.array([n.demand for n in needs], dtype=np.float64)
    pinned_open = [s.id for s in sites if s.pin is True]
    if max_sites is not None and len(pinned_open) > max_sites:
        return (f"{len(pinned_open)} sites are pinned open ({_names(pinned_open)}) "
                f"but max_sites is {max_sites}")
    unreachable = [n.id for j, n in enumerate(needs) if not allowed[:, j].any()]
    if unreachable:
        return (f"no site that may stay open is within reach of need(s) {_names(unreachable)}")
    reach_cap = cap @ allowed if len(sites) else np.zeros(len(needs))
    if single_source:
        best = np.where(allowed, cap[:, None], -np.inf).max(axis=0, initial=-np.inf)
        short = [n.id for j, n in enumerate(needs) if dem[j] > best[j] * (1 + 1e-9)]
        if short:
            return (f"need(s) {_names(short)} are larger than every site within reach and "
                    "single_source is set")
    short = [n.id for j, n in enumerate(needs) if dem[j] > reach_cap[j] * (1 + 1e-9)]
    if short:
        return (f"need(s) {_names(short)} exceed the combined capacity of all sites within "
                "reach")
    usable = allowed.any(axis=1) | np.array([s.pin is True for s in sites], dtype=bool)
    usable &= np.array([s.pin is not False for s in sites], dtype=bool)
    total = float(dem.sum())
    usable_cap = np.sort(cap[usable])[::-1]
    if total > usable_cap.sum() * (1 + 1e-9):
        return (f"total demand {total:g} exceeds the total capacity {usable_cap.sum():g} of "
                "the sites that may stay open")
    if max_sites is not None:
        # Pinned-open sites count against max_sites; the best case fills the rest with the
        # largest free sites.
        pin_mask = np.array([s.pin is True for s in sites], dtype=bool)
        free_cap = np.sort(cap[usable & ~pin_mask])[::-1]
        room = max_sites - int(pin_mask.sum())
        best_cap = float(cap[pin_mask].sum() + free_cap[:room].sum())
        if total > best_cap * (1 + 1e-9):
            return (f"total demand {total:g} exceeds the capacity {best_cap:g} of the largest "
                    f"{max_sites} sites allowed by max_sites")
    return None


_SUB_MIP_HEURISTICS = ("mip_heuristic_run_rins", "mip_heuristic_run_rens",
                       "mip_heuristic_run_root_reduced_cost")
"""HiGHS's sub-MIP heuristics, turned off by `heuristics=False` (with a good start they
spend most of the time of a solve on this model, see ADR 18)."""


_STATUS = {
    highspy.HighsModelStatus.kOptimal: "optimal",
    highspy.HighsModelStatus.kInfeasible: "infeasible",
    highspy.HighsModelStatus.kTimeLimit: "time_limit",
    highspy.HighsModelStatus.kIterationLimit: "limit",
    highspy.HighsModelStatus.kSolutionLimit: "limit",
    highspy.HighsModelStatus.kObjectiveBound: "limit",
    highspy.HighsModelStatus.kObjectiveTarget: "limit",
    highspy.HighsModelStatus.kInterrupt: "limit",
    highspy.HighsModelStatus.kMemoryLimit: "limit",
}


def solve(
    sites: Sequence[Site],
    needs: Sequence[Need],
    assign_cost: ArrayLike,
    *,
    max_sites: int | None = None,
    single_source: bool = False,
    time_limit: float = 60.0,
    mip_rel_gap: float = 0.0,
    on_progress: ProgressHook | None = None,
    cancel: CancelToken | None = None,
    start: Mapping[str, Sequence[tuple[str, float]]] | None = None,
    heuristics: bool = True,
    restart: bool = True,
    elastic: bool = False,
) -> Solution:
    """Choose which sites to keep and how to serve every need from them at least annual cost.

    assign_cost: (len(sites), len(needs)); entry [i, j] is the cost of serving ALL of need j
    from site i, np.inf where not allowed. Only finite entries become variables, so a travel
    radius keeps large instances small. single_source=True forces each need into one site.
    time_limit in seconds (build excluded). mip_rel_gap=0 (the default) asks HiGHS to prove
    optimality; see the module docstring for the model and the guarantees of the result.
    Raises ValueError on malformed input; an infeasible instance is a Solution with status
    'infeasible' and a `message` naming the reason where it can be found before solving.

    on_progress: called about every PROGRESS_EVERY seconds from inside HiGHS with its best
    objective and dual bound so far. cancel: checked at the same points; once set, HiGHS
    stops and the result has status 'canceled' (with the best plan found, if any).
    start: a known plan (need id -> [(site id, share)]) handed to HiGHS as its first
    incumbent; sites serving a share are taken as open, the others as closed.
    heuristics=False turns HiGHS's sub-MIP heuristics (RINS, RENS, root reduced-cost) off:
    worth it only with a good `start`, when the proof is what is left (ADR 18).
    restart=False keeps HiGHS from restarting its search after fixing columns at the root
    (worth it when the caller has fixed what reduced costs can fix, ADR 18).
    elastic=True: when `cancel` also has `deadline()` (an instant on `time.perf_counter()`'s
    clock) later than time_limit's end, the solve may run until then (checked at the same
    points as cancel): one part of a larger solve takes the time the others left.
    """
    t0 = time.perf_counter()
    cost = np.asarray(assign_cost, dtype=np.float64)
    _validate(sites, needs, cost, max_sites)
    m, n = len(sites), len(needs)
    site_ids = [s.id for s in sites]
    pin = np.array([s.pin for s in sites], dtype=object)
    closed = np.array([p is False for p in pin], dtype=bool)

    # Pairs: finite cost and the site is not pinned closed. Row-major order: site by site.
    allowed = np.isfinite(cost)
    if closed.any():
        allowed[closed, :] = False
    reason = _precheck(sites, needs, allowed, max_sites, single_source)
    if reason is not None:
        return _empty("infeasible", reason, site_ids, t0)
    if m == 0:  # and so n == 0: nothing to keep, nothing to serve
        return Solution(status="optimal", proven_optimal=True, objective=0.0,
                        fixed_cost_total=0.0, assignment_cost_total=0.0, gap=0.0,
                        dual_bound=0.0, open_site_ids=[], closed_site_ids=[], assignment={},
                        build_seconds=time.perf_counter() - t0, solve_seconds=0.0,
                        n_variables=0, n_constraints=0)
    pi, pj = np.nonzero(allowed)
    npairs = pi.size
    fixed = np.array([s.fixed_cost for s in sites], dtype=np.float64)
    cap = np.array([s.capacity for s in sites], dtype=np.float64)
    dem = np.array([nd.demand for nd in needs], dtype=np.float64)
    pc = cost[pi, pj]

    # Columns: y_0..y_{m-1}, then x_p for p = 0..npairs-1.
    # Rows: demand (n), capacity (m), linking (npairs), max_sites (0 or 1).
    ncol = m + npairs
    r_dem, r_cap, r_link = 0, n, n + m
    nrow = n + m + npairs + (1 if max_sites is not None else 0)
    xcol = m + np.arange(npairs)
    link_rows = r_link + np.arange(npairs)
    rows = [r_dem + pj, r_cap + pi, link_rows, r_cap + np.arange(m), link_rows]
    cols = [xcol, xcol, xcol, np.arange(m), pi]
    vals = [np.ones(npairs), dem[pj], np.ones(npairs), -cap, -np.ones(npairs)]
    if max_sites is not None:
        rows.append(np.full(m, nrow - 1))
        cols.append(np.arange(m))
        vals.append(np.ones(m))
    a = sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                      shape=(nrow, ncol))
    a.sort_indices()

    inf = highspy.kHighsInf
    col_cost = np.concatenate([fixed, pc])
    col_lo = np.zeros(ncol)
    col_hi = np.ones(ncol)
    col_lo[:m][np.array([p is True for p in pin], dtype=bool)] = 1.0
    col_hi[:m][closed] = 0.0
    row_lo = np.concatenate([np.ones(n), np.full(m + npairs, -inf)])
    row_hi = np.concatenate([np.ones(n), np.zeros(m + npairs)])
    if max_sites is not None:
        row_lo = np.append(row_lo, -inf)
        row_hi = np.append(row_hi, float(max_sites))
    integrality = np.zeros(ncol, dtype=np.int32)
    integrality[:m] = 1
    if single_source:
        integrality[m:] = 1

    h = new_highs()
    h.setOptionValue("time_limit", float(time_limit))
    h.setOptionValue("mip_rel_gap", float(mip_rel_gap))
    h.setOptionValue("mip_abs_gap", MIP_ABS_GAP)
    if not heuristics:
        for opt in _SUB_MIP_HEURISTICS:
            h.setOptionValue(opt, False)
    if not restart:
        h.setOptionValue("mip_allow_restart", False)
    h.passModel(ncol, nrow, int(a.nnz), int(highspy.MatrixFormat.kColwise),
                int(highspy.ObjSense.kMinimize), 0.0, col_cost, col_lo, col_hi, row_lo, row_hi,
                a.indptr.astype(np.int32), a.indices.astype(np.int32), a.data, integrality)
    if start is not None:
        _set_start(h, start, site_ids, [nd.id for nd in needs], pi, pj, m)
    canceled = _hook(h, on_progress, cancel, float(time_limit) if elastic else None)
    t1 = time.perf_counter()
    h.run()
    t_run = time.perf_counter() - t1
    model_status = h.getModelStatus()
    info = h.getInfo()
    status = _STATUS.get(model_status, "error")
    if canceled and status == "limit" and model_status == highspy.HighsModelStatus.kInterrupt:
        status = "canceled"
    has_sol = info.primal_solution_status == 2  # kSolutionStatusFeasible
    if not has_sol:
        msg = {"infeasible": "HiGHS proved that no choice of sites meets every need within "
                             "the capacities, pins and max_sites",
               "time_limit": f"no feasible solution found within {time_limit:g} s",
               "canceled": "canceled before a plan was found"}
        return Solution(status=status, proven_optimal=False, objective=None,
                        fixed_cost_total=None, assignment_cost_total=None, gap=None,
                        dual_bound=_finite(info.mip_dual_bound), open_site_ids=[],
                        closed_site_ids=[], assignment={}, build_seconds=t1 - t0,
                        solve_seconds=time.perf_counter() - t1, n_variables=ncol,
                        n_constraints=nrow,
                        message=msg.get(status, h.modelStatusToString(model_status)),
                        mip_nodes=int(info.mip_node_count))

    col = np.asarray(h.getSolution().col_value)
    y_open = col[:m] > 0.5
    share = np.clip(col[m:], 0.0, 1.0)
    fixed_total = float(fixed[y_open].sum())
    assign_total = float(pc @ share)
    gap = float(info.mip_gap) if math.isfinite(info.mip_gap) else None
    dual = _finite(info.mip_dual_bound)
    abs_gap_ok = dual is not None and (
        float(info.objective_function_value) - dual <= MIP_ABS_GAP)
    proven = status == "optimal" and ((gap is not None and gap <= PROVEN_GAP) or abs_gap_ok)
    if status == "optimal" and not proven:
        status = "gap_limit"
    keep = share > SHARE_EPS
    assignment: dict[str, list[tuple[str, float]]] = {nd.id: [] for nd in needs}
    order = np.lexsort((-share[keep], pj[keep]))
    ki, kj, ks = pi[keep][order], pj[keep][order], share[keep][order]
    for i, j, s in zip(ki.tolist(), kj.tolist(), ks.tolist(), strict=True):
        assignment[needs[j].id].append((site_ids[i], s))
    t2 = time.perf_counter()
    return Solution(
        status=status,
        proven_optimal=proven,
        objective=fixed_total + assign_total,
        fixed_cost_total=fixed_total,
        assignment_cost_total=assign_total,
        gap=0.0 if proven else gap,
        dual_bound=dual,
        open_site_ids=[site_ids[i] for i in np.flatnonzero(y_open).tolist()],
        closed_site_ids=[site_ids[i] for i in np.flatnonzero(~y_open).tolist()],
        assignment=assignment,
        build_seconds=t1 - t0,
        solve_seconds=t2 - t1,
        n_variables=ncol,
        n_constraints=nrow,
        message="" if proven else h.modelStatusToString(model_status),
        mip_nodes=int(info.mip_node_count),
        extra={"highs_objective": float(info.objective_function_value),
               "highs_gap": float(info.mip_gap),
               "lp_iterations": float(info.simplex_iteration_count),
               "highs_run_seconds": t_run},
    )


def _set_start(h: Any, start: Mapping[str, Sequence[tuple[str, float]]],
               site_ids: list[str], need_ids: list[str], pi: NDArray[np.intp],
               pj: NDArray[np.intp], m: int) -> None:
    """Hand HiGHS a known plan as its first incumbent (ignored by HiGHS if infeasible)."""
    s_idx = {s: i for i, s in enumerate(site_ids)}
    n_idx = {nd: j for j, nd in enumerate(need_ids)}
    pair = {(int(i), int(j)): k for k, (i, j) in enumerate(zip(pi, pj, strict=True))}
    col = np.zeros(m + pi.size)
    for need_id, parts in start.items():
        for site_id, share in parts:
            i, j = s_idx.get(site_id), n_idx.get(need_id)
            k = None if i is None or j is None else pair.get((i, j))
            if k is None:
                return  # not a plan of this model: no start
            col[m + k] = share
            col[s_idx[site_id]] = 1.0
    sol = highspy.HighsSolution()
    sol.col_value = col.tolist()
    sol.value_valid = True
    h.setSolution(sol)


def _hook(h: Any, on_progress: ProgressHook | None, cancel: CancelToken | None,
          elastic_limit: float | None = None) -> list[bool]:
    """Subscribe progress reports and cancellation to HiGHS's interrupt callbacks; with
    elastic_limit (the run's time limit) and a `cancel` that has `deadline()`, move HiGHS's
    time limit out to that deadline whenever it is later (HiGHS reads the option as it
    goes).

    Returns a list that holds True once a cancellation was passed to HiGHS."""
    canceled: list[bool] = []
    if on_progress is None and cancel is None:
        return canceled
    last = [0.0]
    deadline = getattr(cancel, "deadline", None) if elastic_limit is not None else None
    t_run = time.perf_counter()  # at most HiGHS's own start: the limit never overshoots
    limit = [elastic_limit or 0.0]

    def check(e: Any) -> None:
        if cancel is not None and cancel.is_set():
            canceled.append(True)
            e.interrupt()
            return
        if deadline is not None:
            want = float(deadline()) - t_run
            if want > limit[0] + ELASTIC_STEP:
                limit[0] = want
                h.setOptionValue("time_limit", want)
        if (on_progress is None
                or e.callback_type != highspy.cb.HighsCallbackType.kCallbackMipInterrupt):
            return
        now = time.perf_counter()
        if now - last[0] < PROGRESS_EVERY:
            return
        last[0] = now
        out = e.data_out
        on_progress("milp", _finite(out.mip_primal_bound), _finite(out.mip_dual_bound))

    h.cbMipInterrupt.subscribe(check)
    if cancel is not None:
        h.cbSimplexInterrupt.subscribe(check)
        h.cbIpmInterrupt.subscribe(check)
    return canceled


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _empty(status: str, message: str, site_ids: list[str], t0: float) -> Solution:
    return Solution(status=status, proven_optimal=False, objective=None, fixed_cost_total=None,
                    assignment_cost_total=None, gap=None, dual_bound=None, open_site_ids=[],
                    closed_site_ids=[], assignment={},
                    build_seconds=time.perf_counter() - t0, solve_seconds=0.0, n_variables=0,
                    n_constraints=0, message=message)
