"""Pages of the front office: the catalog, "what applies to me here", life-event journeys,
the request form and tracking for residents; queues, case records and phone/mail/walk-in
intake for staff."""

from __future__ import annotations

import math
import re
import secrets
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from govshare.core import forms, images, ratelimit
from govshare.core.db import utcnow
from govshare.core.errors import BadRequest, GovshareError, NotFound
from govshare.core.http import (
    allow,
    body_limit,
    csrf_protect,
    get_session,
    redirect,
    render,
    row_id,
)
from govshare.core.tenancy import Action, Principal, allows
from govshare.frontoffice import calc, queries, service
from govshare.frontoffice.models import Channel, RequestStatus, Service, ServiceRequest
from govshare.frontoffice.schemas import (
    CHANNEL_LABELS,
    LIFE_EVENTS,
    TARGET_GROUPS,
    RequestAction,
    RequestIn,
)
from govshare.geo import queries as geo_queries
from govshare.geo import service as geo_service
from govshare.regions import queries as regions_queries

RequestId = Annotated[int, row_id("request")]  # 422 naming it unless 1..MAX_ID
# The request form's input ids (request_form.html), for the error summary's links.
REQUEST_FORM_IDS = {"channel": "r-channel", "service_code": "r-service", "address": "r-address",
                    "zipcode": "r-zip", "lat": "r-lat", "lon": "r-lon",
                    "description": "r-description", "photo": "r-photo",
                    "first_name": "r-first", "last_name": "r-last", "email": "r-email",
                    "phone": "r-phone"}
router = APIRouter(include_in_schema=False)

MAX_PHOTO_BYTES = 5 * 1024 * 1024
FORM_FIELDS_BYTES = 256 * 1024  # the request form's other fields, beside its photo
SUBMISSIONS_PER_HOUR = 10


def _common() -> dict[str, Any]:
    return {"life_events": LIFE_EVENTS, "target_groups": TARGET_GROUPS,
            "status_labels": calc.STATUS_LABELS, "channel_labels": CHANNEL_LABELS,
            "open311_status": calc.open311_status}


# ------------------------------------------------------------------------------ residents


@router.get("/services")
def catalog(request: Request, q: str = Query("", max_length=100),
              event: str = Query("", max_length=40), group: str = Query("", max_length=40),
              session: Session = Depends(get_session),
              _: Principal = Depends(allow(Action.public_read))) -> Response:
    region = regions_queries.require_current_region(session=session)
    services = queries.search_services(
        session=session, region_id=region.id, q=q or None,
        life_event=event if event in LIFE_EVENTS else None,
        target_group=group if group in TARGET_GROUPS else None)
    return render(request, "frontoffice/catalog.html", {
        **_common(), "services": services, "filters": {"q": q, "event": event, "group": group},
        "providers": queries.providers(session=session, region_id=region.id),
        "journeys": queries.journeys(session=session, region_id=region.id),
    })


@router.get("/services/{service_code}")
def service_page(request: Request, service_code: str, session: Session = Depends(get_session),
                 principal: Principal = Depends(allow(Action.public_read))) -> Response:
    region = regions_queries.require_current_region(session=session)
    svc = queries.get_service(session=session, region_id=region.id, code=service_code)
    owners = [(regions_queries.get_jurisdiction(session=session, jurisdiction_id=o.jurisdiction_id),
               o.priority) for o in queries.owners(session=session, service_id=svc.id)]
    # Catalog managers see owners that tie (same priority, overlapping areas): requests
    # there cannot be routed until the priorities differ.
    manager = allows(principal, Action.catalog_manage)
    ties = queries.owner_ties(session=session, region_id=region.id, service_id=svc.id) \
        if manager else []
    return render(request, "frontoffice/service.html", {
        **_common(), "svc": svc, "owners": owners, "ties": ties, "show_priority": manager})


