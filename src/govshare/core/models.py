"""The complete metadata: every domain's tables, for migrations and the schema check.

This is the one place below ``web`` that names every domain's models, and only so Alembic can
see them; nothing else should import it. (Import-linter ignores this module on purpose.)
"""

from __future__ import annotations

import importlib

from govshare.core.db import Base

DOMAIN_MODEL_MODULES = (
    "govshare.core.audit",
    "govshare.core.ratelimit",
    "govshare.core.changes",
    "govshare.regions.models",
    "govshare.geo.models",
    "govshare.property.models",
    "govshare.frontoffice.models",
    "govshare.frontoffice.tellusonce_models",
    "govshare.outbox.models",
)

for _name in DOMAIN_MODEL_MODULES:
    importlib.import_module(_name)

metadata = Base.metadata
