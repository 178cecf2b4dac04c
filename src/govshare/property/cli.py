"""CLI of the property domain: `property import`, `property export`, `property mappings`,
`property presets`, `property consolidate` (a consolidation plan, optionally added to the
carbon plan), `property thumbnails` (photos stored before thumbnails get theirs).

An import runs as one unit of work: it changes everything the file says or nothing. A refused
file prints its first problems (row, column, value, reason) and exits 2; ``--report FILE``
writes every problem as CSV.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from govshare.core import tabular
from govshare.core.cli_support import (
    console,
    db,
    err_console,
    handle_errors,
    print_json,
    validated,
)
from govshare.core.errors import BadRequest, NotFound, ValidationFailed
from govshare.core.tabular import FORMATS
from govshare.core.tenancy import system_principal
from govshare.property import api, planning, queries, service
from govshare.property.import_export import exporter, importer, mappings
from govshare.property.import_export.presets import PRESETS
from govshare.property.schemas import SOLVE_MINUTES, ConsolidationCarbonIn
from govshare.regions import queries as regions_queries

property_app = typer.Typer(help="Property registry: import and export assets.",
                           no_args_is_help=True)
PREVIEW = 20


@contextmanager
def progress_bar() -> Iterator[Callable[[str, int, int | None], None]]:
    """A progress bar on a terminal (bytes read while validating, rows while writing)."""
    if not sys.stderr.isatty():
        yield lambda _phase, _done, _total: None
        return
    columns = (TextColumn("{task.description:<11}"), BarColumn(), TaskProgressColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=True) as bar:
        tasks: dict[str, TaskID] = {}

        def update(phase: str, done: int, total: int | None) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=total)
            bar.update(tasks[phase], completed=done, total=total)
        yield update


def _jurisdiction(session: object, ref: str) -> int:
    region = regions_queries.current_region(session=session)  # type: ignore[arg-type]
    if region is None:
        raise NotFound("No region yet: run `govshare region create` or `govshare demo` first")
    return regions_queries.find_jurisdiction(session=session,  # type: ignore[arg-type]
                                             region_id=region.id, ref=ref).id


@property_app.command("import")
@handle_errors
def import_command(
    file: Annotated[Path, typer.Argument(help="CSV, XLSX or GeoJSON file of assets")],
    jurisdiction: Annotated[str, typer.Option(help="Owner: jurisdiction id, GEOID or name")],
    preset: Annotated[str, typer.Option(help="Column preset: " + ", ".join(PRESETS))
                      ] = "govshare",
    fmt: Annotated[str | None, typer.Option(
        "--format", help="csv, xlsx or geojson (default: from the content and name)")] = None,
    dry_run: Annotated[bool, typer.Option(help="Validate and count, write nothing")] = False,
    report: Annotated[Path | None, typer.Option(
        help="If the file is refused, write every problem to this CSV file")] = None,
    mapping: Annotated[list[str] | None, typer.Option(
        "--map", metavar="FILE_COLUMN=FIELD",
        help="Read FIELD from the file's FILE_COLUMN (repeat for each column; on top of the "
             "preset, for a file from a source without one). Fields: `govshare property "
             "presets`")] = None,
    saved: Annotated[str | None, typer.Option(
        help="Use the column mapping saved under this name (`govshare property mappings`)")
    ] = None,
    save_as: Annotated[str | None, typer.Option(
        help="Save the --map pairs under this name once the file is accepted")] = None,
) -> None:
    """Import assets into one jurisdiction: all rows or none; re-importing is idempotent."""
    pairs = list(mapping or [])
    if saved and pairs:
        raise BadRequest("Give --map pairs or --saved NAME, not both")
    with db() as session:
        jid = _jurisdiction(session, jurisdiction)
        region_id = regions_queries.get_jurisdiction(session=session, jurisdiction_id=jid
                                                     ).region_id
        if saved:
            pairs = list(mappings.get_mapping(session=session, actor=system_principal(),
                                              region_id=region_id, name=saved).pairs)
        try:
            fields = tabular.parse_mapping(pairs)
        except tabular.MappingError as exc:
            raise BadRequest(f"--map: {exc}") from None
        try:
            with progress_bar() as step:
                result = importer.import_assets(
                    session=session, actor=system_principal(), jurisdiction_id=jid,
                    source=file, fmt=fmt, preset=preset, dry_run=dry_run, progress=step,
                    mapping=fields)
        except importer.ImportRefused as exc:
            _print_refusal(exc, report)
            raise typer.Exit(2) from None
        if save_as:  # committed with the import (a dry run writes only the mapping)
            row = mappings.save_mapping(session=session, actor=system_principal(),
                                        region_id=region_id, name=save_as, pairs=pairs)
            console.print(f"Column mapping saved as {row.name!r}.", highlight=False)
    console.print(("Dry run, nothing written. " if dry_run else "Imported. ") +
                  result.summary() + ".", highlight=False)
    for note in result.notes():
        console.print(note, highlight=False)


def _print_refusal(exc: importer.ImportRefused, report: Path | None) -> None:
    err_console.print(f"[red]error:[/red] {exc.detail}", highlight=False)
    table = Table("row", "column", "value", "reason", show_lines=False)
    for e in exc.report.first(PREVIEW):
        table.add_row("" if e.row is None else str(e.row), e.column, e.value[:40], e.reason)
    err_console.print(table)
    if report is not None:
        with report.open("w", encoding="utf-8", newline="") as fh:
            n = exc.report.write_csv(fh)
        err_console.print(f"All {n:,} problems written to {report}.", highlight=False)
    elif exc.report.count > PREVIEW:
        err_console.print(f"{exc.report.count - PREVIEW:,} more; add --report FILE to get all "
                          "of them as CSV.", highlight=False)
    exc.report.close()


@property_app.command("export")
@handle_errors
def export_command(
    jurisdiction: Annotated[str, typer.Option(help="Owner: jurisdiction id, GEOID or name")],
    output: Annotated[Path, typer.Option(help="File to write")],
    fmt: Annotated[str, typer.Option("--format", help="csv, xlsx or geojson")] = "csv",
) -> None:
    """Export a jurisdiction's assets (CSV and XLSX neutralize formulas; GeoJSON is RFC 7946)."""
    if fmt not in FORMATS:
        raise typer.BadParameter(f"use one of {', '.join(FORMATS)}", param_hint="--format")
    with db() as session:
        jid = _jurisdiction(session, jurisdiction)
        with output.open("wb") as out:
            n = exporter.export_file(session=session, actor=system_principal(),
                                    jurisdiction_ids=[jid], fmt=fmt, out=out)
    console.print(f"Wrote {n:,} assets to {output}.", highlight=False)


