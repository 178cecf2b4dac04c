"""Readers, presets, row checks and exporters of asset files — pure, no database."""

from __future__ import annotations

import csv
import io
import json
import random
from typing import Any

import openpyxl
import pytest
from pydantic import ValidationError

from govshare.property.import_export import fileio, presets
from govshare.property.import_export.fileio import FileRefused, neutralise, open_table, unneutralise
from govshare.property.import_export.presets import (
    FRPP,
    GOVSHARE,
    NEW_DEFAULTS,
    SEATTLE,
    CellError,
    check_rules,
    make_plan,
)
from govshare.property.schemas import AssetIn


def table(data: bytes, fmt: str = "csv") -> fileio.Table:
    return open_table(io.BytesIO(data), fmt)


def validate(data: bytes, preset: presets.Preset = GOVSHARE, fmt: str = "csv"
             ) -> list[tuple[dict[str, Any], list[Any]]]:
    t = table(data, fmt)
    plan = make_plan(t.columns, preset, fmt)
    assert not plan.header_errors, plan.header_errors
    out = []
    for number, cells, problems in t.rows:
        assert cells is not None
        given, errors = plan.validate(number, cells)
        out.append((given, problems + errors))
    return out


# --------------------------------------------------------------------- formula injection


@pytest.mark.parametrize("text", ["=1+1", "+cmd", "-2", "@SUM(A1)", "\tx", "\rx", "'=x",
                                  "''=x", "'plain", "plain", "", "-", "'"])
def test_neutralise_round_trips_and_defuses(text: str) -> None:
    out = neutralise(text)
    assert unneutralise(out) == text
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        assert out == "'" + text
    assert not out.startswith(("=", "+", "-", "@", "\t", "\r"))


# --------------------------------------------------------------------- converters


def test_numbers_accept_thousands_separators_only_where_they_belong() -> None:
    conv = presets.float_converter(0, None)
    assert conv("97,288") == 97288.0 and conv("2,160,443.75") == 2160443.75
    for bad, why in [("1,5", "commas only between thousands"), ("12,34,567", "commas"),
                     ("nan", "finite"), ("inf", "finite"), ("abc", "not a number"),
                     ("-1", "at least 0")]:
        with pytest.raises(CellError, match=why):
            conv(bad)
    whole = presets.int_converter(0, 10)
    assert whole("7.0") == 7 and whole("7") == 7
    with pytest.raises(CellError, match="whole number"):
        whole("7.5")


def test_dollars_become_cents_rounded_half_up() -> None:
    conv = presets.dollars_converter(0, 10**13)
    assert conv("$1,234.56") == 123_456
    assert conv("0.005") == 1 and conv("12") == 1200
    with pytest.raises(CellError, match="at least 0.0 dollars|between"):
        conv("(12.00)")
    with pytest.raises(CellError, match="not a dollar amount"):
        conv("12 dollars")


def test_zip_year_enum_lists_and_footprints() -> None:
    assert presets.zip_converter("981041234") == "98104-1234"
    assert presets.zip_converter("2134") == "02134"  # the zero a spreadsheet dropped
    assert presets.zip_converter("98104.0") == "98104"
    year = presets.year_converter(1600, 2100)
    assert year("1970-05-01") == year("05/01/1970") == year("1970") == 1970
    use = presets.CONVERTERS["use"]
    assert use("Fire station") == use("FIRE-STATION") == "fire_station"
    assert presets.groups_converter("energy; size") == ["identity", "size", "energy"]
    assert presets.groups_converter("none") == []
    with pytest.raises(CellError, match="unknown field"):
        presets.synthetic_converter("capacity;colour")
    square = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}
    assert json.loads(presets.footprint_converter(json.dumps(square))) == square
    with pytest.raises(CellError, match="Polygon or MultiPolygon"):
        presets.footprint_converter('{"type": "Point", "coordinates": [0, 0]}')


