"""Tell us once: consent, only the chosen agencies told, personal data sealed and purged,
subscriptions managed per member, and the pages (labeled, CSRF, rate-limited)."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from govshare.core import crypto
from govshare.core.db import utcnow
from govshare.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from govshare.core.settings import Settings
from govshare.core.tenancy import ANONYMOUS, Principal, Role
from govshare.outbox import calc as outbox_calc
from govshare.outbox import service as outbox_service
from govshare.outbox.models import OutboxMessage
from govshare.outbox.receiver import DEMO_WEBHOOK_SECRET
from govshare.tellusonce import calc as tellusonce_calc
from govshare.tellusonce import queries as tellusonce_queries
from govshare.tellusonce import service as tellusonce
from govshare.tellusonce.models import AgencySubscription, LifeEventReport
from govshare.tellusonce.schemas import SubscriptionIn
from tests.conftest import csrf_from, login
from tests.factories.regions import principal

MOVE = {"full_name": "Grace Hopper-Testperson", "date_of_birth": "1986-12-09",
        "old_address": "1 Old Street, Seattle, WA 98101",
        "new_address": "2 New Avenue, Seattle, WA 98104",
        "moved_on": (date.today() - timedelta(days=20)).isoformat()}


@pytest.fixture
def region_id(session: Session) -> int:
    return int(session.execute(sa.text("SELECT id FROM regions")).scalar_one())


@pytest.fixture
def subs(session: Session) -> dict[str, AgencySubscription]:
    """The demo's sample subscriptions by hook name."""
    rows = session.scalars(sa.select(AgencySubscription)).all()
    return {s.webhook_url.rsplit("/", 1)[1]: s for s in rows}


CONTACT = {"contact": "reporter@example.org"}


def report(session: Session, settings: Settings, region_id: int, chosen: list[int], *,
           event: str = "change_of_address", person: dict[str, str] | None = None,
           consent: bool = True, verify: bool = True, **kw: Any) -> LifeEventReport:
    """A report from the public; ``verify``: then confirmed by the regional admin, which is
    when its messages are queued (what most tests here are about)."""
    kw.setdefault("verification_details", CONTACT)
    rep = tellusonce.report_life_event(
        session=session, actor=ANONYMOUS, region_id=region_id, event=event,
        person=person if person is not None else MOVE, subscription_ids=chosen,
        consent_given=consent, secret_key=settings.resolved_secret_key(),
        retention_days=settings.tellusonce_retention_days, **kw)
    if verify and rep.verification == tellusonce_calc.AWAITING:
        tellusonce.verify_report(
            session=session, actor=principal(Role.regional_admin), region_id=region_id,
            reference=rep.reference, evidence_kind="records_match", evidence_reference="",
            secret_key=settings.resolved_secret_key(), now=kw.get("now"))
    return rep


def messages_of(session: Session, rep: LifeEventReport) -> list[OutboxMessage]:
    return list(session.scalars(sa.select(OutboxMessage).where(
        OutboxMessage.idempotency_key.startswith(f"tellusonce:{rep.reference}:"))
        .order_by(OutboxMessage.destination)).all())


def test_the_demo_subscriptions_are_the_authorization_matrix_rows(
        session: Session, ids: dict[str, int]) -> None:
    """tests/contract/test_authz_matrix.py takes subscription 1 as Seattle's (own) and 2 as
    King County's (other)."""
    one, two = session.get(AgencySubscription, 1), session.get(AgencySubscription, 2)
    assert one is not None and one.jurisdiction_id == ids["city"] and one.sample
    assert two is not None and two.jurisdiction_id == ids["county"] and two.sample


# ------------------------------------------------------------------------------ service


def test_consent_is_required_and_recorded(session: Session, settings: Settings,
                                          region_id: int,
                                          subs: dict[str, AgencySubscription]) -> None:
    utilities = subs["seattle-utilities"]
    with pytest.raises(ValidationFailed) as no_consent:
        report(session, settings, region_id, [utilities.id], consent=False)
    assert [e["loc"] for e in no_consent.value.errors] == [["consent"]]
    with pytest.raises(ValidationFailed) as no_agency:
        report(session, settings, region_id, [])
    assert [e["loc"] for e in no_agency.value.errors] == [["agencies"]]
    assert session.scalar(sa.select(sa.func.count()).select_from(LifeEventReport)) == 0

    rep = report(session, settings, region_id, [utilities.id])
    assert re.fullmatch(r"TU-[A-Z2-9]{4}-[A-Z2-9]{4}", rep.reference)
    assert rep.consent_version == tellusonce_calc.CONSENT_VERSION
    assert rep.consent["agencies"] == [{"subscription_id": utilities.id,
                                        "name": "City of Seattle: Utility billing"}]
    assert "30 days" in rep.consent["text"] and rep.consented_at == rep.created_at
    assert rep.purge_after == rep.created_at + timedelta(days=30)


