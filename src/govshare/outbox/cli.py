"""``govshare worker`` and ``govshare outbox ...``: deliver webhooks, see and fix the queue.

Registered on the root app by ``govshare.cli`` through :func:`register`, which also hands the
worker its housekeeping jobs (the root may import every domain; the outbox imports only core).
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from govshare.core.cli_support import console, db, err_console, handle_errors, settings
from govshare.core.db import make_engine, make_session_factory
from govshare.core.http import configure_logging
from govshare.core.tenancy import system_principal
from govshare.outbox import queries, service
from govshare.outbox.receiver import DEMO_WEBHOOK_SECRET, Receiver, make_server
from govshare.outbox.schemas import Housekeeping
from govshare.outbox.worker import Worker, WorkerConfig

outbox_app = typer.Typer(help="Webhook outbox: delivery status, requeue dead letters, a local "
                              "test receiver.", no_args_is_help=True)

HOUSEKEEPING: list[Housekeeping] = []


def worker_command(
    once: Annotated[bool, typer.Option(
        "--once", help="Deliver what is due now (retries included), then exit")] = False,
    batch: Annotated[int, typer.Option(
        min=1, max=200, help="Messages claimed and sent concurrently per pass")] = 10,
    poll_seconds: Annotated[float, typer.Option(
        min=0.05, help="Pause when nothing is due")] = 1.0,
) -> None:
    """Deliver queued webhooks: sign, POST, retry with backoff, dead-letter (stops on SIGTERM).

    Run as many as you like against PostgreSQL; they share the work. Each one also runs the
    housekeeping jobs (the tell-us-once purge, pruning old rate-limit records) once an hour.
    """
    cfg = settings()
    configure_logging(cfg.log_level, json_logs=cfg.log_json)
    engine = make_engine(cfg.resolved_database_url)
    stop = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    worker = Worker(make_session_factory(engine),
                    WorkerConfig.from_settings(cfg, batch=batch, poll_seconds=poll_seconds),
                    housekeeping=HOUSEKEEPING)
    try:
        counts = worker.run(stop, once=once)
    finally:
        worker.close()
        engine.dispose()
    summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "nothing to deliver"
    err_console.print(f"worker stopped: {summary}", highlight=False)


@outbox_app.command("status")
def status_command() -> None:
    """Messages by destination and status, and the dead letters' last errors."""
    actor = system_principal("outbox")
    with db() as session:
        rows = queries.by_destination(session=session, actor=actor)
        dead, _ = queries.messages(session=session, actor=actor, status="dead", limit=20)
        table = Table()
        for col in ("destination", "waiting", "in flight", "delivered", "dead"):
            table.add_column(col)
        for r in rows:
            table.add_row(r.label, str(r.pending), str(r.in_flight), str(r.delivered),
                          str(r.dead))
        console.print(table)
        for m in dead:
            console.print(f"dead #{m.id} {m.destination_label}: {m.last_error}",
                          highlight=False)


@outbox_app.command("requeue")
@handle_errors
def requeue_command(
    message_id: Annotated[int | None, typer.Option("--id", help="One dead letter")] = None,
    all_dead: Annotated[bool, typer.Option("--all-dead", help="Every dead letter")] = False,
    destination: Annotated[str | None, typer.Option(
        help="With --all-dead: only this destination, e.g. subscription:3")] = None,
) -> None:
    """Send dead letters again, with a fresh round of attempts."""
    if (message_id is None) == (not all_dead):
        err_console.print("Give either --id N or --all-dead.")
        raise typer.Exit(2)
    actor = system_principal("outbox")
    with db() as session:
        if message_id is not None:
            service.requeue(session=session, actor=actor, message_id=message_id)
            n = 1
        else:
            n = service.requeue_dead(session=session, actor=actor, destination=destination)
    console.print(f"requeued {n} message{'' if n == 1 else 's'}")


@outbox_app.command("receiver")
def receiver_command(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8099,
    secret: Annotated[list[str] | None, typer.Option(
        help="Signing secret to accept, whsec_... (repeat for several). Default: the demo's "
             "sample subscriptions' published secret")] = None,
    delay: Annotated[float, typer.Option(min=0, help="Seconds to sleep per message")] = 0.0,
    record: Annotated[Path | None, typer.Option(
        help="Append each applied message to this JSON-lines file")] = None,
) -> None:
    """A local Standard Webhooks receiver for demos: verifies, applies each webhook-id once."""
    receiver = Receiver(secrets=list(secret or [DEMO_WEBHOOK_SECRET]), delay=delay,
                        record=record, echo=lambda line: console.print(line, highlight=False))
    server = make_server(receiver, host, port)
    console.print(f"receiving on http://{host}:{port}/ (GET / for counts; Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    console.print(receiver.stats())


def register(root: typer.Typer, *, housekeeping: list[Housekeeping] | None = None) -> None:
    """Add ``worker`` and ``outbox`` to the root app; ``housekeeping`` runs in every worker."""
    root.command("worker")(worker_command)
    root.add_typer(outbox_app, name="outbox")
    HOUSEKEEPING.extend(housekeeping or [])
