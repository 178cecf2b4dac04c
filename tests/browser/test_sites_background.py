"""A siting scenario's long Monte Carlo run in a real browser: the progress page follows the
run without blocking, is accessible, and the run can be canceled and run again.

The run is held at a gate between chunks of draws (``tests/browser/gated_server.py``, a
second server process on the browser server's demo region): the largest run the form
allows now takes under a second, so without it the test would race the run's end (it did:
the run finished before the cancel on a quiet machine)."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import SERVER_START_TIMEOUT, VENV_BIN, _free_port, _ready
from tests.browser.helpers import ROOT, assert_accessible, sign_in

pytestmark = pytest.mark.browser

NewPage = Callable[..., Any]
ALL_STATES = ("AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT "
              "NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY")


@pytest.fixture(scope="module")
def gate(server_env: dict[str, str]) -> Path:
    return Path(server_env["GOVSHARE_DATA_DIR"]) / "sites-gate"


@pytest.fixture(scope="module")
def base_url(base_url: str, server_env: dict[str, str], gate: Path) -> Iterator[str]:
    """The gated server, on the demo region the session's server built (its ``base_url``)."""
    port = _free_port()
    log_path = Path(server_env["GOVSHARE_DATA_DIR"]) / "gated-server.log"
    env = {**server_env, "GOVSHARE_TEST_SITES_GATE": str(gate)}
    with log_path.open("w") as log:
        proc = subprocess.Popen([str(VENV_BIN / "python"), "-m", "tests.browser.gated_server",
                                 str(port)], env=env, cwd=ROOT, stdout=log,
                                stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + SERVER_START_TIMEOUT
            while not _ready(url + "/readyz"):
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the gated server did not start:\n{log_path.read_text()}",
                                pytrace=False)
                time.sleep(0.1)  # polling a process we do not control
            yield url
        finally:
            gate.unlink(missing_ok=True)
            proc.terminate()
            proc.wait(timeout=10)
    errors = [line for line in log_path.read_text().splitlines()
              if '"level": "error"' in line or "Traceback" in line]
    assert not errors, "the gated server logged errors:\n" + "\n".join(errors[:20])


def test_a_long_run_shows_progress_without_blocking_and_can_be_canceled(
        new_page: NewPage, gate: Path) -> None:
    gate.touch()  # every run waits after each chunk of draws until canceled
    page = new_page(bypass_csp=True)  # axe-core is injected as an inline script
    sign_in(page, "analyst@demo.govshare.org")
    page.goto("/sites/new")
    page.get_by_label("Name", exact=True).fill(f"Every county {uuid.uuid4().hex[:6]}")
    page.get_by_label("Headcount by role", exact=False).fill("Analysts, 80, 61000")
    page.get_by_label("Baseline county", exact=False).fill("27053")
    page.get_by_label("Office rent at the baseline", exact=False).fill("30")
    page.get_by_label("States (two-letter codes", exact=False).fill(ALL_STATES)
    page.get_by_label("Monte Carlo draws").fill("10000")
    with page.expect_navigation() as nav:  # saving checks the scenario, no Monte Carlo
        page.get_by_role("button", name="Save and rank").click()
    assert nav.value.status == 202  # the run goes on in the background
    bar = page.locator("#mc-progress")
    assert bar.get_attribute("max") == "10000"
    page.wait_for_function(  # the script follows the run: the bar moves without a reload
        "() => Number(document.getElementById('mc-progress').getAttribute('data-polled')) > 0",
        timeout=30_000)
    assert page.locator("#progress-count").inner_text() == "100 of 10,000 draws done"
    assert_accessible(page, "sites-progress")
    with page.expect_navigation():
        page.get_by_role("button", name="Cancel the analysis").click()
    page.wait_for_selector("#run-canceled", timeout=30_000)  # the script reloads the page
    assert "canceled after 100 of 10,000 draws" in page.locator("#run-canceled").inner_text()
    assert_accessible(page, "sites-canceled")
    page.reload()  # a canceled run stays canceled: it is not started again by a visit
    assert page.locator("#run-canceled").is_visible()
    with page.expect_navigation():
        page.get_by_role("button", name="Run it again").click()
    page.get_by_role("button", name="Cancel the analysis").wait_for()  # running afresh
    with page.expect_navigation():  # leave nothing running for the next tests
        page.get_by_role("button", name="Cancel the analysis").click()
    page.wait_for_selector("#run-canceled", timeout=30_000)
    gate.unlink()
    with page.expect_navigation():  # with the gate open the run goes to its end
        page.get_by_role("button", name="Run it again").click()
    page.wait_for_selector("#sites-map", state="attached", timeout=60_000)
