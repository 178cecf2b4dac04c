"""Small factories for the regions domain: principals and API keys for a role."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from govshare.core.tenancy import Principal, Role, system_principal
from govshare.regions import service
from govshare.regions.models import Region
from govshare.regions.schemas import ApiKeyCreate


def principal(role: Role, jurisdiction_id: int | None = None) -> Principal:
    if role is Role.public:
        return Principal(kind="anonymous", role=role)
    return Principal(kind="user", role=role, region_id=1, jurisdiction_id=jurisdiction_id,
                     user_id=None, name=f"test {role.value}")


def api_key(session: Session, role: Role, jurisdiction_id: int | None = None,
            name: str = "test key") -> str:
    region_id = session.scalars(select(Region.id)).first()
    assert region_id is not None
    _key, plaintext = service.create_api_key(
        session=session, actor=system_principal("test"), region_id=region_id,
        data=ApiKeyCreate(name=name, role=role, jurisdiction_id=jurisdiction_id))
    session.flush()
    return plaintext
