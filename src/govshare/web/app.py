"""``create_app(settings)``: builds the engine, session factory, templates and routers.

Nothing is built at import time, so tests and the CLI can make apps with their own settings.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, FileSystemLoader
from markupsafe import Markup
from sqlalchemy import text
from sqlalchemy.orm import Session

import govshare
from govshare.carbon import api as carbon_api
from govshare.carbon import pages as carbon_pages
from govshare.casebook import api as casebook_api
from govshare.casebook import pages as casebook_pages
from govshare.core import charts, formats
from govshare.core.changes import (
    OPEN311,
    CachedReads,
    PgVersions,
    ResponseCache,
    SessionVersions,
)
from govshare.core.db import make_engine, make_session_factory
from govshare.core.domains import DOMAINS
from govshare.core.errors import NotAuthenticated, NotReady
from govshare.core.http import (
    SESSION_COOKIE,
    allow,
    configure_logging,
    get_session,
    install_error_handlers,
    install_middleware,
    render,
)
from govshare.core.jsonhtml import json_for_html
from govshare.core.settings import Environment, Settings
from govshare.core.tenancy import ANONYMOUS, Action, Principal, Role, allows, same_region
from govshare.fleet import api as fleet_api
from govshare.fleet import pages as fleet_pages
from govshare.frontoffice import pages as frontoffice_pages
from govshare.frontoffice.open311 import api as open311_api
from govshare.geo import api as geo_api
from govshare.geo import pages as geo_pages
from govshare.outbox import pages as outbox_pages
from govshare.property import api as property_api
from govshare.property import pages as property_pages
from govshare.property.import_export import pages as import_export_pages
from govshare.property.public_window import api as public_window_api
from govshare.property.public_window import pages as public_window_pages
from govshare.regions import api as regions_api
from govshare.regions import pages as regions_pages
from govshare.regions import queries as regions_queries
from govshare.regions import service as regions_service
from govshare.regions.schemas import KIND_LABELS
from govshare.sites import api as sites_api
from govshare.sites import pages as sites_pages
from govshare.tellusonce import pages as tellusonce_pages

PACKAGE_DIR = Path(str(resources.files("govshare")))


def resolve_principal(request: Request, session: Session) -> Principal:
    """API key (``Authorization: Bearer gsk_...`` or ``X-API-Key``), else session cookie.

    Also sets ``request.state.region_id``, the region this installation serves, which
    ``core.http.allow`` compares with the principal's. A key that is sent but unknown or
    revoked is refused outright (401), never downgraded to
    the anonymous public: a system that thinks it is authenticated must learn that it is not.
    """
    region = regions_queries.current_region(session=session)
    # Every policy check compares the principal's region with this one (core.http.allow).
    request.state.region_id = region.id if region is not None else None
    auth = request.headers.get("authorization", "")
    key = request.headers.get("x-api-key") or (
        auth[7:].strip() if auth.lower().startswith("bearer ") else None)
    if key:
        principal = regions_service.principal_for_api_key(session=session, plaintext=key)
        if principal is None:
            raise NotAuthenticated("The API key is unknown or has been revoked.")
        session.commit()  # last-used time
        return principal
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        principal = regions_service.principal_for_session(session=session, token=token)
        if principal is not None:
            return principal
        request.state.session_expired = True
    return ANONYMOUS


def nav_for(principal: Principal, region_id: int | None = None) -> list[tuple[str, str]]:
    items = [("Home", "/"), ("Services", "/services"), ("What applies here", "/here"),
             ("Report a problem", "/requests/new"), ("Tell us once", "/tell-us-once"),
             ("Surplus property", "/property/public")]
    if principal.is_authenticated and same_region(principal, region_id):
        items.append(("Requests", "/staff/requests"))
        items.append(("Property", "/property"))
        items.append(("Carbon", "/carbon"))
        items.append(("Fleet", "/fleet"))
        items.append(("Center sites", "/sites"))
        items.append(("Casebook", "/casebook"))
        items.append(("Value", "/value"))
        items.append(("Admin", "/admin"))
    return items


def page_context(request: Request) -> dict[str, Any]:
    principal = getattr(request.state, "principal", ANONYMOUS)
    served = getattr(request.state, "region_id", None)
    factory = request.app.state.session_factory
    with factory() as session:
        region = regions_queries.current_region(session=session)
        region_name = region.name if region else "govshare"
        time_zone = region.time_zone if region else "UTC"
        jname = None
        if principal.jurisdiction_id:
            try:
                jname = regions_queries.get_jurisdiction(
                    session=session, jurisdiction_id=principal.jurisdiction_id).name
            except Exception:
                jname = None
    return {
        "region_name": region_name,
        "time_zone": time_zone,  # core.formats: |when and |day show times in it
        "nav": nav_for(principal, served),
        "current_path": request.url.path,
        "principal_jurisdiction": jname,
        "session_expired": getattr(request.state, "session_expired", False),
        # What the page offers follows the same policy as the routes: in the served region.
        "allows": partial(allows, region_id=served),
        "Action": Action,
        "Role": Role,
        "kind_labels": KIND_LABELS,
        "version": govshare.__version__,
    }


@asynccontextmanager
async def freeze_startup_objects(app: FastAPI) -> AsyncIterator[None]:
    """In production, once the app is built: move every object alive now (modules, routes,
    metadata, templates: ~160,000) out of the cyclic garbage collector's reach with
    ``gc.freeze()``. Each full collection walked them all, ~80 ms during which the process
    answered nothing: the slowest 1% of requests under load (bench/bench_open311.py). They
    live as long as the process anyway; reference counting still frees what they drop."""
    if app.state.settings.env is Environment.production:
        gc.collect()
        gc.freeze()
    yield


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings.log_level, json_logs=settings.log_json)
    app = FastAPI(
        lifespan=freeze_startup_objects,
        title="govshare",
        version=govshare.__version__,
        description="Shared services for a region's governments: regions and jurisdictions, "
        "boundaries and place lookup, staff and API keys. Errors are RFC 9457 "
        "problem+json documents.",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # our own page below: the package's Swagger UI, not a CDN's
        redoc_url=None,
    )
    url = settings.resolved_database_url
    pool = {} if url.startswith("sqlite") else {
        "pool_size": settings.database_pool_size, "max_overflow": settings.database_pool_size}
    engine = make_engine(url, **pool)
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    app.state.secret_key = settings.resolved_secret_key()
    app.state.resolve_principal = resolve_principal
    app.state.page_context = page_context
    app.state.open311_cache = (ResponseCache(settings.open311_cache_mb * 1024 * 1024)
                               if settings.open311_cache_mb else None)
    app.state.change_versions = (SessionVersions(app.state.session_factory)
                                 if url.startswith("sqlite") else PgVersions(url))

    loaders = [FileSystemLoader(str(PACKAGE_DIR / d / "templates")) for d in (*DOMAINS, "web")
               if (PACKAGE_DIR / d / "templates").is_dir()]
    templates = Jinja2Templates(directory=str(PACKAGE_DIR / "web" / "templates"))
    templates.env.loader = ChoiceLoader(loaders)
    templates.env.globals["static"] = lambda p: f"/static/{p}"
    # Maps read the tile server (or its absence) from data attributes: {{ map_tiles() }}.
    templates.env.globals["map_tiles"] = lambda: Markup(
        ' data-tiles="{}" data-tiles-attribution="{}"').format(
        settings.map_tile_url, settings.map_tile_attribution) if settings.map_tile_url \
        else Markup("")
    templates.env.globals["map_offline_note"] = (
        "" if settings.map_tile_url else
        "No street map is loaded (this installation has no tile server set), so the map works "
        "offline and shows member boundaries only.")
    # The one way templates embed JSON (core.jsonhtml): replaces Jinja's own tojson, which
    # leaves U+2028 and U+2029 as they are.
    templates.env.filters["tojson"] = json_for_html
    # money, number, percent, when, day: one way to write each (core.formats).
    formats.register(templates.env)
    app.state.templates = templates

    install_error_handlers(app)
    # Inside the envelope (added last, so outermost): hits still get headers and a log line.
    app.add_middleware(CachedReads, prefix=open311_api.PREFIX + "/", topic=OPEN311,
                       cache_state="open311_cache",
                       public_allowed=allows(ANONYMOUS, Action.public_read))
    install_middleware(app, secure_cookies=settings.secure_cookies,
                       body_limits=settings.body_limits,
                       tile_origin=settings.map_tile_origin,
                       form_origin=settings.oidc_origin)

    static_dir = PACKAGE_DIR / "web" / "static"
    app.mount("/static", StaticFiles(directory=str(static_dir)), name="static")
    if settings.static_vendor_dir is not None:
        app.mount("/static/vendor", StaticFiles(directory=str(settings.static_vendor_dir)),
                  name="vendor")
    # Charts are measured and drawn in the pages' font (USWDS's Source Sans Pro).
    vendor = settings.static_vendor_dir or static_dir / "vendor"
    charts.use_fonts(vendor / "uswds" / "fonts" / "source-sans-pro")

    # First: routes are matched in order, and probes come often.
    @app.get("/healthz", tags=["ops"], summary="Liveness: the process answers")
    async def healthz(_: Principal = Depends(allow(Action.health))) -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"], summary="Readiness: the database answers and is migrated")
    def readyz(session: Session = Depends(get_session),
               _: Principal = Depends(allow(Action.health))) -> JSONResponse:
        try:
            version = session.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except Exception as exc:
            raise NotReady(f"The database is not reachable or not migrated: "
                           f"{type(exc).__name__}") from exc
        return JSONResponse({"status": "ready", "schema": version})

    @app.get("/api/v1/docs", include_in_schema=False)
    def api_docs(request: Request,
                 _: Principal = Depends(allow(Action.public_read))) -> Response:
        return render(request, "web/api_docs.html")

    # Open311 first: its clients poll, and routes are tried in order (its paths share no
    # prefix with the others, so the order changes nothing else).
    for router in (open311_api.router, regions_api.router, geo_api.router,
                   property_api.router, public_window_api.router, sites_api.router,
                   fleet_api.router, regions_pages.router, geo_pages.router,
                   property_pages.router, import_export_pages.router,
                   public_window_pages.router,
                   frontoffice_pages.router, tellusonce_pages.router, sites_pages.router,
                   outbox_pages.router, carbon_api.router, carbon_pages.router,
                   fleet_pages.router, casebook_api.router, casebook_pages.router):
        app.include_router(router)

    return app