def test_checks_compiled_from_assetin_agree_with_assetin() -> None:
    """Random rows, valid and not: the compiled checks accept exactly what AssetIn accepts,
    with the same values. Not drawn: the documented differences (we also take thousands
    separators, ZIPs that lost leading zeros, dates for years and enum labels, and refuse
    non-finite numbers, which AssetIn lets through)."""
    rnd = random.Random(7)
    # field -> (valid values, invalid values); a value is invalid one time in twenty
    choices: dict[str, tuple[list[Any], list[Any]]] = {
        "asset_code": (["A-1", "x" * 64], ["", "x" * 65]),
        "name": (["Hall", "n" * 300], ["", "n" * 301]),
        "use": (["office", "school"], ["spaceport"]),
        "kind": (["building", "land"], ["castle"]),
        "zip": (["98104", "98104-1234", None], ["98-104", "ABCDE"]),
        "lon": ([-122.3, -180.0, None], [180.5]), "lat": ([47.6, 90.0, None], [-91.0]),
        "gross_floor_area_ft2": ([0.0, 1234.5, None], [-1.0, 50_000_001.0]),
        "year_built": ([1600, 2100, None], [1599, 2101]),
        "capacity": ([0, 10_000_000, None], [10_000_001, -1]),
        "annual_om_cost_cents": ([0, 10**13, None], [10**13 + 1]),
        "energy_year": ([1990, None], [1989]),
        "electricity_kwh": ([0.0, 1e9, None], [-0.5]),
        "status": (["in_use", "surplus"], ["demolished"]),
        "pm_property_type": (["Office", None], ["p" * 101]),
    }
    plan = make_plan(list(choices), GOVSHARE, "csv")
    agreed = 0
    for _ in range(600):
        row = {k: rnd.choice(bad if rnd.random() < 0.05 else good)
               for k, (good, bad) in choices.items()}
        cells = ["" if v is None else (repr(v) if isinstance(v, float) else str(v))
                 for v in row.values()]
        given, errors = plan.validate(2, cells)
        merged = {**NEW_DEFAULTS, **given}
        presets.default_pm_type(merged)
        ours_ok = not errors and not check_rules(merged)
        try:
            model = AssetIn.model_validate({k: v for k, v in row.items() if v is not None})
            theirs_ok = True
        except ValidationError:
            theirs_ok = False
        assert ours_ok == theirs_ok, str(sorted(row.items()))
        if ours_ok:
            assert {k: merged[k] for k in row} == {k: v for k, v in model.values().items()
                                                   if k in row}
            agreed += 1
    assert 20 < agreed < 600


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


def test_xlsx_reads_numbers_dates_and_sheet_rows() -> None:
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["asset_code", "name", "use", "year_built", "gross_floor_area_ft2", "zip"])
    ws.append([101, "Hall", "office", 1970, 1234.5, 98104])
    ws.append([])
    ws.append(["B", "Depot", "warehouse", None, 10.0, "02134"])
    buf = io.BytesIO()
    book.save(buf)
    got = validate(buf.getvalue(), fmt="xlsx")
    assert got[0][0]["asset_code"] == "101" and got[0][0]["gross_floor_area_ft2"] == 1234.5
    assert got[0][0]["zip"] == "98104" and got[1][0]["zip"] == "02134"
    assert [n for n, _, _ in table(buf.getvalue(), "xlsx").rows] == [2, 4]


def test_geojson_streams_features_across_chunk_boundaries(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    monkeypatch.setattr(fileio._JsonStream, "CHUNK", 7)  # every token split somewhere
    features = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [-122.3 - i,
                                                                                  47.6]},
                 "properties": {"asset_code": f"G-{i}", "name": "Lot ünïcode", "use": "park",
                                "public_groups": ["size"]}} for i in range(20)]
    features.append({"type": "Feature", "geometry": None,
                     "properties": {"asset_code": "G-x", "name": "Nowhere", "use": "park"}})
    doc = {"features": features, "type": "FeatureCollection", "name": "trailing members ok"}
    got = validate(json.dumps(doc).encode(), fmt="geojson")
    assert len(got) == 21 and all(not errors for _, errors in got)
    assert got[3][0]["lon"] == -125.3 and got[3][0]["public_groups"] == ["identity", "size"]
    assert got[20][0]["lon"] is None


