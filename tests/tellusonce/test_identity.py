"""Tell us once with an OpenID Connect identity provider (issue 9 §5, ADR 19), against the
local test provider (``oidc_provider.py``): a report from a resident verified at the required
level goes straight to the agencies, a death's included; each forged or insufficient answer
(state, nonce, issuer, audience, expiry, signature, acr) is refused with a reason the
resident can read and the report waits for staff; the audit log records the verification and
never the tokens; the CSP lets forms lead to the configured provider only."""

from __future__ import annotations

import base64
import json
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from govshare.core.audit import AuditEvent
from govshare.core.settings import Environment, Settings
from govshare.tellusonce import identity
from govshare.tellusonce.models import AgencySubscription, LifeEventReport
from govshare.web.app import create_app
from tests.conftest import _joined_session, login, share_builds
from tests.tellusonce.oidc_provider import (
    CLIENT_ID,
    CLIENT_SECRET,
    IAL1,
    IAL2,
    USER,
    TestProvider,
)
from tests.tellusonce.test_service import DEATH, MOVE, form_data, messages_of


@pytest.fixture(scope="module")
def provider() -> Iterator[TestProvider]:
    p = TestProvider().start()
    yield p
    p.stop()


@pytest.fixture
def idp(provider: TestProvider) -> TestProvider:
    provider.tamper, provider.acr = {}, IAL2
    provider.client_public_key, provider.offers_logout = None, True
    provider.assertions_seen = set()
    identity.forget_discovery()
    return provider


def _oidc_settings(settings: Settings, idp: TestProvider, **extra: Any) -> Settings:
    return settings.model_copy(update={
        "oidc_issuer": idp.issuer, "oidc_client_id": CLIENT_ID,
        "oidc_client_secret": CLIENT_SECRET, "oidc_provider_name": "Test ID", **extra})


def _client(connection: sa.Connection, settings: Settings) -> TestClient:
    app = share_builds(create_app(settings))
    app.state.engine.dispose()
    app.state.session_factory = lambda: _joined_session(connection)
    return TestClient(app, base_url="http://testserver")


@pytest.fixture
def oidc_client(db_engine: sa.Engine, connection: sa.Connection, settings: Settings,
                idp: TestProvider) -> Iterator[TestClient]:
    with _client(connection, _oidc_settings(settings, idp)) as c:
        yield c


@pytest.fixture
def subs(session: Session) -> dict[str, AgencySubscription]:
    rows = session.scalars(sa.select(AgencySubscription)).all()
    return {s.webhook_url.rsplit("/", 1)[1]: s for s in rows}


def verify_identity(client: TestClient, event: str) -> httpx.Response:
    """Press "Verify your identity", let the provider approve, follow it back: the callback's
    answer."""
    page = client.get("/tell-us-once", params={"event": event})
    assert "Verify your identity with Test ID" in page.text
    assert "Your report waits until staff confirm it" in page.text
    go = client.post("/tell-us-once/identity",
                     data={"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"',
                                                   page.text).group(1),  # type: ignore[union-attr]
                           "event": event}, follow_redirects=False)
    assert go.status_code == 303, go.text
    at_provider = httpx.get(go.headers["location"], follow_redirects=False)
    assert at_provider.status_code == 302, at_provider.text
    back = urlsplit(at_provider.headers["location"])
    assert back.path == "/tell-us-once/identity/callback"
    return client.get(f"{back.path}?{back.query}", follow_redirects=False)


def report_move(client: TestClient, subs: dict[str, AgencySubscription],
                **extra: str) -> tuple[httpx.Response, str]:
    page = client.get("/tell-us-once", params={"event": "change_of_address"})
    done = client.post("/tell-us-once", data=form_data(
        page.text, "change_of_address", agency=[str(subs["seattle-utilities"].id)],
        consent="yes", **MOVE, **extra))
    assert done.status_code == 201, done.text
    ref = re.search(r'id="reference">(TU-[A-Z0-9-]+)<', done.text)
    assert ref
    return done, ref.group(1)


def _report(session: Session, reference: str) -> LifeEventReport:
    return session.scalars(sa.select(LifeEventReport).where(
        LifeEventReport.reference == reference)).one()


