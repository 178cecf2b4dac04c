"""The consolidation solver (`property.solver.solve`) vs the direct MILP
(`property.consolidation.solve`) in the same run, on the OR-Library set (issue 14).

Instances: all 37 of cap41..cap134 and the 12 capa/capb/capc instances (four capacities
each), read from tests/data/orlib (see tests/data/SOURCES.md), with the published optima of
`capopt`; and a synthetic registry (buildings whose occupants may move to any building within
a radius, buildings ~90% of the cost), seeded.

Each instance is solved by both, one after the other in this process, with the same time limit
(--limit for the 100 x 1000 and synthetic instances, 60 s for the small ones). Every plan's cost
is recomputed from the raw data (fixed costs of its open sites + shares x the cost matrix) and
compared with the published optimum to 1e-6 relative. Wall and CPU (process_time) seconds are
recorded; the ratio is direct MILP time / solver time over all instances (a ratio > 1 means the
solver is faster). A run stopped at its limit counts with the limit.

The machine has 2 cores shared with other engineers: the total is capped by --budget seconds;
instances not reached are listed as skipped in the results.

The demo region's schools plan, split and with each building's occupants kept together
(single-source), is timed through planning.plan with each (60 s limit; the
demo is built into a temporary SQLite database first).

Single-source rows ("kept together": each occupant group whole in one building, the page's
checkbox): capa at capacity 8,000, capb and capc at 5,000, the 400 x 2,000 registry and the
2,000 x 10,000 state of towns, with no published optimum (capopt's split optima are lower
bounds there).

--only NAME[,NAME...] runs the instances named (capa: its four capacities and its
single-source row), --set small|large|registry|single|demo one set (small = cap41-cap134,
large = capa/capb/capc, single = the single-source rows, demo = only the demo's schools
plans, split and with occupants kept together); rows of
instances not run are carried over from the previous results file, marked with the date of
the run that measured them, and the totals count only the rows run this time.

--set long runs the 2,000 x 10,000 registry at --long-limit (1,800 s); its direct MILP takes
the whole limit and 12-14 GB (at 1,800 and 3,600 s), so --milp-from-previous
--milp-at-limit 1800 can carry its cell from the previous run at that limit instead, the
limit shown beside it; or
--solver-from-previous carries the solver's cell (same limit) and runs the direct MILP alone.

The rows solved in a child process of their own (the 2,000 x 10,000 registry) stop once the
child's resident set reaches --memory-cap-mb (20,000 MB; 0: none): the cell says so, with
the plan, gap and time it had, rather than the machine running out of memory.

Usage: .venv/bin/python bench/bench_solver.py [--limit 30] [--budget 900] [--no-write]
       [--no-demo] [--only NAME] [--set small|large|registry|single|demo|long]
       [--long-limit 1800] [--milp-from-previous] [--milp-at-limit SECONDS]
       [--solver-from-previous] [--memory-cap-mb 20000]
"""

from __future__ import annotations

import argparse
import csv
import functools
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from bench_consolidation import machine, parse_orlib  # noqa: E402

from govshare.property import consolidation, solver  # noqa: E402
from govshare.property.consolidation import Need, Site, Solution  # noqa: E402

ORLIB = ROOT / "tests" / "data" / "orlib"
RESULTS = ROOT / "bench" / "results"
REL = 1e-6


def registry(seed: int, m: int, n: int, radius: float
             ) -> tuple[list[Site], list[Need], NDArray[np.float64]]:
    """Synthetic registry: m buildings on a 40 x 40 km square, n occupant groups in them,
    each group may move to any building within `radius` km at 30 $/person-km/yr; keeping a
    building costs $20,000 + $40 x capacity (x 0.5..1.5) a year."""
    rng = np.random.default_rng(seed)
    return _occupy(rng, rng.uniform(0, 40, size=(m, 2)), n, radius)


def towns(seed: int, m: int, n: int, n_towns: int, radius: float, side: float = 300.0
          ) -> tuple[list[Site], list[Need], NDArray[np.float64]]:
    """Synthetic state-wide registry: m buildings in n_towns towns (centers uniform on a
    side x side km square, buildings spread 2 km around them), n occupant groups in them,
    each group may move to any building within `radius` km; costs as in `registry`. Towns
    farther apart than the radius fall into independent parts."""
    rng = np.random.default_rng(seed)
    centers = rng.uniform(0, side, size=(n_towns, 2))
    xy = centers[rng.integers(0, n_towns, size=m)] + rng.normal(0, 2.0, size=(m, 2))
    return _occupy(rng, xy, n, radius)


