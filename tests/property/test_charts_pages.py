"""Property's charts on the one chart path: the registry and utilization pages carry their
charts as inline SVG with the figures as a table, nothing the CSP refuses, and a member's
hostile name stays text. (In a browser: tests/browser/test_charts.py.)"""

from __future__ import annotations

from html.parser import HTMLParser

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from govshare.core.charts import Field
from tests.conftest import login
from tests.factories.property import asset

HOSTILE = '</svg><script>window.pwned=1</script>"><img src=x onerror="pwned=2">'


class Page(HTMLParser):
    """What a page holds, as a browser's parser sees it: every element with its attributes,
    and per chart (figure) the elements in it, its SVG's text and its table's rows."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.charts: dict[str, dict[str, list[list[str]]]] = {}
        self._figure: str | None = None
        self._cell: list[str] | None = None
        self._svg_text: list[str] | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.elements.append((tag, a))
        if tag == "figure" and "gs-chart" in (a.get("class") or ""):
            self._figure = a["id"]
            self.charts[str(a["id"])] = {"svg": [], "rows": [], "tags": []}
        elif self._figure:
            chart = self.charts[self._figure]
            chart["tags"].append([tag])
            if tag == "tr":
                chart["rows"].append([])
            elif tag in ("th", "td") and chart["rows"]:
                self._cell = []
            elif tag == "text":
                self._svg_text = []

    def handle_endtag(self, tag: str) -> None:
        if not self._figure:
            return
        chart = self.charts[self._figure]
        if tag == "figure":
            self._figure = None
        elif tag in ("th", "td") and self._cell is not None:
            chart["rows"][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "text" and self._svg_text is not None:
            chart["svg"].append("".join(self._svg_text))
            self._svg_text = None

    def handle_data(self, data: str) -> None:
        for sink in (self._cell, self._svg_text):
            if sink is not None:
                sink.append(data)


def _check_csp_safe(page: Page) -> None:
    """Nothing that needs 'unsafe-inline': no inline script, no style element or attribute,
    no event handler; and nothing a hostile name could have injected."""
    for tag, attrs in page.elements:
        assert tag != "style", "a <style> element"
        assert "style" not in attrs, (tag, attrs)
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        if tag == "script":
            assert (attrs.get("src") or "").startswith("/static/"), attrs
        assert tag != "img" or (attrs.get("src") or "").startswith("/static/"), attrs


def test_registry_draws_its_two_charts_with_their_figures(
        client: TestClient, session: Session, ids: dict[str, int]) -> None:
    asset(session, ids["city"], name="Chart office")
    login(client, "analyst@demo.govshare.org")
    r = client.get("/property")
    assert r.status_code == 200
    page = Page(r.text)
    _check_csp_safe(page)
    assert list(page.charts) == ["cost-by-member", "carbon-by-use"]
    cost = page.charts["cost-by-member"]
    header, *rows = cost["rows"]
    assert header == ["Member", "True cost per year"]
    # One table row per member with assets, each drawn as a labeled bar with its value.
    members = {row[0] for row in rows}
    assert "City of Seattle" in members and len(rows) == len(members)
    for name, value in rows:
        assert value.startswith("$") and name in cost["svg"] and value in cost["svg"]
    assert [t for t in cost["tags"] if t[0] in ("svg", "table")] == [["svg"], ["table"]]
    carbon_header = page.charts["carbon-by-use"]["rows"][0]
    assert carbon_header == ["Use", Field("t", "Emissions", unit="t CO2e per year").header]
    assert ('role="img" aria-labelledby="cost-by-member-title" '
            'aria-describedby="cost-by-member-desc"') in r.text


def test_a_hostile_member_name_stays_text_in_the_chart(
        client: TestClient, session: Session, ids: dict[str, int]) -> None:
    session.execute(sa.text("UPDATE jurisdictions SET name = :n WHERE id = :id"),
                    {"n": HOSTILE, "id": ids["city"]})
    asset(session, ids["city"], name="Renamed member's office")
    login(client, "analyst@demo.govshare.org")
    r = client.get("/property")
    assert r.status_code == 200
    page = Page(r.text)
    _check_csp_safe(page)
    cost = page.charts["cost-by-member"]
    assert HOSTILE in [row[0] for row in cost["rows"]]
    # In the drawing the label is cut to its width with an ellipsis, as text.
    assert any(t.startswith("</svg><script>") for t in cost["svg"]), cost["svg"]
    # The figure holds one drawing and one table: the name opened and closed no element.
    tags = [t[0] for t in cost["tags"]]
    assert tags.count("svg") == 1 and tags.count("table") == 1
    assert not set(tags) & {"script", "img", "style", "foreignobject", "a", "image"}, tags


def test_utilization_chart_has_a_row_per_use_with_its_count(
        client: TestClient, session: Session, ids: dict[str, int]) -> None:
    asset(session, ids["city"], name="Quiet library", use="library", capacity=100,
          occupancy=25)
    login(client, "analyst@demo.govshare.org")
    r = client.get("/property/utilization")
    assert r.status_code == 200
    page = Page(r.text)
    _check_csp_safe(page)
    header, *rows = page.charts["util-by-use"]["rows"]
    assert header == ["Use", "Average utilization", "Assets with a utilization"]
    library = next(row for row in rows if row[0] == "Library")
    assert library[1].endswith("%") and int(library[2]) >= 1
    assert library[1] in page.charts["util-by-use"]["svg"]
