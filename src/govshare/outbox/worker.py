"""The delivery loop behind ``govshare worker``: claim, POST, record, repeat.

Each pass claims a batch in one short transaction and commits, sends the batch concurrently
(one thread per message, each request bounded by the timeout), and records each answer in its
own transaction. No transaction is held open across an HTTP request.

Guarantees:
- At least once: a message leaves ``in_flight`` only by a recorded answer or by its lease
  running out, after which any worker claims it again. Killing a worker at any instant loses
  nothing.
- Applied once: every request carries the message's idempotency key, the same on every
  attempt, so the receiver recognises a repeat (``receiver`` shows how).
- Many workers, one database: PostgreSQL's ``SKIP LOCKED`` gives them disjoint batches; on
  SQLite (one machine) they take turns on the write lock.

SIGTERM or SIGINT stops the loop after the current batch (bounded by the request timeout);
what was claimed is recorded before the process exits.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

import govshare
from govshare.core.db import unit_of_work, utcnow
from govshare.core.settings import Settings
from govshare.outbox import calc, service
from govshare.outbox.schemas import Housekeeping

log = logging.getLogger("govshare.outbox")

USER_AGENT = f"govshare-outbox/{govshare.__version__}"
SNIPPET_BYTES = 2048


@dataclass(frozen=True)
class WorkerConfig:
    secret_key: str
    policy: calc.RetryPolicy = field(default_factory=calc.RetryPolicy)
    batch: int = 10
    poll_seconds: float = 1.0
    lease_seconds: float = 60.0
    timeout_seconds: float = 10.0
    name: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")

    @classmethod
    def from_settings(cls, settings: Settings, *, batch: int = 10,
                      poll_seconds: float = 1.0) -> WorkerConfig:
        return cls(
            secret_key=settings.resolved_secret_key(),
            policy=calc.RetryPolicy(
                max_attempts=settings.outbox_max_attempts,
                max_age_seconds=settings.outbox_max_age_hours * 3600,
                base_seconds=settings.outbox_backoff_base_seconds,
                cap_seconds=settings.outbox_backoff_cap_seconds),
            batch=batch, poll_seconds=poll_seconds,
            lease_seconds=settings.outbox_lease_seconds,
            timeout_seconds=settings.outbox_timeout_seconds)


class Worker:
    def __init__(self, factory: sessionmaker[Session], config: WorkerConfig, *,
                 client: httpx.Client | None = None,
                 housekeeping: Iterable[Housekeeping] = ()) -> None:
        self.factory = factory
        self.config = config
        self.client = client or httpx.Client(
            timeout=httpx.Timeout(config.timeout_seconds), follow_redirects=False,
            headers={"User-Agent": USER_AGENT})
        self.housekeeping = list(housekeeping)
        self.pool = ThreadPoolExecutor(max_workers=max(1, config.batch),
                                       thread_name_prefix="outbox")
        self.counts: dict[str, int] = {}

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.client.close()

    # -------------------------------------------------------------------- one message

    def headers(self, claim: service.Claim, timestamp: int) -> dict[str, str]:
        return {
            "Content-Type": "application/json",
            calc.SIGNATURE_HEADER: calc.signature_header(claim.secret, timestamp, claim.body),
            calc.IDEMPOTENCY_HEADER: claim.idempotency_key,
            calc.TOPIC_HEADER: claim.topic,
            calc.ATTEMPT_HEADER: str(claim.attempt),
        }

    def deliver(self, claim: service.Claim) -> service.Outcome:
        """One signed POST. Never raises: every failure is an :class:`Outcome`."""
        started, t0 = utcnow(), time.monotonic()
        code: int | None = None
        error: str | None = None
        retry_after: float | None = None
        try:
            with self.client.stream("POST", claim.url, content=claim.body,
                                    headers=self.headers(claim, int(time.time()))) as r:
                code = r.status_code
                if not 200 <= code < 300:
                    snippet = b""
                    for chunk in r.iter_bytes():
                        snippet += chunk
                        if len(snippet) >= SNIPPET_BYTES:
                            break
                    text = snippet[:SNIPPET_BYTES].decode("utf-8", "replace").strip()
                    error = f"HTTP {code}" + (f": {text}" if text else "")
                    retry_after = calc.retry_after_seconds(r.headers.get("retry-after"),
                                                           utcnow())
        except httpx.TimeoutException as exc:
            error = f"timed out after {self.config.timeout_seconds:g} s ({type(exc).__name__})"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        except Exception as exc:  # noqa: BLE001 - a bad URL etc. must not kill the worker
            error = f"{type(exc).__name__}: {exc}"
        return service.Outcome(status_code=code, error=error, started_at=started,
                               duration_ms=int((time.monotonic() - t0) * 1000),
                               retry_after=retry_after)

    def process(self, claim: service.Claim) -> str:
        outcome = self.deliver(claim)
        try:
            with unit_of_work(self.factory) as session:
                result = service.record_result(session, claim, outcome, now=utcnow(),
                                               policy=self.config.policy,
                                               worker=self.config.name)
        except Exception:
            # The lease runs out and another pass sends it again; the key absorbs the repeat.
            log.exception("could not record a delivery", extra={"message_id": claim.id})
            return "unrecorded"
        log.info("delivery", extra={"message_id": claim.id, "attempt": claim.attempt,
                                    "status_code": outcome.status_code, "outcome": result,
                                    "duration_ms": outcome.duration_ms,
                                    "error": outcome.error})
        return result

    # -------------------------------------------------------------------- the loop

    def run_once(self) -> int:
        """Claim one batch and deliver it; the number of messages handled."""
        cfg = self.config
        with unit_of_work(self.factory) as session:
            claims = service.claim_batch(session, now=utcnow(), limit=cfg.batch,
                                         lease_seconds=cfg.lease_seconds,
                                         secret_key=cfg.secret_key,
                                         max_attempts=cfg.policy.max_attempts)
        for result in self.pool.map(self.process, claims):
            self.counts[result] = self.counts.get(result, 0) + 1
        return len(claims)

    def run_housekeeping(self) -> None:
        now = time.monotonic()
        for job in self.housekeeping:
            if now < job.next_at:
                continue
            job.next_at = now + job.every_seconds
            try:
                with unit_of_work(self.factory) as session:
                    n = job.run(session, utcnow())
                log.info("housekeeping", extra={"job": job.name, "count": n})
            except Exception:
                log.exception("housekeeping failed", extra={"job": job.name})

    def run(self, stop: threading.Event, *, once: bool = False) -> dict[str, int]:
        """Deliver until ``stop`` is set; with ``once``, until nothing is due."""
        log.info("worker started", extra={"worker": self.config.name,
                                          "batch": self.config.batch})
        while not stop.is_set():
            self.run_housekeeping()
            try:
                handled = self.run_once()
            except DBAPIError as exc:
                log.warning("database unavailable; retrying",
                            extra={"error": f"{type(exc).__name__}: {exc}"[:300]})
                handled = 0
                if once:
                    raise
            if handled == 0:
                if once:
                    break
                stop.wait(self.config.poll_seconds)
        log.info("worker stopped", extra={"worker": self.config.name, **self.counts})
        return dict(self.counts)
