"""The pure fleet computations: peak concurrency against brute force, TCO against a hand
computation, the odometer check, right-sizing, clusters, EV suitability, the plan."""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta

import numpy as np
import pytest

from govshare.fleet import calc


def brute_peak(groups: list[int], starts: list[int], ends: list[int], n: int) -> list[int]:
    """Count the open intervals at every start time (the maximum is reached at a start)."""
    peaks = [0] * n
    for g in range(n):
        mine = [(s, e) for gg, s, e in zip(groups, starts, ends, strict=True) if gg == g]
        for s, _e in mine:
            peaks[g] = max(peaks[g], sum(1 for s2, e2 in mine if s2 <= s < e2))
    return peaks


@pytest.mark.parametrize("seed", range(25))
def test_peak_concurrency_matches_brute_force_on_random_logs(seed: int) -> None:
    rng = random.Random(seed)
    n_groups = rng.randint(1, 6)
    k = rng.randint(0, 80)
    n_subs = rng.randint(1, 4)
    groups = [rng.randrange(n_groups) for _ in range(k)]
    subs = [rng.randrange(n_subs) for _ in range(k)]
    starts = [rng.randrange(0, 300) for _ in range(k)]
    ends = [s + rng.randint(1, 60) for s in starts]
    peaks, when, sub_peaks = calc.peak_concurrency(
        np.array(groups), np.array(starts), np.array(ends), n_groups, sub=np.array(subs),
        n_sub=n_subs)
    assert peaks.tolist() == brute_peak(groups, starts, ends, n_groups)
    # each (group, sub) alone: brute force over the combined key
    combined = [g * n_subs + s for g, s in zip(groups, subs, strict=True)]
    assert sub_peaks.reshape(-1).tolist() == brute_peak(combined, starts, ends,
                                                        n_groups * n_subs)
    for g in range(n_groups):
        if peaks[g]:  # the time given is one where the peak holds
            t = int(when[g])
            assert sum(1 for gg, s, e in zip(groups, starts, ends, strict=True)
                       if gg == g and s <= t < e) == peaks[g]
        else:
            assert when[g] == -1


def test_a_vehicle_returned_at_ten_can_go_out_again_at_ten() -> None:
    peaks, _, _ = calc.peak_concurrency(np.array([0, 0]), np.array([0, 60]),
                                        np.array([60, 90]), 1)
    assert peaks.tolist() == [1]
    peaks, when, _ = calc.peak_concurrency(np.array([0, 0]), np.array([0, 59]),
                                           np.array([60, 90]), 1)
    assert peaks.tolist() == [2] and when.tolist() == [59]


def test_tco_matches_a_hand_computed_case() -> None:
    # $40,000 EV, $7,500 incentive, $6,000 charger, 10,000 mi/yr, 0.30 kWh/mi at 15 c/kWh
    # (4.5 c/mi), maintenance 6.1 c/mi, 3 years at 5%, residual 20%.
    r = calc.tco(price_cents=4_000_000, incentive_cents=750_000, charger_cents=600_000,
                 annual_miles=10_000, energy_cents_per_mile=0.30 * 15,
                 maintenance_cents_per_mile=6.1, life_years=3, discount_rate_pct=5,
                 residual_pct=20)
    annuity = 1 / 1.05 + 1 / 1.05**2 + 1 / 1.05**3  # 2.723248
    assert r.purchase_cents == 3_850_000
    assert r.energy_cents == pytest.approx(45_000 * annuity)  # $450 a year
    assert r.maintenance_cents == pytest.approx(61_000 * annuity)  # $610 a year
    assert r.residual_cents == pytest.approx(800_000 / 1.157625)
    # 3,850,000 + 106,000 x 2.723248 (= 288,664.3) - 691,070.1 = 3,447,594.2 cents
    assert r.total_cents == pytest.approx(3_447_594.2, abs=1)
    undiscounted = calc.tco(price_cents=2_500_000, annual_miles=12_000,
                            energy_cents_per_mile=320 / 30, maintenance_cents_per_mile=10.1,
                            life_years=10, discount_rate_pct=0, residual_pct=10)
    # 25,000 + 10 x 12,000 x (0.10667 + 0.101) - 2,500 dollars
    assert undiscounted.total_cents / 100 == pytest.approx(25_000 + 10 * 12_000 *
                                                           (3.2 / 30 + 0.101) - 2_500)


def test_the_odometer_check_keeps_the_longest_possible_chain() -> None:
    t0 = datetime(2017, 1, 1, 8)
    seq = [1000, 1100, 99_999, 1200, 1050, 1300, 0]
    readings = [calc.Reading(i, t0 + timedelta(days=2 * i), float(m), 10.0)
                for i, m in enumerate(seq)]
    flags = calc.check_odometer(readings, max_mpg=60, max_miles_per_day=800)
    assert [k for k, f in flags.items() if f is None] == [0, 1, 3, 5]
    assert flags[2] is not None and flags[2].startswith("impossible jump")
    assert flags[4] is not None and flags[4].startswith("odometer went backwards")
    assert flags[6] == "no odometer reading (empty or 0)"
    # a typo first: the later true sequence wins, the first reading is the one flagged
    first_typo = [calc.Reading(i, t0 + timedelta(days=i), float(m), 10.0)
                  for i, m in enumerate([90_000, 1000, 1050, 1100])]
    f2 = calc.check_odometer(first_typo, max_mpg=60, max_miles_per_day=800)
    assert f2[0] is not None and all(f2[i] is None for i in (1, 2, 3))
    # more miles than the fuel allows
    mpg = [calc.Reading(0, t0, 1000.0, 5.0), calc.Reading(1, t0 + timedelta(days=5), 1700.0, 5.0)]
    f3 = calc.check_odometer(mpg, max_mpg=60, max_miles_per_day=800)
    assert f3[0] is None and f3[1] is not None and "140 mpg" in f3[1]


