"""Authorization matrix generated from the app's own route table.

For every route (read from ``app.routes``, see ``tests/contract/routes.py``) the test takes the
policy Action the route declared through ``core.http.allow`` and makes a real request as each
role — regional admin, regional analyst, a City of Seattle admin and staff member, the
anonymous public — and, where the route names a jurisdiction's row (path id) or a
jurisdiction (body), once for Seattle's own and once for King County's. The outcome must
match ``core.tenancy``:

- allowed (``allows``): not 401/403, not 404 (the row exists), no redirect to the login form;
- denied because the role lacks the action: 403 for staff; for the public 401 on the API and
  on page POSTs, a redirect to ``/login?next=`` on page GETs (Open311: the spec's 403);
- denied because the row is another member's private row: 404, never 403 — its id leaks
  nothing (``ensure_visible``), even for a write the role could do on its own rows;
- denied because the body names another jurisdiction: 403 or 404;
- never a 5xx.

API routes authenticate with API keys, pages with a signed-in session and a valid CSRF token.
A route without a declared Action, a path parameter without a value in :data:`PATH_VALUES`,
or a route with body fields but no entry in :data:`BODIES` fails the build with a message that
names the route — so a new route cannot slip past the matrix. Deliberate exceptions to the
policy live in :data:`EXTRA_RULES`, :data:`PUBLIC_VIEW` and :data:`NOT_FOUND_BY_DESIGN`.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from govshare.carbon.models import Measure as CarbonMeasure
from govshare.carbon.models import Target as CarbonTarget
from govshare.casebook import service as casebook_service
from govshare.casebook.schemas import ProposalIn as CaseIn
from govshare.cli.demo import DEMO_PASSWORD
from govshare.core.db import utcnow
from govshare.core.http import allow
from govshare.core.security import DUMMY_HASH
from govshare.core.tenancy import Action, Role, allows, can_see_jurisdiction_rows
from govshare.fleet.models import Vehicle as FleetVehicle
from govshare.frontoffice import queries as fo_queries
from govshare.frontoffice import service as fo_service
from govshare.frontoffice.models import Service
from govshare.frontoffice.schemas import LIFE_EVENTS, RequestIn
from govshare.property import service as property_service
from govshare.property.models import Asset
from govshare.property.public_window import service as public
from govshare.property.schemas import PhotoIn, ProposalIn
from govshare.regions import service
from govshare.regions.models import Region, User
from govshare.regions.schemas import ApiKeyCreate
from govshare.regions.service import create_api_key
from govshare.sites import service as sites_service
from govshare.sites.schemas import ScenarioIn
from govshare.tellusonce import calc as tellusonce_calc
from govshare.tellusonce import service as tellusonce_service
from govshare.tellusonce.models import AgencySubscription
from tests.conftest import csrf_from, login, sign_in
from tests.contract.routes import RouteInfo, offline_app, route_table
from tests.factories.regions import api_key, principal

ROUTES = route_table(offline_app())
ROLES = list(Role)

# Who signs in for each role on the pages (demo users, City of Seattle for the local roles).
PAGE_USERS = {
    Role.regional_admin: "admin@demo.govshare.org",
    Role.regional_analyst: "analyst@demo.govshare.org",
    Role.jurisdiction_admin: "seattle.admin@demo.govshare.org",
    Role.jurisdiction_staff: "seattle.staff@demo.govshare.org",
}
SCENARIOS = ("own", "other")  # Seattle's rows, King County's rows

# A small square inside both Seattle and King County.
FUEL_CSV = b"source_key,unit_id,occurred_at,product,quantity,unit,cost\n"
SQUARE = {"type": "Polygon", "coordinates": [[[-122.40, 47.55], [-122.30, 47.55],
                                               [-122.30, 47.65], [-122.40, 47.65],
                                               [-122.40, 47.55]]]}


# --------------------------------------------------------------------------- the world


@dataclass
class World:
    """Rows the requests point at: per scenario ("own" = City of Seattle, "other" = King
    County) a user, an API key, an asset, a proposal, a service request... Built on first use,
    inside the test's transaction, so a route test only pays for the rows it names."""

    session: Session
    app: Any
    jurisdiction: dict[str, int]
    county: int
    cache: dict[tuple[str, str], Any] = field(default_factory=dict)
    counter: Iterator[int] = field(default_factory=itertools.count)

    def unique(self, stem: str) -> str:
        return f"{stem}{next(self.counter)}"

    def row(self, kind: str, scenario: str) -> Any:
        if (kind, scenario) not in self.cache:
            self.cache[kind, scenario] = BUILDERS[kind](self, self.jurisdiction[scenario])
            self.session.flush()
        return self.cache[kind, scenario]


def build_world(session: Session, app: Any, ids: dict[str, int]) -> World:
    return World(session=session, app=app, county=ids["county"],
                 jurisdiction={"own": ids["city"], "other": ids["county"]})


SYSTEM = principal(Role.regional_admin)


def _region_id(w: World) -> int:
    return w.session.scalars(select(Region.id)).one()


