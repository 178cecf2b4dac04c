"""Tell us once in a real browser, without JavaScript as well as with: choose the event, fill
only its fields, tick agencies and consent, see the reference; a form sent back with errors;
the staff page with a new subscription's secret; the delivery status. Zero axe-core
violations on each, and the public form fits a phone under the CSP."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest

from tests.browser.helpers import (
    PHONE,
    assert_accessible,
    horizontal_overflow,
    screenshot,
)

pytestmark = pytest.mark.browser

NewPage = Callable[..., Any]


def _fill_move(page: Any) -> None:
    page.get_by_label("Your full name", exact=True).fill("Bea Browser")
    page.get_by_label("Your date of birth", exact=True).fill("1990-04-05")
    page.get_by_label("Old address", exact=True).fill("1 Old Street, Seattle, WA 98101")
    page.get_by_label("New address", exact=True).fill("2 New Avenue, Seattle, WA 98104")
    moved = (date.today() - timedelta(days=3)).isoformat()
    page.get_by_label("Date of the move", exact=True).fill(moved)


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_a_resident_reports_a_move_once(new_page: NewPage, javascript: bool) -> None:
    page = new_page(bypass_csp=True, javascript=javascript)
    page.goto("/tell-us-once")
    if javascript:
        assert_accessible(page, "tellusonce-start")
    page.locator("label[for=event-change_of_address]").click()
    with page.expect_navigation():
        page.get_by_role("button", name="Continue").click()
    assert page.get_by_role("heading", level=2, name="Change of address").is_visible()
    if javascript:
        assert_accessible(page, "tellusonce-form")

    _fill_move(page)
    utilities = page.get_by_role("checkbox", name=re.compile("Utility billing"))
    page.locator(f"label[for={utilities.get_attribute('id')}]").click()  # USWDS: the label
    assert utilities.is_checked()
    with page.expect_navigation() as nav:  # no consent yet
        page.get_by_role("button", name="Send my report").click()
    assert nav.value.status == 422
    page.get_by_role("alert").wait_for()
    assert page.get_by_label("Your full name", exact=True).input_value() == "Bea Browser"
    if javascript:
        assert_accessible(page, "tellusonce-form-errors")

    page.locator("label[for=consent]").click()
    with page.expect_navigation() as nav:
        page.get_by_role("button", name="Send my report").click()
    assert nav.value.status == 201
    assert re.fullmatch(r"TU-[A-Z0-9]{4}-[A-Z0-9]{4}", page.locator("#reference").inner_text())
    assert "City of Seattle: Utility billing" in page.locator("#told").inner_text()
    if javascript:
        assert_accessible(page, "tellusonce-confirmation")


def test_the_public_form_fits_a_phone_under_the_csp(new_page: NewPage) -> None:
    page = new_page(viewport=PHONE)
    page.goto("/tell-us-once?event=death")
    overflow = horizontal_overflow(page)
    assert overflow["scrollWidth"] <= overflow["viewport"], overflow
    screenshot(page, "phone-tellusonce-death")


def test_staff_add_an_agency_and_see_deliveries(new_page: NewPage, admin_state: Any) -> None:
    page = new_page(storage_state=admin_state, bypass_csp=True)
    page.goto("/staff/tell-us-once")
    assert_accessible(page, "tellusonce-staff")
    page.get_by_label("Member").select_option(label="King County")
    page.get_by_label("Agency or office").fill(f"Assessor {date.today().isoformat()}-"
                                               f"{page.evaluate('Date.now()')}")
    page.get_by_label("Why it wants to know").fill("Updates the mailing address of a "
                                                   "property tax account.")
    page.get_by_label("Webhook URL").fill("https://hooks.example.org/assessor")
    page.locator("label[for=s-event-change_of_address]").click()
    with page.expect_navigation() as nav:
        page.get_by_role("button", name="Add agency and make its secret").click()
    assert nav.value.status == 201
    assert page.locator("#new-secret").inner_text().startswith("whsec_")
    assert_accessible(page, "tellusonce-staff-secret")

    page.goto("/outbox")
    assert_accessible(page, "outbox-status")
