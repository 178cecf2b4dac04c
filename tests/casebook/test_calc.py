"""The casebook's arithmetic against hand-computed cases (numpy-financial as a cross-check
where it is installed), and allocations that sum to the total exactly, to the cent."""

from __future__ import annotations

import math
from datetime import date
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from govshare.casebook import calc
from govshare.casebook.calc import Basis, CalcError, MemberIn


def test_npv_by_hand() -> None:
    # -100/1.1 + 60/1.1^2 + 60/1.1^3 = -90.9091 + 49.5868 + 45.0789 = 3.7566
    assert calc.npv(0.10, [-100, 60, 60]) == pytest.approx(3.75657, abs=1e-5)
    assert calc.npv(0.0, [-100, 60, 60]) == 20


def test_irr_by_hand() -> None:
    # 60x^2 + 60x - 100 = 0 with x = 1/(1+r): x = (-60 + sqrt(27,600)) / 120 = 0.884437
    x = (-60 + math.sqrt(60**2 + 4 * 60 * 100)) / 120
    assert calc.irr([-100, 60, 60]) == pytest.approx(1 / x - 1, abs=1e-9)
    assert calc.irr([-100, 60, 60]) == pytest.approx(0.130662, abs=1e-6)
    assert calc.irr([100, 50]) is None  # all savings: no rate makes NPV zero
    assert calc.irr([-100, -5]) is None
    assert calc.irr([-100, 110]) == pytest.approx(0.10, abs=1e-9)


def test_irr_and_npv_agree_with_numpy_financial() -> None:
    npf = pytest.importorskip("numpy_financial")
    flows = [-250_000, 40_000, 90_000, 120_000, 120_000, 120_000]
    # numpy-financial discounts its first flow at t=0; ours are end of years 1..n, which
    # scales NPV by 1/(1+r) and leaves the IRR unchanged.
    assert calc.irr(flows) == pytest.approx(float(npf.irr(flows)), abs=1e-9)
    assert calc.npv(0.07, flows) == pytest.approx(float(npf.npv(0.07, flows)) / 1.07, rel=1e-12)


def test_payback_year_by_hand() -> None:
    assert calc.payback_year([-100, 60, 60]) == 3  # cumulative -100, -40, +20
    assert calc.payback_year([10, -20, 30]) == 3  # dips below zero in year 2: not paid back
    assert calc.payback_year([0, 5]) == 1
    assert calc.payback_year([-100, 10]) is None


def test_outcome_ramp_one_time_and_calendar_years() -> None:
    o = calc.outcome(annual_savings_cents=100_000, one_time_cents=[150_000], ramp=[50],
                     horizon=3, start_year=2027, rate=0.0)
    assert [y.year for y in o.years] == [2027, 2028, 2029]
    assert [y.savings_cents for y in o.years] == [50_000, 100_000, 100_000]
    assert [y.net_cents for y in o.years] == [-100_000, 100_000, 100_000]
    assert [y.cumulative_cents for y in o.years] == [-100_000, 0, 100_000]
    assert o.payback_year == 2028 and o.npv_cents == 100_000
    # at 7%: -100,000/1.07 + 100,000/1.07^2 + 100,000/1.07^3 = 75,357.9
    o7 = calc.outcome(annual_savings_cents=100_000, one_time_cents=[150_000], ramp=[50],
                      horizon=3, start_year=2027, rate=0.07)
    assert o7.npv_cents == round(-100_000 / 1.07 + 100_000 / 1.07**2 + 100_000 / 1.07**3)


def test_terms_refused_with_their_field() -> None:
    with pytest.raises(CalcError) as e:
        calc.outcome(annual_savings_cents=1, one_time_cents=[], ramp=[10, 20, 30], horizon=2,
                     start_year=2027, rate=0.07)
    assert e.value.field == "ramp_pct"
    with pytest.raises(CalcError) as e:
        calc.outcome(annual_savings_cents=1, one_time_cents=[], ramp=[], horizon=2,
                     start_year=2027, rate=float("nan"))
    assert e.value.field == "discount_rate"


def test_largest_remainder_by_hand() -> None:
    assert calc.largest_remainder(100, [Fraction(1)] * 3) == [34, 33, 33]
    assert calc.largest_remainder(10, [Fraction(1), Fraction(2)]) == [3, 7]
    assert calc.largest_remainder(-10, [Fraction(1), Fraction(2)]) == [-3, -7]
    with pytest.raises(CalcError):
        calc.largest_remainder(10, [Fraction(0), Fraction(0)])


@given(total=st.integers(-10**13, 10**13),
       weights=st.lists(st.integers(0, 10**9), min_size=1, max_size=40).filter(any))
