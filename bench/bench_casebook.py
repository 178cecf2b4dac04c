"""Casebook arithmetic (casebook.calc): what a proposal's exact results cost, against plain
floating-point arithmetic with numpy-financial on the same flows.

govshare evaluates a proposal on every read (nothing derived is stored): shares as exact
fractions, allocations by largest remainder to the cent, each member's ramped flows, NPV, IRR
by bisection and payback, and the total as the members' sum. The reference does the same
economics the quick way: float shares, rounded cents that may not sum to the total, and
numpy-financial's npv and irr (roots of a polynomial) per member and for the total.

Sizes: the value page evaluates every adopted proposal; a big one is 200 members over 50
years with a blend of three bases and one-time costs over 3 years; a typical one is 5
members over 10 years. Goals: the exact path within 3x of the reference for both sizes
(exactness may cost something, not much), and the big proposal within 0.5 s on this shared,
loaded 2-core machine (a page must still answer at once).

Usage: .venv/bin/python bench/bench_casebook.py [--repeats 20] [--no-write]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import statistics
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import numpy as np  # noqa: E402
import numpy_financial as npf  # noqa: E402

from govshare.casebook import calc  # noqa: E402

RESULTS = ROOT / "bench" / "results"
BLEND = {"headcount": 54, "population": 23, "usage": 23}


def members(n: int, rng: random.Random) -> list[calc.MemberIn]:
    return [calc.MemberIn(key=i, name=f"Member {i}",
                          baseline_cents=rng.randrange(10**7, 10**9),
                          direct_cents=rng.randrange(0, 10**6),
                          drivers={"headcount": rng.randrange(1, 5000),
                                   "population": rng.randrange(1000, 2_000_000),
                                   "usage": rng.uniform(1, 1e6)})
            for i in range(n)]


def exact(ms: list[calc.MemberIn], years: int) -> calc.CaseResult:
    shared = sum(m.baseline_cents for m in ms) * 7 // 10
    return calc.evaluate(members=ms, shared_annual_cents=shared,
                         one_time_cents=[shared // 3, shared // 10, shared // 20],
                         ramp=[40, 70, 90], horizon=years, start_year=2027, rate=0.07,
                         basis=calc.Basis.blend, blend=BLEND)


def reference(ms: list[calc.MemberIn], years: int) -> tuple[float, float]:
    shared = sum(m.baseline_cents for m in ms) * 7 // 10
    once = np.array([shared // 3, shared // 10, shared // 20] + [0] * (years - 3), float)
    ramp = np.array([0.4, 0.7, 0.9] + [1.0] * (years - 3))
    share = np.zeros(len(ms))
    for basis, pct in BLEND.items():
        v = np.array([float(m.drivers[basis] or 0) for m in ms])
        share += pct / 100 * v / v.sum()
    charge = np.round(shared * share)
    total = np.zeros(years)
    for m, s, c in zip(ms, share, charge, strict=True):
        flows = np.round((m.baseline_cents - m.direct_cents - c) * ramp) - np.round(once * s)
        npf.npv(0.07, np.concatenate([[0.0], flows]))
        npf.irr(flows)
        total += flows
    return float(npf.npv(0.07, np.concatenate([[0.0], total]))), float(npf.irr(total))


def timed(fn: Any, *args: Any) -> float:
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    rng = random.Random(20261205)
    cases = {"typical (5 members x 10 years)": (members(5, rng), 10),
             "big (200 members x 50 years)": (members(200, rng), 50)}
    out: dict[str, Any] = {"cases": {}}
    for name, (ms, years) in cases.items():
        r = exact(ms, years)  # warm, and check the two agree
        ref_npv, ref_irr = reference(ms, years)
        assert sum(m.charge_cents for m in r.members) == r.shared_annual_cents
        ours, theirs = [], []
        for _ in range(args.repeats):  # alternating, so both see the same load
            ours.append(timed(exact, ms, years))
            theirs.append(timed(reference, ms, years))
        out["cases"][name] = {
            "exact_ms_median": statistics.median(ours) * 1000,
            "reference_ms_median": statistics.median(theirs) * 1000,
            "ratio": statistics.median(ours) / statistics.median(theirs),
            "npv_difference_cents": r.total.npv_cents - ref_npv,
            "irr_difference": None if r.total.irr is None or np.isnan(ref_irr)
            else r.total.irr - ref_irr}
    big = out["cases"]["big (200 members x 50 years)"]
    out["goals"] = {"big_within_500ms": big["exact_ms_median"] <= 500,
                    "ratio_within_3x": all(c["ratio"] <= 3 for c in out["cases"].values())}
    out["machine"] = {"python": platform.python_version(), "cores": os.cpu_count(),
                      "numpy_financial": metadata.version("numpy-financial"),
                      "load_average": os.getloadavg(),
                      "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    text = json.dumps(out, indent=2)
    print(text)
    if not args.no_write:
        (RESULTS / "casebook.json").write_text(text + "\n")


if __name__ == "__main__":
    main()
