"""Asset files in and out: streaming readers (CSV, XLSX, GeoJSON) and exporters. Pure: no
database, no clock; the importer (``imports``) drives it, with the column presets and row
checks of ``presets``.

Reading
-------
Every reader yields rows one at a time, so a file larger than memory streams through:

- CSV must be UTF-8 (a byte-order mark is fine). UTF-16/32 files and bytes that are not UTF-8
  are *refused*, never guessed: a wrong guess (Latin-1 for Windows-1252, say) silently
  corrupts names, and the user can re-save as "CSV UTF-8" in one step. An undecodable row is
  reported with its row number and column, the bad bytes shown as ``\\xNN``.
- XLSX is read with openpyxl in read-only mode (rows stream from the zip), first sheet or the
  sheet named ``assets``; cached values of formulas are read, never the formulas.
- GeoJSON must be a FeatureCollection; features are decoded one by one from the stream (no
  third-party streaming parser needed). Location comes only from a ``Point`` geometry (or a
  null geometry for an asset without one); any other geometry type is a row error, and a
  building footprint goes in the ``footprint_geojson`` property instead. Columns are the
  first feature's properties; a later feature with a property the first lacks is a row error.

Row numbers are the ones the user sees: in CSV and XLSX the header is row 1 and the first data
row is row 2 (a quoted multi-line cell is one row, a blank line is a row); in GeoJSON the
"row" is the feature's position in ``features``, counting from 1.

Spreadsheet formula injection
-----------------------------
Text that starts with ``= + - @``, tab or carriage return is *accepted and stored as text* (it
is a legitimate name, e.g. ``-Annex``, far more often than an attack). It is neutralised where
it could run: CSV and XLSX exports prefix such cells with an apostrophe (OWASP's advice). The
importer strips exactly that prefix again, so export -> import round-trips exactly; a value
that itself starts with an apostrophe before such a character is escaped with one more.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import math
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import Enum
from typing import IO, Any, BinaryIO

from govshare.property.schemas import AssetIn

FORMATS = ("csv", "xlsx", "geojson")
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "geojson": "application/geo+json",
}
FIELDS: tuple[str, ...] = tuple(AssetIn.model_fields)
GEOMETRY = "geometry"  # the virtual column of a GeoJSON feature's Point
JURISDICTION_COLUMN = "jurisdiction"
EXPORT_COLUMNS: tuple[str, ...] = (JURISDICTION_COLUMN, *FIELDS)
MAX_CELL = 10_000  # characters shown of a bad value in a report

# ------------------------------------------------------------------------------- problems


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem: the row as the user sees it (None: the whole file), the column, the
    offending value as text, and the reason in words."""

    row: int | None
    column: str
    value: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        loc: list[Any] = [f"row {self.row}"] if self.row is not None else ["file"]
        if self.column:
            loc.append(self.column)
        return {"row": self.row, "column": self.column, "value": self.value,
                "reason": self.reason, "loc": loc}


class CellError(ValueError):
    """Raised by a converter; the caller adds row, column and value."""


class FileRefused(Exception):
    """The file cannot be read at all (wrong format, encoding, empty)."""

    def __init__(self, reason: str, *, row: int | None = None, column: str = "",
                 value: str = "") -> None:
        super().__init__(reason)
        self.error = RowError(row, column, value, reason)


def shown(value: Any) -> str:
    """A cell as text for a report, bad bytes visible as \\xNN, cut to MAX_CELL."""
    if value is None:
        return ""
    if isinstance(value, tuple):
        return ", ".join(shown(v) for v in value)
    text = value if isinstance(value, str) else str(value)
    if any("\udc80" <= ch <= "\udcff" for ch in text):
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return text if len(text) <= MAX_CELL else text[:MAX_CELL] + "…"

def header_key(text: str) -> str:
    """A column name compared case- and spacing-blind (a BOM glued to it is dropped)."""
    return " ".join(str(text).replace("\ufeff", "").split()).casefold()


# ------------------------------------------------------------------- formula neutralisation

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def _needs_escape(text: str) -> bool:
    while text.startswith("'"):
        text = text[1:]
    return text.startswith(FORMULA_TRIGGERS)


