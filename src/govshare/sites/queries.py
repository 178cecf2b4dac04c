"""Sites, the reads: the shipped county data, a region's scenarios, and a scenario's result
(computed from the data and the scenario, never stored: the numbers on a page are always the
ones its data and formulas give)."""

from __future__ import annotations

import gzip
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from govshare.core import jobs
from govshare.core.errors import NotFound, ValidationFailed
from govshare.core.paging import PageParams, fetch_page
from govshare.geo import calc as geo_calc
from govshare.sites import calc
from govshare.sites.models import SiteScenario
from govshare.sites.schemas import ScenarioIn, ScenarioRead


@cache
def counties() -> calc.Counties:
    """Every county as shipped (``data/counties.csv``), missing wages filled by the
    labeled state-median proxy."""
    text = resources.files("govshare.sites").joinpath("data/counties.csv").read_text("utf-8")
    return calc.fill_wage_proxy(calc.parse_counties(text))


@cache
def published_distress() -> np.ndarray:
    return calc.county_distress(counties())


@cache
def _topology() -> dict[str, Any]:
    raw = resources.files("govshare.sites").joinpath("data/counties-10m.json.gz").read_bytes()
    data: dict[str, Any] = json.loads(gzip.decompress(raw))
    return data


@cache
def _shapes() -> dict[str, geo_calc.TopoFeature]:
    return geo_calc.decode_topojson(_topology(), "counties")


def county_geometries(fips: list[str]) -> dict[str, dict[str, Any]]:
    """GeoJSON geometries (simplified for drawing) of the given counties."""
    shapes = _shapes()
    out = {}
    for f in fips:
        feat = shapes.get(f)
        if feat is not None and not feat.geometry.is_empty:
            out[f] = geo_calc.to_geojson_geometry(feat.geometry, simplify=0.005)
    return out


def county_row(fips: str) -> dict[str, Any]:
    """One county's published figures with its distress score, or 404."""
    c = counties()
    i = c.index().get(fips)
    if i is None:
        raise NotFound(f"No county has the code {fips!r}")
    d = published_distress()[i]
    row: dict[str, Any] = {"fips": fips, "state": str(c.state[i]), "name": str(c.name[i])}
    for k in calc.FIELDS:
        v = float(c.values[k][i])
        row[k] = None if np.isnan(v) else v
    row["distress_score"] = None if np.isnan(d) else round(float(d), 1)
    row["proxies"] = {k: o[fips] for k, o in c.origin.items() if fips in o}
    return row


def list_counties(state: str | None, page: PageParams) -> tuple[list[dict[str, Any]], int]:
    c = counties()
    idx = [i for i in range(len(c)) if state is None or c.state[i] == state.upper()]
    return [county_row(str(c.fips[i])) for i in idx[page.offset:page.offset + page.limit]], \
        len(idx)


# ------------------------------------------------------------------------------- scenarios


def list_scenarios(*, session: Session, region_id: int, page: PageParams
                   ) -> tuple[list[SiteScenario], int]:
    stmt = (select(SiteScenario).where(SiteScenario.region_id == region_id)
            .order_by(SiteScenario.name, SiteScenario.id))
    return fetch_page(session, stmt, page)


def get_scenario(*, session: Session, region_id: int, scenario_id: int) -> SiteScenario:
    """A scenario of this region; another region's (or none) is 404."""
    row = session.get(SiteScenario, scenario_id)
    if row is None or row.region_id != region_id:
        raise NotFound("Scenario not found")
    return row


def find_scenario(*, session: Session, region_id: int, name: str) -> SiteScenario:
    row = session.scalar(select(SiteScenario).where(SiteScenario.region_id == region_id,
                                                    SiteScenario.name == name))
    if row is None:
        raise NotFound(f"No scenario is named {name!r}")
    return row


def scenario_in(row: SiteScenario) -> ScenarioIn:
    return ScenarioIn.model_validate({**row.params, "name": row.name,
                                      "description": row.description})


