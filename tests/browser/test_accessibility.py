"""Every page: zero axe-core violations, no script or CSP errors, no sideways scrolling on a
phone, and a screenshot in test-artifacts/screenshots/ for a person to look at.

Each page is reached the way a person reaches it (signed in through the form for the admin
pages, by submitting the form for the page that shows a new API key), not by crafting URLs
where the product offers a link.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.browser.helpers import (
    PHONE,
    assert_accessible,
    horizontal_overflow,
    screenshot,
    wait_for_map,
)

pytestmark = pytest.mark.browser

NewPage = Callable[..., Any]


def _goto(path: str, status: int = 200) -> Callable[[Any], None]:
    def go(page: Any) -> None:
        response = page.goto(path)
        assert response is not None
        assert response.status == status, f"{path} answered {response.status}"
    return go


def _boundary_page(page: Any) -> None:
    page.goto("/admin/jurisdictions")
    with page.expect_navigation() as nav:
        page.get_by_role("link", name="Boundary of City of Seattle").click()
    assert nav.value.status == 200
    assert page.get_by_role("heading", level=1).inner_text() == "Boundary of City of Seattle"


def _consolidation(page: Any) -> None:
    """The office plan: shown at once, or after its progress page (a solve that takes more
    than a moment runs in the background and the page reloads itself until it is done)."""
    response = page.goto("/property/consolidation?use=office")
    assert response is not None and response.status in (200, 202)
    page.locator("#plan-heading").wait_for(timeout=90_000)


def _user_page(page: Any) -> None:
    page.goto("/admin/users")
    with page.expect_navigation() as nav:
        page.get_by_role("link", name="analyst@demo.govshare.org").click()
    assert nav.value.status == 200
    assert page.get_by_role("heading", level=1).inner_text() == "Ana Analyst (demo)"


def _new_api_key(page: Any) -> None:
    page.goto("/admin/apikeys")
    page.get_by_label("What will use it?").fill(f"Axe check {uuid.uuid4().hex[:6]}")
    with page.expect_navigation() as nav:
        page.get_by_role("button", name="Create key").click()
    assert nav.value.status == 201
    assert page.locator("#new-key").inner_text().startswith("gsk_")


def _user_form_errors(page: Any) -> None:
    page.goto("/admin/users")
    page.get_by_label("E-mail address").fill("not-an-address@")
    page.evaluate("""() => { for (const el of document.querySelectorAll('main input'))
                              { el.removeAttribute('required'); el.removeAttribute('minlength');
                                if (el.type === 'email') el.type = 'text'; } }""")
    with page.expect_navigation() as nav:
        page.get_by_role("button", name="Add user").click()
    assert nav.value.status == 422
    page.get_by_role("alert").wait_for()


def _login_error(page: Any) -> None:
    page.goto("/login")
    page.get_by_label("E-mail address").fill("nobody@example.gov")
    page.get_by_label("Password").fill("wrong-password-here")
    with page.expect_navigation() as nav:
        page.get_by_role("button", name="Sign in").click()
    assert nav.value.status == 400


def _api_docs(page: Any) -> None:
    """The API explorer, drawn by the package's own Swagger UI from the OpenAPI document."""
    response = page.goto("/api/v1/docs")
    assert response is not None and response.status == 200
    page.locator(".opblock").first.wait_for()
    assert page.locator("html").get_attribute("lang") == "en"


def _asset_page(page: Any) -> None:
    """The first asset of the registry sorted by true cost: its cost table, split in two."""
    page.goto("/property?sort=cost")
    with page.expect_navigation():
        page.locator("table a[href^='/property/assets/']").first.click()
    assert "budget cost" in page.locator("#cost-split").inner_text()


@dataclass(frozen=True)
class PageCase:
    name: str
    visit: Callable[[Any], None]
    signed_in: bool = False


