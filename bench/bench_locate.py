"""Benchmark: point -> jurisdictions for 1,000,000 random points over the United States.

Polygons: all 3,231 U.S. counties of us-atlas ``counties-10m.json`` plus the demo region's own
layers (State of Washington, King County, Seattle city limits, Seattle Public Schools = the
city, Port of Seattle = the county), prepared exactly as the product stores them: decoded from
TopoJSON, checked by ``validate_boundary`` (Census shapes through ``accept_census_geometry``,
which repairs quantization slivers and refuses Falls Church city, VA, 51610, whose ring has no
area at this scale), written as GeoJSON text and read back with ``shape``.

Points: seeded uniform random in the U.S. bounding box lon -125..-66.9, lat 24.4..49.4.

Compared in the same run, on the same polygons and points, each from the same lon/lat arrays
to (point position, polygon id) pairs:

  (a) govshare  ``govshare.geo.calc.PointIndex.locate_many`` (what the product uses)
  (b) sjoin     ``geopandas.sjoin(points_gdf, polygons_gdf, predicate="intersects")``
  (c) strtree   ``shapely.STRtree(polys).query(points, predicate="intersects")``, bare

All three must give the same set of pairs, or the script fails. Timings: each method runs
``--repeats`` times, interleaved, and the best and median wall-clock times are kept, plus the
best CPU time (``time.process_time``; all three are single-threaded). The machine may be shared:
the best run is the least disturbed one, and CPU time is the figure least moved by other
processes. Index build is timed apart: construction, then a first query with one point inside
each polygon (GEOS builds a prepared polygon's edge index on first use).

Memory: each method runs once more in a forked child process, which reports its peak resident
set growth (Linux ``VmHWM`` minus ``VmRSS`` at the start of the run) and the peak of
Python-tracked allocations (``tracemalloc``, which sees numpy and pandas buffers but not GEOS's
own C++ allocations, such as the point geometries).

Writes ``bench/results/locate.json`` and this benchmark's section of
``bench/results/README.md``. Run: ``make bench`` or ``.venv/bin/python bench/bench_locate.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import datetime as dt
import json
import multiprocessing as mp
import os
import platform
import resource
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import mapping, shape

from govshare.geo.calc import (
    BoundaryError,
    PointIndex,
    accept_census_geometry,
    decode_topojson,
    validate_boundary,
)

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
US_ATLAS = Path(os.environ.get("GOVSHARE_US_ATLAS_DIR", ROOT / "web" / "node_modules" /
                               "us-atlas"))
BBOX = (-125.0, 24.4, -66.9, 49.4)
SECTION_START = "<!-- bench_locate:start -->"
SECTION_END = "<!-- bench_locate:end -->"

Pairs = tuple[np.ndarray, np.ndarray]


# ------------------------------------------------------------------------------ data


def stored(geom: Any) -> Any:
    """The product keeps a boundary as GeoJSON text and rebuilds it with ``shape``."""
    return shape(json.loads(json.dumps(mapping(geom), separators=(",", ":"))))


def load_polygons() -> tuple[list[tuple[int, str, Any]], list[str]]:
    """(id, name, geometry) for every county and the five demo layers; plus what was skipped.

    Counties keep their FIPS code as id (1001..78153); the demo layers get ids 1..5.
    """
    counties = decode_topojson(json.loads((US_ATLAS / "counties-10m.json").read_text()),
                               "counties")
    states = decode_topojson(json.loads((US_ATLAS / "states-10m.json").read_text()), "states")
    out: list[tuple[int, str, Any]] = []
    skipped: list[str] = []
    for fid, feat in counties.items():
        try:
            out.append((int(fid), f"{feat.name} ({fid})",
                        stored(accept_census_geometry(feat.geometry).geometry)))
        except BoundaryError as exc:
            skipped.append(f"county {fid} ({feat.name}): {exc}")
    washington = stored(accept_census_geometry(states["53"].geometry).geometry)
    king = stored(accept_census_geometry(counties["53033"].geometry).geometry)
    limits = json.loads(resources.files("govshare.geo").joinpath(
        "data/seattle_city_limits.geojson").read_text())
    seattle = stored(validate_boundary(limits, repair=True).geometry)
    out += [(1, "State of Washington", washington), (2, "King County (demo)", king),
            (3, "City of Seattle", seattle),
            (4, "Seattle Public Schools (= city)", stored(seattle)),
            (5, "Port of Seattle (= county)", stored(king))]
    return out, skipped


def copies(geoms: list[Any]) -> np.ndarray:
    """Fresh, unprepared geometry objects, so no method benefits from another's preparation."""
    return shapely.from_wkb(shapely.to_wkb(np.array(geoms, dtype=object)))  # type: ignore[no-any-return]