def scenario_read(row: SiteScenario) -> ScenarioRead:
    return ScenarioRead.model_validate({
        **scenario_in(row).model_dump(), "id": row.id, "sample": row.sample,
        "overrides_file": row.overrides_file, "overrides_count": len(row.overrides or {})})


# --------------------------------------------------------------------------------- results


@dataclass
class Evaluation:
    data: ScenarioIn
    result: calc.Result
    sensitivity: calc.Sensitivity
    upload_label: str | None

    def order(self) -> np.ndarray:
        """Candidates best first (score, then FIPS)."""
        r = self.result
        return np.lexsort((r.counties.fips, -r.score))


_CACHE: OrderedDict[str, Evaluation] = OrderedDict()
_LOCK = threading.Lock()
CACHE_ENTRIES = 16


def _key(data: ScenarioIn, overrides: dict[str, dict[str, float]] | None,
         upload_label: str | None) -> str:
    return json.dumps([data.model_dump(mode="json"), overrides or {}, upload_label],
                      sort_keys=True)


def cached(data: ScenarioIn, overrides: dict[str, dict[str, float]] | None = None,
           upload_label: str | None = None) -> Evaluation | None:
    key = _key(data, overrides, upload_label)
    with _LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
        return hit


# Rank ranges need every draw's ranks at once (4 bytes each): above this many, only the
# probabilities of first and top-three places are computed, and the pages say so.
RANKS_MAX = 5_000_000


def check(data: ScenarioIn) -> None:
    """Refuse what the county data cannot compute (naming the field): the deterministic part
    of :func:`evaluate`, without the Monte Carlo."""
    _deterministic(data, None, None)


def _deterministic(data: ScenarioIn, overrides: dict[str, dict[str, float]] | None,
                   upload_label: str | None) -> calc.Result:
    c = counties()
    if overrides:
        c = calc.with_overrides(c, overrides, upload_label or "uploaded")
        distress = calc.county_distress(c)
    else:
        distress = published_distress()
    s = data.scenario()
    cand = data.candidates
    try:
        idx = calc.select_candidates(c, kind=cand.kind, states=cand.states, fips=cand.fips,
                                     lat=cand.lat, lon=cand.lon, km=cand.radius_km,
                                     baseline_fips=data.baseline_fips)
        if data.baseline_fips not in c.index():
            raise calc.ScenarioError("baseline_fips",
                                     f"unknown county code {data.baseline_fips!r}")
        unknown = [f for f in data.spotlight if f not in c.index()]
        if unknown:
            raise calc.ScenarioError("spotlight", f"unknown county code(s): {', '.join(unknown)}")
        return calc.evaluate(c, idx, s, distress)
    except calc.ScenarioError as exc:
        raise ValidationFailed(exc.reason, errors=[{"loc": [exc.field], "msg": exc.reason}]
                               ) from None


def evaluate(data: ScenarioIn, overrides: dict[str, dict[str, float]] | None = None,
             upload_label: str | None = None, *, progress: Any = None,
             cancel: Any = None) -> Evaluation:
    """Compute the scenario on the shipped data with its uploads applied (kept per process
    for the last few scenarios: the same inputs give the same numbers)."""
    hit = cached(data, overrides, upload_label)
    if hit is not None:
        return hit
    result = _deterministic(data, overrides, upload_label)
    sens = calc.sensitivity(result, draws=data.draws, progress=progress, cancel=cancel,
                            ranks=len(result.score) * data.draws <= RANKS_MAX)
    ev = Evaluation(data, result, sens, upload_label)
    with _LOCK:
        _CACHE[_key(data, overrides, upload_label)] = ev
        while len(_CACHE) > CACHE_ENTRIES:
            _CACHE.popitem(last=False)
    return ev


def evaluate_row(row: SiteScenario) -> Evaluation:
    data, overrides, label = _row_inputs(row)
    return evaluate(data, overrides, label)


