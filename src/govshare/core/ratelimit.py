"""Fixed-window rate limits kept in the database, so every web process sees the same counts.

Used for failed logins and public submissions. Rows older than the retention setting (longer
than any window) are deleted by :func:`prune`, a housekeeping job of ``govshare worker``.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from sqlalchemy import Index, Integer, String, delete, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from govshare.core.db import Base, UTCDateTime, utcnow
from govshare.core.errors import RateLimited


class RateEvent(Base):
    __tablename__ = "rate_events"
    __table_args__ = (Index("ix_rate_events_bucket_key_at", "bucket", "key", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bucket: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


def hits(session: Session, bucket: str, key: str, window: timedelta) -> int:
    since = utcnow() - window
    return int(
        session.scalar(
            select(func.count())
            .select_from(RateEvent)
            .where(RateEvent.bucket == bucket, RateEvent.key == key, RateEvent.at >= since)
        )
        or 0
    )


def recent(session: Session, bucket: str, key: str, window: timedelta
           ) -> tuple[int, datetime | None]:
    """How many events ``key`` has in the window, and when the last one was."""
    since = utcnow() - window
    count, last = session.execute(
        select(func.count(), func.max(RateEvent.at))
        .where(RateEvent.bucket == bucket, RateEvent.key == key, RateEvent.at >= since)
    ).one()
    if isinstance(last, str):  # SQLite's max() of the type-decorated column comes back raw
        last = datetime.fromisoformat(last)
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=UTC)
    return int(count or 0), last


def progressive_wait(count: int, last: datetime | None, *, free: int, first: timedelta,
                     cap: timedelta, now: datetime | None = None) -> int:
    """Seconds to wait before the next attempt after ``count`` failures, the last at ``last``:
    none for the first ``free`` failures, then ``first``, doubled by each further failure, at
    most ``cap`` (a progressive delay instead of a lockout: OWASP's authentication cheat
    sheet)."""
    if count < free or last is None:
        return 0
    delay = min(first * 2 ** min(count - free, 30), cap)
    remaining = (last + delay - (now or utcnow())).total_seconds()
    return max(0, int(math.ceil(remaining)))


def check(session: Session, bucket: str, key: str, *, window: timedelta, limit: int,
          message: str) -> None:
    """Refuse (429, ``Retry-After`` the window) once ``key`` has ``limit`` events in it."""
    if hits(session, bucket, key, window) >= limit:
        raise RateLimited(message, retry_after=int(window.total_seconds()))


def consume(session: Session, bucket: str, key: str, *, window: timedelta, limit: int,
            message: str) -> None:
    """:func:`check`, then count this attempt (the caller commits it)."""
    check(session, bucket, key, window=window, limit=limit, message=message)
    hit(session, bucket, key)


def hit(session: Session, bucket: str, key: str) -> None:
    session.add(RateEvent(bucket=bucket, key=key, at=utcnow()))
    session.flush()


def clear(session: Session, bucket: str, key: str) -> None:
    session.execute(delete(RateEvent).where(RateEvent.bucket == bucket, RateEvent.key == key))


def prune(session: Session, *, older_than: timedelta, now: datetime | None = None) -> int:
    """Delete the records older than ``older_than`` (longer than any window); how many.

    Run hourly by ``govshare worker`` (``GOVSHARE_RATE_LIMIT_RETENTION_HOURS``).
    """
    result = session.execute(delete(RateEvent).where(
        RateEvent.at < (now or utcnow()) - older_than))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
