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
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from shapely.geometry import shape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govshare.core.errors import BadRequest, NotFound
from govshare.core.geodesy import haversine_km
from govshare.geo.calc import (
    ParsedAddress,
    PointIndex,
    parse_address,
    place_name_key,
    representative_point,
    to_geojson_geometry,
)
from govshare.geo.models import AddressPoint, Boundary
from govshare.geo.schemas import (
    AddressCandidate,
    AddressSearch,
    Geocoded,
    LocatedJurisdiction,
    LocateResult,
)
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
    located = [_located(j) for j in found]
    if located:
        message = "Served here by: " + ", ".join(j.name for j in located)
    else:
        message = (f"The point ({lon:.5f}, {lat:.5f}) is outside the region: no member "
                   "jurisdiction's boundary contains it.")
    return LocateResult(point=point, inside_region=bool(located), jurisdictions=located,
                        message=message)


@lru_cache(maxsize=1)
def _zcta_shapes() -> dict[str, Any]:
    text = resources.files("govshare.geo").joinpath("data/zcta_seattle_2010.geojson").read_text()
    out: dict[str, Any] = {}
    for f in json.loads(text)["features"]:
        code = f["properties"].get("ZCTA5CE10") or f["properties"].get("GEOID10")
        if code and f.get("geometry"):
            geom = shape(f["geometry"])
            if not geom.is_valid:
                geom = geom.buffer(0)
            out[str(code)] = geom
    return out


@lru_cache(maxsize=1)
def _zcta_points() -> dict[str, tuple[float, float]]:
    return {code: representative_point(geom) for code, geom in _zcta_shapes().items()}


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
    """The members at a ZIP code's point, and every member its area touches.

    A ZIP code is an area, not a place: where its area crosses a member's limit (98133 is
    partly in Seattle, partly not) the answer says so (``zip_split``) and names every member
    it touches (``zip_members``); it is never used to route a request alone. Where only a ZIP
    point is known (no polygon), the members it touches cannot be known either: it counts as
    split.
    """
    point = geocode_zip(zip_code)
    point = point.model_copy(update={"exact": False})
    result = locate(session=session, region_id=region_id, lon=point.lon, lat=point.lat,
                    point=point)
    members = {j.id: j for j in regions_queries.list_jurisdictions(session=session,
                                                                   region_id=region_id)}
    area = _zcta_shapes().get(point.zip or "")
    touching: list[LocatedJurisdiction] = []
    whole_ids: list[int] = []
    split = True
    if area is not None:
        index = point_index(session=session, region_id=region_id)
        touch_ids: list[int] = []
        for jid, geom in zip(index.ids, index.geoms, strict=True):
            if int(jid) in members and geom.intersects(area):
                inter = geom.intersection(area).area
                if inter <= area.area * 1e-4:
                    continue  # a shared edge or a sliver of digitizing noise
                touch_ids.append(int(jid))
                if inter >= area.area * (1 - 1e-4):
                    whole_ids.append(int(jid))
        found = sorted((members[i] for i in touch_ids),
                       key=lambda j: (KIND_ORDER.get(j.kind, 99), j.name))
        touching = [_located(j) for j in found]
        split = set(touch_ids) != set(whole_ids)
    message = result.message
    if split and touching:
        partly = [j.name for j in touching if j.id not in whole_ids]
        message = (f"ZIP code {point.zip} crosses a member's limit: it touches "
                   + ", ".join(j.name for j in touching)
                   + (f", and only part of it is in {', '.join(partly)}" if partly else "")
                   + ". Give a street address or put a pin on the map to know who serves a "
                   "place in it.")
    elif split:
        message = (f"ZIP code {point.zip} is located by one point only: give a street "
                   "address or put a pin on the map to know who serves a place in it. "
                   + result.message)
    return result.model_copy(update={"exact": False, "zip_members": touching,
                                     "zip_split": split, "message": message})


def _located(j: Any) -> LocatedJurisdiction:
    return LocatedJurisdiction(id=j.id, name=j.name, kind=j.kind,
                               kind_label=KIND_LABELS[JurisdictionKind(j.kind)], geoid=j.geoid)


# ------------------------------------------------------------------------------ addresses

SAME_PLACE_M = 150.0  # records of one address this close together are one place


def _distance_m(a: AddressPoint, b: AddressPoint) -> float:
    return float(haversine_km(a.lon, a.lat, b.lon, b.lat)) * 1000.0


