"""Carbon: activity import and recomputing the regional inventory after a factor-set change.

    .venv/bin/python bench/bench_carbon.py [--rows 1000000] [--import-rows 100000]
                                           [--backends sqlite,postgresql]

Synthetic activity (seeded): 50 member jurisdictions, 10 years (2015-2024), monthly periods;
each asset is a building (electricity kWh + natural gas therms) or a vehicle (gasoline or
diesel gallons), spread over five eGRID subregions, a third of them buying from a utility with a
market-based factor. Measured on a fresh, migrated database holding the demo region:

(a) **import**: ``carbon.service.record_activity`` (every row validated, units converted,
    periods checked for overlap, the series replaced, pre-aggregated per source and per every
    key the factors depend on, one audit row) on ``--import-rows`` rows, against the store's
    raw bulk load of the same rows into a bare table (``COPY`` on PostgreSQL, one
    ``executemany`` on SQLite). Goal: import throughput >= 0.3x raw. Also the same rows
    bulk-loaded into ``carbon_activity_periods`` itself (key, index, foreign key, kept row by
    row; rolled back): what writing that table costs row by row. (A PostgreSQL load that big
    drops the foreign key and index and makes them again after: ``service._BulkLoad``.)
(b) **recompute**: ``--rows`` periods bulk-loaded (raw path, then the same set-based
    pre-aggregation the import ends with, timed apart), a factor set added, and the whole
    region's inventory (every member, year, sector and scope, location- and market-based, with
    the gaps query) recomputed under it through ``carbon.service.inventory``; against one
    hand-written DuckDB query computing the same totals from the raw rows in memory (the
    factors resolved per key beforehand, not timed). Goal: >= 1x DuckDB. The totals are
    checked equal.
(c) the same totals by a row-by-row Python loop over the raw rows (the factor reported).

Peak memory: growth of the resident set (RSS, sampled every 50 ms) over each run.
Results: bench/results/carbon.json and carbon.md.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import platform
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from govshare.carbon import service  # noqa: E402
from govshare.carbon.calc import KG_PER_LB  # noqa: E402
from govshare.carbon.schemas import FactorSetIn  # noqa: E402
from govshare.cli import demo  # noqa: E402
from govshare.core import migrate  # noqa: E402
from govshare.core.db import make_engine  # noqa: E402
from govshare.core.settings import Environment, Settings  # noqa: E402
from govshare.core.tenancy import system_principal  # noqa: E402
from govshare.regions import service as regions_service  # noqa: E402
from govshare.regions.schemas import JurisdictionCreate, JurisdictionKind  # noqa: E402

PG_ADMIN = os.environ.get("GOVSHARE_TEST_PG_URL",
                          "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
DB = "govshare_bench_carbon"
PAGE = os.sysconf("SC_PAGE_SIZE")
YEARS = list(range(2015, 2025))
ZIPS = {"98104": "NWPP", "10001": "NYCW", "60601": "RFCW", "94103": "CAMX", "77002": "ERCT"}
UTILITY = "seattle-city-light"
# activity, unit, sector
KINDS = {"building": (("electricity", "kWh"), ("natural_gas", "therm")),
         "gasoline": (("gasoline", "gal"),), "diesel": (("diesel", "gal"),)}
SECTOR = {"building": "buildings", "gasoline": "vehicle_fleet", "diesel": "vehicle_fleet"}
SCOPE = {"electricity": "2", "natural_gas": "1", "gasoline": "1", "diesel": "1"}
ALT_SET = ("activity,detail,basis,match_key,gas,value,unit,source_table,note\n"
           "natural_gas,,any,,CO2e,55.0,kg/mmbtu,bench,\n"
           "gasoline,,any,,CO2e,9.0,kg/gallon,bench,\n")


def rss() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * PAGE


@contextmanager
def peak_rss() -> Iterator[dict[str, int]]:
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


# ------------------------------------------------------------------------------ data

class Data:
    """Sources and their monthly periods as columns (numpy), seeded."""

    def __init__(self, rows: int, members: list[int], seed: int, prefix: str) -> None:
        rng = np.random.default_rng(seed)
        {"building": 2 * 12 * len(YEARS), "gasoline": 12 * len(YEARS),
                      "diesel": 12 * len(YEARS)}
        self.sources: list[dict[str, Any]] = []
        blocks_src: list[np.ndarray] = []
        blocks_act: list[np.ndarray] = []
        kinds = list(KINDS)
        months = 12 * len(YEARS)
        acts = ["electricity", "natural_gas", "gasoline", "diesel"]
        self.acts = acts
        n = 0
        i = 0
        while n < rows:
            kind = kinds[int(rng.integers(0, 3))] if i % 2 else "building"
            z = list(ZIPS)[int(rng.integers(0, len(ZIPS)))]
            self.sources.append({
                "key": f"{prefix}{i}", "jurisdiction_id": members[i % len(members)],
                "kind": kind, "sector": SECTOR[kind], "zip": z, "subregion": ZIPS[z],
                "utility": UTILITY if (kind == "building" and i % 3 == 0) else ""})
            for act, _unit in KINDS[kind]:
                blocks_src.append(np.full(months, i, dtype=np.int32))
                blocks_act.append(np.full(months, acts.index(act), dtype=np.int8))
                n += months
            i += 1
        self.src = np.concatenate(blocks_src)[:rows]
        self.act_code = np.concatenate(blocks_act)[:rows]
        self.n = len(self.src)
        units = {"electricity": "kWh", "natural_gas": "therm", "gasoline": "gal",
                 "diesel": "gal"}
        self.unit_of = [units[a] for a in acts]
        k = np.arange(self.n) % months
        self.year = np.array(YEARS, dtype=np.int64)[k // 12]
        self.month = (k % 12) + 1
        base = np.array([40_000.0, 1_500.0, 300.0, 300.0])[self.act_code]
        self.qty = np.round(base * rng.uniform(0.5, 1.5, self.n), 2)
        first = [date(y, m, 1) for y in YEARS for m in range(1, 13)]
        last = [date.fromordinal(date(y + (m == 12), m % 12 + 1, 1).toordinal() - 1)
                for y in YEARS for m in range(1, 13)]
        self._first, self._last = first, last
        self._k = k

    @property
    def act(self) -> list[str]:
        return [self.acts[c] for c in self.act_code.tolist()]

    def tuples(self) -> Iterator[tuple[int, str, str, date, date, int, float]]:
        """(source index, activity, unit, start, end, year, quantity) per period."""
        acts, units, first, last = self.acts, self.unit_of, self._first, self._last
        for s, a, k, y, q in zip(self.src.tolist(), self.act_code.tolist(), self._k.tolist(),
                                 self.year.tolist(), self.qty.tolist(), strict=True):
            yield s, acts[a], units[a], first[k], last[k], y, q

    def activity_rows(self) -> Iterator[dict[str, Any]]:
        for s_i, act, unit, start, end, _y, q in self.tuples():
            s = self.sources[s_i]
            yield {"source_key": s["key"], "jurisdiction_id": s["jurisdiction_id"],
                   "name": s["key"], "sector": s["sector"], "zip": s["zip"],
                   "utility": s["utility"] or None, "activity": act,
                   "quantity": q, "unit": unit, "period_start": start, "period_end": end}


# ------------------------------------------------------------------------------ databases

def fresh_db(backend: str, tmp: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp / 'bench_carbon.db'}"
    admin = make_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)'))
        c.execute(sa.text(f'CREATE DATABASE "{DB}"'))
    admin.dispose()
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{DB}"


def drop_db(backend: str) -> None:
    if backend == "postgresql":
        admin = make_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)'))
        admin.dispose()


def setup(url: str, tmp: Path) -> tuple[sa.Engine, list[int]]:
    engine = make_engine(url)
    migrate.upgrade(engine)
    settings = Settings(env=Environment.test, database_url=url, data_dir=tmp,
                        secret_key="b" * 40, us_atlas_dir=ROOT / "web/node_modules/us-atlas")
    actor = system_principal("bench")
    with Session(engine, expire_on_commit=False) as session:
        demo._build(session, settings, lambda _m: None)
        region_id = session.execute(sa.text("SELECT id FROM regions")).scalar_one()
        for k in range(50):
            regions_service.add_jurisdiction(
                session=session, actor=actor, region_id=region_id,
                data=JurisdictionCreate(name=f"Bench member {k}", kind=JurisdictionKind.city))
        session.commit()
        members = list(session.scalars(sa.text(
            "SELECT id FROM jurisdictions WHERE name LIKE 'Bench member %' ORDER BY id")))
    return engine, members


def bulk_rows(engine: sa.Engine, table: str, cols: list[str], rows: Iterator[tuple[Any, ...]]
              ) -> None:
    """The store's own fastest path: COPY on PostgreSQL, one executemany on SQLite."""
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        if engine.dialect.name == "postgresql":
            with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as cp:  # type: ignore[attr-defined]
                for r in rows:
                    cp.write_row(r)
        else:
            marks = ", ".join("?" for _ in cols)
            cur.execute("BEGIN")
            cur.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})", rows)
        raw.commit()
    finally:
        raw.close()