@router.get("/here")
def here(request: Request, address: str = Query("", max_length=300),
         zip: str = Query("", max_length=10),
         lon: str = Query("", max_length=30), lat: str = Query("", max_length=30),
         session: Session = Depends(get_session),
         _: Principal = Depends(allow(Action.public_read))) -> Response:
    """Every member serving a place and what each offers there, by member and life event.

    The place is a ZIP code or a point; a click on the page's map (``here-map.js``) fills and
    submits the same coordinate form, so the page works the same without JavaScript."""
    region = regions_queries.require_current_region(session=session)
    place, error, search = None, None, None
    try:
        located = None
        if address.strip():
            search = geo_queries.search_address(
                session=session, region_id=region.id, text=address,
                online=geo_service.online_geocoder(request.app.state.settings))
            located = search.result
        elif zip.strip():
            located = geo_queries.locate_zip(session=session, region_id=region.id, zip_code=zip)
        elif lon.strip() or lat.strip():
            try:
                x, y = float(lon), float(lat)
            except ValueError:
                raise BadRequest("Longitude and latitude must be numbers") from None
            located = geo_queries.locate(session=session, region_id=region.id, lon=x, lat=y)
        if located is not None:
            place = queries.services_at(session=session, region_id=region.id,
                                        lon=located.point.lon, lat=located.point.lat,
                                        located=located)
    except GovshareError as exc:
        error = exc.detail
    return render(request, "frontoffice/here.html", {
        **_common(), "place": place, "error": error, "search": search,
        "form": {"address": address, "zip": zip, "lon": lon, "lat": lat},
    }, status_code=400 if error else 200)


@router.get("/life-events/{life_event}")
def journey_page(request: Request, life_event: str, session: Session = Depends(get_session),
                 _: Principal = Depends(allow(Action.public_read))) -> Response:
    region = regions_queries.require_current_region(session=session)
    if life_event not in LIFE_EVENTS:
        raise NotFound("No such life event")
    try:
        journey: Any = queries.journey(session=session, region_id=region.id,
                                       life_event=life_event)
    except NotFound:
        # No step-by-step guide written for it yet: every service tagged with the life event,
        # one step each, so a link to any life event never ends in a 404.
        tagged = queries.search_services(session=session, region_id=region.id,
                                         life_event=life_event)
        journey = SimpleNamespace(
            life_event=life_event, title=LIFE_EVENTS[life_event],
            summary="The services for this life event, from every member government. No "
            "step-by-step guide has been written for it yet.", sample=False,
            steps=[{"title": s.name, "service_code": s.code, "detail": s.description}
                   for s in tagged])
    steps = []
    for step in journey.steps:
        svc = None
        owners: list[Any] = []
        if step.get("service_code"):
            try:
                svc = queries.get_service(session=session, region_id=region.id,
                                          code=step["service_code"])
                owners = [regions_queries.get_jurisdiction(
                    session=session, jurisdiction_id=o.jurisdiction_id)
                    for o in queries.owners(session=session, service_id=svc.id)]
            except NotFound:
                svc = None
        steps.append({"step": step, "svc": svc, "owners": owners})
    return render(request, "frontoffice/journey.html", {**_common(), "journey": journey,
                                                        "steps": steps})


def _request_form(request: Request, session: Session, region_id: int, code: str,
                  form: dict[str, Any], errors: list[dict[str, Any]], status_code: int = 200,
                  staff: bool = False, suggestions: list[Any] | None = None,
                  choices: list[tuple[int, str]] | None = None,
                  attrs: dict[str, list[str]] | None = None, media_url: str | None = None,
                  candidates: list[Any] | None = None) -> Response:
    services = queries.search_services(session=session, region_id=region_id,
                                       accepts_requests=True)
    svc = next((s for s in services if s.code == code), None)
    return render(request, "frontoffice/request_form.html", {
        **_common(), "services": services, "svc": svc, "form": form, "errors": errors,
        "staff": staff, "staff_channels": [Channel.phone, Channel.mail, Channel.walk_in,
                                           Channel.email],
        "suggestions": suggestions or [], "choices": choices or [], "attrs": attrs or {},
        "media_url": media_url, "candidates": candidates or [],
        "confirm_new": bool(form.get("confirm_new")),
    }, status_code=status_code)


@router.get("/requests/new")
def request_form(request: Request, service: str = Query("", max_length=64),
                 service_code: str = Query("", max_length=64),
                 session: Session = Depends(get_session),
                 _: Principal = Depends(allow(Action.request_submit))) -> Response:
    """The report form. Only the service may come in the URL (a link from its page); every
    answer and the person's details go by POST, never into a URL."""
    region = regions_queries.require_current_region(session=session)
    return _request_form(request, session, region.id, service or service_code, {}, [])


