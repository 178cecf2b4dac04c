"""Writers of tabular files — CSV, XLSX, GeoJSON — and the one spreadsheet-formula rule.

Spreadsheet formula injection
-----------------------------
Text that starts with ``= + - @``, tab or carriage return is *accepted and stored as text* (it
is a legitimate name, e.g. ``-Annex``, far more often than an attack). It is neutralized where
it could run: every CSV and XLSX this product writes (exports, public feeds, error reports)
prefixes such cells with an apostrophe (OWASP's advice). :func:`unneutralize` strips exactly
that prefix again when a file is read, so export -> import round-trips exactly; a value that
itself starts with an apostrophe before such a character is escaped with one more. Numbers
are written by us and stay numbers (a longitude of -122.3 is not a formula). GeoJSON is not
a spreadsheet format and is left as it is.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from enum import Enum
from typing import IO, Any

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def _needs_escape(text: str) -> bool:
    return text.lstrip("'").startswith(FORMULA_TRIGGERS)


def neutralize(text: str) -> str:
    """The cell as written to CSV/XLSX: an apostrophe before a formula-like start."""
    if text and (text.startswith(FORMULA_TRIGGERS) or (text[0] == "'" and _needs_escape(text))):
        return "'" + text
    return text


def unneutralize(text: str) -> str:
    """Inverse of :func:`neutralize` (applied to every text cell read)."""
    if text.startswith("'") and _needs_escape(text[1:]):
        return text[1:]
    return text


def export_cell(value: Any, *, spreadsheet: bool) -> Any:
    """A stored value as a file cell: None empty, lists joined with ``; `` (``none`` for the
    empty list), enums as their value, text neutralized for a spreadsheet, floats exact."""
    if value is None:
        return ""
    if isinstance(value, list):
        return "; ".join(value) if value else "none"
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, str):
        return neutralize(value) if spreadsheet else value
    if isinstance(value, float) and not spreadsheet:
        return repr(value)
    return value


def write_csv(columns: Sequence[str], rows: Iterable[Sequence[Any]], out: IO[str]) -> int:
    """CSV (RFC 4180, CRLF) with a header; text neutralized. Returns the rows written."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([neutralize(str(c)) for c in columns])
    n = 0
    for row in rows:
        writer.writerow([repr(v) if isinstance(v, float) else export_cell(v, spreadsheet=True)
                         for v in row])
        n += 1
    return n


def write_xlsx(columns: Sequence[str], rows: Iterable[Sequence[Any]], out: IO[bytes],
               *, sheet: str) -> int:
    """A write-only (streaming) workbook; numbers stay numbers, text is neutralized."""
    return write_xlsx_sheets([(sheet, columns, rows)], out)[0]


def write_xlsx_sheets(sheets: Sequence[tuple[str, Sequence[str], Iterable[Sequence[Any]]]],
                      out: IO[bytes]) -> list[int]:
    """One workbook of several sheets, each ``(name, columns, rows)``, written as
    :func:`write_xlsx` writes one. Returns the rows written per sheet."""
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    counts = []
    for name, columns, rows in sheets:
        ws = book.create_sheet(name)
        ws.append([neutralize(str(c)) for c in columns])
        n = 0
        for row in rows:
            ws.append([None if v is None else export_cell(v, spreadsheet=True) for v in row])
            n += 1
        counts.append(n)
    book.save(out)
    return counts


def feature(point: tuple[float, float] | None, properties: Mapping[str, Any],
            *, id: int | str | None = None) -> dict[str, Any]:
    """An RFC 7946 Feature: a Point from (lon, lat), or a null geometry without one."""
    out: dict[str, Any] = {"type": "Feature"}
    if id is not None:
        out["id"] = id
    out["geometry"] = (None if point is None or point[0] is None or point[1] is None
                       else {"type": "Point", "coordinates": [point[0], point[1]]})
    out["properties"] = {k: (v.value if isinstance(v, Enum) else v)
                         for k, v in properties.items()}
    return out


def geojson_chunks(features: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    """An RFC 7946 FeatureCollection, one feature per chunk (no ``crs`` member, §4)."""
    yield '{"type":"FeatureCollection","features":['
    first = True
    for f in features:
        yield ("" if first else ",") + "\n" + json.dumps(f, separators=(",", ":"),
                                                         ensure_ascii=False)
        first = False
    yield "\n]}\n"


def rows_as_features(columns: Sequence[str], rows: Iterable[Sequence[Any]], *,
                     lon: str = "lon", lat: str = "lat") -> Iterator[dict[str, Any]]:
    """Rows of a table as Features: Point from the lon/lat columns, the rest properties."""
    lon_i, lat_i = columns.index(lon), columns.index(lat)
    keep = [(i, c) for i, c in enumerate(columns) if i not in (lon_i, lat_i)]
    for row in rows:
        yield feature((row[lon_i], row[lat_i]), {c: row[i] for i, c in keep})