def test_a_resident_verified_at_the_required_level_is_sent_straight_to_the_agencies(
        oidc_client: TestClient, session: Session, idp: TestProvider,
        subs: dict[str, AgencySubscription]) -> None:
    back = verify_identity(oidc_client, "change_of_address")
    assert back.status_code == 303, back.text
    assert back.headers["location"] == "/tell-us-once?event=change_of_address"
    cookie = back.headers.get_list("set-cookie")
    kept = [c for c in cookie if c.startswith(identity.IDENTITY_COOKIE + "=")]
    assert kept and "HttpOnly" in kept[0] and "SameSite=lax" in kept[0] \
        and "Path=/tell-us-once" in kept[0]
    assert USER["email"] not in kept[0] and USER["sub"] not in kept[0]  # sealed, not signed
    request = idp.requests[-1]  # what the provider was asked
    assert request["code_challenge_method"] == "S256" and request["acr_values"] == IAL2
    assert request["nonce"] and request["state"] and "openid" in request["scope"].split()
    assert request["redirect_uri"] == "http://testserver/tell-us-once/identity/callback"

    page = oidc_client.get("/tell-us-once", params={"event": "change_of_address"})
    assert "Your report goes straight to the agencies you tick" in page.text
    assert "as Tess Testperson" in page.text
    assert 'name="contact"' not in page.text  # no contact needed: staff do not check it
    done, reference = report_move(oidc_client, subs)
    assert "Your identity was verified with Test ID" in done.text
    assert "Nothing has been sent yet" not in done.text
    rep = _report(session, reference)
    assert rep.verification == "verified" and rep.verified_by == "anonymous"
    assert rep.verification_method == f"identity provider: {idp.issuer} ({IAL2})"
    assert len(messages_of(session, rep)) == 1
    # the identity served one report; the next one needs the resident to verify again
    assert any(c.startswith(identity.IDENTITY_COOKIE + '=""') for c in
               done.headers.get_list("set-cookie"))

    events = session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action.in_(["tellusonce.identity_verified", "tellusonce.report"]))
        .order_by(AuditEvent.id)).all()
    verified = [e for e in events if e.action == "tellusonce.identity_verified"][-1]
    assert verified.after is not None and verified.after["issuer"] == idp.issuer
    assert verified.after["acr"] == IAL2 and len(verified.after["subject_digest"]) == 16
    reported = [e for e in events if e.entity_id == reference][-1]
    assert reported.after is not None and reported.after["acr"] == IAL2
    logged = json.dumps([e.after for e in events])
    assert USER["sub"] not in logged and USER["email"] not in logged
    assert "eyJ" not in logged  # no token (a JWT starts with a base64 '{"')

    login(oidc_client, "admin@demo.govshare.org")  # staff see who vouched for the reporter
    shown = oidc_client.get(f"/staff/tell-us-once/reports/{reference}")
    assert shown.status_code == 200 and "Who vouched for the reporter" in shown.text
    assert "Tess Testperson" in shown.text and IAL2 in shown.text


def test_a_death_from_a_resident_verified_at_the_level_goes_out_too(
        oidc_client: TestClient, session: Session, subs: dict[str, AgencySubscription]
        ) -> None:
    assert verify_identity(oidc_client, "death").status_code == 303
    page = oidc_client.get("/tell-us-once", params={"event": "death"})
    assert "Your report goes straight to the agencies you tick" in page.text
    done = oidc_client.post("/tell-us-once", data=form_data(
        page.text, "death", agency=[str(subs["kc-vital-records"].id)], consent="yes",
        **DEATH))
    assert done.status_code == 201, done.text
    ref = re.search(r'id="reference">(TU-[A-Z0-9-]+)<', done.text)
    assert ref
    rep = _report(session, ref.group(1))
    assert rep.verification == "verified" and len(messages_of(session, rep)) == 1


def _expired() -> dict[str, Any]:
    now = int(time.time())
    return {"exp": now - 3600, "iat": now - 3900}


REFUSALS = {
    "wrong-nonce": ({"nonce": "not-the-nonce-we-sent"}, "its nonce does not match"),
    "wrong-state": ({"state": "forged-state"}, "its state does not match"),
    "wrong-issuer": ({"iss": "https://idp.example.net"},
                     "issued by https://idp.example.net, not by"),
    "wrong-audience": ({"aud": "someone-else"}, "issued for another site"),
    "expired": (_expired, "has expired"),
    "foreign-key": ({"key": "other"}, "signature does not match"),
    "insufficient-acr": ({"acr": IAL1}, "verified your identity at another level"),
}


