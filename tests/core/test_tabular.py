"""The shared tabular readers, converters, writers and error report (``core.tabular``) — pure,
no database. Hostile files (bombs, deep nesting, entities) are refused quickly with a reason."""

from __future__ import annotations

import csv
import io
import json
import time
import zipfile
from typing import Any

import openpyxl
import pytest

from govshare.core import tabular
from govshare.core.errors import ValidationFailed
from govshare.core.tabular import (
    CellError,
    ErrorReport,
    FileRefused,
    Refused,
    RowError,
    neutralize,
    open_table,
    unneutralize,
)
from tests.factories.files import inline_cell, whole_sheet_bomb, xlsx_sheet


def table(data: bytes, fmt: str = "csv") -> tabular.Table:
    return open_table(io.BytesIO(data), fmt)


def read_all(data: bytes, fmt: str) -> list[tabular.RawRow]:
    return list(table(data, fmt).rows)


# --------------------------------------------------------------------- formula injection


@pytest.mark.parametrize("text", ["=1+1", "+cmd", "-2", "@SUM(A1)", "\tx", "\rx", "'=x",
                                  "''=x", "'plain", "plain", "", "-", "'"])
def test_neutralize_round_trips_and_defuses(text: str) -> None:
    out = neutralize(text)
    assert unneutralize(out) == text
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        assert out == "'" + text
    assert not out.startswith(("=", "+", "-", "@", "\t", "\r"))


# --------------------------------------------------------------------- converters


def test_numbers_accept_thousands_separators_only_where_they_belong() -> None:
    conv = tabular.float_converter(0, None)
    assert conv("97,288") == 97288.0 and conv("2,160,443.75") == 2160443.75
    for bad, why in [("1,5", "commas only between thousands"), ("12,34,567", "commas"),
                     ("nan", "finite"), ("inf", "finite"), ("abc", "not a number"),
                     ("-1", "at least 0")]:
        with pytest.raises(CellError, match=why):
            conv(bad)
    whole = tabular.int_converter(0, 10)
    assert whole("7.0") == 7 and whole("7") == 7
    with pytest.raises(CellError, match="whole number"):
        whole("7.5")


def test_dollars_become_cents_rounded_half_up() -> None:
    conv = tabular.dollars_converter(0, 10**13)
    assert conv("$1,234.56") == 123_456
    assert conv("0.005") == 1 and conv("12") == 1200
    with pytest.raises(CellError, match="at least 0.0 dollars|between"):
        conv("(12.00)")
    with pytest.raises(CellError, match="not a dollar amount"):
        conv("12 dollars")


def test_zip_and_year() -> None:
    assert tabular.zip_converter("981041234") == "98104-1234"
    assert tabular.zip_converter("2134") == "02134"  # the zero a spreadsheet dropped
    assert tabular.zip_converter("98104.0") == "98104"
    year = tabular.year_converter(1600, 2100)
    assert year("1970-05-01") == year("05/01/1970") == year("1970") == 1970


# --------------------------------------------------------------------- readers


def test_csv_rows_are_numbered_as_the_user_sees_them() -> None:
    data = (b'asset_code,name,use\nA,"two\nline name",office\n\nB,Hall,office\n'
            b"C,Hall,office,,\n")
    t = table(data)
    assert t.columns == ["asset_code", "name", "use"]
    assert [(n, c[0]) for n, c, _ in t.rows] == [(2, "A"), (4, "B"), (5, "C")]


def test_csv_encodings() -> None:
    t = table(b"\xef\xbb\xbfasset_code,name,use\nA,Caf\xc3\xa9,office\n")
    assert t.columns[0] == "asset_code" and next(t.rows)[1][1] == "Café"
    for data, why in [("a,b\n".encode("utf-16"), "UTF-16"), (b"a\x00,b\x00\n", "NUL"),
                      (b"", "empty"), (b"PK\x03\x04rest", "ZIP")]:
        with pytest.raises(FileRefused, match=why):
            table(data)
    rows = list(table(b"asset_code,name,use\nA,Caf\xe9,office\n").rows)
    (number, _cells, problems), = rows
    assert (number, problems[0].column, problems[0].value) == (2, "name", "Caf\\xe9")