def _target_user(w: World, jid: int) -> Any:
    # Never a signed-in principal: deactivating it must not sign anyone out mid-matrix.
    user = User(region_id=_region_id(w), email=w.unique("target.user") + "@demo.govshare.org",
                full_name="Target user", password_hash=DUMMY_HASH,
                role=Role.jurisdiction_staff.value, jurisdiction_id=jid, is_active=True)
    w.session.add(user)
    return user


def _target_key(w: World, jid: int) -> Any:
    key, _ = create_api_key(session=w.session, actor=SYSTEM, region_id=_region_id(w),
                            data=ApiKeyCreate(name=w.unique("target key "),
                                              role=Role.jurisdiction_staff, jurisdiction_id=jid))
    return key


def _public_asset(w: World, jid: int) -> tuple[Any, str]:
    """An asset of ``jid`` shown in the public window and open to a submission."""
    for asset in w.session.scalars(select(Asset).where(Asset.jurisdiction_id == jid)
                                   .order_by(Asset.id)):
        if not asset.public_groups:
            continue
        kind = public.open_for(public.get(session=w.session, asset_id=asset.id))
        if kind is not None:
            return asset, kind
    pytest.fail(f"the demo data has no public asset of jurisdiction {jid} open to proposals; "
                "the matrix needs one per scenario (see BUILDERS)")


def _proposal(w: World, jid: int) -> Any:
    asset, kind = w.row("asset", "own" if jid == w.jurisdiction["own"] else "other")
    return property_service.submit_proposal(
        session=w.session, actor=principal(Role.public), asset_id=asset.id,
        data=ProposalIn(kind=kind, name="Matrix Neighbor", contact_email="n@demo.govshare.org",
                        proposed_use="community garden",
                        description="A garden for the whole block, run by neighbors."))


def _service_request(w: World, jid: int) -> Any:
    """A request submitted in downtown Seattle, then owned by ``jid`` (set directly: which
    member owns which service where is the catalog's business, not this test's)."""
    region_id = _region_id(w)
    for svc in fo_queries.search_services(session=w.session, region_id=region_id,
                                          accepts_requests=True):
        try:
            with w.session.begin_nested():
                req = fo_service.submit_request(
                    session=w.session, actor=SYSTEM, region_id=region_id,
                    data=RequestIn(service_code=svc.code, lat=47.6062, lon=-122.3321,
                                   description="matrix request"))
        except Exception:
            continue
        req.jurisdiction_id = jid
        return req
    pytest.fail("no service in the demo catalog takes a plain request in downtown Seattle")


def _subscription(w: World, jid: int) -> Any:
    sub = w.session.scalars(select(AgencySubscription)
                            .where(AgencySubscription.jurisdiction_id == jid)
                            .order_by(AgencySubscription.id)).first()
    if sub is None:
        pytest.fail(f"the demo data has no tell-us-once subscription of jurisdiction {jid}")
    return sub


def _life_report(w: World, jid: int) -> Any:
    """A report from the public awaiting verification, told to one of ``jid``'s agencies."""
    sub = _subscription(w, jid)
    event = sub.event_types[0]
    today = utcnow().date()
    person = {f.name: (("1950-01-01" if "birth" in f.name and "child" not in f.name
                        else (today - timedelta(days=10)).isoformat())
                       if f.kind == "date" else "Matrix Person")
              for f in tellusonce_calc.EVENTS[event].fields}
    return tellusonce_service.report_life_event(
        session=w.session, actor=principal(Role.public), region_id=_region_id(w), event=event,
        person=person, subscription_ids=[sub.id], consent_given=True,
        secret_key=w.app.state.secret_key, retention_days=30,
        verification_details={"contact": "matrix@example.org"})


def _media(w: World, jid: int) -> str:
    folder = Path(w.app.state.settings.data_dir) / "media"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "matrix-photo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    return "matrix-photo.png"


def _vehicle(w: World, jid: int) -> Any:
    """A vehicle of ``jid`` (the demo's synthetic fleet has some for every member)."""
    return w.session.scalars(select(FleetVehicle).where(FleetVehicle.jurisdiction_id == jid)
                             .order_by(FleetVehicle.id)).first()
def _site_scenario_body(w: World) -> dict[str, Any]:
    return {"name": w.unique("Matrix center "), "rent_baseline_usd_ft2": 30,
            "roles": [{"name": "Analysts", "headcount": 20, "salary_usd": 60000}],
            "baseline_fips": "53033",
            "candidates": {"kind": "list", "fips": ["53033", "53077", "53041"]}}


def _site_scenario(w: World, jid: int) -> Any:
    """A region's scenario: not a member's row (every staff member reads it)."""
    return sites_service.create_scenario(
        session=w.session, actor=SYSTEM, region_id=_region_id(w),
        data=ScenarioIn.model_validate(_site_scenario_body(w)))


def _case(w: World, jid: int) -> Any:
    """A casebook proposal whose one member is ``jid`` (others' staff: it does not exist)."""
    return casebook_service.create_proposal(
        session=w.session, actor=SYSTEM, region_id=_region_id(w),
        data=CaseIn(name=w.unique("Matrix case "), service="payroll", start_year=2027,
                    horizon_years=3, shared_annual=1000,
                    members=[{"jurisdiction_id": jid, "staff": 5000}]))


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 3), (0, 90, 160)).save(out, "PNG")
    return out.getvalue()