# ------------------------------------------------------------------------------ the methods


class Methods:
    def __init__(self, polygons: list[tuple[int, str, Any]]) -> None:
        self.ids = np.array([i for i, _, _ in polygons], dtype=np.int64)
        geoms = [g for _, _, g in polygons]
        self.build: dict[str, float] = {}

        t = time.perf_counter()
        self.index = PointIndex((i, g) for i, (_, _, g) in zip(self.ids, polygons, strict=True))
        self.build["govshare"] = time.perf_counter() - t

        gdf_geoms = copies(geoms)
        t = time.perf_counter()
        self.polys_gdf = gpd.GeoDataFrame({"poly_id": self.ids}, geometry=gdf_geoms,
                                          crs="EPSG:4326")
        _ = self.polys_gdf.sindex  # built lazily otherwise, inside the first sjoin
        self.build["sjoin"] = time.perf_counter() - t

        tree_geoms = copies(geoms)
        t = time.perf_counter()
        self.tree = shapely.STRtree(tree_geoms)
        self.build["strtree"] = time.perf_counter() - t

    def govshare(self, lons: np.ndarray, lats: np.ndarray) -> Pairs:
        return self.index.locate_many(lons, lats)

    def sjoin(self, lons: np.ndarray, lats: np.ndarray) -> Pairs:
        points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lons, lats), crs="EPSG:4326")
        joined = gpd.sjoin(points, self.polys_gdf, how="inner", predicate="intersects")
        return joined.index.to_numpy(), joined["poly_id"].to_numpy()

    def strtree(self, lons: np.ndarray, lats: np.ndarray) -> Pairs:
        point_idx, poly_idx = self.tree.query(shapely.points(lons, lats), predicate="intersects")
        return point_idx, self.ids[poly_idx]

    def all(self) -> dict[str, Callable[[np.ndarray, np.ndarray], Pairs]]:
        return {"govshare": self.govshare, "sjoin": self.sjoin, "strtree": self.strtree}


def pair_keys(pairs: Pairs) -> np.ndarray:
    """Each (point, polygon id) pair as one sortable int64, sorted: equal sets, equal arrays."""
    point_idx, poly_id = pairs
    keys = np.asarray(point_idx, dtype=np.int64) * 100_000 + np.asarray(poly_id, dtype=np.int64)
    return np.sort(keys)


# ------------------------------------------------------------------------------ memory


def _rss_kib(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def _memory_child(methods: Methods, name: str, lons: np.ndarray, lats: np.ndarray,
                  queue: Any) -> None:
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)  # start from a trimmed heap
    with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
        fh.write("5")  # reset VmHWM (the peak) to the current RSS
    start = _rss_kib("VmRSS")
    tracemalloc.start()
    pairs = methods.all()[name](lons, lats)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    queue.put({"peak_rss_growth_mib": (_rss_kib("VmHWM") - start) / 1024,
               "tracemalloc_peak_mib": traced_peak / 2**20, "pairs": len(pairs[0])})


def measure_memory(methods: Methods, name: str, lons: np.ndarray, lats: np.ndarray
                   ) -> dict[str, float]:
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_memory_child, args=(methods, name, lons, lats, queue))
    child.start()
    result: dict[str, float] = queue.get(timeout=600)
    child.join()
    return result


# ------------------------------------------------------------------------------ run


