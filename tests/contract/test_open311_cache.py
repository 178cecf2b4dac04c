"""The Open311 read cache (``core.changes``, ``open311.cached_read``) never serves a stale answer.

In-transaction tests run on the ``client`` fixture (the counter read inside the test's own
transaction). The last test runs two separate apps — two web processes — on the committed
test database with the production counter readers (PostgreSQL: its own async connection), so
a change committed elsewhere must show in the other process's very next answer.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from govshare.core.changes import OPEN311, ChangeCounter, PgVersions, SessionVersions
from govshare.core.tenancy import Role
from govshare.frontoffice import service as fo_service
from govshare.frontoffice.models import Service, ServiceRequest
from govshare.frontoffice.schemas import RequestAction
from govshare.web.app import create_app
from tests import aio
from tests.contract.test_open311 import O311, key, submit  # noqa: F401 - fixture
from tests.factories.regions import principal

LIST = f"{O311}/requests.json?page_size=5"


def counter(session: Session) -> int:
    session.expire_all()
    return int(session.scalar(select(ChangeCounter.version).where(
        ChangeCounter.name == OPEN311)) or 0)


def ids_in(r: Any) -> list[str]:
    assert r.status_code == 200, r.text
    return [d["service_request_id"] for d in r.json()]


def test_triggers_count_every_change_that_open311_shows(session: Session) -> None:
    start = counter(session)
    svc = session.scalars(select(Service).where(Service.code == "pothole")).one()
    session.execute(update(Service).where(Service.id == svc.id).values(name="Potholes!"))
    session.flush()
    after_service = counter(session)
    assert after_service > start
    session.execute(sa.text("UPDATE jurisdictions SET name = name || ' (renamed)'"))
    session.flush()
    assert counter(session) > after_service


def test_repeat_read_is_a_hit_with_an_etag_and_304(client: TestClient) -> None:
    cache = client.app.state.open311_cache  # type: ignore[attr-defined]
    first = client.get(LIST)
    hits = cache.hits
    again = client.get(LIST)
    assert again.content == first.content and cache.hits == hits + 1
    etag = again.headers["etag"]
    assert etag == first.headers["etag"] and again.headers["cache-control"] == "no-cache"
    not_modified = client.get(LIST, headers={"If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert not_modified.headers["etag"] == etag
    assert client.get(LIST, headers={"If-None-Match": '"other"'}).status_code == 200


def test_a_new_request_and_a_status_change_show_at_once(
        client: TestClient, session: Session, key: str, ids: dict[str, int]) -> None:  # noqa: F811
    before = ids_in(client.get(LIST))
    missing = client.get(f"{O311}/requests/2099-999999.json")
    assert missing.status_code == 404  # errors are not cached ...
    new = submit(client, key)["service_request_id"]
    assert ids_in(client.get(LIST))[0] == new and new not in before
    one = client.get(f"{O311}/requests/{new}.json")
    assert one.json()[0]["status"] == "open"
    req = session.scalars(select(ServiceRequest).where(ServiceRequest.public_id == new)).one()
    fo_service.act_on_request(session=session, actor=principal(Role.jurisdiction_staff,
                                                                  ids["city"]),
                              request_id=req.id,
                              action=RequestAction(to_status="resolved", note="Filled"))
    session.commit()
    assert client.get(f"{O311}/requests/{new}.json").json()[0]["status"] == "closed"


def test_cache_off_gives_the_same_answers(client: TestClient) -> None:
    on = client.get(LIST)
    client.app.state.open311_cache = None  # type: ignore[attr-defined]
    off = client.get(LIST)
    assert off.content == on.content and off.headers["etag"] == on.headers["etag"]


def test_two_processes_see_each_others_commits(db_engine: sa.Engine) -> None:
    """Two apps on the committed database, each with its own cache and the production
    counter reader: a service renamed by a third connection shows in the next answer."""
    settings = db_engine.govshare_settings  # type: ignore[attr-defined]
    apps = [create_app(settings) for _ in range(2)]
    if db_engine.dialect.name == "postgresql":
        assert all(isinstance(a.state.change_versions, PgVersions) for a in apps)
    else:
        assert all(isinstance(a.state.change_versions, SessionVersions) for a in apps)
    with db_engine.begin() as conn:
        old = conn.scalar(select(Service.name).where(Service.code == "pothole"))
    path = f"{O311}/services.json"
    try:
        with TestClient(apps[0]) as a, TestClient(apps[1]) as b:
            names = [{s["service_name"] for s in json.loads(c.get(path).content)}
                     for c in (a, b, a, b)]
            assert all(old in n for n in names)
            assert apps[0].state.open311_cache.hits == 1
            with db_engine.begin() as conn:
                conn.execute(update(Service).where(Service.code == "pothole")
                             .values(name="Pothole (renamed)"))
            for c in (b, a):
                assert "Pothole (renamed)" in {s["service_name"] for s in c.get(path).json()}
            for c, application in ((a, apps[0]), (b, apps[1])):
                versions = application.state.change_versions
                if isinstance(versions, PgVersions):
                    c.portal.call(versions.close)  # type: ignore[union-attr]
    finally:
        with db_engine.begin() as conn:
            conn.execute(update(Service).where(Service.code == "pothole").values(name=old))
        for application in apps:
            application.state.engine.dispose()


@pytest.mark.parametrize("topic", [OPEN311])
def test_counter_row_exists_after_migration(session: Session, topic: str) -> None:
    assert session.get(ChangeCounter, topic) is not None


def test_coalesced_counter_reads_never_answer_from_before_the_caller_arrived() -> None:
    """Callers arriving while a read is in flight share the *next* read, never the one
    already running (which may predate a commit they have seen)."""
    versions = PgVersions("postgresql+psycopg://nobody@127.0.0.1:1/none")
    counter_value = 0
    started: list[int] = []

    async def read_once(topic: str) -> int | None:
        nonlocal counter_value
        counter_value += 1  # a commit lands just before every read
        seen = counter_value
        started.append(seen)
        await asyncio.sleep(0.01)
        return seen

    versions._read_once = read_once  # type: ignore[method-assign]

    async def scenario() -> list[int | None]:
        first = asyncio.ensure_future(versions.read(OPEN311))
        await asyncio.sleep(0.002)  # the first read is in flight
        late = [asyncio.ensure_future(versions.read(OPEN311)) for _ in range(5)]
        results = await asyncio.gather(first, *late)
        alone = await versions.read(OPEN311)
        return [*results, alone]

    results = aio.run(scenario())
    assert results == [1, 2, 2, 2, 2, 2, 3]  # five late callers, one shared second read
    assert started == [1, 2, 3]


def test_concurrent_misses_compute_once(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """After a change every poller misses at once: one computes, the others wait for it."""
    from govshare.frontoffice.open311 import api as open311

    real = open311._in_session
    computed: list[str] = []

    def slow(request: Any, compute: Any) -> Any:
        computed.append(request.url.path)
        time.sleep(0.2)  # the others arrive meanwhile (they do not touch the session)
        return real(request, compute)

    monkeypatch.setattr(open311, "_in_session", slow)

    async def scenario() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            return list(await asyncio.gather(*(c.get(f"{O311}/services.json")
                                               for _ in range(5))))

    answers = aio.run(scenario())
    assert [r.status_code for r in answers] == [200] * 5
    assert len({r.content for r in answers}) == 1 and len(computed) == 1


def test_callers_with_credentials_bypass_the_front_cache(client: TestClient, key: str  # noqa: F811
                                                         ) -> None:
    """A cached answer is never a way around the key check: a bad key is refused (the spec's
    403) even when the anonymous answer is cached; a good key gets the same answer."""
    anonymous = client.get(LIST)
    assert client.get(LIST).content == anonymous.content  # cached now
    bad = client.get(LIST, headers={"Authorization": "Bearer gsk_nope_nope"})
    assert bad.status_code == 403 and "unknown or has been revoked" in bad.text
    good = client.get(LIST, headers={"X-API-Key": key})
    assert good.status_code == 200 and good.content == anonymous.content
    assert good.headers["etag"] == anonymous.headers["etag"]


def test_answers_that_move_with_the_clock_age_out(client: TestClient,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The default window ends "now": such answers are kept at most a minute."""
    from govshare.core import changes

    cache = client.app.state.open311_cache  # type: ignore[attr-defined]
    client.get(LIST)
    client.get(f"{O311}/services.json")
    hits = cache.hits
    client.get(LIST)
    client.get(f"{O311}/services.json")
    assert cache.hits == hits + 2
    later = time.monotonic() + 61
    monkeypatch.setattr(changes.time, "monotonic", lambda: later)
    misses = cache.misses
    client.get(LIST)  # recomputed
    client.get(f"{O311}/services.json")  # still a hit: the service list has no window
    assert cache.misses > misses and cache.hits == hits + 3


