"""`govshare sites ...` through typer's CliRunner, on a FRESH database of each backend holding
the demo region (a copy of the built one, ``demo_copy``), with the settings given as
GOVSHARE_* variables."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from govshare.cli.demo_sites import DEMO_SCENARIO
from govshare.sites.service import REFERENCE_SCENARIOS
from tests.conftest import BACKENDS
from tests.factories.cli import Cli, demo_cli, flat


@pytest.fixture(params=BACKENDS, scope="module")
def cli(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
        demo_copy: Callable[[str, Path, str], str]) -> Iterator[Cli]:
    backend = request.param
    with demo_cli(backend, tmp_path_factory.mktemp(f"sitescli-{backend}"), "sitescli",
                  demo_copy) as c:
        assert "already built" in c("demo").stdout
        yield c


def test_rank_prints_json_with_budget_and_social_apart(cli: Cli) -> None:
    r = cli("sites", "rank", "--scenario", REFERENCE_SCENARIOS[1]["name"], "--json")
    out = json.loads(r.stdout)
    assert out["budget_and_social_are_not_added"] is True
    assert out["baseline"]["name"] == "Chesterfield County"
    russell = next(c for c in out["candidates"] if c["fips"] == "51167")
    assert russell["wage_index"] == pytest.approx(867 / 1106, abs=1e-4)
    assert {w["criterion"] for w in out["weight_stability"]} == {
        "savings", "distress", "jobs_share", "labor_pool"}
    assert "housing vacancy" in " ".join(out["distress_metrics_not_available"]).lower()
    assert {e["fips"] for e in out["excluded"]} >= {"51720"}  # Norton city, too small
    table = flat(cli("sites", "rank", "--scenario", DEMO_SCENARIO["name"]).stdout)
    assert "King County" in table and "never added" in table


def test_create_upload_and_refusals(cli: Cli, tmp_path: Path) -> None:
    spec = tmp_path / "center.json"
    spec.write_text(json.dumps({**DEMO_SCENARIO, "name": "CLI center"}))
    assert "Created scenario" in cli("sites", "create", str(spec)).stdout
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**DEMO_SCENARIO, "name": "CLI bad", "baseline_fips": "99999"}))
    r = cli("sites", "create", str(bad), code=2)
    assert "99999" in flat(r.stderr)
    audits = cli.count("audit_events")
    rents = tmp_path / "rents.csv"
    rents.write_text("fips,rent_usd_ft2\n53077,18\n99999,12\n53041,-1\n")
    report = tmp_path / "problems.csv"
    r = cli("sites", "upload", "--scenario", "CLI center", str(rents), "--report", str(report),
            code=2)
    lines = report.read_text().splitlines()
    assert lines[0] == "row,column,value,reason" and len(lines) == 3  # rows 3 and 4
    assert cli.count("audit_events") == audits  # nothing written
    rents.write_text("fips,rent_usd_ft2\n53077,18\n")
    assert "1 counties" in flat(cli("sites", "upload", "--scenario", "CLI center",
                                     str(rents)).stdout)
    county = json.loads(cli("sites", "county", "51167", "--json").stdout)
    assert county["name"] == "Russell County" and county["distress_score"] > 80
