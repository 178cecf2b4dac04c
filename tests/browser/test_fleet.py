"""Fleet pages in Chromium against a real server with the demo region: the pooling map draws
its clusters with text tooltips (a hostile unit name stays text), the electrification plan
shows its charts as inline SVG with their tables, every fleet page is axe-clean, fits a phone
and loads under the CSP."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.helpers import PHONE, assert_accessible, horizontal_overflow, screenshot

pytestmark = pytest.mark.browser

FLEET_PAGES = ["/fleet", "/fleet/rightsizing", "/fleet/pooling", "/fleet/electrification",
               "/fleet/parameters", "/fleet/import", "/fleet/vehicles/new"]


def _first_vehicle(page: Any) -> str:
    page.goto("/fleet")
    href = page.locator("table a[href^='/fleet/vehicles/']").first.get_attribute("href")
    assert href
    return str(href)


def test_the_pooling_map_draws_clusters_with_text_tooltips(new_page: Any,
                                                           admin_state: Any) -> None:
    page = new_page(storage_state=admin_state)
    page.goto("/fleet/pooling")
    page.wait_for_selector("#pool-map[data-ready='true']", state="attached")
    markers = page.locator("#pool-map path.leaflet-interactive")
    assert markers.count() > 3
    # the cluster markers come last (drawn above the sites); hover one for its tooltip
    markers.last.hover(force=True)
    tip = page.locator(".leaflet-tooltip").first
    tip.wait_for()
    assert tip.inner_text().startswith("Cluster ")
    assert tip.locator("img, script").count() == 0
    assert page.locator("#pool-clusters tbody tr").count() >= 1
    screenshot(page, "fleet-pooling")


def test_the_electrification_plan_shows_charts_and_their_figures(new_page: Any,
                                                                 admin_state: Any) -> None:
    page = new_page(storage_state=admin_state)
    page.goto("/fleet/electrification")
    figures = page.locator("figure svg[role='img']")
    assert figures.count() >= 2
    assert "Fleet emissions a year" in page.locator("figure").first.inner_text()
    page.locator("figure details summary").first.click()
    assert page.locator("figure details table").first.is_visible()
    assert page.locator("#plan tbody tr").count() >= 1
    screenshot(page, "fleet-electrification")


@pytest.mark.parametrize("path", [*FLEET_PAGES, "vehicle"])
def test_fleet_pages_have_no_axe_violations(path: str, new_page: Any, admin_state: Any
                                            ) -> None:
    page = new_page(storage_state=admin_state, bypass_csp=True)
    if path == "vehicle":
        path = _first_vehicle(page)
    response = page.goto(path)
    assert response is not None and response.status == 200
    if page.locator("#pool-map").count():
        page.wait_for_selector("#pool-map[data-ready='true']", state="attached")
    assert_accessible(page, "fleet" + path.replace("/", "-"))


def test_fleet_pages_fit_a_phone_and_load_under_the_csp(new_page: Any, admin_state: Any
                                                       ) -> None:
    page = new_page(viewport=PHONE, storage_state=admin_state)
    problems = []
    for path in [*FLEET_PAGES, _first_vehicle(page)]:
        page.goto(path)
        overflow = horizontal_overflow(page)
        if overflow["scrollWidth"] > overflow["viewport"]:
            problems.append(f"{path} scrolls sideways at {PHONE['width']}px: {overflow}")
    assert problems == [], "\n".join(problems)
