"""Sites (issue 12): scoring every US county plus a 1,000-draw Monte Carlo sensitivity
analysis, govshare's vectorized ``sites.calc`` against a straightforward pandas loop in the
same run.

Both sides do the same work on the same inputs: the shipped county data (3,142 counties, all
candidates, no constraint but a labor-force figure), the Minnesota reference scenario's
center moved to "all of the US", and 1,000 draws of the weights (Dirichlet), each county's
multiplier, rent and wage index. The pandas loop draws the same random numbers (the same
per-block generators) and, per draw, computes the savings, the criteria, the min-max
normalization and the weighted score with pandas Series operations, then takes the top three
with ``nlargest``. The two must agree on every county's probability of a top-three place.

Measured: wall time per side (best and median of interleaved rounds), the ratio, and the
peak memory each side allocates (tracemalloc, which numpy reports to) plus the process's max
RSS. Goal: govshare >= 10x faster.

Usage: .venv/bin/python bench/bench_sites.py [--rounds 3] [--draws 1000] [--no-write]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import statistics
import sys
import time
import tracemalloc
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
RESULTS = ROOT / "bench" / "results"

from govshare.sites import calc, queries  # noqa: E402
from govshare.sites.schemas import ScenarioIn  # noqa: E402
from govshare.sites.service import REFERENCE_SCENARIOS  # noqa: E402

GOAL = 10.0


def scenario() -> tuple[calc.Counties, np.ndarray, calc.Scenario, np.ndarray]:
    spec = {**REFERENCE_SCENARIOS[0], "min_labor_force_multiple": 0,
            "candidates": {"kind": "state", "states": sorted(set(
                queries.counties().state.tolist()))}}
    data = ScenarioIn.model_validate(spec)
    c = queries.counties()
    idx = np.arange(len(c))
    return c, idx, data.scenario(), queries.published_distress()


def govshare_run(draws: int, ranks: bool = False) -> tuple[calc.Result, calc.Sensitivity]:
    c, idx, s, d = scenario()
    r = calc.evaluate(c, idx, s, d)
    return r, calc.sensitivity(r, draws=draws, ranks=ranks)


def pandas_run(draws: int, seed: int = 12) -> tuple[pd.DataFrame, np.ndarray]:
    """The straightforward way: one pandas pass per draw."""
    c, idx, s, d = scenario()
    r = calc.evaluate(c, idx, s, d)  # the deterministic scoring, as govshare does it
    df = pd.DataFrame({
        "fips": r.counties.fips, "wage_index": r.wage_index, "rent_local": r.rent_local,
        "unemployed": r.counties.values["unemployed_2018"],
        "labor_force": r.counties.values["labor_force_2018"],
        "distress": np.where(np.isnan(r.distress), 0.0, r.distress),
        "is_base": r.counties.fips == s.baseline_fips})
    w0 = calc.normalized_weights(s.weights)
    active = w0 > 0
    hc = s.headcount
    ft2 = hc * s.ft2_per_person
    a, b = s.wage_uncertainty_pct / 100, s.rent_uncertainty_pct / 100
    n = len(df)
    counts = pd.Series(0, index=df.index)

    def norm(x: pd.Series) -> pd.Series:
        span = x.max() - x.min()
        return (x - x.min()) / span if span > 0 else x * 0.0

    distress_n = norm(df["distress"])
    pool_n = norm(np.log10((df["labor_force"] / hc).clip(lower=1.0)))
    for start in range(0, draws, calc.BLOCK):
        g = np.random.default_rng([seed, start // calc.BLOCK])
        k = min(calc.BLOCK, draws - start)
        wts = np.zeros((k, len(w0)))
        wts[:, active] = g.dirichlet(w0[active] * s.weight_concentration, size=k)
        wu = g.uniform(1 - a, 1 + a, size=(k, n))
        ru = g.uniform(1 - b, 1 + b, size=(k, n))
        mu = g.uniform(s.multiplier_low, s.multiplier_high, size=(k, n))
        for j in range(k):
            wi = df["wage_index"] * wu[j]
            wi[df["is_base"]] = 1.0
            rent = df["rent_local"] * ru[j]
            savings = r.baseline["operating"] - (s.payroll_baseline * wi + ft2 * rent
                                                 + hc * s.other_usd_per_person)
            share = (hc * pd.Series(mu[j]) / df["unemployed"]).where(
                df["unemployed"] > 0, 1.0).clip(upper=1.0)
            score = (wts[j, 0] * norm(savings) + wts[j, 1] * distress_n
                     + wts[j, 2] * norm(share) + wts[j, 3] * pool_n)
            counts[score.nlargest(3).index] += 1
    return df, (counts / draws).to_numpy()


def timed(fn: Any, *args: Any) -> tuple[float, float, Any]:
    tracemalloc.start()
    t0 = time.perf_counter()
    out = fn(*args)
    seconds = time.perf_counter() - t0
    _cur, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seconds, peak / 2**20, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    load0 = os.getloadavg()
    queries.counties()
    queries.published_distress()  # data loading is not what is measured
    gov: list[float] = []
    ranked: list[float] = []
    ref: list[float] = []
    mem: dict[str, float] = {}
    agree = None
    for _ in range(args.rounds):
        t, m, (r, sens) = timed(govshare_run, args.draws)
        gov.append(t)
        mem["govshare"] = max(mem.get("govshare", 0), m)
        t, m, _out = timed(govshare_run, args.draws, True)
        ranked.append(t)
        mem["govshare_with_rank_ranges"] = max(mem.get("govshare_with_rank_ranges", 0), m)
        t, m, (_df, p_ref) = timed(pandas_run, args.draws)
        ref.append(t)
        mem["pandas"] = max(mem.get("pandas", 0), m)
        agree = float(np.abs(sens.p_top3 - p_ref).max())
    n = len(r.score)
    ratio_best = min(ref) / min(gov)
    ratio_median = statistics.median(ref) / statistics.median(gov)
    out = {
        "candidates": n, "draws": args.draws, "rounds": args.rounds,
        "govshare_seconds": gov, "govshare_with_rank_ranges_seconds": ranked,
        "pandas_seconds": ref,
        "ratio_best": ratio_best, "ratio_median": ratio_median, "goal": GOAL,
        "goal_met": ratio_best >= GOAL,
        "max_abs_difference_p_top3": agree,
        "tracemalloc_peak_mib": mem,
        "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "machine": {"cpu": platform.processor() or platform.machine(),
                    "cores": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version(),
                    "numpy": metadata.version("numpy"), "pandas": metadata.version("pandas")},
        "load_average": {"start": load0, "end": os.getloadavg()},
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    md = "\n".join([
        "## Sites: scoring + Monte Carlo sensitivity (`bench/bench_sites.py`, "
        "`make bench-sites`)",
        "",
        f"Every US county as a candidate ({n:,} with a labor-force figure), the weighted "
        f"score, the Pareto frontier and a {args.draws:,}-draw sensitivity analysis (weights, "
        "multiplier, rent, wage index), govshare's `sites.calc` (vectorized over blocks of "
        "draws) against a straightforward pandas loop (one pass of Series operations per "
        "draw, `nlargest(3)`) fed the same random numbers. "
        f"{args.rounds} interleaved rounds.",
        "",
        "| side | best (s) | median (s) | tracemalloc peak (MiB) |",
        "|---|---:|---:|---:|",
        f"| govshare `calc.evaluate` + `calc.sensitivity` | {min(gov):.3f} | "
        f"{statistics.median(gov):.3f} | {mem['govshare']:.1f} |",
        f"| pandas loop | {min(ref):.3f} | {statistics.median(ref):.3f} | "
        f"{mem['pandas']:.1f} |",
        f"| govshare, also each county's 5-95% rank range (what the page shows) | "
        f"{min(ranked):.3f} | {statistics.median(ranked):.3f} | "
        f"{mem['govshare_with_rank_ranges']:.1f} |",
        "",
        f"- govshare / pandas: **{ratio_best:.1f}x** on best runs, {ratio_median:.1f}x on "
        f"medians (goal >= {GOAL:g}x: {'met' if ratio_best >= GOAL else 'NOT met'}).",
        f"- With the rank ranges (a full sort of every draw, which the pandas loop does not "
        f"do): {min(ref) / min(ranked):.1f}x on best runs.",
        f"- Both agree: the largest difference in a county's probability of a top-three "
        f"place is {agree:.3g}.",
        f"- Process max RSS {out['max_rss_mib']:.0f} MiB (both sides and the data).",
        f"- Machine: {out['machine']['cpu']}, {out['machine']['cores']} cores; Python "
        f"{out['machine']['python']}, numpy {out['machine']['numpy']}, pandas "
        f"{out['machine']['pandas']}; {out['when']}. Load average {load0[0]:.2f} at start, "
        f"{out['load_average']['end'][0]:.2f} at end (a shared machine: compare ratios).",
        "",
        "Raw numbers: [`sites.json`](sites.json).",
    ])
    print(md)
    if args.no_write:
        return
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "sites.json").write_text(json.dumps(out, indent=2) + "\n")
    (RESULTS / "sites.md").write_text(md + "\n")
    readme = RESULTS / "README.md"
    text = readme.read_text()
    start, end = "<!-- bench_sites:start -->", "<!-- bench_sites:end -->"
    section = f"{start}\n{md}\n{end}"
    if start in text:
        text = text[:text.index(start)] + section + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    readme.write_text(text)


if __name__ == "__main__":
    main()
