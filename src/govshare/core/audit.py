"""Append-only audit log: who did what, when, to which row, with the values before and after.

Every service write calls :func:`record` in the same transaction as the change, so the audit
row and the change land or vanish together. The table has no update or delete path in code,
and the database refuses both (triggers created by migration 0001 on SQLite and PostgreSQL).
"""

from __future__ import annotations

import json
from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from govshare.core.db import Base, UTCDateTime, utcnow
from govshare.core.paging import PageParams, fetch_page
from govshare.core.tenancy import Principal


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(80), index=True)
    actor_role: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(80), index=True)
    entity: Mapped[str] = mapped_column(String(80), index=True)
    entity_id: Mapped[str | None] = mapped_column(String(80))
    # No ON DELETE action: history is kept, so a jurisdiction with audit rows is never deleted.
    jurisdiction_id: Mapped[int | None] = mapped_column(
        ForeignKey("jurisdictions.id"), index=True
    )
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    request_id: Mapped[str | None] = mapped_column(String(64))


# The id of the request being answered: set by the request-id middleware (core.http.Envelope)
# for the whole request, handlers in worker threads included; None outside a request (CLI,
# worker). ``record`` writes it into every row, so a change can be traced to its log line.
REQUEST_ID: ContextVar[str | None] = ContextVar("govshare_request_id", default=None)

REDACTED = "[redacted]"
SECRET_FIELDS = frozenset({"password", "password_hash", "key_hash", "token_hash", "secret"})


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return json.loads(json.dumps(value, default=str))


def snapshot(obj: Any, fields: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """Plain values of ``fields`` of ``obj``; secrets are replaced by a marker."""
    return {
        f: (REDACTED if f in SECRET_FIELDS else _jsonable(getattr(obj, f, None))) for f in fields
    }


def record(
    session: Session,
    actor: Principal,
    *,
    action: str,
    entity: str,
    entity_id: object | None = None,
    jurisdiction_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    request_id: str | None = None,
) -> AuditEvent:
    event = AuditEvent(
        at=utcnow(),
        actor=actor.ref,
        actor_role=actor.role.value,
        action=action,
        entity=entity,
        entity_id=None if entity_id is None else str(entity_id),
        jurisdiction_id=jurisdiction_id,
        before=_jsonable(before) if before is not None else None,
        after=_jsonable(after) if after is not None else None,
        request_id=request_id if request_id is not None else REQUEST_ID.get(),
    )
    session.add(event)
    session.flush()
    return event


def record_changes(session: Session, actor: Principal, obj: Any, *,
                   fields: list[str] | tuple[str, ...], before: dict[str, Any], action: str,
                   entity: str, jurisdiction_id: int | None) -> set[str]:
    """After an update of ``obj`` (flushed): record the ``fields`` that changed since
    ``before`` (their ``snapshot`` taken before the update), only those, and return their
    names; nothing is recorded when none changed."""
    after = snapshot(obj, fields)
    changed = {k for k in fields if before.get(k) != after.get(k)}
    if changed:
        record(session, actor, action=action, entity=entity, entity_id=obj.id,
               jurisdiction_id=jurisdiction_id,
               before={k: before.get(k) for k in fields if k in changed},
               after={k: after[k] for k in fields if k in changed})
    return changed


def list_events(
    session: Session,
    *,
    actor: str | None = None,
    entity: str | None = None,
    action: str | None = None,
    jurisdiction_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    page: PageParams = PageParams(100),
) -> tuple[list[AuditEvent], int]:
    """Newest first, with the total that matches the filters (for paging)."""
    stmt = select(AuditEvent)
    if actor:
        stmt = stmt.where(AuditEvent.actor == actor)
    if entity:
        stmt = stmt.where(AuditEvent.entity == entity)
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    if jurisdiction_id is not None:
        stmt = stmt.where(AuditEvent.jurisdiction_id == jurisdiction_id)
    if since is not None:
        stmt = stmt.where(AuditEvent.at >= since)
    if until is not None:
        stmt = stmt.where(AuditEvent.at < until)
    return fetch_page(session, stmt.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()), page)


def distinct_values(session: Session, column: str) -> list[str]:
    col = getattr(AuditEvent, column)
    return [v for v in session.scalars(select(col).distinct().order_by(col)).all() if v]
