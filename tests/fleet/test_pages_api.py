"""Fleet pages and /api/v1 on the demo region's synthetic fleet, on both databases: each page
shows its figures with their sources, synthetic data is labeled, hostile names are escaped
(pages, map data, exports), other members' vehicles do not exist for a member's staff, and
the API refuses bad rows with every problem."""

from __future__ import annotations

import csv
import io
import json
import re

import openpyxl
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from govshare.core.tenancy import Role
from govshare.fleet import service
from govshare.fleet.models import OdometerReading, Vehicle
from govshare.fleet.schemas import VehicleIn
from tests.conftest import login
from tests.factories.regions import api_key

HOSTILE = '=HYPERLINK("x")<img src=x onerror=alert(1)>'


def _city_vehicle(session: Session, ids: dict[str, int]) -> Vehicle:
    return session.scalars(select(Vehicle).where(Vehicle.jurisdiction_id == ids["city"])
                           .order_by(Vehicle.id)).first()  # type: ignore[return-value]


def test_the_pages_show_the_synthetic_fleet_with_its_sources(client: TestClient,
                                                             session: Session,
                                                             ids: dict[str, int]) -> None:
    login(client, "admin@demo.govshare.org")
    home = client.get("/fleet")
    assert home.status_code == 200
    assert "synthetic demo data" in home.text and "<svg" in home.text
    v = _city_vehicle(session, ids)
    page = client.get(f"/fleet/vehicles/{v.id}")
    assert page.status_code == 200
    assert "Synthetic demo vehicle" in page.text and "Odometer readings" in page.text
    rs = client.get("/fleet/rightsizing")
    assert rs.status_code == 200 and "NASA utilization rule" in rs.text
    assert "Argonne AFLEET" in rs.text
    pool = client.get("/fleet/pooling")
    assert pool.status_code == 200 and 'id="pool-data"' in pool.text
    data = json.loads(re.search(r'<script type="application/json" id="pool-data">(.*?)</script>',
                                pool.text, re.S).group(1))  # type: ignore[union-attr]
    assert data["clusters"] and all("label" in c for c in data["clusters"])
    el = client.get("/fleet/electrification")
    assert el.status_code == 200
    assert "EPA GHG Emission Factors Hub 2025" in el.text and el.text.count("<svg") >= 2
    # electric emissions are counted with each home site's grid factor from carbon
    assert "Electric emissions are counted" in el.text and "not counted" not in el.text
    assert "eGRID NWPP" in client.get(f"/fleet/vehicles/{v.id}").text


