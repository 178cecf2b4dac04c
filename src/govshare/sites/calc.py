"""Siting a shared-services center: county data, the distress score, cost and development
benefit per candidate, the weighted score, the Pareto frontier and the Monte Carlo
sensitivity of the ranking. Pure: numbers in, numbers out (numpy, no database).

Budget and social figures are kept apart. **Savings** are cash in the center's budget
(dollars a year). **Development benefit** (jobs, payroll injected into the county, the
county's distress) is a social figure: it is never added to savings. The weighted score
combines the two only as normalized criteria (0-1 each, weighted), and says so.

Formulas (every figure on the pages names the one it comes from):

- wage index ``wi = w_county / w_baseline`` (BLS QCEW 2022 average weekly wage, all
  industries, total covered);
- payroll ``P = sum(headcount_r * salary_r) * wi`` (salaries are the baseline's; no
  occupation-specific county wages are available, so the all-industry index scales them: a
  documented proxy);
- rent ``R = headcount * ft2_per_person * rent_local``, ``rent_local`` the user's figure for
  the county (uploaded) or the proxy ``rent_baseline * wi`` (labeled "proxy");
- other ``O = headcount * other_per_person`` (the same everywhere);
- operating cost ``C = P + R + O``; savings ``S = C_baseline - C`` (a year, budget);
- one-time cost (move, recruitment, fit-out) for every candidate but the baseline; payback
  ``one_time / S`` years when ``S > 0``;
- development (social): direct jobs ``= headcount``; total jobs ``= headcount * m`` for the
  multiplier range ``m_low..m_high`` (RIMS II style, a user input); payroll injected ``= P``;
  jobs as a share of the county's unemployed ``= headcount / unemployed_2018``.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.stats import rankdata

from govshare.core.geodesy import haversine_km

# ---------------------------------------------------------------------------- reference data

LAUS = "BLS Local Area Unemployment Statistics (annual averages), via USDA ERS"
QCEW = "BLS Quarterly Census of Employment and Wages, county high-level file, total covered"
SAIPE = "Census Small Area Income and Poverty Estimates, via USDA ERS"
ACS = "Census American Community Survey 5-year, via USDA ERS"
POPEST = "Census population estimates (July 1), via USDA ERS"
ATLAS = "Census cartographic boundaries 2017 (npm us-atlas 3.0.1, 1:10m)"


@dataclass(frozen=True)
class FieldInfo:
    label: str
    unit: str
    source: str
    vintage: str
    lo: float = 0.0
    hi: float = 1e9


# Every numeric field of a county, with its source and vintage. Uploads may override any of
# them (and give ``rent_usd_ft2``, which no public file has).
FIELDS: dict[str, FieldInfo] = {
    "lat": FieldInfo("Latitude of the centroid", "degrees", ATLAS, "2017", -90, 90),
    "lon": FieldInfo("Longitude of the centroid", "degrees", ATLAS, "2017", -180, 180),
    "rucc_2013": FieldInfo("Rural-urban continuum code (1 metro ... 9 rural)", "code",
                           "USDA ERS Rural-Urban Continuum Codes", "2013", 1, 9),
    "population_2018": FieldInfo("Population", "people", POPEST, "2018", 0, 2e7),
    "labor_force_2018": FieldInfo("Civilian labor force", "people", LAUS, "2018", 0, 1e7),
    "unemployed_2018": FieldInfo("Unemployed", "people", LAUS, "2018", 0, 1e7),
    "unemployment_rate_2016": FieldInfo("Unemployment rate", "%", LAUS, "2016", 0, 100),
    "unemployment_rate_2017": FieldInfo("Unemployment rate", "%", LAUS, "2017", 0, 100),
    "unemployment_rate_2018": FieldInfo("Unemployment rate", "%", LAUS, "2018", 0, 100),
    "employed_2014": FieldInfo("Employed residents", "people", LAUS, "2014", 0, 1e7),
    "employed_2018": FieldInfo("Employed residents", "people", LAUS, "2018", 0, 1e7),
    "weekly_wage_2022": FieldInfo("Average weekly wage, all industries", "USD/week", QCEW,
                                  "2022 annual average", 1, 20_000),
    "establishments_2022": FieldInfo("Establishments", "count", QCEW, "2022 annual average",
                                     0, 1e7),
    "median_hh_income_2018": FieldInfo("Median household income", "USD", SAIPE, "2018", 0,
                                       1e6),
    "median_hh_income_pct_state_2018": FieldInfo(
        "Median household income, % of the state's", "%", SAIPE, "2018", 0, 1000),
    "poverty_rate_2018": FieldInfo("Poverty rate, all ages", "%", SAIPE, "2018", 0, 100),
    "pct_no_hs_2014_18": FieldInfo("Adults 25+ without a high-school diploma", "%", ACS,
                                   "2014-18", 0, 100),
    "pct_bachelor_2014_18": FieldInfo("Adults 25+ with a bachelor's degree or more", "%", ACS,
                                      "2014-18", 0, 100),
    "rent_usd_ft2": FieldInfo("Office rent", "USD per ft2 per year",
                              "user input (no public county office-rent series)", "as given",
                              0, 500),
}
NUMERIC = tuple(FIELDS)
UPLOAD_FIELDS = tuple(f for f in FIELDS if f not in ("lat", "lon"))


@dataclass
class Counties:
    """Every county, column-wise: ``fips``, ``state``, ``name`` and one float array per
    field of :data:`FIELDS` (NaN where the source has no value). ``origin[field]`` is None
    for the published figure, else a label (``"uploaded: file.csv"``, ``"proxy: ..."``)
    per county where the value is not the source's."""

    fips: np.ndarray
    state: np.ndarray
    name: np.ndarray
    values: dict[str, np.ndarray]
    origin: dict[str, dict[str, str]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.fips)

    def index(self) -> dict[str, int]:
        return {f: i for i, f in enumerate(self.fips.tolist())}

    def take(self, idx: np.ndarray) -> Counties:
        keep = set(self.fips[idx].tolist())
        return Counties(self.fips[idx], self.state[idx], self.name[idx],
                        {k: v[idx] for k, v in self.values.items()},
                        {k: {f: o for f, o in d.items() if f in keep}
                         for k, d in self.origin.items()})


