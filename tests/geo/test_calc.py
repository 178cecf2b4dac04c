"""Pure geometry of the geo domain: TopoJSON decoding, boundary validation, the point index.

No database. The real-data tests read the us-atlas TopoJSON that `make test` installs from npm.
"""

from __future__ import annotations

import copy
import json
import math
from functools import lru_cache
from typing import Any

import numpy as np
import pytest
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon, box, mapping

from govshare.geo.calc import (
    BoundaryError,
    BoxGrid,
    PointIndex,
    TopoFeature,
    TopologyError,
    accept_census_geometry,
    decode_arcs,
    decode_topojson,
    representative_point,
    rfc7946_oriented,
    to_geojson_geometry,
    topology_geometry,
    validate_boundary,
)
from tests.conftest import CITY_LIMITS, US_ATLAS

DOWNTOWN_SEATTLE = (-122.3351, 47.6080)
TACOMA = (-122.4443, 47.2529)


def ring(geom: Polygon) -> list[tuple[float, float]]:
    return [tuple(c) for c in geom.exterior.coords]  # type: ignore[misc]


# ---------------------------------------------------------------------------- tiny topologies
#
# Two unit squares side by side, L = [0,1]x[0,1] and R = [1,2]x[0,1]. Arc 0 is their shared
# edge (1,0)->(1,1); L walks it forwards, R walks it backwards (~0 == -1).

PLAIN = {
    "type": "Topology",
    "objects": {"squares": {"type": "GeometryCollection", "geometries": [
        {"type": "Polygon", "id": "L", "properties": {"name": "Left"}, "arcs": [[0, 1]]},
        {"type": "Polygon", "id": "R", "properties": {"name": "Right"}, "arcs": [[~0, 2]]},
    ]}},
    "arcs": [
        [[1, 0], [1, 1]],
        [[1, 1], [0, 1], [0, 0], [1, 0]],
        [[1, 0], [2, 0], [2, 1], [1, 1]],
    ],
}

# The same two squares, quantized: x = qx * 0.5 - 10, y = qy * 0.25 + 40, each arc
# delta-encoded (first position absolute, then differences). In quantized units the squares
# are [0,2]x[0,4] and [2,4]x[0,4]; decoded, [-10,-9]x[40,41] and [-9,-8]x[40,41].
QUANTIZED = {
    "type": "Topology",
    "transform": {"scale": [0.5, 0.25], "translate": [-10, 40]},
    "objects": {"squares": {"type": "GeometryCollection", "geometries": [
        {"type": "Polygon", "id": "L", "arcs": [[0, 1]]},
        {"type": "Polygon", "id": "R", "arcs": [[~0, 2]]},
    ]}},
    "arcs": [
        [[2, 0], [0, 4]],
        [[2, 4], [-2, 0], [0, -4], [2, 0]],
        [[2, 0], [2, 0], [0, 4], [-2, 0]],
    ],
}

# A MultiPolygon with a hole: a 4x4 square with a 1x1 hole, and a separate unit square.
# Each ring is one closed arc; the hole is given as a reversed arc.
HOLED = {
    "type": "Topology",
    "objects": {"shapes": {"type": "GeometryCollection", "geometries": [
        {"type": "MultiPolygon", "id": "M", "arcs": [[[0], [~1]], [[2]]]},
        {"type": None, "id": "nothing"},
    ]}},
    "arcs": [
        [[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]],
        [[1, 1], [2, 1], [2, 2], [1, 2], [1, 1]],
        [[5, 0], [6, 0], [6, 1], [5, 1], [5, 0]],
    ],
}


def test_plain_topology_decodes_shared_and_reversed_arcs_exactly() -> None:
    feats = decode_topojson(PLAIN, "squares")
    assert set(feats) == {"L", "R"}
    left, right = feats["L"], feats["R"]
    assert isinstance(left, TopoFeature) and left.name == "Left"
    # The shared endpoint of consecutive arcs is written once; the ring is closed.
    assert ring(left.geometry) == [(1, 0), (1, 1), (0, 1), (0, 0), (1, 0)]
    assert ring(right.geometry) == [(1, 1), (1, 0), (2, 0), (2, 1), (1, 1)]
    assert left.geometry.area == right.geometry.area == 1.0
    shared = left.geometry.intersection(right.geometry)
    assert shared.geom_type == "LineString" and shared.length == 1.0
    assert left.geometry.union(right.geometry).equals(box(0, 0, 2, 1))