@pytest.mark.parametrize("case", REFUSALS, ids=list(REFUSALS))
def test_a_forged_or_insufficient_answer_is_refused_and_the_report_waits(
        oidc_client: TestClient, session: Session, idp: TestProvider,
        subs: dict[str, AgencySubscription], case: str) -> None:
    tamper, message = REFUSALS[case]
    idp.tamper = tamper() if callable(tamper) else dict(tamper)
    back = verify_identity(oidc_client, "change_of_address")
    assert back.status_code == 400
    assert "Your identity could not be verified" in back.text
    assert message in back.text, back.text
    assert "staff will confirm it before any agency is told" in back.text
    assert not any(c.startswith(identity.IDENTITY_COOKIE + "=") and not
                   c.startswith(identity.IDENTITY_COOKIE + '=""')
                   for c in back.headers.get_list("set-cookie"))
    refused = session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "tellusonce.identity_refused").order_by(AuditEvent.id.desc())
    ).first()
    assert refused is not None and refused.after is not None
    assert message in refused.after["reason"]

    page = oidc_client.get("/tell-us-once", params={"event": "change_of_address"})
    assert "Your report waits until staff confirm it" in page.text
    _, reference = report_move(oidc_client, subs, contact="206-555-0100")
    rep = _report(session, reference)
    assert rep.verification == "awaiting_verification" and messages_of(session, rep) == []


def test_a_public_client_proves_itself_by_pkce_alone(
        db_engine: sa.Engine, connection: sa.Connection, settings: Settings,
        idp: TestProvider, session: Session, subs: dict[str, AgencySubscription]) -> None:
    """Login.gov lets a client without a secret sign residents in with PKCE alone."""
    with _client(connection, _oidc_settings(settings, idp, oidc_client_secret=None)) as c:
        assert verify_identity(c, "change_of_address").status_code == 303
        _, reference = report_move(c, subs)
    assert _report(session, reference).verification == "verified"


def test_a_provider_that_does_not_answer_leaves_the_staff_path(
        db_engine: sa.Engine, connection: sa.Connection, settings: Settings) -> None:
    down = settings.model_copy(update={
        "oidc_issuer": f"http://127.0.0.1:{_closed_port()}", "oidc_client_id": CLIENT_ID,
        "oidc_provider_name": "Test ID", "oidc_timeout_seconds": 2.0})
    identity.forget_discovery()
    with _client(connection, down) as c:
        page = c.get("/tell-us-once", params={"event": "birth"})
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token
        r = c.post("/tell-us-once/identity", data={"csrf_token": token.group(1),
                                                   "event": "birth"}, follow_redirects=False)
    assert r.status_code == 502 and "Test ID cannot be reached just now" in r.text
    assert "staff will confirm it before any agency is told" in r.text


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_callback_without_its_flow_or_canceled_is_refused(oidc_client: TestClient) -> None:
    lost = oidc_client.get("/tell-us-once/identity/callback?code=abc&state=def")
    assert lost.status_code == 400 and "took too long or was started in another browser" \
        in lost.text
    page = oidc_client.get("/tell-us-once", params={"event": "change_of_address"})
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    go = oidc_client.post("/tell-us-once/identity", data={"csrf_token": token.group(1),
                                                          "event": "change_of_address"},
                          follow_redirects=False)
    state = parse_qs(urlsplit(go.headers["location"]).query)["state"][0]
    canceled = oidc_client.get("/tell-us-once/identity/callback",
                                params={"error": "access_denied", "state": state})
    assert canceled.status_code == 400 and "did not verify your identity (you canceled)" \
        in canceled.text