def parse_counties(text: str) -> Counties:
    """Read ``data/counties.csv`` (written by ``scripts/build_sites_counties.py``)."""
    rows = list(csv.DictReader(io.StringIO(text)))
    vals = {k: np.array([float(r[k]) if r.get(k) else math.nan for r in rows], dtype=float)
            for k in NUMERIC}
    return Counties(np.array([r["fips"] for r in rows]), np.array([r["state"] for r in rows]),
                    np.array([r["name"] for r in rows]), vals)


def with_overrides(c: Counties, overrides: Mapping[str, Mapping[str, float]], label: str
                   ) -> Counties:
    """A copy of ``c`` where uploaded values replace the published ones, each marked."""
    if not overrides:
        return c
    vals = {k: v.copy() for k, v in c.values.items()}
    origin = {k: dict(v) for k, v in c.origin.items()}
    at = c.index()
    for fips, fields in overrides.items():
        i = at.get(fips)
        if i is None:
            continue
        for k, v in fields.items():
            if k in vals:
                vals[k][i] = float(v)
                origin.setdefault(k, {})[fips] = label
    return Counties(c.fips, c.state, c.name, vals, origin)


def fill_wage_proxy(c: Counties) -> Counties:
    """Counties without a QCEW wage (Valdez-Cordova, split in 2019; Kalawao) take their
    state's median county wage, labeled ``proxy``."""
    w = c.values["weekly_wage_2022"]
    missing = np.isnan(w)
    if not missing.any():
        return c
    w = w.copy()
    origin = {k: dict(v) for k, v in c.origin.items()}
    for i in np.flatnonzero(missing):
        same = (c.state == c.state[i]) & ~np.isnan(c.values["weekly_wage_2022"])
        if same.any():
            w[i] = float(np.median(c.values["weekly_wage_2022"][same]))
            origin.setdefault("weekly_wage_2022", {})[str(c.fips[i])] = (
                "proxy: median county wage of the state (no QCEW figure)")
    vals = dict(c.values)
    vals["weekly_wage_2022"] = w
    return Counties(c.fips, c.state, c.name, vals, origin)


