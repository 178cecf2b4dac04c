"""Generate the bad-input corpus of the asset importer: tests/property/corpus/.

    .venv/bin/python tests/property/make_corpus.py

Each case is a file plus what the importer must say about it, written to
``corpus/MANIFEST.json``: the preset, the importing jurisdiction (a key of the ``ids``
fixture), and either ``"ok": true`` (a file that must be *accepted*, like text that looks like
a spreadsheet formula) or the problems that must be reported, each as row (as the user sees it;
``null`` for the whole file), column and a piece of the reason. ``test_import_corpus.py``
imports every file on both backends and checks the problems and that nothing changed.

The "very large file" is not here: the test generates it (200,000 rows) on the fly.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).resolve().parent / "corpus"
HEADER = "asset_code,name,use,lon,lat,gross_floor_area_ft2,year_built"
GOOD = ["C-1,Annex,office,-122.3321,47.6062,12000,1975",
        "C-2,Depot,warehouse,-122.3300,47.5900,40000,1962"]


def rows(*lines: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *lines]) + "\n").encode("utf-8")


@dataclass
class Case:
    name: str
    make: Callable[[], bytes]
    expect: list[tuple[int | None, str, str]] = field(default_factory=list)
    ok: bool = False
    preset: str = "govshare"
    jurisdiction: str = "city"
    note: str = ""


def xlsx(table: list[list[Any]]) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    for r in table:
        sheet.append(r)
    book.properties.created = book.properties.modified = datetime(2026, 1, 1)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def geojson(features: list[Any], **top: Any) -> bytes:
    return json.dumps({"type": "FeatureCollection", **top, "features": features},
                      indent=1).encode()


def feature(props: dict[str, Any], geometry: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": props, "geometry": geometry}


POINT = {"type": "Point", "coordinates": [-122.3321, 47.6062]}
BOWTIE = ('"{""type"":""Polygon"",""coordinates"":[[[-122.34,47.60],[-122.33,47.61],'
          '[-122.33,47.60],[-122.34,47.61],[-122.34,47.60]]]}"')
SQUARE = ('"{""type"":""Polygon"",""coordinates"":[[[-122.34,47.60],[-122.33,47.60],'
          '[-122.33,47.61],[-122.34,47.61],[-122.34,47.60]]]}"')

CASES: list[Case] = [
    # --- encodings
    Case("utf16_bom.csv", lambda: rows(*GOOD).decode().encode("utf-16"),
         [(None, "", "UTF-16")]),
    Case("utf16_no_bom.csv", lambda: rows(*GOOD).decode().encode("utf-16-le"),
         [(None, "", "NUL bytes")]),
    Case("latin1_cell.csv", lambda: rows(GOOD[0], "C-3,Caf\xe9 annex,office,,,,").decode(
        ).encode("latin-1"), [(3, "name", "invalid UTF-8 byte 0xE9")],
         note="Latin-1 text: the row and column of the bad byte are reported"),
    Case("windows1252_header.csv", lambda: (HEADER.replace("name", "\u201cname\u201d") + "\n"
                                            + GOOD[0] + "\n").encode("cp1252"),
         [(1, "", "invalid UTF-8 byte 0x93")]),
    Case("utf8_bom_ok.csv", lambda: b"\xef\xbb\xbf" + rows(*GOOD), ok=True,
         note="a UTF-8 byte-order mark is fine"),
    # --- structure
    Case("empty.csv", lambda: b"", [(None, "", "the file is empty")]),
    Case("whitespace_only.csv", lambda: b"\n\n  \n", [(None, "", "the file is empty")]),
    Case("header_only.csv", lambda: rows(), [(None, "", "no data rows")]),
    Case("missing_required_column.csv",
         lambda: rows("C-1,Annex,-122.33,47.60,100,1975",
                      header="asset_code,name,lon,lat,gross_floor_area_ft2,year_built"),
         [(1, "use", "required column is missing")]),
    Case("duplicate_header.csv", lambda: rows("C-1,Annex,office,Annex 2",
                                              header="asset_code,name,use,Name"),
         [(1, "Name", "appears twice")]),
    Case("extra_cells.csv", lambda: rows(GOOD[0], "C-2,Depot,warehouse,,,,,surprise"),
         [(3, "column 8", "the row has 8 cells")]),
    Case("unterminated_quote.csv", lambda: rows(GOOD[0], 'C-2,"Depot,warehouse,,,,'),
         [(3, "use", "a value is required")],
         note="the open quote swallows the rest of the file into one cell"),
    Case("two_columns_one_field.csv", lambda: rows("C-1,Annex,office,47.6,47.6",
                                                   header="asset_code,name,use,lat,LAT "),
         [(1, "LAT", "appears twice")]),
    # --- values
    Case("missing_asset_id.csv", lambda: rows(GOOD[0], ",No id,office,,,,"),
         [(3, "asset_code", "a value is required")]),
    Case("non_numeric_area.csv", lambda: rows("C-1,Annex,office,,,large,1975"),
         [(2, "gross_floor_area_ft2", "is not a number")]),
    Case("negative_area.csv", lambda: rows(*GOOD, "C-3,Shed,other,,,-250,1990"),
         [(4, "gross_floor_area_ft2", "must be between 0")]),
    Case("decimal_comma.csv", lambda: rows('C-1,Annex,office,,,"1,5",1975'),
         [(2, "gross_floor_area_ft2", "commas only between thousands")]),
    Case("year_out_of_range.csv", lambda: rows("C-1,Annex,office,,,100,3020"),
         [(2, "year_built", "must be between 1,600 and 2,100")]),
    Case("bad_use.csv", lambda: rows("C-1,Annex,spaceport,,,100,1975"),
         [(2, "use", "is not one of")]),
    Case("bad_status.csv", lambda: rows("C-1,Annex,office,demolished",
                                        header="asset_code,name,use,status"),
         [(2, "status", "is not one of")]),
    Case("bad_zip.csv", lambda: rows("C-1,Annex,office,ABCDE", header="asset_code,name,use,zip"),
         [(2, "zip", "is not a ZIP code")]),
    Case("name_too_long.csv", lambda: rows("C-1," + "N" * 301 + ",office",
                                           header="asset_code,name,use"),
         [(2, "name", "longer than 300")]),
    Case("unknown_public_group.csv", lambda: rows("C-1,Annex,office,identity;secret",
                                                  header="asset_code,name,use,public_groups"),
         [(2, "public_groups", "unknown field group(s) secret")]),
    Case("leased_without_cost.csv", lambda: rows("C-1,Annex,office,leased",
                                                 header="asset_code,name,use,ownership"),
         [(2, "annual_lease_cost_cents", "needs its annual lease cost")]),
    # --- locations
    Case("swapped_lat_lon.csv", lambda: rows("C-1,Annex,office,47.6062,-122.3321,100,1975"),
         [(2, "lat", "look swapped")]),
    Case("outside_region.csv", lambda: rows(GOOD[0], "C-2,Portland office,office,"
                                            "-122.6765,45.5231,100,1975"),
         [(3, "lat, lon", "outside the region")], note="Portland, Oregon"),
    Case("lon_without_lat.csv", lambda: rows("C-1,Annex,office,-122.33,,100,1975"),
         [(2, "lat", "give both longitude and latitude")]),
    Case("invalid_footprint.csv", lambda: rows("C-1,Annex,office," + BOWTIE,
                                               header="asset_code,name,use,footprint_geojson"),
         [(2, "footprint_geojson", "Self-intersection")]),
    Case("footprint_wkt.csv", lambda: rows('C-1,Annex,office,"POLYGON((0 0,1 0,1 1,0 0))"',
                                           header="asset_code,name,use,footprint_geojson"),
         [(2, "footprint_geojson", "is not GeoJSON")]),
    Case("footprint_ok.csv", lambda: rows("C-1,Annex,office," + SQUARE,
                                          header="asset_code,name,use,footprint_geojson"),
         ok=True),
    # --- identity and ownership
    Case("duplicate_ids.csv", lambda: rows(*GOOD, "C-3,Shed,other,,,10,1990",
                                           "C-1,Annex again,office,,,10,1990"),
         [(5, "asset_code", "the same id is on row 2")]),
    Case("unknown_jurisdiction.csv", lambda: rows("City of Tacoma,C-1,Annex,office",
                                                  header="jurisdiction,asset_code,name,use"),
         [(2, "jurisdiction", "unknown jurisdiction")]),
    Case("other_jurisdiction.csv", lambda: rows("King County,C-1,Annex,office",
                                                header="jurisdiction,asset_code,name,use"),
         [(2, "jurisdiction", "belongs to King County")]),
    Case("status_of_existing.csv", lambda: rows("357,Seattle Municipal Tower,office,disposed",
                                                header="asset_code,name,use,status"),
         [(2, "status", "does not change the status")],
         note="357 is a real demo building of the City of Seattle"),
    # --- formula injection: accepted as text, neutralised on export
    Case("formula_injection.csv", lambda: rows(
        'F-1,"=HYPERLINK(""http://evil.example"",""x"")",office',
        "F-2,+cmd|' /C calc'!A0,office", "F-3,@SUM(1+1),office", "F-4,-2+3,office",
        "F-5,'=already escaped,office", header="asset_code,name,use"), ok=True,
         note="stored verbatim (F-5 loses its escaping apostrophe); exports neutralise"),
    # --- XLSX
    Case("not_a_zip.xlsx", lambda: b"this is plain text, not a workbook\n",
         [(None, "", "not an XLSX workbook")]),
    Case("truncated.xlsx", lambda: xlsx([HEADER.split(","), GOOD[0].split(",")])[:600],
         [(None, "", "not a readable XLSX workbook")]),
    Case("bad_values.xlsx", lambda: xlsx([
        HEADER.split(","), ["C-1", "Annex", "office", -122.3321, 47.6062, 12000, 1975],
        [None] * 7, ["C-3", "Shed", "shed", None, None, -5, 1990]]),
        [(4, "use", "is not one of"), (4, "gross_floor_area_ft2", "must be between 0")],
         note="row numbers are the sheet's (row 3 is blank)"),
    Case("empty_sheet.xlsx", lambda: xlsx([]), [(None, "", "first sheet is empty")]),
    # --- GeoJSON
    Case("polygon_geometry.geojson", lambda: geojson([
        feature({"asset_code": "G-1", "name": "Lot", "use": "park"}, POINT),
        feature({"asset_code": "G-2", "name": "Yard", "use": "park"},
                {"type": "Polygon", "coordinates": [[[-122.34, 47.60], [-122.33, 47.60],
                                                     [-122.33, 47.61], [-122.34, 47.60]]]})]),
         [(2, "geometry", "expected a Point geometry")]),
    Case("single_feature.geojson", lambda: json.dumps(
        feature({"asset_code": "G-1", "name": "Lot", "use": "park"}, POINT)).encode(),
         [(None, "", "upload a FeatureCollection")]),
    Case("bad_coordinates.geojson", lambda: geojson([
        feature({"asset_code": "G-1", "name": "Lot", "use": "park"},
                {"type": "Point", "coordinates": ["x", "y"]})]),
         [(1, "geometry", "needs [longitude, latitude] numbers")]),
    Case("truncated.geojson", lambda: geojson([
        feature({"asset_code": f"G-{i}", "name": "Lot", "use": "park"}, POINT)
        for i in range(5)])[:-40], [(None, "", "not valid JSON")]),
    Case("not_json.geojson", lambda: b"{this is not json}", [(None, "", "not valid JSON")]),
    Case("extra_property.geojson", lambda: geojson([
        feature({"asset_code": "G-1", "name": "Lot", "use": "park"}, POINT),
        feature({"asset_code": "G-2", "name": "Yard", "use": "park", "colour": "red"}, POINT)]),
         [(2, "colour", "not in the first feature")]),
    Case("no_features.geojson", lambda: geojson([]), [(None, "", "has no features")]),
    # --- presets
    Case("frpp_bad_dollars.csv", lambda: rows(
        "RP-1,Federal Building,Office,$12abc",
        header="Real Property Unique Identifier,Real Property Name,Real Property Use,"
               "Annual Operating Costs"), [(2, "Annual Operating Costs", "not a dollar amount")],
         preset="frpp"),
    Case("frpp_otherwise_managed.csv", lambda: rows(
        "RP-1,Federal Building,Office,Otherwise Managed",
        header="Real Property Unique Identifier,Real Property Name,Real Property Use,"
               "Legal Interest"), [(2, "Legal Interest", "is not one of")], preset="frpp"),
    Case("seattle_missing_types.csv", lambda: rows(
        "1,Some building,2016", header="OSEBuildingID,PropertyName,DataYear"),
         [(1, "LargestPropertyUseType", "required column is missing")],
         preset="seattle-benchmarking"),
    Case("seattle_negative_energy.csv", lambda: rows(
        '9001,Solar annex,Office,Office,"-115,417",2016',
        header="OSEBuildingID,PropertyName,LargestPropertyUseType,PrimaryPropertyType,"
               "Electricity(kWh),DataYear"),
         [(2, "Electricity(kWh)", "must be between 0 and 10,000,000,000")],
         preset="seattle-benchmarking",
         note="net-generating buildings report negative grid electricity; refused, not clipped"),
    Case("absurd_energy.csv", lambda: rows(
        "E-1,Annex,office,1e308,", "E-2,Depot,warehouse,,Infinity", "E-3,Shed,other,2e10,",
        header="asset_code,name,use,electricity_kwh,natural_gas_therms"),
         [(2, "electricity_kwh", "must be between 0 and 10,000,000,000"),
          (3, "natural_gas_therms", "is not a finite number"),
          (4, "electricity_kwh", "must be between 0 and 10,000,000,000")],
         note="every number has a finite, plausible range (issue 8, 2.2)"),
]


def main() -> None:
    CORPUS.mkdir(exist_ok=True)
    manifest = []
    for case in CASES:
        data = case.make()
        (CORPUS / case.name).write_bytes(data)
        manifest.append({"file": case.name, "preset": case.preset,
                         "jurisdiction": case.jurisdiction, "ok": case.ok, "note": case.note,
                         "expect": [{"row": r, "column": c, "reason": why}
                                    for r, c, why in case.expect]})
    (CORPUS / "MANIFEST.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"{len(CASES)} files in {CORPUS}")


if __name__ == "__main__":
    main()