def test_only_the_chosen_agencies_are_told_and_only_what_the_event_needs(
        session: Session, settings: Settings, region_id: int,
        subs: dict[str, AgencySubscription]) -> None:
    offered = tellusonce_queries.available_subscriptions(session=session, region_id=region_id,
                                                 event="change_of_address")
    assert {s.webhook_url.rsplit("/", 1)[1] for s in offered} == {
        "seattle-utilities", "kc-elections", "wa-licensing", "sps-enrollment"}
    chosen = [subs["kc-elections"], subs["wa-licensing"]]
    rep = report(session, settings, region_id, [s.id for s in chosen],
                 person={**MOVE, "ssn": "123-45-6789", "notes": "extra"})
    msgs = messages_of(session, rep)
    assert [m.destination for m in msgs] == sorted(f"subscription:{s.id}" for s in chosen)
    assert {m.idempotency_key for m in msgs} == {
        f"tellusonce:{rep.reference}:{s.id}" for s in chosen}
    assert all(m.status == "pending" and m.topic == "tellusonce.change_of_address"
               for m in msgs)
    claims = outbox_service.claim_batch(session, now=utcnow(), limit=50, lease_seconds=30,
                                        secret_key=settings.resolved_secret_key())
    mine = [c for c in claims if c.idempotency_key.startswith(f"tellusonce:{rep.reference}")]
    assert len(mine) == 2
    body = json.loads(mine[0].body)
    assert body["person"] == MOVE  # the event's fields, and nothing that was slipped in
    # Standard Webhooks' payload: type and timestamp (of the event) beside its data
    assert body["type"] == "tellusonce.change_of_address"
    assert body["timestamp"] == rep.created_at.isoformat()
    assert body["reference"] == rep.reference and body["sample"] is True
    assert body["consent"]["version"] == tellusonce_calc.CONSENT_VERSION
    assert {c.secret for c in mine} == {DEMO_WEBHOOK_SECRET}

    with pytest.raises(ValidationFailed, match="missing or not valid") as not_offered:
        report(session, settings, region_id, [subs["kc-vital-records"].id])  # births, deaths
    assert not_offered.value.errors[0]["loc"] == ["agencies"]


def test_personal_data_is_sealed_at_rest_and_purged_after_retention(
        session: Session, settings: Settings, region_id: int,
        subs: dict[str, AgencySubscription]) -> None:
    rep = report(session, settings, region_id, [subs["seattle-utilities"].id])
    raw_report = session.execute(sa.text(
        "SELECT personal_data_enc FROM tellusonce_reports WHERE id = :id"), {"id": rep.id}
    ).scalar_one()
    raw_bodies = session.execute(sa.text(
        "SELECT body_enc FROM outbox_messages WHERE idempotency_key LIKE :k"),
        {"k": f"tellusonce:{rep.reference}:%"}).scalars().all()
    for raw in (raw_report, *raw_bodies):
        assert "Hopper" not in raw and "Old Street" not in raw and "1986" not in raw
    key = settings.resolved_secret_key()
    assert tellusonce.open_personal_data(rep, secret_key=key) == MOVE
    with pytest.raises(crypto.SealedValueUnreadable):  # another key opens nothing
        tellusonce.open_personal_data(rep, secret_key="another-secret-key-" + "x" * 30)
    # nor does the key of another purpose
    with pytest.raises(crypto.SealedValueUnreadable):
        crypto.sealer(key, crypto.OUTBOX_PAYLOAD).open(raw_report)

    actor = principal(Role.regional_admin)
    assert tellusonce.purge_expired(session=session, actor=actor, now=utcnow(),
                                    retention_days=30) == 0
    later = utcnow() + timedelta(days=31)
    assert tellusonce.purge_expired(session=session, actor=actor, now=later,
                                    retention_days=30) == 1
    session.refresh(rep)
    assert rep.personal_data_enc is None and rep.purged_at == later
    assert tellusonce.open_personal_data(rep, secret_key=key) is None
    assert rep.consent["agencies"] and rep.reference  # the record of consent stays
    [msg] = messages_of(session, rep)
    session.refresh(msg)
    assert msg.body_enc is None and msg.status == "dead"  # never delivered: nothing to send


