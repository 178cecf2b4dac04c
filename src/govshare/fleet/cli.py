"""CLI of the fleet domain: `fleet import`, `fleet rightsize`, `fleet pool`, `fleet electrify`.

An import runs as one unit of work: everything the file says or nothing. A refused file
prints its first problems (row, column, value, reason) and exits 2; ``--report FILE`` writes
every problem as CSV. The analyses print a table, or JSON with ``--json``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from govshare.core.cli_support import console, db, err_console, handle_errors, print_json
from govshare.core.errors import NotFound
from govshare.core.tenancy import system_principal
from govshare.fleet import api, importer, planning, service
from govshare.fleet.calc import CLASS_LABELS
from govshare.regions import queries as regions_queries

fleet_app = typer.Typer(help="Fleet: import fuel cards and trip logs; right-size, pool, "
                             "electrify.", no_args_is_help=True)
PREVIEW = 20
SAMPLES = {"urbana": "urbana_fuel_card_export_2017.csv"}


def _region(session: Session) -> int:
    region = regions_queries.current_region(session=session)
    if region is None:
        raise NotFound("No region yet: run `govshare region create` or `govshare demo` first")
    return region.id


def _jurisdiction(session: Session, ref: str) -> int:
    return regions_queries.find_jurisdiction(session=session, region_id=_region(session),
                                             ref=ref).id


@fleet_app.command("import")
@handle_errors
def import_command(
    file: Annotated[Path | None, typer.Argument(help="CSV or XLSX file")] = None,
    jurisdiction: Annotated[str, typer.Option(help="Owner: jurisdiction id, GEOID or name")
                            ] = "",
    kind: Annotated[str, typer.Option(help="fuel (a fuel-card export) or trips (a usage log)")
                    ] = "fuel",
    preset: Annotated[str, typer.Option(help="Fuel columns: " + ", ".join(
        importer.FUEL_PRESETS))] = "fuel-card",
    sample: Annotated[str | None, typer.Option(
        help="Import a sample shipped with govshare instead of a file: urbana (the City of "
             "Urbana, IL fuel-card export, 2017)")] = None,
    dry_run: Annotated[bool, typer.Option(help="Validate and count, write nothing")] = False,
    report: Annotated[Path | None, typer.Option(
        help="If the file is refused, write every problem to this CSV file")] = None,
) -> None:
    """Import a fuel-card export or a trip log for one member: all rows or none."""
    if not jurisdiction:
        raise typer.BadParameter("give the owner", param_hint="--jurisdiction")
    if kind not in ("fuel", "trips"):
        raise typer.BadParameter("fuel or trips", param_hint="--kind")
    if sample is not None:
        if sample not in SAMPLES:
            raise typer.BadParameter(f"known samples: {', '.join(SAMPLES)}",
                                     param_hint="--sample")
        source: Any = resources.files("govshare.fleet").joinpath(f"data/{SAMPLES[sample]}")
        name = SAMPLES[sample]
    elif file is None:
        raise typer.BadParameter("give a FILE or --sample")
    else:
        source, name = file, file.name
    with db() as session:
        jid = _jurisdiction(session, jurisdiction)
        try:
            with source.open("rb") as fh:
                if kind == "fuel":
                    result = importer.import_fuel(session=session, actor=system_principal(),
                                                  jurisdiction_id=jid, source=fh,
                                                  file_name=name, preset=preset,
                                                  dry_run=dry_run)
                else:
                    result = importer.import_trips(session=session, actor=system_principal(),
                                                   jurisdiction_id=jid, source=fh,
                                                   file_name=name, dry_run=dry_run)
        except importer.ImportRefused as exc:
            _print_refusal(exc, report)
            raise typer.Exit(2) from None
    console.print(("Dry run, nothing written. " if dry_run else "Imported. ") +
                  f"{result.rows:,} rows: {result.added:,} added, {result.updated:,} updated, "
                  f"{result.unchanged:,} unchanged; {result.vehicles_registered:,} vehicles "
                  f"registered; {result.flagged:,} flagged.", highlight=False)
    for note in result.notes:
        console.print(note, highlight=False)


def _print_refusal(exc: importer.ImportRefused, report: Path | None) -> None:
    err_console.print(f"[red]error:[/red] {exc.detail}", highlight=False)
    table = Table("row", "column", "value", "reason")
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


def _miles(x: float | None) -> str:
    return "-" if x is None else f"{x:,.0f}"


@fleet_app.command("rightsize")
@handle_errors
def rightsize_command(
    jurisdiction: Annotated[str | None, typer.Option(help="Only this member")] = None,
    all_vehicles: Annotated[bool, typer.Option("--all", help="Every vehicle, not only the "
                                                             "under-used")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table")] = False,
) -> None:
    """Under-used vehicles (below the class threshold), with the evidence for each."""
    with db() as session:
        jid = _jurisdiction(session, jurisdiction) if jurisdiction else None
        entries, _params = planning.rightsizing(session=session, actor=system_principal(),
                                                region_id=_region(session), jurisdiction_id=jid)
        rows = [api.rightsize_out(e, f) for e, f in entries if e.under_used or all_vehicles]
    if as_json:
        print_json([r.model_dump(mode="json") for r in rows])
        return
    table = Table("member", "unit", "class", "year", "miles", "class avg", "threshold",
                  "under-used", "evidence", title="Right-sizing")
    for r in rows:
        table.add_row(str(r.jurisdiction_id), r.unit_id, CLASS_LABELS[r.vehicle_class.value],
                      str(r.year or "-"), _miles(r.annual_miles), _miles(r.class_average),
                      _miles(r.threshold_miles), "yes" if r.under_used else "no",
                      "; ".join(r.evidence))
    console.print(table)


@fleet_app.command("pool")
@handle_errors
def pool_command(
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table")] = False,
) -> None:
    """Pooling across members: peak in use per class in each cluster of home sites."""
    with db() as session:
        r = planning.pooling(session=session, actor=system_principal(),
                             region_id=_region(session))
        groups = [api.pool_group_out(g, r) for g in r.plan.groups]
    if as_json:
        print_json({"radius_km": r.params.pool_radius_km,
                    "reserve_pct": r.params.pool_reserve_pct,
                    "vehicles_removable": r.plan.removable,
                    "savings_cents": r.plan.savings_cents,
                    "members": r.plan.by_member,
                    "groups": [g.model_dump(mode="json") for g in groups]})
        return
    table = Table("cluster", "class", "vehicles", "peak", "peak at", "keep", "removable",
                  "savings $/yr", title=f"Pooling ({r.params.pool_radius_km:g} km clusters, "
                  f"{r.params.pool_reserve_pct:g}% reserve)")
    for g in groups:
        table.add_row(str(g.cluster + 1), CLASS_LABELS[g.vehicle_class.value], str(g.vehicles),
                      str(g.peak), g.peak_at.isoformat(" ", "minutes") if g.peak_at else "-",
                      str(g.keep), str(len(g.removable_vehicle_ids)),
                      f"{g.savings_cents / 100:,.0f}")
    console.print(table)
    console.print(f"{r.plan.removable:,} vehicles can be shared or removed; "
                  f"${r.plan.savings_cents / 100:,.0f} a year (ownership and fixed "
                  "maintenance, budget cash).", highlight=False)


@fleet_app.command("electrify")
@handle_errors
def electrify_command(
    jurisdiction: Annotated[str | None, typer.Option(help="Only this member")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table")] = False,
) -> None:
    """EV suitability, TCO and emissions per vehicle, and the least-cost plan to the target."""
    with db() as session:
        jid = _jurisdiction(session, jurisdiction) if jurisdiction else None
        r = planning.electrification(session=session, actor=system_principal(),
                                     region_id=_region(session), jurisdiction_id=jid,
                                     grid=service.grid_lookup(session))
        planned = {c.vehicle_id: y for c, y in r.plan.chosen}
        rows = [api.electrify_out(c, f, planned) for c, f in r.cases]
    p = r.plan
    if as_json:
        print_json({"target_pct": r.params.target_pct, "target_year": r.params.target_year,
                    "light_duty": p.light_duty, "already_electric": p.already_electric,
                    "needed": p.needed, "shortfall": p.shortfall,
                    "incremental_cents": p.incremental_cents, "grid_note": r.grid_note,
                    "vehicles": [x.model_dump(mode="json") for x in rows]})
        return
    table = Table("member", "unit", "class", "suitable", "miles", "EV - ICE TCO $",
                  "planned", "why", title="Electrification")
    for x in rows:
        table.add_row(str(x.jurisdiction_id), x.unit_id, CLASS_LABELS[x.vehicle_class.value],
                      "yes" if x.suitable else "no", _miles(x.annual_miles),
                      "-" if x.incremental_cents is None else f"{x.incremental_cents / 100:,.0f}",
                      str(x.planned_year or "-"), "; ".join(x.reasons))
    console.print(table)
    console.print(f"Target {r.params.target_pct:g}% of {p.light_duty} light-duty vehicles by "
                  f"{r.params.target_year}: {p.needed} replacements needed, {len(p.chosen)} "
                  f"planned, shortfall {p.shortfall}; net cost over the life "
                  f"${p.incremental_cents / 100:,.0f}. {r.grid_note}", highlight=False)
