"""Shared property registry: every member's buildings, land and structures, their true cost,
utilization, consolidation across members, and a public window with proposals.

Public API: ``service`` (create/update/transition assets, imports, proposals), ``queries``
(reads filtered by the acting principal; public reads expose only public field groups),
``schemas``, and the pure ``calc`` (true cost, condition, utilization) and ``consolidation``
(capacitated facility-location MILP) modules.
"""
