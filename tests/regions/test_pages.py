"""Regions pages: home, sign-in, the admin forms (users, jurisdictions, API keys, audit)."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from govshare.regions.models import ApiKey, Jurisdiction, User
from tests.conftest import csrf_from, login


def test_home_lists_members_and_links_the_boundaries(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200
    for name in ("State of Washington", "King County", "City of Seattle",
                 "Seattle Public Schools", "Port of Seattle"):
        assert name in r.text
    assert 'data-src="/api/v1/boundaries.geojson' in r.text
    assert "Seattle - King County, WA" in r.text  # header carries the region name
    assert "2,233,163" in r.text  # King County 2018 estimate, with its source
    assert "Census Bureau estimate for July 1, 2018" in r.text


def test_sign_in_wrong_password_then_right(client: TestClient) -> None:
    page = client.get("/login")
    r = client.post("/login", data={"email": "admin@demo.govshare.org", "password": "nope",
                                    "csrf_token": csrf_from(page.text)})
    assert r.status_code == 400
    assert "not right" in r.text
    login(client, "admin@demo.govshare.org")
    cookie = client.cookies.get("govshare_session")
    assert cookie
    admin = client.get("/admin")
    assert admin.status_code == 200 and "Audit log" in admin.text


def test_session_cookie_flags(client: TestClient) -> None:
    page = client.get("/login")
    r = client.post("/login", data={"email": "admin@demo.govshare.org",
                                    "password": "demo-password-2026",
                                    "csrf_token": csrf_from(page.text)}, follow_redirects=False)
    header = r.headers["set-cookie"].lower()
    assert "govshare_session=" in header
    assert "httponly" in header and "samesite=lax" in header


def test_sign_out(client: TestClient) -> None:
    login(client, "analyst@demo.govshare.org")
    page = client.get("/admin")
    r = client.post("/logout", data={"csrf_token": csrf_from(page.text)}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/admin", follow_redirects=False).status_code == 303  # back to login


def test_admin_adds_a_user_through_the_form(client: TestClient, session: Session,
                                            ids: dict[str, int]) -> None:
    login(client, "admin@demo.govshare.org")
    page = client.get("/admin/users")
    r = client.post("/admin/users", data={
        "email": "facilities@seattle.example.org", "full_name": "Fran Facilities",
        "password": "a-long-enough-password", "role": "jurisdiction_staff",
        "jurisdiction_id": str(ids["city"]), "csrf_token": csrf_from(page.text)})
    assert r.status_code == 200 and "facilities@seattle.example.org" in r.text
    assert session.scalars(sa.select(User).where(
        User.email == "facilities@seattle.example.org")).one().jurisdiction_id == ids["city"]


def test_user_form_errors_name_the_field_and_save_nothing(client: TestClient,
                                                          session: Session) -> None:
    login(client, "admin@demo.govshare.org")
    before = session.scalar(sa.select(sa.func.count()).select_from(User))
    page = client.get("/admin/users")
    r = client.post("/admin/users", data={
        "email": "not-an-email", "full_name": "X", "password": "short",
        "role": "jurisdiction_staff", "jurisdiction_id": "", "csrf_token": csrf_from(page.text)})
    assert r.status_code == 422
    assert "Nothing was saved" in r.text and "email" in r.text and "password" in r.text
    assert session.scalar(sa.select(sa.func.count()).select_from(User)) == before


def test_staff_cannot_add_users(client: TestClient) -> None:
    login(client, "seattle.staff@demo.govshare.org")
    page = client.get("/admin")
    r = client.post("/admin/users", data={"email": "a@example.org", "full_name": "A",
                                          "password": "a-long-enough-password",
                                          "role": "jurisdiction_staff",
                                          "csrf_token": csrf_from(page.text)})
    assert r.status_code == 403
    assert "may not do this" in r.text


def test_jurisdiction_form_refuses_duplicates(client: TestClient, session: Session) -> None:
    login(client, "admin@demo.govshare.org")
    page = client.get("/admin/jurisdictions")
    before = session.scalar(sa.select(sa.func.count()).select_from(Jurisdiction))
    r = client.post("/admin/jurisdictions", data={"name": "King County", "kind": "county",
                                                  "csrf_token": csrf_from(page.text)})
    assert r.status_code == 409 and "already a member" in r.text
    r = client.post("/admin/jurisdictions", data={"name": "Sound Transit",
                                                  "kind": "special_district",
                                                  "population": "lots",
                                                  "csrf_token": csrf_from(page.text)})
    assert r.status_code == 422 and "whole numbers" in r.text
    assert session.scalar(sa.select(sa.func.count()).select_from(Jurisdiction)) == before


def test_api_key_is_shown_once(client: TestClient, session: Session,
                               ids: dict[str, int]) -> None:
    login(client, "seattle.admin@demo.govshare.org")
    page = client.get("/admin/apikeys")
    r = client.post("/admin/apikeys", data={"name": "Seattle 311 app",
                                            "role": "jurisdiction_staff",
                                            "jurisdiction_id": str(ids["city"]),
                                            "csrf_token": csrf_from(page.text)})
    assert r.status_code == 201 and "Copy this key now" in r.text
    assert r.headers["cache-control"] == "no-store"
    key = session.scalars(sa.select(ApiKey).where(ApiKey.name == "Seattle 311 app")).one()
    assert f"gsk_{key.prefix}_" in r.text
    again = client.get("/admin/apikeys")
    assert f"gsk_{key.prefix}_" not in again.text and f"gsk_{key.prefix}" in again.text


def test_audit_page_filters(client: TestClient) -> None:
    login(client, "admin@demo.govshare.org")
    r = client.get("/admin/audit", params={"entity": "user"})
    assert r.status_code == 200
    assert "user.create" in r.text and "jurisdiction.create" not in r.text.split("<tbody>")[1]
    # Each change is one collapsed list of the fields that changed, before and after.
    change = r.text.split('<details class="gs-audit-change">')[1].split("</details>")[0]
    summary = change.split("<summary>")[1].split("</summary>")[0]
    assert "fields: email" in summary  # a new user: every field is new, none was before
    assert '<th scope="row">email</th><td><span class="gs-json">—</span></td>' in change
    login(client, "seattle.admin@demo.govshare.org")
    assert client.get("/admin/audit").status_code == 403


def test_admin_changes_a_role_and_a_wrong_pair_is_refused(client: TestClient, session: Session,
                                                          ids: dict[str, int]) -> None:
    login(client, "admin@demo.govshare.org")
    staff = session.scalars(sa.select(User).where(
        User.email == "seattle.staff@demo.govshare.org")).one()
    page = client.get(f"/admin/users/{staff.id}")
    assert page.status_code == 200 and "Change role" in page.text
    token = csrf_from(page.text)
    r = client.post(f"/admin/users/{staff.id}/edit", data={
        "full_name": staff.full_name, "role": "regional_analyst",
        "jurisdiction_id": str(ids["city"]), "csrf_token": token})
    assert r.status_code == 400 and "regional role" in r.text
    session.refresh(staff)
    assert staff.role == "jurisdiction_staff"
    r = client.post(f"/admin/users/{staff.id}/edit", data={
        "full_name": staff.full_name, "role": "jurisdiction_admin",
        "jurisdiction_id": str(ids["city"]), "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    session.refresh(staff)
    assert staff.role == "jurisdiction_admin"


def test_jurisdiction_admin_cannot_open_another_members_user(client: TestClient,
                                                             session: Session) -> None:
    login(client, "seattle.admin@demo.govshare.org")
    county = session.scalars(sa.select(User).where(
        User.email == "kingcounty.admin@demo.govshare.org")).one()
    assert client.get(f"/admin/users/{county.id}").status_code == 404


def test_user_edit_with_a_jurisdiction_that_is_not_a_number(client: TestClient,
                                                            session: Session) -> None:
    login(client, "admin@demo.govshare.org")
    staff = session.scalars(sa.select(User).where(
        User.email == "seattle.staff@demo.govshare.org")).one()
    page = client.get(f"/admin/users/{staff.id}")
    r = client.post(f"/admin/users/{staff.id}/edit", data={
        "full_name": "X", "role": "jurisdiction_staff", "jurisdiction_id": "seattle",
        "csrf_token": csrf_from(page.text)})
    assert r.status_code == 422 and "not a jurisdiction id" in r.text
