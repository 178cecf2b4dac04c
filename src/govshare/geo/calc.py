"""Pure geometry: TopoJSON decoding, boundary validation, the point -> polygons index.

No database, no web. Inputs and outputs are plain values and Shapely geometries.

TopoJSON (https://github.com/topojson/topojson-specification): arcs are delta-encoded and
quantized when the topology has a ``transform``; a geometry refers to arcs by index, and a
negative index ``~i`` means arc ``i`` reversed. Consecutive arcs of a ring share an endpoint,
which is written once. Arcs are shared between neighboring features (that is the point of
TopoJSON), so each arc is decoded once and reused.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
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
                        or not all(isinstance(c, int | float) and not isinstance(c, bool)
                                   and math.isfinite(c) for c in pos[:2])):
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
    # Parts that neither overlap nor share an edge already form a valid MultiPolygon and are
    # kept as given; only otherwise are they unioned (which re-nodes every ring). So checking
    # an already-checked boundary changes nothing: a copied or re-uploaded boundary keeps its
    # exact coordinates and checksum.
    as_given = MultiPolygon(polys)
    merged = as_given if as_given.is_valid else shapely.union_all(polys)
    if not merged.is_valid:
        merged = shapely.make_valid(merged)
        repaired = True
        notes.append("the union of the parts was repaired")
    parts = _polygons_of(merged)
    if not parts or merged.area == 0:
        raise BoundaryError("The boundary has no area")
    return CheckedBoundary(geometry=rfc7946_oriented(MultiPolygon(parts)), repaired=repaired,
                           notes=notes)


def rfc7946_oriented(geom: BaseGeometry) -> Any:
    """The geometry with RFC 7946 winding: exterior rings counter-clockwise, holes clockwise.

    RFC 7946 section 3.1.6 makes producers follow the right-hand rule. Sources disagree (the
    Census TopoJSON and Seattle's files wind exteriors clockwise, d3's spherical convention),
    and Shapely keeps whatever order it was given, so boundaries are re-wound once, on the way
    in, and every GeoJSON we hand out is conformant.
    """
    return shapely.orient_polygons(geom, exterior_cw=False)


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
    """Census TopoJSON shapes are trusted but quantized; repair any quantization slivers.

    Quantization can collapse a very small place to nothing (Falls Church city, VA, 51610, is a
    zero-area ring in the 1:10m file); that is refused with a reason rather than stored empty.
    """
    if geom.is_empty or geom.area == 0:
        raise BoundaryError("the Census 1:10m boundary has no area (the place is too small "
                            "to survive the file's quantization); import its boundary from "
                            "a GeoJSON file instead")
    doc = mapping(geom)
    return validate_boundary(doc, repair=True)


def to_geojson_geometry(geom: BaseGeometry, *, simplify: float = 0.0) -> dict[str, Any]:
    if simplify > 0:
        geom = rfc7946_oriented(geom.simplify(simplify, preserve_topology=True))
    return mapping(geom)  # type: ignore[no-any-return]


# ------------------------------------------------------------------------------------ index


class PointIndex:
    """Point -> every polygon containing it.

    Built once per set of boundaries. Points on a boundary line count as inside (``intersects``)
    so that a point on a shared county line is never "outside the region".

    A lookup is two steps. First a uniform grid of bounding boxes, held in a few numpy arrays,
    gives the candidate polygons: those whose bounding box holds the point. Then one vectorized
    Shapely call, ``intersects_xy``, tests the candidates against the polygons, which are
    *prepared* once (GEOS then answers point-in-polygon from a cached edge index instead of
    walking every edge). Neither step makes a Shapely point: building a million point objects
    costs more than the whole rest of the lookup, and is what ``STRtree.query(points, ...)``
    would need. Measured against a bare STRtree and geopandas ``sjoin`` in
    ``bench/bench_locate.py`` (the same pairs, several times the throughput).

    Large batches are cut into chunks so that memory stays bounded whatever the batch size.
    """

    #: points per chunk in :meth:`locate_many`: large enough to amortize the per-call
    #: overhead, small enough that the candidate arrays stay a few MB.
    CHUNK = 65_536

    def __init__(self, items: Iterable[tuple[int, BaseGeometry]]) -> None:
        pairs = list(items)
        self.ids = np.array([i for i, _ in pairs], dtype=np.int64)
        self.geoms = np.empty(len(pairs), dtype=object)
        self.geoms[:] = [g for _, g in pairs]
        shapely.prepare(self.geoms)
        self.grid = BoxGrid(shapely.bounds(self.geoms).reshape(-1, 4))

    def __len__(self) -> int:
        return len(self.ids)

    def locate(self, lon: float, lat: float) -> list[int]:
        """Ids of every polygon that contains the point or has it on its boundary, sorted."""
        candidates = self.grid.candidates(lon, lat)
        if len(candidates) == 0:
            return []
        hit = shapely.intersects_xy(self.geoms[candidates], lon, lat)
        return sorted(int(i) for i in self.ids[candidates[hit]])

    def locate_many(self, lons: np.ndarray | Sequence[float], lats: np.ndarray | Sequence[float],
                    *, chunk_size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Vectorized: (point positions, polygon ids), one pair per containment.

        Pairs come ordered by point position; the ids of one point come in no set order.
        A point inside no polygon (or with a NaN coordinate) has no pair.
        """
        x = np.ascontiguousarray(lons, dtype=np.float64)
        y = np.ascontiguousarray(lats, dtype=np.float64)
        if x.ndim != 1 or x.shape != y.shape:
            raise ValueError(f"lons and lats must be 1-D arrays of one length, got shapes "
                             f"{x.shape} and {y.shape}")
        step = chunk_size or self.CHUNK
        if step < 1:
            raise ValueError("chunk_size must be positive")
        positions: list[np.ndarray] = []
        ids: list[np.ndarray] = []
        for start in range(0, len(x), step):
            cx, cy = x[start:start + step], y[start:start + step]
            pi, gi = self.grid.candidates_many(cx, cy)
            if len(pi) == 0:
                continue
            hit = shapely.intersects_xy(self.geoms[gi], cx[pi], cy[pi])
            positions.append(pi[hit] + start)
            ids.append(self.ids[gi[hit]])
        if not positions:
            return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.int64)
        return np.concatenate(positions), np.concatenate(ids)


