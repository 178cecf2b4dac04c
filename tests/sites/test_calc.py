"""The sites calculations against hand-computed cases and brute force."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from govshare.sites import calc
from govshare.sites.calc import Counties, Role, Scenario, ScenarioError


def test_distress_matches_a_hand_ranked_set() -> None:
    # m1: higher is worse; m2: lower is worse.
    # m1 ranks (1 = least distressed): A 1, B 2.5, D 2.5, C 4
    # m2 ranks: D 1 (60), A 2 (50), B 3 (40), C 4 (30)
    # averages: A 1.5, B 2.75, C 4, D 1.75 -> ranks A 1, D 2, B 3, C 4 -> (r-1)/3*100
    m1 = [10, 20, 30, 20]
    m2 = [50, 40, 30, 60]
    got = calc.distress_scores([np.array(m1, float), np.array(m2, float)], ["higher", "lower"])
    assert got == pytest.approx([0.0, 200 / 3, 100.0, 100 / 3])


def test_distress_leaves_out_a_place_missing_a_metric_and_shares_tied_ranks() -> None:
    got = calc.distress_scores([np.array([1, 1, np.nan, 3.0])], ["higher"])
    # ranks among the three with data: 1.5, 1.5, 3 -> scaled (r-1)/2*100
    assert math.isnan(got[2])
    assert got[[0, 1, 3]] == pytest.approx([25.0, 25.0, 100.0])


def _counties(**cols: list[float]) -> Counties:
    n = len(next(iter(cols.values())))
    values = {k: np.full(n, np.nan) for k in calc.FIELDS}
    for k, v in cols.items():
        values[k] = np.array(v, dtype=float)
    return Counties(np.array([f"{i + 1:05d}" for i in range(n)]), np.array(["XX"] * n),
                    np.array([f"County {i + 1}" for i in range(n)]), values)


def _scenario(**kw: object) -> Scenario:
    base: dict[str, object] = dict(
        roles=(Role("Analyst", 10, 50_000),), baseline_fips="00001", ft2_per_person=200,
        rent_baseline_usd_ft2=30, other_usd_per_person=1_000, one_time_usd=224_000,
        multiplier_low=1.2, multiplier_high=1.6,
        weights={"savings": 1, "distress": 1, "jobs_share": 0, "labor_pool": 0})
    base.update(kw)
    return Scenario(**base)  # type: ignore[arg-type]


TWO = dict(weekly_wage_2022=[1000, 800], labor_force_2018=[10_000, 5_000],
           unemployed_2018=[300, 500], lat=[45, 46], lon=[-93, -92])


def test_cost_and_savings_match_a_hand_computed_case() -> None:
    c = _counties(**TWO)
    r = calc.evaluate(c, np.arange(2), _scenario(), np.array([10.0, 80.0]))
    # payroll 10 x 50,000 = 500,000 at the baseline; wage index 800/1000 = 0.8 -> 400,000
    # rent: 10 x 200 ft2 = 2,000 ft2; baseline 30 -> 60,000; proxy 30 x 0.8 = 24 -> 48,000
    # other 10 x 1,000 = 10,000; baseline 570,000, candidate 458,000: savings 112,000
    assert r.wage_index == pytest.approx([1.0, 0.8])
    assert r.payroll == pytest.approx([500_000, 400_000])
    assert r.rent == pytest.approx([60_000, 48_000])
    assert r.operating == pytest.approx([570_000, 458_000])
    assert r.savings == pytest.approx([0, 112_000])
    assert r.payback_years[1] == pytest.approx(2.0)  # 224,000 / 112,000
    assert list(r.rent_is_proxy) == [False, True]
    assert r.jobs_share_unemployed == pytest.approx([10 / 300, 10 / 500])
    assert (r.jobs_total_low, r.jobs_total_high) == (12, 16)
    assert list(r.rank) == [2, 1]  # more savings and more distress


def test_an_uploaded_rent_replaces_the_proxy_and_is_marked() -> None:
    c = calc.with_overrides(_counties(**TWO), {"00002": {"rent_usd_ft2": 15}}, "uploaded: x")
    r = calc.evaluate(c, np.arange(2), _scenario(), np.array([10.0, 80.0]))
    assert r.rent[1] == pytest.approx(2_000 * 15)
    assert not r.rent_is_proxy[1]
    assert r.counties.origin["rent_usd_ft2"] == {"00002": "uploaded: x"}


@pytest.mark.parametrize("kw,field", [
    ({"roles": (Role("A", 0, 50_000),)}, "roles"),
    ({"weights": {"savings": 0, "distress": 0}}, "weights"),
    ({"baseline_fips": "99999"}, "baseline_fips"),
    ({"min_labor_force_multiple": 10_000}, "constraints"),
])
def test_bad_scenarios_are_refused_naming_the_field(kw: dict[str, object], field: str) -> None:
    c = _counties(**TWO)
    with pytest.raises(ScenarioError) as err:
        calc.evaluate(c, np.array([1]), _scenario(**kw), np.array([10.0, 80.0]))
    assert err.value.field == field


def test_unknown_county_codes_and_states_are_named() -> None:
    c = _counties(**TWO)
    with pytest.raises(ScenarioError, match="99999"):
        calc.select_candidates(c, kind="list", fips=["00001", "99999"])
    with pytest.raises(ScenarioError, match="ZZ"):
        calc.select_candidates(c, kind="state", states=["ZZ"])
    assert list(calc.select_candidates(c, kind="radius", lat=46, lon=-92, km=1,
                                       baseline_fips="00001")) == [0, 1]


def _brute_front(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    n = len(x)
    return np.array([not any((x[j] >= x[i] and y[j] >= y[i]) and (x[j] > x[i] or y[j] > y[i])
                             for j in range(n)) for i in range(n)])


@pytest.mark.parametrize("seed", range(20))
def test_the_frontier_equals_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60))
    x = rng.integers(0, 8, n).astype(float)  # few values: many ties
    y = rng.integers(0, 8, n).astype(float)
    assert list(calc.pareto_front(x, y)) == list(_brute_front(x, y))


def test_sensitivity_is_reproducible_and_counts_three_per_draw() -> None:
    rng = np.random.default_rng(1)
    n = 30
    c = _counties(weekly_wage_2022=list(rng.uniform(600, 1500, n)),
                  labor_force_2018=list(rng.uniform(5e3, 5e5, n)),
                  unemployed_2018=list(rng.uniform(100, 5e3, n)),
                  lat=[45.0] * n, lon=[-93.0] * n)
    r = calc.evaluate(c, np.arange(n), _scenario(), rng.uniform(0, 100, n))
    a = calc.sensitivity(r, draws=250, seed=3, chunk=50)
    b = calc.sensitivity(r, draws=250, seed=3, chunk=200)
    assert a.p_top3.sum() == pytest.approx(3.0)
    assert a.p_first.sum() == pytest.approx(1.0)
    assert np.allclose(a.p_top3, b.p_top3)  # chunking changes nothing but memory
    # With no uncertainty at all the draws agree with the deterministic ranking.
    still = _scenario(rent_uncertainty_pct=0, wage_uncertainty_pct=0,
                      weight_concentration=1e9, multiplier_low=1.4, multiplier_high=1.4)
    r2 = calc.evaluate(c, np.arange(n), still, r.distress)
    s2 = calc.sensitivity(r2, draws=50)
    assert set(np.flatnonzero(s2.p_top3 == 1.0)) == set(np.argsort(-r2.score)[:3])


def test_every_combination_of_weights_ranks_by_the_weighted_normalized_criteria() -> None:
    c = _counties(**TWO)
    for ws in itertools.product([0, 1, 2], repeat=4):
        if not any(ws):
            continue
        weights = dict(zip(calc.CRITERIA, ws, strict=True))
        r = calc.evaluate(c, np.arange(2), _scenario(weights=weights), np.array([10.0, 80.0]))
        norm = np.column_stack([calc.minmax(v) for v in r.criteria.values()])
        assert r.score == pytest.approx(norm @ (np.array(ws) / sum(ws)))


@pytest.mark.parametrize("seed", range(6))
def test_weight_stability_matches_a_sweep_of_each_weight(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 25
    c = _counties(weekly_wage_2022=list(rng.uniform(600, 1500, n)),
                  labor_force_2018=list(rng.uniform(5e3, 5e5, n)),
                  unemployed_2018=list(rng.uniform(100, 5e3, n)),
                  lat=[45.0] * n, lon=[-93.0] * n)
    weights = dict(zip(calc.CRITERIA, rng.uniform(0.1, 1, 4), strict=True))
    r = calc.evaluate(c, np.arange(n), _scenario(weights=weights), rng.uniform(0, 100, n))
    leader = int(np.argmax(r.score))
    w = calc.normalized_weights(weights)
    for k, wr in enumerate(calc.weight_stability(r)):
        assert wr.lo <= wr.share <= wr.hi
        for t in np.linspace(0, 1, 401):
            others = np.delete(w, k) / np.delete(w, k).sum()
            trial = np.insert(others * (1 - t), k, t)
            scores = np.column_stack([calc.minmax(v) for v in r.criteria.values()]) @ trial
            best = scores.max()
            inside = wr.lo + 1e-9 < t < wr.hi - 1e-9
            outside = t < wr.lo - 1e-9 or t > wr.hi + 1e-9
            if inside:
                assert scores[leader] >= best - 1e-9, (k, t)
            if outside:
                assert scores[leader] < best, (k, t)


def test_a_set_cancel_token_stops_the_sensitivity_between_chunks() -> None:
    import threading

    rng = np.random.default_rng(2)
    n = 20
    c = _counties(weekly_wage_2022=list(rng.uniform(600, 1500, n)),
                  labor_force_2018=list(rng.uniform(5e3, 5e5, n)),
                  unemployed_2018=list(rng.uniform(100, 5e3, n)),
                  lat=[45.0] * n, lon=[-93.0] * n)
    r = calc.evaluate(c, np.arange(n), _scenario(), rng.uniform(0, 100, n))
    stop = threading.Event()
    seen: list[int] = []

    def tick(done: int, total: int) -> None:
        seen.append(done)
        if done >= 200:
            stop.set()  # as the page's cancel button does, from another thread

    with pytest.raises(calc.Canceled) as exc:
        calc.sensitivity(r, draws=1_000, chunk=100, progress=tick, cancel=stop)
    assert exc.value.done == 200 and exc.value.total == 1_000 and seen == [100, 200]
    # an unset token changes nothing
    a = calc.sensitivity(r, draws=200, cancel=threading.Event())
    assert np.allclose(a.p_top3, calc.sensitivity(r, draws=200).p_top3)
