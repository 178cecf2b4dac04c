"""Fleet records its fuel and miles into carbon (issue 11 §2), on both databases: one
vehicle's tonnes against a hand computation with the EPA Hub 2025 factors, blends split so
that biogenic CO2 is reported apart, re-imports replacing the periods instead of adding to
them, the Urbana export recording 2017, and electrification counting the home site's grid."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govshare.carbon import service as carbon_service
from govshare.carbon.models import ActivityTotal, Source
from govshare.fleet import importer, planning, service
from govshare.fleet.models import Vehicle
from govshare.fleet.schemas import VehicleIn
from govshare.regions import queries as regions_queries

URBANA = Path(__file__).resolve().parents[1] / "data" / "urbana_fuel_card_export_2017.csv"
FUEL = "source_key,unit_id,occurred_at,product,quantity,unit,cost,odometer\n"
TRIPS = "vehicle,date,start_time,end_time,miles\n"

# EPA GHG Emission Factors Hub 2025: Table 2 (kg CO2 per gallon), Table 3 (Gasoline Passenger
# Cars, model year 2018: g per mile); AR5 GWPs (Hub Table 11).
GASOLINE_KG, ETHANOL_KG, DIESEL_KG, BIODIESEL_KG = 8.78, 5.75, 10.21, 9.45
CAR_2018_CH4_G, CAR_2018_N2O_G = 0.0052, 0.0016
GWP_CH4, GWP_N2O = 28, 265


def _asset_row(session: Session, system: object, jid: int, key: str, year: int
               ) -> tuple[float, float]:
    """(t CO2e location-based, t biogenic CO2) of one fleet source in one year."""
    inv = carbon_service.inventory(session, system, year=year,  # type: ignore[arg-type]
                                   jurisdiction_id=jid, by="asset")
    src = session.scalars(select(Source).where(Source.source_domain == "fleet",
                                               Source.source_key == key)).one()
    rows = [r for r in inv.rows if r.source_id == src.id]
    assert len(rows) == 1, rows
    return rows[0].t_co2e_location, rows[0].t_biogenic_co2


def test_a_vehicles_tonnes_equal_the_hand_computation_and_reimports_replace(
        session: Session, ids: dict[str, int], system: object) -> None:
    v = service.create_vehicle(session=session, actor=system,  # type: ignore[arg-type]
                               jurisdiction_id=ids["city"],
                               data=VehicleIn(unit_id="C-1", vehicle_class="sedan",
                                              model_year=2018, fuel_type="gasoline",
                                              home_lon=-122.33, home_lat=47.6))
    trips = TRIPS + "C-1,2024-03-04,08:00,10:00,100\nC-1,2024-03-05,08:00,09:00,50\n"
    fuel = (FUEL + "F1,C-1,2024-03-04 11:00,e10,10,GA,34.00,10100\n"
            "F2,C-1,2024-03-05 10:00,gasoline,5,GA,17.50,10150\n")
    importer.import_trips(session=session, actor=system,  # type: ignore[arg-type]
                          jurisdiction_id=ids["city"], source=io.BytesIO(trips.encode()),
                          file_name="trips.csv")
    importer.import_fuel(session=session, actor=system,  # type: ignore[arg-type]
                         jurisdiction_id=ids["city"], source=io.BytesIO(fuel.encode()),
                         file_name="fuel.csv", preset="govshare")
    key = service.carbon_key(v.id)
    # by hand: 9 gal gasoline of the E10 + 5 gal gasoline; 1 gal ethanol (biogenic); 150 mi
    fossil_kg = (10 * 0.9 + 5) * GASOLINE_KG
    biogenic_kg = 10 * 0.1 * ETHANOL_KG
    miles_kg = 150 * (CAR_2018_CH4_G * GWP_CH4 + CAR_2018_N2O_G * GWP_N2O) / 1000
    expected_t = (fossil_kg + miles_kg) / 1000
    t, bio = _asset_row(session, system, ids["city"], key, 2024)
    assert t == pytest.approx(expected_t, rel=1e-9)
    assert bio == pytest.approx(biogenic_kg / 1000, rel=1e-9)
    src = session.scalars(select(Source).where(Source.source_key == key)).one()
    assert (src.sector, src.jurisdiction_id) == ("vehicle_fleet", ids["city"])
    # the same files again: the periods are replaced, never added to
    importer.import_fuel(session=session, actor=system,  # type: ignore[arg-type]
                         jurisdiction_id=ids["city"], source=io.BytesIO(fuel.encode()),
                         file_name="fuel.csv", preset="govshare")
    importer.import_trips(session=session, actor=system,  # type: ignore[arg-type]
                          jurisdiction_id=ids["city"], source=io.BytesIO(trips.encode()),
                          file_name="trips.csv")
    assert _asset_row(session, system, ids["city"], key, 2024) == (
        pytest.approx(expected_t, rel=1e-9), pytest.approx(biogenic_kg / 1000, rel=1e-9))
    # a corrected line (the E10 was plain gasoline): no ethanol stays behind
    fixed = FUEL + "F1,C-1,2024-03-04 11:00,gasoline,10,GA,34.00,10100\n"
    importer.import_fuel(session=session, actor=system,  # type: ignore[arg-type]
                         jurisdiction_id=ids["city"], source=io.BytesIO(fixed.encode()),
                         file_name="fixed.csv", preset="govshare")
    t2, bio2 = _asset_row(session, system, ids["city"], key, 2024)
    assert bio2 == 0
    assert t2 == pytest.approx((15 * GASOLINE_KG + miles_kg) / 1000, rel=1e-9)
    # a dry run records nothing
    more = FUEL + "F3,C-1,2024-03-06 10:00,gasoline,100,GA,340.00,10200\n"
    importer.import_fuel(session=session, actor=system,  # type: ignore[arg-type]
                         jurisdiction_id=ids["city"], source=io.BytesIO(more.encode()),
                         file_name="more.csv", preset="govshare", dry_run=True)
    assert _asset_row(session, system, ids["city"], key, 2024)[0] == pytest.approx(t2)
    # the model year is edited: the miles take the new year's factors, the old ones go
    service.update_vehicle(session=session, actor=system,  # type: ignore[arg-type]
                           vehicle_id=v.id,
                           data=VehicleIn(unit_id="C-1", vehicle_class="pickup",
                                          model_year=2018, fuel_type="diesel",
                                          home_lon=-122.33, home_lat=47.6))
    details = session.execute(select(ActivityTotal.activity, ActivityTotal.detail)
                              .where(ActivityTotal.source_id == src.id)).all()
    assert {d for a, d in details if a == "vehicle_miles"} == {"Diesel Light-Duty Trucks|2018"}
    # Hub 2025 Table 4, Diesel Light-Duty Trucks of model years 2007-2022: 0.029 g CH4 and
    # 0.0214 g N2O per mile
    truck_kg = 150 * (0.029 * GWP_CH4 + 0.0214 * GWP_N2O) / 1000
    t3, _bio3 = _asset_row(session, system, ids["city"], key, 2024)
    assert t3 == pytest.approx((15 * GASOLINE_KG + truck_kg) / 1000, rel=1e-9)


def test_blends_split_and_diesel_b2_by_hand(session: Session, ids: dict[str, int],
                                            system: object) -> None:
    v = service.create_vehicle(session=session, actor=system,  # type: ignore[arg-type]
                               jurisdiction_id=ids["county"],
                               data=VehicleIn(unit_id="D-1", vehicle_class="off_road",
                                              fuel_type="diesel"))
    fuel = (FUEL + "B1,D-1,2023-06-01 09:00,b2,50,GA,190.00,\n"
            "B2,D-1,2023-07-01 09:00,diesel,20,GA,76.00,\n"
            "E1,D-1,2023-07-02 09:00,e85,4,GA,12.00,\n")
    importer.import_fuel(session=session, actor=system,  # type: ignore[arg-type]
                         jurisdiction_id=ids["county"], source=io.BytesIO(fuel.encode()),
                         file_name="fuel.csv", preset="govshare")
    key = service.carbon_key(v.id)
    t, bio = _asset_row(session, system, ids["county"], key, 2023)
    # off-road equipment: no per-mile factors, in the equipment sector; its fuel's CH4 and
    # N2O per gallon from Hub 2025 Table 5 (no type named: construction equipment, diesel
    # equipment 1.01 g CH4 and 0.94 g N2O, 4-stroke gasoline 2.86 and 1.48 g per gallon)
    nonroad_kg = (69 * (1.01 * GWP_CH4 + 0.94 * GWP_N2O)
                  + 0.6 * (2.86 * GWP_CH4 + 1.48 * GWP_N2O)) / 1000
    assert t == pytest.approx((50 * 0.98 * DIESEL_KG + 20 * DIESEL_KG
                               + 4 * 0.15 * GASOLINE_KG + nonroad_kg) / 1000, rel=1e-9)
    assert bio == pytest.approx((50 * 0.02 * BIODIESEL_KG + 4 * 0.85 * ETHANOL_KG) / 1000,
                                rel=1e-9)
    assert session.scalars(select(Source.sector).where(Source.source_key == key)).one() == \
        "equipment"


def test_the_urbana_import_records_2017_and_a_reimport_does_not_double_count(
        session: Session, ids: dict[str, int], system: object) -> None:
    importer.import_fuel(session=session, actor=system,  # type: ignore[arg-type]
                         jurisdiction_id=ids["city"], source=URBANA)

    def fleet_2017() -> tuple[float, float]:
        inv = carbon_service.inventory(session, system, year=2017,  # type: ignore[arg-type]
                                       jurisdiction_id=ids["city"], by="sector")
        rows = [r for r in inv.rows if r.sector in ("vehicle_fleet", "equipment")]
        return (sum(r.t_co2e_location for r in rows), sum(r.t_biogenic_co2 for r in rows))

    t, bio = fleet_2017()
    # 91,939 gallons of gasoline, E10, E85, diesel and B2: some hundreds of tonnes
    assert 600 < t < 1000
    assert bio > 0
    n = session.scalar(select(func.count()).select_from(Source).where(
        Source.source_domain == "fleet", Source.jurisdiction_id == ids["city"],
        Source.source_key.in_([service.carbon_key(i) for i in session.scalars(
            select(Vehicle.id).where(Vehicle.source.startswith(
                "registered from fuel-card import urbana_")))])))
    assert n is not None and n > 100
    importer.import_fuel(session=session, actor=system,  # type: ignore[arg-type]
                         jurisdiction_id=ids["city"], source=URBANA)
    assert fleet_2017() == (pytest.approx(t, rel=1e-12), pytest.approx(bio, rel=1e-12))


def test_the_demo_fleet_is_in_the_inventory_and_electrification_counts_the_grid(
        session: Session, ids: dict[str, int], system: object) -> None:
    inv = carbon_service.inventory(session, system, year=2025,  # type: ignore[arg-type]
                                   by="sector")
    fleet = [r for r in inv.rows if r.sector == "vehicle_fleet"]
    assert {r.jurisdiction_id for r in fleet} >= {ids["city"], ids["county"]}
    assert all(r.t_co2e_location > 0 and r.t_biogenic_co2 > 0 for r in fleet)
    # the region's 2025 holds only the synthetic fleet (its buildings are 2016): a partial
    # year, shown apart, not a fall in emissions judged on track
    p = carbon_service.progress(session, system)  # type: ignore[arg-type]
    assert 2025 in p.history and p.partial[2025] == ["buildings"]
    assert p.latest_year == 2016
    region = regions_queries.require_current_region(session=session)
    r = planning.electrification(session=session, actor=system,  # type: ignore[arg-type]
                                 region_id=region.id, grid=service.grid_lookup(session))
    counted = [c for c, _f in r.cases if c.ev_kg_per_year is not None]
    assert counted and all("NWPP" in (c.ev_grid_source or "") for c in counted)
    assert "not counted" not in r.grid_note
    # the replacement plan's trajectory adds the electric emissions it causes
    case = counted[0]
    assert case.ev_kg_per_year == pytest.approx(
        case.annual_miles * case.option.kwh_per_mile  # type: ignore[operator, union-attr]
        * carbon_service.grid_factor(session, lon=-122.33, lat=47.6).kg_co2e_per_mwh / 1000)
