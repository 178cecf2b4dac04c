"""Charts (core.charts): what a chart costs the web process, against vl-convert called in it.

govshare draws each chart in a child process (vl-convert holds the GIL for a whole
conversion) and cleans the SVG it gets back; this measures what that costs and what it
saves. Three chart kinds of the sizes pages draw: a bar chart of 12 members, a line chart of
3 series x 30 years, a scatter of 500 sites with a highlighted frontier.

- first chart in a fresh process: govshare starts the child and its V8; direct starts V8;
- per chart, warm, every one new (no cache hit): median wall time per kind;
- a chart seen again (cache hit), and ``clean_svg`` alone;
- what the web process's other threads feel: while a thread draws 20 charts, the main thread
  counts in a loop; the share of the time it is blocked (neither running nor waiting for a
  CPU, from Linux's per-thread schedstat) is the time the GIL was held elsewhere.

First charts: each in a fresh Python process, variants alternating, three each. The rest: both
variants in one process, alternating chart by chart (so both see the same load on a shared
machine). Goals: per chart (median over the kinds) within 1.5x of direct vl-convert, and
another thread blocked less than 10% of the time charts are drawn.

Usage: .venv/bin/python bench/bench_charts.py [--repeats 30] [--no-write]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
RESULTS = ROOT / "bench" / "results"
FONTS = ROOT / "src/govshare/web/static/vendor/uswds/fonts/source-sans-pro"
KINDS = ("bar", "line", "scatter")


def build(kind: str, i: int) -> Any:
    """The i-th chart of a kind (each one different, so no cache hit)."""
    from govshare.core import charts
    from govshare.core.charts import Field

    if kind == "bar":
        rows = [{"m": f"Member {j} of the region", "v": 1_000_000.0 * (j + 1) + i}
                for j in range(12)]
        return charts.bar(rows, id=f"b{i}", title="Cost", category=Field("m", "Member", "text"),
                          value=Field("v", "Cost", "usd"))
    if kind == "line":
        rows = [{"y": 2000 + y, "s": s, "v": 1000.0 + 37 * y * (k + 1) + i}
                for k, s in enumerate(("Actual", "Plan", "Target")) for y in range(30)]
        return charts.line(rows, id=f"l{i}", title="Trend", x=Field("y", "Year", "year"),
                           y=Field("v", "Emissions", unit="t"), series=Field("s", "S", "text"),
                           dashed=["Target"])
    rows = [{"n": f"Site {j}", "c": 1000.0 * ((j * 7919) % 500) + i,
             "e": float((j * 104729) % 997), "f": j % 50 == 0} for j in range(500)]
    return charts.scatter(rows, id=f"s{i}", title="Sites", x=Field("c", "Cost", "usd"),
                          y=Field("e", "Emissions", unit="t"), label=Field("n", "Site", "text"),
                          highlight=Field("f", "Frontier", "flag"), connect=True)


def spec_json(kind: str, i: int) -> str:
    """The spec govshare would draw, for the direct variant (built without drawing)."""
    from govshare.core import charts

    saved = charts.MAX_POINTS
    charts.MAX_POINTS = -1  # build the spec only: the chart is refused before drawing
    try:
        chart = build(kind, i)
    finally:
        charts.MAX_POINTS = saved
    return json.dumps(chart.spec, sort_keys=True, separators=(",", ":"))


def _schedstat() -> tuple[int, int]:
    """This thread's nanoseconds on a CPU and waiting in a run queue (Linux schedstat)."""
    with open(f"/proc/self/task/{threading.get_native_id()}/schedstat") as f:
        on_cpu, waiting, _ = (int(x) for x in f.read().split())
    return on_cpu, waiting


def pauses(draw: Any, n: int) -> dict[str, float]:
    """What the main thread feels while another thread draws n charts. It counts in a loop,
    so it is always either running, waiting for a CPU (the machine is busy), or blocked: on a
    shared machine only the last is the GIL's doing (wall - on CPU - waiting for a CPU)."""
    done = threading.Event()

    def work() -> None:
        for i in range(n):
            draw(i)
        done.set()

    thread = threading.Thread(target=work)
    cpu0, wait0 = _schedstat()
    start = last = time.perf_counter()
    longest = 0.0
    thread.start()
    while not done.is_set():
        now = time.perf_counter()
        longest = max(longest, now - last)
        last = now
    wall = time.perf_counter() - start
    cpu1, wait1 = _schedstat()
    thread.join()
    blocked = max(0.0, wall - (cpu1 - cpu0 + wait1 - wait0) / 1e9)
    return {"wall_ms": wall * 1000, "blocked_ms": blocked * 1000,
            "blocked_share": blocked / wall, "longest_gap_ms": longest * 1000}


