"""A user or key of another region cannot read or change this region's users, keys,
jurisdictions or audit log (issue 8, 2.11): every policy check compares regions.

The other region, its regional admin and its regional-admin key are made through the service
layer, as an operator could; the installation serves the first region (the demo's).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from govshare.core.errors import Forbidden, NotFound
from govshare.core.tenancy import ANONYMOUS, Action, Principal, Role, allows, authorize
from govshare.regions import queries, service
from govshare.regions.models import ApiKey, Region, User
from govshare.regions.schemas import ApiKeyCreate, UserCreate, UserUpdate
from tests.conftest import csrf_from, login

PASSWORD = "other-region-password-1"


@dataclass
class Other:
    region_id: int
    admin: Principal  # the other region's regional admin, as the service sees it
    email: str
    key: str  # the other region's regional-admin API key
    home_user: int  # a user of this region
    home_key: int  # a key of this region


@pytest.fixture
def other(session: Session, system: Principal, ids: dict[str, int]) -> Other:
    region = service.create_region(session=session, actor=system, name="Other Region")
    user = service.create_user(session=session, actor=system, region_id=region.id,
                               data=UserCreate(email="boss@other.example", full_name="Boss",
                                               password=PASSWORD, role=Role.regional_admin))
    _k, key = service.create_api_key(session=session, actor=system, region_id=region.id,
                                     data=ApiKeyCreate(name="other", role=Role.regional_admin))
    home = session.scalars(select(Region).order_by(Region.id)).first()
    assert home is not None and home.id != region.id
    home_user = session.scalars(select(User).where(User.region_id == home.id,
                                                   User.email == "seattle.staff@demo.govshare.org")
                                ).one()
    home_key = service.create_api_key(session=session, actor=system, region_id=home.id,
                                      data=ApiKeyCreate(name="home", role=Role.jurisdiction_staff,
                                                        jurisdiction_id=ids["city"]))[0]
    session.commit()
    admin = Principal(kind="user", role=Role.regional_admin, region_id=region.id,
                      user_id=user.id, name="Boss")
    return Other(region.id, admin, user.email, key, home_user.id, home_key.id)


def test_the_policy_compares_regions() -> None:
    foreign = Principal(kind="apikey", role=Role.regional_admin, region_id=2, apikey_id=9)
    assert allows(foreign, Action.user_manage)  # no region named: the role decides
    assert not allows(foreign, Action.user_manage, region_id=1)
    assert not allows(foreign, Action.audit_read, region_id=1)
    assert allows(foreign, Action.public_read, region_id=1)  # what the public may do
    with pytest.raises(Forbidden, match="another region"):
        authorize(foreign, Action.apikey_read, region_id=1)


def test_services_refuse_the_other_regions_admin(session: Session, other: Other) -> None:
    home = queries.require_current_region(session=session)
    with pytest.raises(NotFound):
        queries.get_user(session=session, actor=other.admin, user_id=other.home_user)
    with pytest.raises(NotFound):
        queries.get_api_key(session=session, actor=other.admin, apikey_id=other.home_key)
    assert queries.list_users(session=session, actor=other.admin, region_id=home.id)[1] == 0
    assert queries.list_api_keys(session=session, actor=other.admin, region_id=home.id)[1] == 0
    with pytest.raises(NotFound):
        service.update_user(session=session, actor=other.admin, user_id=other.home_user,
                            data=UserUpdate(is_active=False))
    with pytest.raises(NotFound):
        service.revoke_api_key(session=session, actor=other.admin, apikey_id=other.home_key)
    with pytest.raises(Forbidden):
        service.create_user(session=session, actor=other.admin, region_id=home.id,
                            data=UserCreate(email="x@other.example", full_name="X",
                                            password=PASSWORD, role=Role.regional_admin))
    with pytest.raises(Forbidden):
        service.create_api_key(session=session, actor=other.admin, region_id=home.id,
                               data=ApiKeyCreate(name="x", role=Role.regional_admin))


def _api_routes(o: Other, ids: dict[str, int]) -> list[tuple[str, str, dict[str, Any] | None]]:
    return [
        ("GET", "/api/v1/users", None),
        ("GET", f"/api/v1/users/{o.home_user}", None),
        ("POST", "/api/v1/users", {"email": "new@other.example", "full_name": "New",
                                   "password": PASSWORD, "role": "regional_admin"}),
        ("PATCH", f"/api/v1/users/{o.home_user}", {"is_active": False}),
        ("GET", "/api/v1/apikeys", None),
        ("POST", "/api/v1/apikeys", {"name": "sneaky", "role": "regional_admin"}),
        ("DELETE", f"/api/v1/apikeys/{o.home_key}", None),
        ("GET", "/api/v1/audit", None),
        ("POST", "/api/v1/jurisdictions", {"name": "Sneaky City", "kind": "city"}),
        ("PATCH", f"/api/v1/jurisdictions/{ids['city']}", {"name": "Renamed"}),
        ("GET", "/api/v1/me", None),
    ]


def _page_routes(o: Other, ids: dict[str, int]) -> list[tuple[str, str, dict[str, Any] | None]]:
    return [
        ("GET", "/admin", None),
        ("GET", "/admin/users", None),
        ("GET", f"/admin/users/{o.home_user}", None),
        ("POST", "/admin/users", {"email": "new@other.example", "full_name": "New",
                                  "password": PASSWORD, "role": "regional_admin"}),
        ("POST", f"/admin/users/{o.home_user}", {"is_active": "false"}),
        ("POST", f"/admin/users/{o.home_user}/edit", {"full_name": "Renamed",
                                                      "role": "regional_admin"}),
        ("GET", "/admin/apikeys", None),
        ("POST", "/admin/apikeys", {"name": "sneaky", "role": "regional_admin"}),
        ("POST", f"/admin/apikeys/{o.home_key}/revoke", {}),
        ("GET", "/admin/audit", None),
        ("GET", "/admin/jurisdictions", None),
        ("POST", "/admin/jurisdictions", {"name": "Sneaky City", "kind": "city"}),
        ("GET", f"/admin/jurisdictions/{ids['city']}/boundary", None),
    ]


def test_every_admin_route_is_in_these_lists(client: TestClient, other: Other,
                                             ids: dict[str, int]) -> None:
    listed = {(m, p) for m, p, _ in _api_routes(other, ids) + _page_routes(other, ids)}
    templates = {(m, p.replace(str(other.home_user), "{user_id}")
                  .replace(str(other.home_key), "{apikey_id}")
                  .replace(f"/{ids['city']}", "/{jurisdiction_id}")) for m, p in listed}
    admin = ("/admin", "/api/v1/users", "/api/v1/apikeys", "/api/v1/audit", "/api/v1/me")
    missing = []
    for route in client.app.routes:  # type: ignore[attr-defined]
        path = getattr(route, "path", "")
        if not path.startswith(admin) and path not in ("/api/v1/jurisdictions",
                                                       "/api/v1/jurisdictions/{jurisdiction_id}"):
            continue
        for method in getattr(route, "methods", ()):
            if method in ("GET", "POST", "PATCH", "PUT", "DELETE") and \
                    (method, path) not in templates and not (
                    method == "GET" and path.startswith("/api/v1/jurisdictions")):
                missing.append(f"{method} {path}")
    assert not [m for m in missing if "boundary" not in m], missing


def test_a_key_of_another_region_is_refused_by_every_admin_api_route(
        client: TestClient, session: Session, other: Other, ids: dict[str, int]) -> None:
    headers = {"Authorization": f"Bearer {other.key}"}
    for method, path, body in _api_routes(other, ids):
        r = client.request(method, path, json=body, headers=headers)
        assert r.status_code == 403, (method, path, r.status_code, r.text)
        assert "another region" in r.json()["detail"]
    session.expire_all()
    assert session.get(User, other.home_user).is_active  # type: ignore[union-attr]
    assert session.get(ApiKey, other.home_key).revoked_at is None  # type: ignore[union-attr]
    assert session.scalars(select(User).where(User.email == "new@other.example")).first() is None
    # The public reads stay open to it, as to anyone.
    assert client.get("/api/v1/region", headers=headers).status_code == 200


def test_a_user_of_another_region_is_refused_by_every_admin_page(
        client: TestClient, session: Session, other: Other, ids: dict[str, int]) -> None:
    login(client, other.email, PASSWORD)
    home = client.get("/")
    assert home.status_code == 200
    assert 'href="/admin"' not in home.text and 'href="/staff/requests"' not in home.text
    token = csrf_from(client.get("/login").text)
    for method, path, form in _page_routes(other, ids):
        data = None if form is None else {**form, "csrf_token": token}
        r = client.request(method, path, data=data, follow_redirects=False)
        assert r.status_code == 403, (method, path, r.status_code)
    session.expire_all()
    user = session.get(User, other.home_user)
    assert user is not None and user.is_active and user.full_name != "Renamed"
    assert session.get(ApiKey, other.home_key).revoked_at is None  # type: ignore[union-attr]


def test_every_route_the_public_may_not_use_refuses_the_other_region(
        app: Any, session: Session, other: Other) -> None:
    """Beyond the admin routes: every route whose action the public may not take answers 403
    to the other region's regional admin, by key on the API and signed in on the pages."""
    from tests.contract.routes import route_table  # the app's own route walk

    routes = [r for r in route_table(app)
              if r.action is not None and not allows(ANONYMOUS, r.action)]
    assert len(routes) >= 40
    wrong = []
    with TestClient(app, base_url="http://testserver") as api, \
            TestClient(app, base_url="http://testserver") as pages:
        login(pages, other.email, PASSWORD)
        token = csrf_from(pages.get("/login").text)
        for r in routes:
            path = re.sub(r"\{[^}]+\}", lambda m: "json" if "format" in m.group(0) else "1",
                          r.path)
            if r.is_api:
                resp = api.request(r.method, path,
                                   headers={"Authorization": f"Bearer {other.key}"})
            else:
                resp = pages.request(r.method, path, follow_redirects=False,
                                     data={"csrf_token": token} if r.is_write else None)
            if resp.status_code != 403:
                wrong.append(f"{r.id}: {resp.status_code}")
    assert not wrong, wrong


