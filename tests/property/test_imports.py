"""The asset importer on both backends: demo buildings, round trips, idempotence, counts,
all-or-nothing, partial updates, statuses, authorization, audit and exports."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from govshare.core.audit import AuditEvent
from govshare.core.errors import Forbidden
from govshare.core.tenancy import Principal, Role
from govshare.property.import_export import exporter, importer
from govshare.property.models import Asset, AssetStatusChange
from tests.factories.regions import principal

SYNTHETIC = ["capacity", "occupancy", "annual_om_cost_cents", "repair_needs_cents",
             "replacement_value_cents", "status"]


def csv_bytes(header: str, *lines: str) -> io.BytesIO:
    return io.BytesIO(("\n".join([header, *lines]) + "\n").encode())


def run(session: Session, actor: Principal, jid: int, source: Any, **kw: Any
        ) -> importer.ImportResult:
    return importer.import_assets(session=session, actor=actor, jurisdiction_id=jid,
                                 source=source, **kw)


def assets_of(session: Session, jid: int) -> dict[str, Asset]:
    return {a.asset_code: a for a in session.scalars(
        sa.select(Asset).where(Asset.jurisdiction_id == jid))}


def audit_count(session: Session) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) or 0


# --------------------------------------------------------------------------- demo data


def test_demo_buildings_are_real_and_their_gaps_synthetic(session: Session,
                                                          ids: dict[str, int]) -> None:
    counts = {k: len(assets_of(session, ids[k])) for k in ("city", "schools", "county",
                                                            "state", "port")}
    assert counts == {"city": 85, "schools": 98, "county": 7, "state": 5, "port": 0}
    lib = assets_of(session, ids["city"])["21"]  # Central Library, 2016 benchmarking
    assert (lib.name, lib.use, lib.pm_property_type) == (
        "The Seattle Public Library - Central Library", "library", "Library")
    assert (lib.gross_floor_area_ft2, lib.year_built, lib.energy_year) == (412000.0, 2004, 2016)
    assert (lib.electricity_kwh, lib.natural_gas_therms, lib.district_steam_kbtu) == (
        5231916.0, 0.0, 737559.5)
    assert (lib.lat, lib.lon, lib.zip) == (47.60649, -122.33297, "98154")
    assert set(lib.synthetic_fields) == set(SYNTHETIC)
    assert lib.capacity and lib.replacement_value_cents
    assert "data.seattle.gov" in (lib.source or "")
    county = assets_of(session, ids["county"])
    assert county["26"].use == "courthouse" and county["27"].public_groups == []
    city = assets_of(session, ids["city"])
    assert city["50198"].use == "fire_station"  # filed as "Prison/Incarceration"
    statuses = [a.status for a in city.values()]
    assert statuses.count("in_use") > len(statuses) / 2
    assert {"under_used", "vacant", "surplus"} & set(statuses)
    history = session.scalar(sa.select(sa.func.count()).select_from(AssetStatusChange)
                             .join(Asset, Asset.id == AssetStatusChange.asset_id)
                             .where(Asset.jurisdiction_id == ids["city"]))
    assert history == 85
    events = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "asset.import",
                                                         AuditEvent.actor == "system:demo")).all()
    assert sorted(e.after["added"] for e in events) == [5, 7, 85, 98]  # type: ignore[index]


def test_reimporting_the_benchmarking_file_keeps_the_synthetic_figures(
        session: Session, ids: dict[str, int], system: Principal) -> None:
    from govshare.cli.demo_property import DATA_FILE, owner_of

    src = Path(__file__).resolve().parents[2] / "src/govshare/property/data" / DATA_FILE
    rows = [r for r in csv.DictReader(src.open(encoding="utf-8"))
            if owner_of(r["BuildingType"], r["PropertyName"]) == "King County"]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
    before = {c: (a.capacity, a.synthetic_fields) for c, a in
              assets_of(session, ids["county"]).items()}
    result = run(session, system, ids["county"], io.BytesIO(buf.getvalue().encode()),
                 preset="seattle-benchmarking")
    assert (result.added, result.updated, result.unchanged) == (0, 0, 7)
    after = {c: (a.capacity, a.synthetic_fields) for c, a in
             assets_of(session, ids["county"]).items()}
    assert after == before


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "geojson"])
def test_export_then_import_changes_nothing(fmt: str, session: Session, ids: dict[str, int],
                                            system: Principal) -> None:
    out = io.BytesIO()
    n = exporter.export_file(session=session, actor=system, jurisdiction_ids=[ids["city"]],
                            fmt=fmt, out=out)
    assert n == 85
    before = {c: a.updated_at for c, a in assets_of(session, ids["city"]).items()}
    out.seek(0)
    result = run(session, system, ids["city"], out, fmt=fmt)
    assert (result.rows, result.added, result.updated, result.unchanged) == (85, 0, 0, 85)
    assert {c: a.updated_at for c, a in assets_of(session, ids["city"]).items()} == before


def test_counts_added_updated_unchanged_and_idempotence(session: Session, ids: dict[str, int],
                                                        system: Principal) -> None:
    header = "asset_code,name,use,gross_floor_area_ft2,annual_om_cost_cents"
    first = ["N-1,North annex,office,1000,5000", "N-2,Depot,warehouse,2000,",
             "N-3,Pool house,community_center,,"]
    r1 = run(session, system, ids["port"], csv_bytes(header, *first))
    assert (r1.added, r1.updated, r1.unchanged) == (3, 0, 0)
    r2 = run(session, system, ids["port"], csv_bytes(header, *first))
    assert (r2.added, r2.updated, r2.unchanged) == (0, 0, 3)
    r3 = run(session, system, ids["port"], csv_bytes(
        header, first[0], "N-2,Depot,warehouse,2500,", first[2], "N-4,Yard,park,,"))
    assert (r3.added, r3.updated, r3.unchanged, r3.rows) == (1, 1, 2, 4)
    got = assets_of(session, ids["port"])
    assert got["N-2"].gross_floor_area_ft2 == 2500.0 and got["N-1"].annual_om_cost_cents == 5000
    assert got["N-4"].pm_property_type is None and got["N-1"].pm_property_type == "Office"
    assert got["N-2"].public_groups == ["identity", "location", "size", "status"]
    history = session.scalars(sa.select(AssetStatusChange.to_status)
                              .where(AssetStatusChange.asset_id == got["N-4"].id)).all()
    assert history == ["in_use"]
    event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "asset.import")
                            .order_by(AuditEvent.id.desc())).first()
    assert event is not None and event.jurisdiction_id == ids["port"]
    assert event.after is not None
    assert (event.after["added_codes"], event.after["updated_codes"]) == (["N-4"], ["N-2"])
    assert len(event.after["sha256"]) == 64 and event.after["preset"] == "govshare"


def test_all_or_nothing(session: Session, ids: dict[str, int], system: Principal) -> None:
    lines = [f"A-{i},Building {i},office,{i * 10}" for i in range(1, 40)]
    lines[30] = "A-31,Building 31,office,-5"
    before = (len(assets_of(session, ids["port"])), audit_count(session))
    with pytest.raises(importer.ImportRefused) as info:
        run(session, system, ids["port"], csv_bytes("asset_code,name,use,gross_floor_area_ft2",
                                                    *lines))
    assert [(e.row, e.column) for e in info.value.report] == [(32, "gross_floor_area_ft2")]
    assert info.value.status == 422 and info.value.errors[0]["row"] == 32
    assert (len(assets_of(session, ids["port"])), audit_count(session)) == before


def test_dry_run_counts_and_writes_nothing(session: Session, ids: dict[str, int],
                                           system: Principal) -> None:
    before = (len(assets_of(session, ids["port"])), audit_count(session))
    r = run(session, system, ids["port"], csv_bytes("asset_code,name,use", "D-1,Dry,office"),
            dry_run=True)
    assert (r.added, r.dry_run) == (1, True)
    assert (len(assets_of(session, ids["port"])), audit_count(session)) == before


def test_partial_update_and_real_data_replaces_synthetic(session: Session, ids: dict[str, int],
                                                         system: Principal) -> None:
    lib_before = assets_of(session, ids["city"])["21"]
    kwh, capacity = lib_before.electricity_kwh, lib_before.capacity
    frpp = csv_bytes("Real Property Unique Identifier,Real Property Name,Real Property Use,"
                     "Annual Operating Costs",
                     '21,The Seattle Public Library - Central Library,Library,"$900,000"')
    r = run(session, system, ids["city"], frpp, preset="frpp")
    assert (r.updated, r.added) == (1, 0)
    lib = assets_of(session, ids["city"])["21"]
    assert lib.annual_om_cost_cents == 90_000_000
    assert "annual_om_cost_cents" not in lib.synthetic_fields
    assert "capacity" in lib.synthetic_fields
    assert (lib.electricity_kwh, lib.capacity) == (kwh, capacity)


def test_new_assets_take_the_files_status_with_history(session: Session, ids: dict[str, int],
                                                       system: Principal) -> None:
    run(session, system, ids["port"], csv_bytes("asset_code,name,use,status",
                                                "S-1,Old shed,other,surplus"))
    a = assets_of(session, ids["port"])["S-1"]
    hist = session.execute(sa.select(AssetStatusChange.from_status, AssetStatusChange.to_status,
                                     AssetStatusChange.actor)
                           .where(AssetStatusChange.asset_id == a.id)).all()
    assert [tuple(h) for h in hist] == [(None, "surplus", system.ref)]
    with pytest.raises(importer.ImportRefused, match="problem"):
        run(session, system, ids["port"], csv_bytes("asset_code,name,use,status",
                                                    "S-1,Old shed,other,in_use"))


def test_only_those_who_manage_the_jurisdiction_import(session: Session,
                                                       ids: dict[str, int]) -> None:
    data = "asset_code,name,use\nX-1,X,office\n"
    for actor in (principal(Role.jurisdiction_staff, ids["city"]),
                  principal(Role.regional_analyst)):
        with pytest.raises(Forbidden):
            run(session, actor, ids["county"], io.BytesIO(data.encode()))
    r = run(session, principal(Role.jurisdiction_staff, ids["county"]), ids["county"],
            io.BytesIO(data.encode()))
    assert r.added == 1


# --------------------------------------------------------------------------- exports


def test_another_members_export_shows_only_what_is_published(session: Session,
                                                             ids: dict[str, int]) -> None:
    kc = principal(Role.jurisdiction_admin, ids["county"])
    columns, rows = exporter.export_rows(session=session, actor=kc, jurisdiction_ids=[ids["city"]])
    got = [dict(zip(columns, r, strict=True)) for r in rows]
    city = assets_of(session, ids["city"])
    published = [a for a in city.values() if a.public_groups]
    assert len(got) == len(published) < len(city)  # police precincts publish nothing
    assert all(r["asset_code"] is None for r in got)
    in_use = next(r for r in got if r["status"] == "in_use")
    assert in_use["capacity"] is None and in_use["name"] and in_use["lon"] is not None
    assert "capacity" not in in_use["synthetic_fields"] and "status" in in_use["synthetic_fields"]
    own, own_rows = exporter.export_rows(session=session, actor=kc,
                                        jurisdiction_ids=[ids["county"]])
    assert all(r[1] for r in own_rows)  # own assets: every field, ids included


def test_xlsx_and_geojson_exports(session: Session, ids: dict[str, int],
                                  system: Principal) -> None:
    buf = io.BytesIO()
    exporter.export_file(session=session, actor=system, jurisdiction_ids=[ids["state"]],
                        fmt="xlsx", out=buf)
    ws = openpyxl.load_workbook(io.BytesIO(buf.getvalue()), read_only=True).worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:3] == ("jurisdiction", "asset_code", "name") and len(rows) == 6
    assert all(isinstance(r[rows[0].index("gross_floor_area_ft2")], int | float)
               for r in rows[1:])  # numbers stay numbers
    buf = io.BytesIO()
    exporter.export_file(session=session, actor=system, jurisdiction_ids=[ids["state"]],
                        fmt="geojson", out=buf)
    doc = json.loads(buf.getvalue())
    assert doc["type"] == "FeatureCollection" and len(doc["features"]) == 5
    assert all(f["geometry"]["type"] == "Point" for f in doc["features"])
    lon, lat = doc["features"][0]["geometry"]["coordinates"]
    assert -123 < lon < -122 and 47 < lat < 48


def test_duplicate_check_spills_and_finds_every_repeat(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importer._Codes, "BLOCK", 4)  # spill to disk all the time
    codes = importer._Codes()
    for i in range(5_000):
        codes.add(f"ID-{i}", i + 2)
    for row, i in ((9_000, 17), (9_001, 4_999), (9_002, 17)):
        codes.add(f"ID-{i}", row)
    assert codes.spill is not None
    assert codes.duplicates() == [(9_000, 19), (9_001, 5_001), (9_002, 19)]


def test_location_checks_while_streaming_into_an_empty_jurisdiction(
        session: Session, ids: dict[str, int], system: Principal) -> None:
    """The port starts empty, so on PostgreSQL pass 1 streams into one open COPY: the location
    checks (including the edge tolerance, which reads the boundaries) must not query then."""
    data = csv_bytes("asset_code,name,use,lon,lat",
                     "P-1,Pier shed,warehouse,-122.35926,47.6068",  # Elliott Bay: 300 m out
                     "P-2,Portland office,office,-122.6765,45.5231",
                     "P-3,Swapped,office,47.6062,-122.3321")
    with pytest.raises(importer.ImportRefused) as info:
        run(session, system, ids["port"], data)
    got = [(e.row, e.column, e.reason) for e in info.value.report]
    assert [(r, c) for r, c, _ in got] == [(3, "lat, lon"), (4, "lat")]
    assert "outside the region" in got[0][2] and "look swapped" in got[1][2]
    assert len(assets_of(session, ids["port"])) == 0
    r = run(session, system, ids["port"], csv_bytes("asset_code,name,use,lon,lat",
                                                    "P-1,Pier shed,warehouse,-122.35926,47.6068"))
    assert r.added == 1


# ------------------------------------------------------------ nothing dropped, no year lost

SEATTLE_2015 = Path(__file__).parents[1] / "data" / "seattle_benchmarking_2015_city_owned.csv"


def test_an_older_year_says_which_energy_figures_it_replaces(
        session: Session, ids: dict[str, int], system: Principal) -> None:
    """Issue 8, 2.16: Seattle's 2015 file imported through the Seattle preset with every
    location empty, OtherFuelUse(kBtu) dropped with only a 'Columns not used' line, and the
    2016 energy of the city's assets overwritten by 2015's without a word."""
    before = assets_of(session, ids["city"])
    codes_2015 = {r["OSEBuildingID"] for r in csv.DictReader(SEATTLE_2015.open())}
    held_2016 = {c for c, a in before.items() if c in codes_2015 and a.energy_year == 2016}
    assert len(held_2016) > 50  # the demo holds the city's 2016 figures for most of them

    dry = run(session, system, ids["city"], SEATTLE_2015, preset="seattle-benchmarking",
              dry_run=True)
    (replaced,) = dry.energy_replaced
    assert (replaced.from_year, replaced.to_year) == (2016, 2015)
    assert set(replaced.codes) == held_2016 and replaced.count == len(held_2016)
    notes = " ".join(dry.notes())
    assert f"{len(held_2016)} assets held 2016 figures; the import would replace them" in notes
    assert "OtherFuelUse(kBtu) (68 rows)" in notes and "no place" in notes
    assert ("OtherFuelUse(kBtu)", 68) in dry.unplaced
    assert all(column != "Location" for column, _ in dry.unplaced)
    assert assets_of(session, ids["city"])["103"].energy_year == before["103"].energy_year

    result = run(session, system, ids["city"], SEATTLE_2015, preset="seattle-benchmarking")
    assert [(r.from_year, r.to_year, r.count) for r in result.energy_replaced] == [
        (2016, 2015, len(held_2016))]
    after = assets_of(session, ids["city"])
    assert all(after[c].lat is not None and after[c].address for c in codes_2015)
    arena = after["103"]
    assert (arena.lat, arena.lon, arena.address, arena.zip, arena.energy_year) == (
        47.62124083, -122.3534322, "305 HARRISON ST", "98109", 2015)
    event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "asset.import")
                            .order_by(AuditEvent.id.desc()).limit(1)).one()
    assert event.after["energy_replaced"][0]["assets"] == len(held_2016)
    assert event.after["unplaced_columns"]["OtherFuelUse(kBtu)"] == 68


def test_figures_without_a_year_over_a_stated_year_are_said_too(
        session: Session, ids: dict[str, int], system: Principal) -> None:
    lib = assets_of(session, ids["city"])["21"]
    assert lib.energy_year == 2016
    result = run(session, system, ids["city"], csv_bytes(
        "asset_code,name,use,electricity_kwh", f"21,{lib.name},library,1"), dry_run=True)
    assert [(r.from_year, r.to_year, r.codes) for r in result.energy_replaced] == [
        (2016, None, ["21"])]
    assert "which give no year" in result.notes()[0]
    same_year = run(session, system, ids["city"], csv_bytes(
        "asset_code,name,use,energy_year,electricity_kwh", f"21,{lib.name},library,2016,1"),
        dry_run=True)
    assert same_year.updated == 1 and same_year.energy_replaced == []