def test_presets_map_their_columns() -> None:
    frpp = validate(b"Real Property Unique Identifier,Real Property Name,Real Property Use,"
                    b"Asset Status,Utilization,Legal Interest,Lease Annual Rent,Zip Code\n"
                    b"RP-1,Fed Bldg,Warehouses,Active,Underutilized,Leased,\"$1,200.50\","
                    b"981041234\n", FRPP)
    given, errors = frpp[0]
    assert not errors
    assert given["use"] == "warehouse" and given["status"] == "under_used"
    assert given["ownership"] == "leased" and given["annual_lease_cost_cents"] == 120_050
    assert given["zip"] == "98104-1234"
    seattle = validate(
        b"OSEBuildingID,PropertyName,PrimaryPropertyType,LargestPropertyUseType,"
        b"PropertyGFATotal,Electricity(kWh)\n"
        b'50198,Fire Station 06 (New),Other,Prison/Incarceration,"11,685","101,784.50"\n'
        b"27455,The Seattle Public Library - Queen Anne Storage Facility,Distribution Center,"
        b"Distribution Center,23040,0\n"
        b"21,The Seattle Public Library - Central Library,Other,Library,412000,5231916\n",
        SEATTLE)
    assert [g["use"] for g, _ in seattle] == ["fire_station", "warehouse", "library"]
    assert seattle[0][0]["gross_floor_area_ft2"] == 11685.0
    assert seattle[0][0]["electricity_kwh"] == 101784.5
    assert seattle[1][0]["pm_property_type"] == "Distribution Center"


def test_header_problems_name_the_columns() -> None:
    t = table(b"RPUID,name,lat,latitude\nA,B,1,2\n")
    plan = make_plan(t.columns, FRPP, "csv")
    reasons = {(e.column, e.reason.split(" (")[0]) for e in plan.header_errors}
    assert ("Real Property Use", "required column is missing") in reasons
    assert ("lat", "columns 'latitude' and 'lat' both give lat; keep one") in reasons
    # columns named like our own fields are understood by every preset
    plan = make_plan(["asset_code", "name", "use", "capacity"], FRPP, "csv")
    assert not plan.header_errors and "capacity" in plan.covered


# --------------------------------------------------------------------- exporters

ROWS: list[list[Any]] = [
    ["City", "A", "=cmd()", "building", "office", -122.33, 47.6, 12.5, ["identity", "size"]],
    ["City", "B", "Plain", "land", "park", None, None, None, []],
]
COLS = ["jurisdiction", "asset_code", "name", "kind", "use", "lon", "lat",
        "gross_floor_area_ft2", "public_groups"]


def test_csv_and_xlsx_exports_neutralise_text_but_not_numbers() -> None:
    out = io.StringIO()
    assert fileio.write_csv(COLS, ROWS, out) == 2
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[1][2] == "'=cmd()" and rows[1][5] == "-122.33"
    assert rows[1][8] == "identity; size" and rows[2][8] == "none"
    buf = io.BytesIO()
    fileio.write_xlsx(COLS, ROWS, buf)
    ws = openpyxl.load_workbook(io.BytesIO(buf.getvalue())).active
    assert ws["C2"].value == "'=cmd()" and ws["C2"].data_type == "s"
    assert ws["F2"].value == -122.33 and ws["F3"].value is None


def test_geojson_export_is_rfc7946() -> None:
    doc = json.loads("".join(fileio.geojson_chunks(COLS, ROWS)))
    assert doc["type"] == "FeatureCollection" and "crs" not in doc
    a, b = doc["features"]
    assert a["geometry"] == {"type": "Point", "coordinates": [-122.33, 47.6]}
    assert a["properties"]["name"] == "=cmd()"  # not a spreadsheet: left as is
    assert "lon" not in a["properties"] and b["geometry"] is None
