"""Carbon's pages in a real browser: the region dashboard draws its charts under the CSP with
no violation, every chart named and described, and it, a member's inventory, the methodology
and benchmarking pages are axe-core clean, on a phone too."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.browser.helpers import PHONE, assert_accessible, horizontal_overflow

pytestmark = pytest.mark.browser

NewPage = Callable[..., Any]
CHARTS = ["region-trend", "by-member", "by-sector"]
WATCH_CSP = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e => window.__csp.push(
    e.violatedDirective + ' ' + (e.blockedURI || '')));
"""


def test_dashboard_draws_under_the_csp_and_is_accessible(new_page: NewPage,
                                                         admin_state: Any) -> None:
    page = new_page(storage_state=admin_state)
    page.add_init_script(WATCH_CSP)
    assert page.goto("/carbon").status == 200
    page.wait_for_load_state("load")
    assert page.evaluate("window.__csp") == []
    for chart_id in CHARTS:
        figure = page.locator(f"#{chart_id}")
        title = figure.locator("figcaption").inner_text()
        assert figure.get_by_role("img", name=title, exact=True).count() == 1
        assert (page.locator(f"#{chart_id}-desc").text_content() or "").strip()
    assert "Counted once" in page.content()
    assert page.get_by_text("sample content").count() > 0  # the sample targets say so
    checked = new_page(storage_state=admin_state, bypass_csp=True)  # axe is injected
    assert checked.goto("/carbon").status == 200
    checked.locator("details.gs-chart__data summary").first.click()  # a table open too
    assert_accessible(checked, "carbon dashboard")


@pytest.mark.parametrize("path", ["/carbon/methodology", "/carbon/benchmarking",
                                  "/carbon/factor-sets", "/carbon/gwp-sets"])
def test_carbon_pages_accessible(new_page: NewPage, admin_state: Any, path: str) -> None:
    page = new_page(storage_state=admin_state, bypass_csp=True)  # axe is injected
    assert page.goto(path).status == 200
    assert_accessible(page, path)


def test_member_inventory_on_a_phone(new_page: NewPage, admin_state: Any) -> None:
    page = new_page(storage_state=admin_state, viewport=PHONE, bypass_csp=True)
    page.goto("/carbon")
    page.locator("table a[href^='/carbon/jurisdictions/']").first.click()
    page.wait_for_load_state("load")
    assert page.locator("h1").inner_text().endswith("greenhouse gas inventory")
    wide = horizontal_overflow(page)
    assert wide["scrollWidth"] <= wide["viewport"] + 1, wide
    assert_accessible(page, "member inventory (phone)")


def test_targets_and_measures_forms(new_page: NewPage, admin_state: Any) -> None:
    """A target and a measure are refused field by field, axe-clean with the errors shown,
    then added, listed and removed again (the demo's own targets stay)."""
    page = new_page(storage_state=admin_state, bypass_csp=True)  # axe is injected
    assert page.goto("/carbon/targets").status == 200
    assert_accessible(page, "carbon targets")
    page.fill("#target-label", "Browser goal")
    page.fill("#target-base_year", "2016")
    page.fill("#target-target_year", "2010")
    page.fill("#target-reduction_pct", "200")
    page.get_by_role("button", name="Add the target").click()
    page.wait_for_load_state("load")
    alert = page.get_by_role("alert").first
    assert "Nothing was saved" in alert.inner_text()
    assert page.locator("#target-reduction_pct.usa-input--error").count() == 1
    assert page.input_value("#target-label") == "Browser goal"
    assert_accessible(page, "carbon targets with errors")
    page.fill("#target-target_year", "2035")
    page.fill("#target-reduction_pct", "45")
    page.get_by_role("button", name="Add the target").click()
    page.wait_for_load_state("load")
    row = page.locator("tr", has_text="Browser goal")
    assert row.count() == 1 and "45%" in row.inner_text()
    page.fill("#measure-name", "")
    page.fill("#measure-start_year", "2027")
    page.fill("#measure-t_co2e_per_year", "-1")
    page.get_by_role("button", name="Add to the plan").click()
    page.wait_for_load_state("load")
    assert page.locator("#measure-t_co2e_per_year.usa-input--error").count() == 1
    assert_accessible(page, "carbon measure with errors")
    page.select_option("#measure-jurisdiction_id", index=1)
    page.fill("#measure-name", "Browser measure")
    page.fill("#measure-t_co2e_per_year", "12.5")
    page.get_by_role("button", name="Add to the plan").click()
    page.wait_for_load_state("load")
    assert page.locator("tr", has_text="Browser measure").count() == 1
    page.get_by_role("button", name="Remove the target Browser goal").click()
    page.wait_for_load_state("load")
    page.get_by_role("button", name="Remove the measure Browser measure").click()
    page.wait_for_load_state("load")
    assert page.locator("tr", has_text="Browser goal").count() == 0
    assert page.locator("tr", has_text="Browser measure").count() == 0


def test_gwp_upload_errors_accessible(new_page: NewPage, admin_state: Any, tmp_path: Any) -> None:
    """A refused GWP file lists its rows, a refused name is marked on its input; both pages
    axe-clean (nothing is added, so the shared demo database is unchanged)."""
    bad = tmp_path / "bad.csv"
    bad.write_text("gas,value\nCO2,1\nCH4,lots\n")
    page = new_page(storage_state=admin_state, bypass_csp=True)  # axe is injected
    assert page.goto("/carbon/gwp-sets").status == 200
    page.fill("#gwp-name", "AR4")
    page.fill("#gwp-source", "IPCC AR4")
    page.set_input_files("#gwp-file", str(bad))
    page.get_by_role("button", name="Add GWP set").click()
    page.wait_for_load_state("load")
    assert page.locator("table", has_text="is not a number").count() == 1
    assert_accessible(page, "GWP upload refused rows")
    page.fill("#gwp-name", "no good!")
    page.set_input_files("#gwp-file", str(bad))
    page.get_by_role("button", name="Add GWP set").click()
    page.wait_for_load_state("load")
    assert page.locator("#gwp-name.usa-input--error").count() == 1
    assert_accessible(page, "GWP upload refused name")


@pytest.mark.parametrize("path", ["/carbon/targets", "/carbon/gwp-sets"])
def test_plan_and_gwp_pages_fit_a_phone(new_page: NewPage, admin_state: Any, path: str) -> None:
    page = new_page(storage_state=admin_state, viewport=PHONE, bypass_csp=True)
    assert page.goto(path).status == 200
    wide = horizontal_overflow(page)
    assert wide["scrollWidth"] <= wide["viewport"] + 1, wide
    assert_accessible(page, f"{path} on a phone")
