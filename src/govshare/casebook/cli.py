"""CLI of the casebook: `govshare casebook list|show|import-actuals|from-consolidation` and
`govshare report value-case`. Every command runs as one unit of work (a refused file or a
failing step changes nothing); `--json` prints machine-readable output."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from govshare.casebook import calc, pages, queries, service, value
from govshare.casebook.schemas import FromConsolidationIn
from govshare.core import charts, tabular
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

casebook_app = typer.Typer(help="Casebook: shared-service proposals, results, actual costs.",
                           no_args_is_help=True)
report_app = typer.Typer(help="Reports for leaders.", no_args_is_help=True)
PREVIEW = 20


def _region(session: Any) -> Any:
    region = regions_queries.current_region(session=session)
    if region is None:
        raise NotFound("No region yet: run `govshare region create` or `govshare demo` first")
    return region


def _region_id(session: Any) -> int:
    return int(_region(session).id)


def _results(session: Any, proposal_id: int) -> dict[str, Any]:
    actor = system_principal()
    p = queries.get_proposal(session=session, actor=actor, proposal_id=proposal_id)
    rows = queries.members(session=session, proposal_id=p.id)
    r = queries.evaluate(p, rows)
    return {
        "id": p.id, "name": p.name, "status": p.status, "start_year": p.start_year,
        "horizon_years": p.horizon_years, "discount_rate": p.discount_rate,
        "discount_source": p.discount_source, "basis": p.basis, "source_link": p.source_link,
        "synthetic": p.synthetic, "total": r.total.as_dict(),
        "members": [{"jurisdiction_id": m.key, "name": m.name, "share": float(m.share),
                     "baseline_cents": m.baseline_cents, "direct_cents": m.direct_cents,
                     "charge_cents": m.charge_cents,
                     "one_time_cents": sum(m.one_time_cents),
                     "annual_savings_cents": m.annual_savings_cents,
                     "npv_cents": m.outcome.npv_cents, "irr": m.outcome.irr,
                     "payback_year": m.outcome.payback_year, "worse_off": m.worse_off}
                    for m in r.members]}


@casebook_app.command("list")
@handle_errors
def list_command(
    status: Annotated[str | None, typer.Option(help="draft, adopted or withdrawn")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """List the proposals."""
    with db() as session:
        rows, total = queries.list_proposals(session=session, actor=system_principal(),
                                             region_id=_region_id(session), status=status,
                                             page=PageParams(1000))
        data = [{"id": p.id, "name": p.name, "status": p.status, "service": p.service,
                 "source_kind": p.source_kind, "parent_id": p.parent_id,
                 "synthetic": p.synthetic} for p in rows]
    if as_json:
        print_json({"items": data, "total": total})
        return
    table = Table("id", "name", "status", "service", "source")
    for d in data:
        table.add_row(*(str(d[k]) for k in ("id", "name", "status", "service", "source_kind")))
    console.print(table)


@casebook_app.command("show")
@handle_errors
def show_command(
    proposal_id: Annotated[int, typer.Argument(help="Proposal id")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """A proposal's results by member and in total (charge, savings, NPV, worse off)."""
    with db() as session:
        data = _results(session, proposal_id)
    if as_json:
        print_json(data)
        return
    t = data["total"]
    console.print(f"{data['name']} ({data['status']}), {data['start_year']}-"
                  f"{data['start_year'] + data['horizon_years'] - 1}, real rate "
                  f"{data['discount_rate']:.2%} ({data['discount_source']})", highlight=False)
    console.print(f"Savings a year at full ramp {calc.dollars(t['annual_savings_cents'])}; "
                  f"NPV {calc.dollars(t['npv_cents'])}; IRR {calc.pct(t['irr'])}; payback "
                  f"{t['payback_year'] or 'not within the horizon'}", highlight=False)
    table = Table("member", "share", "charge", "savings/yr", "NPV", "worse off")
    for m in data["members"]:
        table.add_row(m["name"], f"{m['share']:.2%}", calc.dollars(m["charge_cents"]),
                      calc.dollars(m["annual_savings_cents"]), calc.dollars(m["npv_cents"]),
                      "yes" if m["worse_off"] else "")
    console.print(table)


