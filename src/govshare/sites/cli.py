"""``govshare sites ...``: county data, center scenarios, ranking, candidate-data uploads.

Every command that changes something runs as one unit of work; ``--json`` prints what the
API would answer. Budget (savings) and social (jobs, distress) figures are printed apart.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from govshare.core import tabular as t
from govshare.core.cli_support import (
    console,
    db,
    err_console,
    handle_errors,
    print_json,
    validated,
)
from govshare.core.errors import NotFound
from govshare.core.paging import PageParams
from govshare.core.tenancy import system_principal
from govshare.regions import queries as regions_queries
from govshare.sites import calc, queries, service
from govshare.sites.schemas import ScenarioIn

sites_app = typer.Typer(help="Siting a shared-services center: county data, scenarios, "
                             "ranking.", no_args_is_help=True)
PREVIEW = 20


def _region_id(session: Session) -> int:
    region = regions_queries.current_region(session=session)
    if region is None:
        raise NotFound("No region yet: run `govshare region create` or `govshare demo` first")
    return region.id


@sites_app.command("county")
@handle_errors
def county_command(
    fips: Annotated[str, typer.Argument(help="5-digit county code (FIPS)")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """One county's figures, each with its source and vintage, and its distress score."""
    row = queries.county_row(fips)
    if as_json:
        print_json(row)
        return
    table = Table("figure", "value", "source, vintage", title=f"{row['name']}, {row['state']}")
    for k, f in calc.FIELDS.items():
        v = row[k]
        note = f" (proxy: {row['proxies'][k]})" if k in row["proxies"] else ""
        table.add_row(f.label, ("—" if v is None else f"{v:,.2f} {f.unit}") + note,
                      f"{f.source}, {f.vintage}")
    table.add_row("Distress score (0-100)", str(row["distress_score"]),
                  "DCI method on " + ", ".join(m.label for m in calc.DCI_USED))
    console.print(table)


