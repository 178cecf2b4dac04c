"""The one chart path (core.charts): specs built from rows, the SVG vl-convert draws for them
(in its child process), the cleaning every drawing goes through, the figures' table, US
number formats, and the renderer's recovery. Every drawing here is a real one."""

from __future__ import annotations

import logging
import math
import os
import re
import signal
import xml.etree.ElementTree as ET
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from govshare.core import charts
from govshare.core.charts import Field, Table

HOSTILE = ['</svg><script>window.pwned=1</script>', '"><img src=x onerror="pwned=2">',
           "<style>*{display:none}</style>", "]]><!-- & &amp; javascript:alert(3)"]
MEMBER = Field("member", "Member", "text")
COST = Field("cost", "True cost per year", "usd")
SVG_NS = "{http://www.w3.org/2000/svg}"


def _tree(chart: charts.Chart) -> ET.Element:
    """The chart's SVG as XML: it must be well formed on its own."""
    assert chart.svg is not None, chart.note
    return ET.fromstring(str(chart.svg))


def _texts(chart: charts.Chart) -> list[str]:
    return ["".join(t.itertext()) for t in _tree(chart).iter(SVG_NS + "text")]


def _cost_chart(rows: list[dict[str, Any]] | None = None) -> charts.Chart:
    return charts.bar(rows or [{"member": "King County", "cost": 1_234_567.4},
                               {"member": "City of Seattle", "cost": 45_000},
                               {"member": "Port of Seattle", "cost": 999}],
                      id="cost", title="Annual true cost by member", category=MEMBER,
                      value=COST)


# ----------------------------------------------------------------------------- formats


@pytest.mark.parametrize(("f", "value", "text"), [
    (Field("x", "X", "usd"), 1234.4, "$1,234"),
    (Field("x", "X", "usd"), -1234.6, "-$1,235"),
    (Field("x", "X", "usd"), -0.2, "$0"),
    (Field("x", "X", "usd", decimals=2), Decimal("12.5"), "$12.50"),
    (Field("x", "X"), 1234567.891, "1,234,568"),
    (Field("x", "X", decimals=1), 0.25, "0.2"),  # round half to even, as Python does
    (Field("x", "X", "percent"), 45.4, "45%"),
    (Field("x", "X", "year"), 2030.0, "2030"),
    (Field("x", "X", "month"), date(2026, 7, 4), "Jul 2026"),
    (Field("x", "X", "month"), "2026-11-29T10:00:00", "Nov 2026"),
    (Field("x", "X", "flag"), True, "Yes"),
    (Field("x", "X", "text"), "<b>", "<b>"),  # escaped by the template, not here
    (Field("x", "X"), None, "—"),
    (Field("x", "X"), math.nan, "—"),
    (Field("x", "X", "usd"), math.inf, "—"),
])
def test_table_cells_are_in_us_format(f: Field, value: Any, text: str) -> None:
    assert f.format(value) == text


def test_units_follow_titles_and_values_in_sentences() -> None:
    t = Field("t", "Emissions", unit="t CO2e")
    assert t.header == "Emissions (t CO2e)"
    assert t.say(1500) == "1,500 t CO2e" and t.say(None) == "—"


# ----------------------------------------------------------------------------- bar


def test_bar_chart_draws_every_row_in_order_with_its_value_and_table() -> None:
    chart = _cost_chart()
    texts = _texts(chart)
    # Category labels on the axis, each value at its bar's end, compact axis ticks.
    for text in ("King County", "City of Seattle", "Port of Seattle", "$1,234,567",
                 "$45,000", "$999", "True cost per year", "$1.2M"):
        assert text in texts, (text, texts)
    assert [row[0] for row in chart.table.rows] == ["King County", "City of Seattle",
                                                    "Port of Seattle"]
    assert chart.table.rows[0] == ("King County", "$1,234,567")
    assert [(c.header, c.numeric) for c in chart.table.columns] == [
        ("Member", False), ("True cost per year", True)]
    assert chart.spec["encoding"]["y"]["sort"] is None  # the caller's order, not the alphabet
    assert len(chart.spec["data"]["values"]) == len(chart.table.rows) == 3
    assert chart.description == (
        "Bar chart of true cost per year by member: 3 bars. Highest: King County, "
        "$1,234,567; lowest: Port of Seattle, $999.")