def test_allocation_sums_exactly(total: int, weights: list[int]) -> None:
    out = calc.largest_remainder(total, [Fraction(w) for w in weights])
    assert sum(out) == total
    whole = sum(weights)
    for w, got in zip(weights, out, strict=True):
        assert abs(got - Fraction(total * w, whole)) < 1  # within a cent of the exact share


@given(total=st.integers(0, 10**12),
       pops=st.lists(st.integers(1, 40_000_000), min_size=2, max_size=12),
       split=st.integers(0, 100))
def test_blend_allocation_sums_exactly(total: int, pops: list[int], split: int) -> None:
    keys = list(range(len(pops)))
    drivers = {k: {"population": p, "usage": (k + 1) * 3.5} for k, p in zip(keys, pops,
                                                                         strict=True)}
    blend = {"population": split, "usage": 100 - split}
    s = calc.shares(keys, Basis.blend, drivers, blend)
    assert sum(s.values()) == 1
    assert sum(calc.allocate(total, s).values()) == total


def test_blend_54_23_23() -> None:
    drivers = {1: {"usage": 3, "assessed_value": 1, "population": 1},
               2: {"usage": 1, "assessed_value": 1, "population": 3}}
    s = calc.shares([1, 2], Basis.blend, drivers,
                    {"usage": 54, "assessed_value": 23, "population": 23})
    # member 1: 54% x 3/4 + 23% x 1/2 + 23% x 1/4 = 40.5 + 11.5 + 5.75 = 57.75%
    assert s[1] == Fraction(5775, 10000)
    # 10,000,001 cents: 5,775,000.5775 and 4,225,000.4225 -> the spare cent to member 1
    assert calc.allocate(10_000_001, s) == {1: 5_775_001, 2: 4_225_000}
    with pytest.raises(CalcError) as e:
        calc.shares([1, 2], Basis.blend, drivers, {"usage": 50, "population": 40})
    assert e.value.field == "blend" and "100%" in e.value.reason


def test_missing_driver_names_the_field() -> None:
    with pytest.raises(CalcError) as e:
        calc.shares([1, 2], Basis.usage, {1: {"usage": 5}, 2: {}})
    assert e.value.field == "usage"


def test_true_up_sums_to_zero() -> None:
    t = calc.true_up({1: 50_000, 2: 50_000, 3: 1}, {1: 10, 2: 30, 3: 0})
    assert sum(t.values()) == 0
    # 100,001 re-shared 1:3:0 = 25,000.25 and 75,000.75 -> 25,000 and 75,001 (spare cent)
    assert t == {1: -25_000, 2: 25_001, 3: -1}


def test_evaluate_members_total_and_worse_off() -> None:
    members = [MemberIn(1, "Big", baseline_cents=1_000_000, drivers={"usage": 3}),
               MemberIn(2, "Small", baseline_cents=100_000, drivers={"usage": 1})]
    r = calc.evaluate(members=members, shared_annual_cents=800_000, one_time_cents=[100_000],
                      ramp=[50], horizon=5, start_year=2027, rate=0.07, basis=Basis.usage)
    big, small = r.members
    assert big.charge_cents == 600_000 and small.charge_cents == 200_000
    assert big.annual_savings_cents == 400_000 and small.annual_savings_cents == -100_000
    assert small.worse_off and not big.worse_off
    assert [m.name for m in r.worse_off] == ["Small"]
    assert big.one_time_cents == [75_000] and small.one_time_cents == [25_000]
    # The total is the members' sum, year by year and in NPV terms.
    for t, y in enumerate(r.total.years):
        assert y.net_cents == big.outcome.years[t].net_cents + small.outcome.years[t].net_cents
    assert r.total.annual_savings_cents == 300_000
    assert abs(r.total.npv_cents - (big.outcome.npv_cents + small.outcome.npv_cents)) <= 1


def test_a_members_own_one_time_cost_is_its_own_in_the_first_year() -> None:
    members = [MemberIn(1, "Host", baseline_cents=500_000, drivers={"usage": 1}),
               MemberIn(2, "Guest", baseline_cents=500_000, drivers={"usage": 1},
                        own_one_time_cents=300_001)]
    r = calc.evaluate(members=members, shared_annual_cents=400_000, one_time_cents=[],
                      ramp=[], horizon=3, start_year=2027, rate=0.0, basis=Basis.usage)
    host, guest = r.members
    assert host.one_time_cents == [] and guest.one_time_cents == [300_001]
    assert [y.one_time_cents for y in guest.outcome.years] == [300_001, 0, 0]
    assert [y.net_cents for y in guest.outcome.years] == [-1, 300_000, 300_000]
    assert guest.outcome.payback_year == 2028 and host.outcome.payback_year == 2027
    assert r.total.total_one_time_cents == 300_001
    # with shared one-time costs too: the member's own cost is added to its share
    r = calc.evaluate(members=members, shared_annual_cents=400_000, one_time_cents=[1, 10],
                      ramp=[], horizon=3, start_year=2027, rate=0.0, basis=Basis.usage)
    assert [m.one_time_cents for m in r.members] == [[1, 5], [300_001, 5]]
    with pytest.raises(calc.CalcError) as e:
        calc.evaluate(members=[MemberIn(1, "A", 0, own_one_time_cents=-1)],
                      shared_annual_cents=0, one_time_cents=[], ramp=[], horizon=1,
                      start_year=2027, rate=0.0, basis=Basis.equal)
    assert e.value.field == "own_one_time_cents"


