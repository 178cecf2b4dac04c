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
from sqlalchemy.orm import Session

from govshare.core import audit, tabular
from govshare.core.db import utcnow
from govshare.core.errors import BadRequest, NotFound, ValidationFailed
from govshare.core.formats import DEFAULT_TIME_ZONE
from govshare.core.tenancy import Action, Principal, authorize
from govshare.geo import queries
from govshare.geo.calc import (
    BoundaryError,
    CheckedBoundary,
    TopoFeature,
    TopologyError,
    accept_census_geometry,
    decode_topojson,
    validate_boundary,
)
from govshare.geo.models import Boundary
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
