"""Address search (issue 9 §1): parsing US addresses, importing address points (OpenAddresses
CSV and GeoJSON; per-row errors, all or nothing, idempotent), matching tolerant of case and
abbreviations, ZIP codes that cross a member's limit, and the same answer from the page, the
API and the CLI. The demo region carries the Seattle benchmarking and school-site points."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from govshare.core import tabular
from govshare.core.tenancy import Principal
from govshare.geo import queries, service
from govshare.geo.calc import parse_address
from tests.conftest import login
from tests.factories.cli import Cli, fresh_cli

STONE = "12525 Stone Ave N, Seattle, WA 98133"


@pytest.mark.parametrize("typed", [
    "12525 Stone Ave N, Seattle, WA 98133", "12525 STONE AVENUE NORTH SEATTLE WA",
    "12525 stone ave. n.", "12525 Stone Avenue N 98133"])
def test_parse_tolerates_case_and_abbreviations(typed: str) -> None:
    parsed = parse_address(typed)
    assert parsed is not None
    assert parsed.key == "12525 STONE AVE N"


def test_parse_ordinals_and_non_addresses() -> None:
    assert parse_address("1000 Fourth Avenue").key == "1000 4TH AVE"  # type: ignore[union-attr]
    assert parse_address("98133") is None
    assert parse_address("Jane Addams") is None


def region_id(session: Session) -> int:
    return int(session.execute(__import__("sqlalchemy").text("SELECT id FROM regions")).scalar())


def test_demo_routes_stone_ave_to_seattle(session: Session) -> None:
    found = queries.search_address(session=session, region_id=region_id(session), text=STONE)
    assert found.found and found.result is not None
    names = [j.name for j in found.result.jurisdictions]
    assert "City of Seattle" in names
    assert found.result.point.method == "address-point"
    assert "benchmarking" in found.result.point.source
    # Same place, typed another way: case, spelled-out type and directional, no city.
    again = queries.search_address(session=session, region_id=region_id(session),
                                   text="12525 stone avenue north")
    assert again.result is not None and again.result.point == found.result.point


def test_ambiguous_and_unknown_addresses_are_not_guessed(session: Session) -> None:
    rid = region_id(session)
    two = queries.search_address(session=session, region_id=rid, text="1000 Fourth Avenue")
    assert not two.found and len(two.candidates) == 2
    assert {c.line.split(",")[0] for c in two.candidates} == {"1000 4TH AVE", "1000 4TH AVE S"}
    none = queries.search_address(session=session, region_id=rid, text="1 Nowhere St")
    assert not none.found and none.result is None and "pin on the map" in none.message
    # A named place (a school site) is found by its name.
    school = queries.search_address(session=session, region_id=rid, text="jane addams")
    assert school.found and school.result is not None
    assert school.result.point.method == "place-name"


def test_zip_crossing_a_limit_names_every_member_it_touches(session: Session) -> None:
    result = queries.locate_zip(session=session, region_id=region_id(session),
                                zip_code="98133")
    assert result.zip_split and not result.exact
    assert "City of Seattle" in [j.name for j in result.zip_members]
    assert "City of Seattle" not in [j.name for j in result.jurisdictions]  # the ZIP's point
    assert "crosses a member's limit" in result.message


OA_CSV = ("LON,LAT,NUMBER,STREET,UNIT,CITY,DISTRICT,REGION,POSTCODE,ID,HASH\n"
          "-122.30,47.60,100,Test Avenue North,,Seattle,,WA,98101,a,\n"
          "-122.31,47.61,200,Test Ave N,,Seattle,,WA,98101,b,\n")


def _import(session: Session, actor: Principal, data: str, name: str = "points.csv",
            source: str = "Test points 2026") -> Any:
    return service.import_address_points(session=session, actor=actor,
                                         region_id=region_id(session),
                                         stream=io.BytesIO(data.encode()), filename=name,
                                         source=source)


def test_import_is_idempotent_and_matched(session: Session, system: Principal) -> None:
    first = _import(session, system, OA_CSV)
    assert first.imported == 2 and first.replaced == 0
    again = _import(session, system, OA_CSV)
    assert again.imported == 2 and again.replaced == 2
    sources = dict(queries.address_point_sources(session=session,
                                                 region_id=region_id(session)))
    assert sources["Test points 2026"] == 2
    found = queries.search_address(session=session, region_id=region_id(session),
                                   text="100 test ave n")
    assert found.found and found.result is not None
    assert (found.result.point.lon, found.result.point.lat) == (-122.30, 47.60)


def test_import_geojson_points(session: Session, system: Principal) -> None:
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [-122.3, 47.6]},
         "properties": {"number": "300", "street": "Test Pl", "postcode": "98101",
                        "name": None}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [-122.32, 47.62]},
         "properties": {"number": None, "street": None, "postcode": None,
                        "name": "Test Hall"}}]}
    done = _import(session, system, json.dumps(doc), name="p.geojson")
    assert done.imported == 2 and done.places == 1


def test_import_bad_rows_all_or_nothing(session: Session, system: Principal) -> None:
    bad = OA_CSV + ("x,47.6,300,Test St,,,,,,c,\n-122.3,47.6,,,,,,,,d,\n"
                    "-1223000,47.6,5,A St,,,,,,e,\n")
    with pytest.raises(tabular.Refused) as info:
        _import(session, system, bad)
    problems = [(e.row, e.column, e.reason) for e in info.value.report]
    assert len(problems) == 3
    assert problems[0][0] == 4 and "numbers" in problems[0][2]
    assert "no address" in problems[1][2]
    assert "longitude/latitude" in problems[2][2]
    assert dict(queries.address_point_sources(
        session=session, region_id=region_id(session))).get("Test points 2026") is None
    with pytest.raises(tabular.Refused, match="columns"):
        _import(session, system, "A,B\n1,2\n")


def test_page_api_and_cli_agree(client: TestClient) -> None:
    api = client.get("/api/v1/locate/address", params={"q": STONE})
    assert api.status_code == 200
    body = api.json()
    assert body["found"] is True
    page = client.get("/locate", params={"address": STONE})
    assert page.status_code == 200
    for j in body["result"]["jurisdictions"]:
        assert j["name"] in page.text
    assert "12525 STONE AVE N" in page.text
    zip_page = client.get("/locate", params={"zip": "98133"})
    assert "touches" in zip_page.text and "City of Seattle" in zip_page.text


def test_address_points_page(client: TestClient) -> None:
    login(client, "admin@demo.govshare.org")
    page = client.get("/admin/address-points")
    assert page.status_code == 200
    assert "school sites" in page.text and "benchmarking" in page.text


@pytest.fixture(params=["sqlite"])
def demo_cli(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    with fresh_cli(request.param, tmp_path, "addrcli") as c:
        # `govshare demo` from an empty database (the CLI modules use copies of the built one)
        out = c("demo").stdout
        assert "built." in out and "already built" not in out
        yield c


def test_cli_locate_address_json(demo_cli: Cli, tmp_path: Path) -> None:
    out = json.loads(demo_cli("locate", "--address", STONE, "--json").stdout)
    assert out["found"] and "City of Seattle" in [
        j["name"] for j in out["result"]["jurisdictions"]]
    demo_cli("locate", "--address", "1 Nowhere St", code=4)
    bad = tmp_path / "bad.csv"
    bad.write_text("LON,LAT,NUMBER,STREET\nx,1,2,A St\n")
    report = tmp_path / "report.csv"
    demo_cli("address-points", "import", str(bad), "--source", "t", "--report", str(report),
             code=2)
    assert "row,column,value,reason" in report.read_text().splitlines()[0].lower()


def test_online_geocoder_is_off_by_default_and_used_only_when_set(session: Session,
                                                                  settings: Any) -> None:
    import httpx

    assert service.online_geocoder(settings) is None  # default: nothing asked online
    asked: list[str] = []

    def census(request: httpx.Request) -> httpx.Response:  # the Census Geocoder's answer shape
        asked.append(request.url.params["address"])
        return httpx.Response(200, json={"result": {"addressMatches": [{
            "matchedAddress": "1 NOWHERE ST, SEATTLE, WA, 98101",
            "coordinates": {"x": -122.3351, "y": 47.6080}}]}})

    on = settings.model_copy(update={"geocoder": "census"})
    online = service.online_geocoder(on, transport=httpx.MockTransport(census))
    found = queries.search_address(session=session, region_id=region_id(session),
                                   text="1 Nowhere St, Seattle", online=online)
    assert found.found and found.result is not None
    assert found.result.point.method == "census-geocoder" and asked == ["1 Nowhere St, Seattle"]
    # An address among the points is never sent out.
    queries.search_address(session=session, region_id=region_id(session), text=STONE,
                           online=online)
    assert len(asked) == 1

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("no network")

    offline = service.online_geocoder(on, transport=httpx.MockTransport(down))
    missing = queries.search_address(session=session, region_id=region_id(session),
                                     text="1 Nowhere St", online=offline)
    assert not missing.found and "pin on the map" in missing.message


def test_tile_server_setting_and_csp(tmp_path: Path) -> None:
    from govshare.core.settings import Settings, SettingsError
    from govshare.web.app import create_app

    s = Settings(map_tile_url="https://tiles.example.org/{z}/{x}/{y}.png",
                 map_tile_attribution="© Example", data_dir=tmp_path, secret_key="t" * 40)
    assert s.map_tile_origin == "https://tiles.example.org"
    with pytest.raises((SettingsError, ValueError)):
        Settings(map_tile_url="http://tiles.example.org/{z}/{x}/{y}.png", data_dir=tmp_path)
    with TestClient(create_app(s)) as c:
        r = c.get("/healthz")
        assert "img-src 'self' data: https://tiles.example.org;" in \
            r.headers["content-security-policy"]
    plain = Settings(data_dir=tmp_path, secret_key="t" * 40)
    with TestClient(create_app(plain)) as c:
        assert "tiles.example.org" not in c.get("/healthz").headers["content-security-policy"]
