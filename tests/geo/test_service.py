"""Geo service and queries against the real demo boundaries, on SQLite and PostgreSQL.

The demo region "Seattle - King County, WA" is seeded by ``tests/conftest.py``: Washington and
King County from the Census us-atlas file, the City of Seattle from its published limits,
Seattle Public Schools with the city's boundary and the Port of Seattle with King County's.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from shapely.geometry import Point, box, mapping, shape
from sqlalchemy.orm import Session

from govshare.core.audit import AuditEvent
from govshare.core.errors import BadRequest, Conflict, Forbidden, NotFound, ValidationFailed
from govshare.core.settings import Settings
from govshare.core.tenancy import Principal, Role
from govshare.geo import queries, service
from govshare.geo.models import Boundary
from govshare.regions import queries as regions_queries
from govshare.regions import service as regions_service
from govshare.regions.models import Jurisdiction, Region
from govshare.regions.schemas import JurisdictionCreate, JurisdictionKind
from tests.conftest import US_ATLAS
from tests.factories.regions import principal

DOWNTOWN = (-122.3351, 47.6080)
TACOMA = (-122.4443, 47.2529)
PACIFIC = (-125.5, 47.0)
BELLEVUE = (-122.2015, 47.6101)  # King County, not Seattle
DEMO_ALL = ["State of Washington", "King County", "City of Seattle", "Seattle Public Schools",
            "Port of Seattle"]
BOWTIE = {"type": "Polygon", "coordinates": [[[-122.3, 47.5], [-122.2, 47.6], [-122.2, 47.5],
                                              [-122.3, 47.6], [-122.3, 47.5]]]}


def region_id(session: Session) -> int:
    region = regions_queries.current_region(session=session)
    assert region is not None
    return region.id


def names(result: Any) -> list[str]:
    return [j.name for j in result.jurisdictions]


def km_between(a: tuple[float, float], b: tuple[float, float]) -> float:
    dx = (a[0] - b[0]) * 111.32 * math.cos(math.radians((a[1] + b[1]) / 2))
    dy = (a[1] - b[1]) * 110.57
    return math.hypot(dx, dy)


def count(session: Session, model: type) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model)) or 0


def counts(session: Session) -> tuple[int, ...]:
    return tuple(count(session, m) for m in (Region, Jurisdiction, Boundary, AuditEvent))


def boundary_state(session: Session, jurisdiction_id: int) -> tuple[str, str, str]:
    row = queries.get_boundary(session=session, jurisdiction_id=jurisdiction_id)
    assert row is not None
    session.refresh(row)
    return row.checksum, row.source, row.geojson


# ----------------------------------------------------------------------------- locate


def test_downtown_seattle_is_served_by_all_five_members(session: Session) -> None:
    result = queries.locate(session=session, region_id=region_id(session), lon=DOWNTOWN[0],
                            lat=DOWNTOWN[1])
    assert result.inside_region
    assert names(result) == DEMO_ALL  # broadest first: state, county, city, districts
    assert [j.kind for j in result.jurisdictions] == [
        "state", "county", "city", "school_district", "special_district"]
    assert result.jurisdictions[0].geoid == "53" and result.jurisdictions[1].geoid == "53033"
    assert result.point.method == "coordinates"
    assert result.message == "Served here by: " + ", ".join(DEMO_ALL)


def test_tacoma_is_in_washington_only(session: Session) -> None:
    result = queries.locate(session=session, region_id=region_id(session), lon=TACOMA[0],
                            lat=TACOMA[1])
    assert result.inside_region
    assert names(result) == ["State of Washington"]


def test_bellevue_is_in_king_county_but_not_seattle(session: Session) -> None:
    result = queries.locate(session=session, region_id=region_id(session), lon=BELLEVUE[0],
                            lat=BELLEVUE[1])
    assert names(result) == ["State of Washington", "King County", "Port of Seattle"]


def test_the_pacific_is_outside_with_a_clear_message(session: Session) -> None:
    result = queries.locate(session=session, region_id=region_id(session), lon=PACIFIC[0],
                            lat=PACIFIC[1])
    assert not result.inside_region
    assert result.jurisdictions == []
    assert result.message == ("The point (-125.50000, 47.00000) is outside the region: no "
                              "member jurisdiction's boundary contains it.")


@pytest.mark.parametrize(("lon", "lat"), [(47.6, -122.3), (200.0, 0.0), (0.0, 91.0),
                                          (float("nan"), 47.0)])
def test_coordinates_out_of_range_are_a_bad_request(session: Session, lon: float,
                                                    lat: float) -> None:
    with pytest.raises(BadRequest, match="not a longitude/latitude pair"):
        queries.locate(session=session, region_id=region_id(session), lon=lon, lat=lat)


# ----------------------------------------------------------------------------- ZIP codes


def test_zip_98104_uses_the_zcta_polygon_and_lands_downtown(session: Session) -> None:
    result = queries.locate_zip(session=session, region_id=region_id(session), zip_code="98104")
    p = result.point
    assert (p.method, p.zip) == ("zcta-polygon", "98104")
    assert "ZCTA" in p.source
    assert km_between((p.lon, p.lat), DOWNTOWN) < 1.5
    assert names(result) == DEMO_ALL
    # The GeoNames point for the same ZIP is ~40 km south-east, outside the city: the reason
    # the ZCTA polygon wins where we have it.
    rough = queries._zip_points()["98104"]
    assert 30 < km_between(rough, DOWNTOWN) < 50
    rough_result = queries.locate(session=session, region_id=region_id(session), lon=rough[0],
                                  lat=rough[1])
    assert "City of Seattle" not in names(rough_result)


def test_zip_plus_four_is_located_by_its_zip(session: Session) -> None:
    result = queries.locate_zip(session=session, region_id=region_id(session),
                                zip_code=" 98104-1234 ")
    assert result.point.zip == "98104" and result.point.method == "zcta-polygon"


def test_a_zip_outside_seattles_zcta_file_falls_back_to_the_point_table(session: Session
                                                                         ) -> None:
    result = queries.locate_zip(session=session, region_id=region_id(session), zip_code="98402")
    p = result.point
    assert (p.method, p.zip) == ("zip-point", "98402")
    assert "GeoNames" in p.source and "rough" in p.source
    assert km_between((p.lon, p.lat), TACOMA) < 5
    assert names(result) == ["State of Washington"]


def test_unknown_zip_is_not_found(session: Session) -> None:
    with pytest.raises(NotFound, match="ZIP code 00000 is not in the ZIP tables"):
        queries.locate_zip(session=session, region_id=region_id(session), zip_code="00000")


@pytest.mark.parametrize("bad", ["9810", "abcde", "981045", "98104x", "98104-12", "", " "])
def test_malformed_zip_is_a_bad_request(session: Session, bad: str) -> None:
    with pytest.raises(BadRequest, match="is not a 5-digit ZIP code"):
        queries.locate_zip(session=session, region_id=region_id(session), zip_code=bad)


# ----------------------------------------------------------------------------- the index cache


def test_the_index_is_cached_while_boundaries_are_unchanged(session: Session) -> None:
    rid = region_id(session)
    first = queries.point_index(session=session, region_id=rid)
    assert queries.point_index(session=session, region_id=rid) is first
    assert len(first) == 5


def test_the_index_refreshes_when_a_boundary_changes(session: Session, system: Principal,
                                                     ids: dict[str, int]) -> None:
    rid = region_id(session)
    before = queries.locate(session=session, region_id=rid, lon=BELLEVUE[0], lat=BELLEVUE[1])
    assert "City of Seattle" not in names(before)
    old_index = queries.point_index(session=session, region_id=rid)
    # Move "Seattle" east over Bellevue, in this process, without a restart.
    east = box(-122.25, 47.55, -122.10, 47.70)
    service.set_boundary(session=session, actor=system, jurisdiction_id=ids["city"],
                         geojson=mapping(east), source="test: moved east")
    after = queries.locate(session=session, region_id=rid, lon=BELLEVUE[0], lat=BELLEVUE[1])
    assert "City of Seattle" in names(after)
    downtown = queries.locate(session=session, region_id=rid, lon=DOWNTOWN[0], lat=DOWNTOWN[1])
    assert "City of Seattle" not in names(downtown)
    assert "Seattle Public Schools" in names(downtown)  # its own copy did not move
    assert queries.point_index(session=session, region_id=rid) is not old_index


def test_a_member_without_a_boundary_is_never_located(session: Session, system: Principal,
                                                      ids: dict[str, int]) -> None:
    regions_service.add_jurisdiction(
        session=session, actor=system, region_id=region_id(session),
        data=JurisdictionCreate(name="King County Library System",
                                kind=JurisdictionKind.special_district,
                                parent_id=ids["county"]))
    result = queries.locate(session=session, region_id=region_id(session), lon=DOWNTOWN[0],
                            lat=DOWNTOWN[1])
    assert names(result) == DEMO_ALL


# ----------------------------------------------------------------------------- set_boundary


@pytest.mark.parametrize(("geojson", "reason"), [
    ({"type": "Polygon", "coordinates": [[[-122.3, 47.5], [-122.2, 47.5], [-122.2, 47.6]]]},
     "fewer than 4 positions"),
    ({"type": "Polygon", "coordinates": [[[-122.3, 47.5], [-122.2, 47.5], [-122.2, 47.6],
                                          [-122.3, 47.6]]]}, "is not closed"),
    ({"type": "Point", "coordinates": [-122.3, 47.6]}, "not Point"),
    ({"type": "FeatureCollection", "features": []}, "no Polygon or MultiPolygon"),
    ({"type": "Polygon", "coordinates": [[[47.5, -122.3], [47.5, -122.2], [47.6, -122.2],
                                          [47.5, -122.3]]]}, "lat/lon swapped"),
    ({"type": "Polygon", "coordinates": [[["a", 47.5], [-122.2, 47.5], [-122.2, 47.6],
                                          ["a", 47.5]]]}, "not a [longitude, latitude] pair"),
    (BOWTIE, "Self-intersection"),
])
def test_a_bad_boundary_is_refused_and_nothing_changes(
        session: Session, system: Principal, ids: dict[str, int], geojson: dict[str, Any],
        reason: str) -> None:
    before = boundary_state(session, ids["city"])
    audit_before = count(session, AuditEvent)
    rid = region_id(session)
    with pytest.raises(ValidationFailed) as info:
        service.set_boundary(session=session, actor=system, jurisdiction_id=ids["city"],
                             geojson=geojson, source="test")
    err = info.value
    assert err.detail.startswith("The boundary for City of Seattle was not accepted: ")
    assert reason in err.detail
    assert err.errors and all(e["loc"] == ["geojson"] for e in err.errors)
    assert boundary_state(session, ids["city"]) == before
    assert count(session, AuditEvent) == audit_before
    result = queries.locate(session=session, region_id=rid, lon=DOWNTOWN[0], lat=DOWNTOWN[1])
    assert names(result) == DEMO_ALL


def test_a_self_intersecting_boundary_is_accepted_with_repair_and_audited(
        session: Session, system: Principal, ids: dict[str, int]) -> None:
    before_checksum = boundary_state(session, ids["city"])[0]
    row, checked = service.set_boundary(session=session, actor=system,
                                        jurisdiction_id=ids["city"], geojson=BOWTIE,
                                        source="test bowtie", repair=True)
    assert checked.repaired and checked.notes[0].startswith("Polygon: repaired (Self-inter")
    assert row.checksum != before_checksum and row.source == "test bowtie"
    assert len(json.loads(row.geojson)["coordinates"]) == 2  # two lobes
    event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "boundary.set")
                            .order_by(AuditEvent.id.desc())).first()
    assert event is not None and event.jurisdiction_id == ids["city"]
    assert event.before is not None and event.before["checksum"] == before_checksum
    assert event.after is not None and event.after["checksum"] == row.checksum
    assert event.after["repaired"] is True
    assert event.actor == system.ref


def test_a_stored_boundary_is_rfc7946_and_matches_its_checksum(session: Session,
                                                               ids: dict[str, int]) -> None:
    for key in ("state", "county", "city"):
        row = queries.get_boundary(session=session, jurisdiction_id=ids[key])
        assert row is not None
        assert hashlib.sha256(row.geojson.encode()).hexdigest() == row.checksum
        geom = shape(json.loads(row.geojson))
        assert geom.geom_type == "MultiPolygon" and geom.is_valid
        assert all(p.exterior.is_ccw for p in geom.geoms)
        assert (row.min_lon, row.min_lat, row.max_lon, row.max_lat) == pytest.approx(
            geom.bounds)
    king = queries.get_boundary(session=session, jurisdiction_id=ids["county"])
    port = queries.get_boundary(session=session, jurisdiction_id=ids["port"])
    assert king is not None and port is not None
    assert port.checksum == king.checksum and "King County" in port.source
    assert 5400 < king.area_km2 < 6000


def test_only_a_regional_admin_may_set_a_boundary(session: Session, ids: dict[str, int]) -> None:
    square = mapping(box(-122.3, 47.5, -122.2, 47.6))
    for role, jid in ((Role.regional_analyst, None), (Role.jurisdiction_admin, ids["city"])):
        with pytest.raises(Forbidden):
            service.set_boundary(session=session, actor=principal(role, jid),
                                 jurisdiction_id=ids["city"], geojson=square, source="x")
    row, _ = service.set_boundary(session=session, actor=principal(Role.regional_admin),
                                  jurisdiction_id=ids["city"], geojson=square, source="x")
    assert row.area_km2 == pytest.approx(7.5 * 11.1, rel=0.05)


def test_set_boundary_on_an_unknown_jurisdiction_is_not_found(session: Session,
                                                              system: Principal) -> None:
    with pytest.raises(NotFound):
        service.set_boundary(session=session, actor=system, jurisdiction_id=999_999,
                             geojson=mapping(box(0, 0, 1, 1)), source="x")


def test_set_boundary_from_file_reports_unreadable_files(session: Session, system: Principal,
                                                         ids: dict[str, int],
                                                         tmp_path: Path) -> None:
    missing = tmp_path / "missing.geojson"
    with pytest.raises(NotFound, match="no such file"):
        service.set_boundary_from_file(session=session, actor=system,
                                       jurisdiction_id=ids["city"], path=missing)
    broken = tmp_path / "broken.geojson"
    broken.write_text('{"type": "Polygon", "coordinates": [[[0, 0], [1, 0]')
    with pytest.raises(BadRequest, match=r"not valid JSON \(line 1, column"):
        service.set_boundary_from_file(session=session, actor=system,
                                       jurisdiction_id=ids["city"], path=broken)
    latin1 = tmp_path / "latin1.geojson"
    latin1.write_bytes('{"name": "Bogotá"}'.encode("latin-1"))
    with pytest.raises(BadRequest, match="not UTF-8"):
        service.set_boundary_from_file(session=session, actor=system,
                                       jurisdiction_id=ids["city"], path=latin1)


# ----------------------------------------------------------------------------- Census regions


def test_unknown_geoids_are_all_listed_and_nothing_is_written(session: Session,
                                                              system: Principal,
                                                              settings: Settings) -> None:
    before = counts(session)
    with pytest.raises(NotFound) as info:
        service.create_region_from_census(
            session=session, actor=system, name="Nowhere", states=["53", "99"],
            counties=["53033", "53999", "99001", "53053"], atlas_dir=settings.us_atlas_dir)
    assert info.value.detail == ("Unknown GEOID(s), not in the Census boundary files: "
                                 "state 99, county 53999, county 99001")
    assert counts(session) == before
    assert regions_queries.region_by_name(session=session, name="Nowhere") is None


def test_malformed_fips_codes_are_all_listed(session: Session, system: Principal,
                                             settings: Settings) -> None:
    before = counts(session)
    with pytest.raises(BadRequest, match="Not county FIPS codes \\(5 digits\\): 5303x, 530330"):
        service.create_region_from_census(
            session=session, actor=system, name="Nowhere", states=["53"],
            counties=["5303x", "530330", "53033"], atlas_dir=settings.us_atlas_dir)
    with pytest.raises(BadRequest, match="at least one state"):
        service.create_region_from_census(session=session, actor=system, name="Nowhere",
                                          states=[], counties=[" "],
                                          atlas_dir=settings.us_atlas_dir)
    assert counts(session) == before


def test_a_county_with_no_usable_census_boundary_is_refused_up_front(
        session: Session, system: Principal, settings: Settings) -> None:
    # Falls Church city, VA collapses to a zero-area ring in the 1:10m file.
    before = counts(session)
    with pytest.raises(ValidationFailed) as info:
        service.create_region_from_census(
            session=session, actor=system, name="Northern Virginia", states=["51"],
            counties=["51059", "51610"], atlas_dir=settings.us_atlas_dir)
    assert "county 51610 (Falls Church)" in info.value.detail
    assert "no area" in info.value.detail
    assert counts(session) == before


def test_a_missing_atlas_folder_says_where_it_comes_from(session: Session, system: Principal,
                                                         tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="npm package us-atlas"):
        service.create_region_from_census(session=session, actor=system, name="X",
                                          states=["53"], counties=[], atlas_dir=tmp_path)
    (tmp_path / "states-10m.json").write_text('{"type": "FeatureCollection"}')
    with pytest.raises(BadRequest, match="not a usable TopoJSON topology"):
        service.create_region_from_census(session=session, actor=system, name="X",
                                          states=["53"], counties=[], atlas_dir=tmp_path)


def test_create_region_from_census_builds_members_with_boundaries(
        session: Session, system: Principal) -> None:
    before = counts(session)
    result = service.create_region_from_census(
        session=session, actor=system, name="South Sound", states=["53"],
        counties=["53053", "53067"], atlas_dir=US_ATLAS)
    assert [name for _, name in result.created] == [
        "State of Washington", "Pierce County", "Thurston County"]
    members = {j.name: j for j in regions_queries.list_jurisdictions(
        session=session, region_id=result.region_id)}
    state = members["State of Washington"]
    assert members["Pierce County"].parent_id == state.id
    assert members["Pierce County"].geoid == "53053"
    assert members["Pierce County"].population and members["Pierce County"].population > 800_000
    # 1 region, 3 members, 3 boundaries; audit: region, 3 members, 3 boundaries.
    after = counts(session)
    assert (after[0] - before[0], after[1] - before[1], after[2] - before[2],
            after[3] - before[3]) == (1, 3, 3, 7)
    located = queries.locate(session=session, region_id=result.region_id, lon=TACOMA[0],
                             lat=TACOMA[1])
    assert names(located) == ["State of Washington", "Pierce County"]
    # A second region under the same name is refused.
    with pytest.raises(Conflict, match="already exists"):
        service.create_region_from_census(session=session, actor=system, name="South Sound",
                                          states=["53"], counties=[], atlas_dir=US_ATLAS)


def test_only_a_regional_admin_may_create_a_region(session: Session) -> None:
    with pytest.raises(Forbidden):
        service.create_region_from_census(
            session=session, actor=principal(Role.regional_analyst), name="X", states=["53"],
            counties=[], atlas_dir=US_ATLAS)


def test_boundaries_geojson_lists_the_five_members(session: Session) -> None:
    doc = queries.boundaries_geojson(session=session, region_id=region_id(session))
    assert doc["type"] == "FeatureCollection"
    assert [f["properties"]["name"] for f in doc["features"]][:2] == [
        "State of Washington", "King County"]
    assert sorted(f["properties"]["name"] for f in doc["features"]) == sorted(DEMO_ALL)
    seattle = next(f for f in doc["features"] if f["properties"]["name"] == "City of Seattle")
    assert shape(seattle["geometry"]).contains(Point(*DOWNTOWN))
    simplified = queries.boundaries_geojson(session=session, region_id=region_id(session),
                                            simplify=0.01)
    full_size = len(json.dumps(doc))
    assert len(json.dumps(simplified)) < full_size / 2


def test_same_named_counties_of_different_states_get_their_state(session: Session,
                                                                  system: Principal) -> None:
    # The Portland metro area: Washington County OR and Clark County WA are fine alone; a
    # region that also takes Washington County, ID used to fail half-way on the duplicate name.
    result = service.create_region_from_census(
        session=session, actor=system, name="Two Washingtons", states=[],
        counties=["41067", "53011", "16087"], atlas_dir=US_ATLAS)
    assert [name for _, name in result.created] == [
        "Washington County, OR", "Clark County", "Washington County, ID"]
    members = regions_queries.list_jurisdictions(session=session, region_id=result.region_id)
    assert sorted(j.geoid or "" for j in members) == ["16087", "41067", "53011"]
    hillsboro = queries.locate(session=session, region_id=result.region_id, lon=-122.99,
                               lat=45.52)
    assert names(hillsboro) == ["Washington County, OR"]
