"""Reads of the front office: catalog search, what applies at a place, journeys, routing,
request lookups and staff queues (filtered by the acting principal)."""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import shapely
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from govshare.core.db import utcnow
from govshare.core.errors import Conflict, NotFound
from govshare.core.geodesy import haversine_km
from govshare.core.tenancy import (
    Action,
    Principal,
    Role,
    allows,
    can_see_jurisdiction_rows,
    visible_jurisdiction_ids,
)
from govshare.frontoffice.calc import CLOSED_STATES, bbox_around, normalize_public_id
from govshare.frontoffice.models import (
    Journey,
    RequestUpdate,
    Service,
    ServiceOwner,
    ServiceRequest,
)
from govshare.geo import queries as geo_queries
from govshare.geo.schemas import LocateResult
from govshare.regions import queries as regions_queries


def search_text(*parts: object) -> str:
    """The lower-cased text a service is found by (name, description, keywords, ...)."""
    out: list[str] = []
    for p in parts:
        if isinstance(p, list | tuple):
            out.extend(str(x) for x in p)
        elif p:
            out.append(str(p))
    return " ".join(out).lower()


_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def _ranked_ids(session: Session, region_id: int, words: list[str]) -> list[int]:
    """Ids of the region's services matching every word, best first: full-text search with
    stemming ("potholes" finds "pothole"), PostgreSQL's english configuration or SQLite's
    FTS5 with the porter tokenizer. SQLite's index is a TEMP table filled for the query
    (a catalog is hundreds of rows, not millions), so nothing is kept in step on writes."""
    if session.get_bind().dialect.name == "postgresql":
        query = func.plainto_tsquery("english", " ".join(words))
        vector = func.to_tsvector("english", Service.search_text)
        rows = session.execute(
            select(Service.id).where(Service.region_id == region_id, vector.op("@@")(query))
            .order_by(func.ts_rank(vector, query).desc(), Service.name, Service.id))
        return [int(r[0]) for r in rows]
    session.execute(text("CREATE VIRTUAL TABLE IF NOT EXISTS temp.services_fts USING "
                         "fts5(search_text, tokenize='porter unicode61')"))
    session.execute(text("DELETE FROM temp.services_fts"))
    session.execute(text("INSERT INTO temp.services_fts (rowid, search_text) SELECT id, "
                         "search_text FROM services WHERE region_id = :r"), {"r": region_id})
    match = " AND ".join(f'"{w}"' for w in words)
    rows = session.execute(text("SELECT rowid FROM temp.services_fts WHERE services_fts "
                                "MATCH :m ORDER BY bm25(services_fts), rowid"), {"m": match})
    return [int(r[0]) for r in rows]


def search_services(*, session: Session, region_id: int, q: str | None = None,
                    life_event: str | None = None, target_group: str | None = None,
                    accepts_requests: bool | None = None) -> list[Service]:
    """Services matching every word of ``q`` (name, description, keywords, group, events),
    stemmed and ranked best first; without ``q``, by name."""
    words = [w[:40] for w in _WORD.findall((q or "").lower())][:8]
    stmt = select(Service).where(Service.region_id == region_id)
    if accepts_requests is not None:
        stmt = stmt.where(Service.accepts_requests.is_(accepts_requests))
    if words:
        order = {sid: i for i, sid in enumerate(_ranked_ids(session, region_id, words))}
        rows = [s for s in session.scalars(stmt.where(Service.id.in_(order)))]
        rows.sort(key=lambda s: order[s.id])
    else:
        rows = list(session.scalars(stmt.order_by(Service.name)))
    if life_event:
        rows = [s for s in rows if life_event in (s.life_events or [])]
    if target_group:
        rows = [s for s in rows if target_group in (s.target_groups or [])]
    return rows