def test_the_svg_is_an_image_named_by_its_title_and_description() -> None:
    root = _tree(_cost_chart())
    assert root.tag == SVG_NS + "svg"
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "cost-title"
    assert root.get("aria-describedby") == "cost-desc"
    assert root.get("viewBox") and root.get("width") and root.get("height")
    title, desc = root[0], root[1]
    assert (title.tag, title.get("id"), title.text) == (
        SVG_NS + "title", "cost-title", "Annual true cost by member")
    assert desc.tag == SVG_NS + "desc" and desc.get("id") == "cost-desc"
    assert desc.text and desc.text.startswith("Bar chart of true cost")


def test_the_svg_carries_nothing_the_csp_refuses_and_text_in_the_pages_font() -> None:
    chart = _cost_chart()
    svg = str(chart.svg)
    assert "style" not in re.findall(r"\s([a-zA-Z:-]+)=", svg)
    assert "<style" not in svg and "<script" not in svg and "href" not in svg
    fonts = {t.get("font-family") for t in _tree(chart).iter(SVG_NS + "text")}
    assert fonts == {charts.FONT}


def test_billions_are_b_not_g_on_the_axis() -> None:
    chart = charts.bar([{"member": "State", "cost": 2.4e9}], id="big", title="Big",
                       category=MEMBER, value=COST)
    ticks = _texts(chart)
    assert "$2B" in ticks and not any("G" in t for t in ticks), ticks


def test_equal_names_stay_separate_bars() -> None:
    chart = _cost_chart([{"member": "Main Library", "cost": 10},
                         {"member": "Main Library", "cost": 20}, {"member": None, "cost": 5}])
    assert [r[0] for r in chart.table.rows] == ["Main Library", "Main Library (2)", "—"]
    assert {"Main Library", "Main Library (2)"} <= set(_texts(chart))


def test_details_are_table_columns_only() -> None:
    chart = charts.bar([{"use": "Office", "u": 45.2, "n": 12}], id="util", title="Utilization",
                       category=Field("use", "Use", "text"),
                       value=Field("u", "Average utilization", "percent"),
                       details=[Field("n", "Assets")])
    assert chart.table.rows == (("Office", "45%", "12"),)
    assert "12" not in _texts(chart)


def test_grouped_and_stacked_bars_pivot_their_table() -> None:
    rows = [{"member": m, "year": y, "cost": c}
            for m, y, c in [("County", "2024", 3.0), ("County", "2025", 5.0),
                            ("City", "2024", 2.0), ("City", "2025", 4.0)]]
    year = Field("year", "Year", "text")
    grouped = charts.bar(rows, id="g", title="G", category=MEMBER, value=COST, series=year)
    stacked = charts.bar(rows, id="s", title="S", category=MEMBER, value=COST, series=year,
                         stacked=True)
    for chart in (grouped, stacked):
        assert [c.header for c in chart.table.columns] == ["Member", "2024", "2025"]
        assert chart.table.rows == (("County", "$3", "$5"), ("City", "$2", "$4"))
        assert {"2024", "2025", "County", "City"} <= set(_texts(chart))  # legend and axis
    assert "yOffset" in grouped.spec["encoding"] and grouped.spec["encoding"]["x"]["stack"] is None
    assert "yOffset" not in stacked.spec["encoding"]
    assert grouped.description.startswith("Grouped bar chart") \
        and stacked.description.startswith("Stacked bar chart")


def test_a_number_field_refuses_text() -> None:
    with pytest.raises(ValueError, match="'cost'"):
        _cost_chart([{"member": "A", "cost": "12"}])


# ----------------------------------------------------------------------------- line, scatter