RAW_COLS = ["source_key", "jurisdiction_id", "activity", "unit", "period_start", "period_end",
            "quantity"]


def raw_tuples(d: Data) -> Iterator[tuple[Any, ...]]:
    for s_i, act, unit, start, end, _y, q in d.tuples():
        s = d.sources[s_i]
        yield (s["key"], s["jurisdiction_id"], act, unit, start, end, q)


def run_import(engine: sa.Engine, d: Data) -> dict[str, Any]:
    with engine.begin() as c:
        c.execute(sa.text("CREATE TABLE bench_raw (source_key VARCHAR(120), jurisdiction_id "
                          "INTEGER, activity VARCHAR(40), unit VARCHAR(20), period_start DATE, "
                          "period_end DATE, quantity FLOAT)"))
    with peak_rss() as mem_raw:
        t0 = time.perf_counter()
        bulk_rows(engine, "bench_raw", RAW_COLS, raw_tuples(d))
        raw_s = time.perf_counter() - t0
    with peak_rss() as mem_imp:
        t0 = time.perf_counter()
        with Session(engine) as session:
            res = service.record_activity(session, system_principal("bench"), "bench-import",
                                          d.activity_rows())
            session.commit()
        imp_s = time.perf_counter() - t0
    with engine.begin() as c:
        c.execute(sa.text("DROP TABLE bench_raw"))
    assert res.periods == d.n, res
    table_s = raw_into_table(engine, d)
    return {"rows": d.n, "sources": len(d.sources), "raw_s": round(raw_s, 2),
            "import_s": round(imp_s, 2), "raw_rows_per_s": round(d.n / raw_s),
            "import_rows_per_s": round(d.n / imp_s), "ratio": round(raw_s / imp_s, 3),
            "table_s": round(table_s, 2), "table_rows_per_s": round(d.n / table_s),
            "ratio_vs_table": round(table_s / imp_s, 3),
            "raw_rss_mb": round(mem_raw["growth"] / 1e6, 1),
            "import_rss_mb": round(mem_imp["growth"] / 1e6, 1)}