def providers(*, session: Session, region_id: int) -> dict[int, list[str]]:
    """Each service's providers' names, in routing order (priority, then name)."""
    names = {j.id: j.name for j in regions_queries.list_jurisdictions(session=session,
                                                                      region_id=region_id)}
    rows = session.execute(
        select(ServiceOwner.service_id, ServiceOwner.jurisdiction_id)
        .join(Service, Service.id == ServiceOwner.service_id)
        .where(Service.region_id == region_id)
        .order_by(ServiceOwner.service_id, ServiceOwner.priority, ServiceOwner.id)).all()
    out: dict[int, list[str]] = {}
    for sid, jid in rows:
        out.setdefault(int(sid), []).append(names.get(jid, str(jid)))
    return out


def get_service(*, session: Session, region_id: int, code: str) -> Service:
    s = session.scalars(select(Service).where(Service.region_id == region_id,
                                              Service.code == code)).first()
    if s is None:
        raise NotFound(f"No service with code {code!r}")
    return s


def owners(*, session: Session, service_id: int) -> list[ServiceOwner]:
    return list(session.scalars(select(ServiceOwner).where(ServiceOwner.service_id == service_id)
                                .order_by(ServiceOwner.priority, ServiceOwner.id)))


@dataclass
class Routing:
    jurisdiction_id: int | None
    reason: str
    located: LocateResult


class AmbiguousOwner(Conflict):
    """Two or more owners of a service cover a point with the same priority: the catalog
    does not say which of them handles a request there, so none is picked silently.

    ``candidates`` are the tied members as (id, name), so a caller can offer the choice; an
    Open311 client resolves it by naming one of them as ``jurisdiction_id`` (the spec: the
    parameter is required where the endpoint cannot tell).
    """

    code = "ambiguous-owner"
    title = "More than one member owns this service here"

    def __init__(self, *, service_name: str, lon: float, lat: float, priority: int,
                 candidates: list[tuple[int, str]], preferred: int | None = None) -> None:
        self.service_name = service_name
        self.candidates = candidates
        listed = ", ".join(f"{name} (jurisdiction_id {jid})" for jid, name in candidates)
        where = f"at ({lon:.5f}, {lat:.5f})"
        tied = f"{service_name!r} is provided by {listed}, all with priority {priority}"
        not_one = f"; jurisdiction {preferred} is not one of them" if preferred is not None else ""
        super().__init__(
            f"Routing is ambiguous: {where} {tied}{not_one}. Name one of them as the "
            "jurisdiction; the region's catalog should give them different priorities.",
            errors=[{"loc": ["jurisdiction_id"],
                     "reason": f"required {where}, where {tied}{not_one}"}])


def route(*, session: Session, region_id: int, service: Service, lon: float, lat: float,
          prefer_jurisdiction_id: int | None = None) -> Routing:
    """The member that owns ``service`` at the point: the lowest-priority-number owner whose
    boundary contains it (a point on a boundary line counts as inside, as in ``geo``).

    When several owners contain the point at that same lowest priority, routing is
    ambiguous: ``prefer_jurisdiction_id`` picks among them if it names one of them (an Open311
    client's ``jurisdiction_id``), otherwise :class:`AmbiguousOwner` (409) names the service,
    the point and the tied members. The preference never overrides a clear owner: the caller
    checks it against the answer.
    """
    located = geo_queries.locate(session=session, region_id=region_id, lon=lon, lat=lat)
    here = {j.id: j.name for j in located.jurisdictions}
    if not here:
        return Routing(None, "The location is outside every member of the region.", located)
    covering = [o for o in owners(session=session, service_id=service.id)
                if o.jurisdiction_id in here]
    if not covering:
        names = ", ".join(here.values())
        return Routing(None, f"No member provides {service.name!r} at this location "
                             f"(served here by: {names}).", located)
    best = covering[0].priority  # owners() is ordered by priority
    tied = [o.jurisdiction_id for o in covering if o.priority == best]
    if len(tied) == 1:
        return Routing(tied[0], "owner at this location", located)
    if prefer_jurisdiction_id in tied:
        return Routing(prefer_jurisdiction_id, "owner named by the client among owners of "
                       "equal priority at this location", located)
    raise AmbiguousOwner(service_name=service.name, lon=lon, lat=lat, priority=best,
                         candidates=[(jid, here[jid]) for jid in tied],
                         preferred=prefer_jurisdiction_id)


