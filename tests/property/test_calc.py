"""True cost, condition and utilization against values computed by hand from the sources."""

from __future__ import annotations

import pytest

from govshare.property import calc, queries
from govshare.property.calc import (
    AssetFacts,
    Parameters,
    condition_index,
    true_cost,
    utilization_class,
    utilization_pct,
)

LB = 0.45359237  # kg per lb

# EPA eGRID2023 NWPP (Hub 2025 Table 6): 631.705 lb CO2, 0.054 lb CH4, 0.008 lb N2O per MWh
# EPA Hub 2025 Table 1 natural gas: 53.06 kg CO2, 1 g CH4, 0.1 g N2O per mmBtu (= 10 therms)
# EPA SC-GHG, emission year 2020, 2.0% Ramsey: CO2 $193, CH4 $1,648, N2O $54,139 per tonne
ELEC_MWH, GAS_THERMS = 100.0, 1000.0
KG = {
    "CO2": ELEC_MWH * 631.705 * LB + GAS_THERMS * 5.306,
    "CH4": ELEC_MWH * 0.054 * LB + GAS_THERMS * 0.1 / 1000,
    "N2O": ELEC_MWH * 0.008 * LB + GAS_THERMS * 0.01 / 1000,
}
SCC_2020_2PCT = {"CO2": 193, "CH4": 1648, "N2O": 54139}


def facts(**kw: object) -> AssetFacts:
    base: dict[str, object] = dict(
        status="in_use", gross_floor_area_ft2=10_000, capacity=100, occupancy=50,
        annual_om_cost_cents=10_000_000, repair_needs_cents=20_000_000,
        replacement_value_cents=200_000_000,
        energy={"electricity_kwh": ELEC_MWH * 1000, "natural_gas_therms": GAS_THERMS},
        energy_year=2020, grid_subregion="NWPP")
    base.update(kw)
    return AssetFacts(**base)  # type: ignore[arg-type]


def test_true_cost_matches_hand_computation() -> None:
    tc = true_cost(facts(), Parameters(), queries.factors(), year=2026)
    c = tc.by_key()
    assert c["om"].cents == 10_000_000
    assert c["energy"].cents == 100_000 * 11 + 1000 * 120  # default prices, cents
    assert c["lease"].cents == 0
    assert c["repair"].cents == 2_000_000  # $200,000 over 10 years
    expected_carbon = sum(KG[g] / 1000 * SCC_2020_2PCT[g] for g in KG) * 100
    assert c["carbon"].cents == round(expected_carbon)
    assert c["vacancy"].cents == 5_000 * 200  # half the floor empty at $2/ft2
    assert tc.total_cents == sum(x.cents for x in tc.components)
    tco2e = (KG["CO2"] + 28 * KG["CH4"] + 265 * KG["N2O"]) / 1000
    assert tc.emissions.tco2e == pytest.approx(tco2e, rel=1e-12)
    assert tc.complete
    # traceability: every component names its formula and at least one source
    for comp in tc.components:
        assert comp.formula and comp.sources and comp.inputs
    assert any("eGRID2023" in s for s in c["carbon"].sources)
    assert any("Social Cost of Greenhouse Gases" in s for s in c["carbon"].sources)


def test_discount_rate_and_emission_year_change_the_carbon_cost() -> None:
    f = queries.factors()
    low = true_cost(facts(), Parameters(discount_rate="2.5%"), f, year=2026).by_key()["carbon"]
    high = true_cost(facts(), Parameters(discount_rate="1.5%"), f, year=2026).by_key()["carbon"]
    assert low.cents < high.cents
    later = true_cost(facts(energy_year=2030), Parameters(), f, year=2026).by_key()["carbon"]
    assert later.cents > true_cost(facts(), Parameters(), f, year=2026).by_key()["carbon"].cents
    far = true_cost(facts(energy_year=2100), Parameters(), f, year=2026).by_key()["carbon"]
    assert "emission year 2080" in far.formula  # clamped to the table's last year


def test_recorded_energy_cost_wins_over_prices_and_missing_inputs_are_flagged() -> None:
    f = queries.factors()
    tc = true_cost(facts(annual_energy_cost_cents=777), Parameters(), f, year=2026)
    assert tc.by_key()["energy"].cents == 777
    bare = true_cost(AssetFacts(status="in_use", gross_floor_area_ft2=1000), Parameters(), f,
                     year=2026)
    assert not bare.complete
    assert calc.INPUT_LABELS["annual_om_cost_cents"] in bare.by_key()["om"].missing
    unknown_grid = true_cost(facts(grid_subregion=None), Parameters(), f, year=2026)
    assert unknown_grid.by_key()["carbon"].missing


def test_vacant_status_counts_all_floor_area() -> None:
    tc = true_cost(facts(status="surplus"), Parameters(vacant_cost_cents_per_ft2=150),
                   queries.factors(), year=2026)
    assert tc.by_key()["vacancy"].cents == 10_000 * 150


def test_synthetic_inputs_are_marked() -> None:
    tc = true_cost(facts(synthetic_fields=frozenset({"annual_om_cost_cents"})), Parameters(),
                   queries.factors(), year=2026)
    assert tc.by_key()["om"].synthetic and not tc.by_key()["lease"].synthetic


def test_condition_and_utilization() -> None:
    assert condition_index(20_000_000, 200_000_000) == pytest.approx(90.0)
    assert condition_index(300, 200) == 0.0  # repair needs beyond replacement value
    assert condition_index(None, 100) is None and condition_index(5, 0) is None
    assert utilization_pct(45, 60) == pytest.approx(75.0)
    assert utilization_pct(1, None) is None
    p = Parameters(underused_below_pct=60, vacant_below_pct=10)
    assert utilization_class(75, "in_use", p) == "in use"
    assert utilization_class(30, "in_use", p) == "under-used"
    assert utilization_class(5, "in_use", p) == "vacant"
    assert utilization_class(None, "surplus", p) == "vacant"
    assert utilization_class(None, "in_use", p) == "unknown"


def test_parameters_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="discount rate"):
        Parameters(discount_rate="7%")
    with pytest.raises(ValueError, match="at least 1 year"):
        Parameters(repair_amortization_years=0)


def test_zip_to_grid_subregion() -> None:
    subs = queries.zip_subregions()
    assert subs["98104"] == "NWPP"
    assert subs["60601"] == "RFCW"  # Chicago, ComEd (EPA Power Profiler example)


def test_true_cost_keeps_budget_and_social_apart_with_inputs_named_for_people() -> None:
    """Issue 9 §6: the true cost added cash and social costs in one figure and named its
    inputs by database column (annual_om_cost_cents). Now each part has its subtotal, they
    add up to the total, and no input is named by a column."""
    facts = AssetFacts(status="in_use", annual_om_cost_cents=1_000_000,
                       repair_needs_cents=500_000,
                       gross_floor_area_ft2=10_000, occupancy=10, capacity=100,
                       energy={"electricity_kwh": 100_000.0}, energy_year=2016,
                       grid_subregion="NWPP")
    tc = true_cost(facts, Parameters(), queries.factors(), year=2026)
    assert {c.key: c.kind for c in tc.components} == {
        "om": "budget", "energy": "budget", "lease": "budget", "repair": "budget",
        "carbon": "social", "vacancy": "social"}
    assert tc.budget_cents + tc.social_cents == tc.total_cents
    assert tc.budget_cents == sum(tc.by_key()[k].cents for k in ("om", "energy", "lease",
                                                                 "repair"))
    assert tc.social_cents > 0
    names = [k for c in tc.components for k in c.inputs]
    assert not [n for n in names if n.endswith("_cents")], names
