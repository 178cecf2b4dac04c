"""Charts in a real browser (core.charts, web/_chart.html): property's charts draw under the
CSP with no violation, in the page's font, every label inside its drawing, axe-core clean, on
a phone too, and without JavaScript; hostile names in a chart run nothing, with or without
the CSP's help."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from jinja2 import Environment, FileSystemLoader, select_autoescape

from govshare.core import charts
from govshare.core.charts import Field
from govshare.core.http import CSP
from tests.browser.helpers import PHONE, ROOT, assert_accessible, screenshot

pytestmark = pytest.mark.browser

NewPage = Callable[..., Any]
PROPERTY_CHARTS = {"/property": ["cost-by-member", "carbon-by-use"],
                   "/property/utilization": ["util-by-use"]}
HOSTILE = ['</svg><script>window.pwned = 1</script>', '"><img src=x onerror="pwned = 2">',
           "<style>body{display:none}</style>", "]]><!-- & javascript:pwned=3"]

# Collects every CSP violation the document reports, before any of its own code runs.
WATCH_CSP = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e => window.__csp.push(
    e.violatedDirective + ' ' + (e.blockedURI || '') + ' ' + (e.sample || '')));
"""

# For each chart: its drawing's size, and the text labels (drawn, not hidden by Vega's label
# overlap) that stick out of it by more than a pixel.
DRAWINGS = """ids => ids.map(id => {
    const svg = document.querySelector('#' + id + ' svg');
    if (!svg) return {id, missing: true};
    const box = svg.getBoundingClientRect();
    const outside = [...svg.querySelectorAll('text')]
        .filter(t => t.getAttribute('opacity') !== '0' && t.textContent.trim())
        .map(t => [t.textContent, t.getBoundingClientRect()])
        .filter(([, r]) => r.left < box.left - 1 || r.right > box.right + 1 ||
                           r.top < box.top - 1 || r.bottom > box.bottom + 1)
        .map(([text]) => text);
    return {id, width: box.width, height: box.height, outside,
            right: box.right, viewport: document.documentElement.clientWidth};
})"""


def _open_with_csp_watch(page: Any, path: str) -> None:
    page.add_init_script(WATCH_CSP)
    assert page.goto(path).status == 200
    page.wait_for_load_state("load")
    page.evaluate("document.fonts.ready")


def _check_drawings(page: Any, ids: list[str]) -> None:
    for d in page.evaluate(DRAWINGS, ids):
        assert not d.get("missing"), d
        assert d["width"] > 200 and d["height"] > 50, d
        assert d["outside"] == [], d  # the renderer measured with the font the page uses
        assert d["right"] <= d["viewport"] + 1, d  # shrinks to its column, even on a phone


@pytest.mark.parametrize("path", list(PROPERTY_CHARTS))
def test_property_charts_draw_under_the_csp(new_page: NewPage, admin_state: Any,
                                            path: str) -> None:
    page = new_page(storage_state=admin_state)
    _open_with_csp_watch(page, path)
    assert page.evaluate("document.fonts.check('14px \"Source Sans Pro Web\"')")
    _check_drawings(page, PROPERTY_CHARTS[path])
    for chart_id in PROPERTY_CHARTS[path]:
        figure = page.locator(f"#{chart_id}")
        title = figure.locator("figcaption").inner_text()
        image = figure.get_by_role("img", name=title, exact=True)  # named by its <title>
        assert image.count() == 1 and image.is_visible()
        description = page.locator(f"#{chart_id}-desc").text_content() or ""
        assert description.startswith("Bar chart of"), description
        # The figures, one disclosure away, as a real table with a header row.
        figure.locator("summary").click()
        table = figure.get_by_role("table")
        assert table.is_visible() and table.locator("tbody tr").count() >= 1
        assert table.locator("thead th").count() >= 2
    assert page.evaluate("window.__csp") == []
    screenshot(page, f"charts {path}")
    # axe-core is injected as an inline script, which the CSP (rightly) refuses: it checks
    # the same page, with the tables open, in a context that bypasses the CSP.
    checked = new_page(storage_state=admin_state, bypass_csp=True)
    checked.goto(path)
    for summary in checked.locator(".gs-chart summary").all():
        summary.click()
    assert_accessible(checked, f"charts {path} figures")


