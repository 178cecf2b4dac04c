"""Browser-test fixtures: a real govshare server process and one system Chromium per session.

The server is the product as a user runs it after ``make demo``: the demo region in a
temporary data folder (SQLite, ``<data_dir>/govshare.db``) served by uvicorn (``create_app``)
on a free local port. The region is a copy of the one the database tests built in this process
(``demo_copy`` in tests/conftest.py: the same build `govshare demo` runs); `govshare demo`
itself, from an empty database, is tested in tests/geo/test_addresses.py. Every
test gets a fresh browser context (cookies, storage), so tests do not depend on each other's
sign-in state; the data they write (users, keys) uses unique names.

Chromium and the front-end assets are required: when ``/usr/bin/chromium`` or the vendored
axe-core is missing the run FAILS, it is never skipped (see DESIGN.md, "Tests").
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.helpers import AXE, CHROMIUM, CHROMIUM_ARGS, DESKTOP, ROOT, sign_in
from tests.conftest import SECRET_KEY
from tests.tellusonce.oidc_provider import CLIENT_ID, CLIENT_SECRET, TestProvider

VENV_BIN = Path(sys.executable).parent
SERVER_START_TIMEOUT = 60.0


# ----------------------------------------------------------------------------- the server


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return bool(r.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[TestProvider]:
    """The local OpenID Connect provider the server is configured with (tell us once)."""
    provider = TestProvider().start()
    yield provider
    provider.stop()


@pytest.fixture(scope="session")
def server_env(tmp_path_factory: pytest.TempPathFactory,
               oidc_provider: TestProvider) -> dict[str, str]:
    data_dir = tmp_path_factory.mktemp("govshare-browser")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVSHARE_")}
    env.update({
        "GOVSHARE_ENV": "test",
        "GOVSHARE_DATA_DIR": str(data_dir),
        # The key the demo copy was built with (what it encrypted, the server decrypts).
        "GOVSHARE_SECRET_KEY": SECRET_KEY,
        "GOVSHARE_US_ATLAS_DIR": str(ROOT / "web" / "node_modules" / "us-atlas"),
        "GOVSHARE_LOG_LEVEL": "WARNING",
        # Every test signs in from 127.0.0.1; the few deliberate wrong passwords must not
        # use up the per-address budget (5 by default) and lock out the tests that follow.
        "GOVSHARE_LOGIN_MAX_FAILURES": "100",
        # every consolidation solve shows its progress page first (the demo's are quick now)
        "GOVSHARE_PAGE_WAIT_SECONDS": "0",
        # Residents may verify their identity with the local test provider (ADR 19).
        "GOVSHARE_OIDC_ISSUER": oidc_provider.issuer,
        "GOVSHARE_OIDC_CLIENT_ID": CLIENT_ID,
        "GOVSHARE_OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "GOVSHARE_OIDC_PROVIDER_NAME": "Test ID",
    })
    return env


@pytest.fixture(scope="session")
def base_url(server_env: dict[str, str],
             demo_copy: Callable[[str, Path, str], str]) -> Iterator[str]:
    """Put the demo region in the data folder, start uvicorn, wait for /readyz; stop the
    server at the end.

    The region is a copy of the demo database this process built for the database tests
    (built now if none has been): building it again here, through `govshare demo` in a
    subprocess, took 12-16 s of each worker's first browser test.
    """
    data_dir = Path(server_env["GOVSHARE_DATA_DIR"])
    url = demo_copy("sqlite", data_dir, "govshare")
    assert url == f"sqlite:///{data_dir / 'govshare.db'}", url  # where the server looks
    port = _free_port()
    log_path = data_dir / "server.log"
    log = log_path.open("w")
    proc = subprocess.Popen(
        [str(VENV_BIN / "python"), "-m", "uvicorn", "govshare.web.app:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--no-access-log"],
        env=server_env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while not _ready(url + "/readyz"):
            if proc.poll() is not None:
                pytest.fail(f"the server exited with {proc.returncode}:\n"
                            f"{log_path.read_text()}", pytrace=False)
            if time.monotonic() > deadline:
                pytest.fail(f"the server did not answer /readyz within "
                            f"{SERVER_START_TIMEOUT:.0f}s:\n{log_path.read_text()}",
                            pytrace=False)
            time.sleep(0.1)  # polling a process we do not control; nothing to wait_for
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()
        errors = [line for line in log_path.read_text().splitlines()
                  if '"level": "error"' in line or "Traceback" in line]
        if errors:
            pytest.fail("the server logged errors:\n" + "\n".join(errors[:20]), pytrace=False)


# ----------------------------------------------------------------------------- the browser


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium is required for the browser tests and is missing at {CHROMIUM}",
                    pytrace=False)
    if not AXE.exists():
        pytest.fail(f"axe-core is missing at {AXE}; run `make assets`", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


class PageProblems:
    """JavaScript errors and console errors (including CSP violations) a page produced."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def watch(self, page: Any) -> None:
        page.on("pageerror", lambda exc: self.items.append(f"pageerror: {exc}"))
        page.on("console", lambda msg: self._console(page, msg))

    def _console(self, page: Any, msg: Any) -> None:
        if msg.type != "error":
            return
        url = msg.location.get("url", "")
        # Chromium logs a non-2xx status of the document itself (the 404 and 403 pages);
        # the tests assert those statuses. Anything else (a sub-resource, a script, a CSP
        # violation) is a problem.
        if msg.text.startswith("Failed to load resource") and url == page.url:
            return
        self.items.append(f"console: {msg.text} ({url})")


@pytest.fixture
def new_page(browser: Any, base_url: str, request: pytest.FixtureRequest
             ) -> Iterator[Callable[..., Any]]:
    """Factory: a page in a fresh context. CSP is enforced unless ``bypass_csp=True``;
    ``javascript=False`` checks that a page works without scripts, as DESIGN.md promises.

    Every page fails the test at teardown if it raised a JavaScript error or logged a console
    error (a CSP violation is one) — a broken script must not pass silently.
    """
    contexts: list[Any] = []
    problems = PageProblems()

    def make(*, viewport: dict[str, int] | None = None, storage_state: Any = None,
             bypass_csp: bool = False, javascript: bool = True) -> Any:
        ctx = browser.new_context(base_url=base_url, viewport=viewport or DESKTOP,
                                  storage_state=storage_state, bypass_csp=bypass_csp,
                                  java_script_enabled=javascript, service_workers="block")
        ctx.set_default_timeout(10_000)
        contexts.append(ctx)
        page = ctx.new_page()
        problems.watch(page)
        return page

    yield make
    for ctx in contexts:
        ctx.close()
    assert problems.items == [], "the browser reported problems:\n" + "\n".join(problems.items)


@pytest.fixture(scope="session")
def admin_state(browser: Any, base_url: str) -> Any:
    """Cookies of a regional admin, signed in once through the form (argon2 is slow on purpose).

    Tests that sign out must sign in themselves: signing out ends this shared session.
    """
    ctx = browser.new_context(base_url=base_url)
    try:
        page = ctx.new_page()
        sign_in(page)
        assert page.url.endswith("/admin"), page.url
        return ctx.storage_state()
    finally:
        ctx.close()


@pytest.fixture
def admin_page(new_page: Callable[..., Any], admin_state: Any) -> Any:
    return new_page(storage_state=admin_state)