PAGES = [
    PageCase("home", _goto("/")),
    PageCase("locate", _goto("/locate")),
    PageCase("locate-zip", _goto("/locate?zip=98104")),
    PageCase("locate-outside", _goto("/locate?lon=-125.5&lat=47.0")),
    PageCase("locate-bad-input", _goto("/locate?lon=west&lat=47", status=400)),
    PageCase("locate-address", _goto("/locate?address=12525+Stone+Ave+N%2C+Seattle")),
    PageCase("locate-address-candidates", _goto("/locate?address=1000+Fourth+Avenue")),
    PageCase("locate-zip-split", _goto("/locate?zip=98133")),
    PageCase("here-address", _goto("/here?address=12525+Stone+Ave+N")),
    PageCase("services-search", _goto("/services?q=potholes")),
    PageCase("life-event-without-guide", _goto("/life-events/retiring")),
    PageCase("admin-address-points", _goto("/admin/address-points"), signed_in=True),
    PageCase("staff-queue", _goto("/staff/requests"), signed_in=True),
    PageCase("login", _goto("/login")),
    PageCase("login-error", _login_error),
    PageCase("admin", _goto("/admin"), signed_in=True),
    PageCase("admin-jurisdictions", _goto("/admin/jurisdictions"), signed_in=True),
    PageCase("admin-users", _goto("/admin/users"), signed_in=True),
    PageCase("admin-users-errors", _user_form_errors, signed_in=True),
    PageCase("admin-user", _user_page, signed_in=True),
    PageCase("admin-apikeys", _goto("/admin/apikeys"), signed_in=True),
    PageCase("admin-apikeys-created", _new_api_key, signed_in=True),
    PageCase("admin-audit", _goto("/admin/audit"), signed_in=True),
    PageCase("admin-boundary", _boundary_page, signed_in=True),
    PageCase("not-found", _goto("/no-such-page", status=404)),
    PageCase("api-docs", _api_docs),
    PageCase("property", _goto("/property"), signed_in=True),
    PageCase("property-utilization", _goto("/property/utilization"), signed_in=True),
    PageCase("property-asset", _asset_page, signed_in=True),
    PageCase("property-consolidation", _consolidation, signed_in=True),
    PageCase("sites", _goto("/sites"), signed_in=True),
    # the demo's first center scenario (cli/demo_sites.py), then one candidate's figures
    PageCase("sites-scenario", _goto("/sites/scenarios/1"), signed_in=True),
    PageCase("sites-county", _goto("/sites/scenarios/1/counties/53077"), signed_in=True),
]


def _open(case: PageCase, new_page: NewPage, admin_state: Any, **kwargs: Any) -> Any:
    page = new_page(storage_state=admin_state if case.signed_in else None, **kwargs)
    case.visit(page)
    if page.locator("#region-map").count():
        assert wait_for_map(page).get_attribute("data-ready") == "true"
    return page


@pytest.mark.parametrize("case", PAGES, ids=[c.name for c in PAGES])
def test_page_has_no_axe_violations(case: PageCase, new_page: NewPage, admin_state: Any
                                    ) -> None:
    # axe is injected as an inline script, which the app's CSP forbids; the CSP itself is
    # checked with the same pages below.
    page = _open(case, new_page, admin_state, bypass_csp=True)
    assert page.title().endswith("· govshare")
    assert_accessible(page, case.name)


PHONE_SCREENSHOTS = {"home", "locate-zip", "admin-users", "admin-audit", "admin-apikeys-created"}


def _phone_and_csp_problems(page: Any) -> list[str]:
    problems = []
    overflow = horizontal_overflow(page)
    if overflow["scrollWidth"] > overflow["viewport"]:
        problems.append(f"scrolls sideways at {PHONE['width']}px: {overflow}")
    broken = page.evaluate("""() => [...document.images]
        .filter(i => i.complete && i.naturalWidth === 0).map(i => i.src)""")
    if broken:
        problems.append(f"images that did not load: {broken}")
    sheets = page.evaluate("() => [...document.styleSheets].map(s => s.href || 'inline')")
    for name in ("/uswds.min.css", "/govshare.css"):
        if not any(h.endswith(name) for h in sheets):
            problems.append(f"{name} is not applied: {sheets}")
    # The navigation collapses behind the menu button, as USWDS intends on small screens;
    # the button works only if uswds.min.js ran under the CSP.
    home_link = page.get_by_role("navigation", name="Primary navigation").get_by_role(
        "link", name="Home")
    if home_link.is_visible():
        problems.append("the navigation is not collapsed behind the menu button")
    page.get_by_role("button", name="Menu").click()
    try:
        home_link.wait_for(state="visible", timeout=3000)
    except Exception:
        problems.append("the menu button does not open the navigation")
    return problems


def test_every_page_fits_a_phone_and_loads_under_the_csp(new_page: NewPage,
                                                        admin_state: Any) -> None:
    """At 375 px no page scrolls sideways, and with the CSP on every script, style and image
    loads. ``new_page`` fails the test on any console error, and a CSP violation is one.

    One context per principal, visiting every page in turn (as a person would, with the
    browser cache warm), keeps this quick; every page's problems are reported together.
    """
    pages = {False: new_page(viewport=PHONE),
             True: new_page(viewport=PHONE, storage_state=admin_state)}
    problems: list[str] = []
    for case in PAGES:
        page = pages[case.signed_in]
        case.visit(page)
        if page.locator("#region-map").count():
            assert wait_for_map(page).get_attribute("data-ready") == "true"
        if case.name in PHONE_SCREENSHOTS:
            screenshot(page, f"phone-{case.name}")
        problems += [f"{case.name}: {p}" for p in _phone_and_csp_problems(page)]
    assert problems == [], "\n".join(problems)