def test_rightsizing_uses_each_members_class_average_and_the_per_class_threshold() -> None:
    uses = [calc.Use(i, 1, "sedan", m, 100, f"{m} miles") for i, m in
            enumerate([10_000, 12_000, 8_000, 1_500], start=1)]
    uses.append(calc.Use(9, 2, "sedan", 500, 10, "500 miles"))  # another member, alone
    params = calc.Parameters()
    out = {r.use.vehicle_id: r for r in calc.rightsize(uses, params)}
    assert out[4].class_average == pytest.approx(7_875)
    assert out[4].under_used and not out[3].under_used
    assert not out[9].under_used  # one vehicle of its class: no verdict
    assert any("threshold 25%" in e for e in out[4].evidence)
    strict = calc.checked_parameters({"underuse_pct": {"sedan": 5}})
    assert not {r.use.vehicle_id: r for r in calc.rightsize(uses, strict)}[4].under_used
    assert strict.underuse_pct["pickup"] == 25.0


def test_parameters_refuse_unknown_classes_and_out_of_range_values() -> None:
    with pytest.raises(ValueError, match="unknown vehicle class"):
        calc.checked_parameters({"underuse_pct": {"zeppelin": 10}})
    with pytest.raises(ValueError):
        calc.checked_parameters({"underuse_pct": {"sedan": 250}})
    with pytest.raises(ValueError):
        calc.checked_parameters({"discount_rate_pct": math.inf})
    params, bad = calc.usable_parameters({"pool_radius_km": -3, "max_mpg": 40})
    assert bad == ["pool_radius_km"] and params.max_mpg == 40


def test_clusters_are_single_linkage_within_the_radius() -> None:
    # three sites 3 km apart in a line (a chain), one 50 km away
    pts = [(-122.30, 47.60), (-122.30, 47.627), (-122.30, 47.654), (-121.60, 47.60)]
    assert calc.cluster_sites(pts, 5) == [0, 0, 0, 1]
    assert calc.cluster_sites(pts, 1) == [0, 1, 2, 3]


def test_pooling_removes_vehicles_above_the_pooled_peak_plus_reserve() -> None:
    # two members at one site, three sedans each; never more than two out at once
    vs = [calc.PoolVehicle(i, 1 if i < 3 else 2, "sedan", -122.3, 47.6, float(1000 * i),
                           500_000, 0) for i in range(6)]
    trips = (np.array([0, 1, 3, 4]), np.array([0, 30, 100, 130]), np.array([60, 90, 160, 190]))
    plan = calc.pool(vs, trips, calc.checked_parameters({"pool_reserve_pct": 0}))
    (g,) = plan.groups
    assert (g.peak, g.keep, len(g.removable)) == (2, 2, 4)
    assert g.member_peaks == {1: 2, 2: 2} and g.pooling_gain == 2
    assert [v.vehicle_id for v in g.removable] == [0, 1, 2, 3]  # least used first
    assert plan.savings_cents == 4 * 500_000
    assert plan.by_member[1]["removable"] == 3
    reserve = calc.pool(vs, trips, calc.checked_parameters({"pool_reserve_pct": 50}))
    assert reserve.groups[0].keep == 3


def test_ev_suitability_needs_range_and_dwell() -> None:
    params = calc.Parameters()
    day = datetime(2025, 3, 3, 8)
    short = [(day + timedelta(days=d), day + timedelta(days=d, hours=2), 40.0)
             for d in range(20)]
    use = calc.daily_use(short)
    assert use is not None and use.p95_miles == 40 and use.dwell_hours_p5 == 22
    ok = calc.ev_suitability("sedan", "gasoline", use, params)
    assert ok.suitable, ok.reasons
    long = [(day + timedelta(days=d), day + timedelta(days=d, hours=8), 300.0)
            for d in range(20)]
    far = calc.ev_suitability("sedan", "gasoline", calc.daily_use(long), params)
    assert not far.suitable and "exceeds" in far.reasons[0]
    assert not calc.ev_suitability("heavy_truck", "diesel", use, params).suitable
    assert not calc.ev_suitability("sedan", "gasoline", None, params).suitable


def test_the_plan_picks_the_cheapest_suitable_replacements_to_the_target() -> None:
    params = calc.checked_parameters({"target_pct": 50, "target_year": 2030})
    day = datetime(2025, 3, 3, 8)
    daily = calc.daily_use([(day + timedelta(days=d), day + timedelta(days=d, hours=2), 30.0)
                            for d in range(30)])
    cases = [calc.electrify(vehicle_id=i, jurisdiction_id=1, vehicle_class="sedan",
                            fuel_type="gasoline", model_year=2018, annual_miles=miles,
                            mpg=25, daily=daily, grid_kg_per_kwh=0.3, grid_source="test",
                            params=params)
             for i, miles in enumerate([3_000, 20_000, 12_000, 6_000])]
    plan = calc.replacement_plan(cases, light_duty=4, already_electric=0, params=params,
                                 base_year=2025)
    assert plan.needed == 2 and plan.shortfall == 0
    # the more a vehicle drives, the more an EV saves: the two highest-mileage ones
    assert sorted(c.vehicle_id for c, _y in plan.chosen) == [1, 2]
    assert all(y == 2028 for _c, y in plan.chosen)  # end of life: 2018 + 10 years
    base, planned = plan.trajectory[1][2029]
    assert planned < base
