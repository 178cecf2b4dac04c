"""Sample "tell us once" subscriptions for the demo region.

SAMPLE content, marked ``sample``: no real agency receives anything. Each sample agency's
webhook points at ``http://127.0.0.1:8099/hooks/<agency>``, where
``govshare outbox receiver --port 8099`` stands in for the agencies (it verifies the Standard
Webhooks signatures with the published demo secret,
``govshare.outbox.receiver.DEMO_WEBHOOK_SECRET``). Run it and ``govshare worker`` next to
``govshare serve`` to watch reports arrive. Webhooks to 127.0.0.1 need
``GOVSHARE_OUTBOX_ALLOW_LOOPBACK`` (on by default in development, refused in production).

The first two are City of Seattle's and King County's, in that order: the authorization
matrix (tests/contract/test_authz_matrix.py) uses subscriptions 1 and 2 as "own" and
"other" rows, and tests/frontoffice/test_tellusonce.py checks that they still are.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from govshare.core.settings import Settings
from govshare.core.tenancy import Principal
from govshare.outbox.receiver import DEMO_WEBHOOK_SECRET
from govshare.regions import queries as regions_queries
from govshare.tellusonce import service as tellusonce
from govshare.tellusonce.schemas import SubscriptionIn

RECEIVER = "http://127.0.0.1:8099/hooks/"

# (member, agency, why it wants to know, events, hook name)
SAMPLES = [
    ("City of Seattle", "Utility billing",
     "Moves the water, sewer and electricity account to the new address, and closes the "
     "account of someone who has died.", ["change_of_address", "death"], "seattle-utilities"),
    ("King County", "Elections: voter registration",
     "Updates your voter registration and ballot address, or removes a deceased voter.",
     ["change_of_address", "death"], "kc-elections"),
    ("King County", "Public Health: vital records",
     "Checks the birth or death against the vital record it holds.", ["birth", "death"],
     "kc-vital-records"),
    ("State of Washington", "Driver licensing",
     "Updates the address on a driver licence or ID card, or cancels it after a death.",
     ["change_of_address", "death"], "wa-licensing"),
    ("Seattle Public Schools", "Enrollment",
     "Tells your school about the move, and plans a place for a newborn in years to come.",
     ["change_of_address", "birth"], "sps-enrollment"),
]


def build(session: Session, actor: Principal, region_id: int, settings: Settings) -> None:
    members = {j.name: j.id for j in regions_queries.list_jurisdictions(session=session,
                                                                        region_id=region_id)}
    for member, name, purpose, events, hook in SAMPLES:
        tellusonce.create_subscription(
            session=session, actor=actor, region_id=region_id, sample=True,
            signing_secret=DEMO_WEBHOOK_SECRET, secret_key=settings.resolved_secret_key(),
            allow_loopback=settings.outbox_allows_loopback,
            data=SubscriptionIn(jurisdiction_id=members[member], name=name, purpose=purpose,
                                webhook_url=RECEIVER + hook,
                                event_types=events))
