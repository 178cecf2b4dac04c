"""The public window in a real browser: the map draws a marker per located asset, an asset's
page, a proposal sent through the form (and a form sent back with errors), the staff pages
that answer it — each with zero axe-core violations, and at phone width under the CSP.

The server's database gets a few assets of its own, written through the service layer
before the pages are opened (the demo region has none of these names), so the tests do not
depend on which demo property data is loaded.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from govshare.core.db import make_engine
from govshare.core.settings import Environment, Settings
from govshare.core.tenancy import system_principal
from govshare.property import service
from govshare.property.schemas import AssetIn, PhotoIn
from govshare.regions import queries as regions_queries
from tests.browser.helpers import (
    PHONE,
    assert_accessible,
    horizontal_overflow,
    screenshot,
)
from tests.factories.images import png

pytestmark = pytest.mark.browser

NewPage = Callable[..., Any]
TAG = uuid.uuid4().hex[:6]


@dataclass(frozen=True)
class Seeded:
    located: dict[str, int]  # name -> id, surplus/vacant/under-used with a public location
    in_use: int
    in_use_name: str
    photographed_name: str  # publishes a photo, so the list shows its thumbnail


def _asset(session: Session, jid: int, name: str, status: str, lon: float, lat: float,
           **kw: Any) -> int:
    data = AssetIn(asset_code=f"BW-{TAG}-{name[:20]}", name=name, use=kw.pop("use", "office"),
                   address=kw.pop("address", "600 4th Ave"), city="Seattle", zip="98104",
                   lon=lon, lat=lat, gross_floor_area_ft2=42_000, year_built=1958,
                   status=status, repair_needs_cents=123_456_789, **kw)
    return service.create_asset(session=session, actor=system_principal("browser-test"),
                                jurisdiction_id=jid, data=data).id


@pytest.fixture(scope="module")
def seeded(base_url: str, server_env: dict[str, str]) -> Iterator[Seeded]:
    settings = Settings(env=Environment.test, data_dir=Path(server_env["GOVSHARE_DATA_DIR"]),
                        secret_key=server_env["GOVSHARE_SECRET_KEY"])
    engine = make_engine(settings.resolved_database_url)
    try:
        with Session(engine) as session:
            region = regions_queries.current_region(session=session)
            assert region is not None
            ids = {j.name: j.id for j in regions_queries.list_jurisdictions(
                session=session, region_id=region.id)}
            city, schools = ids["City of Seattle"], ids["Seattle Public Schools"]
            located = {
                f"Heron Depot {TAG}": _asset(session, city, f"Heron Depot {TAG}", "surplus",
                                             -122.3290, 47.6040, use="warehouse"),
                f"Old Annex {TAG}": _asset(session, city, f"Old Annex {TAG}", "vacant",
                                           -122.3350, 47.6100),
                f"Lake School {TAG}": _asset(session, schools, f"Lake School {TAG}",
                                             "under_used", -122.3000, 47.6600, use="school"),
            }
            in_use_name = f"Busy Library {TAG}"
            in_use = _asset(session, city, in_use_name, "in_use", -122.3200, 47.6200,
                            use="library")
            photographed_name = f"Pictured Hall {TAG}"
            pictured = _asset(session, city, photographed_name, "surplus", -122.3100,
                              47.6150, public_groups=["identity", "location", "size", "status",
                                                      "photos"])
            service.add_photo(session=session, actor=system_principal("browser-test"),
                              asset_id=pictured, content=png(400, 200),
                              data=PhotoIn(alt_text="The hall from the street"))
            session.commit()
        yield Seeded(located=located, in_use=in_use, in_use_name=in_use_name,
                     photographed_name=photographed_name)
    finally:
        engine.dispose()


def _map_ready(page: Any) -> Any:
    page.wait_for_selector("#public-map[data-ready='true'], #public-map[data-error]",
                           state="attached")
    el = page.locator("#public-map")
    assert el.get_attribute("data-error") is None, el.get_attribute("data-error")
    return el


def _fill_proposal(page: Any, proposed_use: str) -> None:
    page.get_by_label("Proposed use").fill(proposed_use)
    page.get_by_label("Describe your proposal").fill(
        "A neighborhood tool library run by volunteers, open four evenings a week.")
    page.get_by_label("Your name").fill("Bea Browser")
    page.get_by_label("Organization (optional)").fill("Tool Library Collective")
    page.get_by_label("E-mail address").fill("bea.browser@example.org")


# ----------------------------------------------------------------------------- the tests


def test_public_map_draws_a_marker_per_listed_asset(new_page: NewPage, seeded: Seeded) -> None:
    page = new_page(bypass_csp=True)
    page.goto("/")
    with page.expect_navigation():
        page.get_by_role("navigation", name="Primary navigation").get_by_role(
            "link", name="Surplus property").click()
    assert page.url.endswith("/property/public")
    el = _map_ready(page)
    markers = page.locator("#public-map .leaflet-marker-icon")
    assert int(el.get_attribute("data-markers") or 0) == markers.count()
    for name in seeded.located:
        assert page.get_by_role("button", name=name).count() == 1, f"no marker for {name}"
    table = page.get_by_role("table")
    listed = int(page.locator("#results").inner_text().split()[0])
    if listed <= 50:  # the list pages at 50; the map shows them all
        for name in seeded.located:
            assert table.get_by_role("link", name=name).is_visible()
    assert page.get_by_role("button", name=seeded.in_use_name).count() == 0
    assert "1,234,568" not in page.content() and "123456789" not in page.content()

    name = next(iter(seeded.located))
    page.get_by_role("button", name=name).first.focus()  # markers are keyboard-reachable
    page.keyboard.press("Enter")
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert name in popup.inner_text() and "Surplus" in popup.inner_text()
    assert_accessible(page, "public-window")

    # The toggle lists what is in use, to challenge it; the search narrows the list and map.
    with page.expect_navigation():
        page.get_by_role("link", name="Show what is in use too (to challenge its use)").click()
    _map_ready(page)
    assert page.get_by_role("button", name=seeded.in_use_name).count() == 1
    page.get_by_label("Name or address").fill(f"Lake School {TAG}")
    with page.expect_navigation():
        page.get_by_role("button", name="Search").click()
    el = _map_ready(page)
    assert el.get_attribute("data-markers") == "1"
    assert page.get_by_role("table").get_by_role("link").count() == 1
    assert_accessible(page, "public-window-search")


def test_an_asset_page_shows_public_facts_and_a_proposal_goes_through(
        new_page: NewPage, seeded: Seeded) -> None:
    name = next(iter(seeded.located))
    page = new_page(bypass_csp=True)
    page.goto("/property/public")
    page.get_by_label("Name or address").fill(name)
    with page.expect_navigation():
        page.get_by_role("button", name="Search").click()
    with page.expect_navigation():
        page.get_by_role("table").get_by_role("link", name=name).click()
    assert page.get_by_role("heading", level=1).inner_text() == name
    facts = page.get_by_role("table", name=f"Facts the owner has published about {name}")
    assert "42,000 ft²" in facts.inner_text() and "600 4th Ave" in facts.inner_text()
    assert "1,234,568" not in page.content(), "repair needs are not published"
    assert _map_ready(page).get_attribute("data-markers") == "1"
    honeypot = page.get_by_label("Leave this field empty; it is here to catch automated spam")
    assert honeypot.count() == 1 and honeypot.input_value() == ""
    box = honeypot.bounding_box()
    assert box is None or box["width"] <= 1 or box["x"] < 0, "hidden from sighted people"
    assert_accessible(page, "public-asset")

    # A form sent back with errors keeps what was typed and says why.
    _fill_proposal(page, "Tool library")
    page.evaluate("""() => { for (const el of document.querySelectorAll('main [required]'))
                              { el.removeAttribute('required'); el.removeAttribute('minlength');
                                if (el.type === 'email') el.type = 'text'; } }""")
    page.get_by_label("E-mail address").fill("not-an-address")
    with page.expect_navigation() as nav:
        page.get_by_role("button", name="Send proposal").click()
    assert nav.value.status == 422
    page.get_by_role("alert").wait_for()
    assert page.get_by_label("Proposed use").input_value() == "Tool library"
    assert_accessible(page, "public-asset-errors")

    page.get_by_label("E-mail address").fill("bea.browser@example.org")
    with page.expect_navigation() as nav:
        page.get_by_role("button", name="Send proposal").click()
    assert nav.value.status == 201
    assert page.get_by_role("heading", level=1).inner_text() == (
        "Thank you: your proposal has been received")
    ref = page.locator("#reference").inner_text()
    assert ref.startswith("P-")
    assert "bea.browser@example.org" not in page.content()
    assert_accessible(page, "public-confirmation")

    with page.expect_navigation():
        page.get_by_role("link", name="the asset's page").click()
    row = page.get_by_role("row").filter(has_text=ref)
    assert "Tool library" in row.inner_text() and "Received" in row.inner_text()
    content = page.content()
    assert "Bea Browser" not in content and "bea.browser@example.org" not in content
    assert "Tool Library Collective" not in content


def test_staff_answer_a_challenge_and_the_answer_is_public(
        new_page: NewPage, admin_state: Any, seeded: Seeded) -> None:
    page = new_page(bypass_csp=True)
    page.goto(f"/property/public/{seeded.in_use}")
    assert page.get_by_role("heading", name="Challenge the current use").is_visible()
    page.get_by_label("What should it be used for instead?").fill("Night shelter in winter")
    page.get_by_label("Why should its use change?").fill(
        "The reading rooms are empty after 8 pm; the city has no winter shelter nearby.")
    page.get_by_label("Your name").fill("Cal Challenger")
    page.get_by_label("E-mail address").fill("cal@example.org")
    with page.expect_navigation() as nav:
        page.get_by_role("button", name="Send challenge").click()
    assert nav.value.status == 201
    ref = page.locator("#reference").inner_text()

    staff = new_page(storage_state=admin_state, bypass_csp=True)
    staff.goto("/property/proposals")
    with staff.expect_navigation():
        staff.get_by_role("link", name=ref).click()
    assert "cal@example.org" in staff.content()
    assert_accessible(staff, "proposal-detail")
    staff.goto("/property/proposals")
    assert_accessible(staff, "proposals-queue")
    with staff.expect_navigation():
        staff.get_by_role("link", name=ref).click()
    staff.locator("label", has_text="Under review").click()  # USWDS styles the label
    assert staff.get_by_label("Under review").is_checked()
    staff.get_by_label("Internal note (optional)").fill("Ask the library board")
    with staff.expect_navigation():
        staff.get_by_role("button", name="Save answer").click()
    assert staff.get_by_role("status").inner_text() == f"{ref} is now under review."
    staff.locator("label", has_text="Declined").click()
    staff.get_by_label("Public reason").fill("The library is open until 10 pm from next month.")
    with staff.expect_navigation():
        staff.get_by_role("button", name="Save answer").click()
    assert "the decision is final" in staff.content()

    page.goto(f"/property/public/{seeded.in_use}")
    row = page.get_by_role("row").filter(has_text=ref)
    assert "Declined" in row.inner_text()
    assert "open until 10 pm" in row.inner_text()
    assert "Ask the library board" not in page.content()
    assert "cal@example.org" not in page.content()


def test_public_window_pages_fit_a_phone_under_the_csp(new_page: NewPage,
                                                      seeded: Seeded) -> None:
    """At 375 px nothing scrolls sideways and, with the CSP enforced, the map still draws
    (``new_page`` fails the test on any console error, a CSP violation included)."""
    page = new_page(viewport=PHONE)
    name = next(iter(seeded.located))
    problems = []
    for path in ("/property/public", f"/property/public/{seeded.located[name]}",
                 f"/property/public/{seeded.in_use}"):
        page.goto(path)
        _map_ready(page)
        screenshot(page, "phone-" + path.strip("/").replace("/", "-"))
        overflow = horizontal_overflow(page)
        if overflow["scrollWidth"] > overflow["viewport"]:
            problems.append(f"{path} scrolls sideways: {overflow}")
    assert problems == [], "\n".join(problems)


def test_the_list_shows_a_thumbnail_that_loads_under_the_csp_without_moving(
        new_page: NewPage, seeded: Seeded) -> None:
    """The first published photo's thumbnail (not the photo) loads from the site itself under
    the enforced CSP (a violation is a console error, which fails the test), in a fixed 96 x 72
    box however the photo is shaped, at desktop and phone width."""
    path = f"/property/public?q={seeded.photographed_name.replace(' ', '+')}"
    for viewport in (None, PHONE):
        page = new_page(viewport=viewport)
        page.goto(path)
        thumb = page.get_by_role("img", name=f"Photo of {seeded.photographed_name}")
        assert thumb.count() == 1
        thumb.scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                               arg=thumb.element_handle())
        # the 320 x 160 thumbnail made at upload, not the 400 x 200 photo
        assert thumb.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [320, 160]
        box = thumb.bounding_box()
        assert box is not None and (round(box["width"]), round(box["height"])) == (96, 72), box
        overflow = horizontal_overflow(page)
        assert overflow["scrollWidth"] <= overflow["viewport"], overflow
    page = new_page(bypass_csp=True)  # axe-core is injected as an inline script
    page.goto(path)
    assert_accessible(page, "public-window-thumbnail")
