"""Hostile names on every map page, in a real browser: they show as text and inject nothing.

Issue 8, item 2.4: a building named ``X</script><h1 id=injected>`` ended the consolidation
page's JSON block, and Leaflet tooltips took names as HTML. Here a member jurisdiction and
assets carry names full of markup; on the region map, /here, the public window, an asset's
public page and the consolidation plan, every tooltip and popup is opened and must show the
name character for character, and no element of the name may exist in the document. The
CSP stays on: an injected inline script would also surface as a console error, which fails
the test (``new_page``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from govshare.core.db import make_engine
from govshare.core.settings import Environment, Settings
from govshare.core.tenancy import system_principal
from govshare.property import service
from govshare.property.schemas import AssetIn
from govshare.regions import queries as regions_queries

pytestmark = pytest.mark.browser

NewPage = Callable[..., Any]
TAG = uuid.uuid4().hex[:6]
# Markup that would end a script block, add elements, or run code if read as HTML.
MARKUP = ("</script><h1 id=injected>boom</h1><img src=x id=injected-img "
          "onerror=\"document.title='pwned'\"><b id=injected-b>&amp;'\"</b>")
ASSET = f"Depot {TAG} {MARKUP}"
OTHER = f"Plain annex {TAG}"
MEMBER = f"Port {TAG} <b id=injected-member>of</b> Seattle</script>"
INJECTED = "#injected, #injected-img, #injected-b, #injected-member"


@dataclass(frozen=True)
class Seeded:
    asset_id: int


@pytest.fixture(scope="module")
def seeded(base_url: str, server_env: dict[str, str]) -> Iterator[Seeded]:
    """A hostile member name and hostile asset names in the server's database; the member's
    own name comes back when the module ends."""
    settings = Settings(env=Environment.test, data_dir=Path(server_env["GOVSHARE_DATA_DIR"]),
                        secret_key=server_env["GOVSHARE_SECRET_KEY"])
    engine = make_engine(settings.resolved_database_url)
    try:
        with Session(engine) as session:
            region = regions_queries.current_region(session=session)
            assert region is not None
            ids = {j.name: j.id for j in regions_queries.list_jurisdictions(
                session=session, region_id=region.id)}
            port, city = ids["Port of Seattle"], ids["City of Seattle"]
            made = []
            for jid, name, lon in ((city, ASSET, -122.3350), (port, OTHER, -122.3210)):
                data = AssetIn(asset_code=f"HN-{TAG}-{lon}", name=name, use="courthouse",
                               status="vacant", lon=lon, lat=47.6050, capacity=100,
                               occupancy=40, annual_om_cost_cents=20_000_000,
                               public_groups=["identity", "location", "status"])
                made.append(service.create_asset(session=session,
                                                 actor=system_principal("browser-test"),
                                                 jurisdiction_id=jid, data=data).id)
            session.execute(text("UPDATE jurisdictions SET name = :n WHERE id = :i"),
                            {"n": MEMBER, "i": port})
            session.commit()
        yield Seeded(asset_id=made[0])
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE jurisdictions SET name = 'Port of Seattle' "
                              "WHERE name = :n"), {"n": MEMBER})
        engine.dispose()


def _ready(page: Any, map_id: str) -> None:
    page.wait_for_selector(f"#{map_id}[data-ready='true'], #{map_id}[data-error]",
                           state="attached")
    assert page.locator(f"#{map_id}").get_attribute("data-error") is None


def _open_every_tooltip(page: Any, map_id: str) -> list[str]:
    """Point at every drawn shape of the map (as a mouse would) and return the tooltips'
    text, exactly as the DOM holds it."""
    page.evaluate("""(id) => {
        for (const el of document.querySelectorAll('#' + id + ' path.leaflet-interactive')) {
            el.dispatchEvent(new MouseEvent('mouseover', {bubbles: true}));
        }
    }""", map_id)
    tips = page.locator(f"#{map_id} .leaflet-tooltip")
    tips.first.wait_for(state="attached")
    return [tips.nth(i).text_content() or "" for i in range(tips.count())]


def _nothing_injected(page: Any) -> None:
    assert page.locator(INJECTED).count() == 0, "markup from a name became elements"
    assert page.title() != "pwned"


def test_region_map_names_a_hostile_member_as_text(new_page: NewPage, seeded: Seeded) -> None:
    page = new_page()
    page.goto("/")
    _ready(page, "region-map")
    tips = _open_every_tooltip(page, "region-map")
    assert f"{MEMBER} (Special district)" in tips, tips
    _nothing_injected(page)


def test_here_map_labels_its_point_as_text(new_page: NewPage, seeded: Seeded) -> None:
    page = new_page()
    page.goto("/here?zip=98104")
    _ready(page, "here-map")
    tips = _open_every_tooltip(page, "here-map")
    assert any(t.startswith("Place used: ") for t in tips), tips
    assert MEMBER in page.locator("main").text_content()  # listed as text among the members
    _nothing_injected(page)


def _open_hostile_popup(page: Any) -> str:
    markers = page.locator("#public-map .leaflet-marker-icon")
    for i in range(markers.count()):
        if (markers.nth(i).get_attribute("title") or "").startswith(ASSET):
            markers.nth(i).focus()  # markers may overlap; the keyboard reaches each one
            page.keyboard.press("Enter")
            break
    else:
        raise AssertionError("no marker titled with the hostile name")
    link = page.locator(".leaflet-popup-content a")
    link.wait_for()
    return link.text_content() or ""


def test_public_window_map_shows_a_hostile_name_as_text(new_page: NewPage,
                                                        seeded: Seeded) -> None:
    page = new_page()
    page.goto("/property/public?in_use=1")
    _ready(page, "public-map")
    assert _open_hostile_popup(page) == ASSET
    _nothing_injected(page)


def test_public_asset_page_keeps_a_hostile_name_in_its_data(new_page: NewPage,
                                                            seeded: Seeded) -> None:
    page = new_page()
    page.goto(f"/property/public/{seeded.asset_id}")
    _ready(page, "public-map")
    assert page.get_by_role("heading", level=1).text_content() == ASSET
    assert _open_hostile_popup(page) == ASSET
    _nothing_injected(page)


def test_consolidation_map_shows_hostile_names_as_text(admin_page: Any, seeded: Seeded) -> None:
    page = admin_page
    page.goto("/property/consolidation?use=courthouse&max_km=15")
    _ready(page, "plan-map")
    tips = _open_every_tooltip(page, "plan-map")
    assert any(t.startswith(f"{ASSET} (City of Seattle): ") for t in tips), tips
    assert any(t.startswith(f"{OTHER} ({MEMBER}): ") for t in tips), tips
    _nothing_injected(page)