def test_quantized_topology_is_delta_decoded_and_transformed_exactly() -> None:
    arcs = decode_arcs(QUANTIZED)
    assert arcs[0].tolist() == [[-9.0, 40.0], [-9.0, 41.0]]
    assert arcs[1].tolist() == [[-9.0, 41.0], [-10.0, 41.0], [-10.0, 40.0], [-9.0, 40.0]]
    feats = decode_topojson(QUANTIZED, "squares")
    assert ring(feats["L"].geometry) == [(-9, 40), (-9, 41), (-10, 41), (-10, 40), (-9, 40)]
    assert ring(feats["R"].geometry) == [(-9, 41), (-9, 40), (-8, 40), (-8, 41), (-9, 41)]
    assert feats["L"].name is None
    # Quantized and plain decoding agree once the transform is applied to the plain one.
    plain = decode_topojson(PLAIN, "squares")
    moved = shapely.transform(plain["R"].geometry, lambda c: c * [1, 1] + [-10, 40])
    assert moved.equals(feats["R"].geometry)


def test_multipolygon_with_hole_and_null_geometry() -> None:
    feats = decode_topojson(HOLED, "shapes")
    m = feats["M"].geometry
    assert isinstance(m, MultiPolygon) and len(m.geoms) == 2
    holed, single = m.geoms
    assert ring(holed) == [(0, 0), (4, 0), (4, 4), (0, 4), (0, 0)]
    assert len(holed.interiors) == 1
    # ~1: the hole arc walked backwards.
    assert [tuple(c) for c in holed.interiors[0].coords] == [
        (1, 1), (1, 2), (2, 2), (2, 1), (1, 1)]
    assert ring(single) == [(5, 0), (6, 0), (6, 1), (5, 1), (5, 0)]
    assert m.area == 16 - 1 + 1
    assert not m.contains(Point(1.5, 1.5))  # in the hole
    assert m.contains(Point(3, 3)) and m.contains(Point(5.5, 0.5))
    assert m.is_valid
    assert feats["nothing"].geometry.is_empty


def test_an_unclosed_ring_of_arcs_is_closed() -> None:
    topo = {"type": "Topology", "arcs": [[[0, 0], [1, 0], [1, 1], [0, 1]]],
            "objects": {"o": {"type": "GeometryCollection",
                              "geometries": [{"type": "Polygon", "id": 1, "arcs": [[0]]}]}}}
    g = decode_topojson(topo, "o")["1"].geometry
    assert ring(g) == [(0, 0), (1, 0), (1, 1), (0, 1), (0, 0)]


@pytest.mark.parametrize(("topology", "message"), [
    ({"type": "FeatureCollection"}, "not a TopoJSON Topology"),
    ({"type": "Topology", "arcs": [], "objects": {}}, "no object 'squares'"),
    ({"type": "Topology", "objects": {"squares": {"geometries": []}}}, "no 'arcs' array"),
    (dict(PLAIN, arcs=PLAIN["arcs"][:2]), "arc index 2 is out of range"),
    (dict(PLAIN, arcs=[]), "arc index 0 is out of range"),
])
def test_bad_topologies_are_refused_with_a_reason(topology: dict[str, Any], message: str
                                                  ) -> None:
    with pytest.raises(TopologyError, match=message):
        decode_topojson(topology, "squares")


def test_reversed_arc_out_of_range_and_non_polygon_types_are_refused() -> None:
    arcs = decode_arcs(PLAIN)
    with pytest.raises(TopologyError, match="out of range"):
        topology_geometry({"type": "Polygon", "arcs": [[~3]]}, arcs)
    with pytest.raises(TopologyError, match="unsupported TopoJSON geometry type 'LineString'"):
        topology_geometry({"type": "LineString", "arcs": [0]}, arcs)


# ---------------------------------------------------------------------------- real us-atlas


@lru_cache(maxsize=1)
def atlas_counties() -> dict[str, TopoFeature]:
    return decode_topojson(json.loads((US_ATLAS / "counties-10m.json").read_text()), "counties")


@lru_cache(maxsize=1)
def atlas_states() -> dict[str, TopoFeature]:
    return decode_topojson(json.loads((US_ATLAS / "states-10m.json").read_text()), "states")


def approx_km2(geom: Any) -> float:
    return sum(p.area * 111.32 ** 2 * math.cos(math.radians(p.centroid.y))
               for p in getattr(geom, "geoms", [geom]))


