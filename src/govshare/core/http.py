"""HTTP glue shared by every domain's ``api.py`` and ``pages.py``.

- :func:`get_session` — one SQLAlchemy session per request. Handlers that write call
  ``session.commit()`` themselves (the edge commits); anything uncommitted is rolled back.
- :func:`allow` — the policy declaration every route carries. It resolves the acting principal
  and checks the role against ``core.tenancy.POLICY``. The authorization-matrix test reads the
  marker it leaves on the dependency, so a route without one fails the build.
- :func:`csrf_protect` — every form POST carries a token bound to the visitor's session.
- One error handler: problem+json (RFC 9457) for ``/api`` and ``/open311``, ``{status}.html``
  for pages; 401 on a page redirects to the login form.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import quote, unquote

from fastapi import Depends, FastAPI, Path, Request
from fastapi import routing as fastapi_routing
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from govshare.core.audit import REQUEST_ID
from govshare.core.errors import (
    CsrfFailed,
    GovshareError,
    NotAuthenticated,
    PayloadTooLarge,
    RateLimited,
)
from govshare.core.security import new_token, sign, signatures_match
from govshare.core.tenancy import ANONYMOUS, Action, Principal, authorize

log = logging.getLogger("govshare.http")

SESSION_COOKIE = "govshare_session"
ANON_COOKIE = "govshare_visitor"
CSRF_FIELD = "csrf_token"
FLASH_COOKIE = "govshare_flash"
API_PREFIXES = ("/api/", "/open311/")

# Row ids are INTEGER columns: 32-bit on PostgreSQL, and SQLite's driver raises OverflowError
# past 64 bits. An id outside 1..MAX_ID names no row; refusing it at the edge (422) keeps it out
# of SQL, where it would otherwise surface as a 500.
MAX_ID = 2**31 - 1


# --------------------------------------------------------------------------- sessions, principal


def get_session(request: Request) -> Iterator[Session]:
    session: Session = request.app.state.session_factory()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


def sends_credentials(headers: Headers) -> bool:
    """Whether a request carries anything that names someone: an API key or a session. The
    one definition: the policy dependency resolves such callers, and the Open311 read cache
    in front of the app (``core.changes.CachedReads``) leaves them to it."""
    return ("authorization" in headers or "x-api-key" in headers
            or SESSION_COOKIE in headers.get("cookie", ""))


def _resolve(request: Request) -> Principal:
    resolver = request.app.state.resolve_principal
    with request.app.state.session_factory() as session:
        principal: Principal = resolver(request, session)
    return principal


async def get_principal(request: Request) -> Principal:
    """The acting principal, once per request. Anonymous requests (the public, most Open311
    reads) are answered without a database session or a worker thread; credentials are
    checked in a thread with their own short session (an API key's last-use time is committed
    there, whatever the request then does)."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    if getattr(request.app.state, "resolve_principal", None) is None \
            or not sends_credentials(request.headers):
        principal = ANONYMOUS
    else:
        principal = await run_in_threadpool(_resolve, request)
    request.state.principal = principal
    return principal


PolicyDependency = Callable[..., Awaitable[Principal]]


def allow(action: Action) -> PolicyDependency:
    """Dependency that resolves the principal and checks ``action`` against the policy, in
    the region the installation serves (``request.state.region_id``).

    Rows of a particular jurisdiction are checked again in the service (``own`` scope).
    """

    async def dependency(request: Request,
                         principal: Principal = Depends(get_principal)) -> Principal:
        # The region this installation serves, set by the principal resolver for every
        # caller that sent credentials: a user or key of another region is the public here.
        authorize(principal, action, region_id=getattr(request.state, "region_id", None))
        return principal

    dependency.govshare_action = action  # type: ignore[attr-defined]
    dependency.__name__ = f"allow_{action.name}"
    return dependency


def route_action(dependant_calls: list[Any]) -> Action | None:
    """The :class:`Action` a route declared through :func:`allow`, if any."""
    for call in dependant_calls:
        action = getattr(call, "govshare_action", None)
        if action is not None:
            return action  # type: ignore[no-any-return]
    return None


