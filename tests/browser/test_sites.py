"""Siting a center in a real browser: the scenario form (with a refused entry and a hostile
name), the result page with its choropleth (tooltips as text), ranked table and charts.
Zero axe-core violations on each, under the CSP, and the result page fits a phone."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.browser.helpers import PHONE, assert_accessible, horizontal_overflow, sign_in

pytestmark = pytest.mark.browser

NewPage = Callable[..., Any]
HOSTILE = ("</script><h1 id=injected>boom</h1><img src=x id=injected-img "
           "onerror=\"document.title='pwned'\">")


def test_the_form_makes_a_scenario_and_the_map_ranks_it(new_page: NewPage) -> None:
    page = new_page(bypass_csp=True)  # axe-core is injected as an inline script
    sign_in(page, "analyst@demo.govshare.org")
    page.get_by_role("link", name="Center sites").click()  # staff reach it from the menu
    assert_accessible(page, "sites-index")
    page.get_by_role("link", name="New scenario").click()
    assert_accessible(page, "sites-form")
    name = f"Browser center {uuid.uuid4().hex[:6]} {HOSTILE}"
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Headcount by role", exact=False).fill("Analysts, 80, 61000")
    page.get_by_label("Baseline county", exact=False).fill("27053")
    page.get_by_label("Office rent at the baseline", exact=False).fill("0")  # out of range
    page.get_by_label("States (two-letter codes", exact=False).fill("MN")
    with page.expect_navigation() as nav:
        page.get_by_role("button", name="Save and rank").click()
    assert nav.value.status == 422
    page.get_by_role("alert").wait_for()
    assert_accessible(page, "sites-form-errors")
    page.get_by_label("Office rent at the baseline", exact=False).fill("30")
    with page.expect_navigation() as nav:
        page.get_by_role("button", name="Save and rank").click()
    assert nav.value.status == 200
    assert page.get_by_role("heading", level=1).inner_text().startswith("Browser center")
    assert HOSTILE in page.get_by_role("heading", level=1).inner_text()  # shown as text
    page.wait_for_selector("#sites-map[data-ready='true'], #sites-map[data-error]",
                           state="attached")
    the_map = page.locator("#sites-map")
    assert the_map.get_attribute("data-error") is None
    assert int(the_map.get_attribute("data-features") or 0) >= 80  # Minnesota's counties
    page.locator("#sites-map path.leaflet-interactive").first.hover(force=True)
    tip = page.locator(".leaflet-tooltip").first
    tip.wait_for()
    assert "rank" in tip.inner_text() and tip.locator("img").count() == 0
    assert page.locator("#ranking tbody tr").count() > 10
    assert page.locator("#sites-frontier svg").count() == 1
    assert page.locator("#sites-sensitivity svg").count() == 1
    assert page.title() != "pwned"
    assert page.locator("#injected, #injected-img").count() == 0
    page.goto("/sites")  # the list names it too, as text
    assert page.get_by_role("link", name=name).count() == 1
    assert page.locator("#injected, #injected-img").count() == 0
    page.go_back()
    page.wait_for_selector("#sites-map[data-ready='true']", state="attached")
    legend = page.locator("#map-legend")  # beside the map, not a control inside it
    assert page.locator("#sites-map #map-legend, #sites-map .gs-legend").count() == 0
    assert "weighted score" in legend.inner_text() and "baseline" in legend.inner_text()
    assert legend.locator("li").count() == 7  # six score bands and the baseline's outline
    # the map's shades are the legend's: one list (sites.pages.MAP_SHADES)
    fills = legend.locator("rect").evaluate_all("rs => rs.map(r => r.getAttribute('fill'))")
    drawn = page.locator("#sites-map path.leaflet-interactive").evaluate_all(
        "ps => [...new Set(ps.map(p => p.getAttribute('fill')))]")
    assert drawn and set(drawn) <= set(fills[:6])
    assert_accessible(page, "sites-result")


def test_the_reference_result_fits_a_phone_under_the_csp(new_page: NewPage) -> None:
    page = new_page(viewport=PHONE)  # CSP enforced: a violation is a console error
    sign_in(page, "seattle.staff@demo.govshare.org")
    page.goto("/sites")
    page.get_by_role("link", name="Reference: Virginia IT and help-desk center (433 jobs)"
                     ).click()
    assert "Russell County" in page.locator("main").inner_text()
    page.wait_for_selector("#sites-map[data-ready='true'], #sites-map[data-error]",
                           state="attached")
    assert page.locator("#sites-map").get_attribute("data-error") is None
    overflow = horizontal_overflow(page)
    assert overflow["scrollWidth"] <= overflow["viewport"] + 1, overflow