@sites_app.command("list")
@handle_errors
def list_command(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The region's scenarios."""
    with db() as session:
        rows, _total = queries.list_scenarios(session=session, region_id=_region_id(session),
                                              page=PageParams(1000))
        out = [queries.scenario_read(r).model_dump(mode="json") for r in rows]
    if as_json:
        print_json(out)
        return
    for s in out:
        console.print(f"{s['id']:>4}  {s['name']}" + ("  [sample]" if s["sample"] else ""),
                      highlight=False)


@sites_app.command("create")
@handle_errors
def create_command(
    file: Annotated[Path, typer.Argument(help="The scenario as JSON (the API's body)")],
) -> None:
    """Create a scenario from a JSON file (see `POST /api/v1/sites/scenarios`)."""
    try:
        raw = t.load_json(file.read_bytes())
    except t.FileRefused as exc:
        raise typer.BadParameter(exc.error.reason, param_hint="FILE") from None
    if not isinstance(raw, dict):
        raise typer.BadParameter("the file must hold one JSON object", param_hint="FILE")
    data = validated(ScenarioIn, **raw)
    with db() as session:
        row = service.create_scenario(session=session, actor=system_principal(),
                                      region_id=_region_id(session), data=data)
        console.print(f"Created scenario {row.id}: {row.name}", highlight=False)


@sites_app.command("references")
@handle_errors
def references_command() -> None:
    """Add the two reference scenarios (Minnesota, Virginia) if they are not there."""
    with db() as session:
        rows = service.ensure_reference_scenarios(session=session, actor=system_principal(),
                                                  region_id=_region_id(session))
        for r in rows:
            console.print(f"{r.id:>4}  {r.name}", highlight=False)


def _scenario(session: Session, ref: str) -> Any:
    region_id = _region_id(session)
    if ref.isdigit():
        try:
            return queries.get_scenario(session=session, region_id=region_id,
                                        scenario_id=int(ref))
        except NotFound:
            pass
    return queries.find_scenario(session=session, region_id=region_id, name=ref)


@sites_app.command("rank")
@handle_errors
def rank_command(
    scenario: Annotated[str, typer.Option(help="Scenario name or id")],
    top: Annotated[int, typer.Option(help="Candidates to print (all with --json)")] = 15,
    as_json: Annotated[bool, typer.Option("--json", help="Print every candidate as JSON")
                       ] = False,
) -> None:
    """Rank the scenario's candidates: score, savings (budget), development benefit
    (social), frontier and the probability of a top-three place."""
    with db() as session:
        row = _scenario(session, scenario)
        ev = queries.evaluate_row(row)
        rows = queries.candidate_rows(ev)
        name = row.name
    if as_json:
        print_json({"scenario": name, "baseline": ev.result.baseline,
                    "budget_and_social_are_not_added": True,
                    "distress_metrics_used": [m.key for m in calc.DCI_USED],
                    "distress_metrics_not_available": list(calc.DCI_NOT_AVAILABLE),
                    "excluded": [{"fips": f, "name": n, "reason": w}
                                 for f, n, w in ev.result.excluded],
                    "weight_stability": queries.weight_ranges(ev),
                    "sides": queries.SIDES,
                    "columns": [dataclasses.asdict(c) for c in queries.export_columns(ev)],
                    "candidates": rows})
        return
    b = ev.result.baseline
    table = Table("rank", "county", "score", "savings/yr (budget)", "distress (social)",
                  "jobs/unemployed", "P(top 3)", "frontier",
                  title=f"{name} — baseline {b['name']}, {b['state']}: "
                        f"{calc.fmt_usd(b['operating'])} a year",
                  caption="Savings are budget; distress and jobs are development benefit: "
                          "never added.")
    for r in rows[:top]:
        table.add_row(str(r["rank"]), f"{r['name']}, {r['state']}", f"{r['score']:.3f}",
                      calc.fmt_usd(r["savings_usd"]),
                      "—" if r["distress_score"] is None else f"{r['distress_score']:.1f}",
                      "—" if r["jobs_share_unemployed_pct"] is None
                      else f"{r['jobs_share_unemployed_pct']:.1f}%",
                      f"{100 * r['p_top3']:.0f}%", "yes" if r["on_frontier"] else "")
    console.print(table)
    if ev.result.excluded:
        console.print(f"{len(ev.result.excluded)} candidates left out by the constraints "
                      "(--json lists them).", highlight=False)


@sites_app.command("upload")
@handle_errors
def upload_command(
    scenario: Annotated[str, typer.Option(help="Scenario name or id")],
    file: Annotated[Path, typer.Argument(help="CSV or XLSX: fips and county figures")],
    report: Annotated[Path | None, typer.Option(
        help="If the file is refused, write every problem to this CSV file")] = None,
) -> None:
    """Replace the scenario's candidate data with the file's, all or nothing."""
    with db() as session:
        row = _scenario(session, scenario)
        try:
            with file.open("rb") as fh:
                row = service.upload_candidates(session=session, actor=system_principal(),
                                                region_id=row.region_id, scenario_id=row.id,
                                                stream=fh, name=file.name)
        except t.Refused as exc:
            err_console.print(f"[red]error:[/red] {exc.detail}", highlight=False)
            table = Table("row", "column", "value", "reason")
            for e in exc.report.first(PREVIEW):
                table.add_row("" if e.row is None else str(e.row), e.column, e.value[:40],
                              e.reason)
            err_console.print(table)
            if report is not None:
                with report.open("w", encoding="utf-8", newline="") as out:
                    n = exc.report.write_csv(out)
                err_console.print(f"All {n:,} problems written to {report}.", highlight=False)
            exc.report.close()
            raise typer.Exit(2) from None
        console.print(f"{row.name}: candidate data for {len(row.overrides):,} counties from "
                      f"{file.name}.", highlight=False)
