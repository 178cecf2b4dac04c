"""Pins the error shape, the sign-in edges and the security headers.

Every API error is an RFC 9457 problem document (``application/problem+json``) with exactly
``type, title, status, detail, instance, code`` and, for per-field problems, ``errors[]`` whose
items are ``{loc, reason, value}``; ``type`` ends with ``code``, ``instance`` is the path.
Pages answer errors with the HTML error page and the same status, except a 401 on a GET,
which sends the visitor to the sign-in form and back. Clients and templates rely on these
shapes: change them here deliberately, or not at all.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session

from govshare.core import ratelimit
from govshare.core.audit import AuditEvent
from govshare.core.db import utcnow
from govshare.core.tenancy import Role
from govshare.regions import service
from govshare.regions.models import Jurisdiction, UserSession
from tests.conftest import csrf_from, login
from tests.factories.regions import api_key, principal

PROBLEM_KEYS = {"type", "title", "status", "detail", "instance", "code"}
ADMIN = "admin@demo.govshare.org"
SEATTLE_STAFF = "seattle.staff@demo.govshare.org"


def assert_problem(r: Any, status: int, code: str, path: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].split(";")[0].strip() == "application/problem+json"
    body: dict[str, Any] = r.json()
    assert PROBLEM_KEYS <= set(body) <= PROBLEM_KEYS | {"errors"}, sorted(body)
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"https://govshare.example/problems/{code}"
    assert body["instance"] == path
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    for err in body.get("errors", []):
        assert set(err) == {"loc", "reason", "value"}, err
        assert isinstance(err["loc"], list) and all(isinstance(p, str) for p in err["loc"])
        assert isinstance(err["reason"], str) and err["reason"]
    return body


@pytest.fixture
def keys(session: Session, ids: dict[str, int]) -> dict[str, str]:
    made = {"admin": api_key(session, Role.regional_admin, name="errors admin"),
            "staff": api_key(session, Role.jurisdiction_staff, ids["city"], name="errors staff")}
    session.commit()
    return made


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def count(session: Session, model: type) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model)) or 0


# --------------------------------------------------------------------------- API: problem+json


def test_400_bad_request(client: TestClient) -> None:
    r = client.get("/api/v1/locate")
    body = assert_problem(r, 400, "bad-request", "/api/v1/locate")
    assert "lon and lat" in body["detail"]


def test_401_without_credentials(client: TestClient) -> None:
    assert_problem(client.get("/api/v1/me"), 401, "not-authenticated", "/api/v1/me")


def test_403_for_a_role_without_the_right(client: TestClient, keys: dict[str, str]) -> None:
    r = client.get("/api/v1/audit", headers=bearer(keys["staff"]))
    body = assert_problem(r, 403, "forbidden", "/api/v1/audit")
    assert "Jurisdiction staff" in body["detail"]


@pytest.mark.parametrize("path", ["/api/v1/jurisdictions/999999", "/api/v1/no-such-thing"])
def test_404_for_a_missing_row_and_a_missing_route(client: TestClient, path: str) -> None:
    assert_problem(client.get(path), 404, "not-found", path)


def test_405_method_not_allowed(client: TestClient) -> None:
    assert_problem(client.delete("/api/v1/region"), 405, "method-not-allowed", "/api/v1/region")


def test_409_conflict(client: TestClient, keys: dict[str, str]) -> None:
    r = client.post("/api/v1/jurisdictions", headers=bearer(keys["admin"]),
                    json={"name": "King County", "kind": "county"})
    body = assert_problem(r, 409, "conflict", "/api/v1/jurisdictions")
    assert "already a member" in body["detail"]


def test_422_request_validation_lists_every_field(client: TestClient,
                                                  keys: dict[str, str]) -> None:
    r = client.post("/api/v1/jurisdictions", headers=bearer(keys["admin"]),
                    json={"name": "X", "kind": "castle", "population": -5})
    body = assert_problem(r, 422, "validation-failed", "/api/v1/jurisdictions")
    by_field = {e["loc"][-1]: e for e in body["errors"]}
    assert set(by_field) == {"name", "kind", "population"}
    assert by_field["kind"]["value"] == "castle"
    assert by_field["population"]["value"] == -5
    assert body["errors"][0]["loc"][0] == "body"


def test_422_from_the_service_carries_its_errors(client: TestClient, keys: dict[str, str],
                                                 ids: dict[str, int]) -> None:
    bowtie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    path = f"/api/v1/jurisdictions/{ids['port']}/boundary"
    r = client.put(path, headers=bearer(keys["admin"]), json=bowtie)
    body = assert_problem(r, 422, "validation-failed", path)
    assert body["errors"] and body["errors"][0]["loc"] == ["geojson"]


def test_429_rate_limited_with_retry_after(client: TestClient, session: Session) -> None:
    from govshare.property.public_window.service import RATE_BUCKET, SUBMISSIONS_PER_WINDOW

    for _ in range(SUBMISSIONS_PER_WINDOW):
        ratelimit.hit(session, RATE_BUCKET, "testclient")
    session.commit()
    path = "/api/v1/public/assets/1/proposals"
    r = client.post(path, json={"kind": "proposal", "name": "A Neighbor",
                                "contact_email": "n@example.org", "proposed_use": "garden",
                                "description": "A community garden for the block."})
    assert_problem(r, 429, "rate-limited", path)
    assert int(r.headers["Retry-After"]) > 0


def test_500_is_a_problem_that_leaks_nothing(app: Any) -> None:
    def boom() -> None:
        raise RuntimeError("secret internals: password=hunter2")

    app.add_api_route("/api/v1/test-boom", boom)
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/api/v1/test-boom")
    body = assert_problem(r, 500, "internal-error", "/api/v1/test-boom")
    assert "hunter2" not in r.text and "RuntimeError" not in r.text
    assert "logged" in body["detail"]


@pytest.mark.parametrize("url", ["/admin/users/99999999999999999999", "/admin/users/3000000000",
                                 "/admin/jurisdictions/-99999999999999999999/boundary"])
def test_an_id_past_the_integer_column_is_refused_at_the_edge(client: TestClient, url: str,
                                                              backend: str) -> None:
    """Past the INTEGER column the driver raised (SQLite: OverflowError past 64 bits;
    PostgreSQL: DataError past 32) and the page was a 500, then a 400 or a 404 depending on the
    backend. Every path id is now checked at the edge (core.http.row_id): 422 naming it, on
    both backends (tests/contract/test_path_ids.py walks every route)."""
    login(client, ADMIN)
    r = client.get(url)
    assert r.status_code == 422, r.text[:300]
    assert r.headers["content-type"].startswith("text/html")
    assert ("user_id" if "/users/" in url else "jurisdiction_id") in r.text


@pytest.mark.parametrize("exc", [
    OverflowError("Python int too large to convert to SQLite INTEGER"),
    DataError("SELECT 1", {}, Exception("integer out of range")),
])
def test_a_value_the_database_refuses_is_a_400_problem_on_the_api(app: Any,
                                                                  exc: Exception) -> None:
    def refused() -> None:
        raise exc

    app.add_api_route("/api/v1/test-refused", refused)
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/api/v1/test-refused")
    body = assert_problem(r, 400, "bad-request", "/api/v1/test-refused")
    assert "out of range" in body["detail"]
    assert "SQLite" not in r.text and "integer out of range" not in r.text


# --------------------------------------------------------------------------- API keys


def test_revoked_api_key_is_401_naming_the_key(client: TestClient, session: Session,
                                               ids: dict[str, int]) -> None:
    key = api_key(session, Role.jurisdiction_admin, ids["city"], name="to revoke")
    row = service.find_api_key(session=session, prefix=key.split("_")[1])
    session.commit()
    assert client.get("/api/v1/me", headers=bearer(key)).status_code == 200
    service.revoke_api_key(session=session, actor=principal(Role.regional_admin),
                           apikey_id=row.id)
    session.commit()
    for headers in (bearer(key), {"X-API-Key": key}):
        r = client.get("/api/v1/me", headers=headers)
        body = assert_problem(r, 401, "not-authenticated", "/api/v1/me")
        assert "API key is unknown or has been revoked" in body["detail"]
    # never downgraded to the public, even where the public may read
    r = client.get("/api/v1/region", headers=bearer(key))
    assert_problem(r, 401, "not-authenticated", "/api/v1/region")


def test_a_malformed_key_is_401_too(client: TestClient) -> None:
    r = client.get("/api/v1/me", headers=bearer("gsk_nonsense"))
    assert "unknown or has been revoked" in assert_problem(
        r, 401, "not-authenticated", "/api/v1/me")["detail"]


# --------------------------------------------------------------------------- pages


def test_page_404_is_the_html_error_page(client: TestClient) -> None:
    r = client.get("/no-such-page")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert "Error 404" in r.text
    assert "<h1" in r.text


def test_page_403_is_the_html_error_page(client: TestClient) -> None:
    login(client, SEATTLE_STAFF)
    r = client.get("/admin/audit")
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("text/html")
    assert "Error 403" in r.text
    assert "Jurisdiction staff" in r.text


def test_page_401_on_get_redirects_to_login_and_back(client: TestClient) -> None:
    r = client.get("/admin/users", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=/admin/users"
    form = client.get(r.headers["location"])
    assert 'name="next" value="/admin/users"' in form.text


def test_page_401_on_post_is_the_error_page(client: TestClient) -> None:
    token = csrf_from(client.get("/login").text)
    r = client.post("/admin/jurisdictions", data={"csrf_token": token, "name": "Nowhere",
                                                  "kind": "city"}, follow_redirects=False)
    assert r.status_code == 401
    assert "Error 401" in r.text
    assert 'href="/login"' in r.text


def test_page_429_after_too_many_failed_logins(client: TestClient) -> None:
    token = csrf_from(client.get("/login").text)
    statuses = []
    for _ in range(6):
        r = client.post("/login", data={"email": ADMIN, "password": "wrong-password-123",
                                        "csrf_token": token}, follow_redirects=False)
        statuses.append(r.status_code)
    assert statuses == [400] * 5 + [429]
    assert r.headers["content-type"].startswith("text/html")
    assert "Error 429" in r.text
    assert int(r.headers["Retry-After"]) > 0


@pytest.mark.parametrize("forged", ["forged", "", None, "other-visitor"])
def test_forged_csrf_token_is_403_and_changes_nothing(client: TestClient, session: Session,
                                                      app: Any, forged: str | None) -> None:
    login(client, ADMIN)
    if forged == "other-visitor":  # a real token, but for another visitor's session
        with TestClient(app) as other:
            login(other, ADMIN)
            forged = csrf_from(other.get("/admin/jurisdictions").text)
    before = count(session, Jurisdiction), count(session, AuditEvent)
    data = {"name": "Forged Town", "kind": "city"}
    if forged is not None:
        data["csrf_token"] = forged
    r = client.post("/admin/jurisdictions", data=data, follow_redirects=False)
    assert r.status_code == 403
    assert "did not come from this site" in r.text
    session.expire_all()
    assert (count(session, Jurisdiction), count(session, AuditEvent)) == before
    # the same form with the real token goes through
    token = csrf_from(client.get("/admin/jurisdictions").text)
    r = client.post("/admin/jurisdictions", data={**data, "csrf_token": token},
                    follow_redirects=False)
    assert r.status_code == 303
    assert count(session, Jurisdiction) == before[0] + 1


def test_expired_session_redirects_to_login_and_says_so(client: TestClient,
                                                        session: Session) -> None:
    login(client, ADMIN)
    assert client.get("/admin").status_code == 200
    session.execute(sa.update(UserSession).values(expires_at=utcnow() - timedelta(minutes=1)))
    session.commit()
    r = client.get("/admin/users", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=/admin/users"
    page = client.get(r.headers["location"])
    assert page.status_code == 200
    assert "Your session has ended" in page.text
    # A visitor who never signed in is not told their session ended.
    with TestClient(client.app) as fresh:
        assert "Your session has ended" not in fresh.get("/login").text


# --------------------------------------------------------------------------- headers, health


@pytest.mark.parametrize("path", ["/", "/api/v1/region", "/api/v1/me", "/no-such-page",
                                  "/healthz"])
def test_security_headers_on_every_kind_of_response(client: TestClient, path: str) -> None:
    r = client.get(path, follow_redirects=False)
    h = r.headers
    assert "frame-ancestors 'none'" in h["Content-Security-Policy"]
    assert "script-src 'self'" in h["Content-Security-Policy"]
    assert "unsafe-inline" not in h["Content-Security-Policy"]
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert h["X-Frame-Options"] == "DENY"
    assert h["X-Request-ID"]


def test_session_cookie_is_httponly_and_samesite(client: TestClient) -> None:
    token = csrf_from(client.get("/login").text)
    r = client.post("/login", data={"email": ADMIN, "password": "demo-password-2026",
                                    "csrf_token": token}, follow_redirects=False)
    cookie = r.headers["set-cookie"].lower()
    assert "govshare_session=" in cookie
    assert "httponly" in cookie and "samesite=lax" in cookie


def test_healthz(client: TestClient) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


def test_readyz_names_the_schema_head(client: TestClient, session: Session) -> None:
    head = session.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    r = client.get("/readyz")
    assert r.status_code == 200
    assert r.json() == {"status": "ready", "schema": head}


def test_readyz_is_503_problem_when_the_database_is_not_migrated(app: Any) -> None:
    empty = sa.create_engine("sqlite://")
    app.state.session_factory = lambda: Session(empty)
    with TestClient(app) as c:
        r = c.get("/readyz")
    body = assert_problem(r, 503, "not-ready", "/readyz")
    assert "not migrated" in body["detail"]
    empty.dispose()


def test_the_api_explorer_is_served_from_the_package_under_a_script_csp(
        client: TestClient) -> None:
    """/api/v1/docs was FastAPI's page loading Swagger UI from a CDN, which the CSP blocked
    (and the machines serving it may not reach): a blank page without lang. Now the package
    serves its own copy and the page starts it from a file, not an inline script."""
    r = client.get("/api/v1/docs")
    assert r.status_code == 200
    assert '<html lang="en">' in r.text
    sources = re.findall(r'(?:src|href)="([^"]+)"', r.text)
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in sources
    assert [s for s in sources if s.startswith(("http:", "https:", "//"))] == []
    csp = r.headers["Content-Security-Policy"]
    script_src = next(d for d in csp.split(";") if d.strip().startswith("script-src"))
    assert script_src.strip() == "script-src 'self'"
    assert client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200
