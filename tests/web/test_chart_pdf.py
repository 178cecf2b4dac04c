"""A page with a chart printed to PDF by WeasyPrint (as the casebook will print its cases):
the inline SVG is drawn, its text is real text in the PDF, in the page's font, and nothing
is fetched from outside the package."""

from __future__ import annotations

import io
import mimetypes
import re
from pathlib import Path
from typing import Any

import pytest
import weasyprint
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy.orm import Session
from weasyprint.urls import URLFetcher, URLFetcherResponse

from govshare.web.app import PACKAGE_DIR
from tests.conftest import login
from tests.factories.property import asset
from tests.property.test_charts_pages import Page

STATIC = PACKAGE_DIR / "web" / "static"


class LocalStatic(URLFetcher):  # type: ignore[misc]
    """The package's static files for the page's own URLs; anything else stops the PDF."""

    def __init__(self) -> None:
        super().__init__(fail_on_errors=True)

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        match = re.fullmatch(r"https://govshare\.test/static/([\w./-]+?)(?:[?#].*)?", url)
        path = (STATIC / match.group(1)).resolve() if match else None
        if path is None or not path.is_relative_to(STATIC.resolve()) or not path.is_file():
            raise ValueError(f"not fetched: {url}")
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": kind})


# What is printed does not depend on the database (the page's HTML does, and is tested on
# both backends in tests/property/test_charts_pages.py): one backend spares ~12 s of CPU.
@pytest.mark.slow
@pytest.mark.parametrize("db_engine", ["sqlite"], indirect=True)
def test_utilization_page_prints_to_pdf_with_its_chart(
        client: TestClient, session: Session, ids: dict[str, int], tmp_path: Path) -> None:
    asset(session, ids["city"], name="Printed library", use="library", capacity=100,
          occupancy=25)
    login(client, "analyst@demo.govshare.org")
    html = client.get("/property/utilization").text
    chart = Page(html).charts["util-by-use"]
    pdf = weasyprint.HTML(string=html, base_url="https://govshare.test/property/",
                          url_fetcher=LocalStatic()).write_pdf()
    assert pdf is not None
    reader = PdfReader(io.BytesIO(pdf))
    text = "\n".join(page.extract_text() for page in reader.pages)
    lines = set(text.splitlines())
    # The drawing's own text: each bar's label and value, the axis title and ticks.
    for label in (*chart["svg"], "Average utilization by use"):
        assert label in lines or label in text, label
    assert "Library" in chart["svg"] and "80%" in chart["svg"]
    fonts = {str(f.get("/BaseFont", "")) for page in reader.pages
             for f in (page["/Resources"].get("/Font") or {}).values()}
    fonts |= {str(f.get_object().get("/BaseFont", "")) for page in reader.pages
              for xobject in (page["/Resources"].get("/XObject") or {}).values()
              for f in (xobject.get_object().get("/Resources", {}).get("/Font") or {}).values()}
    assert any("Source-Sans-Pro" in f for f in fonts), fonts
