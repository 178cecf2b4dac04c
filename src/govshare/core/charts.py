"""One chart path for every domain: Vega-Lite specs drawn to SVG on the server.

A page builds a chart from plain rows with :func:`bar`, :func:`line` or :func:`scatter` (or
hands a Vega-Lite spec of its own to :func:`from_spec`) and renders it with the
``web/_chart.html`` macro: the SVG inline (``role="img"``, named by its ``<title>`` and
described by a ``<desc>`` that summarizes the data), a caption, and the same figures as a
real table. It works without JavaScript, under the CSP, and in a PDF (WeasyPrint reads the
same HTML).

How a chart is drawn (docs/adr/0010-charts.md):

- ``vl-convert-python`` compiles the spec and draws it in its embedded V8. It holds the GIL
  for the whole conversion (40-140 ms measured), which would stall every thread of the web
  process, so it runs in one child process (:class:`_Renderer`); the parent waits on a pipe
  with the GIL released. External data URLs are refused; fonts come from local files only.
- What comes back is treated as untrusted markup: :func:`clean_svg` keeps an allowlist of
  elements and attributes (no ``style``, no event handlers, no links, no ``<image>``, no
  ``<foreignObject>``), prefixes every id with the chart's id (two charts on a page must not
  share ``clip1``), and writes the SVG anew with every text and attribute escaped.
- Renders are cached per process, keyed by the spec (data included) and the chart's id, so
  a page seen again with the same data costs no conversion.

Numbers are in US format: ``$1,234``, ``1,234.5 t`` in tables; ``$1.2M``, ``1.2k`` on axes.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
import re
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Literal

from markupsafe import Markup, escape

log = logging.getLogger("govshare.charts")

# --------------------------------------------------------------------------- limits and look

MAX_POINTS = 5_000  # marks one chart may draw; more is a table's job, not a picture's
RENDER_TIMEOUT_SECONDS = 30.0  # the first render also starts the child and its V8 (~1 s)
CACHE_ENTRIES = 128  # rendered SVGs kept per process (a few tens of kB each)
# Plot widths in px. The SVG scales down to its column (CSS max-width: 100%), so its text
# shrinks on a phone: narrow plots keep it legible there (14 px drawn, ~9 px on a phone).
WIDTH = 440
BAR_WIDTH = 300
LABEL_LIMIT = 180  # px of a category's name beside its bar; longer names end in "…"
BAR_STEP = 26  # px per bar (in a grouped bar chart: per bar of a group)
ID_PATTERN = re.compile(r"[a-z][a-z0-9-]{0,39}")
FONT = "Source Sans Pro Web, Source Sans Pro, Helvetica, Arial, sans-serif"
INK = "#1b1b1b"
# Colors of series, in order: the first is USWDS's primary blue; neighbors differ in hue, and
# each has at least 3:1 contrast against white (WCAG 1.4.11, non-text contrast; checked by
# tests/core/test_charts.py).
PALETTE = ("#005ea2", "#c05600", "#00756a", "#8b4a8c", "#b50909", "#8e704f", "#3d4eb8",
           "#00687d")
MUTED = "#71767a"  # points that are not highlighted (gray-50, 4.8:1)
SOLID, DASHED = (1, 0), (6, 4)

CONFIG: dict[str, Any] = {
    "font": FONT,
    "background": "white",
    "view": {"stroke": None},
    "axis": {"labelColor": INK, "titleColor": INK, "labelFontSize": 14, "titleFontSize": 14,
             "titleFontWeight": "normal", "gridColor": "#dfe1e2", "domainColor": MUTED,
             "tickColor": MUTED},
    "legend": {"labelColor": INK, "titleColor": INK, "labelFontSize": 14,
               "titleFontSize": 14, "titleFontWeight": "normal", "orient": "bottom",
               "direction": "horizontal", "labelLimit": LABEL_LIMIT},
    "text": {"fontSize": 14, "color": INK},
    "range": {"category": list(PALETTE)},
}

Kind = Literal["text", "number", "usd", "percent", "year", "month", "flag"]
_QUANTITATIVE = frozenset({"number", "usd", "percent", "year"})
# Axis labels, compact: d3-format in Vega expressions. SI "G" is a US billion ("B").
_AXIS_LABELS: dict[str, str] = {
    "usd": "abs(datum.value) < 1000 ? format(datum.value, '$,.0f')"
           " : replace(format(datum.value, '$.3~s'), 'G', 'B')",
    "number": "abs(datum.value) < 1000 ? format(datum.value, ',.2~f')"
              " : replace(format(datum.value, '.3~s'), 'G', 'B')",
    "percent": "format(datum.value, '.1~f') + '%'",
    "year": "format(datum.value, 'd')",
}


class ChartError(Exception):
    """A chart could not be drawn (bad spec, renderer failure or timeout)."""


# --------------------------------------------------------------------------- fields and tables


@dataclass(frozen=True)
class Field:
    """A column of the rows a chart is built from: its key in each row, what it is called on
    the axis and in the table, and how its values are written.

    ``kind``: ``text`` (a name), ``number``, ``usd`` (dollars, not cents), ``percent`` (0-100),
    ``year``, ``month`` (a ``date``/``datetime`` or ISO text in it; drawn in UTC), ``flag``
    (yes/no).
    ``unit`` (e.g. ``"t CO2e"``) follows the title in headers and axis titles.
    """

    key: str
    title: str
    kind: Kind = "number"
    unit: str = ""
    decimals: int = 0

    @property
    def header(self) -> str:
        return f"{self.title} ({self.unit})" if self.unit else self.title

    @property
    def numeric(self) -> bool:
        return self.kind in _QUANTITATIVE

    def format(self, value: Any) -> str:
        """The value as a table cell: ``$1,234``, ``1,234.5``, ``45%``, ``2026``, ``Jan 2026``,
    ``—``."""
        value = _plain(value)
        if value is None:
            return "—"
        if self.kind == "flag":
            return "Yes" if value else "No"
        if self.kind == "month":
            return f"{date.fromisoformat(str(value)[:10]):%b %Y}"
        if self.kind == "year":
            return str(int(value))
        if self.kind in ("number", "usd", "percent"):
            number = f"{abs(float(value)):,.{self.decimals}f}"
            sign = "-" if float(value) < 0 and float(number.replace(",", "")) != 0 else ""
            return {"usd": f"{sign}${number}", "percent": f"{sign}{number}%"}.get(
                self.kind, sign + number)
        return str(value)

    def say(self, value: Any) -> str:
        """The value in a sentence: the cell with its unit (``1,234 t CO2e``)."""
        text = self.format(value)
        return f"{text} {self.unit}" if self.unit and text != "—" else text


@dataclass(frozen=True)
class Column:
    header: str
    numeric: bool


@dataclass(frozen=True)
class Table:
    """The figures of a chart as the table beside it: formatted cells, the first of each row
    being its header."""

    columns: tuple[Column, ...]
    rows: tuple[tuple[str, ...], ...]

    @classmethod
    def of(cls, rows: Sequence[Mapping[str, Any]], fields: Sequence[Field]) -> Table:
        """One table row per data row, one column per field."""
        return cls(columns=tuple(Column(f.header, f.numeric) for f in fields),
                   rows=tuple(tuple(f.format(r.get(f.key)) for f in fields) for r in rows))


@dataclass(frozen=True)
class Chart:
    """What the ``web/_chart.html`` macro renders. ``svg`` is None when the chart could not be
    drawn; ``note`` then says why, and the table still holds every figure."""

    id: str
    title: str
    description: str
    table: Table
    spec: dict[str, Any] = field(repr=False)
    svg: Markup | None = None
    note: str = ""


# --------------------------------------------------------------------------- chart kinds


def bar(
    rows: Sequence[Mapping[str, Any]], *, id: str, title: str, category: Field, value: Field,
    series: Field | None = None, stacked: bool = False, details: Sequence[Field] = (),
    description: str | None = None,
) -> Chart:
    """Horizontal bars, one per row, in the order given (sort before), each labelled with its
    value. With ``series``: one bar per (category, series) row, grouped side by side, or
    ``stacked``; the table then has a column per series. ``details`` are further columns of
    the table (a count beside an average, say) that the chart does not draw."""
    names = [_name(r.get(category.key)) for r in rows]
    values = [_datum(value, r.get(value.key)) for r in rows]
    x: dict[str, Any] = {"field": "v", "type": "quantitative", "title": value.header,
                         "axis": _axis(value)}
    y: dict[str, Any] = {"field": "c", "type": "nominal", "sort": None, "title": None,
                         "axis": {"labelLimit": LABEL_LIMIT}}
    if series is None:
        names = _unique(names)
        data = [{"c": n, "v": v, "t": value.format(v)}
                for n, v in zip(names, values, strict=True)]
        spec: dict[str, Any] = {
            "height": {"step": BAR_STEP},
            "encoding": {"y": y, "x": x},
            "layer": [{"mark": {"type": "bar", "color": PALETTE[0]}},
                      {"mark": {"type": "text", "align": "left", "baseline": "middle", "dx": 4},
                       "encoding": {"text": {"field": "t"}}}],
        }
        table_rows = [{**r, category.key: n} for r, n in zip(rows, names, strict=True)]
        table = Table.of(table_rows, [category, value, *details])
        top = max((d for d in data if d["v"] is not None), key=lambda d: d["v"], default=None)
        low = min((d for d in data if d["v"] is not None), key=lambda d: d["v"], default=None)
        summary = (f"Bar chart of {_phrase(value.title)} by {_phrase(category.title)}: "
                   f"{_count(len(data), 'bar')}." + (
                       f" Highest: {top['c']}, {value.say(top['v'])}; lowest: {low['c']}, "
                       f"{value.say(low['v'])}." if top and low and len(data) > 1 else ""))
    else:
        labels = [_name(r.get(series.key)) for r in rows]
        order = list(dict.fromkeys(labels))
        data = [{"c": n, "s": s, "v": v} for n, s, v in zip(names, labels, values, strict=True)]
        color = {"field": "s", "type": "nominal", "title": series.title,
                 "scale": {"domain": order, "range": _colors(len(order))},
                 "sort": order}
        encoding: dict[str, Any] = {"y": y, "x": x, "color": color}
        if not stacked:
            x["stack"] = None
            encoding["yOffset"] = {"field": "s", "type": "nominal", "sort": order}
        spec = {"height": {"step": BAR_STEP}, "mark": {"type": "bar"}, "encoding": encoding}
        table = _pivot(data, category, value, order)
        summary = (f"{'Stacked' if stacked else 'Grouped'} bar chart of "
                   f"{_phrase(value.title)} by {_phrase(category.title)} "
                   f"({len(dict.fromkeys(names))}) and {_phrase(series.title)} "
                   f"({', '.join(order)}).")
    spec["data"] = {"values": data}
    spec["width"] = BAR_WIDTH
    return _chart(id, title, description or summary, spec, table, len(data))


def line(
    rows: Sequence[Mapping[str, Any]], *, id: str, title: str, x: Field, y: Field,
    series: Field | None = None, dashed: Iterable[str] = (), description: str | None = None,
) -> Chart:
    """Lines with a point at each value, one per series (in order of first appearance).
    Series named in ``dashed`` (a target, a plan) are drawn dashed, in the legend too. ``x``
    is a ``year`` or a number (a linear axis), a ``month`` (a time axis, in UTC) or ``text``
    (categories in the order given)."""
    labels = [_name(r.get(series.key)) if series else y.title for r in rows]
    order = list(dict.fromkeys(labels))
    dash = set(dashed)
    data = [{"x": _datum(x, r.get(x.key)), "y": _datum(y, r.get(y.key)), "s": s}
            for r, s in zip(rows, labels, strict=True)]
    x_enc: dict[str, Any] = {"field": "x", "title": x.header}
    if x.kind == "month":
        x_enc.update(type="temporal", timeUnit="utcyearmonth",
                     axis={"format": "%b %Y", "labelOverlap": True})
    elif x.numeric:
        x_enc.update(type="quantitative", scale={"zero": False}, axis=_axis(x))
        if x.kind == "year":
            x_enc["axis"]["tickMinStep"] = 1
    else:
        x_enc.update(type="ordinal", sort=None)
    encoding: dict[str, Any] = {
        "x": x_enc,
        "y": {"field": "y", "type": "quantitative", "title": y.header, "axis": _axis(y)},
        "color": {"field": "s", "type": "nominal", "title": series.title if series else None,
                  "sort": order, "scale": {"domain": order, "range": _colors(len(order))},
                  "legend": {"symbolType": "stroke", "symbolStrokeWidth": 2} if series
                  else None},
        "strokeDash": {"field": "s", "type": "nominal", "sort": order,
                       "title": series.title if series else None,
                       "scale": {"domain": order,
                                 "range": [list(DASHED if s in dash else SOLID) for s in order]},
                       **({} if series else {"legend": None})},
    }
    spec = {"width": WIDTH, "height": 260, "data": {"values": data},
            "mark": {"type": "line", "point": True}, "encoding": encoding}
    table = _pivot([{"c": d["x"], "s": d["s"], "v": d["y"]} for d in data], x, y, order)
    spans = []
    for s in order:
        points = [d for d in data if d["s"] == s and d["y"] is not None]
        if points:
            spans.append(f"{s}{' (dashed)' if s in dash else ''}: {y.say(points[0]['y'])} "
                         f"to {y.say(points[-1]['y'])}")
    xs = [d["x"] for d in data if d["x"] is not None]
    summary = (f"Line chart of {_phrase(y.title)} by {_phrase(x.title)}"
               + (f", {x.format(xs[0])} to {x.format(xs[-1])}" if xs else "") + ". "
               + "; ".join(spans) + ("." if spans else ""))
    return _chart(id, title, description or summary, spec, table, len(data))


def scatter(
    rows: Sequence[Mapping[str, Any]], *, id: str, title: str, x: Field, y: Field,
    label: Field, highlight: Field | None = None, connect: bool = False,
    description: str | None = None,
) -> Chart:
    """Points of ``y`` against ``x``. Rows whose ``highlight`` (a ``flag`` field) is true are
    drawn larger, in color and named; ``connect`` joins them in order of ``x`` (a Pareto
    frontier). Every point is in the table."""
    data = [{"x": _datum(x, r.get(x.key)), "y": _datum(y, r.get(y.key)),
             "l": _name(r.get(label.key)),
             "h": bool(highlight and r.get(highlight.key))} for r in rows]
    names = [highlight.title if highlight else "", "Other"]
    colors = [PALETTE[1], MUTED if highlight else PALETTE[0]]
    group = {"field": "g", "type": "nominal", "title": None, "sort": names}
    for d in data:
        d["g"] = names[0] if d["h"] else names[1]
    axis_x = {"field": "x", "type": "quantitative", "title": x.header, "axis": _axis(x),
              "scale": {"zero": False}}
    axis_y = {"field": "y", "type": "quantitative", "title": y.header, "axis": _axis(y),
              "scale": {"zero": False}}
    points: dict[str, Any] = {
        "mark": {"type": "point", "filled": True},
        "encoding": {"x": axis_x, "y": axis_y,
                     "color": {**group, "scale": {"domain": names, "range": colors},
                               **({} if highlight else {"legend": None})},
                     "size": {**group, "scale": {"domain": names, "range": [90, 40]},
                              "legend": None}}}
    layers: list[dict[str, Any]] = []
    only_highlighted = [{"filter": {"field": "h", "equal": True}}]
    if highlight and connect:
        layers.append({"transform": only_highlighted,
                       "mark": {"type": "line", "color": PALETTE[1]},
                       "encoding": {"x": axis_x, "y": axis_y, "order": {"field": "x"}}})
    layers.append(points)
    if highlight:
        layers.append({"transform": only_highlighted,
                       "mark": {"type": "text", "align": "left", "dx": 7, "dy": -7},
                       "encoding": {"x": axis_x, "y": axis_y, "text": {"field": "l"}}})
    spec = {"width": WIDTH, "height": 300, "data": {"values": data}, "layer": layers}
    fields = [label, x, y, *([highlight] if highlight else [])]
    table = Table.of([{label.key: d["l"], x.key: d["x"], y.key: d["y"],
                       **({highlight.key: d["h"]} if highlight else {})} for d in data], fields)
    chosen = f", {sum(d['h'] for d in data)} {_phrase(highlight.title)}" if highlight else ""
    summary = (f"Scatter plot of {_phrase(y.title)} against {_phrase(x.title)}: "
               f"{_count(len(data), 'point')}{chosen}.")
    return _chart(id, title, description or summary, spec, table, len(data))


def from_spec(spec: Mapping[str, Any], *, id: str, title: str, description: str,
              table: Table) -> Chart:
    """Any Vega-Lite spec, for what the kinds above do not draw. It goes through the same
    renderer and the same cleaning; inline data only (external URLs are refused). The
    caller supplies the table of its figures (:meth:`Table.of`): no chart without one."""
    values = spec.get("data", {}).get("values", []) if isinstance(spec.get("data"), dict) else []
    return _chart(id, title, description, dict(spec), table, len(values))


# --------------------------------------------------------------------------- building blocks


def _plain(value: Any) -> Any:
    """A value JSON can carry: finite numbers, text, booleans, ISO dates; else None."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, int | float | Decimal):
        number = float(value)
        return number if math.isfinite(number) else None
    return str(value)


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _phrase(title: str) -> str:
    """A title inside a sentence: "True cost" -> "true cost"; "NPV", "CO2e" stay."""
    return title[:1].lower() + title[1:] if title[1:2].islower() else title