@pytest.mark.parametrize(("event", "change", "field", "reason"), [
    ("change_of_address", {"full_name": "  "}, "full_name", "Enter your full name"),
    ("change_of_address", {"date_of_birth": "09/12/1986"}, "date_of_birth", "give a date"),
    ("change_of_address", {"date_of_birth": "2999-01-01"}, "date_of_birth", "future"),
    ("change_of_address", {"date_of_birth": (date.today() - timedelta(days=5)).isoformat()},
     "moved_on", "before"),
    ("change_of_address", {"moved_on": "1980-01-01"}, "moved_on", "too far in the past"),
    ("change_of_address", {"new_address": "x" * 301}, "new_address", "at most 300"),
    ("death", {"date_of_death": "1950-01-01"}, "date_of_death", "too far in the past"),
])
def test_bad_details_are_named_field_by_field(session: Session, settings: Settings,
                                              region_id: int,
                                              subs: dict[str, AgencySubscription],
                                              event: str, change: dict[str, str], field: str,
                                              reason: str) -> None:
    person = dict(MOVE) if event == "change_of_address" else {
        "deceased_full_name": "Test Person", "deceased_date_of_birth": "1940-02-03",
        "date_of_death": (date.today() - timedelta(days=3)).isoformat(),
        "last_address": "3 Last Road, Seattle",
        "informant_full_name": "Test Informant", "informant_relationship": "son"}
    person.update(change)
    with pytest.raises(ValidationFailed) as exc:
        report(session, settings, region_id, [subs["kc-elections"].id], event=event,
               person=person)
    errors = {e["loc"][0]: e["reason"] for e in exc.value.errors}
    assert set(errors) == {field} and reason in errors[field]


def test_a_form_sent_twice_tells_everyone_once(session: Session, settings: Settings,
                                               region_id: int,
                                               subs: dict[str, AgencySubscription]) -> None:
    first = report(session, settings, region_id, [subs["kc-elections"].id],
                   submission_key="form-token-digest")
    again = report(session, settings, region_id, [subs["kc-elections"].id],
                   submission_key="form-token-digest")
    assert again.id == first.id and len(messages_of(session, first)) == 1


def test_subscriptions_belong_to_their_member(session: Session, settings: Settings,
                                              region_id: int, ids: dict[str, int],
                                              subs: dict[str, AgencySubscription]) -> None:
    key = settings.resolved_secret_key()
    seattle_admin = principal(Role.jurisdiction_admin, ids["city"])
    data = SubscriptionIn(jurisdiction_id=ids["city"], name="Parks passes",
                          purpose="Moves the annual parks pass to the new address.",
                          webhook_url="https://hooks.example.org/parks",
                          event_types=["change_of_address"])  # type: ignore[list-item]
    sub, secret = tellusonce.create_subscription(session=session, actor=seattle_admin,
                                                 region_id=region_id, data=data,
                                                 secret_key=key, allow_loopback=False)
    outbox_calc.check_signing_secret(secret)  # whsec_ + base64: what the libraries read
    assert sub.secret_hint == secret.rstrip("=")[-4:]
    raw = session.execute(sa.text("SELECT secret_enc FROM tellusonce_subscriptions "
                                  "WHERE id = :id"), {"id": sub.id}).scalar_one()
    assert secret not in raw
    with pytest.raises(Conflict):
        tellusonce.create_subscription(session=session, actor=seattle_admin,
                                       region_id=region_id, data=data, secret_key=key,
                                       allow_loopback=False)
    with pytest.raises(Forbidden):  # another member's
        tellusonce.create_subscription(
            session=session, actor=seattle_admin, region_id=region_id, secret_key=key,
            allow_loopback=False,
            data=data.model_copy(update={"jurisdiction_id": ids["county"]}))
    with pytest.raises(NotFound):
        tellusonce.set_active(session=session, actor=seattle_admin,
                              subscription_id=subs["kc-elections"].id, active=False)
    with pytest.raises(Forbidden):
        tellusonce.set_active(session=session, actor=principal(Role.jurisdiction_staff,
                                                               ids["city"]),
                              subscription_id=sub.id, active=False)


