"""The inventory against hand-computed values: a two-member region with a shared asset
(operational control vs the naive sum), AR5 vs AR6, location vs market, gaps, idempotence,
periods as a series, and who sees what. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy.orm import Session

from govshare.carbon import service
from govshare.carbon.calc import Method
from govshare.core import tabular as t
from govshare.core.errors import Forbidden, NotFound
from govshare.core.tenancy import Principal, Role
from govshare.regions import queries as regions_queries
from govshare.regions import service as regions_service
from govshare.regions.schemas import JurisdictionCreate, JurisdictionKind

LB = 0.45359237
NWPP = {"CO2": 631.705, "CH4": 0.054, "N2O": 0.008}  # Hub 2025 Table 6, lb/MWh
GAS = {"CO2": 53.06, "CH4": 0.001, "N2O": 0.0001}  # Hub 2025 Table 1, kg/MMBtu
SCL = 52.44 * LB  # kg CO2e/MWh
AR5 = {"CO2": 1, "CH4": 28, "N2O": 265}
AR6 = {"CO2": 1, "CH4": 27.9, "N2O": 273}


def co2e(per_gas: dict[str, float], gwp: dict[str, float]) -> float:
    return sum(v * gwp[g] for g, v in per_gas.items())


def _row(key: str, jid: int, activity: str, qty: float, unit: str, **kw: Any) -> dict[str, Any]:
    return {"source_key": key, "jurisdiction_id": jid, "name": f"Asset {key}",
            "activity": activity, "quantity": qty, "unit": unit,
            "period_start": kw.pop("start", date(2016, 1, 1)),
            "period_end": kw.pop("end", date(2016, 12, 31)), "zip": "98104", **kw}


def _member(session: Session, system: Principal, name: str, kind: str) -> int:
    region = regions_queries.require_current_region(session=session)
    return regions_service.add_jurisdiction(
        session=session, actor=system, region_id=region.id,
        data=JurisdictionCreate(name=name, kind=JurisdictionKind(kind))).id


@pytest.fixture
def two_members(session: Session, system: Principal) -> dict[str, int]:
    """Two new members with nothing recorded (the demo's members have their buildings)."""
    service.install_builtin_sets(session)
    city = _member(session, system, "Testville", "city")
    county = _member(session, system, "Test County", "county")
    service.record_activity(session, system, "test", [
        _row("A", city, "electricity", 1_000_000, "kWh", utility="seattle-city-light"),
        _row("A", city, "natural_gas", 10_000, "therm"),
        # B: a county building the city also counts in its own inventory
        _row("B", county, "natural_gas", 500, "MMBtu", shared_with=[city]),
    ])
    return {"city": city, "county": county}


def test_two_members_by_hand(session: Session, system: Principal,
                             two_members: dict[str, int]) -> None:
    inv = service.inventory(session, system, year=2016, by="jurisdiction")
    by_j = {r.jurisdiction_id: r for r in inv.rows if r.jurisdiction_id in two_members.values()}
    elec_loc = 1000 * co2e(NWPP, AR5) * LB / 1000
    elec_mkt = 1000 * SCL / 1000
    gas_a = 1000 * co2e(GAS, AR5) / 1000
    gas_b = 500 * co2e(GAS, AR5) / 1000
    city = by_j[two_members["city"]]
    assert city.t_co2e_location == pytest.approx(elec_loc + gas_a, rel=1e-12)
    assert city.t_co2e_market == pytest.approx(elec_mkt + gas_a, rel=1e-12)
    county = by_j[two_members["county"]]
    assert county.t_co2e_location == pytest.approx(gas_b, rel=1e-12)
    assert county.t_co2e_market == pytest.approx(gas_b, rel=1e-12)
    # the roll-up counts B once; the naive sum of own inventories twice
    roll = service.regional_rollup(session, system, year=2016, method=Method.location)
    assert roll.double_counted_t == pytest.approx(gas_b, rel=1e-12)
    assert roll.naive_t - roll.region_t == pytest.approx(gas_b, rel=1e-12)
    assert roll.shared_sources == 1


def test_recompute_under_ar6(session: Session, system: Principal,
                             two_members: dict[str, int]) -> None:
    inv = service.inventory(session, system, year=2016, by="jurisdiction", gwp_set="AR6",
                            jurisdiction_id=two_members["city"])
    (row,) = inv.rows
    assert inv.gwp_set == "AR6"
    assert row.t_co2e_location == pytest.approx(
        1000 * co2e(NWPP, AR6) * LB / 1000 + 1000 * co2e(GAS, AR6) / 1000, rel=1e-12)
    # market electricity is given in CO2e: the GWP set does not change it
    assert row.t_co2e_market == pytest.approx(1000 * SCL / 1000 + 1000 * co2e(GAS, AR6) / 1000,
                                              rel=1e-12)


def test_by_gas_and_scope(session: Session, system: Principal,
                          two_members: dict[str, int]) -> None:
    inv = service.inventory(session, system, year=2016, by="gas",
                            jurisdiction_id=two_members["city"])
    got = {(r.scope, r.gas): r for r in inv.rows}
    assert got[("2", "CO2")].t_gas == pytest.approx(1000 * NWPP["CO2"] * LB / 1000)
    assert got[("1", "CH4")].t_gas == pytest.approx(1000 * GAS["CH4"] / 1000)
    assert got[("1", "N2O")].t_co2e_location == pytest.approx(1000 * GAS["N2O"] * 265 / 1000)
    # market electricity arrives as CO2e, location as three gases
    assert got[("2", "CO2e")].t_co2e_market == pytest.approx(1000 * SCL / 1000)
    assert got[("2", "CO2e")].t_co2e_location == 0


def test_idempotent_and_series(session: Session, system: Principal,
                               two_members: dict[str, int]) -> None:
    city = two_members["city"]
    first = service.inventory(session, system, year=2016, by="jurisdiction",
                              jurisdiction_id=city)
    again = service.record_activity(session, system, "test", [
        _row("A", city, "electricity", 1_000_000, "kWh", utility="seattle-city-light")])
    assert again.replaced_periods == 1
    second = service.inventory(session, system, year=2016, by="jurisdiction",
                               jurisdiction_id=city)
    assert second.total_location == pytest.approx(first.total_location, rel=1e-12)
    assert second.total_market == pytest.approx(first.total_market, rel=1e-12)
    # 2015 beside 2016 adds a year and leaves 2016 as it was
    service.record_activity(session, system, "test", [
        _row("A", city, "electricity", 500, "MWh", utility="seattle-city-light",
             start=date(2015, 1, 1), end=date(2015, 12, 31))])
    inv = service.inventory(session, system, by="jurisdiction", jurisdiction_id=city)
    years = {r.year: r.t_co2e_market for r in inv.rows}
    assert years[2015] == pytest.approx(500 * SCL / 1000, rel=1e-12)
    assert years[2016] == pytest.approx(first.total_market, rel=1e-12)
    # a bill across the new year is split by days
    service.record_activity(session, system, "test", [
        _row("C", city, "natural_gas", 365, "MMBtu", start=date(2016, 12, 1),
             end=date(2017, 11, 30))])
    inv = service.inventory(session, system, by="jurisdiction", jurisdiction_id=city)
    y17 = [r for r in inv.rows if r.year == 2017][0]
    assert y17.t_co2e_location == pytest.approx(334 * co2e(GAS, AR5) / 1000)


def test_bad_rows_refused_whole(session: Session, system: Principal,
                                ids: dict[str, int]) -> None:
    service.install_builtin_sets(session)
    city = ids["city"]
    with pytest.raises(t.Refused) as exc:
        service.record_activity(session, system, "test", [
            _row("X", city, "natural_gas", 10, "furlongs"),
            _row("Y", city, "natural_gas", -5, "therm"),
            _row("Z", city, "electricity", 10, "kWh", zip="00000x"),
            _row("W", city, "diesel", 10, "gal", start=date(2016, 5, 1), end=date(2016, 4, 1)),
            _row("V", city, "diesel", 10, "gal", start=date(2016, 1, 1), end=date(2016, 6, 30)),
            _row("V", city, "diesel", 10, "gal", start=date(2016, 6, 1), end=date(2016, 12, 31)),
            _row("U", city, "electricity", 10, "kWh", zip=None),
            _row("T", city, "electricity", -10, "kWh"),
        ])
    errors = {(e.row, e.column): e.reason for e in exc.value.report}
    assert "not a unit of natural gas" in errors[(1, "unit")]
    assert "cannot be negative" in errors[(2, "quantity")]
    assert (3, "zip") in errors
    assert any(k[0] == 4 and "reversed" in v for k, v in errors.items())
    assert "overlaps" in errors[(6, "period_start")]
    assert "no eGRID subregion" in errors[(7, "zip")]
    assert "net-metered" in errors[(8, "quantity")]
    shown = service.inventory(session, system, by="asset", jurisdiction_id=city).rows
    assert not {r.source for r in shown} & {"Asset X", "Asset Y", "Asset V", "Asset T"}


def test_net_metered_negative_allowed(session: Session, system: Principal,
                                      ids: dict[str, int]) -> None:
    service.install_builtin_sets(session)
    service.record_activity(session, system, "test", [
        _row("N", ids["city"], "electricity", -33_826.8, "kWh", net_metered=True,
             utility="seattle-city-light")])
    inv = service.inventory(session, system, by="asset", year=2016,
                            jurisdiction_id=ids["city"])
    (row,) = [r for r in inv.rows if r.source == "Asset N"]
    assert row.t_co2e_market == pytest.approx(-33.8268 * SCL / 1000)


def test_gap_when_no_factor(session: Session, system: Principal,
                            two_members: dict[str, int]) -> None:
    ids = two_members
    service.record_activity(session, system, "test", [
        _row("M", ids["city"], "vehicle_miles", 1000, "mile", sector="vehicle_fleet",
             vehicle_type="Hovercraft", model_year=2016),
        _row("O", ids["city"], "natural_gas", 100, "MMBtu", start=date(2040, 1, 1),
             end=date(2040, 12, 31))])
    inv = service.inventory(session, system, jurisdiction_id=ids["city"])
    reasons = {g.activity: g.reason for g in inv.gaps}
    assert "Hovercraft" in reasons["vehicle_miles"]
    assert "covers 2040" in reasons["natural_gas"]


def test_hub_hand_checks(session: Session, system: Principal, ids: dict[str, int]) -> None:
    """A gasoline and a diesel vehicle-year and a natural-gas building-year against the Hub."""
    service.install_builtin_sets(session)
    city = ids["city"]
    service.record_activity(session, system, "test", [
        _row("car", city, "gasoline", 500, "gal", sector="vehicle_fleet"),
        _row("car", city, "vehicle_miles", 12_000, "mile", sector="vehicle_fleet",
             vehicle_type="Gasoline Passenger Cars", model_year=2015),
        _row("truck", city, "diesel", 2_000, "gal", sector="vehicle_fleet"),
        _row("truck", city, "vehicle_miles", 15_000, "mile", sector="vehicle_fleet",
             vehicle_type="Diesel Medium- and Heavy-Duty Vehicles", model_year=2012),
        _row("hall", city, "natural_gas", 20_000, "therm"),
    ])
    inv = service.inventory(session, system, by="asset", year=2016, jurisdiction_id=city)
    got = {r.source: r.t_co2e_location for r in inv.rows}
    # Table 2: 8.78 kg CO2/gal; Table 3 passenger car MY2015: 0.0068 g CH4, 0.0042 g N2O/mile
    assert got["Asset car"] == pytest.approx(
        (500 * 8.78 + 12_000 * (0.0068 * 28 + 0.0042 * 265) / 1000) / 1000, rel=1e-12)
    # Table 2: 10.21 kg CO2/gal; Table 4 diesel medium/heavy MY2007+: 0.0095 g CH4, 0.0431 g N2O
    assert got["Asset truck"] == pytest.approx(
        (2_000 * 10.21 + 15_000 * (0.0095 * 28 + 0.0431 * 265) / 1000) / 1000, rel=1e-12)
    # Table 1: natural gas 53.06 kg CO2, 1 g CH4, 0.1 g N2O per MMBtu; 1 therm = 0.1 MMBtu
    assert got["Asset hall"] == pytest.approx(2_000 * (53.06 + 0.028 + 0.0265) / 1000, rel=1e-12)


def test_grid_factor(session: Session) -> None:
    g = service.grid_factor(session, zip_code="98104")
    assert g.subregion == "NWPP"
    assert g.kg_co2e_per_mwh == pytest.approx(co2e(NWPP, AR5) * LB)
    p = service.grid_factor(session, lon=-122.33, lat=47.6)
    assert p.subregion == "NWPP"
    with pytest.raises(NotFound):
        service.grid_factor(session, lon=0.0, lat=0.0)


def test_who_sees_what(session: Session, two_members: dict[str, int]) -> None:
    staff = Principal(kind="user", role=Role.jurisdiction_staff, user_id=1,
                      jurisdiction_id=two_members["county"])
    inv = service.inventory(session, staff, year=2016, by="jurisdiction")
    assert {r.jurisdiction_id for r in inv.rows} == {two_members["county"]}
    with pytest.raises(NotFound):
        service.inventory(session, staff, jurisdiction_id=two_members["city"])
    with pytest.raises(Forbidden):
        service.regional_rollup(session, staff, year=2016)
    with pytest.raises(Forbidden):
        service.record_activity(session, staff, "test", [
            _row("Q", two_members["city"], "natural_gas", 1, "therm")])
    analyst = Principal(kind="user", role=Role.regional_analyst, user_id=2)
    inv = service.inventory(session, analyst, year=2016, by="jurisdiction")
    assert {two_members["city"], two_members["county"]} <= {r.jurisdiction_id for r in inv.rows}


def test_progress_against_targets(session: Session, system: Principal) -> None:
    from govshare.carbon.schemas import MeasureIn, TargetIn

    service.install_builtin_sets(session)
    city = _member(session, system, "Progressville", "city")
    for year, therms in ((2016, 20_000), (2017, 19_000), (2018, 18_000)):
        service.record_activity(session, system, "test", [
            _row("P", city, "natural_gas", therms, "therm", start=date(year, 1, 1),
                 end=date(year, 12, 31))])
    service.add_target(session, system, TargetIn(jurisdiction_id=city, base_year=2016,
                                                 target_year=2030, reduction_pct=50,
                                                 label="Half by 2030"))
    service.add_measure(session, system, MeasureIn(jurisdiction_id=city, kind="retrofit",
                                                   name="Boiler", start_year=2020,
                                                   t_co2e_per_year=10))
    p = service.progress(session, system, jurisdiction_id=city)
    per_mmbtu = co2e(GAS, AR5) / 1000
    assert p.history[2016] == pytest.approx(2000 * per_mmbtu)
    assert p.trajectory[2030] == pytest.approx(1000 * per_mmbtu)
    # 2018: 1,800 MMBtu against a path of 2000 - 2 * (1000 / 14) MMBtu: on track
    assert p.trajectory[2018] == pytest.approx((2000 - 2000 / 14) * per_mmbtu)
    assert p.latest_year == 2018 and p.on_track is True
    assert p.bau[2019] == pytest.approx(1700 * per_mmbtu)
    assert p.with_measures[2020] == pytest.approx(p.bau[2020] - 10)
    assert p.with_measures[2019] == pytest.approx(p.bau[2019])


def test_a_year_lacking_a_sector_of_the_base_year_is_partial(session: Session,
                                                              system: Principal) -> None:
    """A year that holds only some sectors (buildings recorded for 2016 and 2017, only the
    fleet for 2018) is not a drop in emissions: shown apart, never judged on track."""
    from govshare.carbon.schemas import TargetIn

    service.install_builtin_sets(session)
    town = _member(session, system, "Partialton", "city")
    for year, therms in ((2016, 20_000), (2017, 19_000)):
        service.record_activity(session, system, "test", [
            _row("hall", town, "natural_gas", therms, "therm", start=date(year, 1, 1),
                 end=date(year, 12, 31))])
    service.record_activity(session, system, "test", [
        _row("truck", town, "diesel", 100, "gallon", sector="vehicle_fleet",
             start=date(2018, 1, 1), end=date(2018, 12, 31))])
    service.add_target(session, system, TargetIn(jurisdiction_id=town, base_year=2016,
                                                 target_year=2030, reduction_pct=50,
                                                 label="Half by 2030"))
    p = service.progress(session, system, jurisdiction_id=town)
    assert p.partial == {2018: ["buildings"]}
    assert set(p.history) == {2016, 2017, 2018}  # still shown
    # judged on 2017, the latest whole year: 1,900 MMBtu under a path of 2000 - 1000/14
    assert p.latest_year == 2017 and p.on_track is True
    # business as usual runs through the whole years only (-100 MMBtu a year)
    per_mmbtu = p.history[2016] / 2000
    assert p.bau[2018] == pytest.approx(1800 * per_mmbtu)


def test_offroad_equipment_fuel_takes_table_5(session: Session, system: Principal) -> None:
    """Equipment-sector fuel takes Hub 2025 Table 5's CH4 and N2O per gallon besides Table 2's
    CO2 (by hand, AR5); a named type and engine line choose their row; on-road fuel keeps
    CO2 only (its CH4 and N2O come from miles); a type or line the table lacks is refused,
    naming row and field, and nothing is recorded."""
    service.install_builtin_sets(session)
    jid = _member(session, system, "Equipville", "city")
    eq = {"sector": "equipment"}
    service.record_activity(session, system, "test", [
        _row("loader", jid, "diesel", 1000, "gallon", **eq),
        _row("mower", jid, "gasoline", 1000, "gallon", equipment_type=(
            "Lawn and Garden Equipment"), equipment_fuel="Gasoline (2 stroke)", **eq),
        _row("skid", jid, "gasoline", 1000, "gallon", **eq),
        _row("truck", jid, "diesel", 1000, "gallon", sector="vehicle_fleet"),
    ])
    inv = service.inventory(session, system, year=2016, by="asset", jurisdiction_id=jid)
    got = {r.source: r.t_co2e_location for r in inv.rows}
    # per 1,000 gallons: kg CO2 (Table 2) + g CH4 x 28 + g N2O x 265 (Table 5), in tonnes
    assert got["Asset loader"] == pytest.approx(10.21 + (1.01 * 28 + 0.94 * 265) / 1000,
                                                rel=1e-12)
    assert got["Asset mower"] == pytest.approx(8.78 + (7.34 * 28 + 0.31 * 265) / 1000,
                                               rel=1e-12)
    # construction equipment's 4-stroke gasoline line when nothing is named
    assert got["Asset skid"] == pytest.approx(8.78 + (2.86 * 28 + 1.48 * 265) / 1000,
                                              rel=1e-12)
    assert got["Asset truck"] == pytest.approx(10.21, rel=1e-12)
    assert not inv.gaps
    with pytest.raises(t.Refused) as caught:
        service.record_activity(session, system, "test", [
            _row("x", jid, "diesel", 1, "gallon", equipment_type="Space Shuttle", **eq),
            _row("y", jid, "diesel", 1, "gallon", equipment_type="Logging Equipment",
                 equipment_fuel="Diesel Off-Road Trucks", **eq),
            _row("z", jid, "natural_gas", 1, "therm", equipment_type="Logging Equipment",
                 **eq)])
    got_errors = [(e.row, e.column) for e in caught.value.report.first(10)]
    assert got_errors == [(1, "equipment_type"), (2, "equipment_fuel"), (3, "activity")]
    assert "Construction/Mining Equipment" in caught.value.report.first(1)[0].reason
