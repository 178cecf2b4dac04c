"""Vocabulary of the outbox that other domains and the pages use: statuses and their labels.

``MessageStatus`` is re-exported here so that no other domain imports ``outbox.models``.
"""

from __future__ import annotations

from govshare.outbox.models import MessageStatus

STATUS_LABELS = {
    MessageStatus.pending.value: "Waiting",
    MessageStatus.in_flight.value: "Being delivered",
    MessageStatus.delivered.value: "Delivered",
    MessageStatus.dead.value: "Dead letter",
}

__all__ = ["STATUS_LABELS", "MessageStatus"]
