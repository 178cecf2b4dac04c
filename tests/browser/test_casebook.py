"""The casebook in a real browser: the proposal editor saves a proposal and shows its
results; the value page and the report builder draw their charts under the CSP; every page
axe-core clean and fitting a phone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.browser.helpers import PHONE, assert_accessible, horizontal_overflow, sign_in

pytestmark = pytest.mark.browser
NewPage = Callable[..., Any]


def _axe(new_page: NewPage, state: Any, path: str, name: str, **kw: Any) -> None:
    """axe-core needs its script injected, which the CSP refuses: a second page without it."""
    checked = new_page(storage_state=state, bypass_csp=True, **kw)
    checked.goto(path)
    assert_accessible(checked, name)


def test_editor_to_results(new_page: NewPage, admin_state: Any) -> None:
    page = new_page(storage_state=admin_state)
    page.goto("/casebook/new")
    _axe(new_page, admin_state, "/casebook/new", "casebook-editor")
    page.get_by_label("Name", exact=True).fill("Shared 311 desk (browser test)")
    page.get_by_label("Service").select_option("front_office")
    page.get_by_label("Horizon (years, 1 to 50)").fill("6")
    page.get_by_label("Savings ramp: share of full savings in each early year (%)").fill("50")
    page.get_by_label("One-time transition costs by year ($)").fill("200000")
    page.get_by_label("The shared model's annual cost ($)").fill("900000")
    for member, cost in (("City of Seattle", "700000"), ("King County", "500000")):
        box = page.locator("fieldset.gs-member", has_text=member)
        box.get_by_text(f"{member} takes part").click()  # USWDS draws the box on the label
        box.get_by_label("Salaries and benefits ($/yr)").fill(cost)
    with page.expect_navigation():
        page.get_by_role("button", name="Save").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Shared 311 desk (browser test)"
    assert page.locator("#fig-annual").inner_text() == "$300,000"
    assert page.locator("[id^='cumulative-'] svg").count() == 1
    _axe(new_page, admin_state, page.url, "casebook-results")


def test_value_page_and_report_builder(new_page: NewPage, admin_state: Any) -> None:
    page = new_page(storage_state=admin_state)
    page.goto("/value")
    assert page.locator("#fig-fiscal-annual").count() == 1
    assert page.locator("#point-economic").get_by_text("not yet measured").count() == 1
    assert page.locator("#value-fiscal svg").count() == 1
    # the green point: the carbon inventory against the targets, each member a row, a chart
    assert "emissions in" in page.locator("#fig-green-inventory").inner_text()
    assert page.locator("#green-members a[href^='/carbon/jurisdictions/']").count() >= 1
    assert page.locator("#value-green svg").count() == 1
    _axe(new_page, admin_state, "/value", "value-page")
    page.get_by_role("link", name="Make the value case as a report (HTML, PDF)").click()
    page.get_by_label("For", exact=True).select_option("council")
    with page.expect_navigation():
        page.get_by_role("button", name="Preview").click()
    assert page.get_by_text("For the Council").count() >= 1
    _axe(new_page, admin_state, page.url, "value-report-builder")
    href = page.get_by_role("link", name="Download the PDF").get_attribute("href")
    pdf = page.request.get(href, timeout=120_000)
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    assert "value-case-council.pdf" in pdf.headers["content-disposition"]
    assert pdf.body()[:5] == b"%PDF-"


def test_fleet_pool_becomes_a_proposal_in_one_click(new_page: NewPage,
                                                    admin_state: Any) -> None:
    page = new_page(storage_state=admin_state)
    page.goto("/fleet/pooling")
    saving = page.locator("#pool-total strong").nth(1).inner_text()
    _axe(new_page, admin_state, "/fleet/pooling", "fleet-pooling-with-proposal-button")
    with page.expect_navigation():
        page.get_by_role("button", name="Make this pooling plan a proposal in the casebook"
                         ).click()
    assert page.get_by_role("heading", level=1).inner_text() == "Pool the members' fleets"
    assert page.locator("#fig-annual").inner_text() == saving  # the plan's savings a year
    back = page.get_by_role("link", name="see the plan it came from")
    assert back.get_attribute("href") == "/fleet/pooling"
    _axe(new_page, admin_state, page.url, "casebook-from-fleet-pool")
    with page.expect_navigation():
        back.click()
    assert page.url.endswith("/fleet/pooling")


def test_casebook_pages_fit_a_phone(new_page: NewPage) -> None:
    page = new_page(viewport=PHONE, bypass_csp=True)
    sign_in(page, "seattle.staff@demo.govshare.org")
    for path in ("/casebook", "/casebook/1", "/value"):
        page.goto(path)
        over = horizontal_overflow(page)
        assert over["scrollWidth"] <= over["viewport"] + 1, (path, over)
    page.goto("/casebook/1")
    # a member's staff: their own member's figures, and a form to record their actual cost
    assert page.get_by_text("other members' figures are not shown").count() == 1
    assert page.get_by_label("Member").locator("option").all_inner_texts() == [
        "City of Seattle"]
    assert_accessible(page, "casebook-member-staff-phone")
