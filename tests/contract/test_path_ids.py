"""Every id in a path answers the same way when it names no possible row (issue 8 §3).

An id that is not a whole number, is below 1 or past the INTEGER columns (``core.http.MAX_ID``)
is refused at the edge with 422 naming the parameter, on the JSON API (problem+json
``errors[].loc == ["path", "<name>"]``) and on pages (the error page names it), before any
policy or SQL — not a 400 from the database on one route and a 422 on the next.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from govshare.core.http import MAX_ID
from tests.conftest import csrf_from, sign_in
from tests.contract.routes import _flat_routes, offline_app

PARAM = re.compile(r"\{(\w+_id)\}")
BAD = ["0", str(MAX_ID + 1), str(2**70), "abc", "-3", "1.5"]


def _routes() -> list[tuple[str, str, str]]:
    """(method, path, name) of every path parameter typed ``int`` (a row id). Open311's
    ``service_request_id`` is a string ("2026-000123") and is not one."""
    out = set()
    for route in _flat_routes(offline_app()):
        dependant = getattr(route, "dependant", None)
        if dependant is None:
            continue
        for param in dependant.path_params:
            if param.field_info.annotation is int:
                for method in (route.methods or set()) - {"HEAD"}:
                    out.add((method, route.path, param.name))
    return sorted(out)


ROUTES = _routes()


def test_the_routes_with_ids_are_found() -> None:
    names = {name for _, _, name in ROUTES}
    assert {"asset_id", "jurisdiction_id", "user_id", "request_id", "proposal_id"} <= names
    assert len(ROUTES) > 20


def _url(path: str, name: str, value: str) -> str:
    url = path.replace("{" + name + "}", value)
    return PARAM.sub("1", url).replace("{format}", "json")


@pytest.mark.parametrize(("method", "path", "name"), ROUTES,
                         ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_an_impossible_id_is_a_422_naming_the_parameter(client: TestClient, session: Session,
                                                        method: str, path: str,
                                                        name: str) -> None:
    # A regional admin passes every policy, so only the id can be refused; the session is
    # minted (tests/conftest.py ``sign_in``): the form's argon2 check was most of the test.
    sign_in(client, session, "admin@demo.govshare.org")
    session.commit()
    token = csrf_from(client.get("/admin").text)  # a page form's token passes CSRF first
    for value in BAD:
        kw: dict[str, Any] = {}
        if method in ("POST", "PUT", "PATCH"):
            kw = {"json": {}} if path.startswith("/api/") else {"data": {"csrf_token": token}}
        r = client.request(method, _url(path, name, value), follow_redirects=False, **kw)
        assert r.status_code == 422, (method, path, value, r.status_code, r.text[:300])
        if path.startswith(("/api/", "/open311/")):
            locs = [e["loc"] for e in r.json()["errors"]]
            assert ["path", name] in locs, (path, value, locs)
        else:
            assert name in r.text, (path, value)
