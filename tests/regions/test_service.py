"""Regions service: jurisdictions, users and roles, sign-in, sessions and API keys."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from govshare.core.audit import AuditEvent
from govshare.core.db import utcnow
from govshare.core.errors import BadRequest, Conflict, Forbidden, NotFound, RateLimited
from govshare.core.security import token_digest
from govshare.core.tenancy import Principal, Role
from govshare.regions import queries, service
from govshare.regions.models import ApiKey, Jurisdiction, Region, User, UserSession
from govshare.regions.schemas import (
    ApiKeyCreate,
    JurisdictionCreate,
    JurisdictionKind,
    UserCreate,
    UserUpdate,
)
from tests.factories.regions import principal

PASSWORD = "a-long-enough-password"


def count(session: Session, model: type) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model)) or 0


def region_id(session: Session) -> int:
    region = queries.current_region(session=session)
    assert region is not None
    return region.id


def test_duplicate_jurisdiction_is_refused_and_changes_nothing(session: Session, system: Principal,
                                                               ids: dict[str, int]) -> None:
    before = count(session, Jurisdiction), count(session, AuditEvent)
    with pytest.raises(Conflict, match="already a member"):
        service.add_jurisdiction(session=session, actor=system, region_id=region_id(session),
                                 data=JurisdictionCreate(name="King County",
                                                         kind=JurisdictionKind.county))
    with pytest.raises(Conflict, match="GEOID 53033"):
        service.add_jurisdiction(session=session, actor=system, region_id=region_id(session),
                                 data=JurisdictionCreate(name="Another King",
                                                         kind=JurisdictionKind.county,
                                                         geoid="53033"))
    assert (count(session, Jurisdiction), count(session, AuditEvent)) == before


def test_add_jurisdiction_is_audited(session: Session, system: Principal,
                                     ids: dict[str, int]) -> None:
    j = service.add_jurisdiction(
        session=session, actor=system, region_id=region_id(session),
        data=JurisdictionCreate(name="King County Library System",
                                kind=JurisdictionKind.special_district, parent_id=ids["county"]))
    event = session.scalars(sa.select(AuditEvent).where(AuditEvent.entity == "jurisdiction",
                                                        AuditEvent.entity_id == str(j.id))).one()
    assert event.action == "jurisdiction.create"
    assert event.actor == "system:test"
    assert event.after is not None and event.after["parent_id"] == ids["county"]
    assert event.before is None


def test_only_regional_admin_manages_jurisdictions(session: Session, ids: dict[str, int]) -> None:
    for role in (Role.regional_analyst, Role.jurisdiction_admin, Role.jurisdiction_staff):
        with pytest.raises(Forbidden):
            service.add_jurisdiction(
                session=session, actor=principal(role, ids["city"] if role.is_jurisdictional
                                                 else None),
                region_id=region_id(session),
                data=JurisdictionCreate(name="New Town", kind=JurisdictionKind.city))


@pytest.mark.parametrize(("role", "where", "error"), [
    (Role.jurisdiction_staff, None, "needs a jurisdiction"),
    (Role.regional_analyst, "city", "regional role"),
])
def test_role_and_jurisdiction_must_fit(session: Session, system: Principal,
                                        ids: dict[str, int], role: Role, where: str | None,
                                        error: str) -> None:
    with pytest.raises(BadRequest, match=error):
        service.create_user(session=session, actor=system, region_id=region_id(session),
                            data=UserCreate(email="x@example.org", full_name="X",
                                            password=PASSWORD, role=role,
                                            jurisdiction_id=ids[where] if where else None))


def test_jurisdiction_admin_manages_only_own_people(session: Session,
                                                    ids: dict[str, int]) -> None:
    seattle_admin = principal(Role.jurisdiction_admin, ids["city"])
    rid = region_id(session)
    user = service.create_user(session=session, actor=seattle_admin, region_id=rid,
                               data=UserCreate(email="new.clerk@seattle.example.org",
                                               full_name="New Clerk", password=PASSWORD,
                                               role=Role.jurisdiction_staff,
                                               jurisdiction_id=ids["city"]))
    assert user.jurisdiction_id == ids["city"]
    with pytest.raises(Forbidden):
        service.create_user(session=session, actor=seattle_admin, region_id=rid,
                            data=UserCreate(email="intruder@example.org", full_name="I",
                                            password=PASSWORD, role=Role.jurisdiction_staff,
                                            jurisdiction_id=ids["county"]))
    with pytest.raises(Forbidden, match="regional role"):
        service.create_user(session=session, actor=seattle_admin, region_id=rid,
                            data=UserCreate(email="boss@example.org", full_name="B",
                                            password=PASSWORD, role=Role.regional_admin))
    county_user = queries.user_by_email(session=session,
                                        email="kingcounty.admin@demo.govshare.org")
    assert county_user is not None
    with pytest.raises(NotFound):  # another jurisdiction's people do not exist for them
        service.update_user(session=session, actor=seattle_admin, user_id=county_user.id,
                            data=UserUpdate(is_active=False))


def test_duplicate_email_is_refused(session: Session, system: Principal) -> None:
    with pytest.raises(Conflict, match="already exists"):
        service.create_user(session=session, actor=system, region_id=region_id(session),
                            data=UserCreate(email="ADMIN@demo.govshare.org", full_name="Dup",
                                            password=PASSWORD, role=Role.regional_admin))


def test_user_audit_never_holds_the_password(session: Session, system: Principal) -> None:
    user = service.create_user(session=session, actor=system, region_id=region_id(session),
                               data=UserCreate(email="p@example.org", full_name="P",
                                               password=PASSWORD, role=Role.regional_analyst))
    service.update_user(session=session, actor=system, user_id=user.id,
                        data=UserUpdate(password="another-long-password"))
    events = session.scalars(sa.select(AuditEvent).where(AuditEvent.entity_id == str(user.id),
                                                         AuditEvent.entity == "user")).all()
    assert len(events) == 2
    for e in events:
        assert PASSWORD not in str(e.after) and "another-long" not in str(e.after)
        assert user.password_hash not in str(e.after)
    assert events[-1].after is not None and events[-1].after["password"] == "[redacted]"
    assert user.password_hash.startswith("$argon2id$")


def _login(session: Session, email: str, password: str, client: str = "10.0.0.1"
           ) -> service.LoginResult:
    return service.authenticate(session=session, email=email, password=password, client=client,
                                session_hours=8, max_failures=3, window_minutes=15)


def test_sign_in_opens_a_session_that_ends(session: Session) -> None:
    result = _login(session, "Seattle.Admin@demo.govshare.org", "demo-password-2026")
    p = service.principal_for_session(session=session, token=result.token)
    assert p is not None and p.role is Role.jurisdiction_admin and p.user_id == result.user.id
    row = session.scalars(sa.select(UserSession).where(
        UserSession.token_hash == token_digest(result.token))).one()
    assert row.token_hash != result.token  # only the digest is stored
    row.expires_at = utcnow() - timedelta(seconds=1)
    session.flush()
    assert service.principal_for_session(session=session, token=result.token) is None
    other = _login(session, "seattle.admin@demo.govshare.org", "demo-password-2026")
    service.logout(session=session, token=other.token)
    assert service.principal_for_session(session=session, token=other.token) is None


def test_failed_sign_ins_are_rate_limited(session: Session) -> None:
    for _ in range(3):
        with pytest.raises(BadRequest, match="not right"):
            _login(session, "analyst@demo.govshare.org", "wrong-password")
    with pytest.raises(RateLimited):  # even the right password, until the window passes
        _login(session, "analyst@demo.govshare.org", "demo-password-2026")
    # another account from another client is unaffected
    assert _login(session, "admin@demo.govshare.org", "demo-password-2026", "10.9.9.9").token


def test_one_address_shares_a_higher_limit_so_an_office_behind_nat_is_not_locked_out(
        session: Session) -> None:
    office = "203.0.113.7"
    for _ in range(3):  # one colleague locks out their own account ...
        with pytest.raises(BadRequest):
            _login(session, "analyst@demo.govshare.org", "typo", office)
    with pytest.raises(RateLimited):
        _login(session, "analyst@demo.govshare.org", "demo-password-2026", office)
    # ... the others at the same address still sign in
    assert _login(session, "admin@demo.govshare.org", "demo-password-2026", office).token
    for i in range(27):  # but one address spraying guesses across accounts is stopped
        with pytest.raises((BadRequest, RateLimited)):
            _login(session, f"nobody{i}@example.org", "guess", office)
    with pytest.raises(RateLimited):  # 30 failures (10 x 3) from the address in the window
        _login(session, "seattle.admin@demo.govshare.org", "demo-password-2026", office)


def test_unknown_account_and_deactivated_account_cannot_sign_in(session: Session,
                                                                system: Principal) -> None:
    with pytest.raises(BadRequest):
        _login(session, "nobody@example.org", "whatever-password")
    user = queries.user_by_email(session=session, email="schools.staff@demo.govshare.org")
    assert user is not None
    token = _login(session, user.email, "demo-password-2026", "10.0.0.2").token
    service.update_user(session=session, actor=system, user_id=user.id,
                        data=UserUpdate(is_active=False))
    assert service.principal_for_session(session=session, token=token) is None
    with pytest.raises(BadRequest):
        _login(session, user.email, "demo-password-2026", "10.0.0.3")


def test_api_key_shown_once_hashed_revocable(session: Session, system: Principal,
                                             ids: dict[str, int]) -> None:
    key, plaintext = service.create_api_key(
        session=session, actor=system, region_id=region_id(session),
        data=ApiKeyCreate(name="Open311 app", role=Role.jurisdiction_staff,
                          jurisdiction_id=ids["city"]))
    assert plaintext.startswith("gsk_" + key.prefix + "_")
    stored = session.get(ApiKey, key.id)
    assert stored is not None and plaintext not in (stored.key_hash, stored.prefix)
    p = service.principal_for_api_key(session=session, plaintext=plaintext)
    assert p is not None and p.kind == "apikey" and p.jurisdiction_id == ids["city"]
    first_use = stored.last_used_at
    assert first_use is not None
    # Last use is kept to the minute: a second call at once writes nothing ...
    assert service.principal_for_api_key(session=session, plaintext=plaintext) is not None
    assert stored.last_used_at == first_use
    # ... one a minute later does.
    stored.last_used_at = first_use - timedelta(minutes=1, seconds=1)
    session.flush()
    assert service.principal_for_api_key(session=session, plaintext=plaintext) is not None
    assert stored.last_used_at > first_use
    assert service.principal_for_api_key(session=session, plaintext=plaintext[:-1] + "x") is None
    service.revoke_api_key(session=session, actor=system, apikey_id=key.id)
    assert service.principal_for_api_key(session=session, plaintext=plaintext) is None
    actions = session.scalars(sa.select(AuditEvent.action).where(
        AuditEvent.entity == "apikey", AuditEvent.entity_id == str(key.id))).all()
    assert actions == ["apikey.create", "apikey.revoke"]


def test_jurisdiction_admin_cannot_see_or_revoke_other_keys(session: Session, system: Principal,
                                                            ids: dict[str, int]) -> None:
    key, _ = service.create_api_key(
        session=session, actor=system, region_id=region_id(session),
        data=ApiKeyCreate(name="County GIS", role=Role.jurisdiction_staff,
                          jurisdiction_id=ids["county"]))
    seattle_admin = principal(Role.jurisdiction_admin, ids["city"])
    with pytest.raises(NotFound):
        service.revoke_api_key(session=session, actor=seattle_admin, apikey_id=key.id)
    keys, _ = queries.list_api_keys(session=session, actor=seattle_admin,
                                    region_id=region_id(session))
    assert key.id not in {k.id for k in keys}
    assert session.get(ApiKey, key.id).revoked_at is None  # type: ignore[union-attr]


def test_cannot_deactivate_yourself(session: Session) -> None:
    user = session.scalars(sa.select(User).where(User.email == "admin@demo.govshare.org")).one()
    me = Principal(kind="user", role=Role.regional_admin, region_id=user.region_id,
                   user_id=user.id, name=user.full_name)
    with pytest.raises(BadRequest, match="your own account"):
        service.update_user(session=session, actor=me, user_id=user.id,
                            data=UserUpdate(is_active=False))


def test_require_current_region(session: Session) -> None:
    region = queries.require_current_region(session=session)
    assert region.id == region_id(session)
    engine = sa.create_engine("sqlite://")
    Region.__table__.create(engine)
    try:
        with Session(engine) as empty, pytest.raises(NotFound,
                                                     match="No region has been set up yet"):
            queries.require_current_region(session=empty)
    finally:
        engine.dispose()


def test_today_turns_at_the_regions_midnight(session: Session,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The region's date, not the server's: at 05:00 UTC on New Year's Day it is still
    December 31 in Seattle, so "next year" (a plan's first year) is the coming one."""
    from datetime import UTC, datetime

    from govshare.property import service as property_service

    region = queries.require_current_region(session=session)
    assert region.time_zone == "America/Los_Angeles"
    monkeypatch.setattr(queries, "utcnow", lambda: datetime(2027, 1, 1, 5, 0, tzinfo=UTC))
    assert queries.today(session=session).isoformat() == "2026-12-31"
    assert property_service.next_year(session) == 2027
    monkeypatch.setattr(queries, "utcnow", lambda: datetime(2027, 1, 1, 9, 0, tzinfo=UTC))
    assert queries.today(session=session).isoformat() == "2027-01-01"
    assert property_service.next_year(session) == 2028