async def _read_request_form(request: Request) -> tuple[dict[str, Any], dict[str, list[str]]]:
    form = await request.form()
    values: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str)}
    attrs: dict[str, list[str]] = {}
    for key in form:
        if key.startswith("attribute[") and key.endswith("]"):
            code = key[len("attribute["):-1].removesuffix("][")
            attrs[code] = [str(v) for v in form.getlist(key) if isinstance(v, str)]
    values["_photo"] = form.get("photo")
    return values, attrs


_MEDIA = re.compile(r"^/media/[A-Za-z0-9_-]{16,40}\.(?:jpg|png|webp)$")


def _store_photo(request: Request, upload: Any) -> str | None:
    """Keep an uploaded photo under the data folder: JPEG, PNG or WebP by its content, at
    most 5 MB, re-encoded by ``core.images`` so that only pixels are published (a phone's
    photo carries the GPS position of where it was taken, often the resident's home, and the
    camera's serial number: a request's photo is public)."""
    if upload is None or not getattr(upload, "filename", ""):
        return None
    data = upload.file.read(MAX_PHOTO_BYTES + 1)
    if not data:
        return None
    try:
        photo = images.clean(data, max_bytes=MAX_PHOTO_BYTES)
    except ValueError as exc:
        raise BadRequest(f"The photo was not accepted: {exc}.") from None
    folder = Path(request.app.state.settings.data_dir) / "media"
    folder.mkdir(parents=True, exist_ok=True)
    name = secrets.token_urlsafe(16) + "." + images.EXTENSIONS[photo.content_type]
    (folder / name).write_bytes(photo.data)
    return f"/media/{name}"


def _kept_photo(request: Request, value: Any) -> str | None:
    """A photo attached on an earlier round of the same form (its /media/ path), if it is one
    of ours and still there."""
    if not isinstance(value, str) or not _MEDIA.match(value):
        return None
    path = Path(request.app.state.settings.data_dir) / "media" / value.rsplit("/", 1)[1]
    return value if path.is_file() else None


@router.post("/requests/new", dependencies=[Depends(csrf_protect)])
@body_limit("upload", max_bytes=MAX_PHOTO_BYTES + FORM_FIELDS_BYTES)
async def request_submit(request: Request, session: Session = Depends(get_session),
                         actor: Principal = Depends(allow(Action.request_submit))) -> Response:
    return await _handle_submit(request, session, actor, staff=False)


def _coordinate(text: Any, limit: float, name: str) -> float | None:
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        v = float(text)
    except ValueError:
        raise BadRequest(f"The {name} must be a number, for example "
                         f"{'47.6080' if name == 'latitude' else '-122.3351'}") from None
    if not (math.isfinite(v) and -limit <= v <= limit):
        raise BadRequest(f"The {name} must be between -{limit:g} and {limit:g}")
    return v


