"""`govshare carbon ...` through typer's CliRunner on a FRESH database of each backend holding
the demo region (a copy of the built one, ``demo_copy``): the inventory (table and JSON, both
methods), the roll-up, targets, the grid factor, and a refused factor file (exit 2, every
problem in --report, nothing added)."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import BACKENDS
from tests.factories.cli import Cli, demo_cli, flat


@pytest.fixture(params=BACKENDS, scope="module")
def cli(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
        demo_copy: Callable[[str, Path, str], str]) -> Iterator[Cli]:
    backend = request.param
    with demo_cli(backend, tmp_path_factory.mktemp(f"carboncli-{backend}"), "carboncli",
                  demo_copy) as c:
        assert "already built" in c("demo").stdout
        yield c


def test_inventory_table_and_json(cli: Cli) -> None:
    table = flat(cli("carbon", "inventory", "--year", "2016", "--by", "jurisdiction").stdout)
    assert "City of Seattle" in table and "t CO2e (market)" in table
    data = json.loads(cli("carbon", "inventory", "--year", "2016", "--by", "sector",
                          "--jurisdiction", "City of Seattle", "--json").stdout)
    assert data["factor_set"] == "epa-hub-2025" and data["rows"]
    # Seattle City Light's factor is far below the Northwest grid's
    assert 0 < data["total_market"] < data["total_location"]
    only = json.loads(cli("carbon", "inventory", "--year", "2016", "--method", "market",
                          "--json").stdout)
    assert all("t_co2e_location" not in r for r in only["rows"])
    community = json.loads(cli("carbon", "inventory", "--boundary", "community",
                               "--factor-set", "seattle-2016", "--by", "jurisdiction",
                               "--json").stdout)
    data_file = Path(__file__).resolve().parents[1] / "data" / "seattle_benchmarking_2016.csv"
    with data_file.open(encoding="utf-8-sig") as f:
        published = sum(float(r["TotalGHGEmissions"]) for r in csv.DictReader(f)
                        if r["TotalGHGEmissions"].strip())
    # Seattle's whole 2016 file, every building within 0.005 t
    assert community["total_market"] == pytest.approx(published, abs=0.005 * 3400)
    ar6 = json.loads(cli("carbon", "inventory", "--year", "2016", "--gwp", "AR6", "--by",
                         "region", "--json").stdout)
    ar5 = json.loads(cli("carbon", "inventory", "--year", "2016", "--by", "region",
                         "--json").stdout)
    assert ar6["total_location"] != ar5["total_location"]


def test_rollup_target_grid(cli: Cli) -> None:
    r = flat(cli("carbon", "rollup", "--year", "2016", "--method", "market").stdout)
    assert "counted once" in r
    before = cli.count("carbon_targets")
    cli("carbon", "target", "--base-year", "2016", "--target-year", "2040", "--reduction",
        "80", "--label", "Test goal", "--jurisdiction", "King County")
    assert cli.count("carbon_targets") == before + 1
    assert "NWPP" in cli("carbon", "grid-factor", "--zip", "98104").stdout


def test_refused_factor_file(cli: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    with bad.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["activity", "gas", "value", "unit"])
        w.writerow(["natural_gas", "CO2", "-1", "kg/mmbtu"])
        w.writerow(["natural_gas", "XYZ", "1", "kg/mmbtu"])
    report = tmp_path / "report.csv"
    sets = cli.count("carbon_factor_sets")
    r = cli("carbon", "factors", "add", str(bad), "--name", "bad-set", "--title", "Bad",
            "--edition", "1", "--publisher", "me", "--year-from", "2010", "--year-to", "2020",
            "--report", str(report), code=2)
    assert "2 problems" in flat(r.stderr)
    rows = list(csv.DictReader(report.open()))
    assert [(x["row"], x["column"]) for x in rows] == [("2", "value"), ("3", "gas")]
    assert cli.count("carbon_factor_sets") == sets


def test_gwp_set_add_list_refused(cli: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("gas,value\nCO2,1\nCH4,-2\nCH4,25\n")
    report = tmp_path / "report.csv"
    rows = cli.count("carbon_gwp")
    r = cli("carbon", "gwp", "add", str(bad), "--name", "AR4", "--source", "IPCC AR4",
            "--report", str(report), code=2)
    assert "2 problems" in flat(r.stderr)
    assert [(x["row"], x["column"]) for x in csv.DictReader(report.open())] == [
        ("3", "value"), ("4", "gas")]
    assert cli.count("carbon_gwp") == rows
    good = tmp_path / "ar4.csv"
    good.write_text("gas,value\nCO2,1\nCH4,25\nN2O,298\n")
    assert "5 gases" in cli("carbon", "gwp", "add", str(good), "--name", "AR4",
                            "--source", "IPCC AR4 WG1 Table 2.14").stdout
    assert "5 gases" in cli("carbon", "gwp", "add", str(good), "--name", "AR4",
                            "--source", "IPCC AR4 WG1 Table 2.14").stdout  # idempotent
    assert cli.count("carbon_gwp") == rows + 5
    assert "298" in flat(cli("carbon", "gwp", "list").stdout)
    ar4 = json.loads(cli("carbon", "inventory", "--year", "2016", "--gwp", "AR4", "--by",
                         "region", "--json").stdout)
    assert ar4["gwp_set"] == "AR4" and ar4["total_location"] > 0


def test_targets_list_and_remove(cli: Cli) -> None:
    cli("carbon", "target", "--base-year", "2016", "--target-year", "2045", "--reduction",
        "70", "--label", "CLI goal to remove", "--jurisdiction", "King County")
    tid = cli.scalar("SELECT id FROM carbon_targets WHERE label = 'CLI goal to remove'")
    listed = flat(cli("carbon", "targets").stdout)
    assert "King County" in listed and "CLI goal to" in listed and "70" in listed
    before = cli.count("carbon_targets")
    assert "removed: CLI goal to remove" in flat(
        cli("carbon", "target-remove", str(tid)).stdout)
    assert cli.count("carbon_targets") == before - 1
    cli("carbon", "target-remove", "999999", code=1)
