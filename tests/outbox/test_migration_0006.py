"""Migration 0006 on data written by the code before it: deactivated subscriptions become
withdrawn destinations, and the receivers' answers that were kept as text are deleted."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from govshare.core import migrate
from govshare.core.db import make_engine, utcnow
from tests.conftest import BACKENDS, fresh_database_url
from tests.conftest import _drop_pg as drop_pg

ROWS = [
    "INSERT INTO regions (id, name, slug, created_at) VALUES (1, 'R', 'r', :now)",
    "INSERT INTO jurisdictions (id, region_id, name, kind, created_at, updated_at) "
    "VALUES (1, 1, 'City', 'city', :now, :now)",
    *[f"INSERT INTO tellusonce_subscriptions (id, jurisdiction_id, name, purpose, event_types, "
      f"webhook_url, secret_enc, secret_hint, active, sample, created_by, created_at, "
      f"updated_at) VALUES ({i}, 1, 'Agency {i}', 'p', '[]', 'https://x.example/h', 's', 'h', "
      f"{active}, {active}, 't', :now, :now)" for i, active in ((1, "TRUE"), (2, "FALSE"))],
    *[f"INSERT INTO outbox_messages (id, topic, idempotency_key, destination, "
      f"destination_label, url, secret_enc, status, attempts, next_attempt_at, last_error, "
      f"last_status_code, created_at, round_started_at, updated_at) VALUES ({i}, 't', 'k{i}', "
      f"'subscription:1', 'l', 'u', 's', '{status}', 1, :now, {error}, {code}, :now, :now, "
      f":now)" for i, status, error, code in (
          (1, "dead", "'the receiver refused the message (400): HTTP 400: "
                      "postgres password=hunter2'", 400),
          (2, "pending", "'no answer from the receiver: ConnectError: refused'", "NULL"),
          (3, "dead", "'The subscription was deactivated before delivery'", 503))],
    "INSERT INTO outbox_attempts (message_id, attempt, started_at, duration_ms, status_code, "
    "error, outcome, worker) VALUES (1, 1, :now, 3, 400, 'HTTP 400: postgres password=hunter2', "
    "'dead', 'w'), (2, 1, :now, 3, NULL, 'ConnectError: refused', 'retry', 'w')",
]


@pytest.mark.parametrize("backend", BACKENDS)
def test_0006_withdraws_inactive_subscriptions_and_forgets_answer_texts(
        backend: str, tmp_path: Path) -> None:
    engine = make_engine(fresh_database_url(backend, tmp_path, "m0006"))
    try:
        migrate.upgrade(engine, "0005")
        with engine.begin() as conn:
            for stmt in ROWS:
                conn.execute(sa.text(stmt), {"now": utcnow()})
        migrate.upgrade(engine, "0006")
        with engine.connect() as conn:
            withdrawn = conn.execute(sa.text(
                "SELECT destination FROM outbox_destinations WHERE withdrawn_at IS NOT NULL")
            ).scalars().all()
            errors = {row[0]: row[1] for row in conn.execute(sa.text(
                "SELECT id, last_error FROM outbox_messages"))}
            attempts = conn.execute(sa.text(
                "SELECT error FROM outbox_attempts ORDER BY message_id")).scalars().all()
    finally:
        engine.dispose()
        if backend == "postgresql":
            drop_pg(f"govshare_m0006_{os.getpid()}")
    assert withdrawn == ["subscription:2"]
    assert errors == {1: "The receiver answered HTTP 400 (its text is no longer kept)",
                      2: "no answer from the receiver: ConnectError: refused",
                      3: "The subscription was deactivated before delivery"}
    assert attempts == [None, "ConnectError: refused"]