async def _handle_submit(request: Request, session: Session, actor: Principal, *, staff: bool
                         ) -> Response:
    """One POST for every step of the form: "show its questions" (action=questions), a
    place chosen among candidates (pick), "is it one of these?" and the submission itself.
    Each step shows the form again with every answer in it, the photo included (kept under
    the data folder and carried as its path); nothing goes into a URL."""
    region = regions_queries.require_current_region(session=session)
    values, attrs = await _read_request_form(request)
    code = str(values.get("service_code", ""))
    form = {k: v for k, v in values.items() if not k.startswith("_") and k != "media_url"}
    pick = str(values.get("pick", ""))
    if pick:
        lon_s, _, lat_s = pick.partition(",")
        form["lon"], form["lat"] = lon_s[:20], lat_s[:20]
    media: str | None = _kept_photo(request, values.get("media_url"))

    def again(errors: list[dict[str, Any]], status: int, **extra: Any) -> Response:
        return _request_form(request, session, region.id, code, form, errors, status, staff,
                             attrs=attrs, media_url=media, **extra)

    try:
        media = _store_photo(request, values.get("_photo")) or media
    except BadRequest as exc:
        return again([{"loc": ["photo"], "reason": exc.detail}], 422)
    if values.get("action") == "questions" and not pick:
        return again([], 200)
    try:
        lat = _coordinate(form.get("lat"), 90, "latitude")
        lon = _coordinate(form.get("lon"), 180, "longitude")
        if (lat is None) != (lon is None):
            raise BadRequest("Give both the latitude and the longitude, or put a pin on the "
                             "map")
        if lat is None and not staff:
            lon, lat = service.place_of(
                session=session, region_id=region.id, address=form.get("address") or None,
                zipcode=form.get("zipcode") or None,
                online=geo_service.online_geocoder(request.app.state.settings))
        svc = next((s for s in queries.search_services(session=session, region_id=region.id,
                                                       accepts_requests=True)
                    if s.code == code), None)
        if (not staff and svc is not None and lon is not None and lat is not None
                and not values.get("confirm_new")):
            nearby = queries.nearby_open(session=session, service_id=svc.id, lon=lon, lat=lat)
            if nearby:
                form["lon"], form["lat"] = f"{lon:.6f}", f"{lat:.6f}"
                return again([], 200, suggestions=nearby[:5])
    except service.PlaceNeeded as exc:
        # Said together with what else is missing, so one more round trip fixes everything.
        svc = next((s for s in queries.search_services(session=session, region_id=region.id,
                                                       accepts_requests=True)
                    if s.code == code), None)
        _, problems = calc.validate_attributes(svc.attributes or [], attrs) if svc else ([], [])
        return again([*(exc.errors or []),
                      *({"loc": ["attribute", e["code"]], "reason": e["reason"]}
                        for e in problems)], 422, candidates=exc.candidates)
    except GovshareError as exc:
        return again(exc.errors or [{"loc": ["location"], "reason": exc.detail}], 422)
    if not staff:
        client = request.client.host if request.client else "unknown"
        ratelimit.consume(session, "request-submit", client, window=timedelta(hours=1),
                          limit=SUBMISSIONS_PER_HOUR, message="Too many requests from your "
                          "connection; try again in an hour.")
        session.commit()
    try:
        chosen = str(values.get("jurisdiction_id", ""))
        data = RequestIn(
            service_code=code, lat=lat, lon=lon, address=form.get("address") or None,
            zipcode=form.get("zipcode") or None, description=form.get("description") or None,
            attributes=attrs, media_url=media,
            first_name=form.get("first_name") or None,
            last_name=form.get("last_name") or None, email=form.get("email") or None,
            phone=form.get("phone") or None,
            channel=Channel(values.get("channel", "web")) if staff else Channel.web,
            jurisdiction_id=int(chosen) if chosen.isdigit() and len(chosen) < 10 else None)
        req = service.submit_request(session=session, actor=actor, region_id=region.id,
                                     data=data)
    except ValidationError as exc:
        errors = forms.form_errors(exc, anchors=REQUEST_FORM_IDS)
        return again(errors, 422)
    except ValueError:
        return again([forms.field_error("channel", "Choose how the request was received",
                                        anchors=REQUEST_FORM_IDS)], 422)
    except service.PlaceNeeded as exc:
        return again(exc.errors or [], 422, candidates=exc.candidates)
    except queries.AmbiguousOwner as exc:
        # Owners of equal priority tie here: the person (or the staff member recording for
        # them) chooses among them, as an Open311 client does with jurisdiction_id.
        *others, last = [name for _jid, name in exc.candidates]
        names = ("both " if len(others) == 1 else "") + ", ".join(others) + " and " + last
        reason = (f"At this place {exc.service_name!r} is provided by {names}, and the "
                  "catalog does not say which one handles it. Choose one below and send "
                  "the report again.")
        return again([{"loc": [], "reason": reason}], exc.status, choices=exc.candidates)
    except GovshareError as exc:
        if exc.status == 429:
            raise
        errors = exc.errors or [{"loc": [], "reason": exc.detail}]
        return again(errors, 400 if exc.status >= 500 else exc.status)
    session.commit()
    if staff:
        return redirect(f"/staff/requests/{req.id}",
                        flash=f"Recorded request {req.public_id} "
                        f"({CHANNEL_LABELS.get(req.channel, req.channel).lower()}).")
    svc_row = session.get(Service, req.service_id)
    owner = regions_queries.get_jurisdiction(session=session, jurisdiction_id=req.jurisdiction_id)
    return render(request, "frontoffice/request_done.html", {
        **_common(), "req": req, "svc": svc_row, "owner": owner, "suggestions": [],
    }, status_code=201)


