"""Test fixtures shared by every domain.

Every database test runs twice: on SQLite and on PostgreSQL (``db_engine`` is parametrized).
PostgreSQL is required: if it is unreachable the run fails, it is never skipped.

Each backend gets a fresh database, migrated to head and seeded once with the demo region
(committed). Each test then runs inside a transaction on one connection that is rolled back
at the end; sessions made by the code under test join it through SAVEPOINTs, so their
commits stay invisible to other tests.
"""

from __future__ import annotations

import dataclasses
import os
import re
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi import routing as fastapi_routing
from fastapi.testclient import TestClient
from jinja2.bccache import Bucket, BytecodeCache
from sqlalchemy.orm import Session

from govshare.cli import demo as demo
from govshare.core import migrate
from govshare.core.changes import SessionVersions
from govshare.core.db import make_engine, utcnow
from govshare.core.http import SESSION_COOKIE
from govshare.core.security import new_token, token_digest
from govshare.core.settings import Environment, Settings
from govshare.core.tenancy import system_principal
from govshare.property import planning
from govshare.regions.models import User, UserSession
from govshare.web.app import create_app

ROOT = Path(__file__).resolve().parents[1]
TEST_DATA = ROOT / "tests" / "data"  # what the tests read, with tests/data/SOURCES.md
# Seattle's city limits as published (byte copy, sha256 in src/govshare/geo/data/SOURCES.md).
CITY_LIMITS = ROOT / "src" / "govshare" / "geo" / "data" / "seattle_city_limits.geojson"
US_ATLAS = ROOT / "web" / "node_modules" / "us-atlas"
PG_ADMIN_URL = os.environ.get(
    "GOVSHARE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = ["sqlite", "postgresql"]


def _pg_database(tmp_name: str, template: str | None = None) -> str:
    """A new PostgreSQL database: empty, or a copy of ``template`` (a database nobody is
    connected to)."""
    admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    copy_of = f' TEMPLATE "{template}"' if template else ""
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{tmp_name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{tmp_name}"{copy_of}'))
    except sa.exc.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is required for the tests and is not reachable at {PG_ADMIN_URL}: "
            f"{exc.orig}", pytrace=False)
    finally:
        admin.dispose()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + tmp_name


def _drop_pg(tmp_name: str) -> None:
    admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{tmp_name}" WITH (FORCE)'))
    admin.dispose()


def fresh_database_url(backend: str, tmp_path: Path, name: str) -> str:
    """An empty database of the given backend (for migration and CLI tests)."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / (name + '.db')}"
    return _pg_database(f"govshare_{name}_{os.getpid()}")


# The tests' secret key; the CLI tests give the same one as GOVSHARE_SECRET_KEY, so that their
# copies of the demo database (``demo_copy``) decrypt what the build encrypted with it.
SECRET_KEY = "t" * 40


def test_settings(url: str, data_dir: Path, **extra: Any) -> Settings:
    return Settings(env=Environment.test, database_url=url, data_dir=data_dir,
                    secret_key=SECRET_KEY, us_atlas_dir=US_ATLAS, log_json=True,
                    log_level="WARNING", **extra)


test_settings.__test__ = False  # type: ignore[attr-defined]


@dataclass
class _Built:
    engine: sa.Engine
    pg_name: str | None  # the PostgreSQL database, dropped at the end
    template: str  # the pristine copy: a PostgreSQL database name, or an SQLite file


def _build_demo(backend: str, tmp_path_factory: pytest.TempPathFactory) -> _Built:
    """A new database of ``backend``, migrated and holding the demo region (committed), and a
    pristine copy of it taken at once, before any test has used it (see ``demo_copy``)."""
    tmp = tmp_path_factory.mktemp(f"db-{backend}")
    pg_name = f"govshare_test_{os.getpid()}"
    url = f"sqlite:///{tmp / 'test.db'}" if backend == "sqlite" else _pg_database(pg_name)
    engine = make_engine(url)
    migrate.upgrade(engine)
    settings = test_settings(url, tmp)
    with Session(engine, expire_on_commit=False) as session:
        demo._build(session, settings, lambda _m: None)
        session.commit()
    engine.govshare_settings = settings  # type: ignore[attr-defined]
    engine.dispose()  # nobody is connected while the copy is taken; the pool reconnects
    if backend == "sqlite":
        template = str(tmp / "template.db")
        with sqlite3.connect(tmp / "test.db") as src, sqlite3.connect(template) as dst:
            src.backup(dst)  # complete whatever the journal mode
        src.close()
        dst.close()
        return _Built(engine, None, template)
    template = f"govshare_template_{os.getpid()}"
    _pg_database(template, template=pg_name)
    return _Built(engine, pg_name, template)


@pytest.fixture(scope="session")
def _built_databases() -> Iterator[dict[str, _Built]]:
    """Each backend's demo database, built once per test process and dropped at its end.

    ``db_engine`` is parametrized, so pytest tears it down whenever the next test wants the
    other backend -- with each file's tests run by file, at every file.
    Building the demo region took 10-40 s a time, most of the suite's run; kept here, each
    backend is built once. Tests never change it: each runs in a transaction that is rolled
    back (``connection``)."""
    built: dict[str, _Built] = {}
    yield built
    for b in built.values():
        b.engine.dispose()
        if b.pg_name is not None:
            _drop_pg(b.pg_name)
            _drop_pg(b.template)


@pytest.fixture(scope="session", params=BACKENDS)
def db_engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
              _built_databases: dict[str, _Built]) -> sa.Engine:
    backend = request.param
    if backend not in _built_databases:
        _built_databases[backend] = _build_demo(backend, tmp_path_factory)
    return _built_databases[backend].engine


@pytest.fixture(scope="session")
def demo_copy(tmp_path_factory: pytest.TempPathFactory,
              _built_databases: dict[str, _Built]) -> Callable[[str, Path, str], str]:
    """``demo_copy(backend, tmp, name)``: the URL of a new database of ``backend`` of its own
    (the caller's to write to, and to drop), holding the demo region exactly as built and
    migrated -- a copy of the pristine template ``_build_demo`` took, so the region is built
    once per backend and process, not once per CLI test module (7-17 s each).
    PostgreSQL copies it with ``CREATE DATABASE ... TEMPLATE``; SQLite copies the file."""

    def copy(backend: str, tmp: Path, name: str) -> str:
        if backend not in _built_databases:
            _built_databases[backend] = _build_demo(backend, tmp_path_factory)
        template = _built_databases[backend].template
        if backend == "sqlite":
            target = tmp / (name + ".db")
            with sqlite3.connect(template) as src, sqlite3.connect(target) as dst:
                src.backup(dst)
            src.close()
            dst.close()
            return f"sqlite:///{target}"
        return _pg_database(f"govshare_{name}_{os.getpid()}", template=template)

    return copy


@pytest.fixture
def backend(db_engine: sa.Engine) -> str:
    return db_engine.dialect.name


@pytest.fixture
def connection(db_engine: sa.Engine) -> Iterator[sa.Connection]:
    conn = db_engine.connect()
    outer = conn.begin()
    if conn.dialect.name == "postgresql":
        # Deferred triggers (the change counters, migration 0005) fire at COMMIT, which a
        # test's transaction never reaches: fire them at once, as the commit would.
        conn.execute(sa.text("SET CONSTRAINTS ALL IMMEDIATE"))
    try:
        yield conn
    finally:
        outer.rollback()
        conn.close()
        # kept consolidation plans were made from the data just rolled back, whose ids the
        # next test may reuse (SQLite): a plan is taken again by its problem's key
        planning.JOBS.forget_finished()


def _joined_session(conn: sa.Connection) -> Session:
    return Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)


@pytest.fixture
def session(connection: sa.Connection) -> Iterator[Session]:
    s = _joined_session(connection)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def settings(db_engine: sa.Engine) -> Settings:
    return db_engine.govshare_settings  # type: ignore[attr-defined, no-any-return]


# What every test's app builds the same, built once per process (see ``share_builds``).
_BUILT_ROUTERS: dict[int, Any] = {}


class _CompiledTemplates(BytecodeCache):
    """Jinja's compiled templates, in memory, keyed by template name and source checksum."""

    def __init__(self) -> None:
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        if bucket.key in self.code:
            bucket.bytecode_from_string(self.code[bucket.key])

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.code[bucket.key] = bucket.bytecode_to_string()


_COMPILED_TEMPLATES = _CompiledTemplates()


def share_builds(application: FastAPI) -> FastAPI:
    """Let ``application`` use the route tables and compiled templates the first test's app
    built, instead of building its own.

    FastAPI (0.16x) keeps each ``include_router`` as a lazy entry of the app's routes and
    builds its routes' handlers (dependency trees, pydantic validators) on the app's first
    requests: 0.1-0.3 s of every test that makes one, most of the run. Those tables are
    built from the routers' code and the include arguments alone, the same for every app
    ``create_app`` makes, so an included router of a new app whose include context equals
    the first one's is replaced by that first one, already built. Everything else stays the
    app's own: its state, settings, middleware, templates and its own routes list (a test
    may add a route to its app; that changes no other app). The included routers refer to
    the first app for ``dependency_overrides``, which no test sets. Without the lazy entries
    (another FastAPI) nothing is shared: slower, not different.

    Likewise each app's Jinja environment compiled every template it rendered again; it now
    keeps the compiled code in a process-wide bytecode cache (Jinja's own mechanism: keyed by
    the template and a checksum of its source, so an edited template is compiled afresh).
    The templates are still loaded into each app's own environment."""
    application.state.templates.env.bytecode_cache = _COMPILED_TEMPLATES
    lazy = getattr(fastapi_routing, "_IncludedRouter", None)
    if lazy is None:
        return application
    routes = application.router.routes
    for i, route in enumerate(routes):
        if not isinstance(route, lazy):
            continue
        key = id(route.original_router)
        built = _BUILT_ROUTERS.setdefault(key, route)
        if built is not route and _same_include(built, route):
            routes[i] = built
    return application


def _same_include(a: Any, b: Any) -> bool:
    fields = dataclasses.fields(a.include_context)
    return a.original_router is b.original_router and all(
        getattr(a.include_context, f.name) == getattr(b.include_context, f.name)
        for f in fields if f.name != "dependency_overrides_provider")


@pytest.fixture
def app(db_engine: sa.Engine, connection: sa.Connection, settings: Settings) -> Any:
    application = share_builds(create_app(settings))
    application.state.engine.dispose()
    application.state.session_factory = lambda: _joined_session(connection)
    # The Open311 cache stays on in tests; its change counter is read inside the test's
    # transaction, so the test's own writes (and the triggers' bumps) are seen.
    application.state.change_versions = SessionVersions(application.state.session_factory)
    return application


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver") as c:
        yield c


# ----------------------------------------------------------------------------- helpers

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    m = CSRF_RE.search(html)
    assert m, "page has no CSRF token"
    return m.group(1)


def login(client: TestClient, email: str, password: str = demo.DEMO_PASSWORD) -> None:
    page = client.get("/login")
    r = client.post("/login", data={"email": email, "password": password, "next": "/admin",
                                    "csrf_token": csrf_from(page.text)}, follow_redirects=False)
    assert r.status_code == 303, r.text


def sign_in(client: TestClient, session: Session, email: str) -> None:
    """A signed-in session for ``email``, minted directly: what ``login`` gets through the
    form, without the form.

    The form verifies an argon2id hash, slow on purpose (0.1-0.3 s, up to a second on a busy
    machine), so tests that sign in many times and test something else (the authorization
    matrix, the path ids of every route) mint the session row and its cookie instead: what
    the routes see is the same either way. The form itself is tested where it is the subject
    (tests/regions/test_sign_in.py, ``test_a_real_login_reaches_the_admin_pages``, ``login``
    in the page tests)."""
    user = session.scalars(sa.select(User).where(User.email == email)).one()
    token = new_token()
    session.add(UserSession(user_id=user.id, token_hash=token_digest(token),
                            created_at=utcnow(), expires_at=utcnow() + timedelta(hours=1)))
    session.flush()
    client.cookies.set(SESSION_COOKIE, token)


@pytest.fixture
def ids(session: Session) -> dict[str, int]:
    """Demo jurisdiction ids by short name."""
    rows = session.execute(sa.text("SELECT id, name FROM jurisdictions")).all()
    by_name = {name: jid for jid, name in rows}
    return {"state": by_name["State of Washington"], "county": by_name["King County"],
            "city": by_name["City of Seattle"], "schools": by_name["Seattle Public Schools"],
            "port": by_name["Port of Seattle"]}


@pytest.fixture
def system() -> Any:
    return system_principal("test")
