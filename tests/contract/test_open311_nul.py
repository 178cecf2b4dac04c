"""Malformed Open311 ids get their 4xx on both databases (issue 8, 2.9).

PostgreSQL refuses a NUL character in text (``DataError``: "A string literal cannot contain
NUL (0x00) characters"), which surfaced as a 500 for ``GET /open311/v2/services/%00.json``.
Codes and ids that cannot exist are answered as GeoReport v2 errors, never with a 500, and
never reach SQL.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

PATHS = [
    "/open311/v2/services/%00.json",
    "/open311/v2/services/pot%00hole.json",
    "/open311/v2/services/%00.xml",
    "/open311/v2/requests/%00.json",
    "/open311/v2/requests/2026-%00.json",
    "/open311/v2/requests.json?service_code=%00",
    "/open311/v2/requests.json?service_request_id=%00",
    "/open311/v2/requests.json?status=%00",
]


@pytest.mark.parametrize("path", PATHS)
def test_a_nul_in_an_open311_code_or_id_is_a_4xx(client: TestClient, backend: str,
                                                 path: str) -> None:
    r = client.get(path)
    assert 400 <= r.status_code < 500, (backend, path, r.status_code, r.text[:300])
    if path.split("?")[0].endswith(".json"):
        body = r.json()
        assert isinstance(body, list) and body and {"code", "description"} <= set(body[0])
        assert body[0]["code"] == r.status_code


def test_a_nul_in_a_posted_service_code_is_a_4xx(client: TestClient, backend: str) -> None:
    r = client.post("/open311/v2/requests.json", data={
        "service_code": "pot\x00hole", "lat": "47.6080", "long": "-122.3351"})
    assert 400 <= r.status_code < 500, (backend, r.status_code, r.text[:300])
