"""The asset import page in a real browser, as a person uses it: the empty form, a refused
upload with its problems table, the error report download and a successful upload — each
state with zero axe-core violations, no console or CSP errors, and no sideways scrolling on
a phone."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.browser.helpers import (
    PHONE,
    assert_accessible,
    horizontal_overflow,
)

pytestmark = pytest.mark.browser

NewPage = Callable[..., Any]
BAD = ("asset_code,name,use,gross_floor_area_ft2\n"
       "BR-1,=Formula name,office,-5\nBR-2,Depot,spaceport,10\nBR-1,Again,office,1\n")
GOOD = "asset_code,name,use,lon,lat\nBR-9,Browser annex,office,-122.3321,47.6062\n"


def _upload(page: Any, path: Path, *, dry_run: bool = False) -> Any:
    page.goto("/property/import")
    page.get_by_label("Owner of the assets").select_option(label="Port of Seattle")
    page.set_input_files("#file", str(path))
    if dry_run:
        page.locator("label[for=dry_run]").click()
    with page.expect_navigation() as nav:
        page.get_by_role("button", name="Import").click()
    return nav.value


def test_import_page_states_are_accessible(new_page: NewPage, admin_state: Any,
                                           tmp_path: Path) -> None:
    page = new_page(storage_state=admin_state, bypass_csp=True)
    assert page.goto("/property/import").status == 200
    assert_accessible(page, "property-import")

    bad = tmp_path / "bad.csv"
    bad.write_text(BAD)
    response = _upload(page, bad)
    assert response.status == 422
    table = page.get_by_role("table", name="Problems in the file")
    assert table.get_by_role("row").count() == 4  # header + 3 problems
    assert "duplicate asset id" in table.inner_text()
    assert_accessible(page, "property-import-refused")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download all 3 problems as CSV").click()
    report = Path(download.value.path()).read_text()
    assert report.splitlines()[0] == "row,column,value,reason"
    assert "'=Formula name" not in report  # the value of BR-1 that failed is its area
    good = tmp_path / "good.csv"
    good.write_text(GOOD)
    assert _upload(page, good, dry_run=True).status == 200
    assert "would be added" in page.get_by_role("status").inner_text()
    assert _upload(page, good).status == 200
    assert "1 added" in page.get_by_role("status").inner_text()
    assert_accessible(page, "property-import-done")


def test_import_page_fits_a_phone_under_the_csp(new_page: NewPage, admin_state: Any) -> None:
    page = new_page(viewport=PHONE, storage_state=admin_state)
    assert page.goto("/property/import").status == 200
    overflow = horizontal_overflow(page)
    assert overflow["scrollWidth"] <= overflow["viewport"], overflow
