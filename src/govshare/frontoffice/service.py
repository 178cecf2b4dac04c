"""Writes of the front office: the catalog, and service requests from every channel.

Invariants:
- A request is routed once, on submission, to the member that owns its service at its point
  (``queries.route``); staff may forward it to another member later, which is recorded.
  Where owners of equal priority tie at the point, the submitter must name one of them
  (``RequestIn.jurisdiction_id``); no request is sent to a member picked silently.
- Status changes go through ``calc.REQUESTS`` (core.states: a refused move is a 409) and
  each leaves a ``RequestUpdate``;
  the DB check constraint backs the status values.
- Personal data (contact fields) never enters the audit log or public responses.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from govshare.core import audit
from govshare.core.db import utcnow
from govshare.core.errors import BadRequest, ValidationFailed
from govshare.core.security import new_token
from govshare.core.tenancy import Action, Principal, authorize
from govshare.frontoffice import calc, queries
from govshare.frontoffice.models import (
    Channel,
    Journey,
    RequestStatus,
    RequestUpdate,
    Service,
    ServiceOwner,
    ServiceRequest,
)
from govshare.frontoffice.schemas import RequestAction, RequestIn, ServiceIn
from govshare.geo import queries as geo_queries
from govshare.geo.schemas import AddressCandidate, Geocoded
from govshare.regions import queries as regions_queries

STAFF_CHANNELS = frozenset({Channel.phone, Channel.mail, Channel.walk_in, Channel.email})


# ------------------------------------------------------------------------------ catalog


def save_service(*, session: Session, actor: Principal, region_id: int, data: ServiceIn,
                 owners: list[tuple[int, int]] | None = None) -> Service:
    """Create or replace a catalog entry by code; ``owners`` = [(jurisdiction_id, priority)]."""
    authorize(actor, Action.catalog_manage, region_id=region_id)
    problems = calc.check_definitions(data.attributes)
    if problems:
        raise ValidationFailed("The service's attributes are not valid", errors=[
            {"loc": ["attributes"], "reason": p} for p in problems])
    svc = session.scalars(select(Service).where(Service.region_id == region_id,
                                                Service.code == data.code)).first()
    before = None
    if svc is None:
        svc = Service(region_id=region_id, code=data.code)
        session.add(svc)
    else:
        before = {"name": svc.name, "accepts_requests": svc.accepts_requests}
    values = data.model_dump(mode="json")
    for key, value in values.items():
        setattr(svc, key, value)
    svc.search_text = queries.search_text(data.name, data.description, data.group,
                                          data.keywords, data.life_events, data.target_groups,
                                          data.code)
    session.flush()
    if owners is not None:
        for jid, _prio in owners:
            j = regions_queries.get_jurisdiction(session=session, jurisdiction_id=jid)
            if j.region_id != region_id:
                raise BadRequest(f"Jurisdiction {jid} is not a member of this region")
        session.execute(delete(ServiceOwner).where(ServiceOwner.service_id == svc.id))
        for jid, prio in owners:
            session.add(ServiceOwner(service_id=svc.id, jurisdiction_id=jid, priority=prio))
        session.flush()
    audit.record(session, actor, action="service.save", entity="service", entity_id=svc.id,
                 before=before, after={"code": svc.code, "name": svc.name,
                                       "accepts_requests": svc.accepts_requests,
                                       "owners": owners})
    return svc


def save_journey(*, session: Session, actor: Principal, region_id: int, life_event: str,
                 title: str, summary: str, steps: list[dict[str, str]], sample: bool = False
                 ) -> Journey:
    authorize(actor, Action.catalog_manage, region_id=region_id)
    j = session.scalars(select(Journey).where(Journey.region_id == region_id,
                                              Journey.life_event == life_event)).first()
    if j is None:
        j = Journey(region_id=region_id, life_event=life_event)
        session.add(j)
    j.title, j.summary, j.steps, j.sample = title, summary, steps, sample
    session.flush()
    audit.record(session, actor, action="journey.save", entity="journey", entity_id=j.id,
                 after={"life_event": life_event, "steps": len(steps)})
    return j


# ------------------------------------------------------------------------------ requests


class PlaceNeeded(ValidationFailed):
    """The request's place cannot be told exactly (a ZIP code, an address that is not among
    the address points or means several places): it is not routed; the person is asked for a
    pin on the map (or to choose among ``candidates``)."""

    code = "place-needed"
    title = "The place cannot be told exactly"

    def __init__(self, detail: str, *, field: str = "address",
                 candidates: list[AddressCandidate] | None = None) -> None:
        self.candidates = candidates or []
        super().__init__(detail, errors=[{"loc": [field], "reason": detail}])


def place_of(*, session: Session, region_id: int, address: str | None,
             zipcode: str | None, online: Callable[[str], Geocoded | None] | None = None
             ) -> tuple[float, float]:
    """The point of a request given without coordinates: its address, found among the
    region's address points. A ZIP code alone, or an address not found exactly, is never
    used to route (PlaceNeeded)."""
    if address:
        found = geo_queries.search_address(session=session, region_id=region_id,
                                           text=" ".join(p for p in (address, zipcode) if p),
                                           online=online)
        if found.found and found.result is not None:
            return found.result.point.lon, found.result.point.lat
        raise PlaceNeeded(found.message, candidates=found.candidates)
    if zipcode:
        raise PlaceNeeded(f"A ZIP code ({zipcode}) is an area, not a place, and may cross "
                          "a member's limit: give the street address or put a pin on the map",
                          field="zipcode")
    raise PlaceNeeded("A location is required: a street address, or a pin on the map "
                      "(latitude and longitude)", field="location")


def submit_request(*, session: Session, actor: Principal, region_id: int, data: RequestIn,
                   now: datetime | None = None) -> ServiceRequest:
    """Record a request from any channel and route it to the owner at its location."""
    authorize(actor, Action.request_submit, region_id=region_id)
    if data.channel in STAFF_CHANNELS and not actor.role.is_regional and \
            not actor.role.is_jurisdictional:
        raise BadRequest(f"Only staff record {data.channel.value.replace('_', '-')} requests")
    service = queries.get_service(session=session, region_id=region_id, code=data.service_code)
    if not service.accepts_requests:
        raise BadRequest(f"{service.name!r} does not take requests; see its channels instead")
    lon, lat = data.lon, data.lat
    if (lon is None) != (lat is None):
        raise BadRequest("Give both lat and long, or neither")
    if lon is None or lat is None:
        lon, lat = place_of(session=session, region_id=region_id, address=data.address,
                            zipcode=data.zipcode)
    # A jurisdiction the submitter names settles a tie between owners of equal priority
    # (queries.AmbiguousOwner otherwise); it never overrides a clear owner (checked below).
    routing = queries.route(session=session, region_id=region_id, service=service, lon=lon,
                            lat=lat, prefer_jurisdiction_id=data.jurisdiction_id)
    if routing.jurisdiction_id is None:
        raise BadRequest(routing.reason)
    if data.jurisdiction_id is not None and data.jurisdiction_id != routing.jurisdiction_id:
        jur = {j.id: j.name for j in routing.located.jurisdictions}
        raise BadRequest(f"At this location {service.name!r} is handled by "
                         f"{jur.get(routing.jurisdiction_id)}, not jurisdiction "
                         f"{data.jurisdiction_id}")
    attrs, errors = calc.validate_attributes(service.attributes or [], data.attributes)
    if errors:
        raise ValidationFailed("Some answers about the request are missing or not valid",
                               errors=[{"loc": ["attribute", e["code"]], "reason": e["reason"]}
                                       for e in errors])
    now = now or utcnow()
    req = ServiceRequest(
        region_id=region_id, public_id=new_token(12), token=new_token(16),
        service_id=service.id, jurisdiction_id=routing.jurisdiction_id,
        status=RequestStatus.submitted.value, channel=data.channel.value,
        description=calc.plain_text(data.description), lat=lat, lon=lon,
        address=calc.plain_text(data.address, 300), address_id=data.address_id,
        zipcode=data.zipcode, attributes=attrs, media_url=data.media_url,
        contact_first_name=data.first_name, contact_last_name=data.last_name,
        contact_email=str(data.email).lower() if data.email else None,
        contact_phone=data.phone, device_id=data.device_id, account_id=data.account_id,
        recorded_by=actor.ref, requested_at=now, updated_at=now,
        expected_at=now + timedelta(days=service.target_days) if service.target_days else None)
    session.add(req)
    session.flush()
    req.public_id = calc.public_request_id(now.year, req.id)
    session.add(RequestUpdate(request_id=req.id, at=now, actor=actor.ref, kind="status",
                              to_value=RequestStatus.submitted.value,
                              note=f"Received by {data.channel.value.replace('_', '-')}",
                              public=True))
    session.flush()
    audit.record(session, actor, action="request.submit", entity="service_request",
                 entity_id=req.public_id, jurisdiction_id=req.jurisdiction_id,
                 after={"service": service.code, "channel": req.channel})
    return req


def act_on_request(*, session: Session, actor: Principal, request_id: int,
                   action: RequestAction, now: datetime | None = None) -> ServiceRequest:
    """Staff: change status, add a note, assign, forward to another member, recategorize."""
    req = queries.request_for_staff(session=session, actor=actor, request_id=request_id)
    authorize(actor, Action.request_manage, req.jurisdiction_id)
    now = now or utcnow()
    changed = False
    before = {"status": req.status, "jurisdiction_id": req.jurisdiction_id,
              "service_id": req.service_id, "assigned_to_id": req.assigned_to_id}
    if action.assign_to is not None and (action.assign_to or None) != req.assigned_to_id:
        staff = {u.id: u.full_name for u in queries.assignable_staff(
            session=session, region_id=req.region_id, jurisdiction_id=req.jurisdiction_id)}
        if action.assign_to and action.assign_to not in staff:
            raise BadRequest("Requests are assigned only to staff who can work on them (the "
                             "member's staff, or regional administrators)")
        names = queries.user_names(session=session, region_id=req.region_id)
        session.add(RequestUpdate(
            request_id=req.id, at=now, actor=actor.ref, kind="assign",
            from_value=names.get(req.assigned_to_id or 0),
            to_value=staff.get(action.assign_to) if action.assign_to else None,
            note=None, public=False))
        req.assigned_to_id = action.assign_to or None
        changed = True
    if action.duplicate_of:
        original = queries.request_by_public_id(session=session, public_id=action.duplicate_of)
        if original.id == req.id:
            raise BadRequest("A request cannot duplicate itself")
        req.duplicate_of_id = original.id
        action = action.model_copy(update={"to_status": RequestStatus.duplicate,
                                           "note": action.note or
                                           f"Same as request {original.public_id}"})
    if action.to_status is not None and action.to_status.value != req.status:
        previous = calc.REQUESTS.move(req, action.to_status)  # 409 if not allowed
        session.add(RequestUpdate(request_id=req.id, at=now, actor=actor.ref, kind="status",
                                  from_value=previous, to_value=req.status,
                                  note=action.note, public=action.public))
        req.closed_at = now if req.status in calc.CLOSED_STATES else None
        if action.public and action.note:
            req.status_notes = action.note
        changed = True
    if action.recategorize_to:
        new_service = queries.get_service(session=session, region_id=req.region_id,
                                          code=action.recategorize_to)
        if not new_service.accepts_requests:
            raise BadRequest(f"{new_service.name!r} does not take requests")
        old = session.get(Service, req.service_id)
        session.add(RequestUpdate(request_id=req.id, at=now, actor=actor.ref,
                                  kind="recategorize", from_value=old.code if old else None,
                                  to_value=new_service.code, note=action.note, public=True))
        req.service_id = new_service.id
        changed = True
    if action.forward_to_jurisdiction_id is not None and \
            action.forward_to_jurisdiction_id != req.jurisdiction_id:
        target = regions_queries.get_jurisdiction(session=session,
                                                  jurisdiction_id=action.forward_to_jurisdiction_id)
        if target.region_id != req.region_id:
            raise BadRequest("Requests can be forwarded only to members of the region")
        current = regions_queries.get_jurisdiction(session=session,
                                                   jurisdiction_id=req.jurisdiction_id)
        session.add(RequestUpdate(request_id=req.id, at=now, actor=actor.ref, kind="forward",
                                  from_value=current.name, to_value=target.name,
                                  note=action.note or "Not ours: forwarded", public=True))
        req.jurisdiction_id = target.id
        changed = True
    if not changed:
        if not action.note:
            raise BadRequest("Nothing to do: give a status, a note, an assignee, a new category "
                             "or a member to forward to")
        session.add(RequestUpdate(request_id=req.id, at=now, actor=actor.ref, kind="note",
                                  note=action.note, public=action.public))
        if action.public:
            req.status_notes = action.note
    req.updated_at = now
    session.flush()
    audit.record(session, actor, action="request.update", entity="service_request",
                 entity_id=req.public_id, jurisdiction_id=req.jurisdiction_id, before=before,
                 after={"status": req.status, "jurisdiction_id": req.jurisdiction_id,
                        "service_id": req.service_id, "assigned_to_id": req.assigned_to_id})
    return req