def _agrees(row: AddressPoint, parsed: ParsedAddress) -> bool:
    """The row has no part that contradicts what was typed (parts left out match anything)."""
    key = (row.key or "").split(" ")
    street = key[1:]
    if parsed.street_type and row.key and parsed.street_type not in street[1:]:
        return False
    for given in (parsed.pre_directional, parsed.post_directional):
        if given and given not in street:
            return False
    directions = {"N", "S", "E", "W", "NE", "NW", "SE", "SW"}
    row_dirs = {w for w in (street[:1] + street[-1:]) if w in directions}
    given_dirs = {d for d in (parsed.pre_directional, parsed.post_directional) if d}
    if given_dirs and not given_dirs <= row_dirs:
        return False
    return not (parsed.zip and row.postcode and parsed.zip != row.postcode)


def match_address(*, session: Session, region_id: int, text: str
                  ) -> tuple[ParsedAddress | None, list[AddressPoint]]:
    """The address points a typed address can mean, best first; one place or several.

    Matched on the number and street name, then kept where no typed part (type, directional,
    ZIP code) contradicts them; rows whose key equals the typed key exactly come first.
    Several records of one address (the same building in two files) are one place. A text
    that is no street address is looked up as a place name (a school site).
    """
    parsed = parse_address(text)
    if parsed is None:
        key = place_name_key(text)
        if len(key) < 3:
            return None, []
        rows = list(session.scalars(select(AddressPoint).where(
            AddressPoint.region_id == region_id, AddressPoint.name_key == key)
            .order_by(AddressPoint.id).limit(50)))
        return None, rows
    rows = list(session.scalars(select(AddressPoint).where(
        AddressPoint.region_id == region_id, AddressPoint.loose_key == parsed.loose_key)
        .order_by(AddressPoint.id).limit(200)))
    rows = [r for r in rows if _agrees(r, parsed)]
    rows.sort(key=lambda r: (r.key != parsed.key, r.postcode != parsed.zip, r.id))
    return parsed, rows


def distinct_places(rows: list[AddressPoint]) -> list[AddressPoint]:
    """One row per place: rows of the same key within SAME_PLACE_M of a kept row are dropped."""
    kept: list[AddressPoint] = []
    for r in rows:
        if not any(k.key == r.key and _distance_m(k, r) <= SAME_PLACE_M for k in kept):
            kept.append(r)
    return kept


def search_address(*, session: Session, region_id: int, text: str,
                   online: Callable[[str], Geocoded | None] | None = None) -> AddressSearch:
    """Find a typed address among the region's address points and locate it.

    Found only when the address means one place; otherwise the answer lists the candidates
    (or none) and says to choose one or put a pin on the map. Nothing is guessed.
    """
    text = " ".join(text.split())[:300]
    parsed, rows = match_address(session=session, region_id=region_id, text=text)
    places = distinct_places(rows)
    normalized = parsed.line if parsed else None
    if len(places) == 1:
        row = places[0]
        method = "place-name" if parsed is None else "address-point"
        point = Geocoded(lon=row.lon, lat=row.lat, method=method, zip=row.postcode,
                         source=row.source, matched=row.line, exact=True)
        result = locate(session=session, region_id=region_id, lon=row.lon, lat=row.lat,
                        point=point)
        return AddressSearch(query=text, normalized=normalized, found=True, result=result,
                             message=f"Found {row.line} ({row.source}). {result.message}")
    if not places and parsed is not None and online is not None:
        asked = online(text)  # the optional online geocoder (geo.service.online_geocoder)
        if asked is not None:
            result = locate(session=session, region_id=region_id, lon=asked.lon, lat=asked.lat,
                            point=asked)
            return AddressSearch(query=text, normalized=normalized, found=True, result=result,
                                 message=f"Found {asked.matched or text} ({asked.source}). "
                                 f"{result.message}")
    candidates = [AddressCandidate(line=r.line, lon=r.lon, lat=r.lat, source=r.source)
                  for r in places[:10]]
    if places:
        message = (f"{text!r} could be {len(places)} places: choose one, or put a pin on the "
                   "map.")
    elif parsed is None:
        message = (f"{text!r} is not a street address we can read (a house number and a "
                   "street, for example 12525 Stone Ave N) nor a place we know: put a pin "
                   "on the map instead.")
    else:
        message = (f"{parsed.line} is not among the region's address points, so it cannot be "
                   "placed exactly: check it, or put a pin on the map.")
    return AddressSearch(query=text, normalized=normalized, found=False,
                         candidates=candidates, message=message)


def address_point_sources(*, session: Session, region_id: int) -> list[tuple[str, int]]:
    """Each source of address points and how many points it gave."""
    rows = session.execute(
        select(AddressPoint.source, func.count()).where(AddressPoint.region_id == region_id)
        .group_by(AddressPoint.source).order_by(AddressPoint.source)).all()
    return [(str(s), int(n)) for s, n in rows]


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
