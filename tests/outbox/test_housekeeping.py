"""What ``govshare worker`` is set up with: the loopback setting (never in production) and
its housekeeping jobs, among them pruning the rate-limit records, which nothing deleted."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

import govshare.cli  # noqa: F401 - registers every housekeeping job, as `govshare` does
from govshare.core import ratelimit
from govshare.core.db import utcnow
from govshare.core.settings import Environment, Settings
from govshare.outbox import cli as outbox_cli
from govshare.outbox.worker import Worker, WorkerConfig

SECRET = "s" * 40


def test_loopback_webhooks_are_for_development_and_tests_only() -> None:
    assert Settings(env=Environment.development).outbox_allows_loopback
    assert Settings(env=Environment.test).outbox_allows_loopback
    assert not Settings(env=Environment.test, outbox_allow_loopback=False
                        ).outbox_allows_loopback
    production = Settings(env=Environment.production, secret_key=SECRET)
    assert not production.outbox_allows_loopback
    assert not WorkerConfig.from_settings(production).allow_loopback
    with pytest.raises(ValueError, match="ALLOW_LOOPBACK"):
        Settings(env=Environment.production, secret_key=SECRET, outbox_allow_loopback=True)


def test_rate_limit_records_are_kept_at_least_as_long_as_a_login_window() -> None:
    with pytest.raises(ValueError, match="RATE_LIMIT_RETENTION_HOURS"):
        Settings(rate_limit_retention_hours=1, login_window_minutes=90)
    assert Settings(rate_limit_retention_hours=2, login_window_minutes=90)


def test_the_worker_prunes_rate_limit_records_past_their_retention(
        connection: sa.Connection, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 8, 2.12: rows of client and e-mail addresses piled up for ever."""
    monkeypatch.setenv("GOVSHARE_RATE_LIMIT_RETENTION_HOURS", "3")
    now = utcnow()

    def factory() -> Session:
        return Session(bind=connection, join_transaction_mode="create_savepoint",
                       expire_on_commit=False)

    with factory() as s:
        for hours, key in ((30, "old@example.org"), (4, "203.0.113.9"), (2, "recent"),
                           (0, "now")):
            s.add(ratelimit.RateEvent(bucket="hk-test", key=key,
                                      at=now - timedelta(hours=hours)))
        s.commit()
    jobs = [replace(job, next_at=0.0) for job in outbox_cli.HOUSEKEEPING]
    assert "rate-limit prune" in {job.name for job in jobs}
    worker = Worker(factory, WorkerConfig(secret_key=SECRET),  # type: ignore[arg-type]
                    housekeeping=jobs)
    try:
        worker.run_housekeeping()
    finally:
        worker.close()
    with factory() as s:
        kept = s.scalars(sa.select(ratelimit.RateEvent.key)
                         .where(ratelimit.RateEvent.bucket == "hk-test")).all()
    assert sorted(kept) == ["now", "recent"]