def direct_draw() -> Any:
    import vl_convert

    vl_convert.register_font_directory(str(FONTS))

    def draw(spec: str) -> str:
        return str(vl_convert.vegalite_to_svg(spec, allowed_base_urls=[], format_locale="en-US",
                                              time_format_locale="en-US"))
    return draw


def first_chart(variant: str) -> dict[str, Any]:
    """A fresh process's first chart: govshare starts its child and V8, direct its V8."""
    if variant == "govshare":
        from govshare.core import charts

        charts.use_fonts(FONTS)
        t = time.perf_counter()
        assert build("bar", -1).svg is not None
    else:
        spec = spec_json("bar", -1)
        draw = direct_draw()
        t = time.perf_counter()
        draw(spec)
    return {"first_ms": (time.perf_counter() - t) * 1000}


def warm(repeats: int) -> dict[str, Any]:
    """Both variants in one process, alternating chart by chart, so that both see the same
    load on a shared machine."""
    from govshare.core import charts

    charts.use_fonts(FONTS)
    draw = direct_draw()
    specs = {k: [spec_json(k, i) for i in range(repeats)] for k in KINDS}
    build("bar", -1)
    draw(specs["bar"][0])
    gov: dict[str, Any] = {}
    direct: dict[str, Any] = {}
    for kind in KINDS:
        g_times, d_times = [], []
        for i in range(repeats):
            for variant in (("g", "d") if i % 2 == 0 else ("d", "g")):
                t = time.perf_counter()
                if variant == "g":
                    chart = build(kind, i)
                    g_times.append((time.perf_counter() - t) * 1000)
                else:
                    svg = draw(specs[kind][i])
                    d_times.append((time.perf_counter() - t) * 1000)
        assert chart.svg is not None, chart.note
        raw = charts._RENDERER.svg(json.dumps(chart.spec, sort_keys=True,
                                              separators=(",", ":")))
        t = time.process_time()
        for _ in range(10):
            charts.clean_svg(raw, "x")
        gov[kind] = {"median_ms": statistics.median(g_times), "min_ms": min(g_times),
                     "svg_kb": len(str(chart.svg)) / 1024, "raw_kb": len(raw) / 1024,
                     "clean_cpu_ms": (time.process_time() - t) * 100}
        direct[kind] = {"median_ms": statistics.median(d_times), "min_ms": min(d_times),
                        "svg_kb": len(svg) / 1024}
    t = time.perf_counter()
    for _ in range(100):
        build("bar", 0)
    gov["cache_hit_ms"] = (time.perf_counter() - t) * 10
    # What other threads feel, three rounds alternating; medians.
    rounds: dict[str, list[dict[str, float]]] = {"g": [], "d": []}
    for r in range(3):
        stall = [spec_json("line", 10_000 + 100 * r + i) for i in range(20)]
        rounds["g"].append(pauses(lambda i, r=r: build("line", 10_000 + 100 * r + i), 20))
        rounds["d"].append(pauses(lambda i, stall=stall: draw(stall[i]), 20))
    for out, key in ((gov, "g"), (direct, "d")):
        out["pause"] = {k: statistics.median(p[k] for p in rounds[key])
                        for k in rounds[key][0]}
        out["pause"]["rounds"] = rounds[key]
    return {"govshare": gov, "direct": direct}


def worker(variant: str, repeats: int) -> dict[str, Any]:
    return warm(repeats) if variant == "warm" else first_chart(variant)


