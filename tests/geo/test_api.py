"""Geo JSON API: /api/v1/locate, /api/v1/boundaries.geojson, a member's boundary (GET, PUT).

Runs on SQLite and PostgreSQL against the seeded demo region.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from shapely.geometry import Point, box, mapping, shape
from sqlalchemy.orm import Session

from govshare.core.audit import AuditEvent
from govshare.core.tenancy import Role
from tests.conftest import csrf_from, login
from tests.factories.regions import api_key

DOWNTOWN = {"lon": -122.3351, "lat": 47.6080}
TACOMA = {"lon": -122.4443, "lat": 47.2529}
PACIFIC = {"lon": -125.5, "lat": 47.0}
DEMO_ALL = ["State of Washington", "King County", "City of Seattle", "Seattle Public Schools",
            "Port of Seattle"]
BOWTIE = {"type": "Polygon", "coordinates": [[[-122.3, 47.5], [-122.2, 47.6], [-122.2, 47.5],
                                              [-122.3, 47.6], [-122.3, 47.5]]]}


def names(body: dict[str, Any]) -> list[str]:
    return [j["name"] for j in body["jurisdictions"]]


def assert_problem(r: Any, status: int, detail: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    assert body["status"] == status
    if detail is not None:
        assert detail in body["detail"], body["detail"]
    return body


def bearer(session: Session, role: Role, jurisdiction_id: int | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key(session, role, jurisdiction_id)}"}


# ----------------------------------------------------------------------------- locate


def test_locate_downtown_seattle(client: TestClient) -> None:
    r = client.get("/api/v1/locate", params=DOWNTOWN)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert body["inside_region"] is True
    assert names(body) == DEMO_ALL
    assert body["point"] == {"lon": -122.3351, "lat": 47.608, "method": "coordinates",
                             "zip": None, "source": "given coordinates", "matched": None,
                             "exact": True}
    assert {"id", "name", "kind", "kind_label", "geoid"} == set(body["jurisdictions"][0])
    assert body["jurisdictions"][1]["geoid"] == "53033"


def test_locate_tacoma_and_the_pacific(client: TestClient) -> None:
    assert names(client.get("/api/v1/locate", params=TACOMA).json()) == ["State of Washington"]
    r = client.get("/api/v1/locate", params=PACIFIC)
    assert r.status_code == 200  # a point outside the region is an answer, not an error
    body = r.json()
    assert body["inside_region"] is False and body["jurisdictions"] == []
    assert "outside the region" in body["message"]


def test_locate_by_zip(client: TestClient) -> None:
    body = client.get("/api/v1/locate", params={"zip": "98104"}).json()
    assert body["point"]["method"] == "zcta-polygon" and body["point"]["zip"] == "98104"
    assert names(body) == DEMO_ALL
    body = client.get("/api/v1/locate", params={"zip": "98402"}).json()
    assert body["point"]["method"] == "zip-point"
    assert names(body) == ["State of Washington"]


def test_unknown_zip_is_404(client: TestClient) -> None:
    assert_problem(client.get("/api/v1/locate", params={"zip": "00000"}), 404,
                   "ZIP code 00000 is not in the ZIP tables")


@pytest.mark.parametrize("bad", ["9810", "981045", "abcde", "98104-1234x", ""])
def test_malformed_zip_is_422(client: TestClient, bad: str) -> None:
    body = assert_problem(client.get("/api/v1/locate", params={"zip": bad}), 422)
    assert body["errors"][0]["loc"] == ["query", "zip"]


@pytest.mark.parametrize(("params", "detail"), [
    ({"zip": "98104", "lon": -122.3, "lat": 47.6}, "not both"),
    ({"zip": "98104", "lon": -122.3}, "not both"),
    ({}, "Give lon and lat"),
    ({"lon": -122.3}, "Give lon and lat"),
    ({"lat": 47.6}, "Give lon and lat"),
])
def test_locate_needs_exactly_one_way_of_saying_where(client: TestClient,
                                                      params: dict[str, Any],
                                                      detail: str) -> None:
    assert_problem(client.get("/api/v1/locate", params=params), 400, detail)


@pytest.mark.parametrize("params", [{"lon": 200, "lat": 47.6}, {"lon": -122.3, "lat": -91},
                                    {"lon": "west", "lat": 47.6}, {"lon": "nan", "lat": 47.6}])
def test_locate_refuses_impossible_coordinates(client: TestClient,
                                               params: dict[str, Any]) -> None:
    r = client.get("/api/v1/locate", params=params)
    assert r.status_code in (400, 422), r.text
    assert r.headers["content-type"].startswith("application/problem+json")


# ----------------------------------------------------------------------------- GeoJSON


def check_rfc7946_geometry(geom: dict[str, Any]) -> None:
    assert geom["type"] in ("Polygon", "MultiPolygon")
    polys = [geom["coordinates"]] if geom["type"] == "Polygon" else geom["coordinates"]
    for rings in polys:
        for k, ring in enumerate(rings):
            assert ring[0] == ring[-1] and len(ring) >= 4
            assert all(-180 <= x <= 180 and -90 <= y <= 90 for x, y in ring)
            # Right-hand rule (RFC 7946 3.1.6): exterior counter-clockwise, holes clockwise.
            signed = sum(x0 * y1 - x1 * y0
                         for (x0, y0), (x1, y1) in zip(ring, ring[1:], strict=False))
            assert (signed > 0) == (k == 0)


def test_boundaries_geojson_is_an_rfc7946_feature_collection(client: TestClient) -> None:
    r = client.get("/api/v1/boundaries.geojson")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/geo+json"
    assert "max-age" in r.headers["cache-control"]
    doc = r.json()
    assert doc["type"] == "FeatureCollection"
    assert "crs" not in doc  # RFC 7946 dropped "crs": WGS84 lon/lat is implied
    assert len(doc["features"]) == 5
    assert sorted(f["properties"]["name"] for f in doc["features"]) == sorted(DEMO_ALL)
    for f in doc["features"]:
        assert f["type"] == "Feature"
        assert isinstance(f["id"], int | str)
        assert set(f["properties"]) >= {"name", "kind", "kind_label", "geoid", "area_km2",
                                        "source"}
        check_rfc7946_geometry(f["geometry"])
        assert shape(f["geometry"]).is_valid
    seattle = next(f for f in doc["features"] if f["properties"]["name"] == "City of Seattle")
    assert shape(seattle["geometry"]).contains(Point(DOWNTOWN["lon"], DOWNTOWN["lat"]))


def test_boundaries_geojson_simplified_is_smaller_and_still_rfc7946(client: TestClient) -> None:
    full = client.get("/api/v1/boundaries.geojson")
    r = client.get("/api/v1/boundaries.geojson", params={"simplify": 0.01})
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    assert len(r.content) < len(full.content) / 2
    for f in r.json()["features"]:
        check_rfc7946_geometry(f["geometry"])
    assert_problem(client.get("/api/v1/boundaries.geojson", params={"simplify": 1}), 422)


def test_one_members_boundary(client: TestClient, ids: dict[str, int]) -> None:
    r = client.get(f"/api/v1/jurisdictions/{ids['county']}/boundary")
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    feature = r.json()
    assert feature["type"] == "Feature" and feature["id"] == ids["county"]
    assert "Census" in feature["properties"]["source"]
    check_rfc7946_geometry(feature["geometry"])
    assert_problem(client.get("/api/v1/jurisdictions/999999/boundary"), 404)


# ----------------------------------------------------------------------------- PUT boundary


def city_state(session: Session, city: int) -> tuple[str, int]:
    checksum = session.scalar(sa.text("SELECT checksum FROM boundaries WHERE jurisdiction_id "
                                      "= :j"), {"j": city})
    audits = session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) or 0
    return str(checksum), audits


def test_put_boundary_needs_a_regional_admin(client: TestClient, session: Session,
                                             ids: dict[str, int]) -> None:
    url = f"/api/v1/jurisdictions/{ids['city']}/boundary"
    square = mapping(box(-122.25, 47.55, -122.10, 47.70))
    before = city_state(session, ids["city"])
    assert_problem(client.put(url, json=square), 401)
    assert_problem(client.put(url, json=square,
                              headers={"Authorization": "Bearer gsk_not_a_real_key"}), 401)
    for role, jid in ((Role.regional_analyst, None), (Role.jurisdiction_admin, ids["city"]),
                      (Role.jurisdiction_staff, ids["city"])):
        assert_problem(client.put(url, json=square, headers=bearer(session, role, jid)), 403)
    assert city_state(session, ids["city"])[0] == before[0]


def test_put_boundary_replaces_it_and_locate_follows(client: TestClient, session: Session,
                                                     ids: dict[str, int]) -> None:
    url = f"/api/v1/jurisdictions/{ids['city']}/boundary"
    headers = bearer(session, Role.regional_admin)
    bellevue = {"lon": -122.2015, "lat": 47.6101}
    assert "City of Seattle" not in names(client.get("/api/v1/locate", params=bellevue).json())
    square = mapping(box(-122.25, 47.55, -122.10, 47.70))
    r = client.put(url, json={"type": "Feature", "properties": {}, "geometry": square},
                   params={"source": "test upload"}, headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["jurisdiction_id"] == ids["city"]
    assert body["bbox"] == pytest.approx([-122.25, 47.55, -122.10, 47.70])
    assert body["source"] == "test upload" and body["repaired"] is False
    assert body["area_km2"] == pytest.approx(0.15 * 0.15 * 111.32 ** 2 * 0.6743, rel=0.01)
    assert "City of Seattle" in names(client.get("/api/v1/locate", params=bellevue).json())
    assert "City of Seattle" not in names(client.get("/api/v1/locate", params=DOWNTOWN).json())
    stored = client.get(url).json()
    assert hashlib.sha256(json.dumps(stored["geometry"], separators=(",", ":")).encode()
                          ).hexdigest() == city_state(session, ids["city"])[0]


def test_put_a_self_intersecting_boundary_is_422_and_changes_nothing(
        client: TestClient, session: Session, ids: dict[str, int]) -> None:
    url = f"/api/v1/jurisdictions/{ids['city']}/boundary"
    headers = bearer(session, Role.regional_admin)
    before = city_state(session, ids["city"])
    body = assert_problem(client.put(url, json=BOWTIE, headers=headers), 422,
                          "The boundary for City of Seattle was not accepted")
    assert "Self-intersection" in body["detail"]
    assert body["errors"][0]["loc"] == ["geojson"]
    assert city_state(session, ids["city"]) == before
    assert names(client.get("/api/v1/locate", params=DOWNTOWN).json()) == DEMO_ALL
    # With repair on, it is accepted and the repair is reported.
    r = client.put(url, json=BOWTIE, params={"repair": "true"}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["repaired"] is True
    assert r.json()["notes"] == ["Polygon: repaired (Self-intersection[-122.25 47.55])"]
    checksum, audits = city_state(session, ids["city"])
    assert checksum != before[0] and audits == before[1] + 1


@pytest.mark.parametrize(("payload", "status"), [
    ({"type": "Point", "coordinates": [-122.3, 47.6]}, 422),
    ({"type": "Polygon", "coordinates": [[[-122.3, 47.5], [-122.2, 47.5], [-122.3, 47.5]]]},
     422),
    ({"type": "FeatureCollection", "features": []}, 422),
    ({"nothing": "here"}, 422),
])
def test_put_malformed_geojson_is_refused(client: TestClient, session: Session,
                                          ids: dict[str, int], payload: dict[str, Any],
                                          status: int) -> None:
    url = f"/api/v1/jurisdictions/{ids['city']}/boundary"
    before = city_state(session, ids["city"])
    assert_problem(client.put(url, json=payload, headers=bearer(session, Role.regional_admin)),
                   status)
    assert city_state(session, ids["city"])[0] == before[0]


def test_put_a_body_that_is_not_json_is_422(client: TestClient, session: Session,
                                            ids: dict[str, int]) -> None:
    headers = bearer(session, Role.regional_admin) | {"Content-Type": "application/json"}
    r = client.put(f"/api/v1/jurisdictions/{ids['city']}/boundary", content=b"{not json",
                   headers=headers)
    assert_problem(r, 422)


def test_put_boundary_of_an_unknown_jurisdiction_is_404(client: TestClient,
                                                        session: Session) -> None:
    r = client.put("/api/v1/jurisdictions/999999/boundary", json=mapping(box(0, 0, 1, 1)),
                   headers=bearer(session, Role.regional_admin))
    assert_problem(r, 404)


DEEP = b'{"type": "Polygon", "coordinates": ' + b"[" * 100_000


def test_put_json_nested_100000_deep_is_a_4xx(client: TestClient, session: Session,
                                              ids: dict[str, int]) -> None:
    """Issue 8, 2.9: 100,000 nested '[' in a boundary must get its 4xx, not a crash."""
    headers = bearer(session, Role.regional_admin) | {"Content-Type": "application/json"}
    before = city_state(session, ids["city"])
    r = client.put(f"/api/v1/jurisdictions/{ids['city']}/boundary", content=DEEP,
                   headers=headers)
    assert 400 <= r.status_code < 500
    assert r.headers["content-type"].startswith("application/problem+json")
    assert city_state(session, ids["city"]) == before


def test_boundary_page_refuses_json_nested_100000_deep(client: TestClient, session: Session,
                                                       ids: dict[str, int]) -> None:
    """Issue 8, 2.9: the upload page parsed the file with json.loads: RecursionError, a 500."""
    login(client, "admin@demo.govshare.org")
    url = f"/admin/jurisdictions/{ids['city']}/boundary"
    before = city_state(session, ids["city"])
    form = {"csrf_token": csrf_from(client.get(url).text)}
    r = client.post(url, data=form, files={"file": ("deep.geojson", DEEP, "application/json")})
    assert r.status_code == 400
    assert "The JSON is nested too deeply" in r.text
    assert city_state(session, ids["city"]) == before