TO_CANON = {("electricity", "kWh"): 0.001, ("natural_gas", "therm"): 0.1,
            ("gasoline", "gal"): 1.0, ("diesel", "gal"): 1.0}


def raw_into_table(engine: sa.Engine, d: Data) -> float:
    """The same rows, final values computed, bulk-loaded (COPY / one executemany) into
    carbon_activity_periods itself, its foreign key and indexes kept row by row, in a
    transaction then rolled back: the floor of an import that writes the table that way.
    Seconds."""
    with engine.connect() as c:
        ids = dict(c.execute(sa.text("SELECT source_key, id FROM carbon_sources WHERE "
                                     "source_domain = 'bench-import'")).all())
    sids = [ids[s["key"]] for s in d.sources]
    cols = ["source_id", "activity", "detail", "period_start", "period_end", "year",
            "quantity", "quantity_in", "unit_in"]
    rows = ((sids[s_i], act, "", start, end, y, q * TO_CANON[(act, unit)], q, unit)
            for s_i, act, unit, start, end, y, q in d.tuples())
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        t0 = time.perf_counter()
        if engine.dialect.name == "postgresql":
            with cur.copy(f"COPY carbon_activity_periods ({', '.join(cols)}) "  # type: ignore[attr-defined]
                          "FROM STDIN") as cp:
                for r in rows:
                    cp.write_row(r)
        else:
            cur.execute("BEGIN")
            cur.executemany(f"INSERT INTO carbon_activity_periods ({', '.join(cols)}) "
                            f"VALUES ({', '.join('?' for _ in cols)})", rows)
        took = time.perf_counter() - t0
        raw.rollback()
    finally:
        raw.close()
    return took


