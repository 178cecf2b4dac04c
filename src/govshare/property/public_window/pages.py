"""Pages of the public window (no sign-in) and the staff pages that answer what it receives.

Public: ``/property/public`` (a map and a searchable list of surplus, vacant and under-used
assets, each with its first published photo; in-use ones on request, to challenge their
use), ``/property/public/{asset_id}`` (an asset's published facts and photos, its proposals
without who sent them, the form), the form's POST, and the CSV and GeoJSON feeds (with the
published photos' absolute URLs). Staff: ``/property/proposals`` (the queue of the actor's
jurisdiction, every member's for regional roles), ``/property/proposals/{proposal_id}`` (full
detail with history) and its decision form.

Public templates get :class:`~govshare.property.public.Listed` and ``ProposalPublic`` only —
never an ``Asset`` or ``Proposal`` row — so a private field cannot be rendered by mistake. See
``property.public`` for the rules the JSON API shares.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from govshare.core import forms
from govshare.core.db import utcnow
from govshare.core.errors import BadRequest, GovshareError, NotFound, RateLimited
from govshare.core.formats import money as dollars
from govshare.core.formats import number
from govshare.core.http import (
    allow,
    csrf_protect,
    get_session,
    image_response,
    redirect,
    render,
    row_id,
)
from govshare.core.paging import PageParams
from govshare.core.phones import tel_uri
from govshare.core.tenancy import Action, Principal, allows
from govshare.property import queries, service
from govshare.property.calc import acres_in_ft2
from govshare.property.models import AssetUse, ProposalStatus
from govshare.property.public_window import service as public
from govshare.property.schemas import (
    PROPOSAL_STATUS_LABELS,
    PROPOSALS,
    STATUS_LABELS,
    USE_LABELS,
    ProposalDecision,
    ProposalIn,
    ProposalPublic,
    ProposalRead,
)
from govshare.regions import queries as regions_queries

log = logging.getLogger("govshare.property.public")
router = APIRouter(include_in_schema=False)

AssetId = Annotated[int, row_id("asset")]
ProposalId = Annotated[int, row_id("proposal")]
PhotoId = Annotated[int, row_id("photo")]
PAGE_SIZE = 50
CSV_TYPE = "text/csv; charset=utf-8"
GEOJSON_TYPE = "application/geo+json"
FEED_CACHE = "public, max-age=300"
# A published photo may be stored by browsers and proxies but is checked with the site before
# each use (its ETag: a digest of its bytes; an unchanged photo costs a 304): removing it, or
# unpublishing the asset's photos, takes effect at once. It was an hour's max-age before.
PHOTO_CACHE = "public, no-cache"
CONTACT_FIELDS = ("contact_name", "contact_email", "contact_phone")

KIND_LABELS = {"proposal": "Proposal", "challenge": "Challenge"}
# What each status means, in the words the window uses.
STATUS_MEANINGS = {
    "surplus": "The owner has decided it no longer needs the property for its public purpose. "
               "It may be sold, leased or transferred. Proposals for its use are welcome.",
    "vacant": "Nobody uses the property now and its future is not decided. Proposals are "
              "welcome.",
    "under_used": "In use, but far below its capacity: part of it could serve someone else. "
                  "Proposals are welcome.",
    "in_use": "Used for its public purpose. If you think it would serve the public better in "
              "another way, you may challenge its current use; the owner must answer in public.",
}
FORM_FIELDS = {"proposed_use": "Proposed use", "description": "Description", "name": "Your name",
               "organization": "Organization", "contact_email": "E-mail address",
               "kind": "Kind"}


def _num(unit: str, digits: int = 0) -> Callable[[Any], str]:
    return lambda v: number(v, digits, unit)


# Published facts in display order: field, label, formatter. Identity, status and location
# coordinates are shown elsewhere on the page.
FACTS: tuple[tuple[str, str, Callable[[Any], str]], ...] = (
    ("kind", "Kind", lambda v: str(v).capitalize()),
    ("pm_property_type", "Property type (ENERGY STAR Portfolio Manager)", str),
    ("address", "Address", str),
    ("city", "City", str),
    ("zip", "ZIP code", str),
    ("gross_floor_area_ft2", "Gross floor area", _num("ft²")),
    ("land_area_acres", "Site area", lambda v: f"{number(v, 2, 'acres')} "
                                               f"({number(acres_in_ft2(v), 0, 'ft²')})"),
    ("zoning", "Zoning", str),
    ("year_built", "Year built", str),
    ("capacity", "Capacity", _num("people")),
    ("occupancy", "Occupancy", _num("people")),
    ("repair_needs_cents", "Repair needs", dollars),
    ("replacement_value_cents", "Replacement value", dollars),
    ("ownership", "Ownership", lambda v: str(v).capitalize()),
    ("annual_lease_cost_cents", "Lease cost per year", dollars),
    ("annual_om_cost_cents", "Operating and maintenance cost per year", dollars),
    ("annual_energy_cost_cents", "Energy cost per year", dollars),
    ("energy_year", "Energy figures for", str),
    ("electricity_kwh", "Electricity per year", _num("kWh")),
    ("natural_gas_therms", "Natural gas per year", _num("therms")),
    ("district_steam_kbtu", "District steam per year", _num("kBtu")),
    ("fuel_oil_gallons", "Fuel oil per year", _num("gallons")),
    ("propane_gallons", "Propane per year", _num("gallons")),
)


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


# ------------------------------------------------------------------------------ the window


def _filters(q: str, use: str, status: str, in_use: str) -> dict[str, Any]:
    include_in_use = in_use in ("1", "on", "true") or status == "in_use"
    allowed = public.WINDOW_STATUSES + (("in_use",) if include_in_use else ())
    return {"q": q.strip(), "use": use if use in AssetUse.__members__ else "",
            "status": status if status in allowed else "", "in_use": include_in_use}


def _args(f: dict[str, Any]) -> dict[str, Any]:
    """The filters as ``public.listing`` and ``public.counts`` take them."""
    return {"q": f["q"] or None, "use": f["use"] or None, "status": f["status"] or None,
            "include_in_use": f["in_use"]}


def _listing(session: Session, f: dict[str, Any]) -> list[public.Listed]:
    """Every match, with its photos (the feeds list them all)."""
    region = regions_queries.require_current_region(session=session)
    items, _total = public.listing(session=session, region_id=region.id, **_args(f))
    return items


def _query(f: dict[str, Any], **extra: Any) -> str:
    params = {"q": f["q"], "use": f["use"], "status": f["status"],
              "in_use": "1" if f["in_use"] else "", **extra}
    return urlencode({k: v for k, v in params.items() if v})


@router.get("/property/public")
def window(
    request: Request,
    q: str = Query("", max_length=100), use: str = Query("", max_length=40),
    status: str = Query("", max_length=40), in_use: str = Query("", max_length=5),
    page: int = Query(1, ge=1, le=10_000),
    session: Session = Depends(get_session),
    _: Principal = Depends(allow(Action.public_read)),
) -> Response:
    f = _filters(q, use, status, in_use)
    region = regions_queries.require_current_region(session=session)
    # Counted in SQL; the rows and photos read are the PAGE_SIZE it shows, not every match.
    counts = public.counts(session=session, region_id=region.id, **_args(f))
    pages = max(1, -(-counts.total // PAGE_SIZE))
    page = min(page, pages)
    items, _total = public.listing(session=session, region_id=region.id, **_args(f),
                                   page=PageParams(PAGE_SIZE, (page - 1) * PAGE_SIZE),
                                   with_photos=False, total=counts.total)
    shown = public.with_photos(session=session, items=items)
    statuses = public.WINDOW_STATUSES + (("in_use",) if f["in_use"] else ())
    return render(request, "property/public_window.html", {
        "region": region, "items": shown, "total": counts.total, "page": page,
        "pages": pages, "filters": f, "query": _query(f),
        "prev_query": _query(f, page=page - 1) if page > 1 else None,
        "next_query": _query(f, page=page + 1) if page < pages else None,
        "toggle_query": _query({**f, "in_use": not f["in_use"],
                                "status": "" if f["status"] == "in_use" else f["status"]}),
        "located": counts.located,
        "uses": USE_LABELS, "statuses": {s: STATUS_LABELS[s] for s in statuses},
        "status_labels": STATUS_LABELS, "meanings": STATUS_MEANINGS,
        "proposal_statuses": PROPOSAL_STATUS_LABELS,
    })


@router.get("/property/public.csv")
def window_csv(
    request: Request,
    q: str = Query("", max_length=100), use: str = Query("", max_length=40),
    status: str = Query("", max_length=40), in_use: str = Query("", max_length=5),
    session: Session = Depends(get_session),
    _: Principal = Depends(allow(Action.public_read)),
) -> Response:
    items = _listing(session, _filters(q, use, status, in_use))
    return Response(public.csv_feed(items, _base_url(request)), media_type=CSV_TYPE, headers={
        "Content-Disposition": 'attachment; filename="public-property.csv"',
        "Cache-Control": FEED_CACHE})


@router.get("/property/public.geojson")
def window_geojson(
    request: Request,
    q: str = Query("", max_length=100), use: str = Query("", max_length=40),
    status: str = Query("", max_length=40), in_use: str = Query("", max_length=5),
    session: Session = Depends(get_session),
    _: Principal = Depends(allow(Action.public_read)),
) -> Response:
    items = _listing(session, _filters(q, use, status, in_use))
    return Response(public.geojson_feed(items, _base_url(request)), media_type=GEOJSON_TYPE,
                    headers={"Cache-Control": FEED_CACHE})


# ------------------------------------------------------------------------------ an asset


def _facts(item: public.Listed) -> list[dict[str, Any]]:
    out = []
    for name, label, fmt in FACTS:
        value = item.get(name)
        if name in item.view.fields and value is not None and value != "":
            out.append({"label": label, "value": fmt(value),
                        "synthetic": name in item.synthetic})
    return out


def _asset_page(request: Request, session: Session, asset_id: int, *,
                form: dict[str, str] | None = None, errors: list[dict[str, Any]] | None = None,
                status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    item = public.get(session=session, asset_id=asset_id)
    proposals = public.proposals(session=session, asset_id=asset_id)
    located = item.get("lon") is not None and item.get("lat") is not None
    region = regions_queries.require_current_region(session=session)
    contact = {f: item.get(f) for f in CONTACT_FIELDS if item.get(f)}
    response = render(request, "property/public_asset.html", {
        "item": item, "facts": _facts(item), "open_for": public.open_for(item),
        "deadline": public.deadline(item, region.time_zone, utcnow()),
        "contact": contact, "photos": item.view.photos,
        "tel": tel_uri(contact["contact_phone"]) if "contact_phone" in contact else None,
        "contact_synthetic": bool(item.synthetic & set(CONTACT_FIELDS)),
        "located": located,
        "feature": public.feature(item, "") if located else None,
        "proposals": proposals, "refs": {p.id: public.reference(p.id) for p in proposals},
        "history": {p.id: public.public_history(session=session, proposal_id=p.id)
                    for p in proposals},
        "uses": USE_LABELS, "status_labels": STATUS_LABELS, "meanings": STATUS_MEANINGS,
        "proposal_statuses": PROPOSAL_STATUS_LABELS, "kinds": KIND_LABELS,
        "form": form or {}, "errors": errors or [],
    }, status_code=status_code)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    if form:
        response.headers["Cache-Control"] = "no-store"  # it echoes the sender's own input
    return response


@router.get("/property/public/{asset_id}/photos/{photo_id}")
def public_photo(request: Request, asset_id: AssetId, photo_id: PhotoId,
                 session: Session = Depends(get_session),
                 _: Principal = Depends(allow(Action.public_read))) -> Response:
    """A photo of an asset that publishes its photos, as re-encoded on upload; 404 otherwise
    (nothing cacheable is said about a photo that is not public). Revalidated on every use
    (PHOTO_CACHE): a copy whose ETag still matches gets 304 without the bytes.
    ``X-Content-Type-Options: nosniff`` is on every response (``core.http.Envelope``)."""
    photo = public.photo(session=session, asset_id=asset_id, photo_id=photo_id)
    return image_response(request, lambda: queries.photo_bytes(photo), photo.content_type,
                          cache_control=PHOTO_CACHE, etag=queries.photo_etag(photo))


@router.get("/property/public/{asset_id}/photos/{photo_id}/thumb")
def public_photo_thumbnail(request: Request, asset_id: AssetId, photo_id: PhotoId,
                           session: Session = Depends(get_session),
                           _: Principal = Depends(allow(Action.public_read))) -> Response:
    """The photo's thumbnail (``core.images.THUMB_SIDE`` on its longer side) for where it is
    shown small, under the photo's rules: 404 unless the asset publishes its photos, its own
    ETag, revalidated on every use. A photo without one (small already, or stored before
    thumbnails were made) is served itself."""
    photo = public.photo(session=session, asset_id=asset_id, photo_id=photo_id)
    return image_response(request, lambda: queries.photo_bytes(photo, thumbnail=True),
                          photo.content_type, cache_control=PHOTO_CACHE,
                          etag=queries.photo_etag(photo, thumbnail=True))


@router.get("/property/proposal-status")
def proposal_status(request: Request, reference: str = Query("", max_length=40),
                    session: Session = Depends(get_session),
                    _: Principal = Depends(allow(Action.public_read))) -> Response:
    """Look up a proposal or challenge by the reference its sender was given: the asset's
    public page, at its row (status, dates and the owner's answer; never the sender's
    details). Without a reference, or with one that names nothing public, the form."""
    error = None
    if reference.strip():
        try:
            asset_id, ref = public.tracked(session=session, typed=reference)
            return redirect(f"/property/public/{asset_id}#{ref}")
        except NotFound:
            error = (f"No proposal has the reference {reference.strip()!r}. It is on your "
                     "confirmation page and looks like P-000123.")
    return render(request, "property/proposal_status.html", {
        "reference": reference, "error": error}, status_code=404 if error else 200)


@router.get("/property/public/{asset_id}")
def asset_page(request: Request, asset_id: AssetId,
               session: Session = Depends(get_session),
               _: Principal = Depends(allow(Action.public_read))) -> Response:
    return _asset_page(request, session, asset_id)


def _errors(exc: Exception) -> list[dict[str, Any]]:
    return forms.form_errors(exc, labels=FORM_FIELDS)  # core.forms


@router.post("/property/public/{asset_id}/proposals", dependencies=[Depends(csrf_protect)])
def submit(
    request: Request, asset_id: AssetId,
    kind: str = Form("proposal"), name: str = Form(""), organization: str = Form(""),
    contact_email: str = Form(""), proposed_use: str = Form(""), description: str = Form(""),
    website: str = Form(""),
    session: Session = Depends(get_session),
    actor: Principal = Depends(allow(Action.proposal_submit)),
) -> Response:
    """Store a proposal or challenge and answer with its reference number.

    ``website`` is the honeypot: people are told to leave it empty. When it is filled the
    answer looks the same (with a made-up reference) and nothing is stored.
    """
    item = public.get(session=session, asset_id=asset_id)  # 404 before anything else
    form = {"kind": kind, "name": name, "organization": organization,
            "contact_email": contact_email, "proposed_use": proposed_use,
            "description": description}
    client = _client(request)
    try:
        if website.strip():
            public.honeypot(session=session, client=client)
            session.commit()
            log.info("honeypot filled", extra={"asset_id": asset_id})
            ref = public.reference(100_000 + secrets.randbelow(900_000))
            return _confirmation(request, item, kind, ref)
        data = ProposalIn(kind=kind, name=name,
                          organization=organization.strip() or None,
                          contact_email=contact_email, proposed_use=proposed_use,
                          description=description)
        proposal = public.submit(session=session, actor=actor, asset_id=asset_id, data=data,
                                 client=client)
    except ValidationError as exc:
        return _asset_page(request, session, asset_id, form=form, errors=_errors(exc),
                           status_code=422)
    except RateLimited as exc:
        return _asset_page(request, session, asset_id, form=form, errors=_errors(exc),
                           status_code=429, headers={"Retry-After": str(exc.retry_after)})
    except GovshareError as exc:
        if exc.status == 404:
            raise
        session.rollback()
        return _asset_page(request, session, asset_id, form=form, errors=_errors(exc),
                           status_code=exc.status)
    session.commit()
    return _confirmation(request, item, proposal.kind, public.reference(proposal.id))


def _confirmation(request: Request, item: public.Listed, kind: str, ref: str) -> Response:
    response = render(request, "property/public_confirmation.html", {
        "item": item, "kind": kind if kind in KIND_LABELS else "proposal", "ref": ref,
        "proposal_statuses": PROPOSAL_STATUS_LABELS,
    }, status_code=201)
    response.headers["Cache-Control"] = "no-store"
    return response


# ------------------------------------------------------------------------------ staff


QUEUE_VIEWS = {"open": ("received", "under_review"), "received": ("received",),
               "under_review": ("under_review",), "accepted": ("accepted",),
               "declined": ("declined",), "all": ()}


@router.get("/property/proposals")
def queue(
    request: Request, show: str = Query("open", max_length=20),
    kind: str = Query("", max_length=20),
    session: Session = Depends(get_session),
    actor: Principal = Depends(allow(Action.property_read)),
) -> Response:
    show = show if show in QUEUE_VIEWS else "open"
    kind = kind if kind in KIND_LABELS else ""
    rows, total = queries.proposal_queue(session=session, actor=actor,
                                         statuses=QUEUE_VIEWS[show], kind=kind or None,
                                         page=PageParams(500))
    region = regions_queries.require_current_region(session=session)
    names = {j.id: j.name for j in regions_queries.list_jurisdictions(
        session=session, region_id=region.id)}
    return render(request, "property/proposals.html", {
        "rows": [(ProposalRead.model_validate(p), a.name, names.get(a.jurisdiction_id, "?"))
                 for p, a in rows],
        "total": total, "show": show, "kind": kind, "views": QUEUE_VIEWS,
        "refs": {p.id: public.reference(p.id) for p, _a in rows},
        "proposal_statuses": PROPOSAL_STATUS_LABELS, "kinds": KIND_LABELS,
        "whose": "every member's" if actor.role.is_regional else "your jurisdiction's",
    })


def _proposal_page(request: Request, session: Session, actor: Principal, proposal_id: int, *,
                   form: dict[str, str] | None = None,
                   errors: list[dict[str, Any]] | None = None,
                   status_code: int = 200) -> Response:
    """Owner's staff and regional roles see everything; other members' staff see what the
    public sees (the registry shows them other members' public rows the same way)."""
    try:
        row = queries.get_proposal(session=session, actor=actor, proposal_id=proposal_id)
        full = True
    except NotFound:
        row = queries.get_public_proposal(session=session, proposal_id=proposal_id)
        full = False
    asset = public.get(session=session, asset_id=row.asset_id) if not full else None
    if full:
        asset_name = queries.get_asset(session=session, actor=actor, asset_id=row.asset_id).name
    else:
        asset_name = asset.get("name") if asset else "?"
    proposal: ProposalPublic = (ProposalRead.model_validate(row) if full
                                else ProposalPublic.model_validate(row))
    history = (queries.proposal_history(session=session, proposal_id=row.id) if full
               else public.public_history(session=session, proposal_id=row.id))
    current = ProposalStatus(row.status)
    can_decide = full and allows(actor, Action.property_manage, row.jurisdiction_id)
    return render(request, "property/proposal.html", {
        "p": proposal, "full": full, "ref": public.reference(row.id), "asset_name": asset_name,
        "jurisdiction": regions_queries.get_jurisdiction(
            session=session, jurisdiction_id=row.jurisdiction_id).name,
        "history": history, "can_decide": can_decide,
        "next_statuses": PROPOSALS.next_states(current),  # in workflow order
        "proposal_statuses": PROPOSAL_STATUS_LABELS, "kinds": KIND_LABELS,
        "form": form or {}, "errors": errors or [],
    }, status_code=status_code)


@router.get("/property/proposals/{proposal_id}")
def proposal_page(request: Request, proposal_id: ProposalId,
                  session: Session = Depends(get_session),
                  actor: Principal = Depends(allow(Action.property_read))) -> Response:
    return _proposal_page(request, session, actor, proposal_id)


@router.post("/property/proposals/{proposal_id}/decide", dependencies=[Depends(csrf_protect)])
def decide(
    request: Request, proposal_id: ProposalId,
    to_status: str = Form(""), public_reason: str = Form(""), note: str = Form(""),
    session: Session = Depends(get_session),
    actor: Principal = Depends(allow(Action.property_manage)),
) -> Response:
    form = {"to_status": to_status, "public_reason": public_reason, "note": note}
    try:
        if to_status not in ProposalStatus.__members__:
            raise BadRequest("Choose the new status")
        data = ProposalDecision(to_status=ProposalStatus(to_status),
                                public_reason=public_reason.strip() or None,
                                note=note.strip() or None)
        proposal = service.decide_proposal(session=session, actor=actor,
                                           proposal_id=proposal_id, data=data)
    except ValidationError as exc:
        return _proposal_page(request, session, actor, proposal_id, form=form,
                              errors=_errors(exc), status_code=422)
    except GovshareError as exc:
        if exc.status == 404:
            raise
        session.rollback()
        return _proposal_page(request, session, actor, proposal_id, form=form,
                              errors=_errors(exc), status_code=exc.status)
    session.commit()
    return redirect(f"/property/proposals/{proposal.id}",
                    flash=f"{public.reference(proposal.id)} is now "
                          f"{PROPOSAL_STATUS_LABELS[proposal.status].lower()}.")