class BoxGrid:
    """Which bounding boxes hold a point: a uniform grid over the boxes' extent.

    Each cell lists the boxes that overlap it (a CSR layout: ``offsets`` into ``items``). A point
    maps to one cell and its candidates are that cell's boxes, filtered exactly against the
    point. The same expression, ``floor((v - origin) / size)`` clipped to the grid, maps both
    points and box edges to cells; it is monotone in ``v``, so a box that holds a point (edges
    included) is always listed in the point's cell, rounding notwithstanding.

    The cell side starts at half the median box size (a county-sized box spans a few cells), and
    grows until the grid has at most ``MAX_CELLS`` cells and ``MAX_ENTRIES`` listings, so memory
    stays bounded even for many large, overlapping boxes.
    """

    MAX_CELLS = 1 << 20
    MAX_ENTRIES = 1 << 22

    def __init__(self, bounds: np.ndarray) -> None:
        self.bounds = np.asarray(bounds, dtype=np.float64).reshape(-1, 4)
        usable = np.flatnonzero(~np.isnan(self.bounds).any(axis=1))  # empty geometries: NaN
        if len(usable) == 0:
            self.extent = (np.inf, np.inf, -np.inf, -np.inf)  # holds no point
            self.size, self.nx, self.ny = 1.0, 1, 1
            self.offsets = np.zeros(2, dtype=np.int64)
            self.items = np.empty(0, dtype=np.int64)
            return
        b = self.bounds[usable]
        x0, y0 = float(b[:, 0].min()), float(b[:, 1].min())
        x1, y1 = float(b[:, 2].max()), float(b[:, 3].max())
        self.extent = (x0, y0, x1, y1)
        spans = np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])
        size = float(np.median(spans)) / 2 or max(x1 - x0, y1 - y0) / 64 or 1.0
        while True:
            nx = int((x1 - x0) // size) + 1
            ny = int((y1 - y0) // size) + 1
            cx0, cx1 = self._cells(b[:, 0], x0, size, nx), self._cells(b[:, 2], x0, size, nx)
            cy0, cy1 = self._cells(b[:, 1], y0, size, ny), self._cells(b[:, 3], y0, size, ny)
            entries = int(((cx1 - cx0 + 1) * (cy1 - cy0 + 1)).sum())
            if nx * ny <= self.MAX_CELLS and entries <= self.MAX_ENTRIES:
                break
            size *= 2
        self.size, self.nx, self.ny = size, nx, ny
        # One listing per (box, covered cell): box k covers columns cx0..cx1, rows cy0..cy1.
        width = cx1 - cx0 + 1
        count = width * (cy1 - cy0 + 1)
        local = np.arange(entries) - np.repeat(np.cumsum(count) - count, count)
        row = np.repeat(cy0, count) + local // np.repeat(width, count)
        col = np.repeat(cx0, count) + local % np.repeat(width, count)
        cell_of = row * nx + col
        order = np.argsort(cell_of, kind="stable")
        self.items = np.repeat(usable, count)[order]
        self.offsets = np.searchsorted(cell_of[order], np.arange(nx * ny + 1)).astype(np.int64)

    @staticmethod
    def _cells(v: np.ndarray, origin: float, size: float, n: int) -> np.ndarray:
        return np.clip(np.floor((v - origin) / size), 0, n - 1).astype(np.int64)

    def _inside(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        x0, y0, x1, y1 = self.extent
        return (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)

    def candidates(self, x: float, y: float) -> np.ndarray:
        """Positions of the boxes that hold the point (edges included).

        The one-point path of :meth:`candidates_many`, in plain floats (the same IEEE double
        arithmetic, so the same cell), without the cost of numpy calls on 1-element arrays.
        """
        x0, y0, x1, y1 = self.extent
        if not (x0 <= x <= x1 and y0 <= y <= y1):
            return self.items[:0]
        cx = min(max(math.floor((x - x0) / self.size), 0), self.nx - 1)
        cy = min(max(math.floor((y - y0) / self.size), 0), self.ny - 1)
        c = cy * self.nx + cx
        listed = self.items[self.offsets[c]:self.offsets[c + 1]]
        bb = self.bounds[listed]
        keep = (bb[:, 0] <= x) & (x <= bb[:, 2]) & (bb[:, 1] <= y) & (y <= bb[:, 3])
        return listed[keep]

    def candidates_many(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(point positions, box positions): every box that holds each point."""
        pts = np.flatnonzero(self._inside(x, y))  # NaN compares False: never inside
        px, py = x[pts], y[pts]
        cell = (self._cells(py, self.extent[1], self.size, self.ny) * self.nx
                + self._cells(px, self.extent[0], self.size, self.nx))
        start = self.offsets[cell]
        count = self.offsets[cell + 1] - start
        total = int(count.sum())
        # Expand each point into its cell's listing: point k takes items[start_k:start_k+count_k].
        point_pos = np.repeat(np.arange(len(pts)), count)
        item_pos = np.arange(total) + np.repeat(start - (np.cumsum(count) - count), count)
        box = self.items[item_pos]
        qx, qy, bb = px[point_pos], py[point_pos], self.bounds[box]
        keep = (bb[:, 0] <= qx) & (qx <= bb[:, 2]) & (bb[:, 1] <= qy) & (qy <= bb[:, 3])
        return pts[point_pos[keep]], box[keep]


# ------------------------------------------------------------------------------------ ZIP

ZIP_RE = r"^\d{5}$"


def representative_point(geom: BaseGeometry) -> tuple[float, float]:
    """A point guaranteed inside the polygon (the centroid of a concave shape may not be)."""
    p = geom.representative_point()
    return (float(p.x), float(p.y))


# ------------------------------------------------------------------------------ addresses
#
# US street addresses are parsed with usaddress (a conditional-random-field tagger trained on
# US addresses) and each part is written the USPS Publication 28 way with the tables of
# usaddress-scourgify: "12525 stone avenue north" and "12525 STONE AVE N" are one key. Ordinal
# street names in words become numbers ("Fourth Avenue" is "4TH AVE"), as address files write
# them. See docs/adr/0016-address-matching.md.

_ORDINALS = {
    "FIRST": "1ST", "SECOND": "2ND", "THIRD": "3RD", "FOURTH": "4TH", "FIFTH": "5TH",
    "SIXTH": "6TH", "SEVENTH": "7TH", "EIGHTH": "8TH", "NINTH": "9TH", "TENTH": "10TH",
    "ELEVENTH": "11TH", "TWELFTH": "12TH", "THIRTEENTH": "13TH", "FOURTEENTH": "14TH",
    "FIFTEENTH": "15TH", "SIXTEENTH": "16TH", "SEVENTEENTH": "17TH", "EIGHTEENTH": "18TH",
    "NINETEENTH": "19TH", "TWENTIETH": "20TH",
}
_PUNCT = str.maketrans({c: " " for c in ".,;:#()[]{}\"'`"})


@lru_cache(maxsize=1)
def _usps_tables() -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    from scourgify import address_constants as c  # USPS Pub 28 tables

    directions = dict(c.DIRECTIONAL_REPLACEMENTS)
    directions.update({v: v for v in directions.values()})
    street_types = {k.upper(): v.upper() for k, v in c.STREET_TYPE_ABBREVIATIONS.items()}
    street_types.update({v: v for v in street_types.values()})
    units = {k.upper(): v.upper() for k, v in c.OCCUPANCY_TYPE_ABBREVIATIONS.items()}
    return directions, street_types, units


@dataclass(frozen=True)
class ParsedAddress:
    """A street address in USPS form. ``key`` identifies the street address (number,
    directionals, name, type); ``loose_key`` only number and name, for matching an address
    typed without its type or directional."""

    number: str
    street: str  # "STONE AVE N": everything after the number
    name: str  # "STONE"
    pre_directional: str = ""
    street_type: str = ""
    post_directional: str = ""
    unit: str = ""
    city: str = ""
    state: str = ""
    zip: str = ""

    @property
    def key(self) -> str:
        return f"{self.number} {self.street}"

    @property
    def loose_key(self) -> str:
        return f"{self.number} {self.name}"

    @property
    def line(self) -> str:
        """The address as one USPS line: "12525 STONE AVE N, SEATTLE, WA 98133"."""
        tail = " ".join(p for p in (self.state, self.zip) if p)
        parts = [self.key + (f" {self.unit}" if self.unit else ""), self.city, tail]
        return ", ".join(p for p in parts if p)


def _norm_words(text: str) -> list[str]:
    return text.upper().translate(_PUNCT).split()


def normalize_street(text: str) -> str:
    """A street name alone, USPS style ("Stone Avenue North" -> "STONE AVE N")."""
    directions, street_types, _ = _usps_tables()
    words = _norm_words(text)
    out = []
    for i, w in enumerate(words):
        if w in _ORDINALS:
            w = _ORDINALS[w]
        elif (i == 0 or i == len(words) - 1) and w in directions and len(words) > 1:
            w = directions[w]
        elif i == len(words) - 1 or (i == len(words) - 2 and words[-1] in directions):
            w = street_types.get(w, w) if i > 0 else w
        out.append(w)
    return " ".join(out)


def parse_address(text: str) -> ParsedAddress | None:
    """Parse a US street address typed by a person; None when it holds no house number and
    street name (a landmark, a ZIP code alone, gibberish).

    Case, punctuation, spelled-out types and directionals ("Avenue", "North") and ordinals in
    words ("Fourth") are all accepted. A directional that the tagger read as the start of the
    city ("12525 Stone Ave North Seattle") is moved back to the street.
    """
    import usaddress  # imported when first used: its model takes ~50 ms to load

    text = " ".join(text.split())[:300]
    if not text:
        return None
    try:
        tagged, _kind = usaddress.tag(text)
        parts: dict[str, str] = dict(tagged)
    except usaddress.RepeatedLabelError as exc:
        parts = {}
        for token, label in exc.parsed_string:
            parts.setdefault(label, token)
    directions, street_types, units = _usps_tables()

    def up(label: str) -> str:
        return " ".join(_norm_words(parts.get(label, "")))

    number = up("AddressNumber").replace(" ", "")
    name_words = [_ORDINALS.get(w, w) for w in up("StreetName").split()]
    if not number or not name_words or not any(ch.isdigit() for ch in number):
        return None
    pre = directions.get(up("StreetNamePreDirectional"), up("StreetNamePreDirectional"))
    post = directions.get(up("StreetNamePostDirectional"), up("StreetNamePostDirectional"))
    stype = up("StreetNamePostType")
    stype = street_types.get(stype, stype)
    city = up("PlaceName")
    first = city.split(" ", 1)
    if not post and first[0] in directions and len(first) == 2:
        post, city = directions[first[0]], first[1]
    unit_type = up("OccupancyType")
    unit_type = units.get(unit_type, unit_type)
    unit_id = up("OccupancyIdentifier")
    unit = " ".join(p for p in (unit_type or ("#" if unit_id else ""), unit_id) if p)
    state = up("StateName")
    if len(state) > 2:
        from scourgify import address_constants as c

        state = c.STATE_ABBREVIATIONS.get(state, state)
    zip_match = re.match(r"(\d{5})", up("ZipCode"))
    name = " ".join(name_words)
    street = " ".join(p for p in (pre, name, stype, post) if p)
    return ParsedAddress(number=number, street=street, name=name, pre_directional=pre,
                         street_type=stype, post_directional=post, unit=unit, city=city,
                         state=state, zip=zip_match.group(1) if zip_match else "")


def address_from_parts(number: str, street: str, *, unit: str = "", city: str = "",
                       state: str = "", zip_code: str = "") -> ParsedAddress | None:
    """An address file's row (number and street in columns of their own) in the same form as
    :func:`parse_address`, by parsing the parts joined: the one way both sides are read."""
    line = " ".join(p for p in (number.strip(), street.strip()) if p)
    if unit.strip():
        line += f" # {unit.strip()}" if not unit.strip()[0].isalpha() else f" {unit.strip()}"
    tail = ", ".join(p for p in (city.strip(), " ".join(
        q for q in (state.strip(), zip_code.strip()) if q)) if p)
    return parse_address(f"{line}, {tail}" if tail else line)


def place_name_key(text: str) -> str:
    """A landmark's name as a key: upper case, punctuation and repeated spaces gone."""
    return " ".join(_norm_words(text))[:200]
