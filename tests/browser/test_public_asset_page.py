"""The public asset page in a real browser (issue 9 §6): site area in both units, zoning, a
contact, the proposal deadline in the region's time zone and photos with their alt text —
axe-core clean, under the CSP, hostile text shown as text, at phone width too; a page whose
deadline has passed says closed and offers no form; staff upload a photo on the asset's page
and the public sees it, re-encoded, once its group is published.

The assets are written through the service layer before the pages open (names the demo has
not), so the tests do not depend on the demo's property data.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from sqlalchemy.orm import Session

from govshare.core.db import make_engine
from govshare.core.settings import Environment, Settings
from govshare.core.tenancy import system_principal
from govshare.property import calc, service
from govshare.property.schemas import AssetIn, PhotoIn
from govshare.regions import queries as regions_queries
from tests.browser.helpers import PHONE, assert_accessible, horizontal_overflow, sign_in

pytestmark = pytest.mark.browser

TAG = uuid.uuid4().hex[:6]
HOSTILE = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
GROUPS = ["identity", "location", "size", "status", "zoning", "contact", "photos"]


@dataclass(frozen=True)
class Seeded:
    open_id: int
    closed_id: int
    unpublished_id: int
    deadline_text: str
    closed_text: str


def _png(color: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 200), color).save(out, "PNG")
    return out.getvalue()


def _jpeg_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "SnoopCam"
    exif[0x8825] = {1: "N", 2: (47.0, 36.0, 22.0), 3: "W", 4: (122.0, 19.0, 55.0)}
    out = io.BytesIO()
    Image.new("RGB", (300, 200), (200, 120, 40)).save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


@pytest.fixture(scope="module")
def seeded(base_url: str, server_env: dict[str, str]) -> Iterator[Seeded]:
    settings = Settings(env=Environment.test, data_dir=Path(server_env["GOVSHARE_DATA_DIR"]),
                        secret_key=server_env["GOVSHARE_SECRET_KEY"])
    engine = make_engine(settings.resolved_database_url)
    actor = system_principal("browser-test")
    try:
        with Session(engine) as session:
            region = regions_queries.current_region(session=session)
            assert region is not None
            city = {j.name: j.id for j in regions_queries.list_jurisdictions(
                session=session, region_id=region.id)}["City of Seattle"]
            tz = region.time_zone
            today = datetime.now(ZoneInfo(tz)).date()

            def add(name: str, deadline_days: int, groups: list[str], **kw: Any) -> int:
                data = AssetIn(
                    asset_code=f"PAP-{TAG}-{name[:12]}", name=name, use="warehouse",
                    address="2200 Alaskan Way", city="Seattle", zip="98121", lon=-122.3480,
                    lat=47.6110, gross_floor_area_ft2=18_000, land_area_acres=1.75,
                    status="surplus", zoning=kw.pop("zoning", "IG2 U/85 General Industrial 2"),
                    contact_name=kw.pop("contact_name", "Robin Surplus"),
                    contact_email="robin.surplus@example.gov", contact_phone="206-555-0111",
                    proposal_deadline=today + timedelta(days=deadline_days),
                    public_groups=groups)
                return service.create_asset(session=session, actor=actor,
                                            jurisdiction_id=city, data=data).id

            open_id = add(f"Pelican Yard {TAG}", 30, GROUPS, zoning=f"C-2 {HOSTILE}",
                          contact_name=f"Robin {HOSTILE}")
            service.add_photo(session=session, actor=actor, asset_id=open_id,
                              content=_png((30, 90, 160)),
                              data=PhotoIn(alt_text=f"Loading dock facing the water {HOSTILE}"))
            service.add_photo(session=session, actor=actor, asset_id=open_id,
                              content=_png((90, 160, 30)),
                              data=PhotoIn(alt_text="Yard seen from Alaskan Way"))
            closed_id = add(f"Cormorant Shed {TAG}", -2, GROUPS)
            unpublished_id = add(f"Grebe Lot {TAG}", 30, ["identity", "location", "status"])
            session.commit()
        yield Seeded(open_id=open_id, closed_id=closed_id, unpublished_id=unpublished_id,
                     deadline_text=calc.deadline_text(today + timedelta(days=30), tz),
                     closed_text=calc.deadline_text(today - timedelta(days=2), tz))
    finally:
        engine.dispose()


def _photos_loaded(page: Any) -> list[dict[str, Any]]:
    page.wait_for_function("() => [...document.querySelectorAll('img.gs-photo')]"
                           ".every(i => i.complete)")
    return list(page.evaluate("() => [...document.querySelectorAll('img.gs-photo')]"
                              ".map(i => ({alt: i.alt, w: i.naturalWidth}))"))


def test_the_public_asset_page_shows_its_facts_contact_deadline_and_photos(
        new_page: Any, seeded: Seeded) -> None:
    page = new_page()  # the CSP enforced: photos are same-origin images
    page.goto(f"/property/public/{seeded.open_id}")
    facts = page.get_by_role("table").first
    assert "1.75 acres (76,230 ft²)" in facts.inner_text()
    assert f"C-2 {HOSTILE}" in facts.inner_text()  # shown as text, not markup
    contact = page.locator("address.gs-contact")
    assert f"Robin {HOSTILE}" in contact.inner_text()
    assert contact.get_by_role("link", name="robin.surplus@example.gov").get_attribute(
        "href") == "mailto:robin.surplus@example.gov"
    assert contact.get_by_role("link", name="(206) 555-0111").get_attribute(
        "href") == "tel:+1-206-555-0111"
    assert seeded.deadline_text in page.locator("#deadline").inner_text()
    photos = _photos_loaded(page)
    assert [p["alt"] for p in photos] == [f"Loading dock facing the water {HOSTILE}",
                                          "Yard seen from Alaskan Way"]
    assert all(p["w"] == 320 for p in photos), photos  # loaded, not broken
    assert page.get_by_role("img", name="Yard seen from Alaskan Way").is_visible()
    assert page.evaluate("() => window.__pwned") is None
    page.wait_for_selector("#public-map[data-ready='true'], #public-map[data-error]",
                           state="attached")

    checked = new_page(bypass_csp=True)  # axe-core is injected as an inline script
    checked.goto(f"/property/public/{seeded.open_id}")
    _photos_loaded(checked)
    assert_accessible(checked, "public-asset-page")

    phone = new_page(viewport=PHONE, bypass_csp=True)
    phone.goto(f"/property/public/{seeded.open_id}")
    phone.locator("#photos").scroll_into_view_if_needed()  # the photos load lazily
    _photos_loaded(phone)
    overflow = horizontal_overflow(phone)
    assert overflow["scrollWidth"] <= overflow["viewport"], overflow
    assert_accessible(phone, "public-asset-page-phone")


def test_after_the_deadline_the_page_says_closed_and_offers_no_form(
        new_page: Any, seeded: Seeded) -> None:
    page = new_page(bypass_csp=True)  # for axe-core
    page.goto(f"/property/public/{seeded.closed_id}")
    alert = page.locator("#deadline")
    assert "Closed" in alert.inner_text() and seeded.closed_text in alert.inner_text()
    assert page.get_by_label("Proposed use").count() == 0
    assert_accessible(page, "public-asset-page-closed")


def test_staff_upload_a_photo_and_the_public_sees_it_once_published(
        new_page: Any, seeded: Seeded, tmp_path: Path) -> None:
    page = new_page(bypass_csp=True)  # for axe-core
    sign_in(page, "seattle.staff@demo.govshare.org")
    page.goto(f"/property/assets/{seeded.unpublished_id}")
    assert_accessible(page, "staff-asset-page-photos")
    upload = tmp_path / "dock.jpg"
    upload.write_bytes(_jpeg_with_gps())
    page.locator("#photo").set_input_files(str(upload))  # USWDS relabels the input
    page.get_by_label("Description of the photo").fill("Gate on the north side")
    with page.expect_navigation():
        page.get_by_role("button", name="Upload photo").click()
    assert "metadata removed" in page.locator("body").inner_text()
    assert [p["alt"] for p in _photos_loaded(page)] == ["Gate on the north side"]
    src = page.get_by_role("img", name="Gate on the north side").get_attribute("src")
    public_src = src.replace("/property/assets/", "/property/public/")

    anonymous = new_page()
    assert anonymous.request.get(public_src).status == 404  # photos not published yet
    page.locator("label[for=g-photos]").click()  # USWDS hides the box behind its label
    assert page.get_by_label("photos", exact=True).is_checked()
    with page.expect_navigation():
        page.get_by_role("button", name="Save publication").click()
    served = anonymous.request.get(public_src)
    assert served.status == 200 and served.headers["content-type"] == "image/jpeg"
    assert b"SnoopCam" not in served.body()
    anonymous.goto(f"/property/public/{seeded.unpublished_id}")
    assert [p["alt"] for p in _photos_loaded(anonymous)] == ["Gate on the north side"]
    assert "Robin Surplus" not in anonymous.content()  # the contact group is not published

    # the staff page's own (lazy) copy of the photo must have loaded before it is removed, or
    # its request can race the removal and log a 404 the teardown counts as a page error
    page.get_by_role("button", name="Remove photo 1").scroll_into_view_if_needed()
    page.wait_for_function("Array.from(document.images).every(i => i.complete)")
    with page.expect_navigation():
        page.get_by_role("button", name="Remove photo 1").click()
    page.wait_for_load_state("load")
    assert "Photo removed." in page.locator("body").inner_text()
    assert page.locator("img.gs-photo").count() == 0
    assert anonymous.request.get(public_src).status == 404
