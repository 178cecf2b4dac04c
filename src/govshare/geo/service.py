"""Writes of the geo domain: boundaries, and regions built from Census boundaries.

All-or-nothing: everything happens in the caller's transaction, and any bad GEOID or invalid
geometry raises before the caller commits, so nothing is half-written.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

from shapely.geometry import mapping
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from govshare.core import audit, tabular
from govshare.core.db import utcnow
from govshare.core.errors import BadRequest, NotFound, ValidationFailed
from govshare.core.formats import DEFAULT_TIME_ZONE
from govshare.core.tenancy import Action, Principal, authorize
from govshare.geo import calc, queries
from govshare.geo.calc import (
    BoundaryError,
    CheckedBoundary,
    TopoFeature,
    TopologyError,
    accept_census_geometry,
    decode_topojson,
    validate_boundary,
)
from govshare.geo.models import AddressPoint, Boundary
from govshare.geo.schemas import Geocoded
from govshare.regions import queries as regions_queries
from govshare.regions import service as regions_service
from govshare.regions.schemas import JurisdictionCreate, JurisdictionKind

CENSUS_SOURCE = "U.S. Census Bureau cartographic boundaries 2017 (npm us-atlas, 1:10m)"
POPULATION_SOURCE = "Census Bureau estimate for July 1, 2018 (USDA ERS County-level Data Sets)"
Progress = Callable[[str], None]


def approx_area_km2(geom: Any) -> float:
    """Area on the sphere, approximated per polygon by scaling degrees at its mean latitude.

    Good to well under 1% for jurisdiction-sized shapes; used for display, never for money.
    """
    total = 0.0
    for poly in getattr(geom, "geoms", [geom]):
        lat = math.radians(poly.centroid.y)
        total += poly.area * (111.32 ** 2) * math.cos(lat)
    return total


def _store(session: Session, jurisdiction_id: int, checked: CheckedBoundary, source: str
           ) -> tuple[Boundary, dict[str, Any] | None]:
    text = json.dumps(mapping(checked.geometry), separators=(",", ":"))
    checksum = hashlib.sha256(text.encode()).hexdigest()
    row = queries.get_boundary(session=session, jurisdiction_id=jurisdiction_id)
    before = None
    if row is None:
        row = Boundary(jurisdiction_id=jurisdiction_id)
        session.add(row)
    else:
        before = audit.snapshot(row, ("checksum", "source", "area_km2"))
    minx, miny, maxx, maxy = checked.bbox
    row.geojson, row.checksum, row.source = text, checksum, source[:300]
    row.min_lon, row.min_lat, row.max_lon, row.max_lat = minx, miny, maxx, maxy
    row.area_km2 = approx_area_km2(checked.geometry)
    row.updated_at = utcnow()
    session.flush()
    return row, before


def set_boundary(
    *,
    session: Session,
    actor: Principal,
    jurisdiction_id: int,
    geojson: Any,
    source: str,
    repair: bool = False,
) -> tuple[Boundary, CheckedBoundary]:
    """Validate a GeoJSON boundary and make it the jurisdiction's boundary."""
    authorize(actor, Action.jurisdiction_manage, jurisdiction_id)
    j = regions_queries.get_jurisdiction(session=session, jurisdiction_id=jurisdiction_id)
    try:
        checked = validate_boundary(geojson, repair=repair)
    except BoundaryError as exc:
        raise ValidationFailed(
            f"The boundary for {j.name} was not accepted: {exc}",
            errors=[{"loc": ["geojson"], "reason": p, "value": None} for p in exc.problems[:20]],
        ) from exc
    row, before = _store(session, j.id, checked, source)
    audit.record(session, actor, action="boundary.set", entity="boundary", entity_id=row.id,
                 jurisdiction_id=j.id, before=before,
                 after={"checksum": row.checksum, "source": row.source,
                        "area_km2": round(row.area_km2, 3), "repaired": checked.repaired})
    return row, checked


