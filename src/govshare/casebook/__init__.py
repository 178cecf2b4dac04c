"""What the sharing is worth: shared-service proposals (business cases) with NPV, IRR and
payback per member and in total, cost allocation among members (chargeback, true-ups), the
projected-vs-realized tracker, and the leaders' value page and report.

The top domain: it reads every other domain through its ``service``/``queries``/``planning``
and writes nothing of theirs. Public API: ``service``, ``queries``, ``schemas``, ``calc``.
"""