def _occupy(rng: np.random.Generator, xy: NDArray[np.float64], n: int, radius: float
            ) -> tuple[list[Site], list[Need], NDArray[np.float64]]:
    """Buildings at xy (km) and n occupant groups of 5-60 people, each in a building chosen at
    random (0.3 km around it); a building holds 1.1-2.5 times its own groups (at least 20) and
    costs $20,000 + $40 x capacity (x 0.5..1.5) a year; a group may move within `radius` km
    at 30 $/person-km/yr, and may always stay."""
    m = xy.shape[0]
    owner = rng.integers(0, m, size=n)
    need_xy = xy[owner] + rng.normal(0, 0.3, size=(n, 2))
    demand = rng.integers(5, 60, size=n).astype(float)
    load = np.bincount(owner, weights=demand, minlength=m)
    cap = np.round(np.maximum(load, 20) * rng.uniform(1.1, 2.5, size=m))
    sites = [Site(id=f"b{i}", capacity=float(cap[i]),
                  fixed_cost=float(20_000 + 40 * cap[i] * rng.uniform(0.5, 1.5)))
             for i in range(m)]
    needs = [Need(id=f"g{j}", demand=float(demand[j])) for j in range(n)]
    cost = np.full((m, n), np.inf)
    for a in range(0, m, 200):  # by blocks of buildings: 2,000 x 10,000 distances are 160 MB
        d = np.hypot(xy[a:a + 200, None, 0] - need_xy[None, :, 0],
                     xy[a:a + 200, None, 1] - need_xy[None, :, 1])
        block = d * demand[None, :] * 30.0
        block[d > radius] = np.inf
        cost[a:a + 200] = block
    stay = np.hypot(*(xy[owner] - need_xy).T)
    cost[owner, np.arange(n)] = stay * demand * 30.0
    return sites, needs, cost


def recompute(sol: Solution, sites: list[Site], needs: list[Need],
              cost: NDArray[np.float64]) -> float | None:
    """The plan's cost from the raw data, checking shares and capacities on the way."""
    if sol.objective is None:
        return None
    idx = {s.id: i for i, s in enumerate(sites)}
    open_ids = set(sol.open_site_ids)
    load = np.zeros(len(sites))
    total = sum(s.fixed_cost for s in sites if s.id in open_ids)
    for j, nd in enumerate(needs):
        parts = sol.assignment[nd.id]
        if not math.isclose(sum(sh for _, sh in parts), 1.0, abs_tol=1e-6):
            raise SystemExit(f"need {nd.id}: shares do not sum to 1")
        for sid, sh in parts:
            if sid not in open_ids:
                raise SystemExit(f"need {nd.id} served from closed site {sid}")
            load[idx[sid]] += sh * nd.demand
            total += sh * cost[idx[sid], j]
    for s in sites:
        if load[idx[s.id]] > s.capacity * (1 + 1e-6) + 1e-6:
            raise SystemExit(f"site {s.id} over capacity")
    return float(total)


