"""Reads of the outbox: delivery status for staff, filtered to what the principal may see.

Regional roles see every message; a member's staff see the messages bound for their own
jurisdiction's subscriptions. Bodies are never read here: status pages show where a message
goes and how delivery went, not what it says.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from govshare.core.errors import NotFound
from govshare.core.tenancy import Principal, visible_jurisdiction_ids
from govshare.outbox.models import DeliveryAttempt, OutboxMessage
from govshare.outbox.schemas import STATUS_LABELS, MessageStatus

__all__ = ["STATUS_LABELS", "attempts", "by_destination", "by_keys", "message", "messages",
           "status_counts"]


def _visible(stmt: Any, actor: Principal) -> Any:
    visible = visible_jurisdiction_ids(actor)
    if visible is None:
        return stmt
    return stmt.where(OutboxMessage.jurisdiction_id.in_(visible or {-1}))


def status_counts(*, session: Session, actor: Principal) -> dict[str, int]:
    stmt = _visible(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status),
                    actor)
    counts = {s.value: 0 for s in MessageStatus}
    for status, n in session.execute(stmt).all():
        counts[status] = int(n)
    return counts


@dataclass(frozen=True)
class DestinationRow:
    destination: str
    label: str
    pending: int
    in_flight: int
    delivered: int
    dead: int
    last_delivered_at: datetime | None


def by_destination(*, session: Session, actor: Principal) -> list[DestinationRow]:
    """One row per destination: its queue by status and when it last received something."""
    def n(status: MessageStatus) -> Any:
        return func.sum(case((OutboxMessage.status == status.value, 1), else_=0))

    stmt = _visible(select(
        OutboxMessage.destination, func.max(OutboxMessage.destination_label),
        n(MessageStatus.pending), n(MessageStatus.in_flight), n(MessageStatus.delivered),
        n(MessageStatus.dead), func.max(OutboxMessage.delivered_at),
    ).group_by(OutboxMessage.destination), actor)
    rows = [DestinationRow(d, label or d, int(p or 0), int(f or 0), int(ok or 0), int(x or 0),
                           last)
            for d, label, p, f, ok, x, last in session.execute(stmt).all()]
    return sorted(rows, key=lambda r: (-r.dead, -r.pending, r.label))


def messages(*, session: Session, actor: Principal, status: str | None = None,
             destination: str | None = None, limit: int = 50, offset: int = 0
             ) -> tuple[list[OutboxMessage], int]:
    """Newest first, with the total that matches (for paging)."""
    stmt = _visible(select(OutboxMessage), actor)
    if status:
        stmt = stmt.where(OutboxMessage.status == status)
    if destination:
        stmt = stmt.where(OutboxMessage.destination == destination)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(OutboxMessage.created_at.desc(),
                                         OutboxMessage.id.desc()).limit(limit).offset(offset))
    return list(rows.all()), int(total)


def message(*, session: Session, actor: Principal, message_id: int) -> OutboxMessage:
    found: OutboxMessage | None = session.scalars(_visible(select(OutboxMessage), actor)
                            .where(OutboxMessage.id == message_id)).first()
    if found is None:
        raise NotFound("Message not found")
    return found


def attempts(*, session: Session, message_ids: list[int]) -> dict[int, list[DeliveryAttempt]]:
    """Attempt history of each message, oldest first."""
    out: dict[int, list[DeliveryAttempt]] = {i: [] for i in message_ids}
    if not message_ids:
        return out
    for a in session.scalars(select(DeliveryAttempt)
                             .where(DeliveryAttempt.message_id.in_(message_ids))
                             .order_by(DeliveryAttempt.started_at, DeliveryAttempt.id)).all():
        out[a.message_id].append(a)
    return out


def by_keys(*, session: Session, keys: list[str]) -> dict[str, OutboxMessage]:
    """Messages by idempotency key (producers use this to show their own messages' status)."""
    if not keys:
        return {}
    rows = session.scalars(select(OutboxMessage)
                           .where(OutboxMessage.idempotency_key.in_(keys))).all()
    return {m.idempotency_key: m for m in rows}