@router.get("/requests/track")
def track(request: Request, id: str = Query("", max_length=32),
          session: Session = Depends(get_session),
          _: Principal = Depends(allow(Action.public_read))) -> Response:
    """Anyone can follow a request by its id, without an account; no personal data shown."""
    req = svc = owner = None
    updates: list[Any] = []
    error = None
    if id.strip():
        try:
            req = queries.request_by_public_id(session=session, public_id=id.strip())
            svc = session.get(Service, req.service_id)
            owner = regions_queries.get_jurisdiction(session=session,
                                                     jurisdiction_id=req.jurisdiction_id)
            updates = queries.updates(session=session, request_id=req.id, public_only=True)
        except NotFound as exc:
            error = exc.detail
    return render(request, "frontoffice/track.html", {
        **_common(), "req": req, "svc": svc, "owner": owner, "updates": updates,
        "error": error, "id": id,
    }, status_code=404 if error else 200)


@router.get("/media/{name}")
def media(request: Request, name: str, _: Principal = Depends(allow(Action.public_read))
          ) -> Response:
    if not name.replace("-", "").replace("_", "").replace(".", "").isalnum() or "/" in name:
        raise NotFound("No such file")
    path = Path(request.app.state.settings.data_dir) / "media" / name
    if not path.is_file():
        raise NotFound("No such file")
    return FileResponse(path, headers={"Content-Security-Policy": "default-src 'none'",
                                       "Cache-Control": "public, max-age=86400"})


# ------------------------------------------------------------------------------ staff


@router.get("/staff/requests")
def staff_queue(request: Request, status: str = Query("", max_length=20),
                service_code: str = Query("", max_length=64),
                channel: str = Query("", max_length=20),
                jurisdiction_id: str = Query("", max_length=12),
                assigned: str = Query("", max_length=12),
                overdue: str = Query("", max_length=3),
                show: str = Query("open", max_length=10),
                session: Session = Depends(get_session),
                actor: Principal = Depends(allow(Action.request_read))) -> Response:
    """The queue: filters that fit the person (the member filter only for regional roles,
    "assigned to me"), the service-level clock of each request, and a map of them."""
    region = regions_queries.require_current_region(session=session)
    if status == "all":
        status, show = "", "all"
    me = actor.user_id or 0
    assigned_to = me if assigned == "me" else 0 if assigned == "none" else \
        int(assigned) if assigned.isdigit() and len(assigned) < 10 else None
    flt = queries.QueueFilter(
        jurisdiction_id=int(jurisdiction_id) if jurisdiction_id.isdigit()
        and len(jurisdiction_id) < 10 else None,
        status=status if status in RequestStatus.__members__ else None,
        service_code=service_code or None,
        channel=channel if channel in Channel.__members__ else None, open_only=show != "all",
        assigned_to=assigned_to, overdue_only=overdue == "on")
    rows, total = queries.queue(session=session, actor=actor, region_id=region.id, flt=flt)
    members = regions_queries.list_jurisdictions(session=session, region_id=region.id)
    names = {j.id: j.name for j in members}
    services = {s.id: s for s in queries.search_services(session=session, region_id=region.id)}
    people = queries.user_names(session=session, region_id=region.id)
    now = utcnow()
    clocks = {r.id: calc.due_state(r.expected_at, r.status, now) for r in rows}
    points = [{"id": r.public_id, "href": f"/staff/requests/{r.id}", "lon": r.lon, "lat": r.lat,
               "label": f"{r.public_id}: {services[r.service_id].name}"
               if r.service_id in services else r.public_id,
               "overdue": clocks[r.id][1]}
              for r in rows if r.lon is not None and r.lat is not None]
    return render(request, "frontoffice/queue.html", {
        **_common(), "rows": rows, "total": total, "services": services, "names": names,
        "members": members, "people": people, "clocks": clocks, "points": points,
        "overdue_count": sum(1 for c in clocks.values() if c[1]),
        "request_services": [s for s in services.values() if s.accepts_requests],
        "show_members": actor.role.is_regional,
        "filters": {"status": "all" if show == "all" and not status else status,
                    "service_code": service_code, "channel": channel,
                    "jurisdiction_id": jurisdiction_id, "assigned": assigned,
                    "overdue": overdue == "on"},
        "stats": queries.channel_stats(session=session, actor=actor, region_id=region.id),
    })


@router.get("/staff/requests/new")
def staff_intake(request: Request, service: str = Query("", max_length=64),
                 service_code: str = Query("", max_length=64),
                 session: Session = Depends(get_session),
                 _: Principal = Depends(allow(Action.request_read))) -> Response:
    region = regions_queries.require_current_region(session=session)
    return _request_form(request, session, region.id, service or service_code, {}, [],
                         staff=True)


