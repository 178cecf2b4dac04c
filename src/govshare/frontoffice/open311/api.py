"""Open311 GeoReport v2 at ``/open311/v2``: one endpoint for every member of the region.

Resources (each ends in ``.xml`` or ``.json``; http://wiki.open311.org/GeoReport_v2):

- ``discovery``                  service discovery (changeset, contact, key_service, endpoints)
- ``services``                   request services (information-only ones are not listed)
- ``services/{service_code}``    a service definition with its attributes
- ``requests`` POST              submit a request (API key required), form-encoded
- ``tokens/{token}``             the id of a request from its token
- ``requests`` GET               search requests (extensions: page, page_size, extensions)
- ``requests/{service_request_id}``  one request, as a list of one
- ``servicerequestupdates``      feed of public updates (the widely used extension)

Decisions, and why:

- **jurisdiction_id** is optional everywhere. It may be the region's slug (the whole region,
  the same as leaving it out) or a member's id (a filter on reads: that member's services and
  requests). Anything else is 404, as the spec says for an unknown jurisdiction. A POST
  goes to the member that owns the service at the point (``frontoffice.queries.route``:
  owners are ordered by priority). Where two owners tie at that point, the spec's rule
  applies — ``jurisdiction_id`` is required where ambiguous: it must name one of them,
  otherwise 400 naming them. If the client names a member where there is no tie, it must be
  the owner — otherwise 400 naming the owner, rather than a request silently sent where the
  client did not expect it.
- **Read cache**: GET answers are public and the same for everyone, so each process keeps
  the rendered bytes while the ``open311`` change counter is unchanged (``cached_read``,
  ``core.changes``, ADR 0008), with a strong ``ETag`` (304 on ``If-None-Match``).
- **API key** on POST: the spec's ``api_key`` parameter (form or query) or our own
  ``Authorization: Bearer`` / ``X-API-Key``; ``api_key`` wins when both are sent. A missing,
  unknown or revoked key is 403 (the spec's code; our own API says 401). Reads need no key.
- **Formats**: ``xml`` and ``json`` only. Any other suffix names a resource that does not exist:
  404, with the error document in XML (the one format every GeoReport client must read).
  XML is ``text/xml; charset=utf-8`` (the spec's type); JSON is ``application/json``.
- **Errors** are always the spec's list of ``{code, description}`` in the requested format,
  never problem+json: this router's route class renders every exception raised while a route
  runs (policy, validation, services), and a catch-all route answers unknown resources (404)
  and wrong methods (405). ``code`` is the HTTP status; one entry per problem, each naming
  the parameter (``attribute[size]: ...``). 404 for what does not exist, 403 for keys, 400
  for everything else the client must fix (our 422s included), 5xx for our faults.
- **Strict input**: date-times must be ISO 8601 with a zone; a '+' offset sent unencoded in a
  query string (read as a space) gets a 400 that says so. A parameter given twice is refused
  unless the spec allows lists (``service_request_id``, ``service_code``, ``status``).
  Unknown parameters are ignored (clients add their own), empty ones count as absent (the
  spec's "optional argument" rule). ``address_string`` is found among the region's address
  points (``geo.queries.search_address``); one that is not found, or could be several places,
  is refused (send lat/long), never routed on a guess, and a ZIP code never locates a request
  alone. ``address_id`` alone cannot be resolved (there is no master address repository here).
- **POST response**: ``service_request_id`` at once (type ``realtime``) and, although the spec
  says a server returns one or the other, also the ``token``: clients built for batch servers
  then work unchanged, and the token stays private to the submitter.
- **Privacy**: request documents are built from public columns only; contact details (name,
  email, phone, device_id, account_id) never appear in any GET.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Iterable
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute
from pydantic import ValidationError
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from govshare.core import ratelimit
from govshare.core.changes import (
    OPEN311,
    VERSION_STATE,
    Cached,
    ResponseCache,
    cache_key,
    etag_for,
    response_headers,
)
from govshare.core.db import utcnow
from govshare.core.errors import (
    BadRequest,
    Forbidden,
    GovshareError,
    NotAuthenticated,
    NotFound,
    RateLimited,
)
from govshare.core.http import allow, get_session
from govshare.core.tenancy import Action, Principal
from govshare.frontoffice import calc, service
from govshare.frontoffice.open311 import format as fmt
from govshare.frontoffice.open311 import params
from govshare.frontoffice.open311 import queries as q
from govshare.frontoffice.schemas import Channel, RequestIn
from govshare.regions import service as regions_service

log = logging.getLogger("govshare.open311")

PREFIX = "/open311/v2"
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"


# --------------------------------------------------------------------------- errors


# Our schema's field names -> the spec's parameter names, for error messages.
FIELD_PARAMS = {"lon": "long", "lat": "lat", "address": "address_string",
                "attributes": "attribute", "service_code": "service_code"}


def _loc_name(loc: Iterable[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    if len(parts) >= 2 and parts[0] == "attribute":
        return f"attribute[{parts[1]}]"
    if not parts:
        return "request"
    return FIELD_PARAMS.get(parts[0], parts[0])


def _problems(exc: Exception) -> tuple[int, list[tuple[int, str]], dict[str, str]]:
    """HTTP status, the spec's error entries and headers for any exception."""
    headers: dict[str, str] = {}
    if isinstance(exc, GovshareError):
        status = exc.status
        if isinstance(exc, NotAuthenticated | Forbidden):
            status = 403  # the spec: 403 for a wrong or missing api_key
        elif isinstance(exc, RateLimited):
            headers["Retry-After"] = str(exc.retry_after)
        elif 400 <= status < 500 and status not in (403, 404, 429):
            status = 400  # the spec: "basically 400 for any other error"
        entries = [(status, f"{_loc_name(e.get('loc', ()))}: {e.get('reason', '')}")
                   for e in exc.errors] or [(status, exc.detail)]
        return status, entries, headers
    if isinstance(exc, RequestValidationError):
        return 400, [(400, f"{_loc_name(e.get('loc', ()))}: {e.get('msg', 'not valid')}")
                     for e in exc.errors()] or [(400, "The request is not valid")], headers
    if isinstance(exc, StarletteHTTPException):
        headers.update(exc.headers or {})
        return exc.status_code, [(exc.status_code, str(exc.detail))], headers
    if isinstance(exc, OverflowError | DataError):
        # A value the database refused that no edge check caught: still the client's input.
        log.warning("open311: value refused by the database", exc_info=exc)
        return 400, [(400, "A value in the request is not valid for its field")], headers
    log.exception("open311 handler failed")
    return 500, [(500, "Something went wrong on our side. The error has been logged.")], {}


