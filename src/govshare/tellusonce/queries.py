"""Tell us once, the reads: subscriptions a principal may see or a resident may choose,
and the staff's list of recent reports with each agency's delivery status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govshare.core.errors import NotFound
from govshare.core.tenancy import (
    Action,
    Principal,
    allows,
    ensure_visible,
    visible_jurisdiction_ids,
)
from govshare.outbox import queries as outbox_queries
from govshare.regions import queries as regions_queries
from govshare.tellusonce.calc import AWAITING, EVENTS, idempotency_key
from govshare.tellusonce.models import AgencySubscription, LifeEventReport


def list_subscriptions(*, session: Session, actor: Principal, region_id: int
                       ) -> list[AgencySubscription]:
    """Subscriptions of the members whose private rows the actor sees."""
    members = {j.id: j.name for j in regions_queries.list_jurisdictions(
        session=session, region_id=region_id)}
    visible = visible_jurisdiction_ids(actor)
    ids = set(members) if visible is None else set(members) & visible
    if not ids:
        return []
    rows = session.scalars(select(AgencySubscription)
                           .where(AgencySubscription.jurisdiction_id.in_(ids))).all()
    return sorted(rows, key=lambda s: (members[s.jurisdiction_id], s.name))


def available_subscriptions(*, session: Session, region_id: int, event: str
                            ) -> list[AgencySubscription]:
    """Active subscriptions to ``event`` across the region's members (for the public form)."""
    members = {j.id: j.name for j in regions_queries.list_jurisdictions(
        session=session, region_id=region_id)}
    if not members:
        return []
    rows = session.scalars(select(AgencySubscription).where(
        AgencySubscription.jurisdiction_id.in_(members), AgencySubscription.active)).all()
    return sorted((s for s in rows if event in (s.event_types or [])),
                  key=lambda s: (members[s.jurisdiction_id], s.name))


def get_subscription(*, session: Session, actor: Principal, subscription_id: int
                     ) -> AgencySubscription:
    sub = session.get(AgencySubscription, subscription_id)
    if sub is None:
        raise NotFound("Subscription not found")
    ensure_visible(actor, sub.jurisdiction_id, "Subscription")
    return sub


@dataclass(frozen=True)
class ReportRow:
    report: LifeEventReport
    deliveries: list[tuple[str, str]]  # (agency, outbox status)


def recent_reports(*, session: Session, actor: Principal, region_id: int, limit: int = 25
                   ) -> list[ReportRow]:
    """Latest reports (no personal data) with each chosen agency's delivery status.

    Regional roles see every report; a member's staff see the reports that went to one of
    their own subscriptions, with only their own agencies' deliveries.
    """
    visible = visible_jurisdiction_ids(actor)
    own_subs = None
    if visible is not None:
        own_subs = {s.id for s in list_subscriptions(session=session, actor=actor,
                                                     region_id=region_id)}
    rows = session.scalars(select(LifeEventReport).where(LifeEventReport.region_id == region_id)
                           .order_by(LifeEventReport.created_at.desc(),
                                     LifeEventReport.id.desc()).limit(200)).all()
    picked: list[tuple[LifeEventReport, dict[str, str]]] = []
    for r in rows:
        agencies = [a for a in (r.consent or {}).get("agencies", [])
                    if own_subs is None or a["subscription_id"] in own_subs]
        if agencies:
            picked.append((r, {idempotency_key(r.reference, a["subscription_id"]): a["name"]
                               for a in agencies}))
        if len(picked) >= limit:
            break
    found = outbox_queries.by_keys(session=session,
                                   keys=[k for _, keys in picked for k in keys])
    return [ReportRow(r, [(name, found[k].status if k in found else "missing")
                          for k, name in keys.items()]) for r, keys in picked]


def report_counts(*, session: Session, region_id: int, since: datetime) -> dict[str, int]:
    rows = session.execute(select(LifeEventReport.event_type, func.count())
                           .where(LifeEventReport.region_id == region_id,
                                  LifeEventReport.created_at >= since)
                           .group_by(LifeEventReport.event_type)).all()
    counts = {e: 0 for e in EVENTS}
    counts.update({e: int(n) for e, n in rows})
    return counts


def told_jurisdictions(session: Session, report: LifeEventReport) -> set[int]:
    """The members whose agencies the reporter chose to tell."""
    ids = [a["subscription_id"] for a in (report.consent or {}).get("agencies", [])]
    if not ids:
        return set()
    return set(session.scalars(select(AgencySubscription.jurisdiction_id).where(
        AgencySubscription.id.in_(ids))).all())


def may_verify(session: Session, actor: Principal, report: LifeEventReport) -> bool:
    """Staff of a member told of the report may confirm it (the regional admin any)."""
    return any(allows(actor, Action.tellusonce_verify, j)
               for j in told_jurisdictions(session, report))


def awaiting_reports(*, session: Session, actor: Principal, region_id: int, limit: int = 50
                     ) -> list[LifeEventReport]:
    """Reports waiting for a check that the actor may make, oldest first (no personal data)."""
    if not any(allows(actor, Action.tellusonce_verify, j.id) for j in
               regions_queries.list_jurisdictions(session=session, region_id=region_id)):
        return []
    rows = session.scalars(select(LifeEventReport).where(
        LifeEventReport.region_id == region_id, LifeEventReport.verification == AWAITING)
        .order_by(LifeEventReport.created_at, LifeEventReport.id).limit(500)).all()
    return [r for r in rows if may_verify(session, actor, r)][:limit]