def test_line_chart_with_a_dashed_target() -> None:
    rows = [{"year": y, "series": s, "t": v} for y in (2019, 2020, 2021)
            for s, v in (("Actual", 100 + y % 3), ("Target", 120 - (y - 2019) * 10))]
    chart = charts.line(rows, id="trend", title="Emissions", x=Field("year", "Year", "year"),
                        y=Field("t", "Emissions", unit="t CO2e"),
                        series=Field("series", "Series", "text"), dashed=["Target"])
    root = _tree(chart)
    dashes = {p.get("stroke-dasharray") for p in root.iter(SVG_NS + "path")
              if p.get("stroke-dasharray")}
    assert "6,4" in dashes, dashes  # the target line (and its legend symbol)
    texts = _texts(chart)
    assert {"2019", "2020", "2021", "Actual", "Target", "Emissions (t CO2e)"} <= set(texts)
    assert "2,019" not in texts
    assert [c.header for c in chart.table.columns] == [
        "Year", "Actual (t CO2e)", "Target (t CO2e)"]
    assert chart.table.rows == (("2019", "100", "120"), ("2020", "101", "110"),
                                ("2021", "102", "100"))
    assert chart.description == (
        "Line chart of emissions by year, 2019 to 2021. Actual: 100 t CO2e to 102 t CO2e; "
        "Target (dashed): 120 t CO2e to 100 t CO2e.")


def test_line_chart_over_months_is_drawn_in_utc() -> None:
    rows = [{"month": date(2026, m, 1), "kwh": 1000.0 * m} for m in (1, 2, 3)]
    chart = charts.line(rows, id="months", title="Electricity",
                        x=Field("month", "Month", "month"), y=Field("kwh", "Use", unit="kWh"))
    assert chart.spec["encoding"]["x"]["timeUnit"] == "utcyearmonth"
    assert {"Jan 2026", "Feb 2026", "Mar 2026"} <= set(_texts(chart))
    assert chart.table.rows[0] == ("Jan 2026", "1,000")


def test_scatter_names_and_joins_the_highlighted_points() -> None:
    rows = [{"site": f"Site {i}", "cost": 1000.0 * i, "t": (9 - i) ** 2, "best": i % 4 == 0}
            for i in range(9)]
    chart = charts.scatter(rows, id="frontier", title="Sites", x=Field("cost", "Cost", "usd"),
                           y=Field("t", "Emissions", unit="t"),
                           label=Field("site", "Site", "text"),
                           highlight=Field("best", "On the frontier", "flag"), connect=True)
    texts = _texts(chart)
    assert {"Site 0", "Site 4", "Site 8"} <= set(texts) and "Site 1" not in texts
    assert len(chart.table.rows) == 9 and chart.table.rows[4] == ("Site 4", "$4,000", "25",
                                                                  "Yes")
    assert chart.description.endswith("9 points, 3 on the frontier.")


def test_a_plain_scatter_is_drawn_in_the_first_color() -> None:
    chart = charts.scatter([{"n": f"S{i}", "x": float(i), "y": float(i)} for i in range(5)],
                           id="plain", title="Plain", x=Field("x", "X"), y=Field("y", "Y"),
                           label=Field("n", "Name", "text"))
    symbols = [g for g in _tree(chart).iter(SVG_NS + "g")
               if "mark-symbol" in (g.get("class") or "")]
    fills = {p.get("fill") for g in symbols for p in g.iter(SVG_NS + "path")}
    assert fills == {charts.PALETTE[0]}
    assert "S1" not in _texts(chart)  # nothing highlighted, nothing named
    assert chart.description == "Scatter plot of Y against X: 5 points."


def test_acronyms_keep_their_capitals_in_the_description() -> None:
    chart = charts.bar([{"member": "County", "npv": 1.0}], id="npv", title="NPV",
                       category=MEMBER, value=Field("npv", "NPV", "usd"))
    assert chart.description.startswith("Bar chart of NPV by member: 1 bar.")


# ----------------------------------------------------------------------------- hostile text


