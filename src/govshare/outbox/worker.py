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
- Only allowed destinations (``calc.url_problem``): the URL is checked at every attempt, and
  :class:`GuardedBackend` resolves the name itself, refuses if any address it gets is
  loopback (unless allowed), private, link-local, multicast or otherwise not public, and
  connects to an address it checked, never resolving again; TLS still verifies the
  certificate for the URL's name (sent as SNI, and as the Host header). A second DNS answer
  (rebinding) cannot steer the connection. What the receiver answers is kept as its status
  code and a fixed reason; its body is never read, so it never reaches staff pages.
- An attempt takes at most ``GOVSHARE_OUTBOX_TIMEOUT_SECONDS`` in all, however slowly the
  receiver drips its answer (:class:`DeadlineStream`), so it ends within the lease.

SIGTERM or SIGINT stops the loop after the current batch (bounded by the request timeout);
what was claimed is recorded before the process exits.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpcore
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

import govshare
from govshare.core.db import unit_of_work, utcnow
from govshare.core.settings import Settings
from govshare.outbox import calc, service
from govshare.outbox.schemas import Housekeeping

log = logging.getLogger("govshare.outbox")

USER_AGENT = f"govshare-outbox/{govshare.__version__}"
Resolver = Callable[..., list[Any]]  # socket.getaddrinfo's shape


@dataclass(frozen=True)
class WorkerConfig:
    secret_key: str
    policy: calc.RetryPolicy = field(default_factory=calc.RetryPolicy)
    batch: int = 10
    poll_seconds: float = 1.0
    lease_seconds: float = 60.0
    timeout_seconds: float = 10.0
    allow_loopback: bool = False
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
            timeout_seconds=settings.outbox_timeout_seconds,
            allow_loopback=settings.outbox_allows_loopback)


class Refused(Exception):
    """The destination is not allowed; ``reason`` is a fixed phrase (no receiver's text)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Unresolved(Exception):
    """The destination's name did not resolve (retried: DNS may come back)."""