def _asset_photo(w: World, scenario: str) -> Any:
    """A fresh photo of the scenario's public asset each time (the remove routes delete it),
    the asset publishing its photos so that the public photo route shows it."""
    asset = w.row("asset", scenario)[0]
    if "photos" not in (asset.public_groups or []):
        asset.public_groups = [*asset.public_groups, "photos"]
    photo = property_service.add_photo(session=w.session, actor=SYSTEM, asset_id=asset.id,
                                       content=_png(), data=PhotoIn(alt_text="Matrix photo"))
    w.session.flush()
    return photo


def _carbon_target(w: World, jid: int) -> Any:
    """A fresh reduction target of ``jid`` each time: the delete route removes it."""
    tgt = CarbonTarget(region_id=_region_id(w), jurisdiction_id=jid, base_year=2016,
                       target_year=2030, reduction_pct=50, label=w.unique("Matrix target "))
    w.session.add(tgt)
    w.session.flush()
    return tgt


def _carbon_measure(w: World, jid: int) -> Any:
    """A fresh planned measure of ``jid`` each time: the delete route removes it."""
    m = CarbonMeasure(jurisdiction_id=jid, kind="other", name=w.unique("Matrix measure "),
                      start_year=2027, t_co2e_per_year=1.0)
    w.session.add(m)
    w.session.flush()
    return m


BUILDERS: dict[str, Callable[[World, int], Any]] = {
    "vehicle": _vehicle,
    "user": _target_user, "apikey": _target_key, "asset": _public_asset,
    "proposal": _proposal, "request": _service_request, "subscription": _subscription,
    "media": _media, "life_report": _life_report, "site_scenario": _site_scenario,
    "case": _case,
}


# --------------------------------------------------------------------------- tables to keep up


@dataclass(frozen=True)
class Target:
    value: Any
    owner: int | None = None  # the jurisdiction owning the row, if the route acts on one
    private: bool = False  # the row does not exist for other members (404), see tenancy


# Path parameter name -> the value for a scenario. Add one for every new parameter name.
PathValue = Callable[[World, str], Target]
PATH_VALUES: dict[str, PathValue] = {
    "jurisdiction_id": lambda w, s: Target(w.jurisdiction[s], w.jurisdiction[s]),
    "user_id": lambda w, s: Target(w.row("user", s).id, w.jurisdiction[s], private=True),
    "apikey_id": lambda w, s: Target(w.row("apikey", s).id, w.jurisdiction[s], private=True),
    "asset_id": lambda w, s: Target(w.row("asset", s)[0].id, w.jurisdiction[s], private=True),
    "proposal_id": lambda w, s: Target(w.row("proposal", s).id, w.jurisdiction[s],
                                       private=True),
    "request_id": lambda w, s: Target(w.row("request", s).id, w.jurisdiction[s], private=True),
    "subscription_id": lambda w, s: Target(w.row("subscription", s).id, w.jurisdiction[s],
                                           private=True),
    "vehicle_id": lambda w, s: Target(w.row("vehicle", s).id, w.jurisdiction[s], private=True),
    "case_id": lambda w, s: Target(w.row("case", s).id, w.jurisdiction[s], private=True),
    "photo_id": lambda w, s: Target(_asset_photo(w, s).id, w.jurisdiction[s], private=True),
    # fresh rows, not cached: the routes that take them delete them
    "target_id": lambda w, s: Target(_carbon_target(w, w.jurisdiction[s]).id,
                                     w.jurisdiction[s], private=True),
    "measure_id": lambda w, s: Target(_carbon_measure(w, w.jurisdiction[s]).id,
                                      w.jurisdiction[s], private=True),
    "reference": lambda w, s: Target(w.row("life_report", s).reference, w.jurisdiction[s],
                                     private=True),
    # a region's own row (no member owns it)
    "scenario_id": lambda w, s: Target(w.row("site_scenario", "own").id),
    # public facts: the same for every scenario
    "fips": lambda w, s: Target("53033"),
    "fmt": lambda w, s: Target("csv"),
    "report_token": lambda w, s: Target("no-such-report-token"),
    "life_event": lambda w, s: Target(next(iter(LIFE_EVENTS))),
    "service_code": lambda w, s: Target(_service_code(w)),
    "name": lambda w, s: Target(w.row("media", "own")),
    "response_format": lambda w, s: Target("json"),
    "service_request_id": lambda w, s: Target(w.row("request", "own").public_id),
    "token": lambda w, s: Target(w.row("request", "own").token),
    "open311_path": lambda w, s: Target("no-such-resource.json"),
    "set_name": lambda w, s: Target("epa-hub-2025"),
}


def _service_code(w: World) -> str:
    svc = w.session.get(Service, w.row("request", "own").service_id)
    assert svc is not None
    return svc.code


