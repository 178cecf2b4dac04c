"""Pure carbon arithmetic: unit conversions, factor units, trajectories, business as usual,
EUI and retrofits."""

from __future__ import annotations

import pytest

from govshare.carbon import calc


def test_conversions_in_one_place() -> None:
    assert calc.to_canonical("electricity", 1500, "kWh") == pytest.approx(1.5)
    assert calc.to_canonical("natural_gas", 10, "therm") == pytest.approx(1.0)
    assert calc.to_canonical("natural_gas", 1000, "scf") == pytest.approx(1.026)
    assert calc.to_canonical("natural_gas", 2, "ccf") == pytest.approx(0.2052)
    assert calc.to_canonical("district_steam", 2500, "kBtu") == pytest.approx(2.5)
    assert calc.to_canonical("diesel", 100, "L") == pytest.approx(26.4172052)
    assert calc.to_canonical("natural_gas", 1, "GJ") == pytest.approx(0.947817)
    with pytest.raises(calc.UnitError, match="not a unit of diesel"):
        calc.to_canonical("diesel", 1, "kWh")
    with pytest.raises(calc.UnitError, match="unknown activity"):
        calc.to_canonical("plutonium", 1, "kg")
    # factors as published
    assert calc.factor_to_kg_per_canonical("electricity", 52.44, "lb/MWh") == pytest.approx(
        52.44 * 0.45359237)
    assert calc.factor_to_kg_per_canonical("natural_gas", 1, "g/mmbtu") == pytest.approx(0.001)
    assert calc.factor_to_kg_per_canonical("natural_gas", 5.306, "kg/therm") == pytest.approx(
        53.06)


def test_trajectory_on_track_and_bau() -> None:
    targets = [calc.Target(2016, 2030, 50), calc.Target(2016, 2050, 100)]
    path = calc.trajectory(1000.0, targets, range(2016, 2051))
    assert path[2016] == 1000 and path[2030] == pytest.approx(500)
    assert path[2023] == pytest.approx(750)  # halfway to 2030
    assert path[2040] == pytest.approx(250)  # halfway from 2030 to 2050
    assert path[2050] == pytest.approx(0)
    assert calc.on_track(740, path[2023]) and not calc.on_track(760, path[2023])
    bau = calc.bau_forecast({2016: 1000.0, 2017: 1100.0, 2018: 1200.0}, [2019, 2020])
    assert bau == {2019: pytest.approx(1300), 2020: pytest.approx(1400)}
    assert calc.bau_forecast({2016: 900.0}, [2030]) == {2030: 900.0}


def test_eui_and_retrofit() -> None:
    e = calc.eui({"electricity": 100.0, "natural_gas": 500.0})  # MWh, MMBtu
    assert e.site_kbtu == pytest.approx(341_214 + 500_000)
    assert e.source_kbtu == pytest.approx(341_214 * 2.8 + 500_000 * 1.05)
    assert e.site_eui(10_000) == pytest.approx(84.1214)
    r = calc.retrofit(1, "Hall", site_eui=84.1214, median_site_eui=52.9, gfa_ft2=10_000,
                      t_per_kbtu=0.0001, usd_per_ft2=8)
    assert r is not None
    assert r.avoidable_kbtu == pytest.approx(312_214)
    assert r.avoidable_t == pytest.approx(31.2214)
    assert r.usd_per_t == pytest.approx(80_000 / 31.2214)
    assert calc.retrofit(1, "Good", 40, 52.9, 10_000, 0.0001, 8) is None
