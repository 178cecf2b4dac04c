"""`govshare property import|export|presets` through typer's CliRunner, on a FRESH database of
each backend holding the demo region (a copy of the built one, ``demo_copy``), with the
settings given as GOVSHARE_* variables."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from govshare.core.db import make_engine
from tests.conftest import BACKENDS
from tests.factories.cli import Cli, demo_cli, flat

CITY = "City of Seattle"


@pytest.fixture(params=BACKENDS, scope="module")
def cli(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
        demo_copy: Callable[[str, Path, str], str]) -> Iterator[Cli]:
    """One fresh database per backend for the module, with the demo region (a copy of the
    built one, on which `govshare demo` finds it built); each test leaves the assets as it
    found them or says what it added."""
    backend = request.param
    with demo_cli(backend, tmp_path_factory.mktemp(f"propcli-{backend}"), "propcli",
                  demo_copy) as c:
        assert "already built" in c("demo").stdout
        yield c


def city_assets(cli: Cli) -> int:
    return cli.scalar("SELECT count(*) FROM assets a JOIN jurisdictions j "
                      f"ON j.id = a.jurisdiction_id WHERE j.name = '{CITY}'")


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "geojson"])
def test_export_then_import_round_trips(cli: Cli, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"city.{fmt}"
    r = cli("property", "export", "--jurisdiction", CITY, "--format", fmt, "--output", str(out))
    assert f"Wrote 85 assets to {out}" in flat(r.stdout)
    audits = cli.scalar("SELECT count(*) FROM audit_events")
    r = cli("property", "import", str(out), "--jurisdiction", CITY)
    assert "Imported. 85 rows: 0 were added, 0 updated, 85 unchanged." in flat(r.stdout)
    assert cli.scalar("SELECT count(*) FROM audit_events") == audits + 1


def test_refused_file_exits_2_writes_the_report_and_changes_nothing(cli: Cli,
                                                                   tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    lines = ["asset_code,name,use,gross_floor_area_ft2"]
    lines += [f"Z-{i},Hall {i},office,-{i}" for i in range(1, 31)]
    bad.write_text("\n".join(lines) + "\n")
    before = city_assets(cli)
    report = tmp_path / "problems.csv"
    r = cli("property", "import", str(bad), "--jurisdiction", CITY, "--report", str(report),
            code=2)
    err = flat(r.stderr)
    assert "30 problems in bad.csv; nothing was imported" in err
    assert "All 30 problems written to" in err
    rows = list(csv.reader(report.open(encoding="utf-8")))
    assert rows[0] == ["row", "column", "value", "reason"] and rows[1][:2] == [
        "2", "gross_floor_area_ft2"]
    assert city_assets(cli) == before
    r = cli("property", "import", str(bad), "--jurisdiction", CITY, code=2)
    assert "add --report FILE" in flat(r.stderr)


def test_dry_run_presets_and_unknown_jurisdiction(cli: Cli, tmp_path: Path) -> None:
    new = tmp_path / "new.csv"
    new.write_text("asset_code,name,use\nN-1,New hall,community_center\n")
    before = city_assets(cli)
    r = cli("property", "import", str(new), "--jurisdiction", CITY, "--dry-run")
    assert "Dry run, nothing written. 1 rows: 1 would be added" in flat(r.stdout)
    assert city_assets(cli) == before
    r = cli("property", "import", str(new), "--jurisdiction", "Atlantis", code=1)
    assert "No jurisdiction with id, GEOID or name 'Atlantis'" in flat(r.stderr)
    r = cli("property", "import", str(new), "--jurisdiction", CITY, "--preset", "nope", code=2)
    assert "Unknown preset 'nope'" in flat(r.stderr)
    seattle_2015 = Path(__file__).parents[1] / "data" / "seattle_benchmarking_2015_city_owned.csv"
    r = cli("property", "import", str(seattle_2015), "--jurisdiction", CITY, "--preset",
            "seattle-benchmarking", "--dry-run")
    said = flat(r.stdout)
    assert "assets held 2016 figures; the import would replace them with this file's 2015" in said
    assert "OtherFuelUse(kBtu) (68 rows)" in said
    assert city_assets(cli) == before
    out = flat(cli("property", "presets").stdout)
    for text in ("Real Property Unique Identifier", "OSEBuildingID", "Electricity(kWh)",
                 "Annual Operating Costs"):
        assert text in out


def test_a_file_without_a_preset_imports_with_map(cli: Cli) -> None:
    """Chicago's benchmarking file has no preset: `--map FILE_COLUMN=FIELD` says which column
    gives which field (energy in its own unit), the same as the service's mapping."""
    chicago = Path(__file__).parents[1] / "data" / "chicago_benchmarking_2016_cps_sample.csv"
    r = cli("property", "import", str(chicago), "--jurisdiction", CITY, "--dry-run", code=2)
    assert "column mapping: FILE_COLUMN=FIELD" in flat(r.stderr)
    pairs = ["ID=asset_code", "Property Name=name", "Primary Property Type=use",
             "Electricity Use (kBtu)=electricity_kwh:kbtu"]
    args = [a for pair in pairs for a in ("--map", pair)]
    r = cli("property", "import", str(chicago), "--jurisdiction", CITY, "--dry-run", *args)
    assert "Dry run, nothing written. 40 rows: 40 would be added" in flat(r.stdout)
    r = cli("property", "import", str(chicago), "--jurisdiction", CITY, "--dry-run",
            "--map", "ID=asset_id", code=2)
    assert "'asset_id' is not a field; the fields are: asset_code" in flat(r.stderr)
    r = cli("property", "import", str(chicago), "--jurisdiction", CITY, "--map", "ID", code=2)
    assert "--map: 'ID' is not FILE_COLUMN=FIELD" in flat(r.stderr)


