"""The geo commands of the `govshare` CLI, each test on a FRESH database of each backend.

`db upgrade`, `region create` from Census boundaries, `jurisdiction add`, `jurisdiction
import-boundary` and `locate`, driven through typer's CliRunner with the settings given as
GOVSHARE_* environment variables, exactly as an operator would.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from govshare.core.db import make_engine
from tests.conftest import BACKENDS, CITY_LIMITS
from tests.factories.cli import Cli, flat, fresh_cli

DOWNTOWN = ("-122.3351", "47.6080")
TACOMA = ("-122.4443", "47.2529")
PACIFIC = ("-125.5", "47.0")
BOWTIE = {"type": "Polygon", "coordinates": [[[-122.3, 47.5], [-122.2, 47.6], [-122.2, 47.5],
                                              [-122.3, 47.6], [-122.3, 47.5]]]}


@pytest.fixture(params=BACKENDS)
def cli(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cli]:
    with fresh_cli(request.param, tmp_path, "geocli") as c:
        yield c


@pytest.fixture
def region(cli: Cli) -> Cli:
    """A fresh database holding the region "Test": Washington, King and Pierce counties."""
    cli("db", "upgrade")
    cli("region", "create", "Test", "--counties", "53033,53053", "--states", "53")
    return cli


def located(cli: Cli, *args: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(cli("locate", *args, "--json").stdout)
    return body


def names(body: dict[str, Any]) -> list[str]:
    return [j["name"] for j in body["jurisdictions"]]


def test_db_upgrade_then_region_create(cli: Cli) -> None:
    first = cli("db", "upgrade")
    assert "upgraded empty ->" in flat(first.stdout)
    assert "already at" in cli("db", "upgrade").stdout  # safe to run again
    assert cli.count("regions") == 0
    result = cli("region", "create", "Test", "--counties", "53033,53053", "--states", "53")
    out = flat(result.stdout)
    assert "Created region 'Test'" in out and "with 3 members" in out
    for name in ("State of Washington", "King County", "Pierce County"):
        assert name in out
    assert (cli.count("regions"), cli.count("jurisdictions"), cli.count("boundaries")) == (
        1, 3, 3)
    shown = json.loads(cli("region", "show", "--json").stdout)
    assert shown["name"] == "Test"
    members = {m["name"]: m for m in shown["members"]}
    assert members["King County"]["geoid"] == "53033"
    assert members["King County"]["parent_id"] == members["State of Washington"]["id"]


def test_a_second_region_is_refused(region: Cli) -> None:
    result = region("region", "create", "Other", "--counties", "53061", code=1)
    assert "already serves the region 'Test'" in flat(result.stderr)
    assert "one installation serves one region" in flat(result.stderr)
    assert (region.count("regions"), region.count("jurisdictions")) == (1, 3)


def test_unknown_geoids_are_listed_and_nothing_is_created(cli: Cli) -> None:
    cli("db", "upgrade")
    audit_before = cli.count("audit_events")
    result = cli("region", "create", "Test", "--counties", "53033,53999", "--counties", "99001",
                 "--states", "99", code=1)
    err = flat(result.stderr)
    assert ("Unknown GEOID(s), not in the Census boundary files: state 99, county 53999, "
            "county 99001") in err
    assert result.stdout == ""
    assert (cli.count("regions"), cli.count("jurisdictions"), cli.count("boundaries"),
            cli.count("audit_events")) == (0, 0, 0, audit_before)
    assert "No region yet" in flat(cli("region", "show", code=1).stderr)
    # Malformed codes are bad input (exit 2), also listed together.
    bad = cli("region", "create", "Test", "--counties", "5303x,530330", code=2)
    assert "Not county FIPS codes (5 digits): 5303x, 530330" in flat(bad.stderr)
    assert cli.count("regions") == 0


def test_commands_before_a_region_exists_say_what_to_do(cli: Cli) -> None:
    cli("db", "upgrade")
    assert "region create" in flat(cli("locate", "--lon", "0", "--lat", "0", code=1).stderr)
    r = cli("jurisdiction", "import-boundary", "53033", str(CITY_LIMITS), code=1)
    assert "No region yet" in flat(r.stderr)


def test_jurisdiction_add_and_import_the_city_limits(region: Cli) -> None:
    assert "City of Seattle" not in names(located(region, "--lon", DOWNTOWN[0],
                                                  "--lat", DOWNTOWN[1]))
    added = region("jurisdiction", "add", "City of Seattle", "--kind", "city",
                   "--parent", "53033")
    assert "Added City of Seattle" in added.stdout
    # The published city limits are valid as they are: no --repair needed.
    result = region("jurisdiction", "import-boundary", "City of Seattle", str(CITY_LIMITS))
    out = flat(result.stdout)
    assert "Boundary of City of Seattle saved:" in out
    area = float(out.split("saved: ")[1].split(" km²")[0].replace(",", ""))
    assert 200 < area < 240  # 217 km² with its water (142 km² of land)
    assert "bbox -122.4360,47.4955,-122.2361,47.7342" in out
    assert "note:" not in out
    body = located(region, "--lon", DOWNTOWN[0], "--lat", DOWNTOWN[1])
    assert names(body) == ["State of Washington", "King County", "City of Seattle"]
    # --repair on a valid file changes nothing and notes nothing.
    checksum = _checksum(region, "City of Seattle")
    again = region("jurisdiction", "import-boundary", "City of Seattle", str(CITY_LIMITS),
                   "--repair")
    assert "note:" not in again.stdout
    assert _checksum(region, "City of Seattle") == checksum


def _checksum(cli: Cli, name: str) -> str:
    engine = make_engine(cli.url)
    try:
        with engine.connect() as conn:
            return str(conn.execute(sa.text(
                "SELECT b.checksum FROM boundaries b JOIN jurisdictions j "
                "ON j.id = b.jurisdiction_id WHERE j.name = :n"), {"n": name}).scalar_one())
    finally:
        engine.dispose()


def test_import_boundary_refuses_bad_files_and_changes_nothing(region: Cli,
                                                               tmp_path: Path) -> None:
    king = _checksum(region, "King County")
    audits = region.count("audit_events")
    broken = tmp_path / "broken.geojson"
    broken.write_text('{"type": "Polygon", "coordinates": [[[0, 0],\n [1, 0]')
    r = region("jurisdiction", "import-boundary", "King County", str(broken), code=2)
    assert "broken.geojson: the file is not valid JSON (line 2, column" in flat(r.stderr)
    r = region("jurisdiction", "import-boundary", "King County", str(tmp_path / "none.json"),
               code=1)
    assert "none.json: no such file" in flat(r.stderr)
    deep = tmp_path / "deep.geojson"  # issue 8, 2.9: was a RecursionError traceback
    deep.write_bytes(b'{"type": "Polygon", "coordinates": ' + b"[" * 100_000)
    r = region("jurisdiction", "import-boundary", "King County", str(deep), code=2)
    assert "deep.geojson: the JSON is nested too deeply" in flat(r.stderr)
    point = tmp_path / "point.geojson"
    point.write_text(json.dumps({"type": "Point", "coordinates": [-122.3, 47.6]}))
    r = region("jurisdiction", "import-boundary", "King County", str(point), code=2)
    assert "a boundary must be a Polygon or MultiPolygon, not Point" in flat(r.stderr)
    bowtie = tmp_path / "bowtie.geojson"
    bowtie.write_text(json.dumps(BOWTIE))
    r = region("jurisdiction", "import-boundary", "King County", str(bowtie), code=2)
    err = flat(r.stderr)
    assert "The boundary for King County was not accepted" in err
    assert "Self-intersection" in err and "repair" in err
    r = region("jurisdiction", "import-boundary", "No Such Place", str(bowtie), code=1)
    assert "No jurisdiction with id, GEOID or name 'No Such Place'" in flat(r.stderr)
    assert _checksum(region, "King County") == king
    assert region.count("audit_events") == audits
    # With --repair the bowtie is taken, and the repair is noted.
    ok = region("jurisdiction", "import-boundary", "53033", str(bowtie), "--repair")
    assert "note: Polygon: repaired (Self-intersection" in flat(ok.stdout)
    assert _checksum(region, "King County") != king
    assert region.count("audit_events") == audits + 1


def test_locate_by_point_and_zip(region: Cli) -> None:
    body = located(region, "--lon", DOWNTOWN[0], "--lat", DOWNTOWN[1])
    assert body["inside_region"] is True
    assert names(body) == ["State of Washington", "King County"]
    assert body["point"]["method"] == "coordinates"
    assert names(located(region, "--lon", TACOMA[0], "--lat", TACOMA[1])) == [
        "State of Washington", "Pierce County"]
    zip_body = located(region, "--zip", "98104")
    assert zip_body["point"]["method"] == "zcta-polygon"
    assert names(zip_body) == ["State of Washington", "King County"]
    text = flat(region("locate", "--zip", "98104").stdout)
    assert "(Census 2010 ZCTA polygon" in text  # says where the point came from
    assert "State / province State of Washington (GEOID 53)" in text
    assert "County King County (GEOID 53033)" in text
    tacoma_zip = located(region, "--zip", "98402")
    assert tacoma_zip["point"]["method"] == "zip-point"
    assert names(tacoma_zip) == ["State of Washington", "Pierce County"]


def test_locate_outside_exits_3(region: Cli) -> None:
    r = region("locate", "--lon", PACIFIC[0], "--lat", PACIFIC[1], code=3)
    assert "outside the region" in flat(r.stdout)
    # --json reports it as data, with success: a script reads inside_region.
    body = located(region, "--lon", PACIFIC[0], "--lat", PACIFIC[1])
    assert body["inside_region"] is False and body["jurisdictions"] == []


def test_locate_bad_input(region: Cli) -> None:
    assert "Give --lon and --lat, or --zip, or --address" in flat(region("locate", code=2).stderr)
    assert "Give --lon and --lat" in flat(region("locate", "--lon", "-122.3", code=2).stderr)
    assert "is not a 5-digit ZIP code" in flat(region("locate", "--zip", "9810",
                                                      code=2).stderr)
    assert "ZIP code 00000 is not in the ZIP tables" in flat(
        region("locate", "--zip", "00000", code=1).stderr)
    assert "not a longitude/latitude pair" in flat(
        region("locate", "--lon", "47.6", "--lat", "-122.3", code=2).stderr)
