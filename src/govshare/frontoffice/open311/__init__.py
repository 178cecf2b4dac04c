"""Open311 GeoReport v2 for every member (ADR 6): ``api`` (the routes, in the spec's error
shape), ``params`` (parsing the spec's query and form parameters), ``queries`` (the reads) and
``format`` (JSON and XML documents)."""