def test_property_charts_on_a_phone(new_page: NewPage, admin_state: Any) -> None:
    page = new_page(storage_state=admin_state, viewport=PHONE)
    _open_with_csp_watch(page, "/property/utilization")
    _check_drawings(page, PROPERTY_CHARTS["/property/utilization"])
    assert page.evaluate("window.__csp") == []
    screenshot(page, "charts utilization phone")


def test_property_charts_without_javascript(new_page: NewPage, admin_state: Any) -> None:
    """The drawing is in the HTML: nothing is left for a script to do."""
    page = new_page(storage_state=admin_state, javascript=False)
    page.goto("/property")
    for chart_id in PROPERTY_CHARTS["/property"]:
        figure = page.locator(f"#{chart_id}")
        drawing = figure.locator("svg")
        assert drawing.is_visible()
        box = drawing.bounding_box()
        assert box and box["width"] > 200 and box["height"] > 50
        assert figure.locator("svg text").count() > 5
        figure.locator("summary").click()  # a disclosure opens without script
        assert figure.get_by_role("table").is_visible()


@pytest.mark.parametrize("enforce_csp", [True, False], ids=["csp", "no-csp"])
def test_hostile_names_in_a_chart_run_nothing(new_page: NewPage, base_url: str,
                                             enforce_csp: bool) -> None:
    """A page holding every chart kind with hostile names, served with the product's CSP
    (and once without it: the escaping alone must hold)."""
    names = [*HOSTILE, "Harbor & Tire Co."]
    text = Field("name", "Name", "text")
    usd = Field("v", "Value", "usd")
    drawn = [
        charts.bar([{"name": n, "v": 1000.0 * (i + 1)} for i, n in enumerate(names)],
                   id="hostile-bar", title=HOSTILE[0], category=text, value=usd),
        charts.line([{"name": n, "year": y, "v": 10.0 * y - 20_000 + i}
                     for i, n in enumerate(names[:3]) for y in (2024, 2025)],
                    id="hostile-line", title="Line", x=Field("year", "Year", "year"), y=usd,
                    series=text, dashed=[HOSTILE[0]]),
        charts.scatter([{"name": n, "x": float(i), "v": float(i * i), "top": True}
                        for i, n in enumerate(names)],
                       id="hostile-scatter", title="Scatter", x=Field("x", "X"), y=usd,
                       label=text, highlight=Field("top", "Named", "flag")),
    ]
    env = Environment(loader=FileSystemLoader(str(ROOT / "src/govshare/web/templates")),
                      autoescape=select_autoescape())
    html = env.from_string(
        '{% from "web/_chart.html" import chart %}<!DOCTYPE html><html lang="en"><head>'
        '<meta charset="utf-8"><title>Hostile charts</title>'
        '<link rel="stylesheet" href="/static/vendor/uswds/css/uswds.min.css">'
        '<link rel="stylesheet" href="/static/css/govshare.css"></head>'
        '<body><main><h1>Charts</h1>{% for c in drawn %}{{ chart(c) }}{% endfor %}'
        '</main></body></html>').render(drawn=drawn)
    page = new_page(bypass_csp=not enforce_csp)
    page.route("**/hostile-charts", lambda route: route.fulfill(
        status=200, body=html, headers={"content-type": "text/html; charset=utf-8",
                                        "content-security-policy": CSP}))
    _open_with_csp_watch(page, base_url + "/hostile-charts")
    assert page.evaluate("typeof window.pwned") == "undefined"
    assert page.evaluate("window.__csp") == []
    assert page.locator("script, style, main img, foreignObject").count() == 0
    assert page.locator("main svg").count() == 3
    for c in drawn:
        svg_text = page.locator(f"#{c.id} svg").text_content() or ""
        assert "<script>" in svg_text or "</svg>" in svg_text, svg_text
    assert page.locator("#hostile-bar figcaption").inner_text() == HOSTILE[0]
    assert page.get_by_role("img", name=HOSTILE[0], exact=True).count() == 1
    _check_drawings(page, [c.id for c in drawn])
    if enforce_csp:
        screenshot(page, "charts hostile")
    else:
        assert_accessible(page, "charts hostile")