@pytest.mark.parametrize(("url", "allow_loopback", "reason"), [
    ("http://hooks.example.org/x", True, "must use https://"),
    ("ftp://x", True, "must be an https:// address"),
    ("https://user:pw@hooks.example.org", True, "user name or password"),
    ("not a url", True, "must be an https:// address"),
    # SSRF: a member's admin must not point the worker into our own network
    ("http://127.0.0.1:5432/", False, "this machine (a loopback address)"),
    ("https://localhost:5432/", False, "this machine (a loopback address)"),
    ("https://169.254.169.254/latest/meta-data/", True, "a link-local address"),
    ("https://10.20.30.40/hook", True, "a private address"),
    ("https://[fd00::1]/hook", True, "a private address"),
])
def test_a_subscription_must_point_at_a_public_https_address(
        session: Session, settings: Settings, region_id: int, ids: dict[str, int], url: str,
        allow_loopback: bool, reason: str) -> None:
    data = SubscriptionIn(jurisdiction_id=ids["city"], name="Probe",
                          purpose="Wants to reach something it should not.",
                          webhook_url=url, event_types=["birth"])  # type: ignore[list-item]
    with pytest.raises(ValidationFailed) as exc:
        tellusonce.create_subscription(
            session=session, actor=principal(Role.jurisdiction_admin, ids["city"]),
            region_id=region_id, data=data, secret_key=settings.resolved_secret_key(),
            allow_loopback=allow_loopback)
    [error] = exc.value.errors
    assert error["loc"] == ["webhook_url"] and reason in error["reason"]
    assert session.scalar(sa.select(sa.func.count()).select_from(AgencySubscription)
                          .where(AgencySubscription.name == "Probe")) == 0


def test_deactivating_withdraws_waiting_messages_and_rotating_reseals_them(
        session: Session, settings: Settings, region_id: int, ids: dict[str, int],
        subs: dict[str, AgencySubscription]) -> None:
    key = settings.resolved_secret_key()
    admin = principal(Role.regional_admin)
    elections, licensing = subs["kc-elections"], subs["wa-licensing"]
    rep = report(session, settings, region_id, [elections.id, licensing.id])
    _, new_secret = tellusonce.rotate_secret(session=session, actor=admin,
                                             subscription_id=licensing.id, secret_key=key)
    tellusonce.set_active(session=session, actor=admin, subscription_id=elections.id,
                          active=False)
    by_dest = {m.destination: m for m in messages_of(session, rep)}
    for m in by_dest.values():
        session.refresh(m)
    assert by_dest[f"subscription:{elections.id}"].status == "dead"
    assert "deactivated" in (by_dest[f"subscription:{elections.id}"].last_error or "")
    claims = outbox_service.claim_batch(session, now=utcnow(), limit=50, lease_seconds=30,
                                        secret_key=key)
    [claim] = [c for c in claims if c.idempotency_key.endswith(f":{licensing.id}")
               and rep.reference in c.idempotency_key]
    assert claim.secret == new_secret
    offered = tellusonce_queries.available_subscriptions(session=session, region_id=region_id,
                                                 event="change_of_address")
    assert elections.id not in {s.id for s in offered}


def test_a_deactivated_subscription_gets_no_retry_of_a_message_in_flight(
        session: Session, settings: Settings, region_id: int,
        subs: dict[str, AgencySubscription]) -> None:
    """Issue 8, 2.6: the message was being delivered when the agency's subscription was
    deactivated; its receiver was down, so the worker would retry, and did, twice more, with
    personal data. Now the subscription is checked at every attempt: not sent."""
    key, admin = settings.resolved_secret_key(), principal(Role.regional_admin)
    enrollment = subs["sps-enrollment"]
    rep = report(session, settings, region_id, [enrollment.id])
    now = utcnow()
    [claim] = [c for c in outbox_service.claim_batch(
        session, now=now, limit=50, lease_seconds=30, secret_key=key)
        if c.idempotency_key.startswith(f"tellusonce:{rep.reference}:")]
    tellusonce.set_active(session=session, actor=admin, subscription_id=enrollment.id,
                          active=False)
    # the attempt that was on the wire answers 503: no retry may be scheduled
    outbox_service.record_result(session, claim, outbox_service.Outcome(
        status_code=503, error=None, started_at=now, duration_ms=3), now=now,
        policy=outbox_service.calc.RetryPolicy(), worker="t")
    for later in (now + timedelta(minutes=5), now + timedelta(hours=3)):
        again = outbox_service.claim_batch(session, now=later, limit=50, lease_seconds=30,
                                           secret_key=key)
        assert claim.id not in {c.id for c in again}
    [msg] = messages_of(session, rep)
    session.refresh(msg)
    assert msg.status == "dead" and "deactivated" in (msg.last_error or "")
    with pytest.raises(Conflict, match="reactivate"):
        outbox_service.requeue(session=session, actor=admin, message_id=msg.id)

    # reactivated: staff may send it anyway
    tellusonce.set_active(session=session, actor=admin, subscription_id=enrollment.id,
                          active=True)
    outbox_service.requeue(session=session, actor=admin, message_id=msg.id)
    assert claim.id in {c.id for c in outbox_service.claim_batch(
        session, now=now + timedelta(hours=4), limit=50, lease_seconds=30, secret_key=key)}


# ------------------------------------------------------------------------------ pages

