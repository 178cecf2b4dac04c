"""Reads behind the Open311 GeoReport v2 API: the endpoint's scope, request services, public
request rows, public history and the updates feed.

Everything here is public: the rows are read as plain columns (never whole ORM objects), so a
contact field cannot reach a response by accident, and a list of 1,000 requests is one
indexed query (``ix_service_requests_requested_at``, joined to the service's code and name).

The scope (the region, its slug and its members' names) is read on every call by every
client, and changes when an administrator adds or renames a member: it is kept per app
(:class:`ScopeCache`) while the ``open311`` change counter is unchanged, so a rename shows
in the very next answer.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from govshare.core.changes import OPEN311, ChangeCounter
from govshare.core.errors import NotFound
from govshare.frontoffice.calc import CLOSED_STATES
from govshare.frontoffice.models import RequestUpdate, Service, ServiceOwner, ServiceRequest
from govshare.regions import queries as regions_queries


@dataclass(frozen=True)
class Scope:
    """What ``jurisdiction_id`` selected: the whole region (``member_id`` None) or one member."""

    region_id: int
    region_slug: str
    region_name: str
    member_id: int | None
    members: dict[int, str]  # every member of the region: id -> name


class ScopeCache:
    """The region's scope, kept while the ``open311`` change counter (``core.changes``) is
    unchanged: exact, never for a time. Renaming or adding a member or the region bumps the
    counter, so the next read sees the change (a cache kept for a time was stored under the
    new counter value after a rename and served the old name for as long as nothing else
    changed; issue 8, 2.13). One per app (one database), on ``app.state``."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entry: tuple[int, Scope] | None = None


def _counter(session: Session) -> int | None:
    value = session.scalar(select(ChangeCounter.version).where(ChangeCounter.name == OPEN311))
    return None if value is None else int(value)


def _region_scope(session: Session, cache: ScopeCache | None) -> Scope:
    # The counter is read before the rows: what is kept under a value is at least as new as
    # the state that value stands for.
    version = _counter(session) if cache is not None else None
    if cache is not None and version is not None:
        with cache.lock:
            entry = cache.entry
        if entry is not None and entry[0] == version:
            return entry[1]
    region = regions_queries.current_region(session=session)
    if region is None:
        raise NotFound("This installation serves no region yet")
    members = {j.id: j.name for j in regions_queries.list_jurisdictions(session=session,
                                                                        region_id=region.id)}
    fresh = Scope(region_id=region.id, region_slug=region.slug, region_name=region.name,
                  member_id=None, members=members)
    if cache is not None and version is not None:
        with cache.lock:
            cache.entry = (version, fresh)
    return fresh


def scope(*, session: Session, jurisdiction_ref: str | None,
          cache: ScopeCache | None = None) -> Scope:
    """Resolve ``jurisdiction_id``: absent or the region's slug -> the region; a member's id ->
    that member. Anything else is a 404 naming what would have been accepted."""
    region = _region_scope(session, cache)
    if jurisdiction_ref is None or jurisdiction_ref == region.region_slug:
        return region
    ref = jurisdiction_ref.strip()
    if ref.isascii() and ref.isdigit() and int(ref) in region.members:
        return replace(region, member_id=int(ref))
    listed = ", ".join(f"{i} ({n})" for i, n in sorted(region.members.items()))
    raise NotFound(f"jurisdiction_id {jurisdiction_ref[:60]!r} was not found: give the "
                   f"region's slug {region.region_slug!r} or a member's id: {listed}")


# ------------------------------------------------------------------------------ services


def request_services(*, session: Session, region_id: int, member_id: int | None
                     ) -> list[Service]:
    """Services that take requests (information-only ones are not Open311 services), of one
    member if given (those it owns somewhere)."""
    stmt = select(Service).where(Service.region_id == region_id,
                                 Service.accepts_requests.is_(True))
    if member_id is not None:
        stmt = stmt.where(Service.id.in_(select(ServiceOwner.service_id).where(
            ServiceOwner.jurisdiction_id == member_id)))
    return list(session.scalars(stmt.order_by(Service.name, Service.code)))


def request_service(*, session: Session, region_id: int, member_id: int | None, code: str
                    ) -> Service | None:
    """The request service with ``code`` in scope, or None."""
    for s in session.scalars(select(Service).where(Service.region_id == region_id,
                                                   Service.code == code,
                                                   Service.accepts_requests.is_(True))):
        if member_id is None or member_id in _owner_ids(session, s.id):
            return s
    return None


def _owner_ids(session: Session, service_id: int) -> set[int]:
    return set(session.scalars(select(ServiceOwner.jurisdiction_id).where(
        ServiceOwner.service_id == service_id)))


def request_service_codes(*, session: Session, region_id: int) -> set[str]:
    return set(session.scalars(select(Service.code).where(Service.region_id == region_id,
                                                          Service.accepts_requests.is_(True))))


def changeset(*, session: Session, region_id: int) -> datetime | None:
    """When the service list or a definition last changed (discovery's ``changeset``)."""
    stamps = list(session.scalars(select(Service.updated_at).where(
        Service.region_id == region_id)))
    return max(stamps) if stamps else None


# ------------------------------------------------------------------------------ requests