def load_big(engine: sa.Engine, d: Data) -> dict[str, Any]:
    """Bulk-load the sources and periods (raw path), then pre-aggregate set-based."""
    now = datetime.now(UTC)
    t0 = time.perf_counter()
    bulk_rows(engine, "carbon_sources",
              ["jurisdiction_id", "boundary", "source_domain", "source_key", "name", "sector",
               "subregion", "utility", "zip", "net_metered", "created_at", "updated_at"],
              ((s["jurisdiction_id"], "government", "bench", s["key"], s["key"], s["sector"],
                s["subregion"], s["utility"], s["zip"], False, now, now) for s in d.sources))
    with engine.connect() as c:
        ids = dict(c.execute(sa.text("SELECT source_key, id FROM carbon_sources WHERE "
                                     "source_domain = 'bench'")).all())
    sid = np.array([ids[s["key"]] for s in d.sources], dtype=np.int64)
    to_canon = TO_CANON

    sids = sid.tolist()

    def periods() -> Iterator[tuple[Any, ...]]:
        for s_i, act, unit, start, end, y, q in d.tuples():
            yield (sids[s_i], act, "", start, end, y, q * to_canon[(act, unit)], q, unit)

    bulk_rows(engine, "carbon_activity_periods",
              ["source_id", "activity", "detail", "period_start", "period_end", "year",
               "quantity", "quantity_in", "unit_in"], periods())
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    with Session(engine) as session:
        service.refresh_totals(session, [int(x) for x in sid])
        service.refresh_rollup(session, sorted({s["jurisdiction_id"] for s in d.sources}))
        session.commit()
    agg_s = time.perf_counter() - t0
    with engine.connect() as c:
        rollup_rows = c.execute(sa.text("SELECT count(*) FROM carbon_rollup")).scalar_one()
    return {"bulk_load_s": round(load_s, 2), "pre_aggregate_s": round(agg_s, 2),
            "rollup_rows": rollup_rows}