def machine() -> dict[str, Any]:
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            model = next((ln.split(":", 1)[1].strip() for ln in fh
                          if ln.startswith("model name")), "")
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cpu": model or platform.processor(),
        "cores": os.cpu_count(),
        "memory_gib": round(mem_gib, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "shapely": shapely.__version__,
        "geos": shapely.geos_version_string,
        "geopandas": gpd.__version__,
        "numpy": np.__version__,
        "pandas": metadata.version("pandas"),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def run(n_points: int, repeats: int, seed: int) -> dict[str, Any]:
    info = machine()
    print(f"machine: {info['cores']} cores, Python {info['python']}, shapely "
          f"{info['shapely']} (GEOS {info['geos']}), geopandas {info['geopandas']}; "
          f"load {info['load_average_at_start']}", flush=True)
    t = time.perf_counter()
    polygons, skipped = load_polygons()
    prep_s = time.perf_counter() - t
    print(f"{len(polygons)} polygons prepared as the product stores them in {prep_s:.1f} s; "
          f"skipped: {skipped}", flush=True)

    methods = Methods(polygons)
    for name, secs in methods.build.items():
        print(f"index build {name}: {secs * 1000:.0f} ms", flush=True)

    rng = np.random.default_rng(seed)
    lons = rng.uniform(BBOX[0], BBOX[2], n_points)
    lats = rng.uniform(BBOX[1], BBOX[3], n_points)

    # The first query of a prepared polygon builds its edge index; time that warm-up apart,
    # with one point inside each polygon.
    reps = shapely.get_coordinates(shapely.point_on_surface(methods.index.geoms))
    first_query: dict[str, float] = {}
    for name, fn in methods.all().items():
        t = time.perf_counter()
        fn(reps[:, 0], reps[:, 1])
        first_query[name] = time.perf_counter() - t

    # Correctness first: the three agree on every (point, polygon) pair.
    results = {name: fn(lons, lats) for name, fn in methods.all().items()}
    reference = pair_keys(results["strtree"])
    for name, pairs in results.items():
        keys = pair_keys(pairs)
        if not np.array_equal(keys, reference):
            sys.exit(f"{name} disagrees with the bare STRtree: {len(keys)} pairs vs "
                     f"{len(reference)}")
    points_hit = len(np.unique(results["govshare"][0]))
    print(f"all three agree: {len(reference):,} pairs; {points_hit:,} of {n_points:,} points "
          "fall in at least one polygon", flush=True)
    del results

    # Throughput: interleaved rounds, best and median per method, wall clock and CPU time.
    times: dict[str, list[float]] = {name: [] for name in methods.all()}
    cpu: dict[str, list[float]] = {name: [] for name in methods.all()}
    for r in range(repeats):
        for name, fn in methods.all().items():
            t, c = time.perf_counter(), time.process_time()
            fn(lons, lats)
            times[name].append(time.perf_counter() - t)
            cpu[name].append(time.process_time() - c)
        print(f"round {r + 1}: " + ", ".join(
            f"{k} {v[-1]:.2f} s (cpu {cpu[k][-1]:.2f} s)" for k, v in times.items()), flush=True)

    # Scalar lookups, one point at a time (the API's case): govshare vs a bare tree query.
    # CPU time, best of three interleaved rounds, per call.
    xs, ys = lons[:5_000].tolist(), lats[:5_000].tolist()
    scalar: dict[str, list[float]] = {"govshare": [], "strtree": []}
    for _ in range(3):
        c = time.process_time()
        for x, y in zip(xs, ys, strict=True):
            methods.index.locate(x, y)
        scalar["govshare"].append((time.process_time() - c) / len(xs))
        c = time.process_time()
        for x, y in zip(xs, ys, strict=True):
            methods.tree.query(shapely.Point(x, y), predicate="intersects")
        scalar["strtree"].append((time.process_time() - c) / len(xs))
    scalar_gov, scalar_bare = min(scalar["govshare"]), min(scalar["strtree"])

    memory = {name: measure_memory(methods, name, lons, lats) for name in methods.all()}

    per_method = {}
    for name, ts in times.items():
        best, median = min(ts), statistics.median(ts)
        per_method[name] = {
            "best_s": round(best, 4), "median_s": round(median, 4),
            "runs_s": [round(x, 4) for x in ts],
            "cpu_runs_s": [round(x, 4) for x in cpu[name]],
            "points_per_s_best": round(n_points / best),
            "points_per_s_median": round(n_points / median),
            "points_per_cpu_s_best": round(n_points / min(cpu[name])),
            "index_build_ms": round(methods.build[name] * 1000, 1),
            "first_query_ms": round(first_query[name] * 1000, 1),
            "peak_rss_growth_mib": round(memory[name]["peak_rss_growth_mib"], 1),
            "tracemalloc_peak_mib": round(memory[name]["tracemalloc_peak_mib"], 1),
        }
    g = per_method["govshare"]
    ratios = {
        "govshare_vs_sjoin_best": round(g["points_per_s_best"]
                                        / per_method["sjoin"]["points_per_s_best"], 2),
        "govshare_vs_sjoin_median": round(g["points_per_s_median"]
                                          / per_method["sjoin"]["points_per_s_median"], 2),
        "govshare_vs_strtree_best": round(g["points_per_s_best"]
                                          / per_method["strtree"]["points_per_s_best"], 2),
        "govshare_vs_strtree_median": round(g["points_per_s_median"]
                                            / per_method["strtree"]["points_per_s_median"], 2),
        "govshare_vs_sjoin_cpu": round(g["points_per_cpu_s_best"]
                                       / per_method["sjoin"]["points_per_cpu_s_best"], 2),
        "govshare_vs_strtree_cpu": round(g["points_per_cpu_s_best"]
                                         / per_method["strtree"]["points_per_cpu_s_best"], 2),
    }
    info["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return {
        "benchmark": "point -> jurisdictions (bench/bench_locate.py)",
        "machine": info,
        "setup": {
            "points": n_points, "seed": seed, "bbox_lon_lat": BBOX, "repeats": repeats,
            "polygons": len(polygons), "skipped": skipped,
            "polygon_prep_s": round(prep_s, 2),
            "pairs": int(len(reference)), "points_in_some_polygon": int(points_hit),
            "govshare_chunk": PointIndex.CHUNK,
        },
        "methods": per_method,
        "ratios": ratios,
        "goals": {"govshare_vs_sjoin": 1.0, "govshare_vs_strtree": 0.8},
        "scalar_locate_us": {"govshare": round(scalar_gov * 1e6, 1),
                             "strtree": round(scalar_bare * 1e6, 1)},
        "process_max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                                     1),
        "memory_method": ("peak RSS growth: forked child per method, Linux VmHWM minus VmRSS at "
                          "the start of the run (after malloc_trim and a VmHWM reset); "
                          "tracemalloc: Python-tracked allocations only (numpy/pandas buffers, "
                          "not GEOS geometries)"),
    }


# ------------------------------------------------------------------------------ report


def markdown(res: dict[str, Any]) -> str:
    m, s, r = res["machine"], res["setup"], res["ratios"]
    label = {"govshare": "(a) govshare `PointIndex.locate_many`",
             "sjoin": "(b) `geopandas.sjoin(..., predicate=\"intersects\")`",
             "strtree": "(c) bare `shapely.STRtree.query(points, predicate=\"intersects\")`"}
    rows = []
    for name, v in res["methods"].items():
        rows.append(f"| {label[name]} | {v['points_per_s_best']:,} | "
                    f"{v['points_per_s_median']:,} | {v['points_per_cpu_s_best']:,} | "
                    f"{v['best_s']:.2f} | {v['index_build_ms']:,.0f} + "
                    f"{v['first_query_ms']:,.0f} | {v['peak_rss_growth_mib']:,.0f} | "
                    f"{v['tracemalloc_peak_mib']:,.0f} |")

    def verdict(x: float, goal: float) -> str:
        return f"{x:.2f}x (goal >= {goal}x: {'met' if x >= goal else 'NOT met'})"

    return "\n".join([
        SECTION_START,
        "## Point -> jurisdictions (`bench/bench_locate.py`)",
        "",
        f"{s['points']:,} seeded random points (seed {s['seed']}) in lon {BBOX[0]}..{BBOX[2]}, "
        f"lat {BBOX[1]}..{BBOX[3]}, against {s['polygons']:,} polygons: the U.S. counties of "
        "us-atlas `counties-10m.json` plus the demo region's layers (Washington, King County, "
        "Seattle city limits, school district = city, port = county), prepared as the product "
        "stores them. Skipped: " + ("; ".join(s["skipped"]) or "none") + ".",
        f"All three methods returned the same {s['pairs']:,} (point, polygon) pairs "
        f"({s['points_in_some_polygon']:,} points fall in at least one polygon).",
        "",
        "| method | points/s (best) | points/s (median) | points per CPU-s (best) "
        "| best time (s) | index build + first query (ms) | peak RSS growth (MiB) "
        "| tracemalloc peak (MiB) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
        f"- govshare / sjoin: {verdict(r['govshare_vs_sjoin_best'], 1.0)} on best runs, "
        f"{r['govshare_vs_sjoin_median']:.2f}x on medians, {r['govshare_vs_sjoin_cpu']:.2f}x "
        "in CPU time.",
        f"- govshare / bare STRtree: {verdict(r['govshare_vs_strtree_best'], 0.8)} on best runs, "
        f"{r['govshare_vs_strtree_median']:.2f}x on medians, "
        f"{r['govshare_vs_strtree_cpu']:.2f}x in CPU time.",
        "- Index build: construction, then the first query (one point in each polygon), which "
        "is when GEOS builds a prepared polygon's edge index.",
        f"- One point at a time (the API's case), CPU time per call: govshare `locate` "
        f"{res['scalar_locate_us']['govshare']} µs, bare tree query "
        f"{res['scalar_locate_us']['strtree']} µs.",
        f"- Boundary preparation (decode TopoJSON, validate/repair, GeoJSON round trip): "
        f"{s['polygon_prep_s']} s. Timings: {s['repeats']} interleaved rounds per method.",
        f"- Memory: {res['memory_method']}. Whole-process max RSS (`ru_maxrss`): "
        f"{res['process_max_rss_mib']:,} MiB.",
        f"- Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB; {m['os']}; "
        f"Python {m['python']}, shapely {m['shapely']} (GEOS {m['geos']}), geopandas "
        f"{m['geopandas']}, numpy {m['numpy']}, pandas {m['pandas']}; {m['date']}. "
        f"Load average {m['load_average_at_start']} at start, {m['load_average_at_end']} at "
        "end (a shared machine: compare ratios, not absolute numbers).",
        "",
        "Raw numbers: [`locate.json`](locate.json).",
        SECTION_END,
    ])


def write(res: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "locate.json").write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
    readme = out / "README.md"
    text = readme.read_text(encoding="utf-8") if readme.exists() else (
        "# Benchmark results\n\nWritten by the scripts in `bench/` (`make bench`); each "
        "benchmark owns one section, between its own markers, and rewrites only that.\n")
    section = markdown(res)
    if SECTION_START in text and SECTION_END in text:
        head, rest = text.split(SECTION_START, 1)
        tail = rest.split(SECTION_END, 1)[1]
        text = head + section + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    readme.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20_240_611)
    parser.add_argument("--out", type=Path, default=RESULTS,
                        help="results folder (default bench/results)")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    started = time.perf_counter()
    res = run(args.points, args.repeats, args.seed)
    res["setup"]["wall_s"] = round(time.perf_counter() - started, 1)
    print(json.dumps({"methods": res["methods"], "ratios": res["ratios"],
                      "scalar_locate_us": res["scalar_locate_us"]}, indent=2))
    if not args.no_write:
        write(res, args.out)
        print(f"wrote {args.out / 'locate.json'} and {args.out / 'README.md'}")


if __name__ == "__main__":
    main()
