"""Pure geometry: TopoJSON decoding, boundary validation, the point -> polygons index.

No database, no web. Inputs and outputs are plain values and Shapely geometries.

TopoJSON (https://github.com/topojson/topojson-specification): arcs are delta-encoded and
quantized when the topology has a ``transform``; a geometry refers to arcs by index, and a
negative index ``~i`` means arc ``i`` reversed. Consecutive arcs of a ring share an endpoint,
which is written once. Arcs are shared between neighbouring features (that is the point of
TopoJSON), so each arc is decoded once and reused.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon, mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

# ------------------------------------------------------------------------------------ TopoJSON


class TopologyError(ValueError):
    pass


def decode_arcs(topology: dict[str, Any]) -> list[np.ndarray]:
    """Every arc as an (n, 2) float array of lon/lat positions."""
    transform = topology.get("transform")
    arcs = topology.get("arcs")
    if not isinstance(arcs, list):
        raise TopologyError("topology has no 'arcs' array")
    out: list[np.ndarray] = []
    if transform:
        sx, sy = transform["scale"]
        tx, ty = transform["translate"]
        scale = np.array([sx, sy])
        translate = np.array([tx, ty])
        for arc in arcs:
            a = np.cumsum(np.asarray(arc, dtype=np.float64)[:, :2], axis=0)
            out.append(a * scale + translate)
    else:
        for arc in arcs:
            out.append(np.asarray(arc, dtype=np.float64)[:, :2])
    return out


def _ring(indexes: Sequence[int], arcs: list[np.ndarray]) -> np.ndarray:
    parts: list[np.ndarray] = []
    for k, i in enumerate(indexes):
        if i >= len(arcs) or ~i >= len(arcs):
            raise TopologyError(f"arc index {i} is out of range ({len(arcs)} arcs)")
        a = arcs[i] if i >= 0 else arcs[~i][::-1]
        parts.append(a if k == 0 else a[1:])
    ring = np.concatenate(parts) if parts else np.empty((0, 2))
    if len(ring) and not np.array_equal(ring[0], ring[-1]):
        ring = np.vstack([ring, ring[:1]])
    return ring


def _polygon(rings: Sequence[Sequence[int]], arcs: list[np.ndarray]) -> Polygon:
    decoded = [_ring(r, arcs) for r in rings]
    decoded = [r for r in decoded if len(r) >= 4]
    if not decoded:
        return Polygon()
    return Polygon(decoded[0], decoded[1:])


def topology_geometry(obj: dict[str, Any], arcs: list[np.ndarray]) -> BaseGeometry:
    """One TopoJSON geometry object as a Shapely geometry (polygonal types only)."""
    kind = obj.get("type")
    if kind == "Polygon":
        return _polygon(obj["arcs"], arcs)
    if kind == "MultiPolygon":
        polys = [p for p in (_polygon(rs, arcs) for rs in obj["arcs"]) if not p.is_empty]
        return MultiPolygon(polys)
    if kind is None or kind == "GeometryCollection" and not obj.get("geometries"):
        return MultiPolygon()
    raise TopologyError(f"unsupported TopoJSON geometry type {kind!r}")


@dataclass
class TopoFeature:
    id: str
    name: str | None
    geometry: BaseGeometry


def decode_topojson(topology: dict[str, Any], object_name: str) -> dict[str, TopoFeature]:
    """The features of ``topology.objects[object_name]`` by id."""
    if topology.get("type") != "Topology":
        raise TopologyError("not a TopoJSON Topology")
    try:
        collection = topology["objects"][object_name]
    except KeyError:
        raise TopologyError(f"topology has no object {object_name!r}") from None
    arcs = decode_arcs(topology)
    out: dict[str, TopoFeature] = {}
    for g in collection.get("geometries", []):
        fid = str(g.get("id", ""))
        geom = topology_geometry(g, arcs)
        out[fid] = TopoFeature(id=fid, name=(g.get("properties") or {}).get("name"),
                               geometry=geom)
    return out


# ------------------------------------------------------------------------------------ GeoJSON


class BoundaryError(ValueError):
    """A boundary that cannot be accepted; ``problems`` say where and why."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or [message]


@dataclass
class CheckedBoundary:
    geometry: MultiPolygon
    repaired: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        minx, miny, maxx, maxy = self.geometry.bounds
        return (minx, miny, maxx, maxy)


def _polygonal_geometries(doc: Any, where: str = "") -> list[dict[str, Any]]:
    """Polygon/MultiPolygon geometry objects inside a GeoJSON document of any type."""
    if not isinstance(doc, dict) or "type" not in doc:
        raise BoundaryError(f"{where or 'document'}: not a GeoJSON object (no 'type')")
    kind = doc["type"]
    if kind == "FeatureCollection":
        feats = doc.get("features")
        if not isinstance(feats, list):
            raise BoundaryError("FeatureCollection: 'features' must be an array")
        out: list[dict[str, Any]] = []
        for i, f in enumerate(feats):
            out += _polygonal_geometries(f, f"feature {i}")
        return out
    if kind == "Feature":
        geom = doc.get("geometry")
        if geom is None:
            return []
        return _polygonal_geometries(geom, where or "feature")
    if kind == "GeometryCollection":
        out = []
        for i, g in enumerate(doc.get("geometries") or []):
            out += _polygonal_geometries(g, f"{where} geometry {i}".strip())
        return out
    if kind in ("Polygon", "MultiPolygon"):
        return [dict(doc, _where=where or kind)]
    raise BoundaryError(
        f"{where or 'document'}: a boundary must be a Polygon or MultiPolygon, not {kind}"
    )