# --------------------------------------------------------------------------- distress score


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    worse: str  # "higher" or "lower": which direction is more distressed
    note: str = ""


# The Economic Innovation Group's Distressed Communities Index uses seven metrics. Those the
# shipped data hold are used; the others are named as not available.
DCI_USED: tuple[Metric, ...] = (
    Metric("pct_no_hs_2014_18", "No high-school diploma (adults 25+)", "higher"),
    Metric("poverty_rate_2018", "Poverty rate", "higher"),
    Metric("median_hh_income_pct_state_2018", "Median income ratio (to the state)", "lower"),
    Metric("employment_change_2014_18", "Change in employment, 2014-18", "lower",
           "proxy: LAUS employed residents; the DCI uses County Business Patterns jobs"),
)
DCI_NOT_AVAILABLE: tuple[str, ...] = (  # checked against the reference collection too
    "Housing vacancy rate (ACS): no housing table in the shipped data or the reference "
    "collection",
    "Adults not working, prime age 25-64 (ACS): no employment-by-age table in the shipped "
    "data or the reference collection",
    "Change in business establishments: only one year (QCEW 2022) is shipped; a change "
    "needs two",
)


def metric_values(c: Counties, key: str) -> np.ndarray:
    if key == "employment_change_2014_18":
        with np.errstate(divide="ignore", invalid="ignore"):
            e14, e18 = c.values["employed_2014"], c.values["employed_2018"]
            return np.where(e14 > 0, (e18 / e14 - 1.0) * 100.0, np.nan)
    return c.values[key]


def distress_scores(columns: Sequence[np.ndarray], worse: Sequence[str]) -> np.ndarray:
    """The DCI method: rank each metric (1 = least distressed, ties share their average
    rank), average each place's ranks, then scale the averages to 0-100 by their own rank:
    ``100 * (rank(avg) - 1) / (n - 1)`` (0 the least distressed place, 100 the most).
    Places missing any metric get NaN and are left out of the ranking."""
    m = np.column_stack([np.asarray(x, dtype=float) for x in columns])
    ok = ~np.isnan(m).any(axis=1)
    out = np.full(m.shape[0], np.nan)
    n = int(ok.sum())
    if n == 0:
        return out
    ranks = np.empty((n, m.shape[1]))
    for j, direction in enumerate(worse):
        col = m[ok, j] if direction == "higher" else -m[ok, j]
        ranks[:, j] = rankdata(col, method="average")
    avg = ranks.mean(axis=1)
    if n == 1:
        out[ok] = 50.0
        return out
    out[ok] = 100.0 * (rankdata(avg, method="average") - 1.0) / (n - 1)
    return out


def county_distress(c: Counties) -> np.ndarray:
    """Every county's distress score, ranked against every county of the nation."""
    return distress_scores([metric_values(c, m.key) for m in DCI_USED],
                           [m.worse for m in DCI_USED])


# ------------------------------------------------------------------------------ the scenario


@dataclass(frozen=True)
class Role:
    name: str
    headcount: int
    salary_usd: float  # a year, at the baseline location


CRITERIA: dict[str, str] = {
    "savings": "Annual savings vs the baseline (budget)",
    "distress": "Distress score of the county (DCI method)",
    "jobs_share": "Total jobs (midpoint multiplier) as a share of the county's unemployed, "
                  "capped at 100%",
    "labor_pool": "Labor force per center job (log scale)",
}