def run_worker(variant: str, repeats: int) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", variant, "--repeats", str(repeats)],
        capture_output=True, text=True, check=True, cwd=ROOT)
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def markdown(res: dict[str, Any]) -> str:
    g, d = res["govshare"], res["direct"]
    rows = [f"| first chart in a fresh process (ms) | {g['first_ms']:.0f} | {d['first_ms']:.0f}"
            " | |"]
    for kind, label in (("bar", "bar, 12 members"), ("line", "line, 3 x 30 years"),
                        ("scatter", "scatter, 500 sites")):
        ratio = g[kind]["median_ms"] / d[kind]["median_ms"]
        rows.append(f"| {label}: per chart, median (ms) | {g[kind]['median_ms']:.1f} | "
                    f"{d[kind]['median_ms']:.1f} | {ratio:.2f}x |")
    rows += [
        f"| per chart, median over the kinds | | | **{res['ratio']:.2f}x** |",
        f"| while 20 charts are drawn: share of the time another thread is blocked (GIL) | "
        f"**{g['pause']['blocked_share']:.1%}** | {d['pause']['blocked_share']:.1%} | |",
        f"| ... blocked in all (ms) / drawing time (ms) | {g['pause']['blocked_ms']:.0f} / "
        f"{g['pause']['wall_ms']:.0f} | {d['pause']['blocked_ms']:.0f} / "
        f"{d['pause']['wall_ms']:.0f} | |",
        f"| ... its longest pause, any cause (ms) | {g['pause']['longest_gap_ms']:.0f} | "
        f"{d['pause']['longest_gap_ms']:.0f} | |",
        f"| a chart seen again: cache hit (ms) | {g['cache_hit_ms']:.2f} | | |",
    ]
    clean = ", ".join(f"{k} {g[k]['clean_cpu_ms']:.1f} ms ({g[k]['raw_kb']:.0f} kB in, "
                      f"{g[k]['svg_kb']:.0f} kB out)" for k in KINDS)
    m = res["machine"]
    ratio_met = "met" if res["ratio"] <= res["goal_ratio"] else "not met"
    pause_met = "met" if g["pause"]["blocked_share"] < res["goal_blocked"] else "not met"
    return f"""# Charts: what a chart costs the web process (`bench/bench_charts.py`)

{res['claim']}. Per chart: median of {res['repeats']} charts per kind, each one new (no cache
hit), both variants in one process, alternating; first chart: median of 3 fresh processes
each; pauses: median of 3 rounds.

| | govshare (`core.charts`) | vl-convert in the process | ratio |
|---|---:|---:|---:|
{chr(10).join(rows)}

Goals: per chart within {res['goal_ratio']}x of direct vl-convert: **{ratio_met}**; another
thread blocked less than {res['goal_blocked']:.0%} of the time charts are drawn: **{pause_met}**.

- vl-convert holds the GIL for a whole conversion: drawn in the web process, every other
  thread (the event loop included) stops for as long as a chart takes. In the child process
  the parent waits on a pipe with the GIL released; what is left is building the spec and
  cleaning the SVG. The longest pause "any cause" includes waiting for a CPU on this shared
  machine, which is why the blocked share, not it, is the measure.
- Cleaning (`clean_svg`: parse, allowlist, prefix ids, write anew), CPU time: {clean}.
- Machine: {m['cpu']}, {m['cores']} cores; Python {m['python']}, vl-convert-python
  {m['vl_convert']}; {m['when']}. Load average {m['load_start']} at start, {m['load_end']} at
  end (a shared machine: compare ratios, not absolute numbers).

Raw numbers: [`charts.json`](charts.json).
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worker", choices=["govshare", "direct", "warm"])
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.repeats)))
        return
    load_start = os.getloadavg()[0]
    firsts: dict[str, list[float]] = {"govshare": [], "direct": []}
    for r in range(3):
        for variant in (("govshare", "direct") if r % 2 == 0 else ("direct", "govshare")):
            firsts[variant].append(run_worker(variant, 1)["first_ms"])
    both = run_worker("warm", args.repeats)
    gov, direct = both["govshare"], both["direct"]
    for variant, out in (("govshare", gov), ("direct", direct)):
        out["first_ms"] = statistics.median(firsts[variant])
        out["first_runs_ms"] = firsts[variant]
    res: dict[str, Any] = {
        "benchmark": "charts", "repeats": args.repeats, "goal_ratio": 1.5,
        "goal_blocked": 0.1,
        "claim": "Bar, line and scatter charts drawn through govshare's `core.charts` (child "
                 "process, cleaning, cache) against `vl_convert.vegalite_to_svg` called in the "
                 "process, same specs and fonts",
        "govshare": gov, "direct": direct,
        "ratio": statistics.median(gov[k]["median_ms"] / direct[k]["median_ms"]
                                   for k in KINDS),
        "machine": {"cpu": platform.processor() or platform.machine(),
                    "cores": os.cpu_count(), "python": platform.python_version(),
                    "vl_convert": metadata.version("vl-convert-python"),
                    "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    "load_start": round(load_start, 1),
                    "load_end": round(os.getloadavg()[0], 1)},
    }
    text = markdown(res)
    print(text)
    if not args.no_write:
        (RESULTS / "charts.json").write_text(json.dumps(res, indent=2) + "\n")
        (RESULTS / "charts.md").write_text(text)


if __name__ == "__main__":
    main()
