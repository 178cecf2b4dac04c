"""A file from a source without a preset imports through a column mapping (issue 9 §6):
Chicago's energy benchmarking file, whose energy is in kBtu, into the registry.

The mapping is ``FILE_COLUMN=FIELD`` (``FIELD:UNIT`` for energy in another unit), the same on
the CLI (``--map``) and in the service; a bad mapping is refused naming the pair and why.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from govshare.core import tabular
from govshare.core.errors import BadRequest
from govshare.core.tenancy import Role
from govshare.property.import_export import importer
from govshare.property.import_export.fileio import LAYOUT
from govshare.property.import_export.presets import GOVSHARE
from govshare.property.models import Asset
from tests.factories.regions import principal

CHICAGO = Path(__file__).parents[1] / "data" / "chicago_benchmarking_2016_cps_sample.csv"
MAP = ["ID=asset_code", "Property Name=name", "Primary Property Type=use", "Address=address",
       "ZIP Code=zip", "Gross Floor Area - Buildings (sq ft)=gross_floor_area_ft2",
       "Year Built=year_built", "Data Year=energy_year",
       "Electricity Use (kBtu)=electricity_kwh:kbtu",
       "Natural Gas Use (kBtu)=natural_gas_therms:kbtu",
       "District Steam Use (kBtu)=district_steam_kbtu"]


def chicago_rows() -> list[dict[str, str]]:
    with CHICAGO.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_pairs_are_parsed_and_bad_ones_named() -> None:
    assert tabular.parse_mapping(["A = b", "x=y=name"]) == {"b": "A", "name": "x=y"}
    with pytest.raises(tabular.MappingError, match="'nothing' is not FILE_COLUMN=FIELD"):
        tabular.parse_mapping(["nothing"])
    with pytest.raises(tabular.MappingError, match="name is mapped twice"):
        tabular.parse_mapping(["A=name", "B=name"])
    with pytest.raises(tabular.MappingError,
                       match=r"column .a. is mapped twice \(to name and address\)"):
        tabular.parse_mapping(["A=name", " a =address"])
    with pytest.raises(tabular.MappingError, match="at most 200 pairs"):
        tabular.parse_mapping([f"c{i}=f{i}" for i in range(201)])


def test_a_mapping_names_what_is_wrong() -> None:
    with pytest.raises(tabular.MappingError, match="'flavor' is not a field; the fields are: "
                                                   "asset_code, name"):
        tabular.mapped(GOVSHARE, {"flavor": "Flavor"})
    with pytest.raises(tabular.MappingError, match="'furlongs' is not an energy unit"):
        tabular.mapped(GOVSHARE, {"electricity_kwh:furlongs": "Power"})
    with pytest.raises(tabular.MappingError, match="name has no unit to convert"):
        tabular.mapped(GOVSHARE, {"name:kbtu": "Title"})


def test_a_mapped_column_is_read_by_its_field_only() -> None:
    """A column named like another field ("name") but mapped to address fills address; the
    field it is named for does not read it too."""
    preset = tabular.mapped(GOVSHARE, {"address": "name", "name": "Title"})
    plan = tabular.make_plan(["asset_code", "Title", "name", "use"], preset, "csv")
    assert not plan.header_errors
    values, errors = plan.validate(2, ["A-1", "Town hall", "1 Main St", "office"])
    assert not errors
    assert values["name"] == "Town hall" and values["address"] == "1 Main St"
    assert plan.column_of["address"] == "name" and plan.column_of["name"] == "Title"


def test_a_mapped_column_missing_from_the_file_is_a_header_error() -> None:
    preset = tabular.mapped(GOVSHARE, {"name": "Title"})
    plan = tabular.make_plan(["asset_code", "use"], preset, "csv")
    said = [(e.column, e.reason) for e in plan.header_errors]
    assert ("Title", "is mapped to name but the file has no such column (its columns: "
                     "asset_code, use)") in said


def test_units_convert_through_kbtu_and_keep_the_field_range() -> None:
    preset = tabular.mapped(GOVSHARE, {"electricity_kwh:kbtu": "E", "natural_gas_therms:kbtu":
                                       "G", "district_steam_kbtu:mmbtu": "S"})
    plan = tabular.make_plan(["asset_code", "name", "use", "E", "G", "S"], preset, "csv")
    values, errors = plan.validate(2, ["A", "B", "office", "3,412", "250", "1.5"])
    assert not errors
    assert values["electricity_kwh"] == pytest.approx(1000.0)
    assert values["natural_gas_therms"] == pytest.approx(2.5)
    assert values["district_steam_kbtu"] == pytest.approx(1500.0)
    _, errors = plan.validate(3, ["A", "B", "office", "1e308", "x", ""])
    assert [(e.row, e.column) for e in errors] == [(3, "E"), (3, "G")]
    assert "is not a number" in errors[1].reason
    assert LAYOUT.converters["electricity_kwh"] is not preset.converters["electricity_kwh"]


def test_chicagos_file_is_refused_without_a_mapping_and_says_how(
        session: Session, ids: dict[str, int]) -> None:
    actor = principal(Role.regional_admin)
    with pytest.raises(importer.ImportRefused) as refused:
        importer.import_assets(session=session, actor=actor, jurisdiction_id=ids["schools"],
                               source=CHICAGO, dry_run=True)
    assert "column mapping: FILE_COLUMN=FIELD" in refused.value.detail
    refused.value.report.close()


def test_chicagos_file_imports_through_a_mapping(session: Session,
                                                 ids: dict[str, int]) -> None:
    actor = principal(Role.regional_admin)
    rows = chicago_rows()
    mapping = tabular.parse_mapping(MAP)
    dry = importer.import_assets(session=session, actor=actor, jurisdiction_id=ids["schools"],
                                 source=CHICAGO, dry_run=True, mapping=mapping)
    assert (dry.rows, dry.added) == (len(rows), len(rows)) == (40, 40)
    unplaced = dict(dry.unplaced)  # columns with data the registry has no place for: named
    assert unplaced["ENERGY STAR Score"] == sum(1 for r in rows if r["ENERGY STAR Score"])
    assert unplaced["Community Area"] == len(rows)
    # Chicago's points are outside this (Seattle) region: left unmapped here, and named
    assert unplaced["Latitude"] == len(rows)
    with pytest.raises(importer.ImportRefused) as outside:
        importer.import_assets(session=session, actor=actor, jurisdiction_id=ids["schools"],
                               source=CHICAGO, dry_run=True,
                               mapping={**mapping, "lat": "Latitude", "lon": "Longitude"})
    assert outside.value.report.first(1)[0].reason.startswith("the point is outside the region")
    outside.value.report.close()
    result = importer.import_assets(session=session, actor=actor,
                                    jurisdiction_id=ids["schools"], source=CHICAGO,
                                    mapping=mapping)
    assert result.added == 40
    first = rows[0]
    asset = session.query(Asset).filter_by(jurisdiction_id=ids["schools"],
                                           asset_code=first["ID"]).one()
    assert asset.name == first["Property Name"] and asset.use == "school"
    assert asset.electricity_kwh == pytest.approx(float(first["Electricity Use (kBtu)"]) / 3.412)
    assert asset.natural_gas_therms == pytest.approx(float(first["Natural Gas Use (kBtu)"]) / 100)
    assert asset.gross_floor_area_ft2 == int(first["Gross Floor Area - Buildings (sq ft)"])
    again = importer.import_assets(session=session, actor=actor,
                                   jurisdiction_id=ids["schools"], source=CHICAGO,
                                   mapping=mapping)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 40)


def test_a_bad_mapping_is_a_400_naming_it(session: Session, ids: dict[str, int]) -> None:
    with pytest.raises(BadRequest, match="Column mapping: 'flavor' is not a field"):
        importer.import_assets(session=session, actor=principal(Role.regional_admin),
                               jurisdiction_id=ids["schools"], mapping={"flavor": "C"},
                               source=io.BytesIO(b"asset_code,name,use\nA,B,office\n"),
                               dry_run=True)


def test_a_mapping_is_saved_under_a_name_checked_and_audited(session: Session) -> None:
    from govshare.core.audit import AuditEvent
    from govshare.property.import_export import mappings
    from govshare.regions import queries as regions_queries

    region = regions_queries.require_current_region(session=session).id
    admin = principal(Role.regional_admin)
    row = mappings.save_mapping(session=session, actor=admin, region_id=region,
                                name="  Chicago   benchmarking ", pairs=MAP + [""])
    assert row.name == "Chicago benchmarking" and row.pairs == MAP
    again = mappings.get_mapping(session=session, actor=admin, region_id=region,
                                 name="Chicago benchmarking")
    assert again.id == row.id
    mappings.save_mapping(session=session, actor=admin, region_id=region,
                          name="Chicago benchmarking", pairs=MAP[:3])  # replaces
    assert [m.pairs for m in mappings.list_mappings(session=session, actor=admin,
                                                    region_id=region)] == [MAP[:3]]
    with pytest.raises(BadRequest, match="'flavor' is not a field"):
        mappings.save_mapping(session=session, actor=admin, region_id=region, name="Bad",
                              pairs=["Flavor=flavor"])
    with pytest.raises(BadRequest, match="Name the mapping"):
        mappings.save_mapping(session=session, actor=admin, region_id=region, name="  ",
                              pairs=MAP)
    with pytest.raises(BadRequest, match="no column mapping to save"):
        mappings.save_mapping(session=session, actor=admin, region_id=region, name="Empty",
                              pairs=["", " "])
    actions = [e.action for e in session.query(AuditEvent).filter(
        AuditEvent.entity == "import_mapping")]
    assert actions == ["asset.import_mapping.save", "asset.import_mapping.save"]
    with pytest.raises(Exception, match="No saved column mapping is named 'Nope'"):
        mappings.get_mapping(session=session, actor=admin, region_id=region, name="Nope")
    with pytest.raises(Exception, match="may not"):  # an analyst does not manage assets
        mappings.list_mappings(session=session, actor=principal(Role.regional_analyst),
                               region_id=region)
    mappings.delete_mapping(session=session, actor=admin, region_id=region,
                            name="Chicago benchmarking")
    assert mappings.list_mappings(session=session, actor=admin, region_id=region) == []
