"""`govshare casebook ...` and `govshare report value-case` through typer's CliRunner on a
fresh database holding the demo region (a copy of the built one, ``demo_copy``; SQLite: the
commands' SQL is the service's, tested on both backends in test_service.py)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.factories.cli import Cli, demo_cli, flat


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory,
        demo_copy: Callable[[str, Path, str], str]) -> Iterator[Cli]:
    with demo_cli("sqlite", tmp_path_factory.mktemp("casebookcli"), "casebookcli", demo_copy) as c:
        assert "already built" in c("demo").stdout
        yield c


def test_list_and_show_as_json(cli: Cli) -> None:
    listed = json.loads(cli("casebook", "list", "--json").stdout)
    names = {p["name"]: p for p in listed["items"]}
    payroll = names["Shared payroll and HR system (sample)"]
    assert payroll["synthetic"] and payroll["status"] == "adopted"
    shown = json.loads(cli("casebook", "show", str(payroll["id"]), "--json").stdout)
    members = shown["members"]
    assert sum(m["charge_cents"] for m in members) == 210_000_000  # $2.1M, to the cent
    assert [m["name"] for m in members if m["worse_off"]] == ["Port of Seattle"]
    assert shown["discount_source"].startswith("OMB Circular A-94")


def test_import_actuals_refuses_then_records(cli: Cli, tmp_path: Path) -> None:
    pid = next(p["id"] for p in json.loads(cli("casebook", "list", "--json").stdout)["items"]
               if p["name"] == "Shared payroll and HR system (sample)")
    bad = tmp_path / "bad.csv"
    bad.write_text("member,year,actual\nKing County,1999,5\nNobody,2028,5\n")
    report = tmp_path / "report.csv"
    r = cli("casebook", "import-actuals", str(pid), str(bad), "--report", str(report), code=2)
    assert "nothing was recorded" in flat(r.stderr)
    lines = report.read_text().splitlines()
    assert lines[0] == "row,column,value,reason" and len(lines) == 3
    good = tmp_path / "good.csv"
    good.write_text("member,year,actual\nKing County,2028,1500000\n")
    first = json.loads(cli("casebook", "import-actuals", str(pid), str(good), "--json").stdout)
    again = json.loads(cli("casebook", "import-actuals", str(pid), str(good), "--json").stdout)
    assert (first["added"], again["unchanged"]) == (1, 1)


def test_value_case_report(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "governor.pdf"
    r = cli("report", "value-case", "--audience", "governor", "--out", str(out), "--json")
    data = json.loads(r.stdout)
    keys = {(f["point"], f["key"]) for f in data["figures"]}
    assert ("fiscal", "annual") in keys and ("facilities", "social_cost") in keys
    assert {("green", "inventory"), ("green", "target"), ("green", "pool")} <= keys
    green = {f["key"]: f for f in data["figures"] if f["point"] == "green"}
    assert "EPA GHG Emission Factors Hub 2025" in green["inventory"]["source"]
    assert "economic" in data["not_measured"]
    text = "\n".join(p.extract_text() for p in PdfReader(out).pages)
    assert "Executive summary" in text
    assert green["inventory"]["label"] in " ".join(text.split())
    member = tmp_path / "county.html"
    cli("report", "value-case", "--audience", "council", "--jurisdiction", "King County",
        "--out", str(member))
    assert "King County" in member.read_text()
    assert re.search(r"Computed \w{3} \d{1,2}, \d{4}, \d{1,2}:\d\d [AP]M P[SD]T",
                     member.read_text())  # the region's time zone
    assert 'href="/static/css/govshare.css"' in member.read_text()  # the HTML keeps its styles


def test_fleet_pool_becomes_a_proposal(cli: Cli) -> None:
    made = json.loads(cli("casebook", "from-fleet-pool", "--start-year", "2027",
                          "--json").stdout)
    assert made["name"] == "Pool the members' fleets" and made["source_link"] == "/fleet/pooling"
    assert made["total"]["annual_savings_cents"] > 0


def test_a_consolidation_kept_together_becomes_a_proposal(cli: Cli) -> None:
    made = json.loads(cli("casebook", "from-consolidation", "--use", "library",
                          "--start-year", "2027", "--keep-together", "--json").stdout)
    split = json.loads(cli("casebook", "from-consolidation", "--use", "library",
                           "--start-year", "2027", "--json").stdout)
    assert "keep_together=yes" in made["source_link"]
    assert "keep_together" not in split["source_link"]
    # kept together is a restriction of the split plan: it never saves more
    assert made["total"]["annual_savings_cents"] <= split["total"]["annual_savings_cents"]


def test_from_consolidation_refuses_bad_inputs_by_name(cli: Cli) -> None:
    """Out-of-range inputs are named, with exit 2 and nothing made, not a traceback."""
    before = cli.count("casebook_proposals")
    r = cli("casebook", "from-consolidation", "--use", "library", "--start-year", "2027",
            "--minutes", "0", "--max-km", "-3", code=2)
    text = flat(r.stderr)
    assert "FromConsolidationIn is not valid" in text
    assert "minutes:" in text and "max_km:" in text and "Traceback" not in text
    assert cli.count("casebook_proposals") == before
    # a longer time for the solver: the link back to the plan carries it
    made = json.loads(cli("casebook", "from-consolidation", "--use", "library",
                          "--start-year", "2027", "--minutes", "2", "--json").stdout)
    assert "minutes=2" in made["source_link"]