# Long Monte Carlo runs for pages: computed in a background thread of the web process
# (core.jobs, the one mechanism for a page's long computations) while the page shows their
# progress, cancellable from the page. Short ones (draws x candidates up to
# BACKGROUND_ABOVE, about a quarter of a second) are computed in the request. Jobs are per
# process and per inputs (the cache key): two visitors of the same scenario watch one run.
BACKGROUND_ABOVE = 300_000


@dataclass
class Progress:
    done: int
    total: int
    error: str | None = None
    canceled: bool = False

    @property
    def pct(self) -> int:
        return int(100 * self.done / self.total) if self.total else 0


_RUNS: jobs.Jobs[Evaluation | None] = jobs.Jobs("sites-montecarlo", keep=CACHE_ENTRIES,
                                                max_running=2)
_LATEST: dict[str, str] = {}  # inputs -> the id of the last run started for them


def _row_inputs(row: SiteScenario) -> tuple[ScenarioIn, dict[str, dict[str, float]] | None,
                                            str | None]:
    label = f"uploaded: {row.overrides_file}" if row.overrides_file else None
    return scenario_in(row), row.overrides or None, label


def evaluate_or_progress(row: SiteScenario, *, background_above: int = BACKGROUND_ABOVE
                         ) -> Evaluation | Progress:
    """The scenario's evaluation if it is quick or ready; else its progress, starting the
    computation in a background thread if none runs for these inputs. A run that failed is
    reported once (its error); the next visit starts again. A canceled run stays canceled
    (the page says so) until :func:`restart_run`."""
    data, overrides, label = _row_inputs(row)
    hit = cached(data, overrides, label)
    if hit is not None:
        return hit
    result = _deterministic(data, overrides, label)  # errors show at once, not in a thread
    if len(result.score) * data.draws <= background_above:
        return evaluate(data, overrides, label)
    key = _key(data, overrides, label)
    with _LOCK:
        last = _RUNS.get(_LATEST.get(key, ""), None)
        if last is not None and last.running:
            return _progress_of(last, data.draws)
        if last is not None and last.error is not None:
            del _LATEST[key]
            return _progress_of(last, data.draws)
        if last is not None and last.meta.get("canceled"):
            return _progress_of(last, data.draws)

    def work(job: jobs.Job[Evaluation | None]) -> Evaluation | None:
        job.progress = Progress(0, data.draws)

        def tick(done: int, total: int) -> None:
            job.progress = Progress(done, total)
        try:
            return evaluate(data, overrides, label, progress=tick, cancel=job.cancel)
        except calc.Canceled as exc:  # kept as canceled: the page offers to run it again
            job.progress = Progress(exc.done, data.draws, canceled=True)
            job.meta["canceled"] = True
            return None

    job = _RUNS.start(key, None, work)
    with _LOCK:
        _LATEST[key] = job.id
    return _progress_of(job, data.draws)


def _progress_of(job: jobs.Job[Evaluation | None], total: int) -> Progress:
    p = job.progress if isinstance(job.progress, Progress) else Progress(0, total)
    if job.error is not None:
        return Progress(p.done, p.total, error=job.error)
    if job.meta.get("canceled") or (job.cancel.is_set() and not job.running):
        return Progress(p.done, p.total, canceled=True)
    return p


def _latest(row: SiteScenario) -> tuple[str, jobs.Job[Evaluation | None] | None]:
    key = _key(*_row_inputs(row))
    with _LOCK:
        return key, _RUNS.get(_LATEST.get(key, ""), None)


def running(row: SiteScenario) -> Progress | None:
    """The background run of the scenario's current inputs, if one runs or was canceled."""
    data = scenario_in(row)
    _, job = _latest(row)
    if job is None or not (job.running or job.meta.get("canceled")):
        return None
    return _progress_of(job, data.draws)


