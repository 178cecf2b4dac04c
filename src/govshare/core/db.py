"""Database plumbing: the declarative base, engines for SQLite and PostgreSQL, units of work.

Invariants:
- Engines and session factories are built by ``create_app`` or a CLI command, never at import.
- Services only ``flush()``. The edge (an API handler, a page handler, a CLI command, a job)
  owns the unit of work and commits or rolls back, via :func:`unit_of_work`.
- SQLite runs in WAL mode with foreign keys on, and with SQLAlchemy's documented recipe so that
  SAVEPOINTs work (tests nest each test inside a transaction that is rolled back).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, TypeDecorator, create_engine, event, text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def check_in(values: type[StrEnum]) -> str:
    """The values of an enumeration as a SQL list for a CHECK constraint: ``'a', 'b', 'c'``.

    For ``CheckConstraint(f"status IN ({check_in(Status)})", name="status")``, which backs a
    state machine's enum in the database. The values are quoted as they are, so they must be
    plain identifiers (no quotes); a migration must spell the same list.
    """
    return ", ".join(f"'{v.value}'" for v in values)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned timezone-aware.

    SQLite keeps no zone; PostgreSQL's ``timestamptz`` does. Both come back as aware UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the driver, start transactions, so SAVEPOINT works (SQLAlchemy docs,
    # "Serializable isolation / Savepoints / Transactional DDL" for pysqlite).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN")


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction for a CLI command or job: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# Table names are the code's own (never user input): checked, since ANALYZE takes no bind.
_TABLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def analyze(session: Session, *tables: str, sqlite: bool = True) -> None:
    """Fresh planner statistics after a bulk change, inside the session's transaction: with
    stale ones (a table just filled) PostgreSQL estimates a handful of rows and picks nested
    loops or sequential scans (a later delete's cascade over a million fresh assets ran for
    minutes). PostgreSQL: ``ANALYZE`` of each table; SQLite (unless ``sqlite=False``):
    ``ANALYZE`` of each table, then ``PRAGMA optimize``."""
    bad = [t for t in tables if not _TABLE_NAME.match(t)]
    if bad:
        raise ValueError(f"not a table name: {bad[0]!r}")
    name = session.get_bind().dialect.name
    if name == "postgresql" or (name == "sqlite" and sqlite):
        for table in tables:
            session.execute(text(f"ANALYZE {table}"))
    if name == "sqlite" and sqlite and tables:
        session.execute(text("PRAGMA optimize"))