@dataclass
class OwnerTie:
    """Two owners of one service with the same priority whose areas overlap: requests in the
    overlap cannot be routed without the submitter naming one of them."""

    priority: int
    first: Any
    second: Any


def owner_ties(*, session: Session, region_id: int, service_id: int) -> list[OwnerTie]:
    """Pairs of owners of the service with equal priority whose boundaries share interior
    (touching along a border is not an overlap: neighboring cities may both be priority 1).
    Owners without a boundary cover no point and are never tied."""
    by_priority: dict[int, list[int]] = {}
    for o in owners(session=session, service_id=service_id):
        by_priority.setdefault(o.priority, []).append(o.jurisdiction_id)
    groups = {p: jids for p, jids in by_priority.items() if len(jids) > 1}
    if not groups:
        return []
    index = geo_queries.point_index(session=session, region_id=region_id)
    shapes = {int(jid): geom for jid, geom in zip(index.ids, index.geoms, strict=True)}
    members = {j.id: j for j in regions_queries.list_jurisdictions(session=session,
                                                                   region_id=region_id)}
    ties = []
    for prio, jids in sorted(groups.items()):
        for i, a in enumerate(jids):
            for b in jids[i + 1:]:
                if a in shapes and b in shapes and \
                        shapely.relate_pattern(shapes[a], shapes[b], "T********"):
                    ties.append(OwnerTie(prio, members.get(a), members.get(b)))
    return ties


@dataclass
class PlaceServices:
    located: LocateResult
    by_jurisdiction: list[tuple[Any, list[Service]]]
    by_life_event: dict[str, list[tuple[Service, str]]]


def services_at(*, session: Session, region_id: int, lon: float, lat: float,
                located: LocateResult | None = None) -> PlaceServices:
    """Every member serving the point and the services each offers there.

    A service is offered here by the owner that routing would pick; services without owners
    are shown under no member (general information). Where owners of equal priority tie at
    the point (which ``route`` refuses to settle alone), the service is listed under each of
    them, and by life event as "A or B".
    """
    located = located or geo_queries.locate(session=session, region_id=region_id, lon=lon,
                                            lat=lat)
    here = [j.id for j in located.jurisdictions]
    services = search_services(session=session, region_id=region_id)
    owner_rows = session.execute(
        select(ServiceOwner.service_id, ServiceOwner.jurisdiction_id, ServiceOwner.priority)
        .join(Service, Service.id == ServiceOwner.service_id)
        .where(Service.region_id == region_id)).all()
    owners_of: dict[int, list[tuple[int, int]]] = {}
    for sid, jid, prio in owner_rows:
        owners_of.setdefault(sid, []).append((prio, jid))
    by_j: dict[int, list[Service]] = {jid: [] for jid in here}
    members = {j.id: j for j in located.jurisdictions}
    by_event: dict[str, list[tuple[Service, str]]] = {}
    for s in services:
        covering = sorted((prio, jid) for prio, jid in owners_of.get(s.id, []) if jid in by_j)
        if not covering:
            continue
        tied = [jid for prio, jid in covering if prio == covering[0][0]]
        for jid in tied:
            by_j[jid].append(s)
        who = " or ".join(members[jid].name for jid in tied)
        for ev in s.life_events or []:
            by_event.setdefault(ev, []).append((s, who))
    return PlaceServices(located=located,
                         by_jurisdiction=[(members[jid], by_j[jid]) for jid in here],
                         by_life_event=by_event)