LABEL_FOR = re.compile(r'<label[^>]*\bfor="([^"]+)"')
CONTROL = re.compile(r'<(input|select|textarea)\b([^>]*)>')


def assert_labeled(html: str) -> None:
    """Every visible form control has a <label for=...> (axe's 'label' rule, roughly)."""
    labeled = set(LABEL_FOR.findall(html))
    for tag, attrs in CONTROL.findall(html):
        if 'type="hidden"' in attrs:
            continue
        m = re.search(r'\bid="([^"]+)"', attrs)
        assert m and m.group(1) in labeled, f"unlabeled <{tag}{attrs}>"
    assert html.count("<fieldset") == html.count("<legend")
    assert html.count("<h1") == 1 and '<html lang="en">' in html


def form_data(html: str, event: str, **extra: Any) -> dict[str, Any]:
    token = re.search(r'name="form_token" value="([^"]+)"', html)
    assert token
    return {"csrf_token": csrf_from(html), "event": event, "form_token": token.group(1),
            **extra}


def test_public_pages_choose_fill_consent_and_confirm(client: TestClient, session: Session,
                                                      subs: dict[str, AgencySubscription]
                                                      ) -> None:
    start = client.get("/tell-us-once")
    assert start.status_code == 200
    assert "What happened?" in start.text and 'type="radio"' in start.text
    assert_labeled(start.text)

    page = client.get("/tell-us-once", params={"event": "change_of_address"})
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert_labeled(page.text)
    assert "Which agencies should we tell?" in page.text
    assert " checked" not in page.text  # nothing is ticked for the person
    assert "Utility billing" in page.text and "vital records" not in page.text
    assert 'autocomplete="bday"' in page.text

    utilities = subs["seattle-utilities"]
    missing = client.post("/tell-us-once", data=form_data(
        page.text, "change_of_address", agency=[str(utilities.id)], **MOVE))
    assert missing.status_code == 422
    assert "Tick the box to agree" in missing.text
    assert 'value="Grace Hopper-Testperson"' in missing.text  # what was typed is kept
    assert f'value="{utilities.id}" checked' in missing.text
    assert_labeled(missing.text)

    no_contact = client.post("/tell-us-once", data=form_data(
        page.text, "change_of_address", agency=[str(utilities.id)], consent="yes", **MOVE))
    assert no_contact.status_code == 422
    assert "so that we can confirm the report with you" in no_contact.text

    done = client.post("/tell-us-once", data=form_data(
        page.text, "change_of_address", agency=[str(utilities.id)], consent="yes",
        contact="206-555-0100", **MOVE))
    assert done.status_code == 201, done.text
    ref = re.search(r'id="reference">(TU-[A-Z0-9-]+)<', done.text)
    assert ref and "City of Seattle: Utility billing" in done.text
    assert "Hopper" not in done.text  # the confirmation repeats no personal data
    assert "Nothing has been sent yet" in done.text
    rep = session.scalars(sa.select(LifeEventReport).where(
        LifeEventReport.reference == ref.group(1))).one()
    assert rep.verification == "awaiting_verification" and messages_of(session, rep) == []
    assert "555" not in (rep.verification_enc or "")  # the contact is sealed too
    # the same form sent again (a double click, a reload) gives the same reference
    again = client.post("/tell-us-once", data=form_data(
        page.text, "change_of_address", agency=[str(utilities.id)], consent="yes",
        contact="206-555-0100", **MOVE))
    assert again.status_code == 201 and ref.group(1) in again.text

    no_csrf = client.post("/tell-us-once", data={"event": "change_of_address", **MOVE})
    assert no_csrf.status_code == 403


def test_public_reports_are_rate_limited_per_client(client: TestClient,
                                                    subs: dict[str, AgencySubscription]
                                                    ) -> None:
    statuses = []
    for _ in range(tellusonce.REPORTS_PER_HOUR + 1):
        page = client.get("/tell-us-once", params={"event": "change_of_address"})
        r = client.post("/tell-us-once", data=form_data(
            page.text, "change_of_address", agency=[str(subs["kc-elections"].id)],
            consent="yes", **MOVE, **CONTACT))
        statuses.append(r.status_code)
    assert statuses == [201] * tellusonce.REPORTS_PER_HOUR + [429]
    assert "Please try again later" in r.text and r.headers["retry-after"] == "3600"


