"""CLI of the carbon domain: ``govshare carbon inventory | rollup | import-benchmarking |
grid-factor | factors ...``. Every command is one unit of work: a refused file changes
nothing, prints its first problems (row, column, value, reason) and exits 2; ``--report FILE``
writes every problem as CSV."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.table import Table

from govshare.carbon import import_export, queries, service
from govshare.carbon.calc import SECTOR_LABELS, Method
from govshare.carbon.schemas import FactorSetIn
from govshare.core import tabular as t
from govshare.core.cli_support import console, db, err_console, handle_errors
from govshare.core.errors import NotFound
from govshare.core.tenancy import system_principal
from govshare.regions import queries as regions_queries

carbon_app = typer.Typer(help="Carbon accounting: inventories, factor sets, activity imports.",
                         no_args_is_help=True)
factors_app = typer.Typer(help="Emission-factor sets.", no_args_is_help=True)
carbon_app.add_typer(factors_app, name="factors")
gwp_app = typer.Typer(help="Global warming potential sets.", no_args_is_help=True)
carbon_app.add_typer(gwp_app, name="gwp")
PREVIEW = 20
BY_CHOICES = ("jurisdiction", "sector", "scope", "gas", "asset", "region")


def _jurisdiction(session: object, ref: str) -> int:
    region = regions_queries.current_region(session=session)  # type: ignore[arg-type]
    if region is None:
        raise NotFound("No region yet: run `govshare region create` or `govshare demo` first")
    return regions_queries.find_jurisdiction(session=session,  # type: ignore[arg-type]
                                             region_id=region.id, ref=ref).id


def _valid(model: Any, **values: Any) -> Any:
    """The model, or exit 2 naming each field that is not valid."""
    try:
        return model(**values)
    except ValidationError as exc:
        for e in exc.errors():
            err_console.print(f"[red]error:[/red] {'.'.join(map(str, e['loc']))}: {e['msg']}",
                              highlight=False)
        raise typer.Exit(2) from None


def _refused(exc: t.Refused, report: Path | None) -> None:
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


@carbon_app.command("inventory")
@handle_errors
def inventory_command(
    jurisdiction: Annotated[str | None, typer.Option(
        help="Only this member: id, GEOID or name")] = None,
    year: Annotated[int | None, typer.Option(help="Only this year")] = None,
    factor_set: Annotated[str | None, typer.Option(
        help=f"Factor set (default {service.DEFAULT_SET})")] = None,
    gwp: Annotated[str, typer.Option(
        help="GWP set: AR5, AR6 or one added with `carbon gwp add`")] = service.DEFAULT_GWP,
    method: Annotated[str | None, typer.Option(
        help="Scope 2 method: location or market (default: both side by side)")] = None,
    by: Annotated[str, typer.Option(help="Group by: " + ", ".join(BY_CHOICES))] = "sector",
    boundary: Annotated[str, typer.Option(
        help="government (members' operations) or community (a benchmarking data set)")
    ] = "government",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """The inventory in t CO2e, location- and market-based scope 2 side by side."""
    if by not in BY_CHOICES:
        raise typer.BadParameter(f"use one of {', '.join(BY_CHOICES)}", param_hint="--by")
    if method not in (None, "location", "market"):
        raise typer.BadParameter("use location or market", param_hint="--method")
    with db() as session:
        jid = _jurisdiction(session, jurisdiction) if jurisdiction else None
        inv = service.inventory(session, system_principal(), year=year, jurisdiction_id=jid,
                                factor_set=factor_set, gwp_set=gwp, by=by, boundary=boundary)
    if as_json:
        data = inv.model_dump(mode="json")
        if method:
            drop = "t_co2e_market" if method == "location" else "t_co2e_location"
            for r in data["rows"]:
                r.pop(drop, None)
        console.print_json(json.dumps(data))
        return
    cols = ["year", *[c for c in ("jurisdiction", "sector", "scope", "gas", "source")
                      if any(getattr(r, c) for r in inv.rows)]]
    shown = [m for m in ("location", "market") if method in (None, m)]
    table = Table(*cols, *[f"t CO2e ({m})" for m in shown],
                  title=f"Inventory ({inv.boundary}) — factor set {inv.factor_set}, "
                        f"GWP {inv.gwp_set}")
    for r in inv.rows:
        cells = [str(r.year)] + [
            SECTOR_LABELS.get(r.sector, r.sector) if c == "sector" and r.sector  # type: ignore[call-overload]
            else str(getattr(r, c) or "") for c in cols[1:]]
        vals = {"location": r.t_co2e_location, "market": r.t_co2e_market}
        table.add_row(*cells, *[f"{vals[m]:,.2f}" for m in shown])
    console.print(table)
    console.print("Total: " + ", ".join(
        f"{m} {getattr(inv, 'total_' + m):,.2f} t CO2e" for m in shown), highlight=False)
    for g in inv.gaps[:PREVIEW]:
        err_console.print(f"[yellow]not computed:[/yellow] {g.year} {g.activity} "
                          f"{g.quantity:,.2f}: {g.reason}", highlight=False)


@carbon_app.command("rollup")
@handle_errors
def rollup_command(
    year: Annotated[int, typer.Option(help="Year")],
    factor_set: Annotated[str | None, typer.Option(help="Factor set")] = None,
    gwp: Annotated[str, typer.Option(help="GWP set")] = service.DEFAULT_GWP,
    method: Annotated[str, typer.Option(help="location or market")] = "location",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """The region counted once (operational control) against the naive sum of members."""
    with db() as session:
        r = service.regional_rollup(session, system_principal(), year=year,
                                    factor_set=factor_set, gwp_set=gwp, method=Method(method))
    if as_json:
        console.print_json(r.model_dump_json())
        return
    console.print(f"{year} ({method}): region {r.region_t:,.2f} t CO2e counted once; members' "
                  f"own inventories sum to {r.naive_t:,.2f} t, double counting "
                  f"{r.double_counted_t:,.2f} t of {r.shared_sources} shared assets.",
                  highlight=False)


@carbon_app.command("import-benchmarking")
@handle_errors
def import_benchmarking_command(
    file: Annotated[Path, typer.Argument(help="The benchmarking file (CSV or XLSX)")],
    jurisdiction: Annotated[str, typer.Option(help="The member that publishes it")],
    preset: Annotated[str, typer.Option(help="Column preset: " + ", ".join(
        import_export.PRESETS))] = "seattle-benchmarking",
    utility: Annotated[str | None, typer.Option(
        help="Electric utility for market-based factors")] = "seattle-city-light",
    report: Annotated[Path | None, typer.Option(
        help="If the file is refused, write every problem to this CSV file")] = None,
) -> None:
    """Import a community benchmarking data set: all buildings or none; idempotent."""
    with db() as session:
        jid = _jurisdiction(session, jurisdiction)
        try:
            with file.open("rb") as f:
                res = import_export.import_benchmarking(session, system_principal(), f,
                                                        file.name, jurisdiction_id=jid,
                                                        preset=preset, utility=utility)
        except t.Refused as exc:
            _refused(exc, report)
            raise typer.Exit(2) from None
    console.print(f"Imported {res.buildings:,} buildings ({res.periods:,} fuel-years) for "
                  f"{', '.join(map(str, res.years))}; {res.replaced_periods:,} earlier figures "
                  f"of the same years replaced; {len(res.without_energy):,} buildings without "
                  "energy figures.", highlight=False)


@carbon_app.command("grid-factor")
@handle_errors
def grid_factor_command(
    zip_code: Annotated[str | None, typer.Option("--zip", help="ZIP code")] = None,
    lon: Annotated[float | None, typer.Option(help="Longitude")] = None,
    lat: Annotated[float | None, typer.Option(help="Latitude")] = None,
    gwp: Annotated[str, typer.Option(help="GWP set")] = service.DEFAULT_GWP,
) -> None:
    """The location-based electricity factor at a ZIP or a point."""
    with db() as session:
        g = service.grid_factor(session, zip_code=zip_code, lon=lon, lat=lat, gwp_set=gwp)
    console.print(f"{g.subregion} ({g.subregion_name}): {g.kg_co2e_per_mwh:,.2f} kg CO2e/MWh "
                  f"({g.gwp_set}); {g.source}, {g.edition}.", highlight=False)


@factors_app.command("install")
@handle_errors
def factors_install() -> None:
    """Load (or refresh) the built-in factor and GWP sets from the package."""
    with db() as session:
        changed = service.install_builtin_sets(session, system_principal())
    console.print(f"{len(changed)} changes." if changed else "Up to date.", highlight=False)


@factors_app.command("list")
@handle_errors
def factors_list() -> None:
    """List the factor sets."""
    with db() as session:
        sets = list(session.scalars(queries.factor_sets_stmt()))
        table = Table("name", "title", "edition", "years", "built in")
        for s in sets:
            table.add_row(s.name, s.title, s.edition, f"{s.year_from}-{s.year_to}",
                          "yes" if s.builtin else "")
    console.print(table)


@factors_app.command("add")
@handle_errors
def factors_add(
    file: Annotated[Path, typer.Argument(help="CSV: activity, detail, basis, match_key, gas, "
                                              "value, unit, source_table, note")],
    name: Annotated[str, typer.Option(help="Short name (lower case, digits, . _ -)")],
    title: Annotated[str, typer.Option(help="Title")],
    edition: Annotated[str, typer.Option(help="Edition or vintage")],
    publisher: Annotated[str, typer.Option(help="Who publishes the factors")],
    year_from: Annotated[int, typer.Option(help="First year the set applies to")],
    year_to: Annotated[int, typer.Option(help="Last year the set applies to")],
    replace: Annotated[bool, typer.Option(help="Replace a set of this name")] = False,
    report: Annotated[Path | None, typer.Option(help="Write every problem to this CSV")] = None,
) -> None:
    """Add a factor set from a CSV file: all factors or none."""
    meta = _valid(FactorSetIn, name=name, title=title, edition=edition, publisher=publisher,
                  year_from=year_from, year_to=year_to)
    with db() as session:
        try:
            with file.open("rb") as f:
                fs = service.add_factor_set(session, system_principal(), meta, f, file.name,
                                            replace=replace)
        except t.Refused as exc:
            _refused(exc, report)
            raise typer.Exit(2) from None
        n = len(list(session.scalars(queries.factors_stmt(fs.id))))
    console.print(f"Factor set {name}: {n:,} factors.", highlight=False)


@gwp_app.command("list")
@handle_errors
def gwp_list() -> None:
    """List the GWP sets and their potentials."""
    with db() as session:
        if not queries.gwp_sets(session):
            service.install_builtin_sets(session)
        table = Table("set", "gas", "potential", "source")
        for name in queries.gwp_sets(session):
            for g in queries.gwp_rows(session, name):
                table.add_row(name, g.gas, f"{g.value:g}", g.source[:60])
    console.print(table)


@gwp_app.command("add")
@handle_errors
def gwp_add(
    file: Annotated[Path, typer.Argument(help="CSV: gas, value[, source]")],
    name: Annotated[str, typer.Option(help="Name (2 to 20 letters, digits, . _ -)")],
    source: Annotated[str, typer.Option(help="The report and table the values come from")],
    replace: Annotated[bool, typer.Option(help="Replace a set of this name")] = False,
    report: Annotated[Path | None, typer.Option(help="Write every problem to this CSV")] = None,
) -> None:
    """Add a GWP set from a CSV file: all rows or none; the same file again changes nothing."""
    with db() as session:
        if not queries.gwp_sets(session):
            service.install_builtin_sets(session)
        try:
            with file.open("rb") as f:
                rows = service.add_gwp_set(session, system_principal(), name, f, file.name,
                                           source=source, replace=replace)
        except t.Refused as exc:
            _refused(exc, report)
            raise typer.Exit(2) from None
    console.print(f"GWP set {name}: {len(rows):,} gases.", highlight=False)


@carbon_app.command("target")
@handle_errors
def target_command(
    base_year: Annotated[int, typer.Option(help="Base year (needs an inventory)")],
    target_year: Annotated[int, typer.Option(help="Target year")],
    reduction: Annotated[float, typer.Option(help="Percent below the base year (100: net zero)")],
    label: Annotated[str, typer.Option(help="What the goal is called")],
    jurisdiction: Annotated[str | None, typer.Option(
        help="A member (id, GEOID or name); without it, the region's target")] = None,
    sample: Annotated[bool, typer.Option(help="Mark it as sample (synthetic) data")] = False,
) -> None:
    """Add a reduction target for a member or the region."""
    from govshare.carbon.schemas import TargetIn

    with db() as session:
        jid = _jurisdiction(session, jurisdiction) if jurisdiction else None
        tgt = service.add_target(session, system_principal(), _valid(
            TargetIn, jurisdiction_id=jid, base_year=base_year, target_year=target_year,
            reduction_pct=reduction, label=label, synthetic=sample))
    console.print(f"Target {tgt.id}: {reduction:g}% below {base_year} by {target_year}.",
                  highlight=False)


@carbon_app.command("targets")
@handle_errors
def targets_command() -> None:
    """List the reduction targets (the region's and each member's) and planned measures."""
    with db() as session:
        region = regions_queries.require_current_region(session=session)
        names = {j.id: j.name for j in regions_queries.list_jurisdictions(
            session=session, region_id=region.id)}
        targets, measures = service.plan_items(session, system_principal())
        table = Table("id", "whose", "label", "base year", "target year", "reduction %",
                      title="Targets")
        for x in targets:
            table.add_row(str(x.id), names.get(x.jurisdiction_id or 0, "the region"),
                          x.label + (" (sample)" if x.synthetic else ""), str(x.base_year),
                          str(x.target_year), f"{x.reduction_pct:g}")
        plan = Table("id", "member", "measure", "kind", "from", "t CO2e a year",
                     title="Planned measures")
        for m in measures:
            plan.add_row(str(m.id), names.get(m.jurisdiction_id, ""), m.name, m.kind,
                         str(m.start_year), f"{m.t_co2e_per_year:,.1f}")
    console.print(table)
    console.print(plan)


@carbon_app.command("target-remove")
@handle_errors
def target_remove_command(
    target_id: Annotated[int, typer.Argument(help="The target's id (see `carbon targets`)")],
) -> None:
    """Remove a reduction target."""
    with db() as session:
        tgt = service.remove_target(session, system_principal(), target_id)
    console.print(f"Target {target_id} removed: {tgt.label}.", highlight=False)