def test_hostile_names_stay_text() -> None:
    chart = _cost_chart([{"member": name, "cost": 10.0 * (i + 1)}
                         for i, name in enumerate(HOSTILE)])
    root = _tree(chart)
    tags = {el.tag.removeprefix(SVG_NS) for el in root.iter()}
    assert tags <= charts._ELEMENTS | {"title", "desc"}, tags
    for el in root.iter():
        assert not [a for a in el.attrib if a.startswith("on") or a in ("style", "href")]
    texts = _texts(chart)
    for name in HOSTILE:
        assert name in texts or any(t.endswith("…") and name.startswith(t[:-1])
                                    for t in texts), name
    assert "&lt;/svg&gt;&lt;script&gt;" in str(chart.svg)
    desc = root[1].text or ""
    assert HOSTILE[0] in desc  # the summary names the top bar, as text


def test_clean_svg_keeps_only_the_allowlist() -> None:
    raw = ('<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'
           ' width="10" height="10" viewBox="0 0 10 10" onload="x()">'
           '<style>rect{fill:red}</style><script>alert(1)</script>'
           '<defs><clipPath id="clip1"><rect width="5" height="5"/></clipPath></defs>'
           '<g clip-path="url(#clip1)" style="mix-blend-mode: multiply" onclick="y()">'
           '<rect width="1" height="1" fill="url(https://evil.example/x.svg#a)"/>'
           '<rect width="1" height="1" fill="url(#nowhere)"/>'
           '<image href="https://evil.example/i.png" width="1" height="1"/>'
           '<a xlink:href="javascript:alert(2)"><text>link</text></a>'
           '<foreignObject><div xmlns="http://www.w3.org/1999/xhtml">x</div></foreignObject>'
           '<text x="1">a &lt;b&gt;<tspan>c</tspan> d</text></g></svg>')
    out = charts.clean_svg(raw, "c1")
    assert out == (
        '<svg xmlns="http://www.w3.org/2000/svg" class="gs-chart__svg" role="img" '
        'aria-labelledby="c1-title" aria-describedby="c1-desc" focusable="false" width="10" '
        'height="10" '
        'viewBox="0 0 10 10"><!--head--><defs><clipPath id="c1-clip1">'
        '<rect width="5" height="5"></rect></clipPath></defs><g clip-path="url(#c1-clip1)">'
        '<rect width="1" height="1"></rect><rect width="1" height="1"></rect>'
        '<text x="1">a &lt;b&gt;<tspan>c</tspan> d</text></g></svg>')


def test_clean_svg_refuses_what_is_not_a_plain_svg() -> None:
    with pytest.raises(charts.ChartError, match="document type"):
        charts.clean_svg('<!DOCTYPE svg [<!ENTITY a "b">]><svg/>', "x")
    with pytest.raises(charts.ChartError, match="not well formed"):
        charts.clean_svg("<svg", "x")
    with pytest.raises(charts.ChartError, match="not an SVG"):
        charts.clean_svg('<html xmlns="http://www.w3.org/1999/xhtml"/>', "x")


def test_ids_of_two_charts_do_not_collide() -> None:
    spec = {"data": {"values": [{"a": 1, "b": 2}]}, "mark": {"type": "point", "clip": True},
            "encoding": {"x": {"field": "a", "type": "quantitative"},
                         "y": {"field": "b", "type": "quantitative"}}}
    table = Table.of([{"a": 1, "b": 2}], [Field("a", "A"), Field("b", "B")])
    one = charts.from_spec(spec, id="one", title="One", description="d", table=table)
    two = charts.from_spec(spec, id="two", title="Two", description="d", table=table)
    ids_one = {el.get("id") for el in _tree(one).iter() if el.get("id")}
    ids_two = {el.get("id") for el in _tree(two).iter() if el.get("id")}
    assert ids_one and not ids_one & ids_two
    assert all(i.startswith("one-") for i in ids_one)
    assert "url(#one-" in str(one.svg) and "url(#two-" in str(two.svg)


