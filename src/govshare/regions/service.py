"""Writes of the regions domain. Keyword-only, take the session and the acting principal,
``flush()`` and never commit; each write leaves an audit row.

Invariants enforced here (and, where a database can, by constraints too):
- jurisdictional roles need a jurisdiction of the same region; regional roles have none;
- a jurisdiction admin manages only their own jurisdiction's people and keys, and cannot
  grant a regional role;
- API keys and session tokens are stored only as SHA-256 digests; the key is returned once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from govshare.core import audit, formats, ratelimit
from govshare.core.db import utcnow
from govshare.core.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    RateLimited,
    ValidationFailed,
)
from govshare.core.http import MAX_ID
from govshare.core.security import (
    DUMMY_HASH,
    hash_password,
    new_token,
    sign,
    signatures_match,
    token_digest,
    verify_password,
)
from govshare.core.tenancy import ANONYMOUS, Action, Principal, Role, authorize
from govshare.regions import queries
from govshare.regions.models import (
    ApiKey,
    Jurisdiction,
    Region,
    SignInAddress,
    User,
    UserSession,
)
from govshare.regions.schemas import (
    ApiKeyCreate,
    JurisdictionCreate,
    JurisdictionUpdate,
    UserCreate,
    UserUpdate,
)

JURISDICTION_FIELDS = ("name", "kind", "parent_id", "geoid", "population", "population_source")
USER_FIELDS = ("email", "full_name", "role", "jurisdiction_id", "is_active")
APIKEY_FIELDS = ("name", "prefix", "role", "jurisdiction_id", "revoked_at")


def slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:100] or "region"


def _can_exist(row_id: int, what: str) -> None:
    """404 for an id no row can have, before it reaches SQL.

    Ids arrive from JSON bodies, form fields and page paths that no schema bounds; one past the
    INTEGER column's range makes the driver raise (SQLite: OverflowError; PostgreSQL: integer
    out of range) — a 500 for what is plainly "no such row".
    """
    if not 1 <= row_id <= MAX_ID:
        raise NotFound(f"{what} {row_id} not found")


def _jurisdiction(session: Session, jurisdiction_id: int) -> Jurisdiction:
    _can_exist(jurisdiction_id, "Jurisdiction")
    return queries.get_jurisdiction(session=session, jurisdiction_id=jurisdiction_id)


# --------------------------------------------------------------------------- regions


def _time_zone(name: str) -> str:
    try:
        return formats.check_time_zone(name.strip())
    except ValueError as exc:
        raise ValidationFailed(str(exc), errors=[
            {"loc": ["time_zone"], "reason": str(exc), "value": name[:64]}]) from None


def create_region(*, session: Session, actor: Principal, name: str,
                  time_zone: str = formats.DEFAULT_TIME_ZONE) -> Region:
    authorize(actor, Action.jurisdiction_manage)
    name = " ".join(name.split())
    if len(name) < 2:
        raise BadRequest("A region needs a name of at least 2 characters")
    tz = _time_zone(time_zone)
    if queries.region_by_name(session=session, name=name) is not None:
        raise Conflict(f"A region named {name!r} already exists")
    region = Region(name=name, slug=slugify(name), time_zone=tz)
    session.add(region)
    session.flush()
    audit.record(session, actor, action="region.create", entity="region", entity_id=region.id,
                 after={"name": name, "slug": region.slug, "time_zone": tz})
    return region


def set_time_zone(*, session: Session, actor: Principal, region_id: int,
                  time_zone: str) -> Region:
    """The zone every date and time of the region is shown in (an IANA name)."""
    authorize(actor, Action.jurisdiction_manage, region_id=region_id)
    tz = _time_zone(time_zone)
    region = session.get(Region, region_id)
    if region is None:
        raise NotFound(f"Region {region_id} not found")
    before = region.time_zone
    if before != tz:
        region.time_zone = tz
        session.flush()
        audit.record(session, actor, action="region.time_zone", entity="region",
                     entity_id=region.id, before={"time_zone": before},
                     after={"time_zone": tz})
    return region


# --------------------------------------------------------------------------- jurisdictions


def add_jurisdiction(
    *, session: Session, actor: Principal, region_id: int, data: JurisdictionCreate
) -> Jurisdiction:
    authorize(actor, Action.jurisdiction_manage, region_id=region_id)
    if data.parent_id is not None:
        parent = _jurisdiction(session, data.parent_id)
        if parent.region_id != region_id:
            raise BadRequest(f"Parent jurisdiction {data.parent_id} is in another region")
    dup = session.scalars(
        select(Jurisdiction).where(Jurisdiction.region_id == region_id,
                                   Jurisdiction.name == data.name)
    ).first()
    if dup is not None:
        raise Conflict(f"A jurisdiction named {data.name!r} is already a member (id {dup.id})")
    if data.geoid:
        dup = session.scalars(
            select(Jurisdiction).where(Jurisdiction.region_id == region_id,
                                       Jurisdiction.kind == data.kind.value,
                                       Jurisdiction.geoid == data.geoid)
        ).first()
        if dup is not None:
            raise Conflict(
                f"A {data.kind.label.lower()} with GEOID {data.geoid} is already a member "
                f"({dup.name}, id {dup.id})"
            )
    j = Jurisdiction(region_id=region_id, name=data.name, kind=data.kind.value,
                     parent_id=data.parent_id, geoid=data.geoid, population=data.population,
                     population_source=data.population_source)
    session.add(j)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent insert won the race
        raise Conflict(f"Jurisdiction {data.name!r} already exists") from exc
    audit.record(session, actor, action="jurisdiction.create", entity="jurisdiction",
                 entity_id=j.id, jurisdiction_id=j.id,
                 after=audit.snapshot(j, JURISDICTION_FIELDS))
    return j


def update_jurisdiction(
    *, session: Session, actor: Principal, jurisdiction_id: int, data: JurisdictionUpdate
) -> Jurisdiction:
    authorize(actor, Action.jurisdiction_manage, jurisdiction_id)
    j = _jurisdiction(session, jurisdiction_id)
    authorize(actor, Action.jurisdiction_manage, jurisdiction_id, region_id=j.region_id)
    before = audit.snapshot(j, JURISDICTION_FIELDS)
    changes = data.model_dump(exclude_unset=True)
    if "parent_id" in changes and changes["parent_id"] is not None:
        if changes["parent_id"] == j.id:
            raise BadRequest("A jurisdiction cannot be its own parent")
        parent = _jurisdiction(session, changes["parent_id"])
        if parent.region_id != j.region_id:
            raise BadRequest("The parent jurisdiction is in another region")
    for key, value in changes.items():
        setattr(j, key, value)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict("Another member already has that name") from exc
    audit.record(session, actor, action="jurisdiction.update", entity="jurisdiction",
                 entity_id=j.id, jurisdiction_id=j.id, before=before,
                 after=audit.snapshot(j, JURISDICTION_FIELDS))
    return j


# --------------------------------------------------------------------------- users


def _check_scope(
    session: Session, actor: Principal, region_id: int, role: Role, jurisdiction_id: int | None,
    action: Action,
) -> None:
    """The role/jurisdiction pair is well-formed and the actor may grant it."""
    if role is Role.public:
        raise BadRequest("public is not a role that can be granted")
    if role is Role.open311_client and action is not Action.apikey_manage:
        raise BadRequest(f"{role.label} is a role for API keys, not for people")
    if role.is_regional and jurisdiction_id is not None:
        raise BadRequest(f"{role.label} is a regional role: leave the jurisdiction empty")
    if role.is_jurisdictional and jurisdiction_id is None:
        raise BadRequest(f"{role.label} needs a jurisdiction")
    if jurisdiction_id is not None:
        j = session.get(Jurisdiction, jurisdiction_id) if 1 <= jurisdiction_id <= MAX_ID else None
        if j is None or j.region_id != region_id:
            raise BadRequest(f"Jurisdiction {jurisdiction_id} is not a member of this region")
    authorize(actor, action, jurisdiction_id, region_id=region_id)
    if not actor.role.is_regional and role.is_regional:
        raise Forbidden("Only a regional admin may grant a regional role")
    if not actor.role.is_regional and jurisdiction_id is None:
        raise Forbidden("Only a regional admin may create a key for the whole region")


def create_user(*, session: Session, actor: Principal, region_id: int, data: UserCreate) -> User:
    _check_scope(session, actor, region_id, data.role, data.jurisdiction_id, Action.user_manage)
    email = str(data.email).lower()
    if queries.user_by_email(session=session, email=email) is not None:
        raise Conflict(f"A user with e-mail {email} already exists")
    user = User(region_id=region_id, email=email, full_name=data.full_name.strip(),
                password_hash=hash_password(data.password), role=data.role.value,
                jurisdiction_id=data.jurisdiction_id, is_active=True)
    session.add(user)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(f"A user with e-mail {email} already exists") from exc
    audit.record(session, actor, action="user.create", entity="user", entity_id=user.id,
                 jurisdiction_id=user.jurisdiction_id, after=audit.snapshot(user, USER_FIELDS))
    return user


def update_user(
    *, session: Session, actor: Principal, user_id: int, data: UserUpdate
) -> User:
    _can_exist(user_id, "User")
    user = queries.get_user(session=session, actor=actor, user_id=user_id)
    authorize(actor, Action.user_manage, user.jurisdiction_id, region_id=user.region_id)
    before = audit.snapshot(user, USER_FIELDS)
    changes = data.model_dump(exclude_unset=True)
    role = Role(changes.get("role", user.role))
    jurisdiction_id = changes.get("jurisdiction_id", user.jurisdiction_id)
    if role.is_regional and "role" in changes and "jurisdiction_id" not in changes:
        jurisdiction_id = None
    if "role" in changes or "jurisdiction_id" in changes:
        _check_scope(session, actor, user.region_id, role, jurisdiction_id, Action.user_manage)
    if actor.kind == "user" and actor.user_id == user.id and changes.get("is_active") is False:
        raise BadRequest("You cannot deactivate your own account")
    user.role = role.value
    user.jurisdiction_id = jurisdiction_id
    if "full_name" in changes and changes["full_name"]:
        user.full_name = changes["full_name"].strip()
    if "is_active" in changes and changes["is_active"] is not None:
        user.is_active = changes["is_active"]
        if not user.is_active:
            _revoke_sessions(session, user.id)
    if changes.get("password"):
        user.password_hash = hash_password(changes["password"])
        _revoke_sessions(session, user.id)
    session.flush()
    after = audit.snapshot(user, USER_FIELDS)
    if changes.get("password"):
        after["password"] = audit.REDACTED
    audit.record(session, actor, action="user.update", entity="user", entity_id=user.id,
                 jurisdiction_id=user.jurisdiction_id, before=before, after=after)
    return user


def _revoke_sessions(session: Session, user_id: int) -> None:
    session.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


# --------------------------------------------------------------------------- sessions


@dataclass(frozen=True)
class LoginResult:
    user: User
    token: str
    device_cookie: str  # a new signed device cookie for this browser (ADR 15)
    trusted: str | None  # "device", "address" or None: what made the attempt a known one


DEVICE_COOKIE = "govshare_device"
SIGN_IN_FAILED = "The e-mail address or password is not right."


def device_cookie(secret_key: str, email: str, *, now: datetime | None = None) -> str:
    """A device cookie for ``email``: nonce, issue time and an HMAC binding both to the
    account (OWASP, "Slow down online guessing attacks with device cookies")."""
    nonce = new_token(12)
    issued = int((now or utcnow()).timestamp())
    return f"{nonce}.{issued}.{sign(secret_key, f'device:{email}:{nonce}:{issued}')}"


def _device_nonce(secret_key: str, email: str, cookie: str | None, trust_days: int
                  ) -> str | None:
    """The nonce of a valid, unexpired device cookie issued to ``email``, else None."""
    if not cookie or len(cookie) > 200:
        return None
    parts = cookie.split(".")
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    nonce, issued, signature = parts
    if not signatures_match(signature, sign(secret_key, f"device:{email}:{nonce}:{issued}")):
        return None
    if utcnow().timestamp() - int(issued) > trust_days * 86400:
        return None
    return nonce


def _address_hash(secret_key: str, client: str) -> str:
    return sign(secret_key, f"address:{client}")


def _known_address(session: Session, user: User, address_hash: str, trust_days: int) -> bool:
    since = utcnow() - timedelta(days=trust_days)
    return session.scalar(select(SignInAddress.id).where(
        SignInAddress.user_id == user.id, SignInAddress.address_hash == address_hash,
        SignInAddress.last_at >= since)) is not None


def _remember_address(session: Session, user: User, address_hash: str) -> None:
    row = session.scalars(select(SignInAddress).where(
        SignInAddress.user_id == user.id, SignInAddress.address_hash == address_hash)).first()
    if row is None:
        session.add(SignInAddress(user_id=user.id, address_hash=address_hash))
    else:
        row.last_at = utcnow()
    session.flush()


def forget_sign_in_addresses(*, session: Session, older_than: timedelta,
                             now: datetime | None = None) -> int:
    """Delete known sign-in addresses not used for ``older_than`` (they are no longer trusted
    anyway); how many. Run hourly by ``govshare worker``."""
    result = session.execute(delete(SignInAddress).where(
        SignInAddress.last_at < (now or utcnow()) - older_than))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def authenticate(
    *,
    session: Session,
    email: str,
    password: str,
    client: str,
    session_hours: float,
    max_failures: int,
    window_minutes: int,
    max_failures_per_client: int | None = None,
    device: str | None = None,
    secret_key: str = "",
    delay_seconds: float = 60.0,
    trust_days: int = 90,
) -> LoginResult:
    """Check the password and open a session, throttling guesses without letting anyone lock
    the real user out (ADR 15, OWASP's authentication cheat sheet).

    An attempt is *known* when it carries a valid device cookie issued to this account at an
    earlier successful sign-in (``device``), or comes from an address the account signed in
    from within ``trust_days``; otherwise it is *unknown*. Failures are counted where the
    attempt came from: per device cookie, per account and known address, or per account for
    all unknown places together. After ``max_failures`` of them in the window each further
    attempt of that kind must wait ``delay_seconds``, doubled by each further failure, at most
    the window (429 with Retry-After, even for the right password). So an attacker hammering
    an account from elsewhere delays only unknown places: the user's own browser or office
    still signs in. Unknown attempts are also limited per client address across accounts
    (``max_failures_per_client``, default ``10 x max_failures``: an office behind one NAT
    address shares it). Sign-ins and failed sign-ins are audited (the account, never what
    was typed for an unknown one)."""
    email = email.strip().lower()
    window = timedelta(minutes=window_minutes)
    per_client = max_failures_per_client or 10 * max_failures
    user = queries.user_by_email(session=session, email=email)
    nonce = _device_nonce(secret_key, email, device, trust_days) if user else None
    address = _address_hash(secret_key, client)
    if nonce is not None:
        trusted: str | None = "device"
        own = ("login-device", nonce)
    elif user is not None and _known_address(session, user, address, trust_days):
        trusted, own = "address", ("login-address", f"{user.id}:{address}")
    else:
        trusted, own = None, ("login-account", email)
    counted = [own] if trusted == "device" else [own, ("login-client", client)]
    if trusted != "device":
        ratelimit.check(session, "login-client", client, window=window, limit=per_client,
                        message="Too many failed sign-in attempts from this address. Try "
                        f"again in {window_minutes} minutes.")
    count, last = ratelimit.recent(session, *own, window)
    wait = ratelimit.progressive_wait(count, last, free=max_failures,
                                      first=timedelta(seconds=delay_seconds), cap=window)
    if wait:
        raise RateLimited(f"Too many failed sign-in attempts. Try again in {wait} seconds"
                          + ("" if trusted else ", or from a browser or place you have "
                             "signed in from before") + ".", retry_after=wait)
    ok = verify_password(user.password_hash if user else DUMMY_HASH, password)
    if user is None or not ok or not user.is_active:
        for bucket, key in counted:
            ratelimit.hit(session, bucket, key)
        audit.record(session, ANONYMOUS, action="session.sign_in_failed", entity="session",
                     jurisdiction_id=user.jurisdiction_id if user else None,
                     after={"user_id": user.id if user else None,
                            "from": trusted or "unknown place"})
        raise BadRequest(SIGN_IN_FAILED)
    ratelimit.clear(session, *own)
    _remember_address(session, user, address)
    token = new_token()
    now = utcnow()
    opened = UserSession(user_id=user.id, token_hash=token_digest(token), created_at=now,
                         expires_at=now + timedelta(hours=session_hours))
    session.add(opened)
    user.last_login_at = now
    session.flush()
    actor = Principal(kind="user", role=Role(user.role), region_id=user.region_id,
                      jurisdiction_id=user.jurisdiction_id, user_id=user.id, name=user.full_name)
    audit.record(session, actor, action="session.sign_in", entity="session",
                 entity_id=opened.id, jurisdiction_id=user.jurisdiction_id,
                 after={"user_id": user.id, "from": trusted or "unknown place"})
    return LoginResult(user=user, token=token, device_cookie=device_cookie(secret_key, email),
                       trusted=trusted)


def logout(*, session: Session, token: str) -> None:
    """End the session behind ``token`` (audited as ``session.sign_out``)."""
    row = session.execute(
        select(UserSession, User).join(User, User.id == UserSession.user_id)
        .where(UserSession.token_hash == token_digest(token), UserSession.revoked_at.is_(None))
    ).first()
    if row is None:
        return
    opened, user = row
    opened.revoked_at = utcnow()
    session.flush()
    actor = Principal(kind="user", role=Role(user.role), region_id=user.region_id,
                      jurisdiction_id=user.jurisdiction_id, user_id=user.id, name=user.full_name)
    audit.record(session, actor, action="session.sign_out", entity="session",
                 entity_id=opened.id, jurisdiction_id=user.jurisdiction_id,
                 after={"user_id": user.id})


def principal_for_session(*, session: Session, token: str) -> Principal | None:
    """The signed-in user behind a session cookie, or ``None`` if expired, revoked or unknown."""
    row = session.execute(
        select(UserSession, User)
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.token_hash == token_digest(token))
    ).first()
    if row is None:
        return None
    us, user = row
    if us.revoked_at is not None or us.expires_at <= utcnow() or not user.is_active:
        return None
    return Principal(kind="user", role=Role(user.role), region_id=user.region_id,
                     jurisdiction_id=user.jurisdiction_id, user_id=user.id, name=user.full_name,
                     region_members=queries.member_ids(session=session,
                                                       region_id=user.region_id))


# --------------------------------------------------------------------------- API keys

KEY_PREFIX = "gsk_"


def create_api_key(
    *, session: Session, actor: Principal, region_id: int, data: ApiKeyCreate
) -> tuple[ApiKey, str]:
    """Create a key; returns the row and the key itself, which is never retrievable again."""
    _check_scope(session, actor, region_id, data.role, data.jurisdiction_id, Action.apikey_manage)
    prefix = new_token(6)[:8].replace("-", "x").replace("_", "y")
    secret = new_token(32)
    plaintext = f"{KEY_PREFIX}{prefix}_{secret}"
    key = ApiKey(region_id=region_id, name=data.name.strip(), prefix=prefix,
                 key_hash=token_digest(plaintext), role=data.role.value,
                 jurisdiction_id=data.jurisdiction_id, created_by=actor.ref)
    session.add(key)
    session.flush()
    audit.record(session, actor, action="apikey.create", entity="apikey", entity_id=key.id,
                 jurisdiction_id=key.jurisdiction_id, after=audit.snapshot(key, APIKEY_FIELDS))
    return key, plaintext


def revoke_api_key(*, session: Session, actor: Principal, apikey_id: int) -> ApiKey:
    _can_exist(apikey_id, "API key")
    key = queries.get_api_key(session=session, actor=actor, apikey_id=apikey_id)
    authorize(actor, Action.apikey_manage, key.jurisdiction_id, region_id=key.region_id)
    if key.revoked_at is not None:
        return key
    before = audit.snapshot(key, APIKEY_FIELDS)
    key.revoked_at = utcnow()
    session.flush()
    audit.record(session, actor, action="apikey.revoke", entity="apikey", entity_id=key.id,
                 jurisdiction_id=key.jurisdiction_id, before=before,
                 after=audit.snapshot(key, APIKEY_FIELDS))
    return key


def find_api_key(*, session: Session, prefix: str) -> ApiKey:
    key = session.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).first()
    if key is None:
        raise NotFound(f"No API key with prefix {prefix}")
    return key


LAST_USE_RESOLUTION = timedelta(minutes=1)  # the keys page shows last use to the minute


def principal_for_api_key(*, session: Session, plaintext: str) -> Principal | None:
    """The system behind an API key, or ``None`` if unknown or revoked. Records last use (to
    the minute)."""
    m = re.fullmatch(rf"{KEY_PREFIX}([A-Za-z0-9]{{8}})_[A-Za-z0-9_\-]{{20,}}", plaintext.strip())
    if not m:
        return None
    key = session.scalars(select(ApiKey).where(ApiKey.prefix == m.group(1))).first()
    if key is None or key.revoked_at is not None:
        return None
    if not signatures_match(key.key_hash, token_digest(plaintext.strip())):
        return None
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USE_RESOLUTION:
        # Written at most once a minute: a busy client's every call would otherwise update
        # (and lock, until its transaction ends) the key's row, serializing its requests.
        key.last_used_at = now
        session.flush()
    return Principal(kind="apikey", role=Role(key.role), region_id=key.region_id,
                     jurisdiction_id=key.jurisdiction_id, apikey_id=key.id, name=key.name,
                     region_members=queries.member_ids(session=session, region_id=key.region_id))