# ----------------------------------------------------- every domain's service, not just admin

def _signed_in(session: Session, other: Other) -> Principal:
    """The other region's admin exactly as a request would carry it (from its API key)."""
    p = service.principal_for_api_key(session=session, plaintext=other.key)
    assert p is not None and p.role is Role.regional_admin
    assert p.region_members is not None and p.region_members.isdisjoint(
        queries.member_ids(session=session,
                           region_id=queries.require_current_region(session=session).id))
    return p


def test_a_principal_carries_its_regions_members(session: Session, other: Other,
                                                 ids: dict[str, int]) -> None:
    foreign = _signed_in(session, other)
    # A member's row of this region is another region's row for the foreign admin ...
    assert not allows(foreign, Action.property_manage, ids["city"])
    assert not allows(foreign, Action.fleet_manage, ids["county"])
    with pytest.raises(NotFound, match="Jurisdiction not found"):  # not there, for it
        authorize(foreign, Action.request_manage, ids["city"])
    # ... while a public action stays open, as to anyone.
    assert allows(foreign, Action.public_read, ids["city"])


def test_every_domain_service_refuses_the_other_regions_admin(
        session: Session, other: Other, ids: dict[str, int]) -> None:
    from govshare.carbon import service as carbon
    from govshare.carbon.schemas import TargetIn
    from govshare.casebook import queries as casebook_queries
    from govshare.casebook.models import CaseProposal
    from govshare.fleet import planning as fleet_planning
    from govshare.fleet import service as fleet
    from govshare.fleet.schemas import VehicleIn
    from govshare.frontoffice import service as frontoffice
    from govshare.property import planning as property_planning
    from govshare.property import service as prop
    from govshare.property.models import Asset
    from govshare.property.schemas import AssetIn
    from govshare.sites import service as sites

    foreign = _signed_in(session, other)
    home = queries.require_current_region(session=session).id
    asset = session.scalars(select(Asset).where(Asset.jurisdiction_id == ids["city"])).first()
    assert asset is not None
    name_before = asset.name
    refused = (Forbidden, NotFound)
    with pytest.raises(refused):
        prop.create_asset(session=session, actor=foreign, jurisdiction_id=ids["city"],
                          data=AssetIn(asset_code="X-1", name="Sneaky", use="office"))
    with pytest.raises(refused):
        prop.update_asset(session=session, actor=foreign, asset_id=asset.id,
                          data=AssetIn(asset_code=asset.asset_code, name="Renamed", use="office"))
    with pytest.raises(refused):
        property_planning.plan(session=session, actor=foreign, region_id=home, use="office")
    with pytest.raises(refused):
        fleet.create_vehicle(session=session, actor=foreign, jurisdiction_id=ids["county"],
                             data=VehicleIn(unit_id="SNEAK-1", vehicle_class="sedan",
                                            fuel_type="gasoline"))
    with pytest.raises(refused):
        fleet_planning.rightsizing(session=session, actor=foreign, region_id=home)
    with pytest.raises(refused):
        fleet_planning.pooling(session=session, actor=foreign, region_id=home)
    with pytest.raises(refused):
        sites.clear_candidates(session=session, actor=foreign, region_id=home, scenario_id=1)
    with pytest.raises(refused):
        carbon.add_target(session, foreign, TargetIn(base_year=2019, target_year=2030,
                                                     reduction_pct=50, label="Sneaky"))
    with pytest.raises(refused):
        carbon.progress(session, foreign)
    with pytest.raises(refused):
        frontoffice.save_journey(session=session, actor=foreign, region_id=home,
                                 life_event="moving", title="Sneaky", summary="", steps=[])
    proposal = session.scalars(select(CaseProposal).where(CaseProposal.region_id == home)).first()
    assert proposal is not None, "the test region holds the demo's casebook"
    with pytest.raises(NotFound):
        casebook_queries.get_proposal(session=session, actor=foreign, proposal_id=proposal.id)
    session.expire_all()
    assert session.get(Asset, asset.id).name == name_before  # type: ignore[union-attr]