def test_a_forgotten_or_tampered_identity_cookie_is_not_used(
        oidc_client: TestClient, session: Session, subs: dict[str, AgencySubscription],
        idp: TestProvider) -> None:
    assert verify_identity(oidc_client, "change_of_address").status_code == 303
    page = oidc_client.get("/tell-us-once", params={"event": "change_of_address"})
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    forget = oidc_client.post("/tell-us-once/identity/forget",
                              data={"csrf_token": token.group(1),
                                    "event": "change_of_address"}, follow_redirects=False)
    assert forget.status_code == 303
    # forgotten here, and the resident is signed out at the provider too (RP-initiated
    # logout), which sends them back to the form
    assert any(c.startswith(identity.IDENTITY_COOKIE + '=""') or
               c.startswith(identity.IDENTITY_COOKIE + "=;")
               for c in forget.headers.get_list("set-cookie"))
    assert forget.headers["location"].startswith(idp.issuer + "/logout?")
    out = httpx.get(forget.headers["location"], follow_redirects=False)
    asked = idp.logouts[-1]
    assert asked["client_id"] == CLIENT_ID and len(asked["state"]) >= 22
    assert asked["post_logout_redirect_uri"] == "http://testserver/tell-us-once"
    assert out.status_code == 302 and out.headers["location"].startswith(
        "http://testserver/tell-us-once?state=")
    assert "Your report waits until staff confirm it" in oidc_client.get(
        "/tell-us-once", params={"event": "change_of_address"}).text
    oidc_client.cookies.set(identity.IDENTITY_COOKIE, "gAAAAforged", path="/tell-us-once")
    _, reference = report_move(oidc_client, subs, contact="206-555-0100")
    assert _report(session, reference).verification == "awaiting_verification"


def test_without_a_provider_there_is_no_identity_path(client: TestClient) -> None:
    page = client.get("/tell-us-once", params={"event": "death"})
    assert "Verify your identity" not in page.text
    assert "Your report waits until staff confirm it" in page.text
    assert "form-action 'self';" in page.headers["content-security-policy"]
    assert client.get("/tell-us-once/identity/callback?code=a&state=b").status_code == 404


def test_the_csp_lets_forms_lead_to_the_configured_provider_only(
        oidc_client: TestClient, idp: TestProvider) -> None:
    csp = oidc_client.get("/tell-us-once").headers["content-security-policy"]
    assert f"form-action 'self' {idp.issuer};" in csp
    assert csp.count("127.0.0.1") == 1  # nowhere else: scripts, images, frames stay 'self'


def test_the_provider_must_be_where_it_says(idp: TestProvider) -> None:
    """The discovery document must name the configured issuer, and its endpoints be on its
    origin (the one origin the CSP admits)."""
    p = identity.Provider(issuer=idp.issuer + "/", name="Test ID", client_id=CLIENT_ID,
                          client_secret=None, acr=IAL2, accepted_acr=frozenset({IAL2}),
                          scopes="openid", timeout=5, identity_seconds=60, redirect_uri=None)
    with pytest.raises(identity.ProviderUnavailable, match="names another issuer"):
        identity.discover(p)


def test_oidc_settings_are_checked(tmp_path: Path) -> None:
    ok = Settings(data_dir=tmp_path, oidc_issuer="https://secure.login.gov/",
                  oidc_client_id="urn:gov:gsa:openidconnect.profiles:sp:sso:city:app")
    assert ok.oidc_origin == "https://secure.login.gov"
    assert ok.oidc_accepted_acr == frozenset({IAL2})
    assert Settings(data_dir=tmp_path).oidc_origin is None  # off by default
    with pytest.raises(ValueError, match="CLIENT_ID"):
        Settings(data_dir=tmp_path, oidc_issuer="https://secure.login.gov/")
    for bad in ("http://idp.example.org/", "javascript:alert(1)", "https://idp.example.org/ x"):
        with pytest.raises(ValueError, match="OIDC_ISSUER"):
            Settings(data_dir=tmp_path, oidc_issuer=bad, oidc_client_id="x")
    with pytest.raises(ValueError, match="OIDC_ISSUER"):
        Settings(data_dir=tmp_path, env=Environment.production, secret_key="k" * 40,
                 oidc_issuer="http://127.0.0.1:9000", oidc_client_id="x")


