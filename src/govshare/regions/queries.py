"""Reads of the regions domain. Keyword-only; each takes the acting principal where rows are
private, and filters to what that principal may see."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import Select, false, func, select
from sqlalchemy.orm import Session

from govshare.core.db import utcnow
from govshare.core.errors import NotFound
from govshare.core.paging import PageParams, fetch_page
from govshare.core.tenancy import (
    Principal,
    ensure_visible,
    same_region,
    visible_jurisdiction_ids,
)
from govshare.regions.models import ApiKey, Jurisdiction, Region, User


def current_region(*, session: Session) -> Region | None:
    """The region this installation serves: the first one created."""
    return session.scalars(select(Region).order_by(Region.id).limit(1)).first()


def require_current_region(*, session: Session) -> Region:
    """The region this installation serves; NotFound (404) when none has been set up yet."""
    region = current_region(session=session)
    if region is None:
        raise NotFound("No region has been set up yet. Run `govshare demo` or "
                       "`govshare region create`.")
    return region


def today(*, session: Session) -> date:
    """Today's date in the current region's time zone: a year (a plan's first, a measure's)
    turns at the region's midnight, not the server's."""
    zone = ZoneInfo(require_current_region(session=session).time_zone)
    return utcnow().astimezone(zone).date()


def region_by_name(*, session: Session, name: str) -> Region | None:
    return session.scalars(select(Region).where(Region.name == name)).first()


def member_ids_query(region_id: int) -> Select[int]:
    """The ids of a region's members, as a subquery for other domains' ``IN`` filters (they
    may not name this domain's models)."""
    return select(Jurisdiction.id).where(Jurisdiction.region_id == region_id)


def member_ids(*, session: Session, region_id: int) -> frozenset[int]:
    """The ids of a region's members (a signed-in principal carries them: see
    ``Principal.region_members``)."""
    return frozenset(session.scalars(member_ids_query(region_id)))


def _jurisdictions(region_id: int) -> Select[Jurisdiction]:
    return (select(Jurisdiction).where(Jurisdiction.region_id == region_id)
            .order_by(Jurisdiction.parent_id.is_not(None), Jurisdiction.kind, Jurisdiction.name,
                      Jurisdiction.id))


def list_jurisdictions(*, session: Session, region_id: int) -> list[Jurisdiction]:
    """Members are public facts: every principal sees the list."""
    return list(session.scalars(_jurisdictions(region_id)))


def jurisdictions_page(*, session: Session, region_id: int, page: PageParams
                       ) -> tuple[list[Jurisdiction], int]:
    """One page of the members, in the order of :func:`list_jurisdictions`."""
    return fetch_page(session, _jurisdictions(region_id), page)


def get_jurisdiction(*, session: Session, jurisdiction_id: int) -> Jurisdiction:
    j = session.get(Jurisdiction, jurisdiction_id)
    if j is None:
        raise NotFound(f"Jurisdiction {jurisdiction_id} not found")
    return j


def jurisdiction_by_geoid(*, session: Session, region_id: int, geoid: str) -> Jurisdiction | None:
    return session.scalars(
        select(Jurisdiction).where(Jurisdiction.region_id == region_id,
                                   Jurisdiction.geoid == geoid)
    ).first()


def find_jurisdiction(*, session: Session, region_id: int, ref: str) -> Jurisdiction:
    """A jurisdiction by id, GEOID or exact name (for the CLI)."""
    stmt = select(Jurisdiction).where(Jurisdiction.region_id == region_id)
    cands = []
    if ref.isdigit():
        j = session.get(Jurisdiction, int(ref))
        if j is not None and j.region_id == region_id:
            cands.append(j)
    cands += list(session.scalars(stmt.where(Jurisdiction.geoid == ref)))
    cands += list(session.scalars(stmt.where(Jurisdiction.name == ref)))
    unique = {j.id: j for j in cands}
    if not unique:
        raise NotFound(f"No jurisdiction with id, GEOID or name {ref!r} in this region")
    if len(unique) > 1:
        raise NotFound(f"{ref!r} matches several jurisdictions; use the id")
    return next(iter(unique.values()))


def list_users(
    *, session: Session, actor: Principal, region_id: int, page: PageParams = PageParams(200)
) -> tuple[list[User], int]:
    stmt = select(User).where(User.region_id == region_id)
    if not same_region(actor, region_id):
        stmt = stmt.where(false())  # another region's principal sees none of them
    visible = visible_jurisdiction_ids(actor)
    if visible is not None:
        stmt = stmt.where(User.jurisdiction_id.in_(visible))
    return fetch_page(session, stmt.order_by(User.email, User.id), page)


def region_users(*, session: Session, region_id: int) -> list[User]:
    """Every staff account of the region (for names and assignment lists; no authorization:
    callers show only names, never e-mail addresses or roles)."""
    return list(session.scalars(select(User).where(User.region_id == region_id)
                                .order_by(User.full_name, User.id)))


def get_user(*, session: Session, actor: Principal, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None or not same_region(actor, user.region_id):
        raise NotFound("User not found")
    if not actor.role.is_regional:
        ensure_visible(actor, user.jurisdiction_id, "User")
    return user


def user_by_email(*, session: Session, email: str) -> User | None:
    return session.scalars(select(User).where(func.lower(User.email) == email.lower())).first()


def list_api_keys(
    *, session: Session, actor: Principal, region_id: int, page: PageParams | None = None
) -> tuple[list[ApiKey], int]:
    """Keys the actor may see, active first; one page (all without ``page``) and the count."""
    stmt = select(ApiKey).where(ApiKey.region_id == region_id)
    if not same_region(actor, region_id):
        stmt = stmt.where(false())  # another region's principal sees none of them
    visible = visible_jurisdiction_ids(actor)
    if visible is not None:
        stmt = stmt.where(ApiKey.jurisdiction_id.in_(visible))
    stmt = stmt.order_by(ApiKey.revoked_at.is_not(None), ApiKey.name, ApiKey.id)
    if page is None:
        rows = list(session.scalars(stmt))
        return rows, len(rows)
    return fetch_page(session, stmt, page)


def get_api_key(*, session: Session, actor: Principal, apikey_id: int) -> ApiKey:
    key = session.get(ApiKey, apikey_id)
    if key is None or not same_region(actor, key.region_id):
        raise NotFound("API key not found")
    if not actor.role.is_regional:
        ensure_visible(actor, key.jurisdiction_id, "API key")
    return key
