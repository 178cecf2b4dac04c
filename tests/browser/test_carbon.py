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
                                  "/carbon/factor-sets"])
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