def cancel_run(row: SiteScenario) -> bool:
    """Ask the scenario's background run to stop (it stops before its next chunk of draws,
    within a fraction of a second). False when none runs."""
    _, job = _latest(row)
    if job is None or not job.running or job.cancel.is_set():
        return False
    job.cancel.set()
    return True


def restart_run(row: SiteScenario) -> None:
    """Forget a canceled or failed run, so the next view starts it again."""
    key, job = _latest(row)
    if job is not None and not job.running and (job.meta.get("canceled") or job.error):
        with _LOCK:
            _LATEST.pop(key, None)


def origin_of(ev: Evaluation, field: str, fips: str) -> str | None:
    """None for the published figure, else how the value was obtained (upload, proxy)."""
    return ev.result.counties.origin.get(field, {}).get(fips)


def candidate_rows(ev: Evaluation) -> list[dict[str, Any]]:
    """One plain row per candidate, best first: the figures the table, API and exports
    show (savings are budget; jobs and distress are development benefit, kept apart)."""
    r, sn = ev.result, ev.sensitivity
    out = []
    for i in ev.order().tolist():
        f = str(r.counties.fips[i])
        dist = r.distress[i]
        out.append({
            "rank": int(r.rank[i]), "fips": f, "name": str(r.counties.name[i]),
            "state": str(r.counties.state[i]), "score": round(float(r.score[i]), 4),
            "wage_index": round(float(r.wage_index[i]), 4),
            "weekly_wage_2022": float(r.counties.values["weekly_wage_2022"][i]),
            "wage_origin": origin_of(ev, "weekly_wage_2022", f),
            "rent_usd_ft2": round(float(r.rent_local[i]), 2),
            "rent_origin": ("proxy: baseline rent x wage index" if r.rent_is_proxy[i]
                            else origin_of(ev, "rent_usd_ft2", f)
                            or ("scenario's baseline rent" if f == r.baseline["fips"]
                                else None)),
            "payroll_usd": round(float(r.payroll[i])),
            "rent_usd": round(float(r.rent[i])), "other_usd": round(float(r.other[i])),
            "operating_usd": round(float(r.operating[i])),
            "savings_usd": round(float(r.savings[i])),
            "one_time_usd": round(float(r.one_time[i])),
            "payback_years": (None if np.isnan(r.payback_years[i])
                              else round(float(r.payback_years[i]), 2)),
            "jobs_direct": r.jobs_direct,
            "jobs_total_low": round(r.jobs_total_low), "jobs_total_high": round(r.jobs_total_high),
            "jobs_share_unemployed_pct": (None if np.isnan(r.jobs_share_unemployed[i])
                                          else round(100 * float(r.jobs_share_unemployed[i]),
                                                     2)),
            "labor_force_2018": float(r.counties.values["labor_force_2018"][i]),
            "unemployed_2018": float(r.counties.values["unemployed_2018"][i]),
            "distress_score": None if np.isnan(dist) else round(float(dist), 1),
            "km_to_hq": round(float(r.km_to_hq[i]), 1),
            "on_frontier": bool(r.frontier[i]),
            "p_top3": round(float(sn.p_top3[i]), 4), "p_first": round(float(sn.p_first[i]), 4),
            "rank_p05": None if np.isnan(sn.rank_p05[i]) else float(sn.rank_p05[i]),
            "rank_p95": None if np.isnan(sn.rank_p95[i]) else float(sn.rank_p95[i]),
            "is_baseline": f == r.baseline["fips"],
        })
    return out


@dataclass(frozen=True)
class Line:
    """One figure as a page shows it: value, formula, the inputs with theirs, the source.
    ``kind`` says which side it is on: ``budget`` (cash), ``social`` (development benefit)
    or ``data``/``score``."""

    label: str
    value: str
    formula: str
    sources: tuple[str, ...]
    kind: str
    note: str | None = None


def _src(field: str) -> str:
    f = calc.FIELDS[field]
    return f"{f.label}: {f.source}, {f.vintage}"


