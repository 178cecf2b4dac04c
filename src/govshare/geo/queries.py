"""Reads of the geo domain: boundaries, the point index, locate by point or ZIP code.

The point index is built once per distinct set of boundaries and cached in process; every
lookup first reads the (jurisdiction id, checksum) pairs — a few dozen short rows — and rebuilds
only when they changed, so an imported boundary is seen by the very next request, by every
web process, without a restart.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from shapely.geometry import shape
from sqlalchemy import select
from sqlalchemy.orm import Session

from govshare.core.errors import BadRequest, NotFound
from govshare.geo.calc import PointIndex, representative_point, to_geojson_geometry
from govshare.geo.models import Boundary
from govshare.geo.schemas import Geocoded, LocatedJurisdiction, LocateResult
from govshare.regions import queries as regions_queries
from govshare.regions.schemas import KIND_LABELS, JurisdictionKind

KIND_ORDER = {k.value: i for i, k in enumerate(JurisdictionKind)}
ZCTA_SOURCE = "Census 2010 ZCTA polygon (seattleio/seattle-boundaries-data), point inside it"
ZIP_POINT_SOURCE = "GeoNames ZIP point, 2017 snapshot (vega-datasets); may be rough"


def boundary_rows(*, session: Session, region_id: int) -> list[Boundary]:
    member_ids = [j.id for j in regions_queries.list_jurisdictions(session=session,
                                                                   region_id=region_id)]
    if not member_ids:
        return []
    return list(session.scalars(select(Boundary).where(Boundary.jurisdiction_id.in_(member_ids))))


def get_boundary(*, session: Session, jurisdiction_id: int) -> Boundary | None:
    return session.scalars(
        select(Boundary).where(Boundary.jurisdiction_id == jurisdiction_id)
    ).first()


# ------------------------------------------------------------------------------ index cache


@dataclass
class _Cached:
    version: str
    index: PointIndex


_cache: dict[int, _Cached] = {}
_lock = threading.Lock()


def _version(session: Session, region_id: int) -> tuple[str, list[int]]:
    """The members' boundary checksums, read on every locate: one plain-column query."""
    rows = session.execute(
        select(Boundary.jurisdiction_id, Boundary.checksum)
        .where(Boundary.jurisdiction_id.in_(regions_queries.member_ids_query(region_id)))
        .order_by(Boundary.jurisdiction_id)
    ).all()
    digest = hashlib.sha256(repr([(r[0], r[1]) for r in rows]).encode()).hexdigest()
    return digest, [r[0] for r in rows]


def point_index(*, session: Session, region_id: int) -> PointIndex:
    version, _ = _version(session, region_id)
    cached = _cache.get(region_id)
    if cached is not None and cached.version == version:
        return cached.index
    with _lock:
        cached = _cache.get(region_id)
        if cached is not None and cached.version == version:
            return cached.index
        rows = boundary_rows(session=session, region_id=region_id)
        index = PointIndex((b.jurisdiction_id, shape(json.loads(b.geojson))) for b in rows)
        _cache[region_id] = _Cached(version=version, index=index)
        return index


# ------------------------------------------------------------------------------ locate


def locate(*, session: Session, region_id: int, lon: float, lat: float,
           point: Geocoded | None = None) -> LocateResult:
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise BadRequest(f"({lon}, {lat}) is not a longitude/latitude pair "
                         "(longitude -180..180, latitude -90..90)")
    ids = point_index(session=session, region_id=region_id).locate(lon, lat)
    members = {j.id: j for j in regions_queries.list_jurisdictions(session=session,
                                                                   region_id=region_id)}
    found = [members[i] for i in ids if i in members]
    found.sort(key=lambda j: (KIND_ORDER.get(j.kind, 99), j.name))
    point = point or Geocoded(lon=lon, lat=lat, method="coordinates", source="given coordinates")
    located = [
        LocatedJurisdiction(id=j.id, name=j.name, kind=j.kind,
                            kind_label=KIND_LABELS[JurisdictionKind(j.kind)], geoid=j.geoid)
        for j in found
    ]
    if located:
        message = "Served here by: " + ", ".join(j.name for j in located)
    else:
        message = (f"The point ({lon:.5f}, {lat:.5f}) is outside the region: no member "
                   "jurisdiction's boundary contains it.")
    return LocateResult(point=point, inside_region=bool(located), jurisdictions=located,
                        message=message)


