"""One-stop front office across levels of government.

A service catalog shared by the members (services by life event and target group, with
their channels), "what applies to me here" by location, service requests routed by location to
the member that owns the category at that point, every channel in one case record, and the
Open311 GeoReport v2 API over the same records.

Public API: ``service`` (catalog writes, submit/route/update requests), ``queries``
(catalog search, services at a point, journeys, request lookups), ``schemas``, ``calc``
(status mapping, duplicate-distance scoring: pure).
"""
