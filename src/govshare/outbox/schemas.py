"""Vocabulary of the outbox that other domains and the pages use: statuses and their labels,
and the periodic job (``Housekeeping``) a domain hands to ``govshare worker``.

``MessageStatus`` is re-exported here so that no other domain imports ``outbox.models``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from govshare.outbox.models import MessageStatus

STATUS_LABELS = {
    MessageStatus.pending.value: "Waiting",
    MessageStatus.in_flight.value: "Being delivered",
    MessageStatus.delivered.value: "Delivered",
    MessageStatus.dead.value: "Dead letter (not delivered)",
}



@dataclass
class Housekeeping:
    """A periodic job the worker runs between batches, in its own unit of work (e.g. purge)."""

    name: str
    every_seconds: float
    run: Callable[[Session, datetime], int]
    next_at: float = 0.0


__all__ = ["STATUS_LABELS", "Housekeeping", "MessageStatus"]
