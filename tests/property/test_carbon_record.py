"""Property records its buildings' energy into carbon through carbon's service (issue 10,
"Where it sits"), on both databases: the demo's inventory holds exactly what the registry
holds, an asset's create and edit record its year (replaced, never added to; a fuel removed
leaves nothing; another year adds a year), the importer records what it adds or changes,
and electricity carbon cannot place refuses the change with the asset named."""

from __future__ import annotations

import io
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from govshare.carbon import service as carbon_service
from govshare.carbon.models import ActivityTotal, Source
from govshare.core.errors import ValidationFailed
from govshare.core.tenancy import Principal
from govshare.property import service
from govshare.property.import_export import importer
from govshare.property.models import Asset, AssetStatus
from govshare.property.schemas import AssetIn
from tests.factories.property import asset

# the registry's unit -> carbon's canonical unit (kWh -> MWh, therm -> MMBtu, kBtu -> MMBtu)
TO_CANONICAL = {"electricity_kwh": ("electricity", 1e-3),
                "natural_gas_therms": ("natural_gas", 0.1),
                "district_steam_kbtu": ("district_steam", 1e-3),
                "fuel_oil_gallons": ("fuel_oil", 1.0), "propane_gallons": ("propane", 1.0)}


def carbon_of(session: Session, keys: list[str] | None = None
              ) -> dict[tuple[str, int, str], float]:
    stmt = (sa.select(Source.source_key, ActivityTotal.year, ActivityTotal.activity,
                      ActivityTotal.quantity)
            .join(Source, Source.id == ActivityTotal.source_id)
            .where(Source.source_domain == "property"))
    if keys is not None:
        stmt = stmt.where(Source.source_key.in_(keys))
    return {(k, y, a): q for k, y, a, q in session.execute(stmt)}


def held(a: Asset) -> dict[tuple[str, int, str], float]:
    if a.energy_year is None:
        return {}
    return {(str(a.id), a.energy_year, act): getattr(a, f) * k
            for f, (act, k) in TO_CANONICAL.items() if getattr(a, f)}


def test_the_demo_inventory_holds_what_the_registry_holds(session: Session) -> None:
    assets = session.scalars(sa.select(Asset).where(
        Asset.status != AssetStatus.disposed.value, Asset.energy_year.is_not(None))).all()
    expected: dict[tuple[str, int, str], float] = {}
    for a in assets:
        expected.update(held(a))
    got = carbon_of(session)
    assert len(expected) > 100
    assert set(got) == set(expected)
    for key, q in expected.items():
        assert got[key] == pytest.approx(q, rel=1e-9), key
    # the City of Seattle's buildings keep Seattle City Light as their market factor
    utilities = set(session.scalars(sa.select(Source.utility).join(
        Asset, sa.cast(Asset.id, sa.String) == Source.source_key).where(
        Source.source_domain == "property", Asset.jurisdiction_id == sa.select(
            sa.text("id FROM jurisdictions WHERE name = 'City of Seattle'")).scalar_subquery())))
    assert utilities == {"seattle-city-light"}


def _values(a: Asset, **kw: Any) -> AssetIn:
    fields = {f: getattr(a, f) for f in AssetIn.model_fields}
    fields.update(kw)
    return AssetIn(**fields)