def error_format(request: Request) -> str:
    """The format an error is written in: the one asked for, else XML (always supported)."""
    asked = request.path_params.get("response_format")
    if asked in fmt.FORMATS:
        return str(asked)
    return "json" if request.url.path.endswith(".json") else "xml"


def error_response(request: Request, exc: Exception) -> Response:
    status, entries, headers = _problems(exc)
    body, media = fmt.errors(error_format(request), entries)
    return Response(body, status_code=status, media_type=media, headers=headers or None)


class Open311Route(APIRoute):
    """Every exception raised while an Open311 route runs — in the policy dependency, in
    parameter validation or in a service — leaves in the spec's error shape."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:
                return error_response(request, exc)

        return guarded


router = APIRouter(prefix=PREFIX, tags=["open311"], route_class=Open311Route)


# --------------------------------------------------------------------------- parameters


FORMAT = Path(description="Response format: `xml` or `json`; any other is 404.",
              json_schema_extra={"enum": list(fmt.FORMATS)})


def check_format(response_format: str) -> str:
    if response_format not in fmt.FORMATS:
        raise NotFound(f"Format {response_format[:20]!r} is not served: use .xml or .json")
    return response_format


def respond(response_format: str, root: str, document: Any, status: int = 200) -> Response:
    body, media = fmt.render(response_format, root, document)
    return Response(body, status_code=status, media_type=media)


MAX_AGE_S = 60.0  # a default window ("the last 90 days") moves: answers age out within this


async def cached_read(request: Request, compute: Callable[[Session], Response], *,
                      moves_with_time: bool = False) -> Response:
    """Answer a public read from the response cache while the ``open311`` change counter is
    unchanged, else compute it in a worker thread with its own session and keep it.

    Reads are public and the same for every client, so the cache is keyed by the URL alone
    (``core.changes.cache_key``: scheme, host, path and query as sent); anonymous hits are
    usually answered before routing, by ``core.changes.CachedReads``, and come here only
    when they carry credentials. Every answer carries a strong ``ETag``; a client sending it
    back in ``If-None-Match`` gets 304 with no body. Errors are never cached. Answers whose
    default date window ends "now" are kept at most :data:`MAX_AGE_S`, so a request that
    leaves the 90-day window leaves the answer within a minute even if nothing changes.
    """
    cache: ResponseCache | None = request.app.state.open311_cache
    version: int | None = None
    if cache is not None:
        version = request.scope.get("state", {}).get(VERSION_STATE)  # read by CachedReads
        if version is None:
            version = await request.app.state.change_versions.read(OPEN311)
    key = cache_key(request.scope)
    computed: Response | None = None

    async def compute_entry() -> Cached | None:
        nonlocal computed
        computed = await run_in_threadpool(_in_session, request, compute)
        if computed.status_code != 200:
            return None  # errors are answered, never kept
        body, media = bytes(computed.body), computed.media_type or ""
        if cache is None or version is None:
            return Cached(version=-1, body=body, media_type=media, etag=etag_for(body))
        return cache.put(key, version, body, media, MAX_AGE_S if moves_with_time else None)

    if cache is None or version is None:
        entry = await compute_entry()
    else:
        entry = cache.get(key, version) or await cache.compute_once(key, version,
                                                                    compute_entry)
    if entry is None:
        assert computed is not None
        return computed
    with_body = entry.etag not in request.headers.get("if-none-match", "")
    return Response(entry.body if with_body else b"", status_code=200 if with_body else 304,
                    headers={k.decode(): v.decode("latin-1") for k, v in
                             response_headers(entry, with_body=with_body)})


def _in_session(request: Request, compute: Callable[[Session], Response]) -> Response:
    session: Session = request.app.state.session_factory()
    try:
        return compute(session)
    finally:
        session.rollback()
        session.close()


def _scope(request: Request, session: Session, p: params.Params) -> q.Scope:
    cache = getattr(request.app.state, "open311_scopes", None)
    if cache is None:
        cache = request.app.state.open311_scopes = q.ScopeCache()
    return q.scope(session=session, jurisdiction_ref=p.one("jurisdiction_id"), cache=cache)


def _notice(agency: str | None) -> str | None:
    return f"Sent to {agency}, which handles this service at this location." if agency else None


# --------------------------------------------------------------------------- discovery, services


@router.get("/discovery.{response_format}", summary="Service discovery")
async def discovery(request: Request, response_format: str = FORMAT,
                    _: Principal = Depends(allow(Action.public_read))) -> Response:
    """Where the endpoint is, what it speaks, whom to ask for a key."""
    f = check_format(response_format)
    return await cached_read(request, lambda session: _discovery(request, session, f))


def _discovery(request: Request, session: Session, f: str) -> Response:
    scope = _scope(request, session, params.query_params(request))
    changed = fmt.iso(q.changeset(session=session, region_id=scope.region_id) or utcnow())
    base = str(request.base_url).rstrip("/")
    return respond(f, "discovery", {
        "changeset": changed,
        "contact": f"{scope.region_name} shared services office: {base}/",
        "key_service": "API keys are issued by the regional office or a member's "
                       f"administrator (Admin, API keys: {base}/admin/apikeys); an app "
                       "needs the Open311 client role (submit and read only).",
        "endpoints": [{"specification": SPECIFICATION, "url": f"{base}{PREFIX}",
                       "changeset": changed, "type": "production",
                       "formats": ["text/xml", "application/json"]}],
    })


@router.get("/services.{response_format}", summary="Service list")
async def services(request: Request, response_format: str = FORMAT,
                   _: Principal = Depends(allow(Action.public_read))) -> Response:
    """Services that take requests; ``jurisdiction_id`` (a member's id) narrows to its own."""
    f = check_format(response_format)
    return await cached_read(request, lambda session: _services(request, session, f))


def _services(request: Request, session: Session, f: str) -> Response:
    scope = _scope(request, session, params.query_params(request))
    rows = q.request_services(session=session, region_id=scope.region_id,
                              member_id=scope.member_id)
    return respond(f, "services", [
        fmt.service_entry(code=s.code, name=s.name, description=s.description,
                          has_attributes=bool(s.attributes), keywords=s.keywords,
                          group=s.group) for s in rows])


@router.get("/services/{service_code}.{response_format}", summary="Service definition")
async def service_definition(request: Request, service_code: str,
                             response_format: str = FORMAT,
                             _: Principal = Depends(allow(Action.public_read))) -> Response:
    """The attributes a request for this service carries. 404 for an unknown code."""
    f = check_format(response_format)
    return await cached_read(
        request, lambda session: _service_definition(request, session, f, service_code))


def _service_definition(request: Request, session: Session, f: str, service_code: str
                        ) -> Response:
    p = params.query_params(request)
    scope = _scope(request, session, p)
    s = q.request_service(session=session, region_id=scope.region_id,
                          member_id=scope.member_id, code=service_code
                          ) if calc.SERVICE_CODE.match(service_code) else None
    if s is None:
        raise NotFound(f"service_code {service_code[:64]!r} was not found")
    return respond(f, "service_definition", fmt.service_definition(s.code, s.attributes or []))


# --------------------------------------------------------------------------- POST a request

POST_FIELDS: dict[str, str] = {
    "api_key": "Your API key (also accepted as `Authorization: Bearer`).",
    "jurisdiction_id": "Optional: the region's slug or a member's id; if a member, it must "
                       "be the one that handles the service at the location.",
    "service_code": "Required: from services.{format}.",
    "lat": "Latitude (WGS84), with long.",
    "long": "Longitude (WGS84), with lat.",
    "address_string": "A street address, found among the region's address points.",
    "address_id": "An address id of yours; stored, not used to locate.",
    "zipcode": "Extension: the ZIP code of the address (narrows the address's match; never "
               "locates a request alone).",
    "email": "Contact e-mail (never published).",
    "device_id": "Device id (never published).",
    "account_id": "Your account id for the submitter (never published).",
    "first_name": "Contact given name (never published).",
    "last_name": "Contact family name (never published).",
    "phone": "Contact phone (never published): a US number with its area code, or + and a "
             "country code; stored as (206) 555-0100 or +44 20 7946 0000.",
    "description": "Plain text, up to 4,000 characters (HTML is removed).",
    "media_url": "An http(s) URL of a photo or other media.",
}
POST_OPENAPI: dict[str, Any] = {"requestBody": {"required": True, "content": {
    "application/x-www-form-urlencoded": {"schema": {
        "type": "object", "required": ["service_code"],
        "properties": {name: {"type": "number" if name in ("lat", "long") else "string",
                              "description": text} for name, text in POST_FIELDS.items()},
        "additionalProperties": {"type": "string", "description":
                                 "attribute[code]=value, attribute[code][]=value for lists"},
    }}}}}


def _submitter(session: Session, p: params.Params, principal: Principal) -> Principal:
    """The API key's principal: ``api_key`` if sent, else the key in our headers."""
    plaintext = p.one("api_key")
    if plaintext is not None:
        keyed = regions_service.principal_for_api_key(session=session, plaintext=plaintext)
        if keyed is None:
            raise Forbidden("api_key: the key is unknown or has been revoked")
    elif principal.kind == "apikey":
        keyed = principal
    else:
        raise Forbidden("api_key: an API key is required to submit a service request "
                        "(form parameter api_key, or Authorization: Bearer)")
    return keyed


POST_WINDOW = timedelta(minutes=1)


def _limit_posts(session: Session, actor: Principal, per_minute: int) -> None:
    """Every attempt by a key counts (valid or not), committed before the request is read."""
    ratelimit.consume(session, "open311-post", actor.ref, window=POST_WINDOW, limit=per_minute,
                      message=f"api_key: at most {per_minute} service requests a minute per "
                      "key; try again in a minute")
    session.commit()


@router.post("/requests.{response_format}", summary="Submit a service request",
             openapi_extra=POST_OPENAPI)
def post_request(request: Request, response_format: str = FORMAT,
                 session: Session = Depends(get_session),
                 p: params.Params = Depends(params.post_params),
                 principal: Principal = Depends(allow(Action.request_submit))) -> Response:
    """Create a request (channel ``open311``), routed to the member that owns the service at
    the location. Returns ``[{service_request_id, token, service_notice, account_id}]``."""
    f = check_format(response_format)
    actor = _submitter(session, p, principal)
    _limit_posts(session, actor, request.app.state.settings.open311_posts_per_key_per_minute)
    scope = _scope(request, session, p)
    if actor.region_id != scope.region_id:
        raise Forbidden("api_key: the key belongs to another region")
    code = p.one("service_code")
    if code is None:
        raise params.param_error("service_code", "is required")
    svc = q.request_service(session=session, region_id=scope.region_id, member_id=None,
                            code=code)
    if svc is None:
        raise params.param_error("service_code", f"{code[:64]!r} is not a service of this "
                                 f"endpoint (see services.{f})")
    fields = {name: p.one(name) for name in ("email", "device_id", "account_id", "first_name",
                                             "last_name", "phone", "description", "media_url")}
    media_url = fields["media_url"]
    if media_url is not None and (len(media_url) > 500 or not params.URL.match(media_url)):
        raise params.param_error("media_url", "must be an http or https URL of at most 500 "
                                 "characters")
    where = params.location(p)
    try:
        data = RequestIn(service_code=code, attributes=params.attributes(p),
                         channel=Channel.open311, jurisdiction_id=scope.member_id,
                         **where, **fields)
    except ValidationError as exc:
        raise BadRequest("Some parameters are not valid", errors=[
            {"loc": [_loc_name(e["loc"])], "reason": e["msg"].removeprefix("Value error, ")}
            for e in exc.errors()]) from exc
    try:
        req = service.submit_request(session=session, actor=actor, region_id=scope.region_id,
                                     data=data)
    except service.PlaceNeeded as exc:  # not routed on a guess: the client sends lat/long
        field = "address_string" if where.get("address") else "zipcode"
        raise params.param_error(field, f"{exc.detail}; send lat and long") from exc
    except NotFound as exc:
        raise BadRequest(exc.detail) from exc
    session.commit()
    return respond(f, "service_requests", [{
        "service_request_id": req.public_id, "token": req.token,
        "service_notice": _notice(scope.members.get(req.jurisdiction_id)),
        "account_id": req.account_id}])


# --------------------------------------------------------------------------- reads of requests


@router.get("/tokens/{token}.{response_format}", summary="Service request id from a token")
def token_lookup(request: Request, token: str, response_format: str = FORMAT,
          session: Session = Depends(get_session),
          _: Principal = Depends(allow(Action.public_read))) -> Response:
    f = check_format(response_format)
    scope = _scope(request, session, params.query_params(request))
    if "\x00" in token or len(token) > 64:
        raise NotFound("No service request has this token")
    public_id = q.public_id_for_token(session=session, region_id=scope.region_id,
                                      member_id=scope.member_id, token=token)
    return respond(f, "service_requests", [{"service_request_id": public_id, "token": token}])


def _request_documents(session: Session, scope: q.Scope, rows: list[Any], extensions: bool
                       ) -> list[dict[str, Any]]:
    history = q.public_history(session=session, request_ids=[r.id for r in rows]) \
        if extensions else {}
    notices = {jid: _notice(name) for jid, name in scope.members.items()}
    out = []
    for r in rows:
        doc = fmt.request_entry(
            public_id=r.public_id, status=calc.open311_status(r.status),
            status_notes=r.status_notes, service_name=r.service_name,
            service_code=r.service_code, description=r.description,
            agency=scope.members.get(r.jurisdiction_id),
            service_notice=notices.get(r.jurisdiction_id),
            requested_at=r.requested_at, updated_at=r.updated_at, expected_at=r.expected_at,
            address=r.address, address_id=r.address_id, zipcode=r.zipcode, lat=r.lat,
            lon=r.lon, media_url=r.media_url)
        if extensions:
            doc["extended_attributes"] = {
                "status": r.status, "status_label": calc.STATUS_LABELS.get(r.status, r.status),
                "channel": r.channel,
                "notes": [{"datetime": fmt.iso(u.at), "type": u.kind,
                           "description": fmt.describe_update(u.kind, u.from_value, u.to_value,
                                                              u.note)}
                          for u in history.get(r.id, [])]}
        out.append(doc)
    return out


READ_PARAMETERS = [
    ("jurisdiction_id", "The region's slug or a member's id (then only its requests)."),
    ("service_request_id", "Comma-separated ids; overrides every other filter."),
    ("service_code", "Comma-separated service codes."),
    ("start_date", "ISO 8601 date-time with a time zone; default: 90 days before end_date."),
    ("end_date", "ISO 8601 date-time with a time zone; the range spans at most 90 days."),
    ("status", "open, closed or both (comma-separated)."),
    ("page", "Extension: page number, from 1."),
    ("page_size", "Extension: requests per page, 1 to 1000 (default 1000)."),
    ("extensions", "Extension: true adds extended_attributes (internal status, channel, "
                   "public history)."),
]


def _query_doc(names: Iterable[tuple[str, str]]) -> dict[str, Any]:
    return {"parameters": [{"name": n, "in": "query", "required": False,
                            "schema": {"type": "string"}, "description": d} for n, d in names]}


@router.get("/requests.{response_format}", summary="Service requests",
            openapi_extra=_query_doc(READ_PARAMETERS))
async def list_requests(request: Request, response_format: str = FORMAT,
                        _: Principal = Depends(allow(Action.public_read))) -> Response:
    """Requests newest first: the last 90 days and at most 1,000 unless asked otherwise."""
    f = check_format(response_format)
    return await cached_read(request, lambda session: _list_requests(request, session, f),
                             moves_with_time=True)


def _list_requests(request: Request, session: Session, f: str) -> Response:
    p = params.query_params(request)
    scope = _scope(request, session, p)
    extensions = params.parse_bool(p, "extensions")
    ids = p.listed("service_request_id")
    if ids is not None:  # the spec: overrides all other arguments
        if len(ids) > params.MAX_RESULTS or any(len(i) > 64 for i in ids):
            raise params.param_error("service_request_id", f"at most {params.MAX_RESULTS} "
                                     "ids of at most 64 characters")
        rows = q.find_requests(session=session, region_id=scope.region_id,
                               member_id=scope.member_id, public_ids=ids,
                               limit=params.MAX_RESULTS)
        return respond(f, "service_requests",
                       _request_documents(session, scope, rows, extensions))
    codes = p.listed("service_code")
    if codes:
        known = q.request_service_codes(session=session, region_id=scope.region_id)
        unknown = [c for c in codes if c not in known]
        if unknown:
            raise params.param_error("service_code", f"{unknown[0][:64]!r} is not a service "
                                     "of this endpoint")
    statuses = p.listed("status")
    if statuses and set(statuses) - {"open", "closed"}:
        raise params.param_error("status", "must be open, closed or both (comma-separated)")
    start, end = params.date_window(p, utcnow())
    limit, offset = params.paging(p)
    rows = q.find_requests(session=session, region_id=scope.region_id,
                           member_id=scope.member_id, service_codes=codes, start=start,
                           end=end, statuses=statuses, limit=limit, offset=offset)
    return respond(f, "service_requests", _request_documents(session, scope, rows, extensions))


@router.get("/requests/{service_request_id}.{response_format}", summary="One service request",
            openapi_extra=_query_doc([READ_PARAMETERS[0], READ_PARAMETERS[-1]]))
async def one_request(request: Request, service_request_id: str,
                      response_format: str = FORMAT,
                      _: Principal = Depends(allow(Action.public_read))) -> Response:
    """A list of one request, as the spec shows; 404 if there is no such request."""
    f = check_format(response_format)
    return await cached_read(
        request, lambda session: _one_request(request, session, f, service_request_id))


def _one_request(request: Request, session: Session, f: str, service_request_id: str
                 ) -> Response:
    p = params.query_params(request)
    scope = _scope(request, session, p)
    extensions = params.parse_bool(p, "extensions")
    if "\x00" in service_request_id or len(service_request_id) > 64:
        raise NotFound(f"No service request {service_request_id[:40]!r}")
    row = q.request_row(session=session, region_id=scope.region_id, member_id=scope.member_id,
                        public_id=service_request_id)
    return respond(f, "service_requests", _request_documents(session, scope, [row], extensions))


@router.get("/servicerequestupdates.{response_format}", summary="Service request updates",
            openapi_extra=_query_doc([READ_PARAMETERS[0], READ_PARAMETERS[3],
                                      READ_PARAMETERS[4], READ_PARAMETERS[6],
                                      READ_PARAMETERS[7]]))
async def request_updates(request: Request, response_format: str = FORMAT,
                          _: Principal = Depends(allow(Action.public_read))) -> Response:
    """Public updates, oldest first, in the same 90-day window rules as requests."""
    f = check_format(response_format)
    return await cached_read(request, lambda session: _request_updates(request, session, f),
                             moves_with_time=True)


def _request_updates(request: Request, session: Session, f: str) -> Response:
    p = params.query_params(request)
    scope = _scope(request, session, p)
    start, end = params.date_window(p, utcnow())
    limit, offset = params.paging(p)
    feed = q.update_feed(session=session, region_id=scope.region_id, member_id=scope.member_id,
                         start=start, end=end, limit=limit, offset=offset)
    return respond(f, "service_request_updates", [
        fmt.update_entry(update_id=row.update.id, public_id=row.public_id,
                         status=calc.open311_status(row.status_after),
                         description=fmt.describe_update(row.update.kind, row.update.from_value,
                                                         row.update.to_value, row.update.note),
                         at=row.update.at) for row in feed])


# --------------------------------------------------------------------------- anything else


@router.api_route("/{open311_path:path}", include_in_schema=False,
                  methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def elsewhere(request: Request, open311_path: str,
              _: Principal = Depends(allow(Action.public_read))) -> Response:
    """The endpoint's root leads to discovery; other paths are 404, wrong methods 405 —
    in the spec's error shape like every other error here."""
    if open311_path == "":
        if request.method in ("GET", "HEAD"):
            return RedirectResponse(f"{PREFIX}/discovery.xml", status_code=307)
        raise StarletteHTTPException(405, f"{request.method} is not allowed here; GET the "
                                     "discovery document", headers={"Allow": "GET"})
    allowed = sorted({m for r in router.routes
                      if isinstance(r, APIRoute) and r.endpoint is not elsewhere
                      and r.path_regex.match(request.url.path) for m in (r.methods or ())})
    if allowed:
        raise StarletteHTTPException(405, f"{request.method} is not allowed on this resource; "
                                     f"use {', '.join(allowed)}",
                                     headers={"Allow": ", ".join(allowed)})
    raise NotFound(f"No Open311 resource at {PREFIX}/{open311_path[:80]}: see "
                   f"{PREFIX}/discovery.xml (resources end in .xml or .json)")