def set_boundary_from_file(*, session: Session, actor: Principal, jurisdiction_id: int,
                           path: Path, repair: bool = False) -> tuple[Boundary, CheckedBoundary]:
    try:
        doc = tabular.load_json(path.read_bytes())
    except FileNotFoundError:
        raise NotFound(f"{path}: no such file") from None
    except tabular.FileRefused as exc:
        raise BadRequest(f"{path}: {exc.error.reason}") from None
    return set_boundary(session=session, actor=actor, jurisdiction_id=jurisdiction_id,
                        geojson=doc, source=f"GeoJSON file {path.name}", repair=repair)


# ------------------------------------------------------------------------------ Census regions


class CensusArea(NamedTuple):
    name: str
    population: int
    state: str  # USPS abbreviation


@lru_cache(maxsize=1)
def census_population() -> dict[str, CensusArea]:
    """FIPS -> (area name, 2018 population estimate, state abbreviation)."""
    path = resources.files("govshare.geo").joinpath("data/census_population_2018.csv")
    with path.open(encoding="utf-8") as fh:
        return {r["fips"]: CensusArea(r["area_name"], int(r["pop_estimate_2018"]), r["state"])
                for r in csv.DictReader(fh)}


def load_atlas(atlas_dir: Path, name: str, object_name: str) -> dict[str, TopoFeature]:
    path = atlas_dir / name
    if not path.exists():
        raise NotFound(
            f"{path} is missing. It comes from the npm package us-atlas: run `make install` "
            "(or `npm ci --prefix web`), or point GOVSHARE_US_ATLAS_DIR at the package."
        )
    try:
        return decode_topojson(json.loads(path.read_text()), object_name)
    except (TopologyError, json.JSONDecodeError) as exc:
        raise BadRequest(f"{path}: not a usable TopoJSON topology ({exc})") from exc


@dataclass
class CensusRegion:
    region_id: int
    created: list[tuple[int, str]]


def _parse_codes(codes: list[str], width: int, label: str) -> list[str]:
    out = []
    bad = []
    for c in codes:
        c = c.strip()
        if c.isdigit() and len(c) <= width:
            out.append(c.zfill(width))
        elif c:
            bad.append(c)
    if bad:
        raise BadRequest(f"Not {label} FIPS codes ({width} digits): {', '.join(bad)}")
    return list(dict.fromkeys(out))


def create_region_from_census(
    *,
    session: Session,
    actor: Principal,
    name: str,
    states: list[str],
    counties: list[str],
    atlas_dir: Path,
    progress: Progress | None = None,
    time_zone: str = DEFAULT_TIME_ZONE,
) -> CensusRegion:
    """A region whose members are the given states and counties, with Census boundaries.

    Counties are attached to their state as parent when the state is a member too. Unknown
    codes are all reported at once and nothing is created.
    """
    authorize(actor, Action.jurisdiction_manage)
    step = progress or (lambda _msg: None)
    state_codes = _parse_codes(states, 2, "state")
    county_codes = _parse_codes(counties, 5, "county")
    if not state_codes and not county_codes:
        raise BadRequest("Give at least one state (--states) or county (--counties) FIPS code")
    step("reading Census boundaries")
    state_feats = load_atlas(atlas_dir, "states-10m.json", "states") if state_codes else {}
    county_feats = load_atlas(atlas_dir, "counties-10m.json", "counties") if county_codes else {}
    unknown = [f"state {c}" for c in state_codes if c not in state_feats]
    unknown += [f"county {c}" for c in county_codes if c not in county_feats]
    if unknown:
        raise NotFound("Unknown GEOID(s), not in the Census boundary files: " + ", ".join(unknown))
    # Every boundary is checked before anything is written, so that one unusable shape is
    # reported (with all the others) up front instead of failing half-way through the members.
    step("checking Census boundaries")
    checked: dict[str, CheckedBoundary] = {}
    problems: list[str] = []
    for label, codes, feats in (("state", state_codes, state_feats),
                                ("county", county_codes, county_feats)):
        for code in codes:
            try:
                checked[code] = accept_census_geometry(feats[code].geometry)
            except BoundaryError as exc:
                problems.append(f"{label} {code} ({feats[code].name}): {exc}")
    if problems:
        raise ValidationFailed(
            "Census boundaries not usable: " + "; ".join(problems),
            errors=[{"loc": ["geoid"], "reason": p, "value": None} for p in problems[:20]])
    region = regions_service.create_region(session=session, actor=actor, name=name,
                                           time_zone=time_zone)
    pops = census_population()
    created: list[tuple[int, str]] = []
    state_ids: dict[str, int] = {}
    for code in state_codes:
        feat = state_feats[code]
        pop = pops.get(code + "000")
        j = regions_service.add_jurisdiction(
            session=session, actor=actor, region_id=region.id,
            data=JurisdictionCreate(
                name=f"State of {feat.name}" if feat.name else f"State {code}",
                kind=JurisdictionKind.state, geoid=code,
                population=pop.population if pop else None,
                population_source=POPULATION_SOURCE if pop else None),
        )
        step(f"boundary of {j.name}")
        _census_boundary(session, actor, j.id, checked[code])
        state_ids[code] = j.id
        created.append((j.id, j.name))
    county_names = _county_names(county_codes, county_feats, pops)
    for code in county_codes:
        pop = pops.get(code)
        county_name = county_names[code]
        j = regions_service.add_jurisdiction(
            session=session, actor=actor, region_id=region.id,
            data=JurisdictionCreate(
                name=county_name, kind=JurisdictionKind.county, geoid=code,
                parent_id=state_ids.get(code[:2]),
                population=pop.population if pop else None,
                population_source=POPULATION_SOURCE if pop else None),
        )
        step(f"boundary of {j.name}")
        _census_boundary(session, actor, j.id, checked[code])
        created.append((j.id, j.name))
    return CensusRegion(region_id=region.id, created=created)