# ----------------------------------------------------------------------------- raw specs


def test_a_raw_spec_is_cleaned_too() -> None:
    spec = {"data": {"values": [{"a": 1, "b": 2}, {"a": 2, "b": 3}]},
            "mark": {"type": "point", "blend": "multiply", "cursor": "pointer"},
            "encoding": {"x": {"field": "a", "type": "quantitative"},
                         "y": {"field": "b", "type": "quantitative"}}}
    chart = charts.from_spec(spec, id="raw", title="Raw", description="Two points.",
                             table=Table.of(spec["data"]["values"],  # type: ignore[index]
                                            [Field("a", "A"), Field("b", "B")]))
    assert chart.svg is not None and "style=" not in str(chart.svg)
    assert chart.table.rows == (("1", "2"), ("2", "3"))


def test_external_data_is_refused_and_the_page_keeps_its_table(
        caplog: pytest.LogCaptureFixture) -> None:
    spec = {"data": {"url": "https://example.com/data.json"}, "mark": "point"}
    table = Table.of([{"a": 1}], [Field("a", "A")])
    with caplog.at_level(logging.ERROR, logger="govshare.charts"):
        chart = charts.from_spec(spec, id="remote", title="Remote", description="d",
                                 table=table)
    assert chart.svg is None and chart.note.startswith("The chart could not be drawn")
    assert "External data url not allowed" in caplog.text


def test_too_many_values_are_a_table_not_a_drawing() -> None:
    rows = [{"member": f"M{i}", "cost": float(i)} for i in range(charts.MAX_POINTS + 1)]
    chart = _cost_chart(rows)
    assert chart.svg is None and "5,001; at most 5,000" in chart.note
    assert len(chart.table.rows) == charts.MAX_POINTS + 1


def test_chart_ids_are_checked() -> None:
    with pytest.raises(ValueError, match="chart id"):
        charts.bar([], id='x" onload="y', title="t", category=MEMBER, value=COST)


# ----------------------------------------------------------------------------- renderer


def test_the_same_chart_is_drawn_the_same_and_drawn_once() -> None:
    first = _cost_chart()
    charts._render.cache_clear()
    again = _cost_chart()
    assert first.svg == again.svg  # deterministic, not only cached
    hits = charts._render.cache_info().hits
    assert _cost_chart().svg == first.svg
    assert charts._render.cache_info().hits == hits + 1


def test_the_renderer_comes_back_after_its_process_dies() -> None:
    _cost_chart()
    proc = charts._RENDERER._proc
    assert proc is not None
    proc.kill()
    proc.wait()
    charts._render.cache_clear()
    assert _cost_chart().svg is not None
    assert charts._RENDERER._proc is not proc


def test_a_drawing_that_takes_too_long_is_abandoned(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    _cost_chart()  # the child is up; only the drawing can be slow now
    charts._render.cache_clear()
    proc = charts._RENDERER._proc
    assert proc is not None
    # A stopped child cannot answer, however quick its drawing and however late the parent
    # gets to wait (a zero timeout raced a fast drawing on a loaded machine).
    os.kill(proc.pid, signal.SIGSTOP)
    monkeypatch.setattr(charts, "RENDER_TIMEOUT_SECONDS", 0.2)
    with caplog.at_level(logging.ERROR, logger="govshare.charts"):
        chart = _cost_chart([{"member": "Slow", "cost": 1.0}])
    assert chart.svg is None and "no drawing within" in caplog.text
    assert charts._RENDERER._proc is None  # killed; the next chart starts a new one
    assert proc.wait(timeout=5) == -signal.SIGKILL
    monkeypatch.undo()
    assert _cost_chart([{"member": "Fast", "cost": 1.0}]).svg is not None


def test_series_colors_have_3_to_1_contrast_against_white() -> None:
    def luminance(color: str) -> float:
        rgb = [int(color[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    for color in (*charts.PALETTE, charts.MUTED):
        assert 1.05 / (luminance(color) + 0.05) >= 3.0, color