@router.post("/staff/requests/new", dependencies=[Depends(csrf_protect)])
@body_limit("upload", max_bytes=MAX_PHOTO_BYTES + FORM_FIELDS_BYTES)
async def staff_intake_submit(request: Request, session: Session = Depends(get_session),
                              actor: Principal = Depends(allow(Action.request_read))
                              ) -> Response:
    return await _handle_submit(request, session, actor, staff=True)


def _case_page(request: Request, session: Session, actor: Principal, req: ServiceRequest,
               errors: list[dict[str, Any]], status_code: int = 200) -> Response:
    region = regions_queries.require_current_region(session=session)
    svc = session.get(Service, req.service_id)
    members = regions_queries.list_jurisdictions(session=session, region_id=region.id)
    suggestions = []
    if req.lon is not None and req.lat is not None and req.status not in calc.CLOSED_STATES:
        suggestions = queries.nearby_open(session=session, service_id=req.service_id,
                                          lon=req.lon, lat=req.lat, exclude_id=req.id)
    people = queries.user_names(session=session, region_id=region.id)
    return render(request, "frontoffice/case.html", {
        **_common(), "req": req, "svc": svc, "names": {j.id: j.name for j in members},
        "people": people, "actor_label": lambda ref: queries.actor_label(ref, people),
        "answers": calc.attribute_answers(svc.attributes or [] if svc else [],
                                          req.attributes or {}),
        "clock": calc.due_state(req.expected_at, req.status, utcnow()),
        "staff": queries.assignable_staff(session=session, region_id=region.id,
                                          jurisdiction_id=req.jurisdiction_id),
        "service_names": {s.code: s.name for s in queries.search_services(
            session=session, region_id=region.id)},
        "members": members, "errors": errors, "suggestions": suggestions,
        "updates": queries.updates(session=session, request_id=req.id, public_only=False),
        "next_statuses": calc.REQUESTS.next_states(req.status),
        "request_services": queries.search_services(session=session, region_id=region.id,
                                                    accepts_requests=True),
        "can_manage": allows(actor, Action.request_manage, req.jurisdiction_id),
    }, status_code=status_code)


@router.get("/staff/requests/{request_id}")
def staff_case(request: Request, request_id: RequestId, session: Session = Depends(get_session),
               actor: Principal = Depends(allow(Action.request_read))) -> Response:
    req = queries.request_for_staff(session=session, actor=actor, request_id=request_id)
    return _case_page(request, session, actor, req, [])


@router.post("/staff/requests/{request_id}", dependencies=[Depends(csrf_protect)])
async def staff_act(request: Request, request_id: RequestId,
                    session: Session = Depends(get_session),
                    actor: Principal = Depends(allow(Action.request_manage))) -> Response:
    form = await request.form()
    raw = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    try:
        action = RequestAction(
            to_status=raw.get("to_status") or None,
            note=raw.get("note") or None, public=raw.get("public", "") == "on",
            forward_to_jurisdiction_id=int(raw["forward_to"]) if raw.get("forward_to") else None,
            recategorize_to=raw.get("recategorize_to") or None,
            duplicate_of=raw.get("duplicate_of") or None,
            assign_to=int(raw["assign_to"]) if raw.get("assign_to", "").isdigit()
            and len(raw["assign_to"]) < 10 else None)
        req = service.act_on_request(session=session, actor=actor, request_id=request_id,
                                     action=action)
    except (ValidationError, ValueError) as exc:
        req = queries.request_for_staff(session=session, actor=actor, request_id=request_id)
        return _case_page(request, session, actor, req,
                          forms.form_errors(exc), 422)
    except GovshareError as exc:
        if exc.status == 404:
            raise
        session.rollback()
        req = queries.request_for_staff(session=session, actor=actor, request_id=request_id)
        return _case_page(request, session, actor, req, [{"loc": [], "reason": exc.detail}],
                          exc.status)
    session.commit()
    if not allows(actor, Action.request_manage, req.jurisdiction_id) or \
            not actor.role.is_regional and req.jurisdiction_id != actor.jurisdiction_id:
        return redirect("/staff/requests", flash=f"Request {req.public_id} forwarded.")
    return redirect(f"/staff/requests/{req.id}", flash=f"Request {req.public_id} updated.")