def test_staff_page_subscriptions_and_delivery_status(client: TestClient, session: Session,
                                                      subs: dict[str, AgencySubscription]
                                                      ) -> None:
    assert client.get("/staff/tell-us-once", follow_redirects=False).status_code == 303
    login(client, "seattle.admin@demo.govshare.org")
    page = client.get("/staff/tell-us-once")
    assert page.status_code == 200
    assert_labeled(page.text)
    assert "Utility billing" in page.text and "voter registration" not in page.text

    created = client.post("/staff/tell-us-once/subscriptions", data={
        "csrf_token": csrf_from(page.text), "jurisdiction_id": str(subs[
            "seattle-utilities"].jurisdiction_id), "name": "Library cards",
        "purpose": "Updates the address on your library card.",
        "webhook_url": "https://hooks.example.org/library", "event_types": ["change_of_address",
                                                                            "death"]})
    assert created.status_code == 201, created.text
    secret = re.search(r'id="new-secret">(whsec_[A-Za-z0-9+/=]+)<', created.text)
    assert secret and "shown only this once" in created.text
    outbox_calc.check_signing_secret(secret.group(1))
    assert secret.group(1) not in client.get("/staff/tell-us-once").text

    bad = client.post("/staff/tell-us-once/subscriptions", data={
        "csrf_token": csrf_from(page.text), "jurisdiction_id": str(subs[
            "seattle-utilities"].jurisdiction_id), "name": "Insecure",
        "purpose": "Sends to a plain http address.", "webhook_url": "http://example.org/x",
        "event_types": ["birth"]})
    assert bad.status_code == 422 and "must use https://" in bad.text
    metadata = client.post("/staff/tell-us-once/subscriptions", data={
        "csrf_token": csrf_from(page.text), "jurisdiction_id": str(subs[
            "seattle-utilities"].jurisdiction_id), "name": "Metadata",
        "purpose": "Points at the cloud's metadata service.",
        "webhook_url": "https://169.254.169.254/latest/meta-data/", "event_types": ["birth"]})
    assert metadata.status_code == 422 and "a link-local address" in metadata.text

    other = client.post(f"/staff/tell-us-once/subscriptions/{subs['kc-elections'].id}",
                        data={"csrf_token": csrf_from(page.text), "action": "deactivate"})
    assert other.status_code == 404  # King County's subscription does not exist for Seattle
    own = client.post(f"/staff/tell-us-once/subscriptions/{subs['seattle-utilities'].id}",
                      data={"csrf_token": csrf_from(page.text), "action": "deactivate"},
                      follow_redirects=False)
    assert own.status_code == 303
    session.refresh(subs["seattle-utilities"])
    assert subs["seattle-utilities"].active is False

    outbox = client.get("/outbox")
    assert outbox.status_code == 200 and "Webhook deliveries" in outbox.text
    assert "Requeue" not in outbox.text  # only regional admins requeue
    assert_labeled(outbox.text)


def test_outbox_page_shows_dead_letters_and_requeues(client: TestClient, session: Session,
                                                     settings: Settings, region_id: int,
                                                     subs: dict[str, AgencySubscription]
                                                     ) -> None:
    rep = report(session, settings, region_id, [subs["sps-enrollment"].id])
    [msg] = messages_of(session, rep)
    [claim] = [c for c in outbox_service.claim_batch(
        session, now=utcnow(), limit=50, lease_seconds=30,
        secret_key=settings.resolved_secret_key()) if c.id == msg.id]
    outbox_service.record_result(session, claim, outbox_service.Outcome(
        status_code=410, error="HTTP 410: this hook is retired", started_at=utcnow(),
        duration_ms=12), now=utcnow(), policy=outbox_service.calc.RetryPolicy(), worker="t")
    session.commit()
    login(client, "admin@demo.govshare.org")
    page = client.get("/outbox")
    assert page.status_code == 200
    assert "Dead letter" in page.text and "this hook is retired" in page.text
    assert "Seattle Public Schools: Enrollment" in page.text
    assert "Hopper" not in page.text  # bodies are never shown
    assert_labeled(page.text)
    r = client.post("/outbox/requeue", data={"csrf_token": csrf_from(page.text),
                                             "message_id": str(msg.id)},
                    follow_redirects=False)
    assert r.status_code == 303
    session.refresh(msg)
    assert msg.status == "pending" and msg.attempts == 0
    staff = client.get("/staff/tell-us-once")
    assert rep.reference in staff.text and "Waiting" in staff.text


def test_the_outbox_is_not_for_the_public_or_analysts(client: TestClient) -> None:
    assert client.get("/outbox", follow_redirects=False).status_code == 303
    login(client, "analyst@demo.govshare.org")
    page = client.get("/outbox")
    assert page.status_code == 200
    r = client.post("/outbox/requeue", data={"csrf_token": csrf_from(page.text)})
    assert r.status_code == 403


