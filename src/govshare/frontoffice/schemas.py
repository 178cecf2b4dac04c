"""Pydantic models of the front office, and the vocabularies of life events and groups."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from govshare.core.phones import PHONE_MAX, check_phone
from govshare.frontoffice.calc import SERVICE_CODE
from govshare.frontoffice.models import Channel as Channel
from govshare.frontoffice.models import RequestStatus

LIFE_EVENTS: dict[str, str] = {
    "having_a_baby": "Having a baby",
    "moving": "Moving home",
    "starting_a_business": "Starting a business",
    "losing_a_job": "Losing a job",
    "retiring": "Retiring",
    "death": "Death of a loved one",
    "going_to_school": "Starting school",
    "home_and_street": "Home and street problems",
}
TARGET_GROUPS: dict[str, str] = {
    "seniors": "Seniors", "veterans": "Veterans", "youth": "Youth and families",
    "newcomers": "Newcomers", "disabilities": "People with disabilities",
    "businesses": "Businesses", "everyone": "Everyone",
}
CHANNEL_LABELS = {"web": "Web form", "open311": "Open311 app", "phone": "Phone",
                  "mail": "Mail", "walk_in": "Walk-in", "email": "E-mail"}


class WalkIn(BaseModel):
    name: str
    address: str
    hours: str


class Channels(BaseModel):
    online_url: str | None = None
    phone: str | None = None
    mail_address: str | None = None
    walk_in: list[WalkIn] = Field(default_factory=list)


class ServiceIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)
    code: str = Field(pattern=SERVICE_CODE.pattern)
    name: str = Field(min_length=2, max_length=200)
    description: str = Field(min_length=10, max_length=4000)
    eligibility: str | None = Field(None, max_length=4000)
    group: str | None = Field(None, max_length=100)
    keywords: list[str] = Field(default_factory=list)
    life_events: list[str] = Field(default_factory=list)
    target_groups: list[str] = Field(default_factory=list)
    channels: Channels = Field(default_factory=Channels)
    accepts_requests: bool = False
    attributes: list[dict[str, Any]] = Field(default_factory=list)
    target_days: int | None = Field(None, ge=1, le=365, description="Service level: days "
                                    "from arrival by which a request should be closed")
    sample: bool = False

    @field_validator("life_events")
    @classmethod
    def _events(cls, v: list[str]) -> list[str]:
        bad = sorted(set(v) - set(LIFE_EVENTS))
        if bad:
            raise ValueError(f"unknown life event(s): {', '.join(bad)}")
        return v

    @field_validator("target_groups")
    @classmethod
    def _groups(cls, v: list[str]) -> list[str]:
        bad = sorted(set(v) - set(TARGET_GROUPS))
        if bad:
            raise ValueError(f"unknown target group(s): {', '.join(bad)}")
        return v


class ServiceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    code: str
    name: str
    description: str
    eligibility: str | None
    group: str | None
    keywords: list[str]
    life_events: list[str]
    target_groups: list[str]
    channels: dict[str, Any]
    accepts_requests: bool
    attributes: list[dict[str, Any]]
    sample: bool


class RequestIn(BaseModel):
    """A request from any channel. Location: lat/lon, or an address with a ZIP code."""

    model_config = ConfigDict(str_strip_whitespace=True)
    service_code: str = Field(min_length=1, max_length=64)
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    address: str | None = Field(None, max_length=300)
    address_id: str | None = Field(None, max_length=100)
    zipcode: str | None = Field(None, pattern=r"^\d{5}$")
    description: str | None = Field(None, max_length=4000)
    attributes: dict[str, list[str]] = Field(default_factory=dict)
    media_url: str | None = Field(None, max_length=500)
    first_name: str | None = Field(None, max_length=100)
    last_name: str | None = Field(None, max_length=100)
    email: EmailStr | None = None
    phone: str | None = Field(None, max_length=PHONE_MAX, description="A telephone number: "
                              "a US one with its area code, or + and a country code")
    device_id: str | None = Field(None, max_length=100)
    account_id: str | None = Field(None, max_length=100)
    channel: Channel = Channel.web
    jurisdiction_id: int | None = None

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str | None) -> str | None:
        return check_phone(v) if v else None


class RequestPublic(BaseModel):
    """What anyone tracking a request may see: no contact details."""

    public_id: str
    service_code: str
    service_name: str
    status: RequestStatus
    status_label: str
    open311_status: str
    status_notes: str | None
    agency_responsible: str
    requested_at: datetime
    updated_at: datetime
    expected_at: datetime | None
    address: str | None
    zipcode: str | None
    lat: float | None
    lon: float | None
    description: str | None
    updates: list[dict[str, Any]]


class RequestStaff(RequestPublic):
    id: int
    channel: Channel
    contact_first_name: str | None
    contact_last_name: str | None
    contact_email: str | None
    contact_phone: str | None
    attributes: dict[str, Any]
    recorded_by: str
    jurisdiction_id: int


class RequestAction(BaseModel):
    """A staff action on a request: change status, add a note, forward, recategorize."""

    to_status: RequestStatus | None = None
    note: str | None = Field(None, max_length=4000)
    public: bool = True
    forward_to_jurisdiction_id: int | None = None
    recategorize_to: str | None = Field(None, max_length=64)
    duplicate_of: str | None = Field(None, max_length=32)
    assign_to: int | None = Field(None, description="A staff member's user id; 0 unassigns")