def resolved_factors(engine: sa.Engine) -> dict[tuple[str, str, str], tuple[float, float]]:
    """kg CO2e per *input* unit, location and market, per (activity, subregion, utility):
    what the stack [bench-alt, utility-market, epa-hub-2025] gives under AR5."""
    gwp = {"CO2": 1.0, "CH4": 28.0, "N2O": 265.0, "CO2e": 1.0}
    with engine.connect() as c:
        hub = c.execute(sa.text(
            "SELECT f.activity, f.match_key, f.gas, f.kg_per_unit FROM carbon_factors f JOIN "
            "carbon_factor_sets s ON s.id = f.factor_set_id WHERE s.name = 'epa-hub-2025' "
            "AND f.detail = '' AND f.activity IN ('electricity', 'diesel')")).all()
    grid: dict[str, float] = defaultdict(float)
    diesel = 0.0
    for act, key, gas, kg in hub:
        if act == "electricity":
            grid[key] += kg * gwp[gas]
        elif act == "diesel":
            diesel += kg * gwp[gas]
    scl = 52.44 * KG_PER_LB
    out = {}
    for sub in ZIPS.values():
        for util in ("", UTILITY):
            loc = grid[sub] / 1000  # per kWh
            out[("electricity", sub, util)] = (loc, scl / 1000 if util else loc)
            out[("natural_gas", sub, util)] = (55.0 * 0.1, 55.0 * 0.1)  # per therm
            out[("gasoline", sub, util)] = (9.0, 9.0)
            out[("diesel", sub, util)] = (diesel, diesel)
    return out


def run_recompute(engine: sa.Engine, d: Data) -> dict[str, Any]:
    import duckdb

    with Session(engine) as session:
        service.add_factor_set(session, system_principal("bench"), FactorSetIn(
            name="bench-alt", title="Bench alternative", edition="1", publisher="bench",
            year_from=2000, year_to=2030), io.BytesIO(ALT_SET.encode()), "alt.csv")
        session.commit()
    times = []
    with peak_rss() as mem_ours:
        for _ in range(3):
            with Session(engine) as session:
                t0 = time.perf_counter()
                inv = service.inventory(session, system_principal("bench"),
                                        factor_set="bench-alt", by="scope")
                times.append(time.perf_counter() - t0)
    ours_s = min(times)
    bench_ids = {s["jurisdiction_id"] for s in d.sources}
    ours: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for r in inv.rows:
        # the demo members' own buildings are in the region too: compare the bench members'
        if r.jurisdiction_id in bench_ids:
            ours[r.scope or ""][0] += r.t_co2e_location
            ours[r.scope or ""][1] += r.t_co2e_market
    factors = resolved_factors(engine)
    # DuckDB: the raw rows in memory, one query
    con = duckdb.connect()
    src = d.sources
    import pandas as pd

    raw_df = pd.DataFrame({"s": d.src, "act": pd.Categorical.from_codes(d.act_code, d.acts),
                           "y": d.year, "q": d.qty})
    con.register("raw_df", raw_df)
    con.execute("CREATE TABLE raw AS SELECT s, CAST(act AS VARCHAR) AS act, y, q FROM raw_df")
    con.execute("CREATE TABLE src AS SELECT unnest($1) AS s, unnest($2) AS sub, "
                "unnest($3) AS util, unnest($4) AS j, unnest($5) AS sector",
                [list(range(len(src))), [s["subregion"] for s in src],
                 [s["utility"] for s in src], [s["jurisdiction_id"] for s in src],
                 [s["sector"] for s in src]])
    con.execute("CREATE TABLE f AS SELECT unnest($1) AS act, unnest($2) AS sub, "
                "unnest($3) AS util, unnest($4) AS loc, unnest($5) AS mkt",
                [[k[0] for k in factors], [k[1] for k in factors], [k[2] for k in factors],
                 [v[0] for v in factors.values()], [v[1] for v in factors.values()]])
    con.execute("CREATE TABLE scope AS SELECT unnest($1) AS act, unnest($2) AS scope",
                [list(SCOPE), list(SCOPE.values())])
    # the same totals as ours: member x year x sector x scope, location and market
    query = ("SELECT src.j, raw.y, src.sector, scope.scope, SUM(raw.q * f.loc) / 1000, "
             "SUM(raw.q * f.mkt) / 1000 FROM raw JOIN src USING (s) JOIN f ON f.act = raw.act "
             "AND f.sub = src.sub AND f.util = src.util JOIN scope ON scope.act = raw.act "
             "GROUP BY src.j, raw.y, src.sector, scope.scope")
    dtimes = []
    with peak_rss() as mem_duck:
        for _ in range(3):
            t0 = time.perf_counter()
            fine = con.execute(query).fetchall()
            dtimes.append(time.perf_counter() - t0)
    duck: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for _j, _y, _sec, scope_, loc_, mkt_ in fine:
        duck[scope_][0] += loc_
        duck[scope_][1] += mkt_
    duck_s = min(dtimes)
    # Python, row by row
    with peak_rss() as mem_py:
        t0 = time.perf_counter()
        acc: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
        subs = [s["subregion"] for s in src]
        utils = [s["utility"] for s in src]
        for s_i, act, q in zip(d.src.tolist(), d.act, d.qty.tolist(), strict=True):
            loc, mkt = factors[(act, subs[s_i], utils[s_i])]
            a = acc[SCOPE[act]]
            a[0] += q * loc
            a[1] += q * mkt
        py_s = time.perf_counter() - t0
    for scope, (loc, mkt) in duck.items():
        assert abs(ours[scope][0] - loc) <= 1e-6 * abs(loc), (scope, ours[scope], loc)
        assert abs(ours[scope][1] - mkt) <= 1e-6 * abs(mkt), (scope, ours[scope], mkt)
        assert abs(acc[scope][0] / 1000 - loc) <= 1e-6 * abs(loc)
    return {"rows": d.n, "inventory_rows": len(inv.rows), "duckdb_rows": len(fine),
            "ours_s": round(ours_s, 4),
            "duckdb_s": round(duck_s, 4), "python_loop_s": round(py_s, 3),
            "ratio_vs_duckdb": round(duck_s / ours_s, 2),
            "ratio_vs_python_loop": round(py_s / ours_s, 1),
            "ours_rss_mb": round(mem_ours["growth"] / 1e6, 1),
            "duckdb_rss_mb": round(mem_duck["growth"] / 1e6, 1),
            "python_rss_mb": round(mem_py["growth"] / 1e6, 1),
            "totals_t_co2e": {k: [round(v[0], 3), round(v[1], 3)] for k, v in duck.items()}}


