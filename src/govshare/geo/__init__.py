"""Boundaries and places: TopoJSON/GeoJSON boundaries of member jurisdictions, the
point -> jurisdictions index, and geocoding by ZIP code.

Public API: ``service.create_region_from_census``, ``service.set_boundary``,
``queries.locate``, ``queries.locate_zip``, ``queries.boundaries_geojson`` and the pure
helpers in ``calc`` (``decode_topojson``, ``validate_boundary``, ``PointIndex``).
"""