# Routes that show anyone the public view of a row that is otherwise private to its owner.
PUBLIC_VIEW = {
    "GET /api/v1/public/assets/{asset_id}",
    "GET /api/v1/public/assets/{asset_id}/proposals",
    "POST /api/v1/public/assets/{asset_id}/proposals",
    "GET /property/public/{asset_id}",
    "GET /property/public/{asset_id}/photos/{photo_id}",
    "GET /property/public/{asset_id}/photos/{photo_id}/thumb",
    "POST /property/public/{asset_id}/proposals",
    "GET /property/proposals/{proposal_id}",
}
# Routes whose answer to an allowed caller is 404 by design (a catch-all for unknown paths).
NOT_FOUND_BY_DESIGN = {f"{m} /open311/v2/{{open311_path:path}}"
                       for m in ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")} | {
    # an import's error report exists only for the one who uploaded the file, for an hour
    "GET /casebook/import-reports/{report_token}.csv",
    # a background solve exists only in the process running it, for its region (core.jobs)
    "POST /property/consolidation/cancel",
    # off (404) unless an identity provider is configured; tests/tellusonce/test_identity.py
    "POST /tell-us-once/identity", "GET /tell-us-once/identity/callback"}
# Rules a route adds to the policy, by route id: role -> expected status. Each one is a
# deliberate exception, with its reason.
EXTRA_RULES: dict[str, dict[Role, int]] = {
    # GeoReport v2: submitting needs an api_key, although the policy lets anyone submit a
    # request (through the web form); the public without a key gets the spec's 403.
    "POST /open311/v2/requests.{response_format}": {Role.public: 403},
    # A consolidation plan spans every member: a member's admin plans its own carbon but
    # never runs the region's plan (property.consolidate), so it cannot add one either.
    "POST /api/v1/property/consolidation/carbon-measures": {Role.jurisdiction_admin: 403},
    "POST /property/consolidation/carbon-measures": {Role.jurisdiction_admin: 403},
}


@dataclass
class Body:
    json: Any = None
    data: dict[str, Any] | None = None
    files: dict[str, tuple[str, bytes, str]] | None = None
    params: dict[str, Any] | None = None


def _proposal_form(w: World, asset_scenario: str) -> dict[str, str]:
    _asset, kind = w.row("asset", asset_scenario)
    return {"kind": kind, "name": "Matrix Neighbor", "organization": "",
            "contact_email": "n@demo.govshare.org", "proposed_use": "community garden",
            "description": "A garden for the whole block, run by neighbors."}


def _scenario(w: World, j: int) -> str:
    return "own" if j == w.jurisdiction["own"] else "other"