def test_event_specs_are_consistent() -> None:
    for spec in tellusonce_calc.EVENTS.values():
        names = [f.name for f in spec.fields]
        assert len(names) == len(set(names))
        assert not set(names) & {"csrf_token", "event", "form_token", "agency", "consent"}
        for later, earlier in spec.order:
            assert later in names and earlier in names
    assert tellusonce_calc.validate_person("birth", {
        "child_full_name": "Baby Test", "child_date_of_birth": date.today().isoformat(),
        "parent_full_name": "Parent Test", "home_address": "4 Home St"},
        today=date.today())[1] == []
    assert isinstance(ANONYMOUS, Principal)


# ------------------------------------------------------------------ identity and verification


DEATH = {"deceased_full_name": "Ada Testperson", "deceased_date_of_birth": "1940-02-03",
         "date_of_death": (date.today() - timedelta(days=3)).isoformat(),
         "last_address": "3 Pine Street, Seattle, WA 98101",
         "informant_full_name": "Byron Testperson", "informant_relationship": "son"}


def test_an_anonymous_death_notice_reaches_no_agency_until_vital_records_confirm_it(
        session: Session, settings: Settings, region_id: int,
        subs: dict[str, AgencySubscription]) -> None:
    """Issue 9 §5: an anonymous visitor's death report went straight to voter registration
    and driver licensing, with no contact details. Now it needs a contact, waits, and is
    sent only after staff of a member told of it check it (here against vital records)."""
    chosen = [subs["kc-elections"].id, subs["kc-vital-records"].id]
    key = settings.resolved_secret_key()
    with pytest.raises(ValidationFailed) as no_contact:
        report(session, settings, region_id, chosen, event="death", person=DEATH,
               verification_details={}, verify=False)
    assert [e["loc"] for e in no_contact.value.errors] == [["contact"]]
    # without an identity assured by a provider (test_identity.py), a death waits for staff
    rep = report(session, settings, region_id, chosen, event="death", person=DEATH,
                 verification_details={"contact": "byron@example.org",
                                       "certificate_number": "2026-017-004211"},
                 verify=False)
    assert rep.verification == "awaiting_verification" and messages_of(session, rep) == []

    seattle_staff = principal(Role.jurisdiction_staff, subs["seattle-utilities"].jurisdiction_id)
    with pytest.raises(NotFound):  # Seattle was not told: it cannot see or verify the report
        tellusonce.verify_report(session=session, actor=seattle_staff, region_id=region_id,
                                 reference=rep.reference, evidence_kind="records_match",
                                 evidence_reference="", secret_key=key)
    assert tellusonce_queries.awaiting_reports(session=session, actor=seattle_staff,
                                               region_id=region_id) == []
    county = principal(Role.jurisdiction_staff, subs["kc-vital-records"].jurisdiction_id)
    assert [r.reference for r in tellusonce_queries.awaiting_reports(
        session=session, actor=county, region_id=region_id)] == [rep.reference]
    opened, person, record = tellusonce.verification_details(
        session=session, actor=county, region_id=region_id, reference=rep.reference,
        secret_key=key)
    assert person == DEATH and record["reporter"]["certificate_number"] == "2026-017-004211"
    with pytest.raises(ValidationFailed) as no_number:
        tellusonce.verify_report(session=session, actor=county, region_id=region_id,
                                 reference=rep.reference, evidence_kind="death_certificate",
                                 evidence_reference=" ", secret_key=key)
    assert no_number.value.errors[0]["loc"] == ["evidence_reference"]
    tellusonce.verify_report(session=session, actor=county, region_id=region_id,
                             reference=rep.reference, evidence_kind="death_certificate",
                             evidence_reference="2026-017-004211", secret_key=key)
    assert rep.verification == "verified" and rep.verified_by == county.ref
    assert "Death certificate" in (rep.verification_method or "")
    sent = messages_of(session, rep)
    assert len(sent) == 2
    body = json.loads(crypto.sealer(key, crypto.OUTBOX_PAYLOAD).open(sent[0].body_enc or ""))
    assert body["person"] == DEATH and "byron@example.org" not in json.dumps(body)
    assert body["identity"]["verified_by"].startswith("staff: Death certificate")
    with pytest.raises(Conflict):  # verified is final: not twice, not rejected after
        tellusonce.reject_report(session=session, actor=county, region_id=region_id,
                                 reference=rep.reference, reason="changed my mind")
    actions = session.execute(sa.text(
        "SELECT action FROM audit_events WHERE entity_id = :r ORDER BY id"),
        {"r": rep.reference}).scalars().all()
    assert actions == ["tellusonce.report", "tellusonce.open_for_verification",
                       "tellusonce.verify"]