def _county_names(codes: list[str], feats: dict[str, TopoFeature],
                  pops: dict[str, CensusArea]) -> dict[str, str]:
    """Member names for counties; a name shared by counties of several states (there are 30
    Washington Counties) gets its state, "Washington County, OR", as member names are unique
    within a region."""
    plain = {c: pops[c].name if c in pops else f"{feats[c].name} County" for c in codes}
    seen: dict[str, int] = {}
    for name in plain.values():
        seen[name] = seen.get(name, 0) + 1
    out = {}
    for code, name in plain.items():
        if seen[name] > 1:
            state = pops.get(code[:2] + "000")
            name = f"{name}, {state.state if state else code[:2]}"
        out[code] = name
    return out


def _census_boundary(session: Session, actor: Principal, jurisdiction_id: int,
                     checked: CheckedBoundary) -> None:
    row, _ = _store(session, jurisdiction_id, checked, CENSUS_SOURCE)
    audit.record(session, actor, action="boundary.set", entity="boundary", entity_id=row.id,
                 jurisdiction_id=jurisdiction_id,
                 after={"checksum": row.checksum, "source": row.source,
                        "area_km2": round(row.area_km2, 3), "repaired": checked.repaired})


def copy_boundary(*, session: Session, actor: Principal, from_jurisdiction_id: int,
                  to_jurisdiction_id: int, note: str) -> Boundary:
    """Give a jurisdiction the same boundary as another (a county-wide special district)."""
    authorize(actor, Action.jurisdiction_manage, to_jurisdiction_id)
    src = queries.get_boundary(session=session, jurisdiction_id=from_jurisdiction_id)
    if src is None:
        raise NotFound(f"Jurisdiction {from_jurisdiction_id} has no boundary to copy")
    row, _ = set_boundary(session=session, actor=actor, jurisdiction_id=to_jurisdiction_id,
                          geojson=json.loads(src.geojson), source=f"{note} ({src.source})")
    return row


# ------------------------------------------------------------------------------ address points

# Accepted column names (compared case-blind): OpenAddresses' CSV layout
# (LON,LAT,NUMBER,STREET,UNIT,CITY,DISTRICT,REGION,POSTCODE,ID,HASH) and its GeoJSON
# properties (number, street, unit, city, district, region, postcode, id, hash), plus NAME
# for a named place (a school site) and a few common spellings.
ADDRESS_COLUMNS: dict[str, tuple[str, ...]] = {
    "lon": ("lon", "longitude", "x"),
    "lat": ("lat", "latitude", "y"),
    "number": ("number", "house_number", "addr:housenumber"),
    "street": ("street", "street_name", "addr:street"),
    "unit": ("unit", "addr:unit"),
    "city": ("city", "addr:city"),
    "region": ("region", "state", "addr:state"),
    "postcode": ("postcode", "zip", "zipcode", "zip_code", "addr:postcode"),
    "id": ("id",),
    "name": ("name", "place_name", "property_l"),
}
MAX_ADDRESS_POINTS = 2_000_000