@property_app.command("mappings")
@handle_errors
def mappings_command() -> None:
    """List the column mappings saved for the region (`import --saved NAME` uses one)."""
    with db() as session:
        region = regions_queries.current_region(session=session)
        if region is None:
            raise NotFound("No region yet: run `govshare region create` or `govshare demo`")
        rows = mappings.list_mappings(session=session, actor=system_principal(),
                                      region_id=region.id)
        listed = [(r.name, "; ".join(r.pairs), r.updated_by) for r in rows]
    if not listed:
        console.print("No saved column mappings.")
        return
    table = Table("name", "pairs (FILE_COLUMN=FIELD)", "saved by")
    for name, pairs_text, by in listed:
        table.add_row(name, pairs_text, by)
    console.print(table)


@property_app.command("presets")
def presets_command() -> None:
    """List the import presets and the file columns each one reads."""
    for preset in PRESETS.values():
        table = Table("field", "file column(s)", title=f"{preset.name}: {preset.label}",
                      caption=preset.description)
        for name, columns in preset.column_map():
            table.add_row(name, columns)
        console.print(table)


@property_app.command("thumbnails")
@handle_errors
def thumbnails_command() -> None:
    """Make the thumbnails of asset photos stored before there were any (before migration 0022).

    Until then such a photo is served whole where its thumbnail is asked for. Safe to run
    again, and while the site serves: each thumbnail is committed as it is made."""
    with db() as session:
        ids = queries.photos_without_thumbnail(session=session)
        made = 0
        for photo_id in ids:
            made += service.make_thumbnail(session=session, photo_id=photo_id)
            session.commit()
            session.expunge_all()  # one photo's bytes in memory at a time
    console.print(f"Made {made:,} thumbnails ({len(ids):,} photos without one).",
                  highlight=False)