def journeys(*, session: Session, region_id: int) -> list[Journey]:
    return list(session.scalars(select(Journey).where(Journey.region_id == region_id)
                                .order_by(Journey.title)))


def journey(*, session: Session, region_id: int, life_event: str) -> Journey:
    j = session.scalars(select(Journey).where(Journey.region_id == region_id,
                                              Journey.life_event == life_event)).first()
    if j is None:
        raise NotFound("No step-by-step guide for that life event yet")
    return j


# ------------------------------------------------------------------------------ requests


def request_by_public_id(*, session: Session, public_id: str) -> ServiceRequest:
    """A request by its id, typed with or without its dash ("2026000123")."""
    public_id = normalize_public_id(public_id)
    r = session.scalars(select(ServiceRequest).where(ServiceRequest.public_id == public_id)
                        ).first()
    if r is None:
        raise NotFound(f"No request {public_id}")
    return r


def request_for_staff(*, session: Session, actor: Principal, request_id: int) -> ServiceRequest:
    r = session.get(ServiceRequest, request_id)
    if r is None or not can_see_jurisdiction_rows(actor, r.jurisdiction_id):
        raise NotFound("Request not found")
    return r


def updates(*, session: Session, request_id: int, public_only: bool) -> list[RequestUpdate]:
    stmt = select(RequestUpdate).where(RequestUpdate.request_id == request_id)
    if public_only:
        stmt = stmt.where(RequestUpdate.public.is_(True))
    return list(session.scalars(stmt.order_by(RequestUpdate.at, RequestUpdate.id)))


@dataclass
class QueueFilter:
    jurisdiction_id: int | None = None
    status: str | None = None
    service_code: str | None = None
    channel: str | None = None
    open_only: bool = True
    assigned_to: int | None = None  # a user id; 0: unassigned
    overdue_only: bool = False


def queue(*, session: Session, actor: Principal, region_id: int, flt: QueueFilter,
          limit: int = 200, offset: int = 0) -> tuple[list[ServiceRequest], int]:
    stmt = select(ServiceRequest).where(ServiceRequest.region_id == region_id)
    visible = visible_jurisdiction_ids(actor)
    if visible is not None:
        stmt = stmt.where(ServiceRequest.jurisdiction_id.in_(visible))
    if flt.jurisdiction_id:
        stmt = stmt.where(ServiceRequest.jurisdiction_id == flt.jurisdiction_id)
    if flt.status:
        stmt = stmt.where(ServiceRequest.status == flt.status)
    elif flt.open_only:
        stmt = stmt.where(ServiceRequest.status.not_in(CLOSED_STATES))
    if flt.channel:
        stmt = stmt.where(ServiceRequest.channel == flt.channel)
    if flt.assigned_to is not None:
        stmt = stmt.where(ServiceRequest.assigned_to_id == flt.assigned_to
                          if flt.assigned_to else ServiceRequest.assigned_to_id.is_(None))
    if flt.overdue_only:
        stmt = stmt.where(ServiceRequest.expected_at < utcnow(),
                          ServiceRequest.status.not_in(CLOSED_STATES))
    if flt.service_code:
        stmt = stmt.join(Service, Service.id == ServiceRequest.service_id).where(
            Service.code == flt.service_code)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(ServiceRequest.requested_at.desc(),
                                         ServiceRequest.id.desc()).limit(limit).offset(offset))
    return list(rows), int(total)


def nearby_open(*, session: Session, service_id: int, lon: float, lat: float,
                meters: float = 150, days: int = 30, exclude_id: int | None = None
                ) -> list[tuple[ServiceRequest, float]]:
    """Open requests of the same service within ``meters`` in the last ``days``: possible
    duplicates, nearest first."""
    minx, miny, maxx, maxy = bbox_around(lon, lat, meters)
    stmt = select(ServiceRequest).where(
        ServiceRequest.service_id == service_id,
        ServiceRequest.status.not_in(CLOSED_STATES),
        ServiceRequest.requested_at >= utcnow() - timedelta(days=days),
        ServiceRequest.lon.between(minx, maxx), ServiceRequest.lat.between(miny, maxy))
    if exclude_id is not None:
        stmt = stmt.where(ServiceRequest.id != exclude_id)
    out = []
    for r in session.scalars(stmt):
        if r.lon is None or r.lat is None:
            continue
        d = haversine_km(lon, lat, r.lon, r.lat) * 1000.0
        if d <= meters:
            out.append((r, d))
    return sorted(out, key=lambda t: t[1])


