"""What the tell-us-once pages and service take in: an agency's subscription.

The webhook URL is judged by the outbox's rules (``outbox.calc.url_problem``) in the service,
which knows whether this installation lets webhooks reach its own loopback address.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from govshare.tellusonce.models import LifeEventType


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    jurisdiction_id: int = Field(ge=1)
    name: str = Field(min_length=2, max_length=200)
    purpose: str = Field(min_length=10, max_length=1000)
    webhook_url: str = Field(min_length=1, max_length=500)
    event_types: list[LifeEventType] = Field(min_length=1)