def test_a_value_past_the_header_is_reported_where_it_is() -> None:
    (row,) = read_all(b"a,b\n1,2,,x\n", "csv")
    assert [(e.column, e.value) for e in row[2]] == [("column 4", "x")]


def test_xlsx_reads_numbers_dates_and_sheet_rows() -> None:
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["asset_code", "name", "use", "year_built", "gross_floor_area_ft2", "zip"])
    ws.append([101, "Hall", "office", 1970, 1234.5, 98104])
    ws.append([])
    ws.append(["B", "Depot", "warehouse", None, 10.0, "02134"])
    ws.append(["C", "Wide", "park", None, None, None, None, "stray"])
    buf = io.BytesIO()
    book.save(buf)
    rows = read_all(buf.getvalue(), "xlsx")
    assert [n for n, _, _ in rows] == [2, 4, 5]
    assert rows[0][1] == ["101", "Hall", "office", "1970", "1234.5", "98104"]
    assert rows[1][1][5] == "02134"
    assert [(e.row, e.column, e.value) for e in rows[2][2]] == [(5, "H", "stray")]


def test_xlsx_claiming_the_whole_sheet_costs_only_the_cells_present() -> None:
    """Issue 8, 2.1: a 1.5 KB workbook whose dimension says A1:XFD1048576, with one row at
    r=1048576, took one core for minutes (every missing row padded to 16,384 cells)."""
    bomb = whole_sheet_bomb(["asset_code", "name"], {"A": "Z-1", "XFD": "far"})
    assert len(bomb) < 2_000
    start = time.perf_counter()
    t = table(bomb, "xlsx")
    rows = list(t.rows)
    elapsed = time.perf_counter() - start
    # milliseconds when only the cells present are read; the bomb padded took minutes. The
    # bound is loose so a loaded CI machine does not fail it.
    assert elapsed < 5, f"took {elapsed:.2f} s"
    assert t.columns == ["asset_code", "name"]
    ((number, cells, problems),) = rows
    assert number == 1_048_576 and cells == ["Z-1", ""]
    assert [(e.column, e.value) for e in problems] == [("XFD", "far")]


def test_xlsx_header_wider_than_the_limit_is_refused_at_once() -> None:
    wide = xlsx_sheet('<?xml version="1.0"?><worksheet><dimension ref="A1:XFD1048576"/>'
                      f'<sheetData><row r="1">{inline_cell("A1", "asset_code")}'
                      f'{inline_cell("XFD1", "x")}</row></sheetData></worksheet>')
    start = time.perf_counter()
    with pytest.raises(FileRefused, match="column XFD .*at most 1,000 columns") as info:
        table(wide, "xlsx")
    assert time.perf_counter() - start < 0.5
    assert info.value.error.row == 1 and info.value.error.column == "XFD"