def test_a_mapping_saved_from_the_cli_is_used_by_name(cli: Cli) -> None:
    chicago = Path(__file__).parents[1] / "data" / "chicago_benchmarking_2016_cps_sample.csv"
    pairs = ["ID=asset_code", "Property Name=name", "Primary Property Type=use"]
    args = [a for pair in pairs for a in ("--map", pair)]
    r = cli("property", "import", str(chicago), "--jurisdiction", CITY, "--dry-run", *args,
            "--save-as", "Chicago benchmarking")
    assert "Column mapping saved as 'Chicago benchmarking'." in flat(r.stdout)
    listed = flat(cli("property", "mappings").stdout)
    assert "Chicago benchmarking" in listed and "ID=asset_code" in listed
    r = cli("property", "import", str(chicago), "--jurisdiction", CITY, "--dry-run",
            "--saved", "Chicago benchmarking")
    assert "Dry run, nothing written. 40 rows: 40 would be added" in flat(r.stdout)
    r = cli("property", "import", str(chicago), "--jurisdiction", CITY, "--dry-run",
            "--saved", "Nope", code=1)
    assert "No saved column mapping is named 'Nope'" in flat(r.stderr)


def test_consolidate_to_carbon_plan_replaces_not_duplicates(cli: Cli) -> None:
    """The demo's office plan added to the carbon plan twice: one measure per member whose
    offices it closes, the second run replacing the first (the measures stay in this
    module's database; nothing else here reads them)."""
    import json

    r = cli("property", "consolidate", "--use", "office", "--json")
    plan = json.loads(r.stdout)
    assert plan["closed"], plan  # the demo's offices plan closes some
    # how sure the plan is, as on the page: proven, so no gap and nothing to explain
    assert plan["proven"] and plan["status"] == "optimal" and plan["gap"] == 0
    assert plan["why_not_proven"] == "" and plan["parts_note"] == ""
    assert plan["bound_cents"] == pytest.approx(plan["plan_cents"], abs=1)
    r = cli("property", "consolidate", "--use", "office", "--to-carbon-plan",
            "--start-year", "2027", "--json")
    out = json.loads(r.stdout)
    closing = {c["jurisdiction"] for c in plan["closed"]}
    assert {m["jurisdiction"] for m in out["members"]} == closing
    counted = [m for m in out["members"] if m["counted"]]
    assert len(out["measures"]) == len(counted) > 0 and out["replaced"] == 0
    for m in out["members"]:
        assert m["t_co2e_per_year"] == sum(b["t_co2e"] for b in m["counted"])
        assert len(m["counted"]) + len(m["left_out"]) == sum(
            1 for c in plan["closed"] if c["jurisdiction"] == m["jurisdiction"])
    sql = ("SELECT count(*) FROM carbon_measures WHERE origin = "
           "'property.consolidation:office' AND kind = 'consolidation'")
    assert cli.scalar(sql) == len(out["measures"])
    r = cli("property", "consolidate", "--use", "office", "--to-carbon-plan")
    text = flat(r.stdout)
    assert f"({len(out['measures'])} replaced)" in text and "not modeled" in text
    assert cli.scalar(sql) == len(out["measures"])
    assert cli.scalar(sql.replace("count(*)", "min(start_year)")) > 2026  # next year
    r = cli("property", "consolidate", "--use", "castle", "--to-carbon-plan", code=2)
    assert "use" in flat(r.stderr)