def channel_stats(*, session: Session, actor: Principal, region_id: int) -> list[dict[str, Any]]:
    """Volume and median hours to close, by channel and jurisdiction (value-case input)."""
    stmt = select(ServiceRequest.channel, ServiceRequest.jurisdiction_id,
                  ServiceRequest.requested_at, ServiceRequest.closed_at).where(
        ServiceRequest.region_id == region_id)
    visible = visible_jurisdiction_ids(actor)
    if visible is not None:
        stmt = stmt.where(ServiceRequest.jurisdiction_id.in_(visible))
    groups: dict[tuple[str, int], list[Any]] = {}
    for ch, jid, req, closed in session.execute(stmt):
        groups.setdefault((ch, jid), []).append((req, closed))
    names = {j.id: j.name for j in regions_queries.list_jurisdictions(session=session,
                                                                      region_id=region_id)}
    out = []
    for (ch, jid), items in sorted(groups.items()):
        hours = [(c - r).total_seconds() / 3600 for r, c in items if c is not None]
        median = statistics.median(hours) if hours else None
        out.append({"channel": ch, "jurisdiction": names.get(jid, str(jid)),
                    "volume": len(items), "closed": len(hours), "median_hours_to_close": median})
    return out


# ------------------------------------------------------------------------------ staff


def user_names(*, session: Session, region_id: int) -> dict[int, str]:
    """Staff user id -> full name, to name people instead of ``user:4``."""
    return {u.id: u.full_name for u in regions_queries.region_users(session=session,
                                                                   region_id=region_id)}


def assignable_staff(*, session: Session, region_id: int, jurisdiction_id: int) -> list[Any]:
    """Active users who may work on a member's requests: its own staff, and the region's
    administrators."""
    out = []
    for u in regions_queries.region_users(session=session, region_id=region_id):
        p = Principal(kind="user", role=Role(u.role), region_id=region_id,
                      jurisdiction_id=u.jurisdiction_id, user_id=u.id)
        if u.is_active and allows(p, Action.request_manage, jurisdiction_id):
            out.append(u)
    return sorted(out, key=lambda u: (u.jurisdiction_id != jurisdiction_id, u.full_name))


def actor_label(ref: str | None, names: dict[int, str]) -> str:
    """A history or audit actor in words: a person's name, "Open311 app", "Resident"."""
    if not ref:
        return "—"
    kind, _, rest = ref.partition(":")
    if kind == "user" and rest.isdigit():
        return names.get(int(rest), "A former staff member")
    if kind == "apikey":
        return "Open311 app"
    if kind == "system":
        return f"System ({rest})" if rest else "System"
    return "Resident (web form)" if ref == "anonymous" else ref


def forwarded_count(*, session: Session, actor: Principal, region_id: int) -> int:
    """Requests forwarded to another member instead of being turned away (value-case input):
    requests with at least one ``forward`` update, of the members the actor sees."""
    stmt = select(func.count(func.distinct(RequestUpdate.request_id))).join(
        ServiceRequest, ServiceRequest.id == RequestUpdate.request_id).where(
        ServiceRequest.region_id == region_id, RequestUpdate.kind == "forward")
    visible = visible_jurisdiction_ids(actor)
    if visible is not None:
        stmt = stmt.where(ServiceRequest.jurisdiction_id.in_(visible))
    return int(session.scalar(stmt) or 0)