@casebook_app.command("import-actuals")
@handle_errors
def import_actuals_command(
    proposal_id: Annotated[int, typer.Argument(help="Proposal id")],
    file: Annotated[Path, typer.Argument(help="CSV or XLSX: member, year, actual, billed, "
                                         "usage")],
    dry_run: Annotated[bool, typer.Option(help="Check and count, record nothing")] = False,
    report: Annotated[Path | None, typer.Option(
        help="If the file is refused, write every problem to this CSV file")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Record members' actual costs from a file: all rows or none, idempotent."""
    with db() as session:
        try:
            with file.open("rb") as fh:
                res = service.import_actuals(session=session, actor=system_principal(),
                                             proposal_id=proposal_id, stream=fh,
                                             file_name=file.name, dry_run=dry_run)
        except tabular.Refused as exc:
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
    if as_json:
        print_json({"rows": res.rows, "added": res.added, "updated": res.updated,
                    "unchanged": res.unchanged, "dry_run": res.dry_run})
        return
    console.print(("Dry run, nothing recorded. " if dry_run else "Recorded. ") + res.summary()
                  + ".", highlight=False)


@casebook_app.command("from-consolidation")
@handle_errors
def from_consolidation_command(
    use: Annotated[str, typer.Option(help="Building use, e.g. office, library")],
    start_year: Annotated[int, typer.Option(help="First year of the shared service")],
    max_km: Annotated[float, typer.Option(help="Farthest move, km")] = 15.0,
    horizon_years: Annotated[int, typer.Option(help="Years evaluated")] = 10,
    travel: Annotated[float, typer.Option(help="Travel cost, $ per person-km a year")] = 191.36,
    move_cost: Annotated[float, typer.Option(help="Moving cost, $ per person who moves")]
    = 1_500.0,
    fitout_cost: Annotated[float, typer.Option(
        help="Fit-out cost, $ per person a building takes in")] = 5_000.0,
    charge_pct: Annotated[float, typer.Option(
        help="Occupancy charge, % of the host building's annual cost per place")] = 100.0,
    one_time: Annotated[float, typer.Option(
        help="Other one-time costs shared among the members, $ (each member's moving and "
             "fit-out costs come from the plan)")] = 0.0,
    keep_together: Annotated[bool, typer.Option(
        "--keep-together", help="Keep each building's occupants together: they move as one "
        "to a single building (default: they may be split among several)")] = False,
    minutes: Annotated[int, typer.Option(
        help="Time for the solver, minutes (at most 60): a large region whose buildings "
        "dominate the cost may need longer to prove its plan")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Run a consolidation plan and make it a proposal (draft), linked back to the plan: each
    member's savings equal its net after the plan's occupancy charges, and its moving and
    fit-out costs are its own one-time costs."""
    with db() as session:
        data = validated(FromConsolidationIn, use=use, max_km=max_km, travel=travel,
                         move_cost=move_cost, fitout_cost=fitout_cost, charge_pct=charge_pct,
                         start_year=start_year, horizon_years=horizon_years,
                         one_time=one_time, keep_together=keep_together, minutes=minutes)
        p = service.from_consolidation(session=session, actor=system_principal(),
                                       region_id=_region_id(session), data=data)
        out = _results(session, p.id)
    if as_json:
        print_json(out)
        return
    console.print(f"Proposal {out['id']} made: {out['name']}; savings a year "
                  f"{calc.dollars(out['total']['annual_savings_cents'])}.", highlight=False)


@casebook_app.command("from-fleet-pool")
@handle_errors
def from_fleet_pool_command(
    start_year: Annotated[int, typer.Option(help="First year of the shared service")],
    horizon_years: Annotated[int, typer.Option(help="Years evaluated")] = 10,
    one_time: Annotated[float, typer.Option(help="One-time transition costs, $")] = 0.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Run the fleet pooling plan and make it a proposal (draft), linked back to the plan."""
    with db() as session:
        p = service.from_fleet_pool(session=session, actor=system_principal(),
                                    region_id=_region_id(session), start_year=start_year,
                                    horizon_years=horizon_years, one_time=one_time)
        out = _results(session, p.id)
    if as_json:
        print_json(out)
        return
    console.print(f"Proposal {out['id']} made: {out['name']}; savings a year "
                  f"{calc.dollars(out['total']['annual_savings_cents'])}.", highlight=False)


@report_app.command("value-case")
@handle_errors
def value_case_command(
    out: Annotated[Path, typer.Option("--out", help="PDF file to write (.html: the HTML)")],
    audience: Annotated[value.Audience, typer.Option(help="Who it is for")
                        ] = value.Audience.governor,
    jurisdiction: Annotated[str | None, typer.Option(
        help="One member: id, GEOID or name (default: the region)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON too")
                       ] = False,
) -> None:
    """The value case for a governor, mayor, council or the public, as PDF (or HTML)."""
    charts.use_fonts(pages.STATIC / "vendor" / "uswds" / "fonts" / "source-sans-pro")
    with db() as session:
        region = _region(session)
        region_id, time_zone = region.id, region.time_zone
        jid = None
        if jurisdiction:
            jid = regions_queries.find_jurisdiction(session=session, region_id=region_id,
                                                    ref=jurisdiction).id
        case = value.value_case(session=session, actor=system_principal(),
                                region_id=region_id, jurisdiction_id=jid)
    as_html = out.suffix.lower() in (".html", ".htm")
    html = pages.report_html(pages.print_environment(), case, audience, time_zone,
                             for_pdf=not as_html)
    if as_html:
        out.write_text(html, encoding="utf-8")
    else:
        out.write_bytes(pages.report_pdf(html))
    if as_json:
        print_json({"out": str(out), "figures": [
            {"point": p.key, "key": f.key, "label": f.label, "value": f.value, "raw": f.raw,
             "kind": f.kind.value, "formula": f.formula, "data": f.data, "source": f.source}
            for p, f in case.figures()],
            "not_measured": {p.key: p.missing for p in case.points if p.missing}})
        return
    console.print(f"Wrote the value case for {audience.value} to {out}.", highlight=False)
