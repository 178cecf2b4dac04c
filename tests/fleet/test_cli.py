"""`govshare fleet import|rightsize|pool|electrify` through typer's CliRunner, on a FRESH
database of each backend holding the demo region (a copy of the built one, ``demo_copy``)."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import BACKENDS
from tests.factories.cli import Cli, demo_cli, flat

CITY = "City of Seattle"


@pytest.fixture(params=BACKENDS, scope="module")
def cli(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
        demo_copy: Callable[[str, Path, str], str]) -> Iterator[Cli]:
    backend = request.param
    with demo_cli(backend, tmp_path_factory.mktemp(f"fleetcli-{backend}"), "fleetcli",
                  demo_copy) as c:
        assert "already built" in c("demo").stdout
        yield c


def test_the_urbana_sample_imports_once_and_again_changes_nothing(cli: Cli) -> None:
    before = cli.count("fleet_fuel_transactions")
    r = cli("fleet", "import", "--sample", "urbana", "--jurisdiction", CITY)
    out = flat(r.stdout)
    assert "6,570 rows: 6,570 added" in out and "153 vehicles registered" in out
    assert "616 odometer reading(s)" in out
    assert cli.count("fleet_fuel_transactions") == before + 6570
    again = flat(cli("fleet", "import", "--sample", "urbana", "--jurisdiction", CITY).stdout)
    assert "0 added, 0 updated, 6,570 unchanged" in again


def test_a_refused_log_exits_2_and_writes_every_problem(cli: Cli, tmp_path: Path) -> None:
    log = tmp_path / "trips.csv"
    log.write_text("vehicle,started_at,ended_at,miles\nNOPE-1,2025-03-01 08:00,"
                   "2025-03-01 09:00,12\nNOPE-2,2025-03-01 08:00,2025-03-01 07:00,5\n")
    report = tmp_path / "problems.csv"
    trips = cli.count("fleet_trips")
    r = cli("fleet", "import", str(log), "--kind", "trips", "--jurisdiction", CITY,
            "--report", str(report), code=2)
    assert "nothing was imported" in flat(r.stderr)
    rows = list(csv.DictReader(report.open(encoding="utf-8")))
    assert {(x["row"], x["column"]) for x in rows} >= {("2", "unit_id"), ("3", "unit_id"),
                                                      ("3", "ended_at")}
    assert cli.count("fleet_trips") == trips


def test_the_analyses_answer_json(cli: Cli) -> None:
    pool = json.loads(cli("fleet", "pool", "--json").stdout)
    assert pool["groups"] and pool["vehicles_removable"] >= 0
    assert set(pool) >= {"radius_km", "reserve_pct", "savings_cents", "members"}
    rs = json.loads(cli("fleet", "rightsize", "--json", "--all").stdout)
    assert rs and all(x["evidence"] for x in rs)
    el = json.loads(cli("fleet", "electrify", "--json", "--jurisdiction", "King County").stdout)
    assert el["vehicles"] and el["needed"] >= 0 and "grid" in el["grid_note"]
    assert "Right-sizing" in flat(cli("fleet", "rightsize").stdout)