class DeadlineStream(httpcore.NetworkStream):
    """A connection that ends at ``deadline`` (``time.monotonic``): each read, write or TLS
    handshake gets at most the time left, so a receiver dripping its answer a byte at a time
    cannot hold a worker beyond the attempt's limit (per-operation timeouts alone would)."""

    def __init__(self, stream: httpcore.NetworkStream, deadline: float) -> None:
        self.stream, self.deadline = stream, deadline

    def _left(self, timeout: float | None, error: type[Exception]) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise error("the attempt's time is up")
        return left if timeout is None else min(timeout, left)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.stream.read(max_bytes, self._left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.stream.write(buffer, self._left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self.stream.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        return DeadlineStream(self.stream.start_tls(
            ssl_context, server_hostname, self._left(timeout, httpcore.ConnectTimeout)),
            self.deadline)

    def get_extra_info(self, info: str) -> Any:
        return self.stream.get_extra_info(info)


class GuardedBackend(httpcore.SyncBackend):
    """Opens connections only to addresses ``calc.address_problem`` allows, pinned, each for
    at most ``attempt_seconds``.

    The name is resolved here, once per connection; every address is checked (one bad
    address refuses the name: a rebinding answer may mix them), and the socket is opened to
    a checked address as a literal, so nothing resolves the name again. httpcore still sends
    the URL's name as the Host header and as SNI, and verifies the certificate for it.
    """

    def __init__(self, *, allow_loopback: bool, attempt_seconds: float,
                 resolve: Resolver = socket.getaddrinfo) -> None:
        self.allow_loopback = allow_loopback
        self.attempt_seconds = attempt_seconds
        self.resolve = resolve

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        deadline = time.monotonic() + self.attempt_seconds
        try:
            answers = self.resolve(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise Unresolved() from exc
        addresses = list(dict.fromkeys(ipaddress.ip_address(a[4][0]) for a in answers))
        if not addresses:
            raise Unresolved()
        for address in addresses:
            kind = calc.address_problem(address, allow_loopback=self.allow_loopback)
            if kind is not None:
                raise Refused(f"{host} resolves to {kind}; webhooks go only to public "
                              "addresses")
        for address in addresses[:-1]:  # the next one if one cannot be reached
            try:
                return DeadlineStream(super().connect_tcp(
                    str(address), port, timeout, local_address, socket_options), deadline)
            except httpcore.ConnectError:
                continue
        return DeadlineStream(super().connect_tcp(
            str(addresses[-1]), port, timeout, local_address, socket_options), deadline)


def guarded_pool(config: WorkerConfig, *, ssl_context: ssl.SSLContext | None = None,
                 resolve: Resolver = socket.getaddrinfo) -> httpcore.ConnectionPool:
    """The HTTP connections of a worker: through :class:`GuardedBackend`, no proxy, no
    redirects followed (httpcore never follows them), and none kept open, so every attempt
    resolves and checks its destination anew. ``ssl_context``: default, the certifi CAs."""
    return httpcore.ConnectionPool(
        ssl_context=ssl_context, max_connections=max(1, config.batch),
        max_keepalive_connections=0,
        network_backend=GuardedBackend(allow_loopback=config.allow_loopback,
                                       attempt_seconds=config.timeout_seconds,
                                       resolve=resolve))


def failure_reason(exc: Exception, timeout_seconds: float) -> str:
    """A fixed, short reason for an attempt that got no answer (never the peer's text)."""
    if isinstance(exc, Unresolved):
        return "the receiver's name did not resolve"
    if isinstance(exc, httpcore.TimeoutException):
        return f"timed out after {timeout_seconds:g} s"
    if isinstance(exc, httpcore.ConnectError):
        if isinstance(exc.__context__, ssl.SSLError):
            return "the TLS handshake failed (is the certificate valid for the host?)"
        return "could not connect to the receiver"
    if isinstance(exc, httpcore.NetworkError | httpcore.ProtocolError):
        return "the connection failed during the exchange"
    return f"could not be sent ({type(exc).__name__})"


class Worker:
    def __init__(self, factory: sessionmaker[Session], config: WorkerConfig, *,
                 http: httpcore.ConnectionPool | None = None,
                 housekeeping: Iterable[Housekeeping] = ()) -> None:
        self.factory = factory
        self.config = config
        self.http = http or guarded_pool(config)
        self.housekeeping = list(housekeeping)
        self.pool = ThreadPoolExecutor(max_workers=max(1, config.batch),
                                       thread_name_prefix="outbox")
        self.counts: dict[str, int] = {}

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.http.close()

    # -------------------------------------------------------------------- one message

    def headers(self, claim: service.Claim, at: datetime) -> dict[str, str]:
        """Standard Webhooks headers: ``webhook-id`` is the idempotency key."""
        return {"Content-Type": "application/json", "User-Agent": USER_AGENT,
                **calc.webhook_headers(claim.secret, claim.idempotency_key, claim.body, at)}

    def deliver(self, claim: service.Claim) -> service.Outcome:
        """One signed POST. Never raises: every failure is an :class:`Outcome`.

        Only the status code and ``Retry-After`` are read; the body is not.
        """
        started, t0 = utcnow(), time.monotonic()
        code: int | None = None
        error: str | None = None
        retry_after: float | None = None
        refused = calc.url_problem(claim.url, allow_loopback=self.config.allow_loopback)
        if refused is not None:
            refused = f"the address {refused}"
        else:
            timeout = self.config.timeout_seconds
            try:
                with self.http.stream(
                        "POST", claim.url, content=claim.body,
                        headers=list(self.headers(claim, datetime.now(UTC)).items()),
                        extensions={"timeout": dict.fromkeys(
                            ("connect", "read", "write", "pool"), timeout)}) as r:
                    code = r.status
                    if not 200 <= code < 300:
                        retry_after = calc.retry_after_seconds(
                            _header(r.headers, b"retry-after"), utcnow())
            except Refused as exc:
                refused = exc.reason
            except Exception as exc:
                error = failure_reason(exc, timeout)
        return service.Outcome(status_code=code, error=error, started_at=started,
                               duration_ms=int((time.monotonic() - t0) * 1000),
                               retry_after=retry_after, refused=refused)

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


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value.decode("latin-1")
    return None
