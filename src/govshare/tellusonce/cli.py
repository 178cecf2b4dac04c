"""``govshare tellusonce ...``: the retention purge (also run hourly by ``govshare worker``)."""

from __future__ import annotations

from datetime import datetime

import typer
from sqlalchemy.orm import Session

from govshare.core.cli_support import console, db, handle_errors, settings
from govshare.core.db import utcnow
from govshare.core.tenancy import system_principal
from govshare.outbox.schemas import Housekeeping
from govshare.tellusonce import service

tellusonce_app = typer.Typer(help="Tell us once: life-event reports sent to subscribed "
                                  "agencies.", no_args_is_help=True)


def purge_job(session: Session, now: datetime) -> int:
    return service.purge_expired(session=session, actor=system_principal("purge"), now=now,
                                    retention_days=settings().tellusonce_retention_days)


def purge_housekeeping() -> Housekeeping:
    """The purge as a worker housekeeping job, once an hour."""
    return Housekeeping(name="tellusonce purge", every_seconds=3600, run=purge_job)


@tellusonce_app.command("purge")
@handle_errors
def purge_command() -> None:
    """Delete reports' personal data (and the webhook bodies) past the retention period."""
    days = settings().tellusonce_retention_days
    with db() as session:
        n = purge_job(session, utcnow())
    console.print(f"purged the personal data of {n} report{'' if n == 1 else 's'} older than "
                  f"{days} days")