# Route id -> a minimal valid body for the scenario's jurisdiction ``j``. Required for every
# route that declares body or form fields; optional for routes that read the form themselves.
BODIES: dict[str, Callable[[World, int], Body]] = {
    # JSON API: regions, geo
    "POST /api/v1/jurisdictions": lambda w, j: Body(json={
        "name": w.unique("Matrix Town "), "kind": "city", "parent_id": w.county}),
    "PATCH /api/v1/jurisdictions/{jurisdiction_id}": lambda w, j: Body(
        json={"population": 12345}),
    "PUT /api/v1/jurisdictions/{jurisdiction_id}/boundary": lambda w, j: Body(json=SQUARE),
    "POST /api/v1/users": lambda w, j: Body(json={
        "email": w.unique("matrix.user") + "@demo.govshare.org", "full_name": "Matrix User",
        "password": "matrix-password-1", "role": "jurisdiction_staff", "jurisdiction_id": j}),
    "PATCH /api/v1/users/{user_id}": lambda w, j: Body(json={"full_name": "Renamed Target"}),
    "POST /api/v1/apikeys": lambda w, j: Body(json={
        "name": w.unique("matrix key "), "role": "jurisdiction_staff", "jurisdiction_id": j}),
    # JSON API: property
    "POST /api/v1/assets": lambda w, j: Body(params={"jurisdiction_id": j}, json={
        "asset_code": w.unique("MATRIX-"), "name": "Matrix Hall", "use": "office"}),
    "PUT /api/v1/assets/{asset_id}": lambda w, j: Body(json={
        "asset_code": w.unique("MATRIX-"), "name": "Matrix Hall", "use": "office"}),
    "POST /api/v1/assets/{asset_id}/status": lambda w, j: Body(json={
        "to_status": "under_used", "reason": "matrix"}),
    "POST /api/v1/assets/{asset_id}/photos": lambda w, j: Body(
        data={"alt_text": "Matrix photo"}, files={"photo": ("m.png", _png(), "image/png")}),
    "PUT /api/v1/property/parameters": lambda w, j: Body(json={}),
    # JSON API: fleet
    "POST /api/v1/fleet/vehicles": lambda w, j: Body(params={"jurisdiction_id": j}, json={
        "unit_id": w.unique("MATRIX-V"), "vehicle_class": "sedan"}),
    "PUT /api/v1/fleet/vehicles/{vehicle_id}": lambda w, j: Body(json={
        "unit_id": w.unique("MATRIX-V"), "vehicle_class": "sedan"}),
    "POST /api/v1/fleet/vehicles/{vehicle_id}/status": lambda w, j: Body(json={
        "to_status": "reserve", "reason": "matrix"}),
    "POST /api/v1/fleet/vehicles/{vehicle_id}/readings": lambda w, j: Body(json={
        "read_at": "2025-12-31T08:00:00", "miles": 123456}),
    "POST /api/v1/fleet/imports/fuel": lambda w, j: Body(params={"jurisdiction_id": j}, files={
        "file": ("fuel.csv", FUEL_CSV, "text/csv")}),
    "POST /api/v1/fleet/imports/trips": lambda w, j: Body(params={"jurisdiction_id": j}, files={
        "file": ("trips.csv", b"vehicle,started_at,ended_at,miles\n", "text/csv")}),
    "PUT /api/v1/fleet/parameters": lambda w, j: Body(json={}),
    "POST /api/v1/proposals/{proposal_id}/decision": lambda w, j: Body(json={
        "to_status": "under_review"}),
    "POST /api/v1/public/assets/{asset_id}/proposals": lambda w, j: Body(
        json=_proposal_form(w, _scenario(w, j))),
    # pages: regions, geo (CSRF token added by the test)
    "POST /login": lambda w, j: Body(data={"email": "analyst@demo.govshare.org",
                                           "password": DEMO_PASSWORD, "next": "/admin"}),
    "POST /admin/jurisdictions": lambda w, j: Body(data={
        "name": w.unique("Matrix Page Town "), "kind": "city", "parent_id": str(w.county)}),
    "POST /admin/jurisdictions/{jurisdiction_id}/boundary": lambda w, j: Body(
        data={"repair": ""},
        files={"file": ("square.geojson", json.dumps(SQUARE).encode(), "application/json")}),
    "POST /property/assets/{asset_id}/photos": lambda w, j: Body(
        data={"alt_text": "Matrix photo"}, files={"photo": ("m.png", _png(), "image/png")}),
    "POST /admin/address-points": lambda w, j: Body(
        data={"source": w.unique("Matrix points ")},
        files={"file": ("points.csv", b"LON,LAT,NUMBER,STREET\n-122.3,47.6,1,Matrix St\n",
                        "text/csv")}),
    "POST /admin/users": lambda w, j: Body(data={
        "email": w.unique("matrix.page") + "@demo.govshare.org", "full_name": "Matrix Page",
        "password": "matrix-password-1", "role": "jurisdiction_staff",
        "jurisdiction_id": str(j)}),
    "POST /admin/users/{user_id}": lambda w, j: Body(data={"is_active": "true"}),
    "POST /admin/time-zone": lambda w, j: Body(data={"time_zone": "America/Denver"}),
    "POST /admin/users/{user_id}/edit": lambda w, j: Body(data={
        "full_name": "Edited Target", "role": "jurisdiction_staff", "jurisdiction_id": str(j)}),
    "POST /admin/apikeys": lambda w, j: Body(data={
        "name": w.unique("matrix page key "), "role": "jurisdiction_staff",
        "jurisdiction_id": str(j)}),
    # pages: property
    "POST /fleet/vehicles/{vehicle_id}/status": lambda w, j: Body(data={
        "to_status": "reserve", "reason": "matrix"}),
    "POST /property/assets/{asset_id}/status": lambda w, j: Body(data={
        "to_status": "under_used", "reason": "matrix"}),
    "POST /property/assets/{asset_id}/interchangeable": lambda w, j: Body(data={
        "interchangeable": "no"}),
    "POST /property/consolidation/cancel": lambda w, j: Body(data={"job": "matrix-no-such-job"}),
    "POST /property/proposals/{proposal_id}/decide": lambda w, j: Body(data={
        "to_status": "under_review", "public_reason": "", "note": "matrix"}),
    "POST /property/public/{asset_id}/proposals": lambda w, j: Body(data={
        **_proposal_form(w, _scenario(w, j)), "website": ""}),
    # pages: front office, tell us once, outbox
    "POST /staff/requests/{request_id}": lambda w, j: Body(data={"note": "matrix note"}),
    "POST /staff/tell-us-once/subscriptions": lambda w, j: Body(data={
        "jurisdiction_id": str(j), "name": w.unique("Matrix agency "),
        "purpose": "To keep our records of residents up to date.",
        "webhook_url": "https://agency.example.org/hook", "event_types": ["birth"]}),
    "POST /staff/tell-us-once/subscriptions/{subscription_id}": lambda w, j: Body(
        data={"action": "activate"}),
    "POST /staff/tell-us-once/reports/{reference}/verify": lambda w, j: Body(data={
        "evidence_kind": "records_match", "evidence_reference": ""}),
    "POST /staff/tell-us-once/reports/{reference}/reject": lambda w, j: Body(data={
        "reason": "matrix"}),
    "POST /tell-us-once/identity": lambda w, j: Body(data={"event": "death"}),
    "POST /tell-us-once/identity/forget": lambda w, j: Body(data={"event": "death"}),
    "POST /outbox/requeue": lambda w, j: Body(data={"message_id": "", "destination": ""}),
    # carbon
    "POST /api/v1/carbon/targets": lambda w, j: Body(json={
        "jurisdiction_id": j, "base_year": 2016, "target_year": 2030, "reduction_pct": 50,
        "label": "Matrix target"}),
    "POST /api/v1/carbon/measures": lambda w, j: Body(json={
        "jurisdiction_id": j, "kind": "other", "name": "Matrix measure", "start_year": 2027,
        "t_co2e_per_year": 1}),
    "POST /api/v1/carbon/gwp-sets": lambda w, j: Body(
        data={"name": w.unique("matrix-gwp-"), "source": "matrix"},
        files={"file": ("g.csv", b"gas,value\nCO2,1\nCH4,30\n", "text/csv")}),
    # a use the demo has none of: the plan refuses (400) without a long solve
    "POST /api/v1/property/consolidation/carbon-measures": lambda w, j: Body(json={
        "use": "park", "start_year": 2027}),
    "POST /property/consolidation/carbon-measures": lambda w, j: Body(data={
        "use": "park", "start_year": "2027"}),
    "POST /api/v1/carbon/factor-sets": lambda w, j: Body(
        data={"name": w.unique("matrix-set-").lower(), "title": "Matrix set", "edition": "1",
              "publisher": "matrix", "year_from": "2000", "year_to": "2030"},
        files={"file": ("f.csv", b"activity,gas,value,unit\nnatural_gas,CO2e,50,kg/mmbtu\n",
                        "text/csv")}),
    # sites: API and pages
    "POST /api/v1/sites/scenarios": lambda w, j: Body(json=_site_scenario_body(w)),
    "PUT /api/v1/sites/scenarios/{scenario_id}": lambda w, j: Body(
        json=_site_scenario_body(w)),
    "PUT /api/v1/sites/scenarios/{scenario_id}/choice": lambda w, j: Body(json={"fips": None}),
    "POST /api/v1/sites/scenarios/{scenario_id}/candidates": lambda w, j: Body(
        files={"file": ("rents.csv", b"fips,rent_usd_ft2\r\n53077,18\r\n", "text/csv")}),
    # casebook: API and pages
    "POST /api/v1/casebook/proposals": lambda w, j: Body(json=_case_json(w, j)),
    "PUT /api/v1/casebook/proposals/{case_id}": lambda w, j: Body(json=_case_json(w, j)),
    "POST /api/v1/casebook/proposals/from-consolidation": lambda w, j: Body(json={
        "use": "park", "start_year": 2027}),
    "POST /api/v1/casebook/proposals/{case_id}/status": lambda w, j: Body(json={
        "status": "adopted"}),
    "POST /api/v1/casebook/proposals/{case_id}/scenarios": lambda w, j: Body(json={
        "name": "Matrix scenario"}),
    "POST /api/v1/casebook/proposals/{case_id}/actuals": lambda w, j: Body(json={
        "jurisdiction_id": j, "year": 2027, "actual": 1}),
    "POST /api/v1/casebook/proposals/{case_id}/actuals/import": lambda w, j: Body(files={
        "file": ("actuals.csv", f"member,year,actual\r\n{j},2027,1\r\n".encode(),
                 "text/csv")}),
    "POST /api/v1/casebook/proposals/from-sited-center": lambda w, j: Body(json={
        "scenario_id": w.row("site_scenario", "own").id, "start_year": 2027}),
    "POST /api/v1/casebook/proposals/from-fleet-pool": lambda w, j: Body(json={
        "start_year": 2027}),
    "POST /casebook/from-sited-center": lambda w, j: Body(data={
        "scenario_id": str(w.row("site_scenario", "own").id)}),
    "POST /casebook/{case_id}/status": lambda w, j: Body(data={"status": "adopted"}),
    "POST /casebook/{case_id}/scenario": lambda w, j: Body(data={"name": "Matrix scenario"}),
    "POST /casebook/{case_id}/actuals": lambda w, j: Body(data={
        "jurisdiction_id": str(j), "year": "2027", "actual": "1"}),
    "POST /casebook/{case_id}/actuals/import": lambda w, j: Body(files={
        "file": ("actuals.csv", f"member,year,actual\r\n{j},2027,1\r\n".encode(),
                 "text/csv")}),
}