@lru_cache(maxsize=1)
def _zcta_points() -> dict[str, tuple[float, float]]:
    text = resources.files("govshare.geo").joinpath("data/zcta_seattle_2010.geojson").read_text()
    out: dict[str, tuple[float, float]] = {}
    for f in json.loads(text)["features"]:
        code = f["properties"].get("ZCTA5CE10") or f["properties"].get("GEOID10")
        if code and f.get("geometry"):
            geom = shape(f["geometry"])
            if not geom.is_valid:
                geom = geom.buffer(0)
            out[str(code)] = representative_point(geom)
    return out


@lru_cache(maxsize=1)
def _zip_points() -> dict[str, tuple[float, float]]:
    path = resources.files("govshare.geo").joinpath("data/zipcodes.csv")
    out: dict[str, tuple[float, float]] = {}
    with path.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            try:
                out[row["zip_code"].zfill(5)] = (float(row["longitude"]), float(row["latitude"]))
            except (TypeError, ValueError):
                continue
    return out


_ZIP = re.compile(r"(\d{5})(?:-\d{4})?", re.ASCII)


def geocode_zip(zip_code: str) -> Geocoded:
    """ZIP -> a point: inside the ZCTA polygon where we have one, else the ZIP point table.

    Takes a 5-digit ZIP or a ZIP+4 (``98104-1234``, located by its 5-digit ZIP); anything else
    is refused rather than cut to five characters (``981045`` is not ``98104``).
    """
    m = _ZIP.fullmatch(zip_code.strip())
    if m is None:
        raise BadRequest(f"{zip_code!r} is not a 5-digit ZIP code")
    z = m.group(1)
    if z in _zcta_points():
        lon, lat = _zcta_points()[z]
        return Geocoded(lon=lon, lat=lat, method="zcta-polygon", zip=z, source=ZCTA_SOURCE)
    if z in _zip_points():
        lon, lat = _zip_points()[z]
        return Geocoded(lon=lon, lat=lat, method="zip-point", zip=z, source=ZIP_POINT_SOURCE)
    raise NotFound(f"ZIP code {z} is not in the ZIP tables")


def locate_zip(*, session: Session, region_id: int, zip_code: str) -> LocateResult:
    point = geocode_zip(zip_code)
    return locate(session=session, region_id=region_id, lon=point.lon, lat=point.lat,
                  point=point)


# ------------------------------------------------------------------------------ map data


def boundaries_geojson(*, session: Session, region_id: int, simplify: float = 0.0
                       ) -> dict[str, Any]:
    """RFC 7946 FeatureCollection of the members' boundaries, with public properties."""
    members = {j.id: j for j in regions_queries.list_jurisdictions(session=session,
                                                                   region_id=region_id)}
    features = []
    for b in sorted(boundary_rows(session=session, region_id=region_id),
                    key=lambda b: KIND_ORDER.get(members[b.jurisdiction_id].kind, 99)):
        j = members[b.jurisdiction_id]
        geom = json.loads(b.geojson)
        if simplify > 0:
            geom = to_geojson_geometry(shape(geom), simplify=simplify)
        features.append({
            "type": "Feature",
            "id": j.id,
            "geometry": geom,
            "properties": {
                "id": j.id, "name": j.name, "kind": j.kind,
                "kind_label": KIND_LABELS[JurisdictionKind(j.kind)], "geoid": j.geoid,
                "population": j.population, "area_km2": round(b.area_km2, 1),
                "source": b.source,
            },
        })
    return {"type": "FeatureCollection", "features": features}
