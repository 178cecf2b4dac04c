"""The complete metadata: every domain's tables, for migrations and the schema check.

This is the one place below ``web`` that names every domain's models, and only so Alembic can
see them; nothing else should import it. (Import-linter ignores this module on purpose.)
"""

from __future__ import annotations

import importlib
import importlib.util

from govshare.core.db import Base
from govshare.core.domains import DOMAINS

DOMAIN_MODEL_MODULES = (
    "govshare.core.audit",
    "govshare.core.ratelimit",
    "govshare.core.changes",
    *(f"govshare.{d}.models" for d in DOMAINS
      if importlib.util.find_spec(f"govshare.{d}") is not None
      and importlib.util.find_spec(f"govshare.{d}.models") is not None),
)

for _name in DOMAIN_MODEL_MODULES:
    importlib.import_module(_name)

metadata = Base.metadata