def _case_json(w: World, j: int) -> dict[str, Any]:
    return {"name": w.unique("Matrix case "), "service": "it", "start_year": 2027,
            "members": [{"jurisdiction_id": j, "staff": 1000}]}

# Routes whose body names the jurisdiction acted on (``j``): run for own and other.
SCOPED_BODIES = {
    "POST /api/v1/users", "POST /api/v1/apikeys", "POST /api/v1/assets", "POST /admin/users",
    "POST /admin/users/{user_id}/edit", "POST /admin/apikeys",
    "POST /staff/tell-us-once/subscriptions", "POST /api/v1/carbon/targets",
    "POST /api/v1/carbon/measures",
}
OWNED_PARAMS = {name for name in PATH_VALUES if name.endswith("_id")} - {
    "service_request_id", "scenario_id"}

# Route id -> query string that makes an allowed request succeed rather than ask for input.
QUERIES: dict[str, dict[str, str]] = {
    "GET /api/v1/locate": {"zip": "98104"},
    "GET /locate": {"zip": "98104"},
}


# --------------------------------------------------------------------------- table checks


def route_problems(routes: list[RouteInfo]) -> list[str]:
    """Everything that keeps a route out of the matrix, one line each, naming the route."""
    out = []
    for r in routes:
        if not r.actions:
            out.append(f"{r.id}: declares no policy Action "
                       "(add `Depends(allow(Action.<x>))` from govshare.core.http)")
        elif len(r.actions) > 1:
            out.append(f"{r.id}: declares several Actions {[a.value for a in r.actions]}; "
                       "a route declares exactly one")
        for name in r.path_params:
            if name not in PATH_VALUES:
                out.append(f"{r.id}: path parameter {{{name}}} has no value in PATH_VALUES "
                           f"of {__name__}; add one (own and other jurisdiction)")
        if r.body_params and r.id not in BODIES:
            out.append(f"{r.id}: takes a body {list(r.body_params)} but BODIES of {__name__} "
                       "has no minimal valid one; add it so 'allowed' is told from 'denied'")
    return out


