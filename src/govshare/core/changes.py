"""Change counters: an exact, cheap "has anything behind this cache changed?" for read caches.

One row per topic (``open311``: services, owners, requests and their updates, jurisdictions,
regions). Database triggers bump it in the *same transaction* as the change (migration 0005),
so the new number becomes visible exactly when the change does, whoever wrote it: a web
process, the CLI, a job or plain SQL. A cache keeps each answer with the number it read
*before* computing it; an answer is reused only while the number is unchanged, so a reader
never gets data older than the last commit it could see. (If a change commits between the
read of the number and the query, the answer is newer than its number: harmless, the next
reader sees the new number and recomputes.)

On PostgreSQL the triggers are deferred to commit, so concurrent writers hold the counter's
row lock only while they commit, not for the rest of their transaction.

Readers of the number:

- :class:`PgVersions`: one asyncio connection per web process (psycopg, autocommit), read on
  the event loop without a worker thread or a pooled session — the point of the cache is
  that a hit costs almost nothing.
- :class:`SessionVersions`: through a session factory, synchronously (SQLite, where it is a
  local page read; and tests, whose sessions join a rolled-back transaction).

A reader that fails returns ``None``: the caller then computes without the cache.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import BigInteger, String, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Mapped, Session, mapped_column
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from govshare.core.db import Base
from govshare.core.http import sends_credentials

log = logging.getLogger("govshare.changes")

OPEN311 = "open311"


class ChangeCounter(Base):
    __tablename__ = "change_counters"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0)


class Versions(Protocol):
    async def read(self, topic: str) -> int | None: ...


class SessionVersions:
    """Reads the counter through ``session_factory`` (SQLite, tests)."""

    def __init__(self, session_factory: Callable[[], Session]) -> None:
        self.session_factory = session_factory

    def read_sync(self, topic: str) -> int | None:
        try:
            session = self.session_factory()
            try:
                return session.scalar(select(ChangeCounter.version).where(
                    ChangeCounter.name == topic)) or 0
            finally:
                session.close()
        except Exception:
            log.warning("change counter not readable", exc_info=True)
            return None

    async def read(self, topic: str) -> int | None:
        return self.read_sync(topic)


class PgVersions:
    """Reads the counter on the event loop over one autocommit psycopg connection per process
    (reconnected after an error or when the loop changes).

    Reads are coalesced without ever answering from the past: callers that arrive while a read
    is in flight wait for the *next* read, which starts after all of them arrived, and share
    its answer. Under load one round trip serves every request that queued behind the last
    one; alone, a caller gets its own read at once.
    """

    SQL = "SELECT version FROM change_counters WHERE name = %s"

    def __init__(self, sqlalchemy_url: str) -> None:
        url = make_url(sqlalchemy_url).set(drivername="postgresql")
        self.conninfo = url.render_as_string(hide_password=False)
        self._conn: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._next: dict[str, asyncio.Future[int | None]] = {}
        self._draining: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.round_trips = 0

    async def read(self, topic: str) -> int | None:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a new event loop (tests): nothing carries over
            self._conn, self._loop = None, loop
            self._next, self._draining = {}, set()
        waiter = self._next.get(topic)
        if waiter is None:
            waiter = self._next[topic] = loop.create_future()
            if topic not in self._draining:
                self._draining.add(topic)
                task = loop.create_task(self._drain(topic))
                self._tasks.add(task)  # the loop keeps only a weak reference
                task.add_done_callback(self._tasks.discard)
        return await asyncio.shield(waiter)

    async def _drain(self, topic: str) -> None:
        try:
            while (waiter := self._next.pop(topic, None)) is not None:
                # Everyone waiting on ``waiter`` arrived before this read starts.
                waiter.set_result(await self._read_once(topic))
        finally:
            self._draining.discard(topic)

    async def _read_once(self, topic: str) -> int | None:
        import psycopg  # only where PostgreSQL is used

        try:
            if self._conn is None or self._conn.closed:
                self._conn = await psycopg.AsyncConnection.connect(
                    self.conninfo, autocommit=True)
            self.round_trips += 1
            cur = await self._conn.execute(self.SQL, (topic,), prepare=True)
            row = await cur.fetchone()
            return int(row[0]) if row else 0
        except Exception:
            log.warning("change counter not readable", exc_info=True)
            if self._conn is not None:
                await self._conn.close()
            self._conn = None
            return None

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None


# --------------------------------------------------------------------------- response cache


@dataclass(frozen=True)
class Cached:
    version: int
    body: bytes
    media_type: str
    etag: str
    fresh_until: float = math.inf  # time.monotonic(); for answers that move with the clock


def etag_for(body: bytes) -> str:
    """A strong validator: equal bodies, equal tags, whatever the counter did meanwhile."""
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def cache_key(scope: Scope) -> tuple[str, str, str, bytes]:
    """What a public read depends on besides the data: scheme, host, path and query as sent
    (the host appears in discovery's URLs). The handler and :class:`CachedReads` share it."""
    host = ""
    for name, value in scope.get("headers", ()):
        if name == b"host":
            host = value.decode("latin-1")
            break
    return (scope.get("scheme", "http"), host, scope["path"], scope.get("query_string", b""))


class ResponseCache:
    """Rendered bodies of public reads, each with the counter value it was computed under;
    least recently used entries go first once ``max_bytes`` is reached. Thread-safe."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Any, Cached] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        # Computations in progress, by (key, counter value): used on the event loop only.
        self._flights: dict[Any, asyncio.Future[Cached | None]] = {}
        self.hits = 0
        self.misses = 0

    def get(self, key: Any, version: int) -> Cached | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry.version != version \
                    or entry.fresh_until < time.monotonic():
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry

    def put(self, key: Any, version: int, body: bytes, media_type: str,
            max_age: float | None = None) -> Cached:
        entry = Cached(version=version, body=body, media_type=media_type, etag=etag_for(body),
                       fresh_until=time.monotonic() + max_age if max_age else math.inf)
        if len(body) > self.max_bytes // 8:  # one answer never pushes out most of the rest
            return entry
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= len(old.body)
            self._entries[key] = entry
            self._bytes += len(body)
            while self._bytes > self.max_bytes and self._entries:
                _, dropped = self._entries.popitem(last=False)
                self._bytes -= len(dropped.body)
        return entry

    async def compute_once(self, key: Any, version: int,
                           compute: Callable[[], Awaitable[Cached | None]]) -> Cached | None:
        """Run ``compute`` (which keeps its answer with :meth:`put`) once per key and counter
        value at a time. After a change every client polling a URL misses at once; those
        arriving while the first computes wait for its entry instead of all querying and
        rendering the same answer. If it kept nothing (an error), each computes its own."""
        flight = self._flights.get((key, version))
        if flight is not None:
            entry = await asyncio.shield(flight)
            return entry if entry is not None else await compute()
        flight = self._flights[(key, version)] = asyncio.get_running_loop().create_future()
        entry = None
        try:
            entry = await compute()
            return entry
        finally:
            del self._flights[(key, version)]
            flight.set_result(entry)

    def __len__(self) -> int:
        return len(self._entries)


CACHE_CONTROL = b"no-cache"  # anyone may store it, but must revalidate (ETag) before reuse
VERSION_STATE = "change_version"  # the counter value CachedReads read, for the handler


def response_headers(entry: Cached, *, with_body: bool) -> list[tuple[bytes, bytes]]:
    headers = [(b"etag", entry.etag.encode()), (b"cache-control", CACHE_CONTROL)]
    if with_body:
        headers += [(b"content-type", entry.media_type.encode("latin-1")),
                    (b"content-length", str(len(entry.body)).encode())]
    return headers


class CachedReads:
    """ASGI middleware: an anonymous GET under ``prefix`` whose answer is in ``cache`` under
    the current counter value is sent from there, before routing and dependency resolution.

    Only what the routes' own handler would answer the same way: GET, no credentials (an API
    key or session is checked by the app, which refuses a bad one), and only if the policy
    lets the public read (``public_allowed``, checked once). Everything else — misses
    included — goes to the app, whose handler computes, keeps and answers (and receives the
    counter value read here in ``scope["state"]``, so a miss reads it once).
    """

    def __init__(self, app: ASGIApp, *, prefix: str, topic: str, cache_state: str,
                 public_allowed: bool) -> None:
        self.app = app
        self.cache_state = cache_state  # the app.state attribute holding the ResponseCache
        self.prefix = prefix
        self.topic = topic
        self.enabled = public_allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (not self.enabled or scope["type"] != "http" or scope["method"] != "GET"
                or not scope["path"].startswith(self.prefix)):
            await self.app(scope, receive, send)
            return
        state: Any = getattr(scope.get("app"), "state", None)
        cache: ResponseCache | None = getattr(state, self.cache_state, None)
        if cache is None:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if sends_credentials(headers):
            await self.app(scope, receive, send)
            return
        version = await state.change_versions.read(self.topic)
        entry = cache.get(cache_key(scope), version) if version is not None else None
        if entry is None:
            scope.setdefault("state", {})[VERSION_STATE] = version
            await self.app(scope, receive, send)
            return
        if entry.etag in headers.get("if-none-match", ""):
            await send({"type": "http.response.start", "status": 304,
                        "headers": response_headers(entry, with_body=False)})
            await send({"type": "http.response.body", "body": b""})
            return
        await send({"type": "http.response.start", "status": 200,
                    "headers": response_headers(entry, with_body=True)})
        await send({"type": "http.response.body", "body": entry.body})