def run_backend(backend: str, rows: int, import_rows: int, tmp: Path) -> dict[str, Any]:
    url = fresh_db(backend, tmp)
    try:
        engine, members = setup(url, tmp)
        out: dict[str, Any] = {}
        out["import"] = run_import(engine, Data(import_rows, members, 7, "imp-"))
        with Session(engine) as session:  # the import's rows out: (b) holds exactly --rows
            session.execute(sa.text(
                "DELETE FROM carbon_sources WHERE source_domain = 'bench-import'"))
            service.refresh_rollup(session, members)
            session.commit()
        if not rows:  # --rows 0: the import only
            engine.dispose()
            return out
        big = Data(rows, members, 11, "big-")
        out["load"] = load_big(engine, big)
        out["recompute"] = run_recompute(engine, big)
        engine.dispose()
        return out
    finally:
        drop_db(backend)


def markdown(r: dict[str, Any]) -> str:
    lines = [f"# Carbon benchmark ({r['when']})", "", r["machine"], "",
             f"Rows: {r['rows']:,} periods for the recompute, {r['import_rows']:,} for the "
             "import. " + r["notes"], "",
             "| backend | import rows/s | raw rows/s | import/raw (goal >= 0.3) | "
             "raw into the periods table rows/s | import/that | "
             "recompute s | DuckDB s | ours vs DuckDB (goal >= 1) | Python loop s | "
             "loop / ours | peak RSS MB (import, recompute, DuckDB, loop) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for b, v in r["backends"].items():
        i = v["import"]
        c = v.get("recompute") or dict.fromkeys(
            ("ours_s", "duckdb_s", "ratio_vs_duckdb", "python_loop_s", "ratio_vs_python_loop",
             "ours_rss_mb", "duckdb_rss_mb", "python_rss_mb"), "-")
        x = "x" if "recompute" in v else ""
        lines.append(f"| {b} | {i['import_rows_per_s']:,} | {i['raw_rows_per_s']:,} | "
                     f"{i['ratio']} | {i['table_rows_per_s']:,} | {i['ratio_vs_table']} | "
                     f"{c['ours_s']} | {c['duckdb_s']} | "
                     f"{c['ratio_vs_duckdb']}{x} | {c['python_loop_s']} | "
                     f"{c['ratio_vs_python_loop']}{x} | {i['import_rss_mb']}, {c['ours_rss_mb']}, "
                     f"{c['duckdb_rss_mb']}, {c['python_rss_mb']} |")
    lines += ["", "Bulk load of the recompute's rows and the set-based pre-aggregation "
              "(per backend): " + "; ".join(
                  f"{b}: load {v['load']['bulk_load_s']} s, pre-aggregate "
                  f"{v['load']['pre_aggregate_s']} s into {v['load']['rollup_rows']:,} roll-up "
                  "rows" for b, v in r["backends"].items() if "load" in v), "",
              "Load average (1, 5, 15 min; other work shares the machine) before: "
              + ", ".join(f"{x:.1f}" for x in r["load_average_before"]) + "; after: "
              + ", ".join(f"{x:.1f}" for x in r.get("load_average_after", ())), ""]
    return "\n".join(lines) + "\n"


NOTES = (
    "Import = carbon.service.record_activity over the rows as dicts (generated lazily, the "
    "generation counted), every row checked (the full ActivityIn check once per asset and "
    "activity, then quantity and period per row), the series replaced, one bulk load, the "
    "set-based pre-aggregation, one audit row, the commit. Raw = the same rows bulk-loaded "
    "into a bare table (no key, index or foreign key). 'Raw into the periods table' = the "
    "same rows, final values precomputed, bulk-loaded into carbon_activity_periods itself "
    "(its primary key, index and foreign key to carbon_sources, kept row by row) and rolled "
    "back: the floor of an import that writes that table row by row (on PostgreSQL an "
    "import this big drops the foreign key and the index and makes them again after the "
    "COPY, so it can beat it). Recompute = the whole region's "
    "inventory through carbon.service.inventory (both scope-2 methods and the "
    "gaps query for each: four statements over the pre-aggregated roll-up, and "
    "the rows as pydantic objects), best of 3; "
    "DuckDB = one query over the raw rows in memory with the factors resolved "
    "per key beforehand, best of 3; totals checked equal to 1e-6. Peak RSS = growth of "
    "the resident set over the step; the import's and the raw load's include the bench's own "
    "row generator (Python lists of the rows' values, ~135 bytes a row, the raw load's "
    "figure), so the import's own memory is the difference (its columns are 40 bytes a "
    "row).")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="rows of the recompute; 0: "
                    "the import only")
    ap.add_argument("--import-rows", type=int, default=100_000)
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--name", default="carbon", help="results file name (without suffix)")
    ap.add_argument("--note", default="", help="a sentence added to the results' notes")
    args = ap.parse_args()
    results: dict[str, Any] = {
        "rows": args.rows, "import_rows": args.import_rows,
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs (shared), Python "
                   f"{platform.python_version()}",
        "load_average_before": os.getloadavg(), "backends": {},
        "notes": (NOTES + " " + args.note).strip(),
    }
    with tempfile.TemporaryDirectory() as d:
        for backend in args.backends.split(","):
            results["backends"][backend] = run_backend(backend, args.rows, args.import_rows,
                                                       Path(d))
    results["load_average_after"] = os.getloadavg()
    print(json.dumps(results, indent=1))
    if not args.no_write:
        out = ROOT / "bench" / "results"
        (out / f"{args.name}.json").write_text(json.dumps(results, indent=1) + "\n")
        (out / f"{args.name}.md").write_text(markdown(results))


if __name__ == "__main__":
    csv.field_size_limit(1 << 20)
    main()