def test_a_rejected_report_is_told_to_no_one_and_its_details_deleted(
        session: Session, settings: Settings, region_id: int,
        subs: dict[str, AgencySubscription]) -> None:
    rep = report(session, settings, region_id, [subs["kc-elections"].id], event="death",
                 person=DEATH, verify=False)
    admin = principal(Role.regional_admin)
    with pytest.raises(ValidationFailed):
        tellusonce.reject_report(session=session, actor=admin, region_id=region_id,
                                 reference=rep.reference, reason="  ")
    tellusonce.reject_report(session=session, actor=admin, region_id=region_id,
                             reference=rep.reference, reason="No such death on record")
    assert rep.verification == "rejected" and messages_of(session, rep) == []
    assert rep.personal_data_enc is None and rep.verification_enc is None
    with pytest.raises(Conflict):
        tellusonce.verify_report(session=session, actor=admin, region_id=region_id,
                                 reference=rep.reference, evidence_kind="records_match",
                                 evidence_reference="", secret_key=settings.resolved_secret_key())


@pytest.mark.parametrize(("current", "to"), [
    (a, b) for a in tellusonce_calc.VERIFICATION_LABELS
    for b in tellusonce_calc.VERIFICATION_LABELS])
def test_verification_moves_only_from_awaiting(current: str, to: str) -> None:
    expected = current == tellusonce_calc.AWAITING and to != tellusonce_calc.AWAITING
    assert tellusonce_calc.can_move(current, to) is expected


def test_staff_check_a_report_on_its_page(client: TestClient, session: Session,
                                          subs: dict[str, AgencySubscription]) -> None:
    page = client.get("/tell-us-once", params={"event": "death"})
    assert "How we confirm your report" in page.text and "Death certificate number" in page.text
    assert_labeled(page.text)
    done = client.post("/tell-us-once", data=form_data(
        page.text, "death", agency=[str(subs["kc-elections"].id)], consent="yes",
        contact="byron@example.org", **DEATH))
    assert done.status_code == 201, done.text
    ref = re.search(r'id="reference">(TU-[A-Z0-9-]+)<', done.text)
    assert ref and "against vital records" in done.text

    login(client, "seattle.admin@demo.govshare.org")  # Seattle was not told
    assert ref.group(1) not in client.get("/staff/tell-us-once").text
    assert client.get(f"/staff/tell-us-once/reports/{ref.group(1)}").status_code == 404
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/admin").text)})

    login(client, "kingcounty.admin@demo.govshare.org")
    staff = client.get("/staff/tell-us-once")
    assert f"Check report {ref.group(1)}" in staff.text
    check = client.get(f"/staff/tell-us-once/reports/{ref.group(1)}")
    assert check.status_code == 200 and "Ada Testperson" in check.text
    assert "byron@example.org" in check.text and check.headers["cache-control"] == "no-store"
    assert_labeled(check.text)
    refused = client.post(f"/staff/tell-us-once/reports/{ref.group(1)}/verify", data={
        "csrf_token": csrf_from(check.text), "evidence_kind": "death_certificate"})
    assert refused.status_code == 422 and "Enter the certificate number" in refused.text
    verified = client.post(f"/staff/tell-us-once/reports/{ref.group(1)}/verify", data={
        "csrf_token": csrf_from(check.text), "evidence_kind": "death_certificate",
        "evidence_reference": "2026-017-004211"}, follow_redirects=False)
    assert verified.status_code == 303
    rep = session.scalars(sa.select(LifeEventReport).where(
        LifeEventReport.reference == ref.group(1))).one()
    session.refresh(rep)
    assert rep.verification == "verified" and len(messages_of(session, rep)) == 1
    assert client.get("/staff/tell-us-once/reports/not-a-ref").status_code == 422


@pytest.mark.parametrize(("contact", "clean"), [
    ("reporter@example.org", "reporter@example.org"),
    ("206.555.0100", "(206) 555-0100"),  # core.phones: written back one way
    ("1 (206) 555-0100 x12", "(206) 555-0100 ext. 12"),
    ("+44 20 7946 0000", "+44 20 7946 0000"),
    ("555-0100", None),
    ("123-456-7890", None),
    ("call 206-555-0100", None),
    ("<b>206-555-0100</b>", None),
    ("2" * 200, None),
])
def test_the_reporters_phone_is_checked_by_core_phones(contact: str, clean: str | None) -> None:
    values, errors = tellusonce_calc.validate_verification("change_of_address",
                                                           {"contact": contact})
    if clean is None:
        assert values == {} and [e["loc"] for e in errors] == [["contact"]], errors
        assert "a phone number like 206-555-0100" in errors[0]["reason"]
    else:
        assert values == {"contact": clean} and errors == []