def test_thumbnails_makes_the_ones_missing_from_photos_stored_before_them(cli: Cli) -> None:
    """The demo's photos have thumbnails from their upload; taken away (as for photos stored
    before migration 0022), the command makes them again, and a second run has none to make."""
    photos = cli.count("asset_photos")
    assert photos and cli.scalar(
        "SELECT count(*) FROM asset_photos WHERE thumbnail IS NULL") == 0
    engine = make_engine(cli.url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE asset_photos SET thumbnail = NULL, "
                                 "thumbnail_width = NULL, thumbnail_height = NULL"))
    finally:
        engine.dispose()
    r = cli("property", "thumbnails")
    assert f"Made {photos:,} thumbnails ({photos:,} photos without one)." in flat(r.stdout)
    assert cli.scalar("SELECT count(*) FROM asset_photos WHERE thumbnail IS NULL "
                      "OR thumbnail_width IS NULL") == 0
    assert "Made 0 thumbnails (0 photos without one)." in flat(cli("property", "thumbnails").stdout)


def test_consolidate_keeps_occupants_together_when_asked(cli: Cli) -> None:
    """--keep-together: each building's occupants move as one (the single-source model);
    the plan says so, costs the same or more, and the carbon plan's link carries it."""
    import json

    split = json.loads(cli("property", "consolidate", "--use", "library", "--json").stdout)
    together = json.loads(cli("property", "consolidate", "--use", "library",
                              "--keep-together", "--json").stdout)
    assert (split["keep_together"], together["keep_together"]) == (False, True)
    assert split["model"] == "Occupants of a building may be split among several buildings"
    assert together["model"] == "Each building's occupants move together to one building"
    assert together["plan_cents"] >= split["plan_cents"]
    r = cli("property", "consolidate", "--use", "library", "--keep-together",
            "--to-carbon-plan", "--json")
    assert "keep_together=yes" in json.loads(r.stdout)["link"]


def test_consolidate_says_how_far_an_unproven_plan_may_be_from_the_best(
        cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    """A plan the solver could not prove (here: the real plan, its result marked as a
    region of three parts stopped at the time limit with a 1% gap) is printed with why,
    the gap, the bound and where the gap lies, in the text and in the JSON."""
    import dataclasses
    import json

    from govshare.property import planning

    real = planning.solve

    def stopped(*args: object, **kwargs: object) -> object:
        sol = real(*args, **kwargs)  # type: ignore[arg-type]
        return dataclasses.replace(
            sol, status="time_limit", proven_optimal=False, gap=0.01,
            dual_bound=0.99 * sol.objective, method="parts:milp",
            extra={"parts": 3.0, "parts_proven": 2.0, "largest_unproven_part_sites": 4.0,
                   "largest_unproven_part_needs": 9.0})

    monkeypatch.setattr(planning, "solve", stopped)
    text = flat(cli("property", "consolidate", "--use", "office").stdout)
    assert "Best plan found (not proven optimal)" in text
    assert ("Not proven: the solver reached its time limit of 1 minute. Gap 1.00%: no plan "
            "can cost less than $") in text
    assert ("The region falls into 3 independent parts (groups of buildings no one may move "
            "between): 2 are proven optimal, and the gap is in the other one (4 buildings "
            "and 9 groups of occupants).") in text
    out = json.loads(cli("property", "consolidate", "--use", "office", "--json").stdout)
    assert (out["proven"], out["status"], out["gap"]) == (False, "time_limit", 0.01)
    assert out["bound_cents"] < out["plan_cents"]
    assert out["why_not_proven"] == "the solver reached its time limit of 1 minute"
    assert out["parts_note"].startswith("The region falls into 3 independent parts")


def test_consolidate_takes_the_solvers_minutes(cli: Cli, monkeypatch: pytest.MonkeyPatch
                                               ) -> None:
    """--minutes gives the solver that many minutes (default 1); a value outside 1-60 is
    refused by name before anything is solved."""
    from govshare.property import planning

    real = planning.solve
    limits: list[float] = []

    def recording(*args: object, **kwargs: object) -> object:
        limits.append(kwargs["time_limit"])  # type: ignore[arg-type]
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(planning, "solve", recording)
    cli("property", "consolidate", "--use", "library")
    cli("property", "consolidate", "--use", "library", "--minutes", "15", "--json")
    assert limits == [60.0, 900.0]
    for bad in ("0", "61"):
        r = cli("property", "consolidate", "--use", "library", "--minutes", bad,
                code=2)
        assert "minutes" in flat(r.stdout + r.stderr)
    assert limits == [60.0, 900.0]
    # added to the carbon plan, the measures link back to the plan with its time
    out = json.loads(cli("property", "consolidate", "--use", "library", "--minutes", "5",
                         "--to-carbon-plan", "--json").stdout)
    assert limits[-1] == 300.0 and "minutes=5" in out["link"]