def row_id(what: str) -> Any:
    """A path parameter naming a row: ``jurisdiction_id: int = row_id("jurisdiction")``."""
    return Path(ge=1, le=MAX_ID, description=f"The {what}'s id")


# --------------------------------------------------------------------------- CSRF


def visitor_id(request: Request) -> str:
    """The id CSRF tokens are bound to: the session cookie if signed in, else a visitor cookie."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        return "s:" + token
    return "v:" + str(request.state.visitor_id)


def csrf_token(request: Request) -> str:
    return sign(request.app.state.secret_key, "csrf:" + visitor_id(request))


async def csrf_protect(request: Request) -> None:
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    if not isinstance(sent, str) or not signatures_match(sent, csrf_token(request)):
        raise CsrfFailed(
            "This form has expired or did not come from this site. Reload the page and try again."
        )


# --------------------------------------------------------------------------- pages


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    ctx = dict(context or {})
    ctx.setdefault("principal", getattr(request.state, "principal", ANONYMOUS))
    ctx.setdefault("csrf_field", CSRF_FIELD)
    ctx["csrf_token"] = csrf_token(request)
    provider = getattr(request.app.state, "page_context", None)
    if provider is not None:
        for key, value in provider(request).items():
            ctx.setdefault(key, value)
    flash = request.cookies.get(FLASH_COOKIE)
    if flash:
        ctx.setdefault("flash", unquote(flash)[:300])
    templates = request.app.state.templates
    response: HTMLResponse = templates.TemplateResponse(
        request, template, ctx, status_code=status_code
    )
    if flash:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def redirect(url: str, *, flash: str | None = None) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    if flash:
        response.set_cookie(FLASH_COOKIE, quote(flash), max_age=60, httponly=True,
                            samesite="lax", path="/")
    return response


def image_response(request: Request, data: bytes | Callable[[], bytes], content_type: str, *,
                   cache_control: str, etag: str | None = None) -> Response:
    """An image with a strong ``ETag``, or 304 without the bytes when the browser's copy
    (``If-None-Match``) is still this one. The tag is ``etag`` when the caller can name the
    bytes without reading them (``data`` is then a callable, called only for a 200), else a
    digest of ``data``. ``cache_control`` says who may keep it (``public`` or ``private``);
    with ``no-cache`` each use is checked with the site, so the route's own access rule (a 404
    first) still decides every time."""
    if etag is None:
        data = data() if callable(data) else data
        etag = hashlib.sha256(data).hexdigest()[:32]
    tag = f'"{etag}"'
    headers = {"Cache-Control": cache_control, "ETag": tag}
    asked = {t.strip().removeprefix("W/") for t in
             request.headers.get("if-none-match", "").split(",")}
    if tag in asked or "*" in asked:
        return Response(status_code=304, headers=headers)
    return Response(data() if callable(data) else data, media_type=content_type,
                    headers={**headers, "Content-Disposition": "inline"})


def is_api_path(path: str) -> bool:
    return path.startswith(API_PREFIXES) or path in ("/healthz", "/readyz")


# --------------------------------------------------------------------------- errors


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    code: str,
    instance: str,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"https://govshare.example/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        "code": code,
    }
    if errors:
        body["errors"] = errors
    return JSONResponse(
        body, status_code=status, media_type="application/problem+json", headers=headers
    )


def _error_page(
    request: Request, status: int, title: str, detail: str, errors: list[dict[str, Any]]
) -> Response:
    try:
        return render(
            request,
            "web/error.html",
            {"status": status, "title": title, "detail": detail, "errors": errors},
            status_code=status,
        )
    except Exception:  # the error page itself must never fail
        log.exception("error page failed")
        return HTMLResponse(f"<h1>{status} {title}</h1>", status_code=status)


def handle_error(request: Request, exc: Exception) -> Response:
    headers: dict[str, str] = {}
    if isinstance(exc, GovshareError):
        status, title, detail, code = exc.status, exc.title, exc.detail, exc.code
        errors = exc.errors
        if isinstance(exc, RateLimited):
            headers["Retry-After"] = str(exc.retry_after)
    elif isinstance(exc, RequestValidationError):
        status, title, code = 422, "The input is not valid", "validation-failed"
        errors = [
            {
                "loc": [str(p) for p in e.get("loc", ())],
                "reason": e.get("msg", ""),
                "value": _safe_value(e.get("input")),
            }
            for e in exc.errors()
        ]
        detail = "; ".join(
            f"{'.'.join(err['loc'])}: {err['reason']}" for err in errors
        ) or title
    elif isinstance(exc, StarletteHTTPException):
        status = exc.status_code
        title = {404: "Not found", 405: "Method not allowed"}.get(status, "Error")
        detail = str(exc.detail) if exc.detail else title
        code = {404: "not-found", 405: "method-not-allowed"}.get(status, f"http-{status}")
        errors = []
        headers.update(exc.headers or {})
    elif isinstance(exc, OverflowError | DataError):
        # The database refused a value no edge check caught — typically an id past the INTEGER
        # column in a page path (SQLite's driver: OverflowError; PostgreSQL: DataError). It is
        # still the client's input, so 400, not 500; logged so the missing check gets added
        # (path ids: ``row_id``).
        log.warning("value refused by the database", exc_info=exc,
                    extra={"path": request.url.path})
        status, title, code, errors = 400, "Bad request", "bad-request", []
        detail = "A value in the request is out of range or not valid for its field."
    else:
        log.exception("unhandled error", extra={"path": request.url.path})
        status, title, code, errors = 500, "Internal error", "internal-error", []
        detail = "Something went wrong on our side. The error has been logged."

    if is_api_path(request.url.path):
        return problem(status, title, detail, code=code, instance=request.url.path,
                       errors=errors, headers=headers or None)
    if isinstance(exc, NotAuthenticated) and request.method == "GET":
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
    response = _error_page(request, status, title, detail, errors)
    for k, v in headers.items():
        response.headers[k] = v
    return response


def _safe_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no infinity or NaN: name it instead
    if value is None or isinstance(value, str | int | float | bool):
        return value if not isinstance(value, str) else value[:200]
    return None


def install_error_handlers(app: FastAPI) -> None:
    async def handler(request: Request, exc: Exception) -> Response:
        return handle_error(request, exc)

    app.add_exception_handler(GovshareError, handler)
    app.add_exception_handler(RequestValidationError, handler)
    app.add_exception_handler(StarletteHTTPException, handler)
    app.add_exception_handler(Exception, handler)


# --------------------------------------------------------------------------- middleware

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# The OpenAPI explorer (/api/v1/docs): Swagger UI from npm, served by us, started by our own
# script file; it sets style attributes as it draws, so styles alone may be inline.
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._:-]{1,64}")


class Envelope:
    """Pure ASGI middleware around every request: request id, visitor id, security headers, the
    visitor cookie on pages, and one JSON log line.

    Written against ASGI directly rather than with ``@app.middleware("http")`` (Starlette's
    ``BaseHTTPMiddleware``), which runs the app in a separate task and streams the response
    through a memory channel: that cost about a millisecond of CPU per request, several times
    what FastAPI itself costs (``bench/bench_open311.py``). Here the response passes through
    unchanged; only the ``http.response.start`` message's headers are added to.
    """

    def __init__(self, app: ASGIApp, *, secure_cookies: bool,
                 tile_origin: str | None = None, form_origin: str | None = None) -> None:
        self.app = app
        self.secure_cookies = secure_cookies
        # A configured tile server is the one other origin pages may load images from; a
        # configured identity provider the one other origin a form may lead to (its sign-in
        # page, reached by a redirect from our own form, which form-action governs too).
        csp = CSP.replace("img-src 'self' data:", f"img-src 'self' data: {tile_origin}") \
            if tile_origin else CSP
        self.csp = csp.replace("form-action 'self'", f"form-action 'self' {form_origin}") \
            if form_origin else csp
        static = [
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"strict-origin-when-cross-origin"),
            (b"x-frame-options", b"DENY"),
            (b"cross-origin-opener-policy", b"same-origin"),
            (b"permissions-policy", b"geolocation=(self), camera=(), microphone=()"),
        ]
        if secure_cookies:
            static.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
        self.static_headers = static

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = Headers(scope=scope)
        sent_id = headers.get("x-request-id", "")
        # A caller's id is kept (it ties our log and audit rows to theirs) if it is plain.
        request_id = sent_id if REQUEST_ID_RE.fullmatch(sent_id) else uuid.uuid4().hex
        visitor = _cookie(headers.get("cookie"), ANON_COOKIE)
        new_visitor = not visitor or len(visitor) > 64
        visitor_id: str = visitor if visitor and not new_visitor else new_token(16)
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        request_id_token = REQUEST_ID.set(request_id)  # read by core.audit.record
        state["visitor_id"] = visitor_id
        path: str = scope["path"]
        status = 0

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                raw = list(message.get("headers", ()))
                raw.append((b"x-request-id", request_id.encode("latin-1")))
                raw.extend(self.static_headers)
                if not any(k.lower() == b"content-security-policy" for k, _ in raw):
                    csp = DOCS_CSP if path.startswith("/api/v1/docs") else self.csp
                    raw.append((b"content-security-policy", csp.encode()))
                if new_visitor and not is_api_path(path):
                    cookie = _visitor_cookie(visitor_id, self.secure_cookies)
                    raw.append((b"set-cookie", cookie.encode("latin-1")))
                message = {**message, "headers": raw}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as exc:
            # Handlers answer every error first; this catches what escapes them (an error in
            # a middleware further in), so that it still leaves in our shape, with headers.
            if status:
                raise  # the response had started: nothing sensible can be sent now
            await handle_error(Request(scope), exc)(scope, receive, send_with_headers)
        finally:
            REQUEST_ID.reset(request_id_token)
            log.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": scope["method"],
                    "path": path,
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )


def _cookie(header: str | None, name: str) -> str | None:
    if not header or name not in header:
        return None
    return cookie_parser(header).get(name)


def _visitor_cookie(value: str, secure: bool) -> str:
    response = Response()
    response.set_cookie(ANON_COOKIE, value, httponly=True, secure=secure, samesite="lax",
                        max_age=60 * 60 * 24)
    return response.headers["set-cookie"]


# --------------------------------------------------------------------------- body limits

BODY_KINDS = ("form", "upload", "api")
_F = TypeVar("_F", bound=Callable[..., Any])


def body_limit(kind: str, *, max_bytes: int | None = None) -> Callable[[_F], _F]:
    """Declare the kind of body a route takes, under its ``@router.post(...)``:
    ``@body_limit("upload")`` for a route that takes files (the upload limit instead of the
    form or API one), with ``max_bytes`` if the route's own cap is lower. Routes without it
    get the form limit, or the API limit under ``/api/`` and ``/open311/``."""
    if kind not in BODY_KINDS:
        raise ValueError(f"body kind {kind!r} is not one of {BODY_KINDS}")

    def mark(endpoint: _F) -> _F:
        endpoint.govshare_body = (kind, max_bytes)  # type: ignore[attr-defined]
        return endpoint

    return mark


class BodyLimit:
    """Pure ASGI middleware that bounds every request body while it streams in (issue 8, 2.7).

    The limit depends on the route (:func:`body_limit`): forms, uploads and the JSON API each
    have their own (``GOVSHARE_BODY_LIMIT_*``). A declared ``Content-Length`` over the limit
    is answered 413 at once, before the body is read at all; a body without one (chunked) is
    counted as it arrives, and at the first byte past the limit the read fails and the app's
    answer, whatever it was, is replaced by the 413. So nothing past the limit is ever held
    in memory or spooled to disk, and the CSRF check or the form parser never sees it.
    """

    def __init__(self, app: ASGIApp, *, limits: dict[str, int]) -> None:
        missing = set(BODY_KINDS) - set(limits)
        if missing:
            raise ValueError(f"no body limit for {sorted(missing)}")
        self.app = app
        self.limits = limits
        self.marked: list[tuple[re.Pattern[str], set[str], str, int | None]] | None = None

    def limit_for(self, scope: Scope) -> tuple[str, int]:
        kind = "api" if is_api_path(scope["path"]) else "form"
        own: int | None = None
        if self.marked is None:
            self.marked = _marked_routes(scope.get("app"))
        for regex, methods, marked_kind, marked_max in self.marked:
            if scope["method"] in methods and regex.match(scope["path"]):
                kind, own = marked_kind, marked_max
                break
        limit = self.limits[kind]
        return kind, limit if own is None else min(limit, own)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared: bytes | None = None
        chunked = False
        for name, value in scope["headers"]:  # raw: this runs for every request
            if name == b"content-length":
                declared = value
            elif name == b"transfer-encoding":
                chunked = True
        if declared is None and not chunked:
            await self.app(scope, receive, send)  # no body
            return
        kind, limit = self.limit_for(scope)
        if declared is not None and declared.strip().isdigit() and int(declared) > limit:
            await self.refuse(scope, receive, send, kind, limit)
            return
        received = 0
        exceeded = False
        started = False

        async def counted_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise PayloadTooLarge(_too_large(kind, limit))
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded:
                return  # whatever the app makes of the broken read, the answer is the 413
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not exceeded or started:
                raise
        if exceeded and not started:
            await self.refuse(scope, receive, send, kind, limit)

    async def refuse(self, scope: Scope, receive: Receive, send: Send, kind: str,
                     limit: int) -> None:
        log.warning("request body over the limit", extra={"path": scope["path"],
                                                          "kind": kind, "limit": limit})
        response = handle_error(Request(scope), PayloadTooLarge(_too_large(kind, limit)))
        response.headers["connection"] = "close"  # the rest of the body is never read
        await response(scope, receive, send)


def _marked_routes(app: Any) -> list[tuple[re.Pattern[str], set[str], str, int | None]]:
    """The routes that declared their body with :func:`body_limit`: path pattern, methods,
    kind, own cap. Read once from the app, through the walk FastAPI's OpenAPI generator uses
    (included routers are lazy entries of ``app.routes`` since FastAPI 0.16x)."""
    routes = list(getattr(app, "routes", ()))
    walk = getattr(fastapi_routing, "iter_route_contexts", None)
    table = []
    for route in walk(routes) if walk is not None else routes:
        marked = getattr(getattr(route, "endpoint", None), "govshare_body", None)
        regex = getattr(route, "path_regex", None)
        if marked is not None and regex is not None:
            table.append((regex, set(getattr(route, "methods", None) or ()), *marked))
    return table


def _too_large(kind: str, limit: int) -> str:
    what = {"form": "A form", "upload": "An upload", "api": "A request body"}[kind]
    size = f"{limit / (1 << 20):g} MB" if limit >= 1 << 20 else f"{limit / 1024:g} KB"
    return f"{what} here may be at most {size}; this one is larger."


def install_middleware(app: FastAPI, *, secure_cookies: bool,
                       body_limits: dict[str, int] | None = None,
                       tile_origin: str | None = None, form_origin: str | None = None
                       ) -> None:
    """The envelope outermost; the body limit inside it (so a 413 still gets the envelope's
    headers and log line), and, added before this, the Open311 read cache."""
    if body_limits is not None:
        app.add_middleware(BodyLimit, limits=body_limits)
    app.add_middleware(Envelope, secure_cookies=secure_cookies, tile_origin=tile_origin,
                       form_origin=form_origin)


# --------------------------------------------------------------------------- logging


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and any ``extra`` fields."""

    _std = set(logging.LogRecord("x", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in self._std:
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def configure_logging(level: str = "INFO", *, json_logs: bool = True) -> None:
    root = logging.getLogger()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_logs else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s"))
    root.handlers = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access",):
        logging.getLogger(noisy).handlers = []
        logging.getLogger(noisy).propagate = False