REQUEST_COLUMNS = (
    ServiceRequest.id, ServiceRequest.public_id, ServiceRequest.status,
    ServiceRequest.status_notes, Service.code.label("service_code"),
    Service.name.label("service_name"), ServiceRequest.description,
    ServiceRequest.jurisdiction_id, ServiceRequest.requested_at, ServiceRequest.updated_at,
    ServiceRequest.expected_at, ServiceRequest.address, ServiceRequest.address_id,
    ServiceRequest.zipcode, ServiceRequest.lat, ServiceRequest.lon, ServiceRequest.media_url,
    ServiceRequest.channel,
)


def find_requests(*, session: Session, region_id: int, member_id: int | None,
                  public_ids: Sequence[str] | None = None,
                  service_codes: Sequence[str] | None = None,
                  start: datetime | None = None, end: datetime | None = None,
                  statuses: Iterable[str] | None = None, limit: int = 1000, offset: int = 0
                  ) -> list[Row[Any]]:
    """Public columns of requests, newest first. ``public_ids`` overrides every other filter
    (the spec's rule); ``statuses`` are Open311's ``open``/``closed``."""
    stmt = (select(*REQUEST_COLUMNS).join(Service, Service.id == ServiceRequest.service_id)
            .where(ServiceRequest.region_id == region_id))
    if member_id is not None:
        stmt = stmt.where(ServiceRequest.jurisdiction_id == member_id)
    if public_ids is not None:
        stmt = stmt.where(ServiceRequest.public_id.in_(list(public_ids)))
    else:
        if service_codes:
            stmt = stmt.where(ServiceRequest.service_id.in_(
                select(Service.id).where(Service.region_id == region_id,
                                         Service.code.in_(list(service_codes)))))
        if start is not None:
            stmt = stmt.where(ServiceRequest.requested_at >= start)
        if end is not None:
            stmt = stmt.where(ServiceRequest.requested_at <= end)
        wanted = set(statuses or ())
        if wanted == {"open"}:
            stmt = stmt.where(ServiceRequest.status.not_in(CLOSED_STATES))
        elif wanted == {"closed"}:
            stmt = stmt.where(ServiceRequest.status.in_(CLOSED_STATES))
    stmt = stmt.order_by(ServiceRequest.requested_at.desc(), ServiceRequest.id.desc())
    return list(session.execute(stmt.limit(limit).offset(offset)))


def request_row(*, session: Session, region_id: int, member_id: int | None, public_id: str
                ) -> Row[Any]:
    rows = find_requests(session=session, region_id=region_id, member_id=member_id,
                         public_ids=[public_id], limit=1)
    if not rows:
        raise NotFound(f"No service request {public_id[:40]!r}")
    return rows[0]


def public_id_for_token(*, session: Session, region_id: int, member_id: int | None,
                        token: str) -> str:
    stmt = select(ServiceRequest.public_id).where(ServiceRequest.region_id == region_id,
                                                  ServiceRequest.token == token)
    if member_id is not None:
        stmt = stmt.where(ServiceRequest.jurisdiction_id == member_id)
    public_id = session.scalars(stmt).first()
    if public_id is None:
        raise NotFound("No service request has this token")
    return public_id


def public_history(*, session: Session, request_ids: Sequence[int]
                   ) -> dict[int, list[RequestUpdate]]:
    """Public updates of each request, oldest first."""
    out: dict[int, list[RequestUpdate]] = {rid: [] for rid in request_ids}
    if not request_ids:
        return out
    for u in session.scalars(select(RequestUpdate).where(
            RequestUpdate.request_id.in_(list(request_ids)), RequestUpdate.public.is_(True))
            .order_by(RequestUpdate.at, RequestUpdate.id)):
        out[u.request_id].append(u)
    return out


# ------------------------------------------------------------------------------ updates feed


@dataclass(frozen=True)
class FeedRow:
    update: RequestUpdate
    public_id: str
    status_after: str  # the request's internal status once this update was made


def update_feed(*, session: Session, region_id: int, member_id: int | None,
                start: datetime, end: datetime, limit: int, offset: int) -> list[FeedRow]:
    """Public updates made between ``start`` and ``end``, oldest first (a feed that clients
    poll with the last ``updated_datetime`` they saw)."""
    stmt = (select(RequestUpdate, ServiceRequest.public_id)
            .join(ServiceRequest, ServiceRequest.id == RequestUpdate.request_id)
            .where(ServiceRequest.region_id == region_id, RequestUpdate.public.is_(True),
                   RequestUpdate.at >= start, RequestUpdate.at <= end))
    if member_id is not None:
        stmt = stmt.where(ServiceRequest.jurisdiction_id == member_id)
    rows = list(session.execute(stmt.order_by(RequestUpdate.at, RequestUpdate.id)
                                .limit(limit).offset(offset)))
    request_ids = sorted({u.request_id for u, _ in rows})
    # Status changes of those requests (private ones too: the status itself is public).
    changes: dict[int, list[tuple[datetime, int, str | None]]] = {rid: [] for rid in request_ids}
    if request_ids:
        for rid, at, uid, to in session.execute(
                select(RequestUpdate.request_id, RequestUpdate.at, RequestUpdate.id,
                       RequestUpdate.to_value)
                .where(RequestUpdate.request_id.in_(request_ids),
                       RequestUpdate.kind == "status")
                .order_by(RequestUpdate.at, RequestUpdate.id)):
            changes[rid].append((at, uid, to))
    out = []
    for u, public_id in rows:
        status = "submitted"
        for at, uid, to in changes[u.request_id]:
            if (at, uid) > (u.at, u.id):
                break
            status = to or status
        out.append(FeedRow(update=u, public_id=public_id, status_after=status))
    return out
