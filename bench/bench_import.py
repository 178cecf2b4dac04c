"""Validated asset import vs the store's own raw bulk load of the same rows.

    .venv/bin/python bench/bench_import.py [--rows 1000000] [--backends sqlite,postgresql]

A seeded CSV of ``--rows`` assets (20 columns of the govshare preset, points inside Seattle)
is loaded into a fresh, migrated database holding the demo region, two ways:

- **raw**: the store's own bulk path with no checks at all: the rows as ``csv.reader`` gives
  them, with the jurisdiction and timestamps appended, into ``COPY assets FROM STDIN``
  (psycopg ``cursor.copy``) on PostgreSQL, or one ``executemany`` in one transaction on
  SQLite — the fastest way each store takes those rows;
- **import**: ``govshare.property.imports.import_assets`` — every cell checked, every point
  located in the region, duplicate ids, existing rows looked up, a status-history row per new
  asset, one audit row, all or nothing — committed. Without recording the assets' energy
  into carbon (``record_carbon=False``): that is carbon's import path, ``record_activity``,
  timed by bench_carbon.py (about 5,800 rows/s on SQLite, 3,900 on PostgreSQL there), which
  a product import of these rows adds (two activity rows per asset).

The table is emptied between the runs (TRUNCATE / DELETE + VACUUM). Reported: wall seconds,
rows per second, the ratio import/raw throughput (goal >= 0.3 on both backends), and the
peak growth of the process's resident set size (RSS, sampled every 50 ms from
/proc/self/statm) during each run. The run also measures the import at a tenth of the size,
so that flat memory shows as (nearly) equal peaks. Results: bench/results/import.json and
import.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from govshare.cli import demo  # noqa: E402
from govshare.core import migrate  # noqa: E402
from govshare.core.db import make_engine  # noqa: E402
from govshare.core.settings import Environment, Settings  # noqa: E402
from govshare.core.tenancy import system_principal  # noqa: E402
from govshare.property.import_export.importer import import_assets  # noqa: E402

PG_ADMIN = os.environ.get("GOVSHARE_TEST_PG_URL",
                          "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
COLUMNS = ["asset_code", "name", "kind", "use", "address", "city", "zip", "lon", "lat",
           "gross_floor_area_ft2", "year_built", "ownership", "annual_om_cost_cents",
           "annual_energy_cost_cents", "electricity_kwh", "natural_gas_therms", "status",
           "energy_year", "capacity", "occupancy"]
USES = ["office", "school", "library", "warehouse", "community_center", "fire_station",
        "other"]
PAGE = os.sysconf("SC_PAGE_SIZE")


def make_csv(path: Path, n: int, seed: int = 42) -> None:
    rnd = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        for i in range(n):
            capacity = rnd.randint(10, 500)
            w.writerow([
                f"B-{i:07d}", f"Building {i}", "building", USES[i % len(USES)],
                f"{rnd.randint(1, 9999)} {rnd.choice(['Main', 'Pine', 'Oak'])} St", "Seattle",
                rnd.choice(["98101", "98104", "98109", "98122", "98134"]),
                f"{-122.36 + rnd.random() * 0.07:.5f}", f"{47.56 + rnd.random() * 0.1:.5f}",
                rnd.randint(1_000, 200_000), rnd.randint(1900, 2020), "owned",
                rnd.randint(10_000, 10**8), rnd.randint(10_000, 10**7),
                f"{rnd.random() * 1e6:.1f}", f"{rnd.random() * 1e4:.1f}", "in_use", 2016,
                capacity, rnd.randint(0, capacity)])


# ------------------------------------------------------------------------------ memory


def rss() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * PAGE


@contextmanager
def peak_rss() -> Iterator[dict[str, int]]:
    """Peak RSS growth over the block, sampled every 50 ms by a thread."""
    out = {"base": rss(), "peak": rss()}
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            out["peak"] = max(out["peak"], rss())

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    try:
        yield out
    finally:
        done.set()
        t.join()
        out["peak"] = max(out["peak"], rss())
        out["growth"] = out["peak"] - out["base"]


# ------------------------------------------------------------------------------ databases


def fresh_db(backend: str, tmp: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp / 'bench_import.db'}"
    admin = make_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text('DROP DATABASE IF EXISTS "govshare_bench_import" WITH (FORCE)'))
        c.execute(sa.text('CREATE DATABASE "govshare_bench_import"'))
    admin.dispose()
    return PG_ADMIN.rsplit("/", 1)[0] + "/govshare_bench_import"


def drop_db(backend: str) -> None:
    if backend == "postgresql":
        admin = make_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(sa.text('DROP DATABASE IF EXISTS "govshare_bench_import" WITH (FORCE)'))
        admin.dispose()


def setup(url: str, tmp: Path) -> tuple[sa.Engine, int]:
    engine = make_engine(url)
    migrate.upgrade(engine)
    settings = Settings(env=Environment.test, database_url=url, data_dir=tmp,
                        secret_key="b" * 40, us_atlas_dir=ROOT / "web/node_modules/us-atlas")
    with Session(engine, expire_on_commit=False) as session:
        demo._build(session, settings, lambda _m: None)
        session.commit()
    with engine.connect() as c:
        jid = c.execute(sa.text("SELECT id FROM jurisdictions WHERE name = 'Port of Seattle'")
                        ).scalar_one()
    return engine, jid


def empty(engine: sa.Engine, jid: int) -> None:
    if engine.dialect.name == "postgresql":
        # Fresh statistics first: a million rows just loaded may still be "empty" to the
        # planner, and the foreign keys' cascade plans (one lookup per deleted asset in
        # asset_status_changes, proposals and fleet_vehicles) then scan instead of using
        # their indexes: a DELETE that ran for over 8 minutes on 2026-12-05.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            for table in ("assets", "asset_status_changes", "proposals", "fleet_vehicles"):
                c.execute(sa.text(f"ANALYZE {table}"))
    with engine.begin() as c:
        c.execute(sa.text("DELETE FROM asset_status_changes WHERE asset_id IN "
                          "(SELECT id FROM assets WHERE jurisdiction_id = :j)"), {"j": jid})
        c.execute(sa.text("DELETE FROM assets WHERE jurisdiction_id = :j"), {"j": jid})
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(sa.text("VACUUM ANALYZE assets"))
            c.execute(sa.text("VACUUM ANALYZE asset_status_changes"))
    else:
        raw = engine.raw_connection()  # outside SQLAlchemy's BEGIN: VACUUM needs autocommit
        try:
            raw.driver_connection.execute("VACUUM")  # type: ignore[union-attr]
        finally:
            raw.close()


# ------------------------------------------------------------------------------ the runs


def raw_load(engine: sa.Engine, jid: int, path: Path) -> int:
    now = datetime.now(UTC)
    cols = [*COLUMNS, "jurisdiction_id", "public_groups", "synthetic_fields", "created_at",
            "updated_at"]
    raw = engine.raw_connection()
    n = 0
    try:
        cur = raw.cursor()
        with path.open(newline="", encoding="utf-8") as fh:
            rows = csv.reader(fh)
            next(rows)
            if engine.dialect.name == "postgresql":
                extra = [jid, '["identity"]', "[]", now, now]
                with cur.copy(f"COPY assets ({', '.join(cols)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row([v or None for v in row] + extra)
                        n += 1
            else:
                stamp = now.strftime("%Y-%m-%d %H:%M:%S.%f")
                extra = [jid, '["identity"]', "[]", stamp, stamp]
                marks = ", ".join("?" for _ in cols)

                def gen() -> Iterator[list[Any]]:
                    nonlocal n
                    for row in rows:
                        n += 1
                        yield [v or None for v in row] + extra
                cur.execute("BEGIN")
                cur.executemany(f"INSERT INTO assets ({', '.join(cols)}) VALUES ({marks})",
                                gen())
        raw.commit()
    finally:
        raw.close()
    return n


def validated_import(engine: sa.Engine, jid: int, path: Path) -> int:
    with Session(engine) as session:
        result = import_assets(session=session, actor=system_principal("bench"),
                               jurisdiction_id=jid, source=path, record_carbon=False)
        session.commit()
    assert result.added == result.rows
    return result.rows


def timed(fn: Callable[[], int]) -> dict[str, Any]:
    with peak_rss() as mem:
        t0, c0 = time.perf_counter(), time.process_time()
        rows = fn()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"rows": rows, "seconds": round(wall, 2), "cpu_seconds": round(cpu, 2),
            "rows_per_s": round(rows / wall), "peak_rss_growth_mb": round(mem["growth"] / 1e6, 1)}


def run_backend(backend: str, big: Path, small: Path, tmp: Path, repeats: int
                ) -> dict[str, Any]:
    """First an import of the small file (RSS growth from the fresh process), then raw and
    import of the big file alternating ``repeats`` times, so that load on a shared machine
    hits both alike. The best run of each is reported, every run is kept. RSS only grows
    (the allocator keeps what it freed), so a big import's growth is what it needed *beyond*
    the small one: about zero when memory is flat."""
    url = fresh_db(backend, tmp)
    try:
        engine, jid = setup(url, tmp)
        out: dict[str, Any] = {}
        out["import_small"] = timed(lambda: validated_import(engine, jid, small))
        print(f"[{backend}]   small: {out['import_small']}", flush=True)
        empty(engine, jid)
        runs: dict[str, list[dict[str, Any]]] = {"raw": [], "import": []}
        for i in range(repeats):
            for kind, fn in (("raw", raw_load), ("import", validated_import)):
                print(f"[{backend}] {kind} #{i + 1} ...", flush=True)
                runs[kind].append(timed(lambda fn=fn: fn(engine, jid, big)))  # type: ignore[misc]
                print(f"[{backend}]   {runs[kind][-1]}", flush=True)
                empty(engine, jid)
        for kind, kind_runs in runs.items():
            best = dict(min(kind_runs, key=lambda r: r["seconds"]))
            best["peak_rss_growth_mb"] = max(r["peak_rss_growth_mb"] for r in kind_runs)
            out[kind] = best
        out["runs"] = runs
        out["ratio"] = round(out["import"]["rows_per_s"] / out["raw"]["rows_per_s"], 3)
        upper = len(runs["raw"]) // 2
        out["ratio_of_medians"] = round(
            sorted(r["seconds"] for r in runs["raw"])[upper]
            / sorted(r["seconds"] for r in runs["import"])[upper], 3)
        engine.dispose()
        return out
    finally:
        drop_db(backend)


def markdown(res: dict[str, Any]) -> str:
    lines = [
        "# Asset import benchmark", "",
        f"`bench/bench_import.py`, {res['rows']:,} rows (20 columns), run {res['when']} on "
        f"{res['machine']}.", "",
        f"Best of {res['repeats']} alternating runs each; load average "
        f"{res['load_average_before'][0]:.1f} before, {res['load_average_after'][0]:.1f} after "
        "(a shared 2-core machine: other work ran at the same time).", "",
        "| backend | raw bulk load | validated import | import / raw (best) | (upper medians) "
        "| peak RSS growth: import at 1/10 size (first) | import | raw |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for b, r in res["backends"].items():
        lines.append(
            f"| {b} | {r['raw']['seconds']} s ({r['raw']['rows_per_s']:,}/s) | "
            f"{r['import']['seconds']} s ({r['import']['rows_per_s']:,}/s) | "
            f"**{r['ratio']}** | {r['ratio_of_medians']} | "
            f"{r['import_small']['peak_rss_growth_mb']} MB | "
            f"+{r['import']['peak_rss_growth_mb']} MB | +{r['raw']['peak_rss_growth_mb']} MB |")
    lines += ["", res["notes"], ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--repeats", type=int, default=2, help="alternating runs of each")
    ap.add_argument("--no-write", action="store_true", help="print, do not write results")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        big, small = tmp / "assets.csv", tmp / "assets_small.csv"
        make_csv(big, args.rows)
        make_csv(small, max(1, args.rows // 10), seed=43)
        results: dict[str, Any] = {
            "rows": args.rows, "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python "
                       f"{platform.python_version()}",
            "file_mb": round(big.stat().st_size / 1e6, 1), "repeats": args.repeats,
            "load_average_before": os.getloadavg(), "backends": {},
            "notes": (
                "Raw = the rows straight from csv.reader into COPY (PostgreSQL) or one "
                "executemany (SQLite), no checks. Import = every cell checked, points located, "
                "ids de-duplicated and looked up, a status-history row per asset (as many "
                "rows again), one audit row, all or nothing. Memory is the peak growth of "
                "the resident set (RSS, sampled every 50 ms) over a run: first the import at "
                "1/10 of the rows from a fresh process, then what the full-size runs needed "
                "beyond it. The import keeps one batch in memory and spills its duplicate-id "
                "check to disk, so ten times the rows need (about) nothing more."),
        }
        for backend in args.backends.split(","):
            results["backends"][backend] = run_backend(backend, big, small, tmp, args.repeats)
        results["load_average_after"] = os.getloadavg()
    print(json.dumps(results, indent=1))
    if not args.no_write:
        out = ROOT / "bench" / "results"
        out.mkdir(parents=True, exist_ok=True)
        (out / "import.json").write_text(json.dumps(results, indent=1) + "\n")
        (out / "import.md").write_text(markdown(results))


if __name__ == "__main__":
    main()