def trace(ev: Evaluation, fips: str, *, at: dict[str, int] | None = None) -> list[Line]:
    """Every figure of one candidate, traceable to its data, source, vintage and formula.
    ``at`` (county code -> position) spares rebuilding it for every county of an export."""
    r = ev.result
    if at is None:
        at = {f: i for i, f in enumerate(r.counties.fips.tolist())}
    if fips not in at:
        raise NotFound("This county is not an eligible candidate of the scenario")
    i = at[fips]
    b = r.baseline
    s = r.scenario
    hc = s.headcount
    usd = calc.fmt_usd
    v = r.counties.values
    wage_note = origin_of(ev, "weekly_wage_2022", fips)
    rent_note = ("proxy: the baseline rent scaled by the wage index (no public county rent)"
                 if r.rent_is_proxy[i] else origin_of(ev, "rent_usd_ft2", fips))
    dist = r.distress[i]
    share = r.jobs_share_unemployed[i]
    sn = ev.sensitivity
    lines = [
        Line("Average weekly wage (county)", f"${v['weekly_wage_2022'][i]:,.0f}",
             "published figure", (_src("weekly_wage_2022"),), "data", wage_note),
        Line("Average weekly wage (baseline)", f"${b['weekly_wage']:,.0f}",
             f"published figure for {b['name']}, {b['state']}", (_src("weekly_wage_2022"),),
             "data"),
        Line("Wage index", f"{r.wage_index[i]:.3f}",
             f"county wage / baseline wage = {v['weekly_wage_2022'][i]:,.0f} / "
             f"{b['weekly_wage']:,.0f}", (_src("weekly_wage_2022"),), "data",
             "all-industry wages stand in for occupation-specific ones (proxy)"),
        Line("Payroll a year", usd(r.payroll[i]),
             f"baseline payroll {usd(s.payroll_baseline)} x wage index {r.wage_index[i]:.3f}",
             ("scenario: headcount and salaries by role (user input)",), "budget"),
        Line("Office rent per ft2 a year", f"${r.rent_local[i]:,.2f}",
             (f"baseline rent ${s.rent_baseline_usd_ft2:,.2f} x wage index "
              f"{r.wage_index[i]:.3f}" if r.rent_is_proxy[i] else "given"),
             ("scenario: baseline rent (user input)",), "data", rent_note),
        Line("Rent a year", usd(r.rent[i]),
             f"{hc:,} people x {s.ft2_per_person:,.0f} ft2 x ${r.rent_local[i]:,.2f}",
             ("scenario: ft2 per person (user input)",), "budget", rent_note),
        Line("Other cost a year", usd(r.other[i]),
             f"{hc:,} people x {usd(s.other_usd_per_person)}", ("scenario (user input)",),
             "budget"),
        Line("Operating cost a year", usd(r.operating[i]), "payroll + rent + other", (),
             "budget"),
        Line("Operating cost at the baseline", usd(b["operating"]),
             f"{usd(b['payroll'])} + {usd(b['rent'])} + {usd(b['other'])}", (), "budget"),
        Line("Savings a year vs the baseline (budget)", usd(r.savings[i]),
             "baseline operating cost - operating cost", (), "budget"),
        Line("One-time cost", usd(r.one_time[i]),
             "scenario's move, recruitment and fit-out cost (none at the baseline)",
             ("scenario (user input)",), "budget"),
        Line("Payback", "n/a" if np.isnan(r.payback_years[i])
             else f"{r.payback_years[i]:.1f} years", "one-time cost / savings a year", (),
             "budget"),
        Line("Direct jobs (social)", f"{hc:,}", "the center's headcount", (), "social"),
        Line("Total jobs with the multiplier (social)",
             f"{r.jobs_total_low:,.0f} to {r.jobs_total_high:,.0f}",
             f"{hc:,} x {s.multiplier_low:g} to {s.multiplier_high:g}",
             (multiplier_source(ev.data),), "social", "user input: a range, not RIMS II tables"),
        Line("Payroll injected into the county (social)", usd(r.payroll[i]),
             "the center's payroll there (the same dollars as its payroll cost: not added "
             "to savings)", (), "social"),
        Line("Direct jobs as a share of the unemployed (social)",
             "n/a" if np.isnan(share) else f"{100 * share:,.1f}%",
             f"{hc:,} / {v['unemployed_2018'][i]:,.0f} unemployed",
             (_src("unemployed_2018"),), "social", origin_of(ev, "unemployed_2018", fips)),
        Line("Labor force", f"{v['labor_force_2018'][i]:,.0f}",
             f"constraint: at least {s.min_labor_force_multiple:g} x {hc:,}",
             (_src("labor_force_2018"),), "data", origin_of(ev, "labor_force_2018", fips)),
        Line("Distress score (0 least, 100 most distressed)",
             "n/a" if np.isnan(dist) else f"{dist:.1f}",
             "DCI method: rank each metric over every US county, average the ranks, "
             "scale the averages' ranks to 0-100; metrics: "
             + "; ".join(m.label + (f" ({m.note})" if m.note else "") for m in calc.DCI_USED),
             tuple(_src(k) for k in ("pct_no_hs_2014_18", "poverty_rate_2018",
                                     "median_hh_income_pct_state_2018", "employed_2018")),
             "social"),
        Line("Distance to headquarters", f"{r.km_to_hq[i]:,.0f} km",
             "great circle between centroids", (_src("lat"),), "data"),
        Line("Weighted score (0-1)", f"{r.score[i]:.3f}",
             "sum of weight x criterion scaled 0-1 over the candidates: "
             + "; ".join(f"{calc.CRITERIA[k]} {w:.2f}" for k, w in zip(
                 calc.CRITERIA, calc.normalized_weights(s.weights), strict=True))
             + " (a score, not dollars: budget and social figures are not added)",
             (), "score"),
        Line("Probability of a top-three place", f"{100 * sn.p_top3[i]:.1f}%",
             f"share of {sn.draws:,} Monte Carlo draws (seed {sn.seed}) in which the county "
             "ranks in the top three", (), "robustness"),
        Line("Probability of first place", f"{100 * sn.p_first[i]:.1f}%",
             f"share of {sn.draws:,} Monte Carlo draws in which the county ranks first", (),
             "robustness"),
    ]
    return lines