@dataclass
class AddressImport:
    source: str
    imported: int
    replaced: int
    places: int  # rows that are named places (no street address)
    unused_columns: list[str]


def _address_columns(columns: list[str]) -> tuple[dict[str, int], list[str]]:
    where: dict[str, int] = {}
    keys = [tabular.header_key(c) for c in columns]
    for field_name, names in ADDRESS_COLUMNS.items():
        for i, k in enumerate(keys):
            if k in names and field_name not in where:
                where[field_name] = i
    if tabular.GEOMETRY in columns:
        where["geometry"] = columns.index(tabular.GEOMETRY)
    used = set(where.values())
    unused = [c for i, c in enumerate(columns) if i not in used
              and tabular.header_key(c) not in ("district", "hash")]
    return where, unused


def import_address_points(*, session: Session, actor: Principal, region_id: int,
                          stream: Any, filename: str, source: str) -> AddressImport:
    """Load an address-point file: OpenAddresses CSV (LON, LAT, NUMBER, STREET, ...) or
    GeoJSON Point features with the same properties. A row needs a point and either a number
    and street or a NAME.

    All or nothing: every problem is reported (row, column, value, reason) and nothing is
    written if there is one. Idempotent: the file replaces every point of the same
    ``source``, so importing it again leaves the same points.
    """
    authorize(actor, Action.jurisdiction_manage, region_id=region_id)
    source = " ".join(source.split())[:300]
    if not source:
        raise BadRequest("Name the source of the address points (who published the file, "
                         "and when)")
    head = stream.read(8192)
    stream.seek(0)
    fmt = tabular.detect_format(filename, head)
    report = tabular.ErrorReport()
    try:
        table = tabular.open_table(stream, fmt)
    except tabular.FileRefused as exc:
        report.add(exc.error)
        raise tabular.Refused(f"{filename} cannot be read: {exc.error.reason}",
                              report=report) from None
    where, unused = _address_columns(table.columns)
    has_point = "geometry" in where or ("lon" in where and "lat" in where)
    if not has_point:
        report.add(tabular.RowError(None, "LON", "", "the file needs LON and LAT columns (or "
                                    "GeoJSON Point geometries)"))
    if not ({"number", "street"} <= where.keys() or "name" in where):
        report.add(tabular.RowError(None, "STREET", "", "the file needs NUMBER and STREET "
                                    "columns, or NAME for named places"))
    if report.count:
        raise tabular.Refused(f"{filename}: {report.count} problems with its columns",
                              report=report)
    rows: list[dict[str, Any]] = []

    def cell(cells: list[Any], name: str) -> str:
        i = where.get(name)
        v = cells[i] if i is not None and i < len(cells) else None
        return "" if v is None else str(v).strip()

    for number, cells, problems in table.rows:
        for e in problems:
            report.add(e)
        if cells is None:
            continue
        if "geometry" in where:
            point = cells[where["geometry"]]
            if not point:
                report.add(tabular.RowError(number, "geometry", "", "no Point geometry"))
                continue
            lon, lat = float(point[0]), float(point[1])
        else:
            try:
                lon, lat = float(cell(cells, "lon")), float(cell(cells, "lat"))
            except ValueError:
                report.add(tabular.RowError(number, "LON", f"{cell(cells, 'lon')} "
                                            f"{cell(cells, 'lat')}"[:80],
                                            "LON and LAT must be numbers (WGS84 degrees)"))
                continue
        if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180
                and -90 <= lat <= 90):
            report.add(tabular.RowError(number, "LON", f"{lon}, {lat}", "not a longitude/"
                                        "latitude pair (-180..180, -90..90); projected "
                                        "coordinates or LON and LAT swapped?"))
            continue
        num, street, name = cell(cells, "number"), cell(cells, "street"), cell(cells, "name")
        parsed = None
        if num or street:
            parsed = calc.address_from_parts(num, street, unit=cell(cells, "unit"),
                                             city=cell(cells, "city"),
                                             state=cell(cells, "region"),
                                             zip_code=cell(cells, "postcode"))
            if parsed is None:
                report.add(tabular.RowError(number, "STREET", f"{num} {street}"[:80],
                                            "not a street address (a house number and a "
                                            "street name)"))
                continue
        elif not name:
            report.add(tabular.RowError(number, "NUMBER", "", "no address (NUMBER and STREET) "
                                        "and no NAME"))
            continue
        postcode = cell(cells, "postcode")[:5] or (parsed.zip if parsed else "")
        line = parsed.line if parsed else name
        if parsed and name:
            line = f"{name}, {parsed.line}"
        rows.append({"region_id": region_id, "key": parsed.key if parsed else None,
                     "loose_key": parsed.loose_key if parsed else None,
                     "name_key": calc.place_name_key(name) if name else None,
                     "line": line[:300], "name": name[:200] or None,
                     "unit": (parsed.unit[:50] or None) if parsed else None,
                     "postcode": postcode or None, "lon": lon, "lat": lat,
                     "source": source, "source_row": number})
        if len(rows) > MAX_ADDRESS_POINTS:
            report.add(tabular.RowError(number, "", "", f"more than {MAX_ADDRESS_POINTS:,} "
                                        "points: split the file"))
            break
    if report.count:
        raise tabular.Refused(f"{report.count:,} problems in {filename}; nothing was imported",
                              report=report)
    if not rows:
        report.add(tabular.RowError(None, "", "", "the file has no rows"))
        raise tabular.Refused(f"{filename} has no address points", report=report)
    old = select(func.count()).select_from(AddressPoint).where(
        AddressPoint.region_id == region_id, AddressPoint.source == source)
    replaced = int(session.scalar(old) or 0)
    session.execute(delete(AddressPoint).where(AddressPoint.region_id == region_id,
                                               AddressPoint.source == source))
    now = utcnow()
    for i in range(0, len(rows), 5000):
        session.execute(insert(AddressPoint), [dict(r, imported_at=now)
                                               for r in rows[i:i + 5000]])
    session.flush()
    places = sum(1 for r in rows if r["key"] is None)
    audit.record(session, actor, action="address_points.import", entity="address_points",
                 entity_id=source[:80],
                 after={"file": filename[:200], "imported": len(rows), "replaced": replaced})
    return AddressImport(source=source, imported=len(rows), replaced=int(replaced),
                         places=places, unused_columns=unused)