def test_xlsx_zip_bomb_is_refused_before_it_is_inflated() -> None:
    buf = io.BytesIO(xlsx_sheet('<?xml version="1.0"?><worksheet><sheetData/></worksheet>'))
    with zipfile.ZipFile(buf, "a", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/sharedStrings.xml", b" " * (80 << 20))  # 80 MB of blanks: ~80 KB
    with pytest.raises(FileRefused, match="compression bomb"):
        table(buf.getvalue(), "xlsx")


@pytest.mark.parametrize(("sheet", "why"), [
    # a billion laughs, ten levels deep
    ('<?xml version="1.0"?><!DOCTYPE w [<!ENTITY a "lol">'
     + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'
               for i in range(9))
     + f']><worksheet><sheetData><row r="1">{inline_cell("A1", "&j;")}</row></sheetData>'
     "</worksheet>", "declares a DTD or entities"),
    # an entity nobody declared (and an external one)
    (f'<?xml version="1.0"?><worksheet><sheetData><row r="1">{inline_cell("A1", "name")}</row>'
     f'<row r="2">{inline_cell("A2", "&undefined;")}</row></sheetData></worksheet>',
     "XML is damaged"),
    ('<?xml version="1.0"?><!DOCTYPE w [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
     f'<worksheet><sheetData><row r="1">{inline_cell("A1", "&x;")}</row></sheetData></worksheet>',
     "declares a DTD or entities"),
])
def test_xlsx_entities_are_refused_not_crashes(sheet: str, why: str) -> None:
    """Issue 8, 2.9: entity bombs and undefined entities raised ParseError (a 500)."""
    def read() -> None:
        for _number, cells, problems in table(xlsx_sheet(sheet), "xlsx").rows:
            if cells is None:
                raise FileRefused(problems[0].reason)

    with pytest.raises(FileRefused, match=why):
        read()


def test_geojson_streams_features_across_chunk_boundaries(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    from govshare.core.tabular import readers

    monkeypatch.setattr(readers._JsonStream, "CHUNK", 7)  # every token split somewhere
    features = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [-122.3 - i,
                                                                                  47.6]},
                 "properties": {"asset_code": f"G-{i}", "name": "Lot ünïcode",
                                "public_groups": ["size"]}} for i in range(20)]
    features.append({"type": "Feature", "geometry": None,
                     "properties": {"asset_code": "G-x", "name": "Nowhere"}})
    doc = {"features": features, "type": "FeatureCollection", "name": "trailing members ok"}
    t = table(json.dumps(doc).encode(), "geojson")
    assert t.columns == ["asset_code", "name", "public_groups", tabular.GEOMETRY]
    rows = list(t.rows)
    assert len(rows) == 21 and all(not problems for _, _, problems in rows)
    assert rows[3][1] == ["G-3", "Lot ünïcode", "size", (-125.3, 47.6)]
    assert rows[20][1][-1] is None


@pytest.mark.parametrize("nested", [
    b"[" * 100_000,
    b'{"type": "Feature", "properties": {"x": ' + b"[" * 100_000,
])
def test_deeply_nested_geojson_is_refused_not_a_recursion_error(nested: bytes) -> None:
    """Issue 8, 2.9: 100,000 nested '[' raised RecursionError (a 500)."""
    doc = b'{"type": "FeatureCollection", "features": [' + nested
    with pytest.raises(FileRefused, match="nested too deeply"):
        table(doc, "geojson")
    with pytest.raises(FileRefused, match="nested too deeply"):
        tabular.load_json(b'{"type": "Polygon", "coordinates": ' + b"[" * 100_000)


def test_a_deep_feature_after_good_ones_is_a_problem_of_the_file() -> None:
    good = json.dumps({"type": "Feature", "geometry": None, "properties": {"a": 1}}).encode()
    doc = (b'{"type": "FeatureCollection", "features": [' + good + b", " + good + b", "
           + b"[" * 100_000)
    rows = read_all(doc, "geojson")
    assert [n for n, cells, _ in rows if cells is not None] == [1, 2]
    (last,) = [p for _, cells, p in rows if cells is None]
    assert "nested too deeply" in last[0].reason


def test_load_json_says_what_is_wrong() -> None:
    assert tabular.load_json(b'\xef\xbb\xbf{"a": 1}') == {"a": 1}
    with pytest.raises(FileRefused, match="not UTF-8"):
        tabular.load_json(b'{"a": "\xff"}')
    with pytest.raises(FileRefused, match=r"line 2, column 1"):
        tabular.load_json(b'{"a":\n}')


