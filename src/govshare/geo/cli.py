"""CLI of the geo domain: `region create` from Census boundaries, `jurisdiction
import-boundary`, and `locate`. Registered onto the root app's groups by ``govshare.cli``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from govshare.core.cli_support import (
    console,
    db,
    handle_errors,
    print_json,
    progress,
    settings,
)
from govshare.core.errors import BadRequest, Conflict, NotFound
from govshare.core.formats import DEFAULT_TIME_ZONE
from govshare.core.tenancy import system_principal
from govshare.geo import queries, service
from govshare.regions import queries as regions_queries


def _split(values: list[str]) -> list[str]:
    return [v for item in values for v in item.split(",") if v.strip()]


@handle_errors
def region_create(
    name: Annotated[str, typer.Argument(help="Name of the region, e.g. 'Puget Sound'")],
    counties: Annotated[list[str], typer.Option(
        "--counties", help="County FIPS codes (5 digits), comma-separated or repeated")] = [],  # noqa: B006
    states: Annotated[list[str], typer.Option(
        "--states", help="State FIPS codes (2 digits), comma-separated or repeated")] = [],  # noqa: B006
    time_zone: Annotated[str, typer.Option(
        "--time-zone", help="IANA time zone in which dates and times are shown")
    ] = DEFAULT_TIME_ZONE,
) -> None:
    """Create the region from Census boundaries (npm us-atlas, 2017, 1:10m)."""
    cfg = settings()
    with db() as session, progress() as step:
        existing = regions_queries.current_region(session=session)
        if existing is not None:
            raise Conflict(
                f"This installation already serves the region {existing.name!r}; "
                "one installation serves one region")
        result = service.create_region_from_census(
            session=session, actor=system_principal(), name=name, states=_split(states),
            counties=_split(counties), atlas_dir=cfg.resolved_us_atlas_dir, progress=step,
            time_zone=time_zone)
    console.print(f"Created region {name!r} (id {result.region_id}) with "
                  f"{len(result.created)} members (dates and times in {time_zone}):")
    for jid, jname in result.created:
        console.print(f"  {jid:>4}  {jname}")


@handle_errors
def import_boundary(
    jurisdiction: Annotated[str, typer.Argument(help="Jurisdiction id, GEOID or exact name")],
    file: Annotated[Path, typer.Argument(help="GeoJSON file: Polygon, MultiPolygon, Feature "
                                         "or FeatureCollection (WGS84 lon/lat)",
                                         exists=False)],
    repair: Annotated[bool, typer.Option(help="Repair an invalid polygon instead of refusing")
                      ] = False,
) -> None:
    """Load a jurisdiction's boundary from a GeoJSON file (e.g. a city's limits)."""
    with db() as session:
        region = regions_queries.current_region(session=session)
        if region is None:
            raise NotFound("No region yet: run `govshare region create` first")
        j = regions_queries.find_jurisdiction(session=session, region_id=region.id,
                                              ref=jurisdiction)
        row, checked = service.set_boundary_from_file(session=session, actor=system_principal(),
                                                      jurisdiction_id=j.id, path=file,
                                                      repair=repair)
        console.print(f"Boundary of {j.name} saved: {row.area_km2:,.1f} km², bbox "
                      f"{row.min_lon:.4f},{row.min_lat:.4f},{row.max_lon:.4f},{row.max_lat:.4f}.")
        for note in checked.notes:
            console.print(f"  note: {note}")


@handle_errors
def locate(
    lon: Annotated[float | None, typer.Option(help="Longitude, WGS84 degrees")] = None,
    lat: Annotated[float | None, typer.Option(help="Latitude, WGS84 degrees")] = None,
    zip_code: Annotated[str | None, typer.Option("--zip", help="5-digit ZIP code")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Which member jurisdictions serve a point or ZIP code."""
    with db() as session:
        region = regions_queries.current_region(session=session)
        if region is None:
            raise NotFound("No region yet: run `govshare region create` first")
        if zip_code:
            result = queries.locate_zip(session=session, region_id=region.id, zip_code=zip_code)
        elif lon is not None and lat is not None:
            result = queries.locate(session=session, region_id=region.id, lon=lon, lat=lat)
        else:
            raise BadRequest("Give --lon and --lat, or --zip")
    if as_json:
        print_json(result.model_dump(mode="json"))
        return
    p = result.point
    console.print(f"Point {p.lon:.5f}, {p.lat:.5f} ({p.source})", highlight=False)
    if not result.inside_region:
        console.print(result.message)
        raise typer.Exit(3)
    for j in result.jurisdictions:
        console.print(f"  {j.kind_label:<18} {j.name}" + (f"  (GEOID {j.geoid})" if j.geoid
                                                          else ""), highlight=False)


def register(*, region_app: typer.Typer, jurisdiction_app: typer.Typer,
             root: typer.Typer) -> None:
    region_app.command("create")(region_create)
    jurisdiction_app.command("import-boundary")(import_boundary)
    root.command("locate")(locate)
