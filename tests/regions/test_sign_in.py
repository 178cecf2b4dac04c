"""Sign-in throttling cannot be turned into a lockout (issue 8, 2.10; ADR 15), and sign-ins
and failed sign-ins are in the audit log with the request's id (2.15)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from govshare.cli.demo import DEMO_PASSWORD
from govshare.core import ratelimit
from govshare.core.audit import AuditEvent
from govshare.core.db import utcnow
from govshare.core.errors import BadRequest, RateLimited
from govshare.core.ratelimit import RateEvent
from govshare.regions import service
from govshare.regions.models import User
from tests.conftest import csrf_from, login

ADMIN = "admin@demo.govshare.org"
SECRET = "s" * 40
ATTACKER = "198.51.100.66"
OFFICE = "10.1.1.1"


def attempt(session: Session, password: str, client: str, device: str | None = None,
            email: str = ADMIN) -> service.LoginResult:
    return service.authenticate(session=session, email=email, password=password,
                                client=client, device=device, secret_key=SECRET,
                                session_hours=8, max_failures=5, window_minutes=15,
                                delay_seconds=60, trust_days=90)


def hammer(session: Session, client: str, times: int = 20, email: str = ADMIN) -> list[str]:
    outcomes = []
    for _ in range(times):
        try:
            attempt(session, "wrong-password-guess", client, email=email)
            outcomes.append("ok")
        except BadRequest:
            outcomes.append("400")
        except RateLimited:
            outcomes.append("429")
    return outcomes


def test_an_attacker_elsewhere_cannot_lock_out_the_user(session: Session) -> None:
    first = attempt(session, DEMO_PASSWORD, OFFICE)  # the user, at the office
    assert first.trusted is None  # nothing was known yet
    outcomes = hammer(session, ATTACKER)
    assert outcomes[:5] == ["400"] * 5 and set(outcomes[5:]) == {"429"}
    # From the office (a known address) and from the user's browser (device cookie) on the
    # road, the right password still works while the account is being hammered ...
    assert attempt(session, DEMO_PASSWORD, OFFICE).trusted == "address"
    assert attempt(session, DEMO_PASSWORD, "192.0.2.44", first.device_cookie).trusted == "device"
    # ... while an unknown place waits, whatever it sends (guesses stay throttled).
    with pytest.raises(RateLimited) as refused:
        attempt(session, DEMO_PASSWORD, "192.0.2.99")
    assert 0 < refused.value.retry_after <= 15 * 60
    assert "signed in from before" in refused.value.detail


def test_the_delay_grows_with_each_failure_up_to_the_window(session: Session) -> None:
    def age_failures(by: timedelta) -> None:
        for event in session.scalars(sa.select(RateEvent).where(RateEvent.key == ADMIN)):
            event.at = event.at - by
        session.flush()

    waits = []
    hammer(session, ATTACKER, 5)
    for _ in range(4):
        with pytest.raises(RateLimited) as refused:
            attempt(session, "another-guess", ATTACKER)
        waits.append(refused.value.retry_after)
        age_failures(timedelta(seconds=refused.value.retry_after))  # time passes ...
        with pytest.raises(BadRequest):  # ... and one more guess is evaluated
            attempt(session, "another-guess", ATTACKER)
    assert waits == [60, 120, 240, 480]

    def wait(failures: int) -> int:
        return ratelimit.progressive_wait(failures, utcnow(), free=5,
                                          first=timedelta(seconds=60), cap=timedelta(minutes=15))

    assert [wait(n) for n in (4, 5, 9, 10, 500)] == [0, 60, 900, 900, 900]  # at most the window


def test_a_device_cookie_counts_only_for_its_own_account_and_can_be_throttled(
        session: Session) -> None:
    mine = attempt(session, DEMO_PASSWORD, OFFICE)
    forged = mine.device_cookie[:-1] + ("0" if mine.device_cookie[-1] != "0" else "1")
    hammer(session, ATTACKER)
    for cookie in (forged, "nonsense", mine.device_cookie):
        email = "analyst@demo.govshare.org" if cookie == mine.device_cookie else ADMIN
        if cookie == mine.device_cookie:  # another account: the cookie means nothing there
            hammer(session, ATTACKER, email=email)
        with pytest.raises(RateLimited):
            attempt(session, DEMO_PASSWORD, "192.0.2.7", cookie, email=email)
    # Guessing with a stolen device cookie is throttled on that cookie.
    stolen = attempt(session, DEMO_PASSWORD, OFFICE).device_cookie
    outcomes = []
    for _ in range(7):
        try:
            attempt(session, "guess", "192.0.2.8", stolen)
        except BadRequest:
            outcomes.append("400")
        except RateLimited:
            outcomes.append("429")
    assert outcomes == ["400"] * 5 + ["429"] * 2


def test_the_browser_that_signed_in_before_still_signs_in_during_an_attack(
        client: TestClient, app: object, session: Session) -> None:
    login(client, ADMIN)
    assert client.cookies.get("govshare_device")
    # Make the test client's address unknown again, so only the device cookie counts.
    session.execute(sa.text("DELETE FROM sign_in_addresses"))
    session.commit()
    with TestClient(app, base_url="http://testserver") as attacker:  # type: ignore[arg-type]
        token = csrf_from(attacker.get("/login").text)
        statuses = [attacker.post("/login", data={"email": ADMIN, "password": "guess-guess-1",
                                                  "csrf_token": token},
                                  follow_redirects=False).status_code for _ in range(7)]
    assert statuses == [400] * 5 + [429] * 2
    client.cookies.delete("govshare_session")
    token = csrf_from(client.get("/login").text)
    r = client.post("/login", data={"email": ADMIN, "password": DEMO_PASSWORD,
                                    "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303, r.text


def test_sign_ins_and_failed_sign_ins_are_audited_with_the_request_id(
        client: TestClient, session: Session) -> None:
    token = csrf_from(client.get("/login").text)
    bad = client.post("/login", data={"email": ADMIN, "password": "not-the-password",
                                      "csrf_token": token},
                      headers={"X-Request-ID": "req-failed-1"}, follow_redirects=False)
    assert bad.status_code == 400 and bad.headers["x-request-id"] == "req-failed-1"
    client.post("/login", data={"email": "typo@example.org", "password": "my-secret-pass",
                                "csrf_token": token}, headers={"X-Request-ID": "req-failed-2"})
    good = client.post("/login", data={"email": ADMIN, "password": DEMO_PASSWORD,
                                       "csrf_token": token},
                       headers={"X-Request-ID": "req-ok-1"}, follow_redirects=False)
    assert good.status_code == 303
    session.expire_all()
    admin = session.scalars(sa.select(User).where(User.email == ADMIN)).one()
    rows = {e.request_id: e for e in session.scalars(
        sa.select(AuditEvent).where(AuditEvent.request_id.in_(
            ["req-failed-1", "req-failed-2", "req-ok-1"])))}
    assert rows["req-failed-1"].action == "session.sign_in_failed"
    assert rows["req-failed-1"].actor == "anonymous"
    assert rows["req-failed-1"].after == {"user_id": admin.id, "from": "unknown place"}
    unknown = rows["req-failed-2"]
    assert unknown.after == {"user_id": None, "from": "unknown place"}
    assert "typo" not in str(unknown.after) and "my-secret" not in str(unknown.after)
    ok = rows["req-ok-1"]
    assert ok.action == "session.sign_in" and ok.actor == f"user:{admin.id}"
    assert ok.after is not None and ok.after["user_id"] == admin.id
    token = csrf_from(client.get("/admin").text)
    client.post("/logout", data={"csrf_token": token}, headers={"X-Request-ID": "req-out-1"})
    session.expire_all()
    out = session.scalars(sa.select(AuditEvent).where(AuditEvent.request_id == "req-out-1")
                          ).one()
    assert out.action == "session.sign_out" and out.entity_id == ok.entity_id


def test_every_audit_row_of_a_request_carries_its_id(client: TestClient, session: Session,
                                                     ids: dict[str, int]) -> None:
    login(client, ADMIN)
    token = csrf_from(client.get("/admin/users").text)
    r = client.post("/admin/users", data={
        "email": "traced@example.org", "full_name": "Traced", "password": "x" * 14,
        "role": "jurisdiction_staff", "jurisdiction_id": str(ids["city"]),
        "csrf_token": token}, headers={"X-Request-ID": "trace-me-42"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    session.expire_all()
    row = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "user.create")
                          .order_by(AuditEvent.id.desc())).first()
    assert row is not None and row.request_id == "trace-me-42"
    # An id that is not plain text is replaced by one of ours.
    weird = client.get("/", headers={"X-Request-ID": "a\"b<script>"})
    assert weird.headers["x-request-id"] != "a\"b<script>"
    assert len(weird.headers["x-request-id"]) == 32


def test_known_addresses_past_the_trust_days_are_pruned_by_the_worker(session: Session) -> None:
    from govshare.cli import prune_sign_in_addresses  # the housekeeping job
    from govshare.outbox import cli as outbox_cli
    from govshare.regions.models import SignInAddress

    assert "sign-in address prune" in {job.name for job in outbox_cli.HOUSEKEEPING}
    attempt(session, DEMO_PASSWORD, OFFICE)
    attempt(session, DEMO_PASSWORD, "10.9.9.9")
    stale = session.scalars(sa.select(SignInAddress).order_by(SignInAddress.id.desc())).first()
    assert stale is not None
    stale.last_at = utcnow() - timedelta(days=91)
    session.flush()
    assert prune_sign_in_addresses(session, utcnow()) == 1  # default: 90 days
    left = session.scalars(sa.select(SignInAddress)).all()
    assert stale not in left and len(left) >= 1