def test_hostile_names_are_escaped_in_pages_map_data_and_exports(
        client: TestClient, session: Session, ids: dict[str, int], system: object) -> None:
    v = service.create_vehicle(session=session, actor=system,  # type: ignore[arg-type]
                               jurisdiction_id=ids["city"],
                               data=VehicleIn(unit_id=HOSTILE[:60], vehicle_class="sedan",
                                              description=HOSTILE, home_lon=-122.33,
                                              home_lat=47.61))
    session.commit()
    login(client, "admin@demo.govshare.org")
    for url in ("/fleet", f"/fleet/vehicles/{v.id}", "/fleet/rightsizing"):
        text = client.get(url).text
        assert "<img src=x" not in text, url
    body = client.get("/fleet/rightsizing/export?fmt=csv").text
    rows = list(csv.reader(io.StringIO(body)))
    cell = next(r[1] for r in rows[1:] if "img" in r[1])
    assert cell.startswith("'")  # a spreadsheet would run =HYPERLINK as a formula otherwise
    inventory = list(csv.reader(io.StringIO(client.get("/fleet/export?fmt=csv").text)))
    assert any(r[1].startswith("'=HYPERLINK") for r in inventory[1:])
    xlsx = client.get("/fleet/electrification/export?fmt=xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None and sheet.max_row > 10


def test_a_members_staff_see_only_their_vehicles_and_no_pooling(
        client: TestClient, session: Session, ids: dict[str, int]) -> None:
    county_vehicle = session.scalars(select(Vehicle).where(
        Vehicle.jurisdiction_id == ids["county"])).first()
    assert county_vehicle is not None
    key = api_key(session, Role.jurisdiction_staff, ids["city"])
    session.commit()
    h = {"X-API-Key": key}
    listed = client.get("/api/v1/fleet/vehicles", params={"limit": 1000}, headers=h).json()
    assert listed["total"] > 10
    assert {x["jurisdiction_id"] for x in listed["items"]} == {ids["city"]}
    assert client.get(f"/api/v1/fleet/vehicles/{county_vehicle.id}", headers=h
                      ).status_code == 404
    assert client.get("/api/v1/fleet/pooling", headers=h).status_code == 403
    rs = client.get("/api/v1/fleet/rightsizing", params={"limit": 1000}, headers=h).json()
    assert {x["jurisdiction_id"] for x in rs["items"]} == {ids["city"]}


def test_the_api_registers_checks_readings_and_refuses_bad_files(
        client: TestClient, session: Session, ids: dict[str, int]) -> None:
    key = api_key(session, Role.jurisdiction_admin, ids["city"])
    session.commit()
    h = {"X-API-Key": key}
    r = client.post("/api/v1/fleet/vehicles", params={"jurisdiction_id": ids["city"]},
                    headers=h, json={"unit_id": "API-1", "vehicle_class": "pickup",
                                     "home_lon": -122.3, "home_lat": 47.6,
                                     "acquisition_cost_cents": 4_000_000})
    assert r.status_code == 201, r.text
    vid = r.json()["id"]
    bad = client.post("/api/v1/fleet/vehicles", params={"jurisdiction_id": ids["city"]},
                      headers=h, json={"unit_id": "API-2", "vehicle_class": "pickup",
                                       "acquisition_cost_cents": 1e300})
    assert bad.status_code == 422
    for when, miles in (("2025-01-01T08:00:00", 1000), ("2025-01-05T08:00:00", 1200),
                        ("2025-01-06T08:00:00", 91200), ("2025-01-09T08:00:00", 1400)):
        r = client.post(f"/api/v1/fleet/vehicles/{vid}/readings", headers=h,
                        json={"read_at": when, "miles": miles})
        assert r.status_code == 201, r.text
    verdicts = {r.miles: r.flag for r in session.scalars(
        select(OdometerReading).where(OdometerReading.vehicle_id == vid))}
    assert verdicts[1000] is None and verdicts[1200] is None and verdicts[1400] is None
    assert (verdicts[91200] or "").startswith("impossible jump: 90,000 miles in 1.0 days")
    trips = ("vehicle,started_at,ended_at,miles\n"
             "API-1,2025-02-01 08:00,2025-02-01 09:00,20\n"
             "API-1,2025-02-01 08:30,2025-02-01 10:00,20\n")
    r = client.post("/api/v1/fleet/imports/trips", params={"jurisdiction_id": ids["city"]},
                    headers=h, files={"file": ("t.csv", trips.encode(), "text/csv")})
    assert r.status_code == 422
    problem = r.json()
    assert problem["errors"][0]["row"] == 3 and "overlaps" in problem["errors"][0]["reason"]
    other = client.post("/api/v1/fleet/imports/trips", params={"jurisdiction_id": ids["county"]},
                        headers=h, files={"file": ("t.csv", trips.encode(), "text/csv")})
    assert other.status_code == 403
    s = client.post(f"/api/v1/fleet/vehicles/{vid}/status", headers=h,
                    json={"to_status": "disposed"})
    assert s.status_code == 409 and "cannot become disposed" in s.json()["detail"]


def test_per_class_thresholds_are_set_on_the_parameters_page(client: TestClient) -> None:
    login(client, "admin@demo.govshare.org")
    page = client.get("/fleet/parameters")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    bad = client.post("/fleet/parameters", data={"csrf_token": token, "underuse_sedan": "250"})
    assert bad.status_code == 422 and "Nothing was saved" in bad.text
    ok = client.post("/fleet/parameters", data={"csrf_token": token, "underuse_sedan": "10",
                                                "pool_radius_km": "2.5"},
                     follow_redirects=False)
    assert ok.status_code == 303
    params = client.get("/api/v1/fleet/parameters")
    assert params.json()["underuse_pct"]["sedan"] == 10 and params.json()["pool_radius_km"] == 2.5
    rs = client.get("/fleet/rightsizing").text
    assert "Sedan 10.0%" in rs and "Pickup 25.0%" in rs


def test_the_import_page_refuses_a_bad_log_with_its_problems_then_imports(
        client: TestClient, session: Session, ids: dict[str, int]) -> None:
    login(client, "seattle.staff@demo.govshare.org")
    page = client.get("/fleet/import")
    assert page.status_code == 200
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    unit = _city_vehicle(session, ids).unit_id
    bad = f"vehicle,started_at,ended_at,miles\n{unit},2024-06-01 08:00,2024-06-01 07:00,5\n"
    r = client.post("/fleet/import", data={"csrf_token": token, "jurisdiction_id":
                                           str(ids["city"]), "kind": "trips"},
                    files={"file": ("log.csv", bad.encode(), "text/csv")})
    assert r.status_code == 422 and "Nothing was imported" in r.text
    assert "the trip ends before it starts" in r.text
    link = re.search(r'href="(/fleet/import/report\?token=[^"]+)"', r.text).group(1)  # type: ignore[union-attr]
    report = client.get(link.replace("&amp;", "&"))
    assert report.status_code == 200 and "row,column,value,reason" in report.text
    good = f"vehicle,started_at,ended_at,miles\n{unit},2024-06-01 08:00,2024-06-01 09:00,5\n"
    ok = client.post("/fleet/import", data={"csrf_token": token, "jurisdiction_id":
                                            str(ids["city"]), "kind": "trips"},
                     files={"file": ("log.csv", good.encode(), "text/csv")})
    assert ok.status_code == 200 and "1 added" in ok.text
    other = client.post("/fleet/import", data={"csrf_token": token, "jurisdiction_id":
                                               str(ids["county"]), "kind": "trips"},
                        files={"file": ("log.csv", good.encode(), "text/csv")})
    assert other.status_code == 403


def test_a_vehicle_is_added_and_edited_on_a_page_with_its_errors_named(
        client: TestClient, session: Session, ids: dict[str, int]) -> None:
    from tests.conftest import csrf_from

    login(client, "seattle.staff@demo.govshare.org")
    assert 'href="/fleet/vehicles/new"' in client.get("/fleet").text
    form = client.get("/fleet/vehicles/new")
    assert form.status_code == 200 and 'name="model_year"' in form.text
    token = csrf_from(form.text)
    base = {"csrf_token": token, "jurisdiction_id": str(ids["city"]), "unit_id": "F-100",
            "vehicle_class": "pickup", "fuel_type": "gasoline", "make": HOSTILE}
    bad = client.post("/fleet/vehicles/new", data={**base, "model_year": "19x9",
                                                   "home_lon": "-122.3"})
    assert bad.status_code == 422
    assert "Model year" in bad.text and 'href="#model_year"' in bad.text
    assert "Nothing was saved" in bad.text and "<img src=x" not in bad.text
    assert session.scalar(select(Vehicle.id).where(Vehicle.unit_id == "F-100")) is None
    # another member's vehicle cannot be registered by the city's staff
    other = client.post("/fleet/vehicles/new", data={**base, "jurisdiction_id": str(ids["county"])})
    assert other.status_code == 403
    ok = client.post("/fleet/vehicles/new", data={**base, "model_year": "2019",
                                                  "home_lon": "-122.33", "home_lat": "47.6"},
                     follow_redirects=False)
    assert ok.status_code == 303, ok.text
    v = session.scalars(select(Vehicle).where(Vehicle.unit_id == "F-100")).one()
    assert (v.jurisdiction_id, v.model_year, v.make, v.status) == (ids["city"], 2019, HOSTILE,
                                                                   "active")
    page = client.get(f"/fleet/vehicles/{v.id}")
    assert f'href="/fleet/vehicles/{v.id}/edit"' in page.text
    edit = client.get(f"/fleet/vehicles/{v.id}/edit")
    assert edit.status_code == 200 and 'value="2019"' in edit.text
    assert "&lt;img src=x" in edit.text and "<img src=x" not in edit.text
    refused = client.post(f"/fleet/vehicles/{v.id}/edit",
                          data={"csrf_token": csrf_from(edit.text), "vehicle_class": "pickup",
                                "fuel_type": "diesel", "model_year": "2019",
                                "home_lon": "-122.33", "home_lat": "47.6",
                                "acquisition_cost_cents": "-5"})
    assert refused.status_code == 422 and "Acquisition cost, cents" in refused.text
    saved = client.post(f"/fleet/vehicles/{v.id}/edit",
                        data={"csrf_token": csrf_from(edit.text), "vehicle_class": "pickup",
                              "fuel_type": "diesel", "model_year": "2021",
                              "home_lon": "-122.33", "home_lat": "47.6"},
                        follow_redirects=False)
    assert saved.status_code == 303
    session.expire_all()
    v = session.get(Vehicle, v.id)  # type: ignore[assignment]
    assert (v.fuel_type, v.model_year, v.unit_id, v.make) == ("diesel", 2021, "F-100", None)


def test_the_import_and_add_links_are_offered_only_to_who_may_use_them(
        client: TestClient) -> None:
    login(client, "analyst@demo.govshare.org")
    home = client.get("/fleet")
    assert home.status_code == 200
    assert 'href="/fleet/import"' not in home.text
    assert 'href="/fleet/vehicles/new"' not in home.text
    assert client.get("/fleet/import").status_code == 403
    assert client.get("/fleet/vehicles/new").status_code == 403
    login(client, "admin@demo.govshare.org")
    assert 'href="/fleet/import"' in client.get("/fleet/electrification").text
