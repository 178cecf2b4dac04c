"""Asset rules on the shared readers: presets, compiled row checks, Seattle's files — pure,
no database. (The readers and writers themselves: ``tests/core/test_tabular.py``.)"""

from __future__ import annotations

import io
import json
import random
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from govshare.core import tabular
from govshare.core.tabular import CellError, make_plan, open_table
from govshare.property.import_export import fileio
from govshare.property.import_export.fileio import NEW_DEFAULTS, check_rules
from govshare.property.import_export.presets import FRPP, GOVSHARE, SEATTLE
from govshare.property.schemas import AssetIn

SEATTLE_2015 = Path(__file__).parents[1] / "data" / "seattle_benchmarking_2015_city_owned.csv"


def table(data: bytes, fmt: str = "csv") -> tabular.Table:
    return open_table(io.BytesIO(data), fmt)


def validate(data: bytes, preset: tabular.Preset = GOVSHARE, fmt: str = "csv"
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


# --------------------------------------------------------------------- converters


def test_enum_labels_lists_and_footprints() -> None:
    year = fileio.CONVERTERS["year_built"]
    assert year("1970-05-01") == year("05/01/1970") == year("1970") == 1970
    use = fileio.CONVERTERS["use"]
    assert use("Fire station") == use("FIRE-STATION") == "fire_station"
    assert fileio.groups_converter("energy; size") == ["identity", "size", "energy"]
    assert fileio.groups_converter("none") == []
    with pytest.raises(CellError, match="unknown field"):
        fileio.synthetic_converter("capacity;color")
    square = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}
    assert json.loads(fileio.footprint_converter(json.dumps(square))) == square
    with pytest.raises(CellError, match="Polygon or MultiPolygon"):
        fileio.footprint_converter('{"type": "Point", "coordinates": [0, 0]}')


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
        fileio.default_pm_type(merged)
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


def test_seattle_2015_location_gives_the_point_and_the_address() -> None:
    """Issue 8, 2.16: the 2015 file's Location column (a Socrata point with a JSON address)
    was ignored, so every building imported without a location."""
    with SEATTLE_2015.open("rb") as fh:
        t = open_table(fh, "csv")
        plan = make_plan(t.columns, SEATTLE, "csv")
        assert not plan.header_errors
        rows = {}
        for number, cells, problems in t.rows:
            assert cells is not None
            given, errors = plan.validate(number, cells)
            plan.tally(cells)
            assert not problems and not errors, (number, problems + errors)
            rows[given["asset_code"]] = given
    assert len(rows) == 68
    assert all(g["lat"] and g["lon"] and g["address"] and g["zip"] for g in rows.values())
    arena = rows["103"]
    assert (arena["lat"], arena["lon"]) == (47.62124083, -122.3534322)
    assert (arena["address"], arena["city"], arena["zip"]) == ("305 HARRISON ST", "SEATTLE",
                                                               "98109")
    assert arena["energy_year"] == 2015 and arena["electricity_kwh"] == 4194724.0
    unplaced = dict(plan.unplaced)
    assert "Location" not in unplaced and "DataYear" not in unplaced
    assert unplaced["OtherFuelUse(kBtu)"] == 68, "every row holds a value (0 in 60 of them)"
    assert unplaced["ENERGYSTARScore"] > 0 and unplaced["Comment"] == 0


@pytest.mark.parametrize(("cell", "why"), [
    ("POINT (-122.3 47.6)", "is not a Socrata location"),
    ("__import__('os').system('true')", "is not a Socrata location"),
    ("{'latitude': '47.6', 'longitude': '-222.3', 'human_address': '{}'}",
     "longitude '-222.3' must be between -180"),
    ("{'latitude': '47.6', 'longitude': '-122.3', 'human_address': '{\"zip\": \"98-10\"}'}",
     "zip '98-10' is not a ZIP code"),
    ("{'latitude': '" + "4" * 3000 + "'}", "longer than 2,000 characters"),
])
def test_a_bad_location_is_a_row_error_naming_the_column(cell: str, why: str) -> None:
    buf = io.StringIO()
    csv_rows = [["OSEBuildingID", "PropertyName", "LargestPropertyUseType", "Location"],
                ["1", "Hall", "Office", cell]]
    tabular.write_csv(csv_rows[0], csv_rows[1:], buf)
    ((given, errors),) = validate(buf.getvalue().encode(), SEATTLE)
    assert [(e.row, e.column) for e in errors] == [(2, "Location")]
    assert why in errors[0].reason


def test_an_empty_location_is_no_location() -> None:
    ((given, errors),) = validate(b"OSEBuildingID,PropertyName,LargestPropertyUseType,Location\n"
                                  b"1,Hall,Office,\n", SEATTLE)
    assert not errors and given["lat"] is None and given["address"] is None
