"""Pydantic models of the regions JSON API: XCreate / XUpdate / XRead (lists answer
``core.paging.Page[XRead]``)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from govshare.core.security import MIN_PASSWORD_LENGTH
from govshare.core.tenancy import APIKEY_ROLES, USER_ROLES, Role

# Re-exported: other domains reach the kinds through schemas, never through models.
from govshare.regions.models import KIND_LABELS as KIND_LABELS
from govshare.regions.models import JurisdictionKind as JurisdictionKind

GEOID_PATTERN = r"^[0-9A-Za-z\-]{1,20}$"


class RegionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    slug: str


class JurisdictionCreate(BaseModel):
    name: str = Field(min_length=2, max_length=200)
    kind: JurisdictionKind
    parent_id: int | None = None
    geoid: str | None = Field(None, pattern=GEOID_PATTERN, description="Census GEOID / FIPS")
    population: int | None = Field(None, ge=0, le=2_000_000_000)
    population_source: str | None = Field(None, max_length=300)

    @field_validator("name")
    @classmethod
    def _strip(cls, v: str) -> str:
        v = " ".join(v.split())
        if len(v) < 2:
            raise ValueError("name must have at least 2 characters")
        return v


class JurisdictionUpdate(BaseModel):
    name: str | None = Field(None, min_length=2, max_length=200)
    parent_id: int | None = None
    population: int | None = Field(None, ge=0, le=2_000_000_000)
    population_source: str | None = Field(None, max_length=300)


class JurisdictionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    region_id: int
    name: str
    kind: JurisdictionKind
    parent_id: int | None
    geoid: str | None
    population: int | None
    population_source: str | None


class RegionSummary(RegionRead):
    members: list[JurisdictionRead]


class UserCreate(BaseModel):
    email: EmailStr
    full_name: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=256)
    role: Role
    jurisdiction_id: int | None = None

    @field_validator("role")
    @classmethod
    def _staff_role(cls, v: Role) -> Role:
        if v not in USER_ROLES:
            raise ValueError(f"{v.value} is not a role a person can hold; one of: "
                             + ", ".join(r.value for r in USER_ROLES))
        return v


class UserUpdate(BaseModel):
    full_name: str | None = Field(None, min_length=1, max_length=200)
    role: Role | None = None
    jurisdiction_id: int | None = None
    is_active: bool | None = None
    password: str | None = Field(None, min_length=MIN_PASSWORD_LENGTH, max_length=256)


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    email: str
    full_name: str
    role: Role
    jurisdiction_id: int | None
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None


class ApiKeyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    role: Role = Field(description="open311_client: submit Open311 service requests and read "
                       "what the public reads, nothing else (the least a client app needs)")
    jurisdiction_id: int | None = None

    @field_validator("role")
    @classmethod
    def _key_role(cls, v: Role) -> Role:
        if v not in APIKEY_ROLES:
            raise ValueError(f"{v.value} is not a role a key can hold; one of: "
                             + ", ".join(r.value for r in APIKEY_ROLES))
        return v


class ApiKeyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    prefix: str
    role: Role
    jurisdiction_id: int | None
    created_by: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyRead):
    key: str = Field(description="The key itself. Shown once; only its hash is kept.")


class AuditEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    at: datetime
    actor: str
    actor_role: str
    action: str
    entity: str
    entity_id: str | None
    jurisdiction_id: int | None
    before: dict[str, object] | None
    after: dict[str, object] | None
    request_id: str | None


class Me(BaseModel):
    kind: str
    role: Role
    name: str
    jurisdiction_id: int | None
