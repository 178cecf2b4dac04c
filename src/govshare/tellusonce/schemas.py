"""What the tell-us-once pages and service take in: an agency's subscription."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from govshare.tellusonce.models import LifeEventType

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    jurisdiction_id: int = Field(ge=1)
    name: str = Field(min_length=2, max_length=200)
    purpose: str = Field(min_length=10, max_length=1000)
    webhook_url: str = Field(max_length=500)
    event_types: list[LifeEventType] = Field(min_length=1)

    @field_validator("webhook_url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        host = (parts.hostname or "").lower()
        if parts.scheme not in ("https", "http") or not host:
            raise ValueError("must be an https:// address")
        if parts.scheme == "http" and host not in LOOPBACK_HOSTS:
            raise ValueError("must use https:// (plain http only to 127.0.0.1 or localhost, "
                             "for local tests)")
        if parts.username or parts.password:
            raise ValueError("must not carry a user name or password; the signature "
                             "authenticates each message")
        if parts.fragment:
            raise ValueError("must not have a #fragment")
        return value