@dataclass(frozen=True)
class Scenario:
    roles: tuple[Role, ...]
    baseline_fips: str
    ft2_per_person: float
    rent_baseline_usd_ft2: float
    other_usd_per_person: float
    one_time_usd: float
    multiplier_low: float
    multiplier_high: float
    weights: Mapping[str, float]
    min_labor_force_multiple: float = 0.0
    max_km_to_hq: float | None = None
    hq_lat: float | None = None  # None: the baseline county's centroid
    hq_lon: float | None = None
    rent_uncertainty_pct: float = 20.0
    wage_uncertainty_pct: float = 10.0
    weight_concentration: float = 20.0  # Dirichlet: larger keeps weights nearer the user's

    @property
    def headcount(self) -> int:
        return sum(r.headcount for r in self.roles)

    @property
    def payroll_baseline(self) -> float:
        return float(sum(r.headcount * r.salary_usd for r in self.roles))


class ScenarioError(ValueError):
    """A scenario that cannot be computed; ``field`` names what to change."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def normalized_weights(weights: Mapping[str, float]) -> np.ndarray:
    w = np.array([float(weights.get(k, 0.0)) for k in CRITERIA])
    if (w < 0).any() or not np.isfinite(w).all():
        raise ScenarioError("weights", "weights must be finite and not negative")
    if w.sum() <= 0:
        raise ScenarioError("weights", "the weights sum to zero: give at least one a weight")
    out: np.ndarray = w / w.sum()
    return out


def distance_km(lat: float, lon: float, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """Great-circle km from one point to many (``core.geodesy.haversine_km``)."""
    return np.asarray(haversine_km(lon, lat, lons, lats), dtype=float)


@dataclass
class Result:
    """Every candidate's figures (arrays aligned with ``counties``) and the excluded ones."""

    scenario: Scenario
    counties: Counties  # the eligible candidates, baseline first if it is a candidate
    baseline: dict[str, Any]
    wage_index: np.ndarray
    rent_local: np.ndarray
    rent_is_proxy: np.ndarray
    payroll: np.ndarray
    rent: np.ndarray
    other: np.ndarray
    operating: np.ndarray
    savings: np.ndarray
    one_time: np.ndarray
    payback_years: np.ndarray
    jobs_direct: int
    jobs_total_low: float
    jobs_total_high: float
    jobs_share_unemployed: np.ndarray
    distress: np.ndarray
    km_to_hq: np.ndarray
    criteria: dict[str, np.ndarray]
    score: np.ndarray
    rank: np.ndarray  # 1 = best score
    frontier: np.ndarray  # bool: on the savings-distress Pareto frontier
    excluded: list[tuple[str, str, str]]  # (fips, name, reason)


def minmax(x: np.ndarray) -> np.ndarray:
    """Scale to 0-1 over the candidates (all equal: 0 for every one)."""
    lo, hi = np.nanmin(x), np.nanmax(x)
    if not np.isfinite(hi - lo) or hi - lo <= 0:
        return np.zeros_like(x)
    out: np.ndarray = (x - lo) / (hi - lo)
    return out


def criteria_matrix(savings: np.ndarray, distress: np.ndarray, jobs_share: np.ndarray,
                    labor_pool: np.ndarray) -> np.ndarray:
    """The raw criteria, one column each in :data:`CRITERIA` order."""
    return np.column_stack([savings, distress, np.minimum(jobs_share, 1.0),
                            np.log10(np.maximum(labor_pool, 1.0))])