def test_the_id_token_check_refuses_the_none_algorithm(idp: TestProvider) -> None:
    p = identity.provider_from(Settings(oidc_issuer=idp.issuer, oidc_client_id=CLIENT_ID,
                                        env=Environment.test))
    assert p is not None
    _, keys = identity.discover(p)
    now = int(time.time())

    def b64(d: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()
    unsigned = b64({"alg": "none"}) + "." + b64({
        "iss": idp.issuer, "aud": CLIENT_ID, "sub": "x", "nonce": "n", "acr": IAL2,
        "iat": now, "exp": now + 60}) + "."
    with pytest.raises(identity.IdentityRefused, match="signature"):
        identity.check_id_token(p, unsigned, keys=keys, nonce="n")


def _forget(client: TestClient) -> httpx.Response:
    page = client.get("/tell-us-once", params={"event": "birth"})
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    return client.post("/tell-us-once/identity/forget",
                       data={"csrf_token": token.group(1), "event": "birth"},
                       follow_redirects=False)


def test_without_a_logout_endpoint_the_identity_is_forgotten_here_only(
        oidc_client: TestClient, idp: TestProvider) -> None:
    idp.offers_logout = False
    identity.forget_discovery()
    assert verify_identity(oidc_client, "birth").status_code == 303
    r = _forget(oidc_client)
    assert r.status_code == 303 and r.headers["location"].startswith("/tell-us-once?event=birth")
    assert "Your report waits until staff confirm it" in oidc_client.get(
        "/tell-us-once", params={"event": "birth"}).text


def _pem_key(tmp_path: Path, name: str) -> tuple[Path, Any]:
    from joserfc.jwk import RSAKey

    key = RSAKey.generate_key(2048)
    path = tmp_path / name
    path.write_bytes(key.as_pem(private=True))
    return path, key


def test_the_site_can_prove_itself_with_a_signed_assertion(
        db_engine: sa.Engine, connection: sa.Connection, settings: Settings, tmp_path: Path,
        idp: TestProvider, session: Session, subs: dict[str, AgencySubscription]) -> None:
    """private_key_jwt (RFC 7523), as Login.gov asks of web sites: no secret is sent; the
    token request carries a JWT signed with the site's key, which the provider checks against
    the public key registered with it (issuer, subject, audience, expiry, one use)."""
    path, key = _pem_key(tmp_path, "site.pem")
    idp.client_public_key = key
    keyed = _oidc_settings(settings, idp, oidc_client_secret=None,
                           oidc_client_private_key_file=path, oidc_client_key_id="site-1")
    with _client(connection, keyed) as c:
        assert verify_identity(c, "change_of_address").status_code == 303
        _, reference = report_move(c, subs)
    assert _report(session, reference).verification == "verified"
    assert len(idp.assertions_seen) == 1
    # the assertion as the provider got it
    provider = identity.provider_from(keyed)
    assert provider is not None
    made = identity.client_assertion(provider, idp.issuer + "/token", now=1_000_000)
    from joserfc import jwt

    claims = jwt.decode(made, key).claims
    assert claims["iss"] == claims["sub"] == CLIENT_ID and claims["aud"] == idp.issuer + "/token"
    assert claims["exp"] - claims["iat"] == identity.ASSERTION_SECONDS and claims["jti"]
    assert jwt.decode(made, key).header["kid"] == "site-1"


def test_a_wrong_or_unreadable_site_key_leaves_the_staff_path(
        db_engine: sa.Engine, connection: sa.Connection, settings: Settings, tmp_path: Path,
        idp: TestProvider) -> None:
    registered_path, registered = _pem_key(tmp_path, "registered.pem")
    other_path, _ = _pem_key(tmp_path, "other.pem")
    idp.client_public_key = registered
    wrong = _oidc_settings(settings, idp, oidc_client_secret=None,
                           oidc_client_private_key_file=other_path)
    with _client(connection, wrong) as c:
        back = verify_identity(c, "birth")
    assert back.status_code == 400 and "refused to confirm the sign-in (invalid_client)" \
        in back.text and "staff will confirm it" in back.text
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    for bad in (garbage, tmp_path / "missing.pem"):
        broken = _oidc_settings(settings, idp, oidc_client_secret=None,
                                oidc_client_private_key_file=bad)
        with _client(connection, broken) as c:
            back = verify_identity(c, "birth")
        assert back.status_code == 400
        assert "key for the identity provider cannot be read" in back.text
        assert str(tmp_path) not in back.text  # the site's file paths are not shown


def test_a_secret_and_a_key_are_not_both_set(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not both"):
        Settings(data_dir=tmp_path, oidc_issuer="https://secure.login.gov/",
                 oidc_client_id="x", oidc_client_secret="s" * 30,
                 oidc_client_private_key_file=tmp_path / "k.pem")