def test_us_atlas_counties_decode() -> None:
    counties = atlas_counties()
    assert len(counties) == 3231
    assert all(len(fid) == 5 and fid.isdigit() for fid in counties)
    king = counties["53033"]
    assert king.name == "King"
    assert king.geometry.is_valid
    assert king.geometry.contains(Point(*DOWNTOWN_SEATTLE))
    assert not king.geometry.contains(Point(*TACOMA))
    assert counties["53053"].name == "Pierce"
    assert counties["53053"].geometry.contains(Point(*TACOMA))
    # Every county but one decodes to an area; Falls Church city (VA) collapses to a
    # zero-area ring at this scale in the source file itself.
    empty = sorted(fid for fid, f in counties.items() if f.geometry.is_empty)
    assert empty == ["51610"]


def test_neighboring_counties_share_arcs_and_touch_exactly() -> None:
    topo = json.loads((US_ATLAS / "counties-10m.json").read_text())
    by_id = {g["id"]: g for g in topo["objects"]["counties"]["geometries"]}

    def arc_ids(g: dict[str, Any]) -> set[int]:
        polys = [g["arcs"]] if g["type"] == "Polygon" else g["arcs"]
        return {i if i >= 0 else ~i for rings in polys for r in rings for i in r}

    # The topology really does share arcs between King and Pierce ...
    assert arc_ids(by_id["53033"]) & arc_ids(by_id["53053"])
    king, pierce = atlas_counties()["53033"].geometry, atlas_counties()["53053"].geometry
    # ... so the decoded boundaries meet along a line, with no overlap of interiors ...
    assert king.touches(pierce)
    assert king.relate(pierce)[0] == "F"  # interior/interior: empty
    shared = king.intersection(pierce)
    assert shared.geom_type in ("LineString", "MultiLineString")
    assert shared.area == 0 and shared.length > 0.5  # degrees; the border is ~80 km long
    # ... and no gap: every point along the shared border is inside the union, not on its edge.
    union = shapely.union_all([king, pierce])
    assert isinstance(union, Polygon | MultiPolygon)
    samples = [shared.interpolate(f, normalized=True) for f in np.linspace(0.01, 0.99, 60)]
    assert all(union.contains(p) for p in samples)
    assert union.area == pytest.approx(king.area + pierce.area, rel=1e-9)


def test_us_atlas_total_area_is_sane() -> None:
    counties = atlas_counties()
    total = sum(approx_km2(f.geometry) for f in counties.values() if not f.geometry.is_empty)
    # The 50 states, DC and the territories, shoreline-clipped: the U.S. is 9.83 million km²
    # with all its water, 9.15 million km² of land.
    assert 9.0e6 < total < 9.7e6
    # King County: 5,975 km² in all, 5,479 km² of land (Census); the 1:10m cut sits between.
    assert 5400 < approx_km2(counties["53033"].geometry) < 6000
    # In counties-10m.json the states and the nation are built from the counties' own arcs,
    # so the counties tile them exactly: no gap, no overlap, to rounding error.
    topo = json.loads((US_ATLAS / "counties-10m.json").read_text())
    states = decode_topojson(topo, "states")
    nation = decode_topojson(topo, "nation")
    assert len(states) == 56  # 50 states, DC and five territories
    for code, state in states.items():
        in_state = sum(f.geometry.area for fid, f in counties.items() if fid.startswith(code))
        assert in_state == pytest.approx(state.geometry.area, rel=1e-9), state.name
    assert len(nation) == 1
    nation_area = next(iter(nation.values())).geometry.area
    assert sum(f.geometry.area for f in counties.values()) == pytest.approx(nation_area,
                                                                           rel=1e-12)
    # The separately simplified states-10m.json agrees to a few parts in a million overall.
    assert sum(f.geometry.area for f in atlas_states().values()) == pytest.approx(
        nation_area, rel=1e-4)


def test_census_geometries_are_accepted_and_repaired_when_quantization_broke_them() -> None:
    counties = atlas_counties()
    broken = [f for f in counties.values()
              if not f.geometry.is_empty and not f.geometry.is_valid]
    assert broken, "the 1:10m file has some self-touching rings after quantization"
    for f in broken:
        checked = accept_census_geometry(f.geometry)
        assert checked.geometry.is_valid and checked.repaired
        assert checked.geometry.area == pytest.approx(f.geometry.area, rel=1e-3)
    king = accept_census_geometry(counties["53033"].geometry)
    assert not king.repaired and king.geometry.contains(Point(*DOWNTOWN_SEATTLE))
    with pytest.raises(BoundaryError, match="no area"):
        accept_census_geometry(counties["51610"].geometry)