def pareto_front(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Which points are not dominated when both ``x`` and ``y`` are better larger: no other
    point is at least as good on both and better on one. O(n log n)."""
    n = len(x)
    front = np.zeros(n, dtype=bool)
    order = np.lexsort((-y, -x))  # x descending, ties by y descending
    best_y = -math.inf
    prev_x, prev_y = math.nan, math.nan
    for i in order:
        xi, yi = x[i], y[i]
        if yi > best_y:
            front[i] = True
            best_y = yi
        elif yi == best_y and xi == prev_x and yi == prev_y:
            front[i] = True  # an exact duplicate of a frontier point is on it too
        if front[i]:
            prev_x, prev_y = xi, yi
    return front


def evaluate(c: Counties, candidates: np.ndarray, s: Scenario, distress: np.ndarray
             ) -> Result:
    """Cost, savings, development benefit, criteria and score of every candidate.

    ``c`` is every county (with uploads and proxies applied), ``candidates`` the indexes the
    scenario names, ``distress`` every county's score (ranked nationally)."""
    if s.headcount <= 0:
        raise ScenarioError("roles", "the headcount must be at least 1")
    w = normalized_weights(s.weights)
    if s.multiplier_low > s.multiplier_high:
        raise ScenarioError("multiplier_low", "the low multiplier is above the high one")
    at = c.index()
    if s.baseline_fips not in at:
        raise ScenarioError("baseline_fips", f"unknown county code {s.baseline_fips!r}")
    b = at[s.baseline_fips]
    wage = c.values["weekly_wage_2022"]
    if not np.isfinite(wage[b]) or wage[b] <= 0:
        raise ScenarioError("baseline_fips", "the baseline county has no wage figure")
    hq_lat = s.hq_lat if s.hq_lat is not None else float(c.values["lat"][b])
    hq_lon = s.hq_lon if s.hq_lon is not None else float(c.values["lon"][b])
    hc = s.headcount

    excluded: list[tuple[str, str, str]] = []
    keep: list[int] = []
    lf = c.values["labor_force_2018"]
    km_all = distance_km(hq_lat, hq_lon, c.values["lat"][candidates],
                          c.values["lon"][candidates])
    for i, km in zip(candidates.tolist(), km_all.tolist(), strict=True):
        why = None
        if not np.isfinite(wage[i]):
            why = "no wage figure (upload one)"
        elif not np.isfinite(lf[i]):
            why = "no labor-force figure (upload one)"
        elif i != b and s.min_labor_force_multiple > 0 and lf[i] < s.min_labor_force_multiple * hc:
            why = (f"labor force {lf[i]:,.0f} is under {s.min_labor_force_multiple:g} x "
                   f"{hc:,} jobs")
        elif i != b and s.max_km_to_hq is not None and not km <= s.max_km_to_hq:
            why = f"{km:,.0f} km from headquarters (limit {s.max_km_to_hq:,.0f} km)"
        if why is None:
            keep.append(i)
        else:
            excluded.append((str(c.fips[i]), str(c.name[i]), why))
    if not [i for i in keep if i != b]:
        raise ScenarioError("constraints", "no candidate other than the baseline meets the "
                                           f"constraints ({len(excluded):,} excluded)")
    idx = np.array(keep, dtype=int)
    cc = c.take(idx)
    wi = wage[idx] / wage[b]
    rent_user = cc.values["rent_usd_ft2"]
    rent_is_proxy = np.isnan(rent_user)
    rent_local = np.where(rent_is_proxy, s.rent_baseline_usd_ft2 * wi, rent_user)
    is_base = idx == b
    rent_local = np.where(is_base & rent_is_proxy, s.rent_baseline_usd_ft2, rent_local)
    payroll = s.payroll_baseline * wi
    ft2 = hc * s.ft2_per_person
    rent = ft2 * rent_local
    other = np.full(len(idx), hc * s.other_usd_per_person)
    operating = payroll + rent + other
    base_rent_local = (s.rent_baseline_usd_ft2 if np.isnan(c.values["rent_usd_ft2"][b])
                       else float(c.values["rent_usd_ft2"][b]))
    base_operating = s.payroll_baseline + ft2 * base_rent_local + hc * s.other_usd_per_person
    savings = base_operating - operating
    one_time = np.where(is_base, 0.0, s.one_time_usd)
    with np.errstate(divide="ignore", invalid="ignore"):
        payback = np.where(savings > 0, one_time / savings, np.nan)
        unemployed = cc.values["unemployed_2018"]
        mid = (s.multiplier_low + s.multiplier_high) / 2
        share = np.where(unemployed > 0, hc / unemployed, np.nan)
        share_total = np.where(unemployed > 0, hc * mid / unemployed, 1.0)
        labor_pool = cc.values["labor_force_2018"] / hc
    dist = distress[idx]
    dist_filled = np.where(np.isnan(dist), 0.0, dist)  # no score: counts as least distressed
    raw = criteria_matrix(savings, dist_filled, share_total, labor_pool)
    norm = np.column_stack([minmax(raw[:, k]) for k in range(raw.shape[1])])
    score = norm @ w
    rank = rankdata(-score, method="min").astype(int)
    return Result(
        scenario=s, counties=cc,
        baseline={"fips": s.baseline_fips, "name": str(c.name[b]), "state": str(c.state[b]),
                  "weekly_wage": float(wage[b]), "rent_usd_ft2": base_rent_local,
                  "operating": base_operating, "payroll": s.payroll_baseline,
                  "rent": ft2 * base_rent_local, "other": hc * s.other_usd_per_person,
                  "hq_lat": hq_lat, "hq_lon": hq_lon},
        wage_index=wi, rent_local=rent_local, rent_is_proxy=rent_is_proxy & ~is_base,
        payroll=payroll, rent=rent, other=other, operating=operating, savings=savings,
        one_time=one_time, payback_years=payback, jobs_direct=hc,
        jobs_total_low=hc * s.multiplier_low, jobs_total_high=hc * s.multiplier_high,
        jobs_share_unemployed=share, distress=dist,
        km_to_hq=distance_km(hq_lat, hq_lon, cc.values["lat"], cc.values["lon"]),
        criteria={k: raw[:, j] for j, k in enumerate(CRITERIA)}, score=score, rank=rank,
        frontier=pareto_front(savings, dist_filled), excluded=excluded)


# ------------------------------------------------------------------- Monte Carlo sensitivity


@dataclass
class Sensitivity:
    draws: int
    seed: int
    p_top3: np.ndarray  # per candidate, aligned with Result.counties
    p_first: np.ndarray
    rank_p05: np.ndarray
    rank_p95: np.ndarray


BLOCK = 50  # draws per random stream


class Canceled(Exception):
    """The caller's cancel token was set: the run stopped after ``done`` draws."""

    def __init__(self, done: int, total: int) -> None:
        super().__init__(f"canceled after {done:,} of {total:,} draws")
        self.done, self.total = done, total


def sensitivity(r: Result, *, draws: int = 1000, seed: int = 12, chunk: int = 100,
                progress: Any = None, ranks: bool = True, cancel: Any = None) -> Sensitivity:
    """Draw the weights (Dirichlet around the user's), each candidate's employment
    multiplier (uniform in the range), office rent and wage index (uniform within
    +/- the scenario's uncertainty) ``draws`` times; score and rank every draw. Vectorized
    over a chunk of draws at a time (memory: ``chunk x candidates`` floats per array).
    ``progress(done, total)`` is called after each chunk. ``ranks=False`` skips each
    candidate's 5-95% rank range (a full sort per draw, most of the time); it is then NaN.
    ``chunk`` is rounded up to a multiple of :data:`BLOCK`. ``cancel``: anything with
    ``is_set()`` (a ``threading.Event``, the shape of property's solver cancel token),
    checked before each chunk; once set, :class:`Canceled` is raised."""
    chunk = max(BLOCK, -(-chunk // BLOCK) * BLOCK)
    s = r.scenario
    n = len(r.score)
    w0 = normalized_weights(s.weights)
    active = w0 > 0
    hc = s.headcount
    ft2 = hc * s.ft2_per_person
    is_base = r.counties.fips == s.baseline_fips
    unemployed = r.counties.values["unemployed_2018"]
    pool = np.log10(np.maximum(r.counties.values["labor_force_2018"] / hc, 1.0))
    dist = np.where(np.isnan(r.distress), 0.0, r.distress)
    base_op = r.baseline["operating"]
    a, bnd = s.wage_uncertainty_pct / 100, s.rent_uncertainty_pct / 100
    top3 = np.zeros(n)
    first = np.zeros(n)
    ranks_all = np.empty((draws, n), dtype=np.int32) if ranks else None
    k3 = min(3, n)
    done = 0
    rows = np.arange(chunk)[:, None]
    dist_n = minmax(dist)[None, :]
    pool_n = minmax(pool)[None, :]
    while done < draws:
        if cancel is not None and cancel.is_set():
            raise Canceled(done, draws)
        m = min(chunk, draws - done)
        # Each block of BLOCK draws has its own stream ([seed, block]): the draws do not
        # depend on how many are computed together.
        parts = []
        for start in range(done, done + m, BLOCK):
            g = np.random.default_rng([seed, start // BLOCK])
            k = min(BLOCK, done + m - start)
            w_ = np.zeros((k, len(w0)))
            w_[:, active] = g.dirichlet(w0[active] * s.weight_concentration, size=k)
            parts.append((w_, g.uniform(1 - a, 1 + a, size=(k, n)),
                          g.uniform(1 - bnd, 1 + bnd, size=(k, n)),
                          g.uniform(s.multiplier_low, s.multiplier_high, size=(k, n))))
        wts = np.concatenate([p[0] for p in parts])
        wi = r.wage_index[None, :] * np.concatenate([p[1] for p in parts])
        wi[:, is_base] = 1.0
        rent = r.rent_local[None, :] * np.concatenate([p[2] for p in parts])
        mult = np.concatenate([p[3] for p in parts])
        savings = base_op - (s.payroll_baseline * wi + ft2 * rent + hc * s.other_usd_per_person)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(unemployed > 0, np.minimum(hc * mult / unemployed, 1.0), 1.0)
        score = (wts[:, 0:1] * _minmax_rows(savings) + wts[:, 1:2] * dist_n
                 + wts[:, 2:3] * _minmax_rows(share) + wts[:, 3:4] * pool_n)
        top = np.argpartition(-score, k3 - 1, axis=1)[:, :k3] if n > k3 else \
            np.tile(np.arange(n), (m, 1))
        np.add.at(top3, top.ravel(), 1)
        best = np.argmax(score, axis=1)
        np.add.at(first, best, 1)
        if ranks_all is not None:
            order = np.argsort(-score, axis=1)
            rk = np.empty_like(order)
            rk[rows[:m], order] = np.arange(1, n + 1)[None, :]
            ranks_all[done:done + m] = rk
        done += m
        if progress is not None:
            progress(done, draws)
    if ranks_all is not None:
        p05 = np.percentile(ranks_all, 5, axis=0)
        p95 = np.percentile(ranks_all, 95, axis=0)
    else:
        p05 = p95 = np.full(n, np.nan)
    return Sensitivity(draws=draws, seed=seed, p_top3=top3 / draws, p_first=first / draws,
                       rank_p05=p05, rank_p95=p95)


def _minmax_rows(x: np.ndarray) -> np.ndarray:
    lo = x.min(axis=1, keepdims=True)
    span = x.max(axis=1, keepdims=True) - lo
    return np.where(span > 0, (x - lo) / np.where(span > 0, span, 1.0), 0.0)


@dataclass(frozen=True)
class WeightRange:
    """How far one criterion's weight may move (the others keeping their proportions) before
    the first-ranked candidate loses first place: the UK MCA manual's one-at-a-time
    sensitivity. Shares are 0-1 of the total weight; ``lo``/``hi`` bound the interval where
    the leader stays first, ``below``/``above`` name who leads just past each end (None:
    the leader holds to 0 or to 1)."""

    criterion: str
    share: float
    lo: float
    hi: float
    below: int | None
    above: int | None


def weight_stability(r: Result) -> list[WeightRange]:
    """For each criterion, the interval of its weight share over which ``r``'s leader stays
    first. Scores are linear in the share ``t``: ``t * n_k + (1 - t) * rest``, so the
    interval's ends are where another candidate's line crosses the leader's."""
    w = normalized_weights(r.scenario.weights)
    norm = np.column_stack([minmax(v) for v in r.criteria.values()])
    leader = int(np.lexsort((r.counties.fips, -r.score))[0])
    out = []
    for k, name in enumerate(CRITERIA):
        others = np.delete(w, k)
        rest_w = others / others.sum() if others.sum() > 0 else np.zeros_like(others)
        rest = np.delete(norm, k, axis=1) @ rest_w  # score of the other criteria, scaled 1
        a = norm[:, k] - rest  # score(t) = rest + t * a
        da, db = a - a[leader], rest - rest[leader]  # j beats the leader where db + t*da > 0
        lo, hi, below, above = 0.0, 1.0, None, None
        for j in np.flatnonzero(np.arange(len(a)) != leader):
            if da[j] == 0:
                continue
            t = float(-db[j] / da[j])  # where j's line crosses the leader's
            if da[j] > 0 and t < hi and t >= w[k] - 1e-12:
                hi, above = max(t, w[k]), int(j)
            elif da[j] < 0 and t > lo and t <= w[k] + 1e-12:
                lo, below = min(t, w[k]), int(j)
        out.append(WeightRange(name, float(w[k]), lo, hi, below, above))
    return out


# ------------------------------------------------------------------------ candidate selection


def select_candidates(c: Counties, *, kind: str, states: Iterable[str] = (),
                      fips: Iterable[str] = (), lat: float | None = None,
                      lon: float | None = None, km: float | None = None,
                      baseline_fips: str | None = None) -> np.ndarray:
    """Indexes of the candidate counties: every county of the ``states``, the ``fips``
    listed, or those whose centroid is within ``km`` of (``lat``, ``lon``). The baseline is
    always a candidate (the comparison starts there)."""
    at = c.index()
    if kind == "state":
        want = {s.upper() for s in states}
        unknown = want - set(c.state.tolist())
        if not want or unknown:
            raise ScenarioError("states", f"unknown state code(s): {', '.join(sorted(unknown))}"
                                if unknown else "name at least one state")
        mask = np.isin(c.state, sorted(want))
    elif kind == "list":
        codes = list(dict.fromkeys(fips))
        missing = [f for f in codes if f not in at]
        if not codes or missing:
            raise ScenarioError("fips", f"unknown county code(s): {', '.join(missing[:10])}"
                                if missing else "list at least one county code")
        mask = np.zeros(len(c), dtype=bool)
        mask[[at[f] for f in codes]] = True
    elif kind == "radius":
        if lat is None or lon is None or km is None:
            raise ScenarioError("radius", "give a latitude, a longitude and a distance")
        mask = distance_km(lat, lon, c.values["lat"], c.values["lon"]) <= km
    else:
        raise ScenarioError("candidates", f"unknown candidate kind {kind!r}")
    if baseline_fips is not None and baseline_fips in at:
        mask[at[baseline_fips]] = True
    if not mask.any():
        raise ScenarioError("candidates", "no county is in the candidate set")
    return np.flatnonzero(mask)


def fmt_usd(x: float) -> str:
    if not math.isfinite(x):
        return "n/a"
    return f"-${-x:,.0f}" if x < 0 else f"${x:,.0f}"
