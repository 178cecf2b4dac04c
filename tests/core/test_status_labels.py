"""One label table per status (issue 8 §3: two tables of the outbox's statuses were merged).

Every module of the package is imported and each module-level ``dict`` of strings whose keys
cover a status enum counts as a table of that status's labels; the same object imported
elsewhere counts once.
"""

from __future__ import annotations

import importlib
import pkgutil
from enum import StrEnum

import govshare
from govshare.frontoffice.models import RequestStatus
from govshare.outbox.models import MessageStatus
from govshare.property.models import AssetStatus, ProposalStatus

STATUSES: list[type[StrEnum]] = [RequestStatus, AssetStatus, ProposalStatus, MessageStatus]


def _label_tables() -> dict[type[StrEnum], dict[int, list[str]]]:
    found: dict[type[StrEnum], dict[int, list[str]]] = {e: {} for e in STATUSES}
    for info in pkgutil.walk_packages(govshare.__path__, "govshare."):
        if ".migrations" in info.name or info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if not (isinstance(value, dict) and value
                    and all(isinstance(k, str) and isinstance(v, str)
                            for k, v in value.items())):
                continue
            for enum in STATUSES:
                if {s.value for s in enum} <= set(value):
                    found[enum].setdefault(id(value), []).append(f"{info.name}.{name}")
    return found


def test_each_status_has_one_label_table() -> None:
    tables = _label_tables()
    for enum, where in tables.items():
        assert len(where) == 1, f"{enum.__name__} is labelled by {len(where)} tables: {where}"