# ------------------------------------------------------------------------------ online geocoder

CENSUS_SOURCE = "US Census Geocoder (Public_AR_Current address ranges), asked online"


def online_geocoder(settings: Any, *, transport: Any = None
                    ) -> Callable[[str], Geocoded | None] | None:
    """The optional online geocoder of the settings, or None (``geocoder = none``, the
    default: nothing at run time depends on a network service). The US Census Geocoder is
    asked for an address that is not among the region's address points; one exact match is
    taken, anything else (no match, several, an error, a timeout) is None and the person is
    asked for a pin."""
    if getattr(settings, "geocoder", "none") != "census":
        return None
    import httpx

    url = settings.census_geocoder_url
    timeout = settings.geocoder_timeout_seconds

    def ask(text: str) -> Geocoded | None:
        try:
            with httpx.Client(timeout=timeout, transport=transport) as client:
                r = client.get(url, params={"address": text[:300], "format": "json",
                                            "benchmark": "Public_AR_Current"})
                r.raise_for_status()
                matches = r.json().get("result", {}).get("addressMatches") or []
        except (httpx.HTTPError, ValueError, AttributeError):
            return None
        if len(matches) != 1:
            return None
        m = matches[0]
        try:
            lon, lat = float(m["coordinates"]["x"]), float(m["coordinates"]["y"])
        except (KeyError, TypeError, ValueError):
            return None
        if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180
                and -90 <= lat <= 90):
            return None
        return Geocoded(lon=lon, lat=lat, method="census-geocoder", source=CENSUS_SOURCE,
                        matched=str(m.get("matchedAddress", ""))[:300] or None, exact=True)

    return ask