def neutralise(text: str) -> str:
    """The cell as written to CSV/XLSX: an apostrophe before a formula-like start."""
    if text and (text[0] in "=+-@\t\r" or (text[0] == "'" and _needs_escape(text))):
        return "'" + text
    return text


def unneutralise(text: str) -> str:
    """Inverse of :func:`neutralise` (applied to every text cell read)."""
    if text.startswith("'") and _needs_escape(text[1:]):
        return text[1:]
    return text

# --------------------------------------------------------------------------------- readers

# (row number, cells, problems the reader found). ``cells`` is None for a problem that is not
# a row (the file breaks off after some rows): the importer reports it and reads on.
RawRow = tuple[int, list[Any] | None, list[RowError]]


class Counted(io.RawIOBase):
    """A read-only view of a binary stream that counts the bytes read (for progress)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.stream.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.count += n
        return n


@dataclass
class Table:
    fmt: str
    columns: list[str]
    rows: Iterator[RawRow]
    counter: Counted | None = None  # bytes read so far (CSV, GeoJSON), for progress

    @property
    def bytes_read(self) -> int | None:
        return self.counter.count if self.counter is not None else None


def detect_format(filename: str | None, head: bytes) -> str:
    """By content first (a ZIP is XLSX, a leading ``{`` is JSON), else by extension."""
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"{"):
        return "geojson"
    suffix = (filename or "").rsplit(".", 1)[-1].casefold() if "." in (filename or "") else ""
    if suffix in ("xlsx", "xlsm"):
        return "xlsx"
    if suffix in ("geojson", "json"):
        return "geojson"
    return "csv"


def open_table(stream: BinaryIO, fmt: str) -> Table:
    """The file's columns and a lazy iterator of its rows. XLSX needs a seekable stream."""
    if fmt == "xlsx":
        return _xlsx_table(stream)
    if fmt not in FORMATS:
        raise FileRefused(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    counter = Counted(stream)
    buffered = io.BufferedReader(counter, 1 << 16)
    table = _csv_table(buffered) if fmt == "csv" else _geojson_table(buffered)
    table.counter = counter
    return table


def _check_text_head(head: bytes) -> None:
    if not head.strip(b"\xef\xbb\xbf \t\r\n"):
        raise FileRefused("the file is empty")
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise FileRefused("the file is UTF-32 text; save it as UTF-8 (\"CSV UTF-8\")")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise FileRefused("the file is UTF-16 text; save it as UTF-8 (\"CSV UTF-8\")")
    if b"\x00" in head:
        raise FileRefused("the file contains NUL bytes: it is UTF-16 text without a "
                          "byte-order mark, or not a text file; save it as UTF-8 CSV")
    if head.startswith(b"PK\x03\x04"):
        raise FileRefused("the file is a ZIP archive (an XLSX workbook?), not CSV text")


def _lines(stream: IO[bytes], bad: list[str]) -> Iterator[str]:
    """Decoded lines; a line that is not UTF-8 decodes with surrogate escapes and notes why."""
    first = True
    for raw in stream:
        if first:
            raw = raw.removeprefix(codecs.BOM_UTF8)
            first = False
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            byte = raw[exc.start]
            bad.append(f"invalid UTF-8 byte 0x{byte:02X}; the file is not UTF-8 (it looks "
                       "like Latin-1 or Windows-1252): save it as UTF-8 (\"CSV UTF-8\")")
            yield raw.decode("utf-8", "surrogateescape")


def _csv_table(buffered: io.BufferedReader) -> Table:
    _check_text_head(buffered.peek(4096)[:4096])
    bad: list[str] = []
    reader = csv.reader(_lines(buffered, bad), strict=False)
    try:
        header = next(reader)
    except csv.Error as exc:
        raise FileRefused(f"the header row is not CSV ({exc})", row=1) from None
    except StopIteration:
        raise FileRefused("the file is empty") from None
    if bad:
        raise FileRefused(bad[0], row=1, value=shown(",".join(header)))
    columns = [c.strip() for c in header]
    _check_header(columns)
    width = len(columns)

    def rows() -> Iterator[RawRow]:
        number = 1
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                number += 1
                yield number, None, [RowError(number, "", "", f"not CSV ({exc})")]
                continue
            number += 1
            problems: list[RowError] = []
            if bad:
                col = next((columns[i] if i < width else f"column {i + 1}"
                            for i, c in enumerate(cells)
                            if any("\udc80" <= ch <= "\udcff" for ch in c)), "")
                value = next((c for c in cells if any("\udc80" <= ch <= "\udcff" for ch in c)),
                             "")
                problems.append(RowError(number, col, shown(value), bad[0]))
                bad.clear()
            if len(cells) != width:
                if not cells:
                    continue  # a blank line: counted, not a row
                if len(cells) < width:
                    cells += [""] * (width - len(cells))
                elif any(c.strip() for c in cells[width:]):
                    problems.append(RowError(number, f"column {width + 1}", shown(cells[width]),
                                             f"the row has {len(cells)} cells but the header "
                                             f"has {width} columns"))
                    cells = cells[:width]
                else:
                    cells = cells[:width]
            yield number, cells, problems

    return Table("csv", columns, rows())


def _check_header(columns: list[str]) -> None:
    seen: dict[str, int] = {}
    for i, c in enumerate(columns):
        k = header_key(c)
        if not k:
            continue
        if k in seen:
            raise FileRefused(f"column {c!r} appears twice (columns {seen[k] + 1} and {i + 1})",
                              row=1, column=c)
        seen[k] = i


def xlsx_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


def _xlsx_table(stream: BinaryIO) -> Table:
    import openpyxl  # noqa: PLC0415 - only XLSX needs it (heavy import)
    from openpyxl.utils.exceptions import InvalidFileException  # noqa: PLC0415

    head = stream.read(4)
    stream.seek(0)
    if not head:
        raise FileRefused("the file is empty")
    if head != b"PK\x03\x04":
        raise FileRefused("the file is not an XLSX workbook (not a ZIP archive); save it from "
                          "the spreadsheet as .xlsx, or upload CSV")
    try:
        book = openpyxl.load_workbook(stream, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise FileRefused(f"the file is not a readable XLSX workbook ({exc})") from None
    sheet = book["assets"] if "assets" in book.sheetnames else book.worksheets[0]
    it = sheet.iter_rows(min_row=1, values_only=True)
    try:
        header = next(it)
    except StopIteration:
        raise FileRefused("the workbook's first sheet is empty") from None
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise FileRefused(f"the workbook is damaged ({exc})") from None
    columns = [xlsx_cell(v).strip() for v in header]
    while columns and not columns[-1]:
        columns.pop()
    if not columns:
        raise FileRefused("the first row of the sheet is empty: put the column names there",
                          row=1)
    _check_header(columns)
    width = len(columns)

    def rows() -> Iterator[RawRow]:
        number = 1
        try:
            for values in it:
                number += 1
                cells = [xlsx_cell(v) for v in values[:width]]
                if len(cells) < width:
                    cells += [""] * (width - len(cells))
                problems = []
                extra = [v for v in values[width:] if v not in (None, "")]
                if extra:
                    problems.append(RowError(number, f"column {width + 1}", shown(extra[0]),
                                             "a value in a column without a header"))
                if not any(cells) and not problems:
                    continue
                yield number, cells, problems
        finally:
            book.close()

    return Table("xlsx", columns, rows())

# --------------------------------------------------------------------------- GeoJSON stream


class _JsonStream:
    """Just enough of an incremental JSON reader to walk a FeatureCollection's ``features``
    array one element at a time, whatever the file's size."""

    CHUNK = 1 << 16
    _ws = re.compile(r"[ \t\r\n]*")

    def __init__(self, text: IO[str]) -> None:
        self.text = text
        self.buf = ""
        self.pos = 0
        self.eof = False
        self.decoder = json.JSONDecoder()

    def _more(self, need: int = CHUNK) -> bool:
        if self.eof:
            return False
        chunk = self.text.read(max(need, self.CHUNK))
        if not chunk:
            self.eof = True
            return False
        self.buf = self.buf[self.pos:] + chunk
        self.pos = 0
        return True

    def peek(self) -> str:
        while True:
            m = self._ws.match(self.buf, self.pos)
            self.pos = m.end() if m else self.pos
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._more():
                return ""

    def expect(self, ch: str) -> None:
        got = self.peek()
        if got != ch:
            raise FileRefused(f"the file is not valid GeoJSON: expected {ch!r}, found "
                              f"{got or 'the end of the file'!r}")
        self.pos += 1

    def value(self) -> Any:
        self.peek()
        need = self.CHUNK
        while True:
            try:
                obj, end = self.decoder.raw_decode(self.buf, self.pos)
                # A number at the very end of the buffer may continue in the next chunk.
                if end >= len(self.buf) and not self.eof and self._more(need):
                    continue
                self.pos = end
                return obj
            except json.JSONDecodeError as exc:
                if self._more(need):
                    need *= 2
                    continue
                raise FileRefused(f"the file is not valid JSON ({exc.msg})") from None


def _geojson_table(buffered: io.BufferedReader) -> Table:
    _check_text_head(buffered.peek(4096)[:4096])
    text = io.TextIOWrapper(buffered, encoding="utf-8-sig", errors="strict")
    js = _JsonStream(text)
    try:
        js.expect("{")
        kind = None
        while True:
            if js.peek() == "}":
                raise FileRefused("the file is not a GeoJSON FeatureCollection (no "
                                  "\"features\" array)")
            key = js.value()
            js.expect(":")
            if key == "features":
                js.expect("[")
                break
            val = js.value()
            if key == "type":
                kind = val
                if val != "FeatureCollection":
                    raise FileRefused(f"the GeoJSON is a {val}; upload a FeatureCollection "
                                      "of Point features")
            if js.peek() == ",":
                js.pos += 1
        first = _next_feature(js, 0)
    except UnicodeDecodeError as exc:
        raise FileRefused(f"the file is not UTF-8 text (byte {exc.start})") from None
    if first is None:
        raise FileRefused("the FeatureCollection has no features")
    props = first.get("properties") if isinstance(first, dict) else None
    keys = [str(k) for k in props] if isinstance(props, dict) else []
    columns = [*[k for k in keys if k != GEOMETRY], GEOMETRY]
    _check_header(columns)
    known = set(columns)

    def rows() -> Iterator[RawRow]:
        feature: Any = first
        number = 0
        try:
            while feature is not None:
                number += 1
                yield _feature_row(number, feature, columns, known)
                feature = _next_feature(js, number)
            if kind not in (None, "FeatureCollection"):
                return
            while js.peek() == ",":  # members after the features array
                js.pos += 1
                key = js.value()
                js.expect(":")
                val = js.value()
                if key == "type" and val != "FeatureCollection":
                    yield number + 1, None, [RowError(
                        None, "type", shown(val), "the GeoJSON is not a FeatureCollection")]
        except UnicodeDecodeError as exc:
            yield number + 1, None, [RowError(
                None, "", "", f"the file is not UTF-8 text (byte {exc.start})")]
        except FileRefused as exc:
            yield number + 1, None, [exc.error]

    return Table("geojson", columns, rows())


def _next_feature(js: _JsonStream, count: int) -> Any:
    ch = js.peek()
    if count and ch == ",":
        js.pos += 1
        ch = js.peek()
    if ch == "]":
        js.pos += 1
        return None
    if not ch:
        raise FileRefused("the file ends inside the features array")
    return js.value()


def _prop_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "; ".join(value) if value else "none"
    return json.dumps(value, separators=(",", ":"))


def _feature_row(number: int, feature: Any, columns: list[str], known: set[str]) -> RawRow:
    width = len(columns)
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        return number, [""] * width, [RowError(number, "type", shown(
            feature.get("type") if isinstance(feature, dict) else type(feature).__name__),
            "each element of features must be a GeoJSON Feature")]
    props = feature.get("properties") or {}
    problems = []
    if not isinstance(props, dict):
        props = {}
        problems.append(RowError(number, "properties", "", "properties must be an object"))
    extra = [k for k in props if k not in known]
    for k in extra:
        problems.append(RowError(number, k, shown(_prop_text(props[k])),
                                 "this property is not in the first feature; give every "
                                 "feature the same properties"))
    cells: list[Any] = [_prop_text(props.get(c)) for c in columns[:-1]]
    geom = feature.get("geometry")
    point: tuple[float, float] | None = None
    if geom is not None:
        gtype = geom.get("type") if isinstance(geom, dict) else None
        coords = geom.get("coordinates") if isinstance(geom, dict) else None
        if gtype != "Point":
            problems.append(RowError(number, GEOMETRY, shown(gtype or type(geom).__name__),
                                     "expected a Point geometry (longitude, latitude); put a "
                                     "building footprint in the footprint_geojson property"))
        elif (not isinstance(coords, list) or len(coords) < 2 or not all(
                isinstance(c, int | float) and not isinstance(c, bool) and math.isfinite(c)
                for c in coords[:2])):
            problems.append(RowError(number, GEOMETRY, shown(json.dumps(coords)),
                                     "a Point needs [longitude, latitude] numbers"))
        else:
            point = (float(coords[0]), float(coords[1]))
            lon, lat = point
            if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                problems.append(RowError(number, GEOMETRY, f"{lon}, {lat}",
                                         "the point is not a longitude/latitude pair "
                                         "(longitude -180..180, latitude -90..90)"))
                point = None
    cells.append(point)
    return number, cells, problems

# ---------------------------------------------------------------------------------- export


def export_cell(value: Any, *, spreadsheet: bool) -> Any:
    """A stored value as a file cell: lists joined, formula-like text neutralised."""
    if value is None:
        return ""
    if isinstance(value, list):
        return "; ".join(value) if value else "none"
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, str):
        return neutralise(value) if spreadsheet else value
    if isinstance(value, float) and not spreadsheet:
        return repr(value)
    return value


def write_csv(columns: Sequence[str], rows: Iterable[Sequence[Any]], out: IO[str]) -> int:
    """CSV with a header; returns the number of rows written."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    n = 0
    for row in rows:
        writer.writerow([export_cell(v, spreadsheet=True) if not isinstance(v, float)
                         else repr(v) for v in row])
        n += 1
    return n


def write_xlsx(columns: Sequence[str], rows: Iterable[Sequence[Any]], out: IO[bytes],
               *, sheet: str = "assets") -> int:
    """A write-only (streaming) workbook; numbers stay numbers, text is neutralised."""
    import openpyxl  # noqa: PLC0415

    book = openpyxl.Workbook(write_only=True)
    ws = book.create_sheet(sheet)
    ws.append(list(columns))
    n = 0
    for row in rows:
        ws.append([None if v is None else export_cell(v, spreadsheet=True) for v in row])
        n += 1
    book.save(out)
    return n


def geojson_chunks(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """An RFC 7946 FeatureCollection, one feature per chunk: Point geometry from lon/lat (null
    without a location), every other column a property. No ``crs`` member (RFC 7946 §4)."""
    lon_i, lat_i = columns.index("lon"), columns.index("lat")
    names = [c for c in columns if c not in ("lon", "lat")]
    keep = [i for i, c in enumerate(columns) if c not in ("lon", "lat")]
    yield '{"type":"FeatureCollection","features":['
    first = True
    for row in rows:
        lon, lat = row[lon_i], row[lat_i]
        geometry = (None if lon is None or lat is None
                    else {"type": "Point", "coordinates": [lon, lat]})
        props = {names[k]: (v.value if isinstance(v, Enum) else v)
                 for k, v in enumerate(row[i] for i in keep)}
        feature = {"type": "Feature", "geometry": geometry, "properties": props}
        yield ("" if first else ",") + "\n" + json.dumps(feature, separators=(",", ":"),
                                                         ensure_ascii=False)
        first = False
    yield "\n]}\n"


def write_error_report(errors: Iterable[RowError], out: IO[str]) -> int:
    """The per-row error report as CSV: row, column, value, reason (values neutralised)."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["row", "column", "value", "reason"])
    n = 0
    for e in errors:
        writer.writerow(["" if e.row is None else e.row, neutralise(e.column),
                         neutralise(e.value), neutralise(e.reason)])
        n += 1
    return n