def run_apart(which: str, load: Any, limit: float, single_source: bool = False,
              memory_cap_mb: float = 0.0) -> dict[str, Any]:
    """`run_one` in a child process, to report its peak memory: the child's maximum resident
    set size (ru_maxrss), and its resident set before the solve (the bench code and the
    instance, which the child builds itself with `load`). A spawned child, not a forked one:
    HiGHS keeps a pool of worker threads, and a fork of a process that has run HiGHS has the
    pool without its threads (the first parallel task waits for ever).

    memory_cap_mb > 0: the child stops its solve, through the solve's cancel token, once its
    resident set reaches the cap, and reports the best plan and gap it had (stopped_by
    'memory cap'). A child that dies all the same (the kernel's out-of-memory killer) is
    reported as 'died', with its wall time, not as a hang."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    w0 = time.perf_counter()
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        try:
            return pool.submit(_child, which, load, limit, single_source,
                               memory_cap_mb).result()
        except BrokenProcessPool as e:
            return {"status": "died", "proven": False, "objective": None, "recomputed": None,
                    "gap": None, "bound": None, "method": None, "fixed_sites": 0,
                    "wall_s": time.perf_counter() - w0, "cpu_s": None, "error": str(e),
                    "memory_cap_mb": memory_cap_mb or None}


class MemoryCap:
    """A cancel token (`is_set()`) that is set once this process's resident set reaches
    `cap_mb`; it reads /proc/self/statm at most once a second (HiGHS asks far more often)."""

    def __init__(self, cap_mb: float) -> None:
        self.cap_kb = cap_mb * 1024
        self.page_kb = os.sysconf("SC_PAGE_SIZE") / 1024
        self.next_check = 0.0
        self.hit_at: float | None = None  # perf_counter when the cap was reached
        self.rss_mb = 0.0

    def is_set(self) -> bool:
        if self.hit_at is not None:
            return True
        now = time.perf_counter()
        if now >= self.next_check:
            self.next_check = now + 1.0
            with open("/proc/self/statm") as f:
                rss_kb = int(f.read().split()[1]) * self.page_kb
            self.rss_mb = rss_kb / 1024
            if rss_kb >= self.cap_kb:
                self.hit_at = now
        return self.hit_at is not None


def _child(which: str, load: Any, limit: float, single_source: bool,
           memory_cap_mb: float = 0.0) -> dict[str, Any]:
    import resource

    sites, needs, cost = load()
    with open("/proc/self/status") as f:
        base = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    cap = MemoryCap(memory_cap_mb) if memory_cap_mb > 0 else None
    w0 = time.perf_counter()
    r = run_one(which, sites, needs, cost, limit, single_source=single_source, cancel=cap)
    r["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    r["start_mb"] = base / 1024
    if cap is not None:
        r["memory_cap_mb"] = memory_cap_mb
        if cap.hit_at is not None:
            r["stopped_by"] = "memory cap"
            r["cap_hit_s"] = cap.hit_at - w0
    return r


def run_one(which: str, sites: list[Site], needs: list[Need], cost: NDArray[np.float64],
            limit: float, single_source: bool = False, cancel: Any = None
            ) -> dict[str, Any]:
    w0, c0 = time.perf_counter(), time.process_time()
    if which == "solver":
        sol = solver.solve(sites, needs, cost, time_limit=limit, single_source=single_source,
                           cancel=cancel)
    else:
        sol = consolidation.solve(sites, needs, cost, time_limit=limit,
                                  single_source=single_source, cancel=cancel)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    return {"status": sol.status, "proven": sol.proven_optimal, "objective": sol.objective,
            "recomputed": recompute(sol, sites, needs, cost), "gap": sol.gap,
            "bound": sol.dual_bound, "method": sol.method, "wall_s": wall, "cpu_s": cpu,
            "fixed_sites": sol.extra.get("fixed_open", 0) + sol.extra.get("fixed_closed", 0),
            "lagrangian_bound": sol.extra.get("lagrangian_bound"),
            # a region solved in parts: where its gap lies
            **{k: sol.extra[k] for k in ("parts", "parts_proven", "largest_unproven_part_sites",
                                         "largest_unproven_part_needs") if k in sol.extra}}


def demo_schools(limit: float) -> dict[bool, dict[str, Any]]:
    """The demo region's schools plan (94 buildings) through planning.plan, with the solver
    and with the direct MILP put in its place, split (key False) and with each building's
    occupants kept together (key True, the page's checkbox: single-source). The demo is
    built once into a temporary SQLite database by `govshare demo` (synthetic data, labeled
    so in the product)."""
    import contextlib
    import subprocess
    import tempfile
    from unittest import mock

    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from govshare.core.tenancy import Principal, Role
    from govshare.property import planning

    out: dict[bool, dict[str, Any]] = {False: {}, True: {}}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/demo.db"
        subprocess.run([str(ROOT / ".venv" / "bin" / "govshare"), "demo"], check=True,
                       env={**os.environ, "GOVSHARE_DATABASE_URL": url},
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        actor = Principal(kind="user", role=Role.regional_analyst, region_id=1, name="bench")

        def direct(*args: Any, on_progress: Any = None, cancel: Any = None,
                   **kwargs: Any) -> Solution:
            return consolidation.solve(*args, **kwargs)

        with Session(create_engine(url)) as session:
            for together in (False, True):
                for which in ("solver", "milp"):
                    w0, c0 = time.perf_counter(), time.process_time()
                    with (mock.patch.object(planning, "solve", direct) if which == "milp"
                          else contextlib.nullcontext()):
                        plan = planning.plan(session=session, actor=actor, region_id=1,
                                             use="school", time_limit=limit,
                                             keep_together=together)
                    sol = plan.solution
                    r = out[together][which] = {
                        "status": sol.status, "proven": sol.proven_optimal,
                        "objective": sol.objective, "recomputed": sol.objective,
                        "gap": sol.gap, "bound": sol.dual_bound, "method": sol.method,
                        "wall_s": time.perf_counter() - w0, "cpu_s": time.process_time() - c0,
                        "fixed_sites": sol.extra.get("fixed_open", 0)
                        + sol.extra.get("fixed_closed", 0),
                        "buildings": len(plan.sites)}
                    print(f"  demo schools{' together' if together else ''} {which:<6} "
                          f"{sol.status} {r['wall_s']:.1f} s", file=sys.stderr, flush=True)
    return out


def instances(limit: float, long_limit: float
              ) -> list[tuple[str, float | None, float, Any]]:
    with (ORLIB / "capopt.csv").open() as f:
        rows = list(csv.DictReader(f))
    out: list[tuple[str, float | None, float, Any]] = []
    for r in rows:
        cap = float(r["capacity"]) if r["capacity"] else None
        name = r["instance"] + (f" ({r['capacity']})" if cap else "")
        out.append((name, float(r["optimal_value"]), limit if cap else 60.0,
                    (lambda n=r["instance"], c=cap: parse_orlib(ORLIB / f"{n}.txt", c))))
    # small first, then the 100 x 1000 sets, then the synthetic registry
    out.sort(key=lambda t: "(" in t[0])
    out.append(("registry 400x2000 (synthetic)", None, limit,
                lambda: registry(2024, 400, 2000, 4.0)))
    out.append((TOWNS, None, 2 * limit, functools.partial(towns, 2024, 2000, 10_000, 100, 10.0)))
    # each occupant group kept whole in one building (single-source): no published optima
    # (capopt's are the split ones, a lower bound here)
    for n, c in (("capa", 8000.0), ("capb", 5000.0), ("capc", 5000.0)):
        out.append((f"{n} ({c:g}) {TOGETHER}", None, limit,
                    functools.partial(parse_orlib, ORLIB / f"{n}.txt", c)))
    out.append((f"registry 400x2000 {TOGETHER} (synthetic)", None, limit,
                functools.partial(registry, 2024, 400, 2000, 4.0)))
    out.append((TOWNS_TOGETHER, None, 2 * limit,
                functools.partial(towns, 2024, 2000, 10_000, 100, 10.0)))
    out.append((TOWNS_LONG, None, long_limit,
                functools.partial(towns, 2024, 2000, 10_000, 100, 10.0)))
    return out


TOGETHER = "kept together"
"""In an instance's name: single-source (each occupant group kept whole)."""
TOWNS_TOGETHER = f"registry 2000x10000 in 100 towns {TOGETHER} (synthetic)"


TOWNS = "registry 2000x10000 in 100 towns with 10 km moves (synthetic)"
TOWNS_LONG = "registry 2000x10000 in 100 towns with 10 km moves, long limit (synthetic)"
"""The same instance as TOWNS with --long-limit (--set long only: it takes an hour)."""
APART = (TOWNS, TOWNS_TOGETHER, TOWNS_LONG)
"""Instances built and solved in a child process each, for their peak memory."""


def markdown(res: dict[str, Any]) -> str:
    lines = ["# Consolidation solver vs the direct MILP (issue 14)", "",
             f"Same run, same time limit per instance ({res['limit']:g} s for the 100 x 1000 "
             "and synthetic instances, twice that for the 2,000 x 10,000 ones, 60 s for "
             f"cap41-cap134, {res.get('long_limit', 1800):g} s for the long row); total budget "
             f"{res['budget']:g} s on a shared 2-core machine. Every plan's cost recomputed "
             "from the raw data; 'match' = recomputed cost equal to the published optimum to "
             "1e-6 relative; 'fixed' = sites pinned by reduced-cost fixing before the final "
             "MILP (the tree and the parts fix within each node or part and total none).", "",
             "| instance | published | solver: status | cost | gap | s | fixed | "
             "direct MILP: status | cost | gap | s | match |",
             "|---|---:|---|---:|---:|---:|---:|---|---:|---:|---:|---|"]

    def cell(r: dict[str, Any], limit: float | None = None) -> str:
        cost = "" if r["recomputed"] is None else f"{r['recomputed']:,.3f}"
        gap = ("" if r["gap"] is None else f"{r['gap']:.3%}" if 0 < r["gap"] < 1e-3
               else f"{r['gap']:.2%}")
        cpu = f" (cpu {r['cpu_s']:.1f})" if r.get("cpu_s") else ""
        at = (f", at a {r['limit_s']:,.0f} s limit" if r.get("limit_s") and limit
              and r["limit_s"] != limit else "")
        when = f" *(run of {r['from_run']}{at})*" if r.get("from_run") else ""
        status = r["status"]
        if r.get("stopped_by") == "memory cap":
            status = (f"stopped at its {r['memory_cap_mb']:,.0f} MB memory cap after "
                      f"{r['cap_hit_s']:,.0f} s")
        elif status == "died" and r.get("memory_cap_mb"):
            status = f"died (memory cap {r['memory_cap_mb']:,.0f} MB)"
        return f"{status}{when} | {cost} | {gap} | {r['wall_s']:.1f}{cpu}"

    for row in res["rows"] + res.get("carried", []):
        s, d = row["solver"], row["milp"]
        pub = row["published"]
        match = ""
        if pub is not None:
            match = " / ".join(
                "yes" if r["recomputed"] is not None and r["proven"]
                and abs(r["recomputed"] - pub) <= REL * pub else "no" for r in (s, d))
        name = row["instance"] + (f" *(run of {row['carried_from']})*"
                                  if "carried_from" in row else "")
        lines.append(f"| {name} | {'' if pub is None else f'{pub:,.3f}'} | "
                     f"{cell(s)} | {s['fixed_sites']:.0f} | {cell(d, s.get('limit_s'))} | "
                     f"{match} |")
    t = res["totals"]
    if res.get("carried"):
        lines += ["", f"Rows marked *(run of ...)* were not run this time (set: "
                  f"{res.get('set') or res.get('only') or 'all'}); they are carried over from "
                  "the earlier run named, on the code of that time. The totals below count "
                  "only the rows run this time."]
    lines += ["", f"Proven optimal: solver {t['solver_proven']} of {len(res['rows'])}, direct "
              f"MILP {t['milp_proven']} of {len(res['rows'])}. Total wall time, every row: "
              f"solver {t['solver_wall_s']:.0f} s, direct MILP {t['milp_wall_s']:.0f} s; "
              f"ratio (direct / solver) {t['ratio_wall']:.2f}x."]
    orlib, whence = ([r for r in res["rows"] if r["published"] is not None], "")
    if not orlib:  # a partial run: the goal as the carried rows measured it
        orlib = [r for r in res.get("carried", []) if r["published"] is not None]
        whence = (" — from the rows carried over (run of "
                  f"{', '.join(sorted({r['carried_from'] for r in orlib}))})")
    if orlib:
        o_s = sum(r["solver"]["wall_s"] for r in orlib)
        o_m = sum(r["milp"]["wall_s"] for r in orlib)
        ratio = o_m / max(o_s, 1e-9)
        lines += ["", f"The issue's goal (issue 14: the OR-Library rows, cap41-cap134 and "
                  f"capa/capb/capc, the total at least 10x faster than the direct MILP)"
                  f"{whence}: {len(orlib)} rows, solver {o_s:.0f} s, direct "
                  f"MILP {o_m:.0f} s (a run stopped at its limit counts "
                  f"with the limit); ratio **{ratio:.2f}x** "
                  f"({'met' if ratio >= 10 else 'NOT met'})."]
    for row in res["rows"] + res.get("carried", []):
        ps = row["solver"]
        if ps.get("parts_proven") is None or ps.get("proven"):
            continue
        when = f" *(run of {row['carried_from']})*" if "carried_from" in row else ""
        largest = (f"; the largest unproven: {ps['largest_unproven_part_sites']:,.0f} buildings "
                   f"x {ps['largest_unproven_part_needs']:,.0f} groups"
                   if ps.get("largest_unproven_part_sites") is not None else "")
        lines += ["", f"Where the gap lies, {row['instance']}{when}: {ps['parts_proven']:,.0f} "
                  f"of its {ps['parts']:,.0f} independent parts proven{largest}."]
    for row in res["rows"] + res.get("carried", []):
        ps, pm = row["solver"], row["milp"]
        if ps.get("peak_mb") is None:
            continue
        when = f" *(run of {row['carried_from']})*" if "carried_from" in row else ""
        lines += ["", f"Peak memory, {row['instance']}{when} (each run in its own process: its "
                  f"maximum resident set; before the solve, the bench process with the "
                  f"instance): solver {ps['peak_mb']:,.0f} MB ({ps['start_mb']:,.0f} MB before)"
                  + (f" *(run of {ps['from_run']})*" if ps.get("from_run") else "") + ", "
                  + (f"direct MILP {pm['peak_mb']:,.0f} MB ({pm['start_mb']:,.0f} MB before)"
                     if pm.get("peak_mb") is not None else
                     f"direct MILP not known (its process {pm['status']})")
                  + (f" *(run of {pm['from_run']})*" if pm.get("from_run") else "")
                  + (f" at its {pm['limit_s']:,.0f} s limit" if pm.get("limit_s")
                     and pm["limit_s"] != ps.get("limit_s") else "")
                  + (f", stopped at its {pm['memory_cap_mb']:,.0f} MB cap"
                     if pm.get("stopped_by") == "memory cap" else "") + "."]
    lines += [""]
    if res["skipped"]:
        lines += [f"Skipped for the time budget: {', '.join(res['skipped'])}.", ""]
    mach = res["machine"]
    lines += ["## Machine", "",
              f"{mach['date']}; {mach['cpu']}, {mach['cores']} cores; highspy "
              f"{mach['highspy']}; load average {mach['load_average_1m_at_start']} at start, "
              f"{res['load_average_1m_at_end']} at end (shared: several engineers).", ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=float, default=30.0)
    ap.add_argument("--budget", type=float, default=900.0)
    ap.add_argument("--only", default="",
                    help="instances to run, comma-separated: a name (cap41, capa) runs it "
                         "(capa: all four capacities), 'capa (8000)' one of them")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--no-demo", action="store_true")
    ap.add_argument("--long-limit", type=float, default=1800.0,
                    help="the time limit of the long row (--set long)")
    ap.add_argument("--milp-from-previous", action="store_true",
                    help="the direct MILP's cell of each row from the previous results (same "
                         "instance, same limit; the direct MILP's code unchanged), marked with "
                         "the date of its run, instead of running it again")
    ap.add_argument("--milp-at-limit", type=float, default=0.0,
                    help="with --milp-from-previous and --set long: the direct MILP's cell "
                         "from its previous run at this limit (the long row's direct MILP "
                         "takes the whole --long-limit and 12 GB at 1,800 s), its limit shown")
    ap.add_argument("--solver-from-previous", action="store_true",
                    help="the solver's cell of each row from the previous results (same "
                         "instance, same limit; the solver's code unchanged), marked with the "
                         "date of its run, instead of running it again (the long row's "
                         "direct MILP alone takes the whole --long-limit)")
    ap.add_argument("--memory-cap-mb", type=float, default=20_000.0,
                    help="the rows run in a child process of their own (the 2,000 x 10,000 "
                         "registry) stop their solve once the child's resident set reaches "
                         "this many MB, reported as such with the plan and gap they had "
                         "(0: no cap; this machine has 24 GB and no swap)")
    ap.add_argument("--set", default="",
                    choices=["", "small", "large", "registry", "single", "demo", "long"],
                    help="one set of rows: cap41-cap134, capa/capb/capc, the synthetic "
                         "registries, the single-source (kept together) rows, the demo, "
                         "the 2,000 x 10,000 registry at --long-limit (only with this set)")
    args = ap.parse_args()
    previous: dict[str, Any] = {}
    if (RESULTS / "solver.json").exists():
        previous = json.loads((RESULTS / "solver.json").read_text())
    mach = machine()
    t0 = time.perf_counter()
    rows, skipped = [], []
    if not args.no_demo:
        demo = demo_schools(60.0)
        rows.append({"instance": "demo schools plan (94 buildings, planning.plan)",
                     "published": None, **demo[False]})
        rows.append({"instance": "demo schools plan, occupants kept together "
                     "(single-source)", "published": None, **demo[True]})
    for name, pub, limit, load in instances(args.limit, args.long_limit):
        if args.set == "demo":
            break
        if args.only and not any(o == name or name.startswith(o + " (")
                                 for o in args.only.split(",")):
            continue
        kind = ("single" if TOGETHER in name else "long" if name == TOWNS_LONG
                else "registry" if "synthetic" in name else "large" if "(" in name
                else "small")
        if (args.set or kind == "long") and kind != args.set:
            continue
        reserve = 2 * limit if "(" in name else 0.0  # the small ones take a second or two
        if kind != "long" and time.perf_counter() - t0 + reserve > args.budget:
            skipped.append(name)
            continue
        if name not in APART:  # those are built in the child process that solves them
            sites, needs, cost = load()
        row: dict[str, Any] = {"instance": name, "published": pub}
        # the previous cell's limit: its own, else its row's (the cells of 2026-12-05 had
        # none); never assumed to be this run's
        want = {"solver": limit, "milp": args.milp_at_limit
                if args.milp_at_limit and kind == "long" else limit}
        earlier = previous.get("rows", []) + previous.get("carried", [])
        old: dict[str, dict[str, Any] | None] = {
            which: next((r[which] for r in earlier if r["instance"] == name and r[which].get(
                "limit_s", r["solver"].get("limit_s")) == want[which]), None)
            if getattr(args, f"{which}_from_previous") else None
            for which in ("solver", "milp")}
        for which in ("solver", "milp"):
            carry = old[which]
            if carry is not None:
                row[which] = {**carry, "limit_s": want[which],
                              "from_run": carry.get("from_run") or previous.get(
                                  "machine", {}).get("date", "an earlier run")}
                continue
            row[which] = (run_apart(which, load, limit, single_source=kind == "single",
                                    memory_cap_mb=args.memory_cap_mb)
                          if name in APART
                          else run_one(which, sites, needs, cost, limit,
                                       single_source=kind == "single"))
            r = row[which]
            r["limit_s"] = limit
            print(f"  {name:<28} {which:<6} {r['status']:<10} {r['wall_s']:7.2f} s "
                  f"{r.get('stopped_by', '')} "
                  f"cost {r['recomputed']} gap {r['gap']}", file=sys.stderr, flush=True)
        rows.append(row)
    tot = {"solver_wall_s": sum(r["solver"]["wall_s"] for r in rows),
           "milp_wall_s": sum(r["milp"]["wall_s"] for r in rows),
           "solver_proven": sum(r["solver"]["proven"] for r in rows),
           "milp_proven": sum(r["milp"]["proven"] for r in rows)}
    tot["ratio_wall"] = tot["milp_wall_s"] / max(tot["solver_wall_s"], 1e-9)
    orlib = [r for r in rows if r["published"] is not None]
    tot["orlib_rows"] = len(orlib)
    tot["orlib_solver_wall_s"] = sum(r["solver"]["wall_s"] for r in orlib)
    tot["orlib_milp_wall_s"] = sum(r["milp"]["wall_s"] for r in orlib)
    tot["orlib_ratio_wall"] = tot["orlib_milp_wall_s"] / max(tot["orlib_solver_wall_s"], 1e-9)
    ran = {r["instance"] for r in rows}
    carried = []
    for old in previous.get("rows", []) + previous.get("carried", []):
        if old["instance"] not in ran:
            carried.append({**old, "carried_from": old.get(
                "carried_from", previous.get("machine", {}).get("date", "an earlier run"))})
    res = {"benchmark": "consolidation solver", "limit": args.limit, "budget": args.budget,
           "long_limit": args.long_limit,
           "rows": rows, "skipped": skipped, "totals": tot, "machine": mach,
           "carried": carried, "set": args.set, "only": args.only,
           "load_average_1m_at_end": round(os.getloadavg()[0], 1)}
    md = markdown(res)
    print(md)
    if not args.no_write:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "solver.json").write_text(json.dumps(res, indent=2) + "\n")
        (RESULTS / "solver.md").write_text(md)


if __name__ == "__main__":
    main()