def test_create_and_edit_record_the_assets_year(session: Session, ids: dict[str, int],
                                                system: Principal) -> None:
    a = asset(session, ids["county"], asset_code="CARB-1", electricity_kwh=300_000,
              natural_gas_therms=8_000, energy_year=2016)
    key = str(a.id)
    assert carbon_of(session, [key]) == pytest.approx(held(a))
    # corrected figures of the same year: replaced; the gas removed: gone
    service.update_asset(session=session, actor=system, asset_id=a.id,
                         data=_values(a, electricity_kwh=250_000, natural_gas_therms=None))
    assert carbon_of(session, [key]) == {(key, 2016, "electricity"): pytest.approx(250.0)}
    # figures of another year: a year added beside 2016, never over it
    service.update_asset(session=session, actor=system, asset_id=a.id,
                         data=_values(a, electricity_kwh=200_000, energy_year=2017))
    assert carbon_of(session, [key]) == {(key, 2016, "electricity"): pytest.approx(250.0),
                                         (key, 2017, "electricity"): pytest.approx(200.0)}
    # every fuel of 2017 removed: 2017 cleared, 2016 kept
    service.update_asset(session=session, actor=system, asset_id=a.id,
                         data=_values(a, electricity_kwh=None))
    assert carbon_of(session, [key]) == {(key, 2016, "electricity"): pytest.approx(250.0)}
    # the tonnes follow: 250 MWh at the eGRID2023 NWPP rate (ZIP 98104)
    rows = carbon_service.source_emissions(session, system, source_domain="property",
                                           source_key=key)
    grid = carbon_service.grid_factor(session, zip_code="98104")
    assert [r.year for r in rows] == [2016]
    assert rows[0].t_co2e_location == pytest.approx(250 * grid.kg_co2e_per_mwh / 1000)


def test_electricity_with_no_place_is_refused_with_the_asset_named(
        session: Session, ids: dict[str, int]) -> None:
    with pytest.raises(ValidationFailed, match="eGRID subregion") as exc:
        asset(session, ids["county"], asset_code="NOWHERE-1", zip=None, lon=None, lat=None)
    assert exc.value.errors[0]["loc"] == ["electricity_kwh"]
    assert "NOWHERE-1" in exc.value.errors[0]["value"]


HEADER = ("asset_code,name,use,zip,lat,lon,gross_floor_area_ft2,energy_year,electricity_kwh,"
          "natural_gas_therms")


def test_the_importer_records_what_it_adds_or_changes(session: Session, ids: dict[str, int],
                                                      system: Principal) -> None:
    lines = [HEADER, "IMP-1,Depot,warehouse,98134,47.58,-122.33,10000,2016,100000,2000",
             "IMP-2,Annex,office,98104,47.60,-122.33,5000,2016,50000,"]
    body = ("\n".join(lines) + "\n").encode()
    importer.import_assets(session=session, actor=system, jurisdiction_id=ids["port"],
                           source=io.BytesIO(body), file_name="a.csv")
    by_code = {a.asset_code: a for a in session.scalars(
        sa.select(Asset).where(Asset.jurisdiction_id == ids["port"],
                               Asset.asset_code.in_(["IMP-1", "IMP-2"])))}
    keys = [str(a.id) for a in by_code.values()]
    expected = {**held(by_code["IMP-1"]), **held(by_code["IMP-2"])}
    assert carbon_of(session, keys) == pytest.approx(expected)
    # again, and a dry run of changed figures: nothing added, nothing changed
    importer.import_assets(session=session, actor=system, jurisdiction_id=ids["port"],
                           source=io.BytesIO(body), file_name="a.csv")
    changed = body.replace(b"100000,2000", b"90000,2000")
    importer.import_assets(session=session, actor=system, jurisdiction_id=ids["port"],
                           source=io.BytesIO(changed), file_name="a.csv", dry_run=True)
    assert carbon_of(session, keys) == pytest.approx(expected)
    importer.import_assets(session=session, actor=system, jurisdiction_id=ids["port"],
                           source=io.BytesIO(changed), file_name="a.csv")
    assert carbon_of(session, keys)[(str(by_code["IMP-1"].id), 2016, "electricity")] == \
        pytest.approx(90.0)
    # electricity with no place refuses the whole file, the asset named
    bad = (HEADER + "\nIMP-3,Shed,warehouse,,,,100,2016,5000,\n"
           "IMP-4,Hut,warehouse,98104,47.60,-122.33,100,2016,5000,\n").encode()
    with pytest.raises(importer.ImportRefused) as exc:
        importer.import_assets(session=session, actor=system, jurisdiction_id=ids["port"],
                               source=io.BytesIO(bad), file_name="bad.csv")
    errors = list(exc.value.report)
    assert errors and errors[0].column == "electricity_kwh" and "IMP-3" in errors[0].reason
    assert session.scalar(sa.select(sa.func.count()).select_from(Asset).where(
        Asset.asset_code.in_(["IMP-3", "IMP-4"]))) == 0