# ---------------------------------------------------------------------------- validation

SQUARE = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.0, 0.0]]
BOWTIE = [[0.0, 0.0], [1.0, 1.0], [1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]


def poly(*rings: list[list[float]]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [list(r) for r in rings]}


def feature(geometry: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": {}, "geometry": geometry}


def refused(doc: Any, **kw: Any) -> BoundaryError:
    with pytest.raises(BoundaryError) as info:
        validate_boundary(doc, **kw)
    return info.value


def test_a_valid_polygon_comes_back_as_one_rfc7946_multipolygon() -> None:
    clockwise = poly(list(reversed(SQUARE)))
    checked = validate_boundary(clockwise)
    assert isinstance(checked.geometry, MultiPolygon) and len(checked.geometry.geoms) == 1
    assert checked.geometry.area == 1.0 and checked.bbox == (0, 0, 1, 1)
    assert not checked.repaired and checked.notes == []
    # Right-hand rule: exterior counter-clockwise whatever the input's winding.
    assert checked.geometry.geoms[0].exterior.is_ccw
    holed = validate_boundary(poly([[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]],
                                   [[1, 1], [2, 1], [2, 2], [1, 2], [1, 1]]))
    part = holed.geometry.geoms[0]
    assert part.exterior.is_ccw and not part.interiors[0].is_ccw
    assert holed.geometry.area == 15


def test_rings_must_be_closed() -> None:
    err = refused(poly(SQUARE[:-1] + [[0.0, 0.5]]))
    assert "Polygon: polygon 0 ring 0 is not closed" in str(err)


def test_rings_need_four_positions() -> None:
    err = refused(poly([[0, 0], [1, 0], [0, 0]]))
    assert "ring 0 has fewer than 4 positions" in str(err)
    hole = refused(poly(SQUARE, [[0.2, 0.2], [0.3, 0.2], [0.2, 0.2]]))
    assert "polygon 0 ring 1 has fewer than 4 positions" in str(hole)


@pytest.mark.parametrize("bad", [["0", 0], [None, 0], [0], [True, False], 7,
                                 [float("nan"), 0], [0, float("inf")]])
def test_non_numeric_coordinates_are_refused(bad: Any) -> None:
    r = copy.deepcopy(SQUARE)
    r[2] = bad
    err = refused(poly(r))
    assert "position 2 is not a [longitude, latitude] pair" in str(err)


@pytest.mark.parametrize("pos", [[200.0, 10.0], [10.0, 95.0], [-122.3, -181.0],
                                 [1_270_000.0, 220_000.0]])
def test_out_of_range_coordinates_are_refused(pos: list[float]) -> None:
    r = copy.deepcopy(SQUARE)
    r[1] = pos
    err = refused(poly(r))
    assert "outside longitude -180..180 / latitude -90..90" in str(err)


def test_swapped_lat_lon_is_caught_where_it_leaves_the_range() -> None:
    # Seattle written as [lat, lon]: longitude 47 is fine, latitude -122 is not.
    swapped = [[47.60, -122.33], [47.61, -122.33], [47.61, -122.32], [47.60, -122.33]]
    err = refused(poly(swapped))
    assert "lat/lon swapped" in str(err)
    assert "(47.6, -122.33)" in str(err)


@pytest.mark.parametrize(("doc", "message"), [
    ({"type": "Point", "coordinates": [0, 0]}, "must be a Polygon or MultiPolygon, not Point"),
    ({"type": "LineString", "coordinates": SQUARE}, "not LineString"),
    ({"type": "FeatureCollection", "features": [feature(poly(SQUARE)),
                                                feature({"type": "Point",
                                                         "coordinates": [0, 0]})]},
     "feature 1: a boundary must be a Polygon or MultiPolygon, not Point"),
    ([SQUARE], "not a GeoJSON object"),
    ("Polygon", "not a GeoJSON object"),
    ({"coordinates": [SQUARE]}, "no 'type'"),
    ({"type": "FeatureCollection", "features": "none"}, "'features' must be an array"),
])
def test_non_polygon_documents_are_refused(doc: Any, message: str) -> None:
    assert message in str(refused(doc))


@pytest.mark.parametrize("doc", [
    {"type": "FeatureCollection", "features": []},
    {"type": "GeometryCollection", "geometries": []},
    feature(None),
])
def test_empty_collections_hold_no_polygon(doc: Any) -> None:
    assert "holds no Polygon or MultiPolygon" in str(refused(doc))


@pytest.mark.parametrize("doc", [{"type": "MultiPolygon", "coordinates": []},
                                 {"type": "Polygon", "coordinates": []},
                                 {"type": "MultiPolygon", "coordinates": [[]]}])
def test_polygons_without_coordinates_are_refused(doc: dict[str, Any]) -> None:
    err = refused(doc)
    assert "no coordinates" in str(err) or "has no rings" in str(err)


def test_every_problem_is_listed_not_only_the_first() -> None:
    doc = {"type": "FeatureCollection", "features": [
        feature(poly(SQUARE[:-1] + [[0.0, 0.5]])), feature(poly(SQUARE)),
        feature(poly([[0, 0], [1, 0], [0, 0]]))]}
    err = refused(doc)
    assert len(err.problems) == 2
    assert err.problems[0].startswith("feature 0: polygon 0 ring 0 is not closed")
    assert err.problems[1].startswith("feature 2: polygon 0 ring 0 has fewer than 4")


def test_a_self_intersecting_bowtie_is_refused_naming_the_place() -> None:
    doc = {"type": "FeatureCollection", "features": [feature(poly(SQUARE)),
                                                     feature(poly(BOWTIE))]}
    err = refused(doc)
    message = str(err)
    assert message.startswith("feature 1: the polygon is not valid")
    assert "Self-intersection[0.5 0.5]" in message  # where the edges cross
    assert "repair" in message  # says how to get it accepted
    # A bare geometry is named by its type.
    assert str(refused(poly(BOWTIE))).startswith("Polygon: the polygon is not valid")


def test_a_bowtie_is_repaired_and_noted_when_asked() -> None:
    checked = validate_boundary(poly(BOWTIE), repair=True)
    assert checked.repaired
    assert checked.notes == ["Polygon: repaired (Self-intersection[0.5 0.5])"]
    assert checked.geometry.is_valid
    # make_valid keeps both lobes: two triangles of a quarter each.
    assert len(checked.geometry.geoms) == 2
    assert checked.geometry.area == pytest.approx(0.5)
    # The lobes are the left and right triangles meeting at the crossing (0.5, 0.5).
    assert checked.geometry.contains(Point(0.2, 0.5))
    assert checked.geometry.contains(Point(0.8, 0.5))
    assert not checked.geometry.contains(Point(0.5, 0.2))


def test_a_feature_collection_is_unioned_into_one_multipolygon() -> None:
    left = feature(poly(SQUARE))
    right = feature(poly([[1, 0], [2, 0], [2, 1], [1, 1], [1, 0]]))
    far = feature({"type": "MultiPolygon",
                   "coordinates": [[[[5, 5], [6, 5], [6, 6], [5, 6], [5, 5]]]]})
    overlapping = feature(poly([[0.5, 0], [1.5, 0], [1.5, 1], [0.5, 1], [0.5, 0]]))
    checked = validate_boundary({"type": "FeatureCollection",
                                 "features": [left, right, far, overlapping]})
    # Touching and overlapping parts merge; the far square stays a separate part.
    assert len(checked.geometry.geoms) == 2
    assert checked.geometry.area == pytest.approx(3.0)
    assert checked.geometry.equals(MultiPolygon([box(0, 0, 2, 1), box(5, 5, 6, 6)]))
    assert checked.bbox == (0, 0, 6, 6)
    assert not checked.repaired


def test_a_geometry_collection_and_a_feature_are_accepted() -> None:
    gc = {"type": "GeometryCollection", "geometries": [poly(SQUARE)]}
    assert validate_boundary(gc).geometry.area == 1.0
    assert validate_boundary(feature(poly(SQUARE))).geometry.area == 1.0


def test_a_zero_area_polygon_is_refused_even_with_repair() -> None:
    flat = poly([[0, 0], [1, 0], [2, 0], [0, 0]])
    assert "not valid" in str(refused(flat))
    with pytest.raises(BoundaryError, match="empty after repair|no area"):
        validate_boundary(flat, repair=True)


def test_validation_does_not_modify_the_input() -> None:
    doc = {"type": "FeatureCollection", "features": [feature(poly(BOWTIE))]}
    before = copy.deepcopy(doc)
    validate_boundary(doc, repair=True)
    assert doc == before


def test_seattle_city_limits_are_valid_as_published() -> None:
    doc = json.loads(CITY_LIMITS.read_text())
    checked = validate_boundary(doc)
    assert not checked.repaired
    assert len(doc["features"]) == 29 and len(checked.geometry.geoms) == 27  # two merged
    assert checked.geometry.contains(Point(*DOWNTOWN_SEATTLE))
    assert not checked.geometry.contains(Point(*TACOMA))
    assert all(p.exterior.is_ccw for p in checked.geometry.geoms)


def test_geojson_output_keeps_rfc7946_winding_after_simplification() -> None:
    king = accept_census_geometry(atlas_counties()["53033"].geometry).geometry
    for tolerance in (0.0, 0.01):
        doc = to_geojson_geometry(king, simplify=tolerance)
        assert doc["type"] == "MultiPolygon"
        for p in shapely.geometry.shape(doc).geoms:
            assert p.exterior.is_ccw
    assert rfc7946_oriented(Polygon(list(reversed(SQUARE)))).exterior.is_ccw


def test_representative_point_is_inside_a_concave_shape() -> None:
    u = Polygon([(0, 0), (3, 0), (3, 3), (2, 3), (2, 1), (1, 1), (1, 3), (0, 3)])
    assert not u.contains(u.centroid)  # a U's centroid is in its notch ...
    assert u.contains(Point(representative_point(u)))  # ... the representative point is not


# ---------------------------------------------------------------------------- point index


def two_squares() -> PointIndex:
    return PointIndex([(10, box(0, 0, 1, 1)), (20, box(1, 0, 2, 1)),
                       (30, MultiPolygon([box(0, 0, 2, 1), box(5, 5, 6, 6)]))])


@pytest.mark.parametrize(("point", "ids"), [
    ((0.5, 0.5), [10, 30]),
    ((1.5, 0.5), [20, 30]),
    ((1.0, 0.5), [10, 20, 30]),  # on the shared edge: both neighbors
    ((1.0, 1.0), [10, 20, 30]),  # the shared corner
    ((0.0, 0.0), [10, 30]),      # an outer corner counts as inside
    ((2.0, 0.5), [20, 30]),      # on the outer edge
    ((5.5, 5.5), [30]),          # the far part of the MultiPolygon
    ((3.0, 3.0), []),            # between the parts, inside their bounding box
    ((-1.0, 0.5), []),
    ((1.0, 1.0 + 1e-9), []),     # just outside the corner
])
def test_locate_counts_edges_as_inside(point: tuple[float, float], ids: list[int]) -> None:
    assert two_squares().locate(*point) == ids


def test_locate_many_equals_scalar_locate() -> None:
    index = two_squares()
    rng = np.random.default_rng(7)
    lons = np.concatenate([rng.uniform(-0.5, 2.5, 2000), rng.uniform(4.5, 6.5, 1000)])
    lats = np.concatenate([rng.uniform(-0.5, 1.5, 2000), rng.uniform(4.5, 6.5, 1000)])
    # Plus points exactly on edges and corners, which random points never hit.
    lons = np.concatenate([lons, [1.0, 1.0, 0.0, 2.0, 5.0, 6.0, 0.5, 3.0]])
    lats = np.concatenate([lats, [0.5, 1.0, 0.0, 0.5, 5.5, 6.0, 1.0, 3.0]])
    for chunk in (None, 1, 97, 100_000):
        pos, ids = index.locate_many(lons, lats, chunk_size=chunk)
        assert pos.dtype.kind == "i" and ids.dtype == np.int64
        assert np.all(np.diff(pos) >= 0), "pairs come ordered by point"
        got: dict[int, list[int]] = {}
        for p, i in zip(pos.tolist(), ids.tolist(), strict=True):
            got.setdefault(p, []).append(i)
        expected = {k: index.locate(x, y) for k, (x, y) in enumerate(zip(lons, lats,
                                                                             strict=True))}
        assert {k: sorted(v) for k, v in got.items()} == {k: v for k, v in expected.items()
                                                          if v}
    # Sanity on the mix: plenty of hits, plenty of misses, some multi-hits.
    hits = [len(v) for v in expected.values()]
    assert hits.count(0) > 500 and hits.count(1) > 100 and hits.count(2) > 500
    assert hits.count(3) == 2  # only the two added points on the shared edge


def test_locate_many_on_real_counties_equals_scalar_and_a_plain_strtree() -> None:
    counties = [(int(fid), accept_census_geometry(f.geometry).geometry)
                for fid, f in atlas_counties().items() if not f.geometry.is_empty]
    index = PointIndex(counties)
    assert len(index) == 3230
    rng = np.random.default_rng(2024)
    lons, lats = rng.uniform(-125, -66.9, 20_000), rng.uniform(24.4, 49.4, 20_000)
    pos, ids = index.locate_many(lons, lats)
    tree = shapely.STRtree([g for _, g in counties])
    p2, g2 = tree.query(shapely.points(lons, lats), predicate="intersects")
    ref_ids = np.array([i for i, _ in counties])[g2]
    assert sorted(zip(pos.tolist(), ids.tolist(), strict=True)) == sorted(
        zip(p2.tolist(), ref_ids.tolist(), strict=True))
    for k in range(0, 20_000, 997):
        assert index.locate(lons[k], lats[k]) == sorted(ids[pos == k].tolist())
    assert index.locate(*DOWNTOWN_SEATTLE) == [53033]
    assert index.locate(*TACOMA) == [53053]
    assert index.locate(-125.5, 47.0) == []


def test_points_on_a_shared_county_line_belong_to_both_counties() -> None:
    king = accept_census_geometry(atlas_counties()["53033"].geometry).geometry
    pierce = accept_census_geometry(atlas_counties()["53053"].geometry).geometry
    index = PointIndex([(53033, king), (53053, pierce)])
    # A vertex of the shared border is exactly on both boundaries.
    shared = king.intersection(pierce)
    vertex = shapely.get_coordinates(shared)[len(shapely.get_coordinates(shared)) // 2]
    assert index.locate(float(vertex[0]), float(vertex[1])) == [53033, 53053]
    pos, ids = index.locate_many(np.array([vertex[0]]), np.array([vertex[1]]))
    assert pos.tolist() == [0, 0] and sorted(ids.tolist()) == [53033, 53053]


def test_an_empty_index_finds_nothing() -> None:
    index = PointIndex([])
    assert len(index) == 0
    assert index.locate(0, 0) == []
    pos, ids = index.locate_many(np.array([0.0, 1.0]), np.array([0.0, 1.0]))
    assert pos.size == 0 and ids.size == 0


def test_locate_many_refuses_mismatched_input() -> None:
    with pytest.raises(ValueError, match="one length"):
        two_squares().locate_many(np.zeros(3), np.zeros(2))
    with pytest.raises(ValueError, match="1-D"):
        two_squares().locate_many(np.zeros((2, 2)), np.zeros((2, 2)))
    pos, ids = two_squares().locate_many([0.5, 9.0], [0.5, 9.0])  # plain lists are fine
    assert pos.tolist() == [0, 0] and sorted(ids.tolist()) == [10, 30]


def test_mapping_round_trip_of_a_checked_boundary_locates_the_same() -> None:
    # The product stores mapping(geometry) as JSON text and rebuilds the index from it.
    checked = validate_boundary(poly(SQUARE))
    rebuilt = shapely.geometry.shape(json.loads(json.dumps(mapping(checked.geometry))))
    assert PointIndex([(1, rebuilt)]).locate(1.0, 0.5) == [1]


def test_validation_is_idempotent() -> None:
    # A checked boundary checked again is the same, coordinate for coordinate, so a copied or
    # re-uploaded boundary keeps its checksum.
    docs = [json.loads(CITY_LIMITS.read_text()),
            mapping(accept_census_geometry(atlas_counties()["53033"].geometry).geometry),
            poly(BOWTIE)]
    for doc in docs:
        once = validate_boundary(doc, repair=True).geometry
        twice = validate_boundary(mapping(once)).geometry
        assert json.dumps(mapping(twice)) == json.dumps(mapping(once))


# ---------------------------------------------------------------------------- the box grid


def brute_force(bounds: np.ndarray, x: np.ndarray, y: np.ndarray) -> set[tuple[int, int]]:
    return {(int(p), int(b)) for p in range(len(x)) for b in range(len(bounds))
            if bounds[b, 0] <= x[p] <= bounds[b, 2] and bounds[b, 1] <= y[p] <= bounds[b, 3]}


def grid_pairs(grid: BoxGrid, x: np.ndarray, y: np.ndarray) -> set[tuple[int, int]]:
    pi, bi = grid.candidates_many(x, y)
    many = set(zip(pi.tolist(), bi.tolist(), strict=True))
    one = {(k, int(b)) for k in range(len(x)) for b in grid.candidates(float(x[k]),
                                                                       float(y[k]))}
    assert many == one, "the one-point path and the vectorized path disagree"
    return many


def test_box_grid_finds_exactly_the_boxes_holding_a_point() -> None:
    rng = np.random.default_rng(11)
    lo = rng.uniform(-10, 10, (300, 2))
    size = rng.exponential(1.5, (300, 2))
    bounds = np.column_stack([lo, lo + size])
    bounds[7] = [-180, -5, 180, -4]  # an antimeridian-wide box, like the Aleutians
    bounds[8] = [2, 2, 2, 2]         # a degenerate (point) box
    x = rng.uniform(-12, 14, 4000)
    y = rng.uniform(-12, 14, 4000)
    # Points exactly on box edges and corners, where rounding could bite.
    x = np.concatenate([x, bounds[:50, 0], bounds[:50, 2], [2.0, 180.0, -180.0]])
    y = np.concatenate([y, bounds[:50, 1], bounds[:50, 3], [2.0, -4.0, -5.0]])
    grid = BoxGrid(bounds)
    assert grid.nx * grid.ny <= BoxGrid.MAX_CELLS
    assert grid_pairs(grid, x, y) == brute_force(bounds, x, y)


def test_box_grid_edges_on_cell_boundaries_and_extent_limits() -> None:
    # Boxes whose edges fall exactly on cell boundaries (unit cells from a 2-wide median).
    bounds = np.array([[0, 0, 2, 2], [2, 0, 4, 2], [0, 2, 2, 4], [2, 2, 4, 4], [1, 1, 3, 3]],
                      dtype=float)
    grid = BoxGrid(bounds)
    assert grid.size == 1.0
    xs = np.array([0.0, 2.0, 4.0, 4.0, 1.0, 3.0, 2.0, -1e-12, 4.000000001])
    ys = np.array([0.0, 2.0, 4.0, 0.0, 1.0, 3.0, 0.0, 0.0, 4.0])
    assert grid_pairs(grid, xs, ys) == brute_force(bounds, xs, ys)
    assert sorted(grid.candidates(2.0, 2.0).tolist()) == [0, 1, 2, 3, 4]
    assert grid.candidates(4.0, 4.0).tolist() == [3]  # the far corner of the extent
    assert grid.candidates(-1e-12, 0.0).tolist() == []


def test_box_grid_ignores_nan_and_infinite_points_and_empty_boxes() -> None:
    bounds = np.array([[0, 0, 1, 1], [np.nan] * 4, [0.5, 0.5, 2, 2]])
    grid = BoxGrid(bounds)
    x = np.array([np.nan, 0.5, np.inf, -np.inf, 0.75, 0.5])
    y = np.array([0.5, np.nan, 0.5, 0.5, 0.75, 0.5])
    assert grid_pairs(grid, x, y) == {(4, 0), (4, 2), (5, 0), (5, 2)}
    empty = BoxGrid(np.empty((0, 4)))
    assert empty.candidates(0.0, 0.0).size == 0
    assert empty.candidates_many(np.zeros(3), np.zeros(3))[0].size == 0
    only_empty = BoxGrid(np.array([[np.nan] * 4]))
    assert only_empty.candidates(0.0, 0.0).size == 0


def test_box_grid_coarsens_to_bound_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    # Many large overlapping boxes over a small median would list each box in many cells.
    rng = np.random.default_rng(5)
    small = np.column_stack([rng.uniform(0, 100, (200, 2)), np.zeros((200, 2))])
    small[:, 2:] = small[:, :2] + 0.01
    big = np.tile([0.0, 0.0, 100.0, 100.0], (100, 1))
    bounds = np.vstack([small, big])
    monkeypatch.setattr(BoxGrid, "MAX_ENTRIES", 50_000)
    grid = BoxGrid(bounds)
    assert len(grid.items) <= 50_000
    assert grid.size > 0.005  # grew from half the median box
    x, y = rng.uniform(-1, 101, 500), rng.uniform(-1, 101, 500)
    assert grid_pairs(grid, x, y) == brute_force(bounds, x, y)