def test_realized_gap() -> None:
    r = calc.Realized(year=2027, projected_cents=1_000, realized_cents=400)
    assert r.gap_cents == -600 and r.realized_pct == pytest.approx(40.0)
    assert calc.Realized(year=2027, projected_cents=1_000, realized_cents=None).gap_cents is None


# ---------------------------------------------------------------- A-94 Appendix C

def _edition(name: str, start: str, end: str, real: dict[int, float]) -> list[dict[str, str]]:
    return [{"edition": name, "valid_from": start, "valid_through": end,
             "maturity_years": str(m), "real_pct": str(r), "nominal_pct": str(r + 2),
             "source": f"test table {name}"} for m, r in real.items()]


def test_shipped_appendix_c_is_read_with_its_source() -> None:
    from govshare.casebook import service

    editions = service.appendix_c()
    jan2003 = next(e for e in editions if e.edition == "Revised January 2003")
    # the figures as published (archived Appendix C, 68 FR 6226)
    assert jan2003.real_pct == {3: 1.6, 5: 1.9, 7: 2.2, 10: 2.5, 30: 3.2}
    assert jan2003.nominal_pct == {3: 3.1, 5: 3.6, 7: 3.9, 10: 4.2, 30: 5.1}
    assert "68 FR 6226" in jan2003.source
    # Appendix C's own example: a four-year project takes the average of the 3- and 5-year
    assert calc.appendix_c_rate(jan2003, 4)[0] == pytest.approx(0.0175)
    assert calc.appendix_c_rate(jan2003, 20)[0] == pytest.approx(0.0285)  # 10 -> 30 line
    assert calc.appendix_c_rate(jan2003, 40) == (0.032, "the 30-year real rate (horizons "
                                                        "beyond 30 years)")
    assert calc.appendix_c_rate(jan2003, 1)[0] == pytest.approx(0.016)
    # in force then, its rate is the default, with its edition and source
    then = service.default_rate(10, date(2003, 6, 1))
    assert then.rate == pytest.approx(0.025) and then.edition == "Revised January 2003"
    assert then.source.startswith("OMB Circular A-94 Appendix C (Revised January 2003)")


def test_default_follows_the_edition_in_force_else_the_base_rate() -> None:
    editions = calc.appendix_c(
        _edition("Test 2026", "2026-01-01", "2026-12-31", {3: 1.0, 5: 1.4, 30: 2.4})
        + _edition("Test 2025", "2025-01-01", "2025-12-31", {3: 3.0, 30: 4.0}))
    assert [e.edition for e in editions] == ["Test 2026", "Test 2025"]
    now = calc.default_rate(editions, 5, date(2026, 12, 5))
    assert now.rate == pytest.approx(0.014) and now.edition == "Test 2026"
    assert "5-year real rate for a 5-year horizon; test table Test 2026" in now.source
    # 10 years between the 3- and 30-year maturities: 3% + 1% x 7/27, in percent to 4 places
    assert calc.default_rate(editions, 10, date(2025, 3, 1)).rate == round(
        3 + 7 / 27, 4) / 100
    stale = calc.default_rate(editions, 10, date(2027, 1, 2))
    assert stale.rate == calc.DEFAULT_RATE and stale.edition is None
    assert stale.source == calc.DEFAULT_RATE_SOURCE
    assert "January 2, 2027 is not shipped" in stale.note and "Test 2026" in stale.note


def test_appendix_c_rows_out_of_range_are_refused_by_line() -> None:
    bad = _edition("Bad", "2026-01-01", "2026-12-31", {3: 1.0, 5: 45.0})
    with pytest.raises(calc.CalcError, match=r"line 3 real_pct: 45.0 is outside"):
        calc.appendix_c(bad)
    twice = _edition("Twice", "2026-01-01", "2026-12-31", {3: 1.0}) * 2
    with pytest.raises(calc.CalcError, match="line 3 maturity_years: 3 is given twice"):
        calc.appendix_c(twice)
    backwards = _edition("Back", "2026-12-31", "2026-01-01", {3: 1.0})
    with pytest.raises(calc.CalcError, match="line 2"):
        calc.appendix_c(backwards)
