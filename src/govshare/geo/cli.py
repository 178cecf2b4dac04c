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
            counties=_split(counties), atlas_dir=cfg.resolved_us_atlas_dir, progress=step)
    console.print(f"Created region {name!r} (id {result.region_id}) with "
                  f"{len(result.created)} members:")
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
    address: Annotated[str | None, typer.Option(
        "--address", help="A street address, e.g. '12525 Stone Ave N, Seattle, WA 98133'")
                       ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Which member jurisdictions serve a street address, a point or a ZIP code.

    An address is matched against the region's address points (the same answer as the
    /locate page and /api/v1/locate/address); one that cannot be placed exactly exits 4 with
    the candidates. A ZIP code names every member its area touches."""
    with db() as session:
        region = regions_queries.current_region(session=session)
        if region is None:
            raise NotFound("No region yet: run `govshare region create` first")
        if address:
            found = queries.search_address(session=session, region_id=region.id, text=address)
            if as_json:
                print_json(found.model_dump(mode="json"))
                if not found.found:
                    raise typer.Exit(4)
                return
            console.print(found.message, highlight=False)
            for c in found.candidates:
                console.print(f"  {c.line}  ({c.lon:.5f}, {c.lat:.5f}; {c.source})",
                              highlight=False)
            if found.result is None:
                raise typer.Exit(4)
            result = found.result
        elif zip_code:
            result = queries.locate_zip(session=session, region_id=region.id, zip_code=zip_code)
        elif lon is not None and lat is not None:
            result = queries.locate(session=session, region_id=region.id, lon=lon, lat=lat)
        else:
            raise BadRequest("Give --lon and --lat, or --zip, or --address")
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
    if result.zip_split:
        console.print(result.message, highlight=False)


@handle_errors
def import_address_points(
    file: Annotated[Path, typer.Argument(help="OpenAddresses CSV (LON, LAT, NUMBER, STREET, "
                                         "UNIT, CITY, REGION, POSTCODE, ...) or GeoJSON Point "
                                         "features with those properties (or NAME)")],
    source: Annotated[str, typer.Option(help="Who published the file and when; importing a "
                                        "file again under the same source replaces its "
                                        "points")],
    report: Annotated[Path | None, typer.Option(help="Write every problem to this CSV "
                                                "(row,column,value,reason)")] = None,
) -> None:
    """Load the region's address points, which address search matches against.

    All or nothing: a file with any bad row imports nothing and lists the problems."""
    from govshare.core import tabular

    with db() as session:
        region = regions_queries.current_region(session=session)
        if region is None:
            raise NotFound("No region yet: run `govshare region create` first")
        try:
            with file.open("rb") as fh:
                done = service.import_address_points(
                    session=session, actor=system_principal(), region_id=region.id,
                    stream=fh, filename=file.name, source=source)
        except FileNotFoundError:
            raise NotFound(f"{file}: no such file") from None
        except tabular.Refused as exc:
            if report is not None:
                with report.open("w", encoding="utf-8", newline="") as out:
                    n = exc.report.write_csv(out)
                console.print(f"All {n:,} problems written to {report}.", highlight=False)
            raise
    console.print(f"Imported {done.imported:,} address points from {file.name} "
                  f"({done.places:,} named places), source {done.source!r}; "
                  f"{done.replaced:,} earlier points of that source replaced.", highlight=False)
    if done.unused_columns:
        console.print("Columns not used: " + ", ".join(done.unused_columns), highlight=False)


def register(*, region_app: typer.Typer, jurisdiction_app: typer.Typer,
             root: typer.Typer) -> None:
    points = typer.Typer(help="The region's address points, which address search matches.",
                         no_args_is_help=True)
    points.command("import")(import_address_points)
    root.add_typer(points, name="address-points")
    region_app.command("create")(region_create)
    jurisdiction_app.command("import-boundary")(import_boundary)
    root.command("locate")(locate)