@pytest.mark.parametrize("public_allowed", [True, False])
def test_front_cache_answers_only_what_the_policy_lets_the_public_read(
        public_allowed: bool) -> None:
    """CachedReads sends a kept answer before routing only if anonymous reads are allowed
    (read from the policy when the app is built) and the caller sent no credentials."""
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from govshare.core.changes import CachedReads, ResponseCache

    reached: list[str] = []

    async def route(request: Any) -> PlainTextResponse:
        reached.append(request.url.path)
        return PlainTextResponse("from the app")

    class Versions:
        async def read(self, topic: str) -> int:
            return 7

    app = Starlette(routes=[Route("/open311/v2/requests.json", route)], middleware=[
        Middleware(CachedReads, prefix="/open311/v2/", topic=OPEN311,
                   cache_state="open311_cache", public_allowed=public_allowed)])
    app.state.open311_cache = ResponseCache(1 << 20)
    app.state.change_versions = Versions()
    app.state.open311_cache.put(("http", "testserver", "/open311/v2/requests.json", b""), 7,
                                b"[]", "application/json")
    with TestClient(app) as c:
        anonymous = c.get("/open311/v2/requests.json").text
        keyed = c.get("/open311/v2/requests.json", headers={"X-API-Key": "gsk_x"}).text
        c.cookies.set("govshare_session", "s")
        cookie = c.get("/open311/v2/requests.json").text
    assert anonymous == ("[]" if public_allowed else "from the app")
    assert keyed == cookie == "from the app"
    assert len(reached) == (2 if public_allowed else 3)