def weight_ranges(ev: Evaluation) -> list[dict[str, Any]]:
    """Per criterion: the user's weight share and the range over which the first-ranked
    candidate stays first (others' weights in proportion), with who leads past each end."""
    r = ev.result

    def name(i: int | None) -> str | None:
        return None if i is None else f"{r.counties.name[i]}, {r.counties.state[i]}"

    return [{"criterion": w.criterion, "label": calc.CRITERIA[w.criterion],
             "share": round(w.share, 4), "lo": round(w.lo, 4), "hi": round(w.hi, 4),
             "below": name(w.below), "above": name(w.above)}
            for w in calc.weight_stability(r)]


# ------------------------------------------------------------------------------- exports

SIDES: dict[str, str] = {
    "id": "identifies the county",
    "budget": "budget (cash, dollars a year to the region unless said otherwise)",
    "social": "development benefit (social: jobs and payroll in the county; never added to "
              "budget figures)",
    "data": "county data or scenario input",
    "score": "score (0-1 scaled criteria, not dollars)",
    "robustness": "robustness (Monte Carlo sensitivity analysis)",
}


@dataclass(frozen=True)
class Column:
    """One column of a scenario's exports with what the page says of it: its side (budget
    and social are never added), unit, formula and source with vintage."""

    name: str
    label: str
    side: str
    unit: str
    formula: str
    source: str


def multiplier_source(data: ScenarioIn) -> str:
    given = (data.multiplier_source or "").strip()
    return ("scenario: employment multiplier range, a user input (BEA RIMS II tables are "
            "not shipped); source given: " + (given or "none given"))