def test_tables_are_consistent() -> None:
    assert set(BODIES) >= SCOPED_BODIES
    assert set(PATH_VALUES) >= OWNED_PARAMS
    assert {"user_id", "apikey_id", "asset_id", "jurisdiction_id"} <= OWNED_PARAMS


def test_every_route_declares_one_action_and_has_matrix_inputs() -> None:
    problems = route_problems(ROUTES)
    assert not problems, "\n".join(problems)


def test_stale_table_entries_are_refused() -> None:
    """Entries for routes that no longer exist would hide a renamed route."""
    ids = {r.id for r in ROUTES}
    tables = set(BODIES) | set(QUERIES) | PUBLIC_VIEW | NOT_FOUND_BY_DESIGN | set(EXTRA_RULES)
    stale = sorted(tables - ids)
    assert not stale, f"the matrix's tables name routes that do not exist: {stale}"


def test_route_walk_sees_every_openapi_operation() -> None:
    """The walk must see at least what FastAPI publishes, or the matrix tests too little."""
    app = offline_app()
    seen = {(r.method, r.path) for r in ROUTES}
    published = {(m.upper(), p) for p, ops in app.openapi()["paths"].items() for m in ops}
    assert published - seen == set()
    assert {("GET", "/admin"), ("POST", "/admin/users/{user_id}"), ("GET", "/locate")} <= seen


def test_the_checks_catch_an_undeclared_route_and_an_unknown_parameter() -> None:
    """The matrix's own guard rails, on a throwaway app."""
    router = APIRouter()

    @router.get("/bare/{widget_id}")
    def bare(widget_id: int) -> dict[str, int]:
        return {"id": widget_id}

    @router.get("/nested")
    def nested(_: Any = Depends(lambda p=Depends(allow(Action.audit_read)): p)) -> None:
        return None

    app = FastAPI()
    app.include_router(router)
    routes = {r.id: r for r in route_table(app)}
    assert routes["GET /nested"].action is Action.audit_read  # found two levels deep
    problems = route_problems(list(routes.values()))
    assert any(p.startswith("GET /bare/{widget_id}: declares no policy Action")
               for p in problems), problems
    assert any("{widget_id} has no value in PATH_VALUES" in p for p in problems), problems


# --------------------------------------------------------------------------- the matrix


@dataclass
class Outcome:
    route: RouteInfo
    role: Role
    scenario: str
    expected: bool
    why: str  # "policy" (the role may not), "scope" (not its jurisdiction), "row" (private)
    status: int
    location: str
    body: str

    def describe(self) -> str:
        want = "allowed" if self.expected else f"denied ({self.why})"
        where = f" -> {self.location}" if self.location else ""
        return (f"{self.route.id} as {self.role.value} ({self.scenario}): expected {want}, "
                f"got {self.status}{where}: {self.body[:160]!r}")


def verdict(route: RouteInfo, role: Role, own_jid: int, owner: int | None,
            private: bool) -> tuple[bool, str]:
    """What core.tenancy says: allowed?, and if not, why."""
    actor = principal(role, own_jid if role.is_jurisdictional else None)
    action = route.action
    assert action is not None
    if not allows(actor, action):
        return False, "policy"
    if private and route.id not in PUBLIC_VIEW and owner is not None \
            and not can_see_jurisdiction_rows(actor, owner):
        return False, "row"
    if not allows(actor, action, owner):
        return False, "scope"
    return True, ""


def judge(o: Outcome) -> bool:
    """Does the response match the policy's verdict?"""
    to_login = o.status in (302, 303) and o.location.startswith("/login")
    if o.status >= 500:
        return False
    if o.route.id in EXTRA_RULES and o.role in EXTRA_RULES[o.route.id]:
        return o.status == EXTRA_RULES[o.route.id][o.role]
    if o.expected:
        if o.route.id in NOT_FOUND_BY_DESIGN:
            return o.status not in (401, 403) and not to_login
        return o.status not in (401, 403, 404) and not to_login
    if "did not come from this site" in o.body:
        return False  # a CSRF refusal proves nothing about the policy
    if o.why == "row":
        return o.status == 404  # another member's private row does not exist for you
    if o.role is Role.public:
        if o.route.path.startswith("/open311/"):
            return o.status == 403  # GeoReport v2: 403 for a missing or wrong api_key
        if not o.route.is_api and o.route.method == "GET":
            return to_login and "next=" in o.location
        return o.status == 401
    if o.why == "policy":
        return o.status == 403
    return o.status in (403, 404)  # own-scoped role, another jurisdiction's rows


