"""Property-based fuzzing of every operation in the OpenAPI document: no input gives a 5xx.

Schemathesis reads ``/api/v1/openapi.json`` from the ASGI app and generates requests for each
operation — data that fits the schema (positive) and data that does not (negative) — once
anonymously and once with a regional admin's API key, the principal that gets furthest into
every handler. Whatever the input, the answer must not be a 5xx: a 5xx means a handler, a
service or the database choked on something the API should have refused with a 4xx.

How it is wired, and why:

- Runs on both backends. The app under test is the ``app`` fixture, bound to the test's
  connection (see ``tests/conftest.py``), so whatever the generated requests write — members,
  users, keys, boundaries — is rolled back at the end of each test.
- Schemathesis' own lazy pytest integration (``schemathesis.pytest.from_fixture``) does not
  run under pytest 9 (it sets ``request.node._nodeid``, which pytest 9 removed). So the
  operations are listed at collection from an app built offline (one test per operation and
  principal), and each test loads the schema from its own fixture app and drives the
  operation's Hypothesis strategy (``APIOperation.as_strategy``) directly.
- Seeded (``derandomize``): a failure reproduces on the next run.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from sqlalchemy.orm import Session

from govshare.core.tenancy import Role
from tests.contract.routes import offline_app
from tests.factories.regions import api_key

# Per operation and mode. The API has grown past 45 operations; 10 keeps a backend's run under
# a minute of CPU. GOVSHARE_FUZZ_EXAMPLES=200 makes a deeper run (nightly, or by hand).
MAX_EXAMPLES = int(os.environ.get("GOVSHARE_FUZZ_EXAMPLES", "10"))
# Operations whose every answer is large (all boundaries as GeoJSON) get fewer examples; their
# only input is a bounded float.
FEWER_EXAMPLES = {"GET /api/v1/boundaries.geojson": 5}
OPENAPI = "/api/v1/openapi.json"
TIMEOUT = 120  # seconds; schemathesis' default of 10 trips on a loaded CI machine
_DOC = offline_app().openapi()
OPERATIONS = sorted(f"{method.upper()} {path}" for path, ops in _DOC["paths"].items()
                    for method in ops)
# Negative data needs an input to break; an operation without one has no negative cases.
WITH_INPUTS = {f"{method.upper()} {path}" for path, ops in _DOC["paths"].items()
               for method, op in ops.items() if op.get("parameters") or op.get("requestBody")}
CASES = [(label, mode) for label in OPERATIONS
         for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
         if mode is GenerationMode.POSITIVE or label in WITH_INPUTS]


# The document each test's app serves, loaded once per backend and process. Loading it means
# building the app's OpenAPI document afresh (a new app per test has no cached copy): about a
# second each time, three quarters of a test. The routes are code, so every app serves the
# same document; each test binds a clone of the loaded schema to its own app, so every
# generated request still goes to the test's app on the test's connection.
_SCHEMAS: dict[str, Any] = {}


def _operation(app: Any, label: str, backend: str) -> Any:
    if backend not in _SCHEMAS:
        _SCHEMAS[backend] = schemathesis.openapi.from_asgi(OPENAPI, app, timeout=TIMEOUT)
    schema = _SCHEMAS[backend].clone()
    schema.app = app
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.label == label:
            return operation
    raise AssertionError(f"{label} is no longer in {OPENAPI}")


def test_every_operation_is_fuzzed() -> None:
    """A floor: the operation list is read from the app, so it cannot silently be empty."""
    assert len(OPERATIONS) >= 18
    assert "PUT /api/v1/jurisdictions/{jurisdiction_id}/boundary" in OPERATIONS
    assert {label for label, _ in CASES} == set(OPERATIONS)


@pytest.mark.parametrize(("label", "mode"), CASES,
                         ids=[f"{label}-{mode.value}" for label, mode in CASES])
def test_no_server_errors(label: str, mode: GenerationMode, app: Any, backend: str,
                          session: Session) -> None:
    """Each generated request is sent twice: anonymously, and as a regional admin."""
    operation = _operation(app, label, backend)
    assert operation.app is app
    key = api_key(session, Role.regional_admin, name="fuzz admin")
    session.commit()
    principals = {"anonymous": {}, "regional admin": {"Authorization": f"Bearer {key}"}}
    statuses: dict[str, set[int]] = {who: set() for who in principals}

    @settings(max_examples=FEWER_EXAMPLES.get(label, MAX_EXAMPLES), deadline=None,
              derandomize=True, database=None, suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(mode))
    def fuzz(case: Any) -> None:
        for who, headers in principals.items():
            response = case.call(headers=headers, timeout=TIMEOUT)
            statuses[who].add(response.status_code)
            case.validate_response(response, checks=[not_a_server_error])

    fuzz()
    assert all(statuses.values()), f"no request was sent for {label}: {statuses}"


# --------------------------------------------------------------------------- what it found


@pytest.mark.parametrize("url", [
    "/api/v1/jurisdictions/99999999999999999999",
    "/api/v1/jurisdictions/-99999999999999999999/boundary",
    "/api/v1/users/3000000000",
    "/api/v1/users?offset=99999999999999999999",
    "/api/v1/audit?jurisdiction_id=-3337712611140605313024",
    "/api/v1/jurisdictions/0",
])
def test_ids_past_the_integer_column_are_refused_with_422(url: str, client: Any,
                                                          session: Session) -> None:
    """Found by the fuzzer: such ids reached SQL and came back as 500 (SQLite OverflowError,
    PostgreSQL integer out of range). They name no row; the edge refuses them with 422.
    (Routes that do not bound their ids yet get the error handler's 400 safety net instead,
    see tests/web/test_errors.py.)"""
    key = api_key(session, Role.regional_admin, name="bounds")
    session.commit()
    r = client.get(url, headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["code"] == "validation-failed"
    assert problem["errors"][0]["loc"][0] in ("path", "query")


@pytest.mark.parametrize(("method", "url", "body"), [
    ("POST", "/api/v1/apikeys", {"name": "k", "role": "jurisdiction_admin",
                                 "jurisdiction_id": -496397703484394635264}),
    ("POST", "/api/v1/users", {"email": "big@demo.govshare.org", "full_name": "Big",
                               "password": "long-enough-password", "role": "jurisdiction_staff",
                               "jurisdiction_id": 2**63}),
    ("POST", "/api/v1/jurisdictions", {"name": "Bigtown", "kind": "city",
                                       "parent_id": 2**64}),
    ("PATCH", "/api/v1/jurisdictions/1", {"parent_id": 2**40}),
])
def test_body_ids_past_the_integer_column_name_no_jurisdiction(
        method: str, url: str, body: dict[str, Any], client: Any, session: Session) -> None:
    """Found by the fuzzer: a body id out of range was a 500; it is a jurisdiction that does
    not exist (the service checks the range, so forms and the CLI are covered too)."""
    key = api_key(session, Role.regional_admin, name="bounds")
    session.commit()
    r = client.request(method, url, json=body, headers={"Authorization": f"Bearer {key}"})
    assert r.status_code in (400, 404), r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "not" in r.json()["detail"]


def test_out_of_range_ids_in_the_service_are_not_found(session: Session) -> None:
    """The service guard itself, as the pages and the CLI reach it."""
    from govshare.core.errors import NotFound
    from govshare.regions import service
    from govshare.regions.schemas import UserUpdate
    from tests.factories.regions import principal

    admin = principal(Role.regional_admin)
    with pytest.raises(NotFound):
        service.update_user(session=session, actor=admin, user_id=2**40,
                            data=UserUpdate(full_name="x"))
    with pytest.raises(NotFound):
        service.revoke_api_key(session=session, actor=admin, apikey_id=-(2**70))
