"""What people do in the browser: sign in and out, read the region map, find who serves a
place, add a staff user — and what the browser must refuse (a forged CSRF token)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.browser.helpers import ADMIN_EMAIL, PHONE, screenshot, sign_in, wait_for_map

pytestmark = pytest.mark.browser

NewPage = Callable[..., Any]


def test_sign_in_through_the_form_and_out_again(new_page: NewPage) -> None:
    page = new_page()
    page.goto("/")
    page.get_by_role("link", name="Staff sign in").click()
    page.wait_for_url("**/login")

    response = sign_in(page)

    assert response.status == 200
    assert page.url.endswith("/admin")
    assert page.get_by_role("heading", level=1).inner_text() == "Administration"
    nav = page.get_by_role("navigation", name="Primary navigation")
    assert nav.get_by_role("link", name="Admin").is_visible()
    assert "Rae Regional (demo), Regional admin" in page.locator(".usa-intro").inner_text()

    with page.expect_navigation():
        nav.get_by_role("button", name="Sign out Rae Regional (demo)").click()
    assert page.url.endswith("/")
    assert page.get_by_role("status").inner_text() == "You are signed out."
    assert nav.get_by_role("link", name="Staff sign in").is_visible()
    page.goto("/admin")
    assert page.url.endswith("/login?next=/admin"), "a signed-out visitor must be sent to sign in"


def test_sign_in_returns_to_the_page_asked_for(new_page: NewPage) -> None:
    page = new_page()
    page.goto("/admin/users")
    page.wait_for_url("**/login?next=/admin/users")
    page.get_by_label("E-mail address").fill("analyst@demo.govshare.org")
    page.get_by_label("Password").fill("demo-password-2026")
    with page.expect_navigation() as nav:
        page.get_by_role("button", name="Sign in").click()
    sign_in_response = nav.value
    assert sign_in_response.status == 200
    assert page.url.endswith("/admin/users")
    assert page.get_by_role("heading", level=1).inner_text() == "Staff users"
    # An analyst reads the staff list but may not change it: no form, no buttons.
    assert page.get_by_role("heading", name="Add a user").count() == 0
    assert page.locator("main form").count() == 0
    response = page.goto("/admin/audit")
    assert response.status == 403
    assert page.get_by_role("heading", level=1).inner_text() == "Not allowed"


def test_a_wrong_password_is_refused_with_a_message(new_page: NewPage) -> None:
    page = new_page()
    response = sign_in(page, email=ADMIN_EMAIL, password="not-the-password-at-all")
    assert response.status == 400
    assert page.url.endswith("/login")
    assert page.get_by_role("alert").is_visible()
    assert page.get_by_label("E-mail address").input_value() == ADMIN_EMAIL
    assert page.get_by_label("Password").input_value() == "", "a password is never echoed back"


def test_region_map_draws_every_member_boundary(new_page: NewPage) -> None:
    page = new_page()
    page.goto("/")
    region_map = wait_for_map(page)

    assert region_map.get_attribute("data-error") is None
    assert region_map.get_attribute("data-ready") == "true"
    assert region_map.get_attribute("data-features") == "5"
    paths = page.locator("#region-map .leaflet-overlay-pane svg path")
    assert paths.count() == 5, "one SVG path per member boundary"
    box = region_map.bounding_box()
    drawn = 0
    for i in range(paths.count()):
        assert len(paths.nth(i).get_attribute("d") or "") > 20
        p = paths.nth(i).bounding_box()
        if p and p["width"] > 5 and p["height"] > 5:
            overlaps = (p["x"] < box["x"] + box["width"] and p["x"] + p["width"] > box["x"]
                        and p["y"] < box["y"] + box["height"]
                        and p["y"] + p["height"] > box["y"])
            drawn += overlaps
    assert drawn >= 3, "the boundaries are drawn inside the visible map, not off-screen"
    # The table under the map carries the same members, for anyone who cannot see the map.
    rows = page.get_by_role("table", name="Member jurisdictions of Seattle - King County, WA")
    assert rows.locator("tbody tr").count() == 5
    screenshot(page, "home-map")


def test_hovering_a_boundary_names_the_member(new_page: NewPage) -> None:
    page = new_page()
    page.goto("/")
    wait_for_map(page)
    # The city is drawn on top of the county and the county-wide port district, so pointing
    # at it names the city (or the school district, which has the city's boundary).
    box = page.locator("#region-map path[stroke='#e66f0e']").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    tooltip = page.locator(".leaflet-tooltip")
    tooltip.wait_for()
    assert tooltip.inner_text() in {"City of Seattle (City)",
                                    "Seattle Public Schools (School district)"}


def test_who_serves_a_zip_code(new_page: NewPage) -> None:
    page = new_page()
    page.goto("/")
    page.get_by_role("textbox", name="ZIP code").fill("98104")
    with page.expect_navigation() as nav:
        page.get_by_role("button", name="Find").click()
    assert nav.value.status == 200
    assert page.url.endswith("/locate?zip=98104")
    served = page.locator("#located li").all_inner_texts()
    names = {line.split(" — ")[0] for line in served}
    assert {"State of Washington", "King County", "City of Seattle"} <= names
    # A ZIP code is an area, not a place (issue 9 §1): the page names every member it touches.
    assert page.get_by_role("heading",
                            name=f"ZIP code 98104 touches {len(served)} members").is_visible()


def test_a_point_outside_the_region_says_so(new_page: NewPage) -> None:
    page = new_page()
    page.goto("/locate")
    page.get_by_label("Longitude").fill("-125.5")
    page.get_by_label("Latitude").fill("47.0")
    with page.expect_navigation():
        page.get_by_role("button", name="Find by coordinates").click()
    assert page.get_by_role("heading", name="Outside the region").is_visible()
    assert page.locator("#located").count() == 0


def test_coordinates_that_are_not_numbers_are_explained(new_page: NewPage) -> None:
    page = new_page()
    response = page.goto("/locate?lon=west&lat=47")
    assert response.status == 400
    assert "must be numbers" in page.get_by_role("alert").inner_text()
    assert page.get_by_label("Longitude").input_value() == "west", "the input is kept"


def test_add_a_user_through_the_form(admin_page: Any) -> None:
    page = admin_page
    email = f"new.analyst.{uuid.uuid4().hex[:8]}@example.gov"
    page.goto("/admin/users")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Full name").fill("Nia New (browser test)")
    page.get_by_label("Initial password").fill("a-long-enough-password")
    page.get_by_label("Role").select_option(label="Regional analyst")
    page.get_by_label("Jurisdiction").select_option(value="")
    with page.expect_navigation() as nav:
        page.get_by_role("button", name="Add user").click()

    assert nav.value.status == 200
    assert page.url.endswith("/admin/users")
    assert page.get_by_role("status").inner_text() == f"Added {email} as Regional analyst."
    row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=email))
    assert row.count() == 1
    cells = row.get_by_role("cell").all_inner_texts()
    assert cells[:3] == ["Nia New (browser test)", "Regional analyst", "Whole region"]
    assert cells[3] == "never"
    screenshot(page, "admin-users-after-add")

    # ... and the audit log shows who added whom.
    page.goto("/admin/audit?entity=user")
    assert page.locator("tbody").get_by_text(email).count() >= 1

    # The new user can sign in with the initial password.
    page.context.clear_cookies()
    sign_in(page, email=email, password="a-long-enough-password")
    assert page.url.endswith("/admin")
    assert "Nia New (browser test), Regional analyst" in page.locator(".usa-intro").inner_text()


def test_an_invalid_user_is_not_added_and_the_form_says_why(admin_page: Any) -> None:
    page = admin_page
    page.goto("/admin/users")
    before = page.locator("tbody tr").count()
    page.get_by_label("E-mail address").fill(f"short.{uuid.uuid4().hex[:6]}@example.gov")
    page.get_by_label("Full name").fill("Shorty")
    page.get_by_label("Initial password").fill("short")
    # The browser's own check (minlength) would stop the form; the server must check too.
    page.evaluate("document.getElementById('password').removeAttribute('minlength')")
    with page.expect_navigation() as nav:
        page.get_by_role("button", name="Add user").click()
    assert nav.value.status == 422
    alert = page.get_by_role("alert")
    assert "Nothing was saved" in alert.inner_text()
    assert "password" in alert.inner_text().lower()
    assert page.locator("tbody tr").count() == before


def test_create_an_api_key_shows_it_once(admin_page: Any) -> None:
    page = admin_page
    name = f"Browser test feed {uuid.uuid4().hex[:6]}"
    page.goto("/admin/apikeys")
    page.get_by_label("What will use it?").fill(name)
    page.get_by_label("Role").select_option(label="Regional analyst")
    with page.expect_navigation() as nav:
        page.get_by_role("button", name="Create key").click()
    assert nav.value.status == 201
    assert nav.value.headers.get("cache-control") == "no-store"
    key = page.locator("#new-key").inner_text().strip()
    assert key.startswith("gsk_")
    assert page.get_by_role("rowheader", name=name).is_visible()

    page.goto("/admin/apikeys")
    assert page.locator("#new-key").count() == 0
    assert key not in page.content(), "the plaintext key is shown only once"


@pytest.mark.parametrize("signed_in", [True, False], ids=["staff-form", "login-form"])
def test_a_form_with_a_forged_csrf_token_is_refused(
    new_page: NewPage, admin_state: Any, signed_in: bool
) -> None:
    if signed_in:
        page = new_page(storage_state=admin_state)
        email = f"forged.{uuid.uuid4().hex[:8]}@example.gov"
        page.goto("/admin/users")
        page.get_by_label("E-mail address").fill(email)
        page.get_by_label("Full name").fill("Forged Request")
        page.get_by_label("Initial password").fill("a-long-enough-password")
        submit = page.get_by_role("button", name="Add user")
    else:
        page = new_page()
        page.goto("/login")
        page.get_by_label("E-mail address").fill(ADMIN_EMAIL)
        page.get_by_label("Password").fill("demo-password-2026")
        submit = page.get_by_role("button", name="Sign in")
    form = submit.locator("xpath=ancestor::form")
    real = form.locator("input[name=csrf_token]").input_value()
    form.locator("input[name=csrf_token]").evaluate(
        "(el) => { el.value = 'forged.' + el.value.split('').reverse().join(''); }")
    assert form.locator("input[name=csrf_token]").input_value() != real

    with page.expect_navigation() as nav:
        submit.click()

    assert nav.value.status == 403
    assert page.get_by_role("heading", level=1).is_visible()
    assert "did not come from this site" in page.get_by_role("alert").inner_text()
    screenshot(page, f"csrf-refused-{'staff' if signed_in else 'login'}")
    if signed_in:
        page.goto("/admin/users")
        assert page.get_by_role("rowheader", name=email).count() == 0, "nothing was saved"
    else:
        page.goto("/admin")
        assert "/login" in page.url, "no session was started"


def test_the_skip_link_is_the_first_stop_and_moves_to_the_content(new_page: NewPage) -> None:
    page = new_page()
    page.goto("/locate")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    assert skip.evaluate("(el) => el === document.activeElement")
    assert skip.is_visible(), "the skip link shows when it has focus"
    page.keyboard.press("Enter")
    page.wait_for_url("**/locate#main-content")
    # The next Tab lands inside the main content, not back in the header.
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.getElementById('main-content')"
                         ".contains(document.activeElement)")


def test_the_pages_work_without_javascript(new_page: NewPage) -> None:
    """Server-rendered pages: JavaScript only adds the map. Sign in, look up a place, add a
    member's API key — all with scripts off."""
    page = new_page(javascript=False)
    page.goto("/")
    assert page.locator("#region-map").get_attribute("data-ready") is None
    table = page.get_by_role("table", name="Member jurisdictions of Seattle - King County, WA")
    assert table.locator("tbody tr").count() == 5
    page.get_by_role("textbox", name="ZIP code").fill("98104")
    with page.expect_navigation():
        page.get_by_role("button", name="Find").click()
    assert page.get_by_role("heading", name="ZIP code 98104 touches", exact=False).is_visible()

    response = sign_in(page)
    assert response.status == 200 and page.url.endswith("/admin")
    page.get_by_role("link", name="API keys").click()
    page.wait_for_url("**/admin/apikeys")
    page.get_by_label("What will use it?").fill(f"No-JS feed {uuid.uuid4().hex[:6]}")
    with page.expect_navigation() as nav:
        page.get_by_role("button", name="Create key").click()
    assert nav.value.status == 201
    assert page.locator("#new-key").inner_text().startswith("gsk_")

    # On a phone the menu button needs JavaScript; without it the links are shown in place.
    phone = new_page(javascript=False, viewport=PHONE)
    phone.goto("/login")
    nav = phone.get_by_role("navigation", name="Primary navigation")
    assert nav.get_by_role("link", name="Staff sign in").is_visible()
    assert not phone.get_by_role("button", name="Menu").is_visible()

