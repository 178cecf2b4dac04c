"""Streaming readers of tabular files: CSV, XLSX and GeoJSON. Pure: no database, no clock.

Every reader yields rows one at a time, so a file larger than memory streams through, and
the time it takes follows what the file holds, never what it claims:

- CSV must be UTF-8 (a byte-order mark is fine). UTF-16/32 files and bytes that are not UTF-8
  are *refused*, never guessed: a wrong guess (Latin-1 for Windows-1252, say) silently
  corrupts names, and the user can re-save as "CSV UTF-8" in one step. An undecodable row is
  reported with its row number and column, the bad bytes shown as ``\\xNN``.
- XLSX: the workbook is opened with openpyxl (read-only; its XML parsed through defusedxml,
  so a DTD or entity is refused), first sheet or the sheet named by the caller; the sheet's
  rows are then read straight from its XML, only the cells present: a sheet whose
  ``<dimension>`` claims ``A1:XFD1048576`` around one cell costs one cell, not 17 billion
  (openpyxl's own row iterator pads every row to the claimed width and every gap between
  rows). Cached values of formulas are read, never the formulas. A part that inflates past
  :data:`MAX_XLSX_PART` bytes, or more than :data:`MAX_XLSX_RATIO` times over past
  :data:`XLSX_RATIO_FLOOR`, is refused before anything is parsed (a zip bomb).
- GeoJSON must be a FeatureCollection; features are decoded one by one from the stream (no
  third-party streaming parser needed). Location comes only from a ``Point`` geometry (or a
  null geometry for a row without one), as the virtual column :data:`GEOMETRY` holding
  ``(lon, lat)`` or None; any other geometry type is a row error. Columns are the first
  feature's properties; a later feature with a property the first lacks is a row error.
  JSON nested past Python's recursion limit (~1,000 levels) is refused, not a crash.

Every format: at most :data:`MAX_COLUMNS` columns (a header wider than that is refused at
once), and a column name may appear only once (case and spacing ignored).

Row numbers are the ones the user sees: in CSV and XLSX the header is row 1 and the first data
row is row 2 (a quoted multi-line cell is one row, a blank line is a row, an XLSX row is its
own ``r`` number); in GeoJSON the "row" is the feature's position in ``features``, from 1.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import math
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import IO, Any, BinaryIO
from xml.etree.ElementTree import ParseError

from govshare.core.tabular.problems import FileRefused, RowError, shown

FORMATS = ("csv", "xlsx", "geojson")
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "geojson": "application/geo+json",
}
GEOMETRY = "geometry"  # the virtual column of a GeoJSON feature's Point: (lon, lat) or None
MAX_COLUMNS = 1_000
XLSX_MAX_COLUMN = 16_384  # XFD, the widest sheet Excel makes
MAX_XLSX_PART = 4 << 30  # bytes one part of the workbook may inflate to
MAX_XLSX_RATIO = 200  # how many times over a part may inflate ...
XLSX_RATIO_FLOOR = 64 << 20  # ... once it is larger than this (small parts compress well)

# (row number, cells, problems the reader found). ``cells`` is None for a problem that is not
# a row (the file breaks off after some rows): the caller reports it and reads on.
RawRow = tuple[int, list[Any] | None, list[RowError]]


def header_key(text: str) -> str:
    """A column name compared case- and spacing-blind (a BOM glued to it is dropped)."""
    return " ".join(str(text).replace("\ufeff", "").split()).casefold()


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
    """An opened file: its format, its columns (header names as written) and its rows."""

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


def open_table(stream: BinaryIO, fmt: str, *, sheet: str | None = None) -> Table:
    """The file's columns and a lazy iterator of its rows. XLSX needs a seekable stream and
    reads the sheet named ``sheet`` if the workbook has one, else its first sheet."""
    if fmt == "xlsx":
        return _xlsx_table(stream, sheet)
    if fmt not in FORMATS:
        raise FileRefused(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    counter = Counted(stream)
    buffered = io.BufferedReader(counter, 1 << 16)
    table = _csv_table(buffered) if fmt == "csv" else _geojson_table(buffered)
    table.counter = counter
    return table


def check_header(columns: list[str]) -> None:
    """At most MAX_COLUMNS columns, no name twice (case and spacing ignored)."""
    if len(columns) > MAX_COLUMNS:
        raise FileRefused(f"the header has {len(columns):,} columns; at most {MAX_COLUMNS:,} "
                          "are read", row=1, column=f"column {MAX_COLUMNS + 1}",
                          value=shown(columns[MAX_COLUMNS]))
    seen: dict[str, int] = {}
    for i, c in enumerate(columns):
        k = header_key(c)
        if not k:
            continue
        if k in seen:
            raise FileRefused(f"column {c!r} appears twice (columns {seen[k] + 1} and {i + 1})",
                              row=1, column=c)
        seen[k] = i

# ------------------------------------------------------------------------------------ CSV


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


def _surrogate(text: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in text)


def _csv_table(buffered: io.BufferedReader[Any]) -> Table:
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
        raise FileRefused(bad[0], row=1, value=shown(",".join(header[:MAX_COLUMNS])))
    columns = [c.strip() for c in header]
    check_header(columns)
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
                at = next((i for i, c in enumerate(cells) if _surrogate(c)), None)
                col = "" if at is None else columns[at] if at < width else f"column {at + 1}"
                problems.append(RowError(number, col, "" if at is None else shown(cells[at]),
                                         bad[0]))
                bad.clear()
            if len(cells) != width:
                if not cells:
                    continue  # a blank line: counted, not a row
                if len(cells) < width:
                    cells += [""] * (width - len(cells))
                else:
                    extra = next((i for i in range(width, len(cells)) if cells[i].strip()),
                                 None)
                    if extra is not None:
                        problems.append(RowError(
                            number, f"column {extra + 1}", shown(cells[extra]),
                            f"the row has {len(cells)} cells but the header has {width} "
                            "columns"))
                    cells = cells[:width]
            yield number, cells, problems

    return Table("csv", columns, rows())

# ----------------------------------------------------------------------------------- XLSX


def xlsx_cell(value: Any) -> str:
    """A cell value of a workbook as the text a CSV would hold."""
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


def _column_name(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index) if 1 <= index <= XLSX_MAX_COLUMN else f"column {index}"


def _check_zip(stream: BinaryIO) -> None:
    """Refuse a workbook with a part that inflates past the limits (a zip bomb) before
    openpyxl opens it. The sizes checked are the ones the archive declares: zipfile never
    inflates a member past its declared size (a lie ends in a CRC error)."""
    try:
        with zipfile.ZipFile(stream) as archive:
            for info in archive.infolist():
                big = info.file_size > MAX_XLSX_PART or (
                    info.file_size > XLSX_RATIO_FLOOR
                    and info.file_size > MAX_XLSX_RATIO * max(info.compress_size, 1))
                if big:
                    raise FileRefused(
                        f"the workbook's part {info.filename[:100]!r} inflates from "
                        f"{info.compress_size:,} to {info.file_size:,} bytes; that is a "
                        "compression bomb, not a spreadsheet: save the sheet as CSV")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        raise FileRefused(f"the file is not a readable XLSX workbook ({exc})") from None
    finally:
        stream.seek(0)


def _xml_problem(exc: BaseException) -> FileRefused:
    from defusedxml import DefusedXmlException

    if isinstance(exc, DefusedXmlException):
        return FileRefused("the workbook's XML declares a DTD or entities, which a "
                           "spreadsheet does not need; save it again from the spreadsheet "
                           "program, or upload CSV")
    return FileRefused(f"the workbook's XML is damaged ({exc}); save it again from the "
                       "spreadsheet program, or upload CSV")


def _xlsx_table(stream: BinaryIO, sheet_name: str | None) -> Table:
    import openpyxl
    from defusedxml import DefusedXmlException
    from openpyxl.utils.exceptions import InvalidFileException
    from openpyxl.worksheet._reader import WorkSheetParser

    head = stream.read(4)
    stream.seek(0)
    if not head:
        raise FileRefused("the file is empty")
    if head != b"PK\x03\x04":
        raise FileRefused("the file is not an XLSX workbook (not a ZIP archive); save it from "
                          "the spreadsheet as .xlsx, or upload CSV")
    _check_zip(stream)
    try:
        book = openpyxl.load_workbook(stream, read_only=True, data_only=True)
    except (ParseError, DefusedXmlException) as exc:
        raise _xml_problem(exc) from None
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError,
            TypeError) as exc:
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, ParseError | DefusedXmlException):
            raise _xml_problem(cause) from None
        raise FileRefused(f"the file is not a readable XLSX workbook ({exc})") from None
    if not book.worksheets:
        book.close()
        raise FileRefused("the workbook has no worksheet")
    sheet = (book[sheet_name] if sheet_name and sheet_name in book.sheetnames
             else book.worksheets[0])
    # The sheet's rows as its XML holds them: (row number, [cell dicts present]) — no
    # padding to the claimed dimension, no empty rows invented for the gaps.
    source = sheet._get_source()
    parser = WorkSheetParser(source, sheet._shared_strings, data_only=True,
                             epoch=book.epoch, date_formats=book._date_formats,
                             timedelta_formats=book._timedelta_formats)
    parsed = parser.parse()

    def close() -> None:
        source.close()
        book.close()

    def next_row() -> tuple[int, list[dict[str, Any]]] | None:
        try:
            return next(parsed)  # type: ignore[no-any-return]
        except StopIteration:
            return None
        except (ParseError, DefusedXmlException) as exc:
            raise _xml_problem(exc) from None
        except (zipfile.BadZipFile, KeyError, ValueError, IndexError, TypeError) as exc:
            raise FileRefused(f"the workbook is damaged ({exc})") from None

    try:
        first = next_row()
        if first is None:
            raise FileRefused("the workbook's first sheet is empty"
                              if sheet is book.worksheets[0] else
                              f"the workbook's sheet {shown(sheet.title)!r} is empty")
        if first[0] != 1:
            raise FileRefused("the first row of the sheet is empty: put the column names there",
                              row=1)
        named = {c["column"]: xlsx_cell(c["value"]).strip() for c in first[1]
                 if c["value"] not in (None, "")}
        last = max(named, default=0)
        if last > MAX_COLUMNS:
            raise FileRefused(f"the header has a column name in column {_column_name(last)} "
                              f"(the {last:,}th); at most {MAX_COLUMNS:,} columns are read",
                              row=1, column=_column_name(last), value=shown(named[last]))
        columns = [named.get(i, "") for i in range(1, last + 1)]
        while columns and not columns[-1]:
            columns.pop()
        if not columns:
            raise FileRefused("the first row of the sheet is empty: put the column names there",
                              row=1)
        check_header(columns)
    except BaseException:
        close()
        raise
    width = len(columns)

    def rows() -> Iterator[RawRow]:
        previous = 1
        try:
            while (parsed_row := next_row()) is not None:
                number, present = parsed_row
                if number <= previous:
                    yield number, None, [RowError(None, "", str(number), (
                        f"the sheet's rows are out of order (row {number} after row "
                        f"{previous}): the workbook is damaged; save it again"))]
                    return
                previous = number
                cells = [""] * width
                problems: list[RowError] = []
                filled = False
                for cell in present:
                    value = cell["value"]
                    if value is None or value == "":
                        continue
                    col = cell["column"]
                    if col <= width:
                        cells[col - 1] = xlsx_cell(value)
                        filled = True
                    elif not problems:
                        problems.append(RowError(number, _column_name(col), shown(value),
                                                 "a value in a column without a header"))
                if filled or problems:
                    yield number, cells, problems
        except FileRefused as exc:
            yield previous + 1, None, [exc.error]
        finally:
            close()

    return Table("xlsx", columns, rows())

# --------------------------------------------------------------------------------- GeoJSON


def _too_deep() -> FileRefused:
    return FileRefused("the JSON is nested too deeply (more than about 1,000 levels of "
                       "[ or {); a GeoJSON file never needs that")


def load_json(raw: bytes) -> Any:
    """A whole JSON document (UTF-8, BOM allowed), or :class:`FileRefused` saying why not:
    not UTF-8, not JSON (with line and column), or nested too deeply."""
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise FileRefused(f"the file is not UTF-8 text (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise FileRefused(f"the file is not valid JSON (line {exc.lineno}, column "
                          f"{exc.colno}: {exc.msg})") from None
    except RecursionError:
        raise _too_deep() from None


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
            except RecursionError:
                raise _too_deep() from None


def _geojson_table(buffered: io.BufferedReader[Any]) -> Table:
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
                    raise FileRefused(f"the GeoJSON is a {shown(val)[:40]}; upload a "
                                      "FeatureCollection of Point features")
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
    check_header(columns)
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
    try:
        return json.dumps(value, separators=(",", ":"))
    except RecursionError:
        raise _too_deep() from None


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
    try:
        for k in props:
            if k not in known:
                problems.append(RowError(number, k, shown(_prop_text(props[k])),
                                         "this property is not in the first feature; give "
                                         "every feature the same properties"))
        cells: list[Any] = [_prop_text(props.get(c)) for c in columns[:-1]]
    except FileRefused as exc:
        return number, [""] * width, [RowError(number, "properties", "", exc.error.reason)]
    geom = feature.get("geometry")
    point: tuple[float, float] | None = None
    if geom is not None:
        gtype = geom.get("type") if isinstance(geom, dict) else None
        coords = geom.get("coordinates") if isinstance(geom, dict) else None
        if gtype != "Point":
            problems.append(RowError(number, GEOMETRY, shown(gtype or type(geom).__name__),
                                     "expected a Point geometry (longitude, latitude)"))
        elif (not isinstance(coords, list) or len(coords) < 2 or not all(
                isinstance(c, int | float) and not isinstance(c, bool) and math.isfinite(c)
                for c in coords[:2])):
            problems.append(RowError(number, GEOMETRY, shown(_prop_text(coords)),
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