def _check_positions(geom: dict[str, Any]) -> list[str]:
    """Closed rings of >= 4 numeric positions within lon/lat range."""
    where = geom["_where"]
    coords = geom.get("coordinates")
    polys = [coords] if geom["type"] == "Polygon" else coords
    problems: list[str] = []
    if not isinstance(polys, list | tuple) or not polys:
        return [f"{where}: no coordinates"]
    for p, rings in enumerate(polys):
        if not isinstance(rings, list | tuple) or not rings:
            problems.append(f"{where}: polygon {p} has no rings")
            continue
        for r, ring in enumerate(rings):
            label = f"{where}: polygon {p} ring {r}"
            if not isinstance(ring, list | tuple) or len(ring) < 4:
                problems.append(f"{label} has fewer than 4 positions")
                continue
            for k, pos in enumerate(ring):
                if (not isinstance(pos, list | tuple) or len(pos) < 2
                        or not all(isinstance(c, int | float) and math.isfinite(c)
                                   for c in pos[:2])):
                    problems.append(f"{label} position {k} is not a [longitude, latitude] pair")
                    break
                lon, lat = pos[0], pos[1]
                if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                    problems.append(
                        f"{label} position {k} ({lon}, {lat}) is outside longitude -180..180 /"
                        " latitude -90..90 (are the coordinates projected, or lat/lon swapped?)"
                    )
                    break
            else:
                if list(ring[0][:2]) != list(ring[-1][:2]):
                    problems.append(f"{label} is not closed (first and last positions differ)")
        if len(problems) > 20:
            break
    return problems


def validate_boundary(doc: Any, *, repair: bool = False) -> CheckedBoundary:
    """Check a GeoJSON boundary and return it as one valid MultiPolygon.

    Refused: anything not polygonal, unclosed rings, rings under 4 positions, non-numeric or
    out-of-range coordinates, an empty result. An invalid polygon (self-intersection, say) is
    refused with the place it goes wrong, unless ``repair`` is set; then it is repaired with
    ``shapely.make_valid`` and the repair noted.
    """
    geoms = _polygonal_geometries(doc)
    if not geoms:
        raise BoundaryError("The GeoJSON holds no Polygon or MultiPolygon")
    problems: list[str] = []
    for g in geoms:
        problems += _check_positions(g)
    if problems:
        raise BoundaryError(problems[0], problems)
    polys: list[Polygon] = []
    notes: list[str] = []
    repaired = False
    for g in geoms:
        where = g.pop("_where")
        s = shape(g)
        if not s.is_valid:
            reason = explain_validity(s)
            if not repair:
                raise BoundaryError(
                    f"{where}: the polygon is not valid ({reason}). Fix the geometry, or "
                    "import it with repair on to have it repaired automatically."
                )
            s = shapely.make_valid(s)
            repaired = True
            notes.append(f"{where}: repaired ({reason})")
        polys += _polygons_of(s)
    if not polys:
        raise BoundaryError("The boundary is empty after repair")
    merged = shapely.union_all(polys)
    if not merged.is_valid:
        merged = shapely.make_valid(merged)
        repaired = True
        notes.append("the union of the parts was repaired")
    parts = _polygons_of(merged)
    if not parts or merged.area == 0:
        raise BoundaryError("The boundary has no area")
    return CheckedBoundary(geometry=MultiPolygon(parts), repaired=repaired, notes=notes)


def _polygons_of(geom: BaseGeometry) -> list[Polygon]:
    if isinstance(geom, Polygon):
        return [] if geom.is_empty else [geom]
    if hasattr(geom, "geoms"):
        out: list[Polygon] = []
        for g in geom.geoms:
            out += _polygons_of(g)
        return out
    return []


def accept_census_geometry(geom: BaseGeometry) -> CheckedBoundary:
    """Census TopoJSON shapes are trusted but quantized; repair any quantization slivers."""
    doc = mapping(geom)
    return validate_boundary(doc, repair=True)


def to_geojson_geometry(geom: BaseGeometry, *, simplify: float = 0.0) -> dict[str, Any]:
    if simplify > 0:
        geom = geom.simplify(simplify, preserve_topology=True)
    return mapping(geom)  # type: ignore[no-any-return]


# ------------------------------------------------------------------------------------ index


class PointIndex:
    """Point -> every polygon containing it, through a Shapely 2 STRtree.

    Built once per set of boundaries. Points on a boundary line count as inside (``intersects``)
    so that a point on a shared county line is never "outside the region".
    """

    def __init__(self, items: Iterable[tuple[int, BaseGeometry]]) -> None:
        pairs = list(items)
        self.ids = np.array([i for i, _ in pairs], dtype=np.int64)
        self.geoms = np.array([g for _, g in pairs], dtype=object)
        shapely.prepare(self.geoms)
        self.tree = shapely.STRtree(self.geoms)

    def __len__(self) -> int:
        return len(self.ids)

    def locate(self, lon: float, lat: float) -> list[int]:
        hits = self.tree.query(shapely.Point(lon, lat), predicate="intersects")
        return sorted(int(i) for i in self.ids[hits])

    def locate_many(self, lons: np.ndarray, lats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Vectorised: (point positions, polygon ids), one pair per containment."""
        points = shapely.points(np.asarray(lons, dtype=np.float64),
                                np.asarray(lats, dtype=np.float64))
        point_idx, geom_idx = self.tree.query(points, predicate="intersects")
        return point_idx, self.ids[geom_idx]


# ------------------------------------------------------------------------------------ ZIP

ZIP_RE = r"^\d{5}$"


def representative_point(geom: BaseGeometry) -> tuple[float, float]:
    """A point guaranteed inside the polygon (the centroid of a concave shape may not be)."""
    p = geom.representative_point()
    return (float(p.x), float(p.y))