def matrix_cases(route: RouteInfo) -> list[tuple[Role, str]]:
    """Role x scenario; 'other' only where a path id or the body names a jurisdiction."""
    scoped = bool(OWNED_PARAMS & set(route.path_params)) or route.id in SCOPED_BODIES
    # Pages are used by people: no person holds the Open311 client role (keys only).
    roles = [r for r in ROLES if route.is_api or r is Role.public or r in PAGE_USERS]
    return [(role, s) for role in roles for s in (SCENARIOS if scoped else ("own",))]


def test_matrix_size() -> None:
    """A floor, so that a broken route walk cannot shrink the matrix to nothing unnoticed."""
    cases = sum(len(matrix_cases(r)) for r in ROUTES)
    assert len(ROUTES) >= 37
    assert cases >= 250, cases


def _fill(path: str, name: str, value: Any) -> str:
    """Replace ``{name}`` or ``{name:convertor}``."""
    return re.sub(r"\{" + re.escape(name) + r"(:[^}]+)?\}", lambda _m: str(value), path)


@pytest.mark.parametrize("route", ROUTES, ids=[r.id for r in ROUTES])
def test_authorization_matrix(route: RouteInfo, app: Any, session: Session,
                              ids: dict[str, int]) -> None:
    problems = route_problems([route])
    assert not problems, "\n".join(problems)
    world = build_world(session, app, ids)
    own_jid = world.jurisdiction["own"]
    keys = {role: api_key(session, role, own_jid if role.is_jurisdictional else None,
                          name=f"matrix {role.value}")
            for role in Role if role is not Role.public}
    session.commit()

    outcomes: list[Outcome] = []
    with contextlib.ExitStack() as stack:
        clients: dict[Role, TestClient] = {}
        csrf: dict[Role, str] = {}

        def client_for(role: Role) -> TestClient:
            if role not in clients:
                c = stack.enter_context(TestClient(app, base_url="http://testserver"))
                if not route.is_api and role is not Role.public:
                    sign_in(c, session, PAGE_USERS[role])
                    session.commit()
                if not route.is_api and route.is_write:
                    csrf[role] = csrf_from(c.get("/login").text)
                clients[role] = c
            return clients[role]

        for role, scenario in matrix_cases(route):
            c = client_for(role)
            path, owner, private = route.path, None, False
            for name in route.path_params:
                target = PATH_VALUES[name](world, scenario)
                path = _fill(path, name, target.value)
                if name in OWNED_PARAMS and owner is None:
                    owner, private = target.owner, target.private
            jid = world.jurisdiction[scenario]
            body = BODIES[route.id](world, jid) if route.id in BODIES else Body()
            if route.id in SCOPED_BODIES and owner is None:
                owner = jid
            session.commit()  # rows the builders made are visible to the app's session
            headers = {"Authorization": f"Bearer {keys[role]}"} if (
                route.is_api and role is not Role.public) else {}
            data = body.data
            if not route.is_api and route.is_write:
                data = {**(data or {}), "csrf_token": csrf[role]}
            params = {**QUERIES.get(route.id, {}), **(body.params or {})} or None
            r = c.request(route.method, path, params=params, headers=headers,
                          json=body.json, data=data, files=body.files, follow_redirects=False)
            expected, why = verdict(route, role, own_jid, owner, private)
            outcomes.append(Outcome(route, role, scenario, expected, why, r.status_code,
                                    r.headers.get("location", ""), r.text))

    wrong = [o.describe() for o in outcomes if not judge(o)]
    assert not wrong, f"{len(wrong)} of {len(outcomes)} requests broke the policy:\n" + \
        "\n".join(wrong)
    assert len(outcomes) == len(matrix_cases(route))


def test_a_real_login_reaches_the_admin_pages(client: TestClient) -> None:
    """The sign-in the matrix shortcuts, done once through the form."""
    assert client.get("/admin", follow_redirects=False).status_code == 303
    login(client, PAGE_USERS[Role.jurisdiction_admin])
    r = client.get("/admin/users")
    assert r.status_code == 200
    assert "seattle.staff@demo.govshare.org" in r.text
    assert "kingcounty.admin@demo.govshare.org" not in r.text  # another jurisdiction's staff
    assert client.get("/admin/audit").status_code == 403


def test_service_and_route_agree_on_revoking_a_key_of_another_jurisdiction(
        client: TestClient, session: Session, ids: dict[str, int]) -> None:
    """Spot check of one 'other' cell by hand: the matrix's 404 is the real thing."""
    kc_key = api_key(session, Role.jurisdiction_staff, ids["county"], name="kc")
    seattle_admin = api_key(session, Role.jurisdiction_admin, ids["city"], name="sea")
    session.commit()
    kc_id = service.find_api_key(session=session, prefix=kc_key.split("_")[1]).id
    r = client.delete(f"/api/v1/apikeys/{kc_id}",
                      headers={"Authorization": f"Bearer {seattle_admin}"})
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    # and the key still works
    assert client.get("/api/v1/me", headers={"X-API-Key": kc_key}).status_code == 200