def export_columns(ev: Evaluation) -> list[Column]:
    """The exports' columns, each with its explanation, for this scenario (its inputs
    appear in the formulas as on the page)."""
    s = ev.result.scenario
    b = ev.result.baseline
    sn = ev.sensitivity
    weights = "; ".join(f"{calc.CRITERIA[k]} {w:.2f}" for k, w in zip(
        calc.CRITERIA, calc.normalized_weights(s.weights), strict=True))
    user = "scenario (user input)"
    draws = (f"share of {sn.draws:,} Monte Carlo draws (seed {sn.seed}; weights Dirichlet "
             f"around the user's, multiplier {s.multiplier_low:g}-{s.multiplier_high:g}, rent "
             f"+/-{s.rent_uncertainty_pct:g}%, wage index +/-{s.wage_uncertainty_pct:g}%)")
    base = f"{b['name']}, {b['state']} ({b['fips']})"
    dci = ("DCI method: rank each metric over every US county, average the ranks, scale the "
           "averages' ranks to 0-100; metrics used: "
           + "; ".join(m.label + (f" ({m.note})" if m.note else "") for m in calc.DCI_USED)
           + "; not available: " + "; ".join(calc.DCI_NOT_AVAILABLE))
    dci_src = "; ".join(_src(k) for k in ("pct_no_hs_2014_18", "poverty_rate_2018",
                                          "median_hh_income_pct_state_2018", "employed_2018"))
    return [
        Column("rank", "Rank", "score", "rank", "order by the weighted score, best first "
               "(ties by county code)", "computed"),
        Column("fips", "County code", "id", "FIPS", "5-digit county code",
               "Census county codes (ERS population estimates, 2018 counties)"),
        Column("name", "County", "id", "text", "county name", _src("population_2018")),
        Column("state", "State", "id", "text", "state postal code", _src("population_2018")),
        Column("score", "Weighted score (0-1)", "score", "0-1",
               f"sum of weight x criterion scaled 0-1 over the candidates: {weights} (a score, "
               "not dollars: budget and social figures are not added)",
               "computed from the columns below and the scenario's weights (user input)"),
        Column("savings_usd", "Savings a year vs the baseline", "budget", "USD a year",
               f"baseline operating cost ({calc.fmt_usd(b['operating'])} at {base}) - "
               "operating cost", "computed"),
        Column("operating_usd", "Operating cost a year", "budget", "USD a year",
               "payroll + rent + other", "computed"),
        Column("payroll_usd", "Payroll a year", "budget", "USD a year",
               f"baseline payroll {calc.fmt_usd(s.payroll_baseline)} (headcount x salary by "
               "role) x wage index", "scenario: headcount and salaries by role (user input)"),
        Column("rent_usd", "Rent a year", "budget", "USD a year",
               f"{s.headcount:,} people x {s.ft2_per_person:g} ft2 x rent per ft2",
               "scenario: ft2 per person (user input)"),
        Column("other_usd", "Other cost a year", "budget", "USD a year",
               f"{s.headcount:,} people x {calc.fmt_usd(s.other_usd_per_person)}", user),
        Column("one_time_usd", "One-time cost", "budget", "USD once",
               "scenario's move, recruitment and fit-out cost (none at the baseline)", user),
        Column("payback_years", "Payback", "budget", "years", "one-time cost / savings a year "
               "(blank: no savings)", "computed"),
        Column("wage_index", "Wage index", "data", "ratio",
               f"county weekly wage / baseline weekly wage ({b['weekly_wage']:,.0f} at {base}); "
               "all-industry wages stand in for occupation-specific ones (proxy)",
               _src("weekly_wage_2022")),
        Column("weekly_wage_2022", "Average weekly wage (county)", "data", "USD a week",
               "published figure (see wage_origin)", _src("weekly_wage_2022")),
        Column("wage_origin", "How the wage was obtained", "data", "text",
               "blank: the published figure; else the proxy or upload used", "computed"),
        Column("rent_usd_ft2", "Office rent per ft2 a year", "data", "USD per ft2 a year",
               f"baseline rent ${s.rent_baseline_usd_ft2:,.2f} x wage index (proxy: no public "
               "county rent), unless an uploaded figure (see rent_origin)",
               "scenario: baseline rent (user input)"),
        Column("rent_origin", "How the rent was obtained", "data", "text",
               "proxy, upload, or the scenario's baseline rent", "computed"),
        Column("jobs_direct", "Direct jobs", "social", "jobs", "the center's headcount", user),
        Column("jobs_total_low", "Total jobs, low", "social", "jobs",
               f"{s.headcount:,} x multiplier low {s.multiplier_low:g}",
               multiplier_source(ev.data)),
        Column("jobs_total_high", "Total jobs, high", "social", "jobs",
               f"{s.headcount:,} x multiplier high {s.multiplier_high:g}",
               multiplier_source(ev.data)),
        Column("jobs_share_unemployed_pct", "Direct jobs as a share of the unemployed",
               "social", "percent", f"100 x {s.headcount:,} / unemployed",
               _src("unemployed_2018")),
        Column("labor_force_2018", "Labor force", "data", "people", "published figure; "
               f"constraint: at least {s.min_labor_force_multiple:g} x headcount",
               _src("labor_force_2018")),
        Column("unemployed_2018", "Unemployed", "data", "people", "published figure",
               _src("unemployed_2018")),
        Column("distress_score", "Distress score (0 least, 100 most distressed)", "social",
               "0-100", dci, dci_src),
        Column("km_to_hq", "Distance to headquarters", "data", "km",
               "great circle between centroids", _src("lat")),
        Column("on_frontier", "On the Pareto frontier", "score", "true/false",
               "no other candidate has at least the savings (budget) and the distress score "
               "(social) and more of one", "computed"),
        Column("p_top3", "Probability of a top-three place", "robustness", "0-1",
               f"{draws} in which the county ranks in the top three", "computed"),
        Column("p_first", "Probability of first place", "robustness", "0-1",
               f"{draws} in which the county ranks first", "computed"),
        Column("rank_p05", "Rank, 5th percentile", "robustness", "rank",
               f"5th percentile of the county's rank over the {sn.draws:,} draws (blank: not "
               "computed above 5 million draws x candidates)", "computed"),
        Column("rank_p95", "Rank, 95th percentile", "robustness", "rank",
               f"95th percentile of the county's rank over the {sn.draws:,} draws",
               "computed"),
        Column("is_baseline", "Baseline county", "id", "true/false",
               f"the scenario's baseline, {base}", user),
    ]


COLUMN_HEADER = ("column", "label", "side", "unit", "formula", "source")
FIGURE_HEADER = ("rank", "fips", "name", "state", "figure", "side", "value", "formula",
                 "source", "note")


def column_rows(ev: Evaluation) -> list[list[str]]:
    """The column dictionary as rows under :data:`COLUMN_HEADER` (side spelled out)."""
    return [[c.name, c.label, f"{c.side}: {SIDES[c.side]}", c.unit, c.formula, c.source]
            for c in export_columns(ev)]


def figure_rows(ev: Evaluation) -> list[list[Any]]:
    """Every candidate's every figure as its page shows it (value, formula with the numbers,
    source and vintage, proxy or upload note), best first, under :data:`FIGURE_HEADER`."""
    at = {f: i for i, f in enumerate(ev.result.counties.fips.tolist())}
    out: list[list[Any]] = []
    for r in candidate_rows(ev):
        for ln in trace(ev, r["fips"], at=at):
            out.append([r["rank"], r["fips"], r["name"], r["state"], ln.label,
                        f"{ln.kind}: {SIDES[ln.kind]}", ln.value, ln.formula,
                        "; ".join(ln.sources) or "computed", ln.note or ""])
    return out