@pytest.mark.parametrize("fmt", ["csv", "geojson"])
def test_a_header_wider_than_the_limit_is_refused(fmt: str) -> None:
    names = [f"c{i}" for i in range(tabular.MAX_COLUMNS + 1)]
    data = (",".join(names).encode() + b"\n" if fmt == "csv" else json.dumps({
        "type": "FeatureCollection", "features": [{"type": "Feature", "geometry": None,
                                                   "properties": dict.fromkeys(names, 1)}]
    }).encode())
    with pytest.raises(FileRefused, match="at most 1,000"):
        table(data, fmt)


# --------------------------------------------------------------------- writers

ROWS: list[list[Any]] = [
    ["City", "A", "=cmd()", "office", -122.33, 47.6, 12.5, ["identity", "size"]],
    ["City", "B", "'+x", "park", None, None, None, []],
]
COLS = ["jurisdiction", "asset_code", "name", "use", "lon", "lat", "gross_floor_area_ft2",
        "public_groups"]


def test_csv_and_xlsx_writers_neutralize_text_but_not_numbers() -> None:
    out = io.StringIO()
    assert tabular.write_csv(COLS, ROWS, out) == 2
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[1][2] == "'=cmd()" and rows[1][4] == "-122.33"
    assert rows[2][2] == "''+x", "an apostrophe before a trigger is escaped once more"
    assert rows[1][7] == "identity; size" and rows[2][7] == "none"
    buf = io.BytesIO()
    tabular.write_xlsx(COLS, ROWS, buf, sheet="things")
    ws = openpyxl.load_workbook(io.BytesIO(buf.getvalue()))["things"]
    assert ws["C2"].value == "'=cmd()" and ws["C2"].data_type == "s"
    assert ws["E2"].value == -122.33 and ws["E3"].value is None


def test_geojson_writer_is_rfc7946() -> None:
    doc = json.loads("".join(tabular.geojson_chunks(tabular.rows_as_features(COLS, ROWS))))
    assert doc["type"] == "FeatureCollection" and "crs" not in doc
    a, b = doc["features"]
    assert a["geometry"] == {"type": "Point", "coordinates": [-122.33, 47.6]}
    assert a["properties"]["name"] == "=cmd()"  # not a spreadsheet: left as is
    assert "lon" not in a["properties"] and b["geometry"] is None
    assert tabular.feature(None, {"a": 1}, id=7) == {
        "type": "Feature", "id": 7, "geometry": None, "properties": {"a": 1}}


# --------------------------------------------------------------------- the error report


def test_one_report_format_for_csv_and_problem_json(tmp_path: Any) -> None:
    report = ErrorReport(streams=2)
    report.add(RowError(7, "name", "=evil()", "is longer than 3 characters"))
    report.add(RowError(3, "id", "A-1", "duplicate id: the same id is on row 2"), stream=1)
    report.add(RowError(None, "", "", "stopped reading"))
    refused = Refused("3 problems in f.csv", report=report)
    assert isinstance(refused, ValidationFailed) and refused.status == 422
    assert refused.errors[0] == {"row": None, "column": "", "value": "", "loc": ["file"],
                                 "reason": "stopped reading"}
    assert [e["row"] for e in refused.errors] == [None, 3, 7]
    assert refused.errors[2]["loc"] == ["row 7", "name"]
    out = io.StringIO()
    assert report.write_csv(out) == 3
    assert list(csv.reader(io.StringIO(out.getvalue()))) == [
        ["row", "column", "value", "reason"], ["", "", "", "stopped reading"],
        ["3", "id", "A-1", "duplicate id: the same id is on row 2"],
        ["7", "name", "'=evil()", "is longer than 3 characters"]]
    store = tabular.ReportStore(tmp_path / "reports")
    token = store.save(report, owner="user:1", file_name="my file.csv")
    path, meta = store.find(token, owner="user:1")
    assert path.read_bytes().decode() == out.getvalue() and meta["count"] == 3
    assert store.download_name(meta) == "my_file-errors.csv"
    for owner, tok in (("user:2", token), ("user:1", "x" * 32), ("user:1", "../etc")):
        with pytest.raises(Exception, match="Report not found"):
            store.find(tok, owner=owner)
    report.close()