def _name(value: Any) -> str:
    value = _plain(value)
    return "—" if value is None or value == "" else str(value)


def _datum(f: Field, value: Any) -> Any:
    """A value of a drawn field: a number (or None) for a numeric field."""
    value = _plain(value)
    if f.kind in _QUANTITATIVE and not isinstance(value, float | type(None)):
        raise ValueError(f"chart field {f.key!r}: {value!r} is not a number")
    return value


def _axis(f: Field) -> dict[str, Any]:
    expr = _AXIS_LABELS.get(f.kind)
    return {"labelExpr": expr, "labelOverlap": True} if expr else {}


def _colors(n: int) -> list[str]:
    return [PALETTE[i % len(PALETTE)] for i in range(n)]


def _unique(names: list[str]) -> list[str]:
    """Names made distinct ("Main Library", "Main Library (2)"): a chart's categories are its
    scale's domain, where two equal names would fall into one bar."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out


def _pivot(data: list[dict[str, Any]], row: Field, value: Field, series: list[str]) -> Table:
    """A long table (row, series, value) as a wide one: a row per category, a column per
    series."""
    cells: dict[Any, dict[str, Any]] = {}
    for d in data:
        cells.setdefault(d["c"], {})[d["s"]] = d["v"]
    unit = f" ({value.unit})" if value.unit else ""
    return Table(
        columns=(Column(row.header, row.numeric),
                 *(Column(s + unit, True) for s in series)),
        rows=tuple((row.format(c), *(value.format(v.get(s)) for s in series))
                   for c, v in cells.items()))


def _chart(id: str, title: str, description: str, spec: dict[str, Any], table: Table,
           marks: int) -> Chart:
    if not ID_PATTERN.fullmatch(id):
        raise ValueError(f"chart id {id!r}: lower-case letters, digits and '-', "
                         f"starting with a letter, at most 40")
    spec = {**spec, "config": {**CONFIG, **spec.get("config", {})}}
    chart = Chart(id=id, title=title, description=description, table=table, spec=spec)
    if marks > MAX_POINTS:
        return _replace(chart, note=f"Too many values to draw ({marks:,}; at most "
                                    f"{MAX_POINTS:,}). The figures are in the table.")
    try:
        raw = _render(json.dumps(spec, sort_keys=True, separators=(",", ":"),
                                 allow_nan=False), id)
    except ChartError:
        log.exception("chart not drawn", extra={"chart": id})
        return _replace(chart, note="The chart could not be drawn. The figures are in the "
                                    "table.")
    return _replace(chart, svg=_wrap(raw, chart))


def _replace(chart: Chart, **changes: Any) -> Chart:
    return Chart(**{**chart.__dict__, **changes})


def _wrap(cleaned: str, chart: Chart) -> Markup:
    """The cleaned drawing inside the chart's own ``<svg>``: an image named by its title and
    described by its summary."""
    return Markup(cleaned.replace(  # noqa: S704 - every part is escaped (clean_svg, escape)
        "<!--head-->",
        f'<title id="{chart.id}-title">{escape(chart.title)}</title>'
        f'<desc id="{chart.id}-desc">{escape(chart.description)}</desc>', 1))


# --------------------------------------------------------------------------- cleaning

_ELEMENTS = frozenset({
    "svg", "g", "path", "rect", "line", "circle", "ellipse", "polyline", "polygon", "text",
    "tspan", "defs", "clipPath", "linearGradient", "radialGradient", "stop"})
_ATTRIBUTES = frozenset({
    "id", "class", "d", "x", "y", "x1", "x2", "y1", "y2", "cx", "cy", "r", "rx", "ry", "dx",
    "dy", "fx", "fy", "width", "height", "points", "transform", "viewBox", "fill",
    "fill-opacity", "fill-rule", "stroke", "stroke-width", "stroke-opacity",
    "stroke-dasharray", "stroke-dashoffset", "stroke-linecap", "stroke-linejoin",
    "stroke-miterlimit", "opacity", "font-family", "font-size", "font-weight", "font-style",
    "font-variant", "text-anchor", "dominant-baseline", "alignment-baseline", "letter-spacing",
    "clip-path", "offset", "stop-color", "stop-opacity", "gradientUnits", "gradientTransform",
    "display", "visibility", "pointer-events", "shape-rendering", "text-rendering",
    "preserveAspectRatio", "textLength", "lengthAdjust"})
_REFERENCE = re.compile(r"url\(#([A-Za-z0-9_.-]+)\)")
_SVG = "{http://www.w3.org/2000/svg}"


def clean_svg(raw: str, id: str) -> str:
    """The renderer's SVG kept to what a chart needs, written anew.

    Only the allowlisted elements and attributes survive (so nothing can run a script, load
    a resource or carry a ``style`` the CSP would refuse); references are ``url(#id)`` to an
    id of this drawing, which is prefixed with ``id``; every text and value is escaped.
    The root keeps its size and ``viewBox`` and gets ``role="img"``, its labels, and a
    ``<!--head-->`` marker where :func:`_wrap` puts the title and description."""
    if "<!DOCTYPE" in raw or "<!ENTITY" in raw:
        raise ChartError("the renderer's SVG declares a document type")
    try:
        root = ET.fromstring(raw)  # noqa: S314 - no DTD (refused above), so no entities
    except ET.ParseError as exc:
        raise ChartError(f"the renderer's SVG is not well formed: {exc}") from exc
    if root.tag != _SVG + "svg":
        raise ChartError("the renderer's output is not an SVG")
    ids = {el.get("id") for el in root.iter() if el.get("id")}
    out: list[str] = []

    def attribute(name: str, value: str) -> str | None:
        if name == "id":
            return f"{id}-{value}"
        if "url(" in value:
            refs = _REFERENCE.findall(value)
            if not refs or any(r not in ids for r in refs) or value.count("url(") != len(refs):
                return None
            return _REFERENCE.sub(lambda m: f"url(#{id}-{m.group(1)})", value)
        return value

    def write(el: ET.Element, top: bool) -> None:
        tag = el.tag.removeprefix(_SVG)
        if tag not in _ELEMENTS or (tag == "svg" and not top):
            return
        attrs = []
        for name, value in el.attrib.items():
            if name not in _ATTRIBUTES or (top and name in ("id", "class")):
                continue
            kept = attribute(name, value)
            if kept is not None:
                attrs.append(f' {name}="{escape(kept)}"')
        if top:
            attrs[:0] = [' xmlns="http://www.w3.org/2000/svg"', ' class="gs-chart__svg"',
                         ' role="img"', f' aria-labelledby="{id}-title"',
                         f' aria-describedby="{id}-desc"', ' focusable="false"']
        out.append(f"<{tag}{''.join(attrs)}>")
        if top:
            out.append("<!--head-->")
        if el.text and tag in ("text", "tspan"):
            out.append(str(escape(el.text)))
        for child in el:
            write(child, False)
            if child.tail and tag in ("text", "tspan"):
                out.append(str(escape(child.tail)))
        out.append(f"</{tag}>")

    write(root, True)
    return "".join(out)


# --------------------------------------------------------------------------- rendering

_fonts: tuple[str, ...] = ()


def use_fonts(*directories: Path) -> None:
    """Font files the renderer measures and names text with (the web app passes USWDS's
    Source Sans Pro, the font of the pages). Without them it uses the system's sans-serif."""
    global _fonts
    found = tuple(str(d) for d in directories if d.is_dir())
    if found != _fonts:
        _fonts = found
        _RENDERER.stop()
        _render.cache_clear()


@functools.lru_cache(maxsize=CACHE_ENTRIES)
def _render(spec_json: str, id: str) -> str:
    return clean_svg(_RENDERER.svg(spec_json), id)


def serve(requests: int, answers: int, fonts: Sequence[str]) -> None:
    """The child process: draw each spec read from ``requests`` (a file descriptor) and
    answer on ``answers``, until the parent closes its end."""
    import vl_convert

    for directory in fonts:
        vl_convert.register_font_directory(directory)
    inbox, outbox = Connection(requests, writable=False), Connection(answers, readable=False)
    while True:
        try:
            spec = inbox.recv_bytes().decode()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        try:
            svg = vl_convert.vegalite_to_svg(
                spec, allowed_base_urls=[], format_locale="en-US", time_format_locale="en-US")
            answer = {"svg": str(svg)}
        except Exception as exc:
            answer = {"error": f"{type(exc).__name__}: {str(exc)[:500]}"}
        outbox.send_bytes(json.dumps(answer).encode())


class _Renderer:
    """vl-convert in one child process (a fresh interpreter: never a fork of a process that
    has threads), started on first use and again after a failure. One drawing at a time; a
    drawing that outlasts the timeout kills the child."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._send: Connection | None = None
        self._recv: Connection | None = None

    def svg(self, spec_json: str) -> str:
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._start()
            assert self._send is not None and self._recv is not None
            try:
                self._send.send_bytes(spec_json.encode())
                if not self._recv.poll(RENDER_TIMEOUT_SECONDS):
                    raise ChartError(f"no drawing within {RENDER_TIMEOUT_SECONDS:.0f} s")
                answer = json.loads(self._recv.recv_bytes())
            except (EOFError, OSError, ChartError) as exc:
                self._stop()
                raise ChartError(f"the chart renderer failed: {exc}") from exc
        if "error" in answer:
            raise ChartError(answer["error"])
        return str(answer["svg"])

    def stop(self) -> None:
        with self._lock:
            self._stop()

    def _start(self) -> None:
        self._stop()
        child_reads, parent_writes = os.pipe()
        parent_reads, child_writes = os.pipe()
        code = (f"from govshare.core.charts import serve; "
                f"serve({child_reads}, {child_writes}, {list(_fonts)!r})")
        try:
            # Its own session: a Ctrl-C meant for the server does not reach it; it ends when
            # the parent's end of the pipe closes, however the parent ends.
            self._proc = subprocess.Popen(  # noqa: S603 - this interpreter, our own module
                [sys.executable, "-c", code], pass_fds=(child_reads, child_writes),
                stdin=subprocess.DEVNULL, start_new_session=True)
        finally:
            os.close(child_reads)
            os.close(child_writes)
        self._send = Connection(parent_writes, readable=False)
        self._recv = Connection(parent_reads, writable=False)

    def _stop(self) -> None:
        for conn in (self._send, self._recv):
            if conn is not None:
                conn.close()
        self._send = self._recv = None
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait(5)
            self._proc = None


_RENDERER = _Renderer()
