"""Issue 9 §1-§4 in a real browser: the report form's round trip keeps every field (with and
without JavaScript, under the CSP), a pin on the map places a report, and a member's staff
member assigns and closes an overdue request from the queue. axe-core clean on each page."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.browser.helpers import assert_accessible, sign_in

pytestmark = pytest.mark.browser

NewPage = Callable[..., Any]
PERSON = {"First name": "Rosa", "Last name": "Parks-Test", "E-mail": "rosa@example.org",
          "Phone": "206-555-0199"}


@pytest.mark.parametrize("javascript", [False, True], ids=["no-js", "js"])
def test_form_round_trip_keeps_every_field(new_page: NewPage, javascript: bool) -> None:
    page = new_page(javascript=javascript, bypass_csp=True)  # axe is injected
    page.goto("/requests/new")
    assert_accessible(page, f"fo-form-empty-{javascript}") if javascript else None
    page.get_by_label("What is it about?").select_option("illegal_dumping")
    page.get_by_label("Street address").fill("1000 Fourth Avenue")
    page.get_by_label("Describe it").fill("Sofa and tyres by the bus stop")
    for label, value in PERSON.items():
        page.get_by_label(label, exact=True).fill(value)
    with page.expect_navigation():
        page.get_by_role("button", name="Show its questions").click()
    assert "?" not in page.url  # nothing typed goes into the URL
    assert page.get_by_role("heading", level=1).inner_text() == "Report illegal dumping"
    for label, value in PERSON.items():
        assert page.get_by_label(label, exact=True).input_value() == value
    assert page.get_by_label("Describe it").input_value() == "Sofa and tyres by the bus stop"
    page.locator("label[for=a-items-furniture]").click()
    page.locator("label[for=a-items-tyres]").click()
    page.get_by_label("When did you first see it?").fill("2026-11-29T08:30-08:00")
    with page.expect_navigation():
        page.get_by_role("button", name="Send the report").click()
    # "1000 Fourth Avenue" is two places: asked which, with everything kept.
    main = page.locator("main").inner_text()
    assert "could be 2 places" in main
    assert page.get_by_label("Furniture").is_checked() and page.get_by_label("Tyres").is_checked()
    assert page.get_by_label("When did you first see it?").input_value() == \
        "2026-11-29T08:30-08:00"
    for label, value in PERSON.items():
        assert page.get_by_label(label, exact=True).input_value() == value
    if javascript:
        assert_accessible(page, "fo-form-candidates")
    with page.expect_navigation():
        page.get_by_role("button", name=re.compile(r"^1000 4TH AVE S,")).click()
    if page.get_by_role("heading", name="Is it one of these?").count():
        with page.expect_navigation():
            page.get_by_role("button", name="No, none of these: send my report").click()
    heading = page.get_by_role("heading", level=1).inner_text()
    match = re.search(r"request (\d{4})-(\d{6})", heading)
    assert match, heading
    page.goto(f"/requests/track?id={match.group(1)}{match.group(2)}")  # typed without dash
    main = page.locator("main").inner_text()
    assert "Received" in main and "rosa@example.org" not in page.content()


def test_a_pin_on_the_map_places_the_report(new_page: NewPage) -> None:
    page = new_page()  # under the CSP
    page.goto("/requests/new?service=streetlight")
    page.wait_for_selector("#pin-map[data-ready='true']", state="attached")
    assert page.locator("#pin-map-section").is_visible()
    page.locator("#pin-map").scroll_into_view_if_needed()
    box = page.locator("#pin-map").bounding_box()
    assert box
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    lat = page.get_by_label("Latitude", exact=True).input_value()
    lon = page.get_by_label("Longitude", exact=True).input_value()
    assert lat and lon and -123 < float(lon) < -122 and 47 < float(lat) < 48


def test_staff_assigns_and_closes_an_overdue_request(new_page: NewPage) -> None:
    page = new_page(bypass_csp=True)  # axe is injected
    sign_in(page, "seattle.staff@demo.govshare.org")
    page.goto("/staff/requests")
    page.locator("label[for=q-overdue]").click()
    with page.expect_navigation():
        page.get_by_role("button", name="Filter").click()
    assert_accessible(page, "fo-queue-overdue")
    rows = page.locator("#queue tbody tr")
    assert rows.count() >= 1 and "overdue by" in rows.first.inner_text().lower()
    page.wait_for_selector("#queue-map[data-ready='true']", state="attached")
    with page.expect_navigation():
        rows.first.locator("a").first.click()
    assert "overdue by" in page.locator("#clock").inner_text().lower()
    assert not page.get_by_label("The resident can see this note").is_checked()
    page.get_by_label("Assign to").select_option(label="Sky Staff (demo) (me)")
    page.get_by_label("New status").select_option(label="Resolved")
    page.get_by_label("Note", exact=True).fill("Fixed today")
    page.locator("label[for=a-public]").click()
    with page.expect_navigation():
        page.get_by_role("button", name="Save").click()
    main = page.locator("main").inner_text()
    assert "Resolved" in main and "Sky Staff (demo)" in main and "user:" not in main
    assert "assigned to Sky Staff (demo)" in page.locator("#history").inner_text()
    assert_accessible(page, "fo-case-closed")