@property_app.command("consolidate")
@handle_errors
def consolidate_command(
    use: Annotated[str, typer.Option(help="Building use, e.g. office, library")],
    max_km: Annotated[float | None, typer.Option(help="Farthest move, km (default 15)")] = None,
    max_sites: Annotated[int | None, typer.Option(help="At most this many buildings")] = None,
    travel: Annotated[float | None, typer.Option(
        help="Travel cost, $ per person-km per year (default 191.36)")] = None,
    keep: Annotated[list[int] | None, typer.Option(help="Keep this asset id (repeat)")] = None,
    close: Annotated[list[int] | None, typer.Option(help="Close this asset id (repeat)")] = None,
    keep_together: Annotated[bool, typer.Option(
        "--keep-together", help="Keep each building's occupants together: they move as one "
        "to a single building (default: they may be split among several)")] = False,
    to_carbon_plan: Annotated[bool, typer.Option(
        "--to-carbon-plan", help="Add the plan's emissions effect to the carbon plan: a "
        "consolidation measure per member whose buildings it closes (the same use again "
        "replaces them)")] = False,
    start_year: Annotated[int | None, typer.Option(
        help="With --to-carbon-plan: first year the measures take effect (default: next "
        "year)")] = None,
    minutes: Annotated[int | None, typer.Option(
        help="Time for the solver, minutes (default 1; at most 60): a large region whose "
        "buildings dominate the cost may need longer to prove its plan")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Find the consolidation plan for one use (which buildings to keep across members);
    with --to-carbon-plan, add its emissions effect to the carbon plan."""
    data = validated(ConsolidationCarbonIn, use=use, max_km=max_km, max_sites=max_sites,
                     travel=travel, keep=keep or [], close=close or [],
                     keep_together=keep_together, start_year=start_year)
    if minutes is not None and not SOLVE_MINUTES.admits(minutes):
        raise ValidationFailed("--minutes is not valid", errors=[
            {"loc": ["minutes"], "reason": f"{SOLVE_MINUTES.reason} (minutes)"}])
    time_limit = 60.0 * minutes if minutes is not None else planning.DEFAULT_TIME_LIMIT
    if minutes is not None:  # the measures' link back carries the time too
        data = data.model_copy(update={"minutes": minutes})
    actor = system_principal()
    with db() as session:
        region = regions_queries.current_region(session=session)
        if region is None:
            raise NotFound("No region yet: run `govshare region create` or `govshare demo`")
        if to_carbon_plan:
            out = api.add_plan_to_carbon(session=session, actor=actor, region_id=region.id,
                                         data=data, time_limit=time_limit)
            if as_json:
                print_json(out.model_dump(mode="json"))
                return
            for m in out.members:
                line = (f"{m.jurisdiction}: {m.t_co2e_per_year:,.1f} t CO2e a year "
                        f"({len(m.counted)} closed buildings' {m.year} emissions, "
                        "location-based)")
                console.print(line, highlight=False)
                for b in m.left_out:
                    console.print(f"  left out: {b.name} (asset {b.asset_id}): {b.reason}",
                                  highlight=False)
            console.print(f"{len(out.measures)} measures from {out.start_year} in the carbon "
                          f"plan ({out.replaced} replaced); plan: {out.link}", highlight=False)
            console.print(out.not_modeled, highlight=False)
            return
        plan = api.run_plan(session=session, actor=actor, region_id=region.id, data=data,
                            time_limit=time_limit)
    closed = [s for s in plan.sites if not s.keep]
    summary = {"use": use, "proven": plan.proven, "keep_together": plan.keep_together,
               "model": plan.model_label, "sites": len(plan.sites),
               "kept": len(plan.sites) - len(closed),
               "closed": [{"asset_id": s.asset.id, "name": s.asset.name,
                           "jurisdiction": s.jurisdiction} for s in closed],
               "baseline_cents": plan.baseline_cents, "plan_cents": plan.plan_cents,
               "savings_cents": plan.savings_cents, "status": plan.solution.status,
               "gap": plan.solution.gap, "bound_cents": plan.bound_cents,
               "why_not_proven": plan.why_not_proven, "parts_note": plan.parts_note}
    if as_json:
        print_json(summary)
        return
    console.print(f"{'Plan' if plan.proven else 'Best plan found (not proven optimal)'}: keep "
                  f"{summary['kept']} of {summary['sites']} {use} buildings, saving "
                  f"${plan.savings_cents / 100:,.0f} a year. {plan.model_label}.",
                  highlight=False)
    if not plan.proven and plan.has_plan:
        gap = plan.solution.gap
        line = f"Not proven: {plan.why_not_proven}."
        if gap is not None and plan.bound_cents is not None:
            line += (f" Gap {gap * 100:.2f}%: no plan can cost less than "
                     f"${plan.bound_cents / 100:,.0f} a year.")
        if plan.parts_note:
            line += " " + plan.parts_note
        console.print(line, highlight=False)
    for s in closed:
        console.print(f"  close {s.asset.name} ({s.jurisdiction}, asset {s.asset.id})",
                      highlight=False)
