"""The JSON API's surface — every path and method in ``/api/v1/openapi.json`` — against a
committed snapshot, so that adding, removing or renaming an operation is a visible decision in
review rather than a side effect.

When the change is intended, rewrite the snapshot and commit it with the change:

    GOVSHARE_UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/contract/test_openapi_snapshot.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from fastapi.testclient import TestClient

from govshare.core.http import is_api_path
from tests.contract.routes import offline_app

SNAPSHOT = Path(__file__).parent / "snapshots" / "openapi_paths.json"
UPDATE = os.environ.get("GOVSHARE_UPDATE_SNAPSHOTS") == "1"
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def api_surface() -> dict[str, list[str]]:
    """Path -> sorted upper-case methods, read from the document the app serves."""
    with TestClient(offline_app()) as client:
        r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200, r.text
    return {path: sorted(m.upper() for m in ops if m in HTTP_METHODS)
            for path, ops in sorted(r.json()["paths"].items())}


def render(surface: dict[str, list[str]]) -> str:
    return json.dumps(surface, indent=2, sort_keys=True) + "\n"


def operations(surface: dict[str, list[str]]) -> set[str]:
    return {f"{m} {p}" for p, methods in surface.items() for m in methods}


def test_api_surface_matches_the_snapshot() -> None:
    current = api_surface()
    if UPDATE:
        SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
        SNAPSHOT.write_text(render(current), encoding="utf-8")
    assert SNAPSHOT.exists(), (f"{SNAPSHOT} is missing; create it with "
                               "GOVSHARE_UPDATE_SNAPSHOTS=1")
    committed = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    added = sorted(operations(current) - operations(committed))
    removed = sorted(operations(committed) - operations(current))
    assert not (added or removed), (
        "The JSON API surface changed.\n"
        + "".join(f"  + {op}\n" for op in added)
        + "".join(f"  - {op}\n" for op in removed)
        + "If intended, run GOVSHARE_UPDATE_SNAPSHOTS=1 pytest "
          "tests/contract/test_openapi_snapshot.py and commit the snapshot.")
    assert SNAPSHOT.read_text(encoding="utf-8") == render(current), (
        "Same operations, different formatting: rewrite the snapshot with "
        "GOVSHARE_UPDATE_SNAPSHOTS=1")


def test_snapshot_is_sorted_and_names_only_real_methods() -> None:
    committed = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    assert list(committed) == sorted(committed)
    # Everything published is answered with problem+json errors, never an HTML page.
    assert [p for p in committed if not is_api_path(p)] == []
    for methods in committed.values():
        assert methods == sorted(methods)
        assert {m.lower() for m in methods} <= HTTP_METHODS


def test_the_check_notices_a_change(tmp_path: Path) -> None:
    """The comparison itself: one operation more or less is reported by name."""
    base = {"/api/v1/a": ["GET"], "/api/v1/b": ["GET", "POST"]}
    grown = {**base, "/api/v1/c": ["DELETE"]}
    assert operations(grown) - operations(base) == {"DELETE /api/v1/c"}
    shrunk = {"/api/v1/a": ["GET"], "/api/v1/b": ["GET"]}
    assert operations(base) - operations(shrunk) == {"POST /api/v1/b"}
    assert render(base) != render(grown)
