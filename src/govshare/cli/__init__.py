"""The `govshare` command: composes every domain's Typer sub-app, plus serve, db and demo."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from govshare.carbon import cli as carbon_cli
from govshare.casebook import cli as casebook_cli
from govshare.cli import demo as demo_module
from govshare.core import migrate, ratelimit
from govshare.core.cli_support import console, handle_errors, settings
from govshare.core.db import make_engine
from govshare.core.settings import settings_reference
from govshare.fleet import cli as fleet_cli
from govshare.geo import cli as geo_cli
from govshare.outbox import cli as outbox_cli
from govshare.outbox.schemas import Housekeeping
from govshare.property import cli as property_cli
from govshare.regions import cli as regions_cli
from govshare.regions import service as regions_service
from govshare.sites import cli as sites_cli
from govshare.tellusonce import cli as tellusonce_cli

app = typer.Typer(
    name="govshare",
    help="govshare: shared services for a region's governments.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)

app.add_typer(regions_cli.region_app, name="region")
app.add_typer(regions_cli.jurisdiction_app, name="jurisdiction")
app.add_typer(regions_cli.user_app, name="user")
app.add_typer(regions_cli.apikey_app, name="apikey")
app.add_typer(db_app, name="db")
geo_cli.register(region_app=regions_cli.region_app,
                 jurisdiction_app=regions_cli.jurisdiction_app, root=app)
app.add_typer(property_cli.property_app, name="property")
app.add_typer(fleet_cli.fleet_app, name="fleet")
app.add_typer(tellusonce_cli.tellusonce_app, name="tellusonce")
app.add_typer(carbon_cli.carbon_app, name="carbon")
app.add_typer(sites_cli.sites_app, name="sites")
app.add_typer(casebook_cli.casebook_app, name="casebook")
app.add_typer(casebook_cli.report_app, name="report")


def prune_rate_limits(session: Session, now: datetime) -> int:
    """Delete rate-limit records (client addresses, e-mail addresses) past their retention."""
    hours = settings().rate_limit_retention_hours
    return ratelimit.prune(session, older_than=timedelta(hours=hours), now=now)


def prune_sign_in_addresses(session: Session, now: datetime) -> int:
    """Delete known sign-in addresses (HMACs of client addresses) no longer trusted."""
    days = settings().login_trust_days
    return regions_service.forget_sign_in_addresses(session=session,
                                                    older_than=timedelta(days=days), now=now)


outbox_cli.register(app, housekeeping=[
    tellusonce_cli.purge_housekeeping(),
    Housekeeping(name="rate-limit prune", every_seconds=3600, run=prune_rate_limits),
    Housekeeping(name="sign-in address prune", every_seconds=3600, run=prune_sign_in_addresses),
])


@db_app.command("upgrade")
@handle_errors
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision")] = "head"
               ) -> None:
    """Apply the database migrations (safe to run again: it only applies what is missing)."""
    cfg = settings()
    engine = make_engine(cfg.resolved_database_url)
    try:
        before = migrate.current_revision(engine)
        migrate.upgrade(engine, revision)
        after = migrate.current_revision(engine)
    finally:
        engine.dispose()
    url = engine.url.render_as_string(hide_password=True)
    if before == after:
        console.print(f"{url}: already at {after}.")
    else:
        console.print(f"{url}: upgraded {before or 'empty'} -> {after}.")


@db_app.command("current")
def db_current() -> None:
    """Print the database's schema revision and the code's head revision."""
    cfg = settings()
    engine = make_engine(cfg.resolved_database_url)
    try:
        console.print(f"database: {migrate.current_revision(engine) or 'empty'}; "
                      f"code: {migrate.head_revision()}")
    finally:
        engine.dispose()


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes")] = 1,
    reload: Annotated[bool, typer.Option(help="Reload on code changes (development)")] = False,
) -> None:
    """Serve the web app and API (behind a reverse proxy that terminates TLS in production)."""
    import uvicorn

    settings()  # fail fast on bad settings, before forking workers
    uvicorn.run("govshare.web.app:create_app", factory=True, host=host, port=port,
                workers=workers, reload=reload, proxy_headers=True, access_log=False,
                log_config=None)


@app.command("demo")
@handle_errors
def demo_command() -> None:
    """Build the demo region "Seattle - King County, WA" (once) and print the demo logins."""
    demo_module.build(settings())


@app.command("settings")
def show_settings() -> None:
    """List every GOVSHARE_* setting with its default and description."""
    table = Table()
    for col in ("variable", "default", "description"):
        table.add_column(col)
    for row in settings_reference():
        table.add_row(row["env"], row["default"], row["description"])
    console.print(table)


def main() -> None:
    app()
