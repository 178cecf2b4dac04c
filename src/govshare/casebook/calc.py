"""What a shared service is worth, in plain numbers: pure functions, no database, no web.

Money is integer cents throughout; rates are fractions (0.07 = 7%); years are counted from 1
(the first year of the shared service) and shown as calendar years by the caller.

Conventions (each stated on the results page next to the figure it makes):

- **Cash flows.** Year t (1..horizon) has a net flow ``savings_t - one_time_t``: the full
  annual savings times the ramp's share for that year (100% after the ramp ends), less the
  one-time transition costs charged to that year. Flows are at the end of their year
  (OMB Circular A-94's end-of-year convention), so year 1 is discounted once.
- **NPV** = sum over t of net_t / (1 + r)^t with the real discount rate r (constant dollars).
- **IRR** is the rate at which NPV is zero, found by bisection between -99% and 1,000% a
  year; there is none when the flows never change sign (all savings or all costs), and the
  result says when the flows change sign more than once (several rates may then solve it).
- **Payback year** is the first year whose cumulative (undiscounted) net flow is zero or
  more and stays so to the end of the horizon; none within the horizon otherwise.
- **Allocation** (2 CFR 200 style cost allocation): a total is shared among members in
  proportion to a base (equal shares, population, headcount served, usage, assessed value)
  or a blend of bases with weights that sum to 100%. Shares are exact fractions; cents are
  given by largest-remainder rounding (ties to the member listed first), so the shares sum
  to the total exactly, to the cent.
- **True-up**: what members were billed in a year, re-shared on their actual usage; each
  member's true-up is its share on actual usage less what it was billed (positive: it owes).

The default discount rate: OMB Circular A-94 (revised October 29, 1992; reinstated by OMB
memorandum M-25-23, February 2025) §8.b sets a 7% real rate for the base case of public
investment analysis. §8.c directs cost-effectiveness and internal government investment
analyses (a shared service is one: the same services at less cost) to the real Treasury
rate of the horizon's maturity in the Circular's Appendix C, updated each year. Appendix C
editions ship as versioned package data (``casebook/data/a94_appendix_c.csv``, one row per
edition x maturity, with its validity and source); the default is the edition in force
today read at the proposal's horizon (:func:`default_rate`), and ``DEFAULT_RATE`` (§8.b)
only when no shipped edition is in force. A proposal may use its own rate, with its source.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from enum import StrEnum
from fractions import Fraction
from typing import Any, TypeVar

K = TypeVar("K")

DEFAULT_RATE = 0.07
DEFAULT_RATE_SOURCE = ("OMB Circular A-94 (revised October 29, 1992) §8.b: 7% real, base case; "
                       "reinstated by OMB memorandum M-25-23 (February 2025)")
DEFAULT_RATE_VINTAGE = "1992 Circular, reinstated 2025"
RATE_NOTE = ("A-94 §8.c: cost-effectiveness and internal government investment analyses use "
             "the real Treasury rate of the horizon's maturity from Appendix C (updated each "
             "year); the default follows it when the edition in force is shipped, and any "
             "proposal may enter another rate with its source.")
IRR_LO, IRR_HI = -0.99, 10.0
# A-94 Appendix C real rates outside this range are refused when the table is read.
APPENDIX_C_PCT = (-5.0, 20.0)


# ------------------------------------------------------------------ A-94 Appendix C


@dataclass(frozen=True)
class AppendixC:
    """One edition of A-94 Appendix C: real (and nominal) Treasury rates by maturity, valid
    for a stated period, with its source."""

    edition: str
    valid_from: date
    valid_through: date
    real_pct: Mapping[int, float]  # maturity in years -> % a year
    nominal_pct: Mapping[int, float]
    source: str

    def covers(self, day: date) -> bool:
        return self.valid_from <= day <= self.valid_through


@dataclass(frozen=True)
class RateChoice:
    """The default rate of a proposal, where it comes from and how it was read."""

    rate: float
    source: str
    edition: str | None  # the Appendix C edition used; None when the fallback is used
    note: str


def appendix_c(rows: Sequence[Mapping[str, str]]) -> list[AppendixC]:
    """Editions from the table's rows (``edition, valid_from, valid_through,
    maturity_years, real_pct, nominal_pct, source``), newest first. A bad row raises
    ``CalcError`` naming its line and field."""
    by: dict[str, dict[str, Any]] = {}
    lo, hi = APPENDIX_C_PCT
    for i, r in enumerate(rows, start=2):
        try:
            m = int(r["maturity_years"])
            real, nominal = float(r["real_pct"]), float(r["nominal_pct"])
            start, end = date.fromisoformat(r["valid_from"]), date.fromisoformat(
                r["valid_through"])
        except (KeyError, ValueError) as exc:
            raise CalcError(f"line {i}", f"not a valid Appendix C row ({exc})") from None
        for name, v in (("real_pct", real), ("nominal_pct", nominal)):
            if not (math.isfinite(v) and lo <= v <= hi):
                raise CalcError(f"line {i} {name}", f"{v} is outside {lo}% to {hi}%")
        if not 1 <= m <= 100 or end < start:
            raise CalcError(f"line {i}", "maturity must be 1-100 years and the validity "
                            "must end after it starts")
        e = by.setdefault(r["edition"], {"from": start, "through": end, "real": {},
                                         "nominal": {}, "source": r["source"]})
        if m in e["real"]:
            raise CalcError(f"line {i} maturity_years", f"{m} is given twice for "
                            f"{r['edition']}")
        e["real"][m], e["nominal"][m] = real, nominal
    out = [AppendixC(k, v["from"], v["through"], dict(sorted(v["real"].items())),
                     dict(sorted(v["nominal"].items())), v["source"]) for k, v in by.items()]
    return sorted(out, key=lambda e: e.valid_from, reverse=True)


def appendix_c_rate(edition: AppendixC, horizon_years: int) -> tuple[float, str]:
    """The real rate for a horizon, as Appendix C says: the rate of that maturity; between
    two maturities the straight line between them (a 4-year project takes the average of
    the 3- and 5-year rates); beyond the longest, the longest (30 years); below the
    shortest, the shortest. Returns the rate (a fraction) and how it was read."""
    ms = sorted(edition.real_pct)
    r = edition.real_pct
    if horizon_years in r:
        return r[horizon_years] / 100, f"the {horizon_years}-year real rate"
    if horizon_years > ms[-1]:
        return r[ms[-1]] / 100, f"the {ms[-1]}-year real rate (horizons beyond {ms[-1]} years)"
    if horizon_years < ms[0]:
        return r[ms[0]] / 100, f"the {ms[0]}-year real rate (the shortest maturity)"
    lo = max(m for m in ms if m < horizon_years)
    hi = min(m for m in ms if m > horizon_years)
    v = r[lo] + (r[hi] - r[lo]) * (horizon_years - lo) / (hi - lo)
    return round(v, 4) / 100, (f"the real rate interpolated between the {lo}- and {hi}-year "
                               f"maturities ({r[lo]:g}% and {r[hi]:g}%)")


def default_rate(editions: Sequence[AppendixC], horizon_years: int, today: date) -> RateChoice:
    """A-94 §8.c: a cost-effectiveness analysis (the same services at less cost) discounts
    at the Appendix C real rate of the horizon's maturity, from the edition in force today.
    When no shipped edition is in force, the §8.b base rate (7%) is the default and the
    note says which edition is missing; the analyst enters the year's rate with its source."""
    current = next((e for e in editions if e.covers(today)), None)
    if current is not None:
        rate, how = appendix_c_rate(current, horizon_years)
        return RateChoice(rate, f"OMB Circular A-94 Appendix C ({current.edition}), {how} "
                          f"for a {horizon_years}-year horizon; {current.source}",
                          current.edition, RATE_NOTE)
    newest = editions[0] if editions else None
    missing = (f"The Appendix C in force on {today:%B %-d, %Y} is not shipped with govshare"
               + (f" (the newest shipped is {newest.edition}, valid through "
                  f"{newest.valid_through:%B %Y})" if newest else "")
               + "; the §8.b base rate is the default until it is added.")
    return RateChoice(DEFAULT_RATE, DEFAULT_RATE_SOURCE, None, f"{missing} {RATE_NOTE}")


class Basis(StrEnum):
    """What a shared cost is divided by."""

    equal = "equal"
    population = "population"
    headcount = "headcount"  # FTEs or employees served
    usage = "usage"  # transactions, requests handled, vehicles, ft2, occupants housed
    assessed_value = "assessed_value"
    blend = "blend"


BASIS_LABELS = {
    Basis.equal: "Equal shares",
    Basis.population: "Population",
    Basis.headcount: "Headcount served (FTEs)",
    Basis.usage: "Usage (transactions, requests, vehicles, ft2, occupants)",
    Basis.assessed_value: "Assessed value",
    Basis.blend: "Blend of bases",
}
DRIVER_BASES = (Basis.population, Basis.headcount, Basis.usage, Basis.assessed_value)


class CalcError(ValueError):
    """Input the calculation cannot use; ``field`` names which."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


# --------------------------------------------------------------------------- allocation


def largest_remainder(total: int, weights: Sequence[Fraction]) -> list[int]:
    """Integer shares of ``total`` (cents, any sign) in proportion to ``weights`` (>= 0, not
    all zero), summing to ``total`` exactly. Floors each exact share, then gives the cents
    left over one each to the largest remainders (the first listed wins a tie)."""
    if any(w < 0 for w in weights):
        raise CalcError("weights", "a weight is negative")
    whole = sum(weights, Fraction(0))
    if not weights or whole == 0:
        raise CalcError("weights", "every member's weight is zero: nothing to share by")
    sign = -1 if total < 0 else 1
    amount = abs(total)
    exact = [amount * w / whole for w in weights]
    floors = [math.floor(x) for x in exact]
    left = amount - sum(floors)
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return [sign * f for f in floors]


def _frac(x: float | int | Fraction) -> Fraction:
    if isinstance(x, Fraction):
        return x
    if isinstance(x, float):
        if not math.isfinite(x):
            raise CalcError("driver", "not a finite number")
        # The decimal the figure was entered as (123.45 -> 2469/20), not the binary double's
        # exact value with its 2^52 denominator: the same shares, at a fraction of the cost.
        return Fraction(repr(x))
    return Fraction(x)


def shares(members: Sequence[K], basis: Basis, drivers: Mapping[K, Mapping[str, float | None]],
           blend: Mapping[str, float] | None = None) -> dict[K, Fraction]:
    """Each member's exact share (fractions summing to 1) under ``basis``. ``drivers[m]``
    holds the member's figure for each driver basis (population, headcount, usage,
    assessed_value); a blend's ``weights`` are percents by basis, summing to 100."""
    if not members:
        raise CalcError("members", "a proposal needs at least one member")
    if basis == Basis.equal:
        return {m: Fraction(1, len(members)) for m in members}
    if basis == Basis.blend:
        weights = {Basis(k): _frac(v) for k, v in (blend or {}).items() if v}
        if not weights:
            raise CalcError("blend", "a blend needs weights")
        if Basis.blend in weights:
            raise CalcError("blend", "a blend cannot contain a blend")
        if sum(weights.values()) != 100:
            raise CalcError("blend", f"weights must sum to 100%, not "
                            f"{float(sum(weights.values())):g}%")
        out = {m: Fraction(0) for m in members}
        for b, pct in weights.items():
            for m, s in shares(members, b, drivers).items():
                out[m] += s * pct / 100
        return out
    values = []
    for m in members:
        v = drivers.get(m, {}).get(basis.value)
        if v is None:
            raise CalcError(basis.value, f"member {m} has no {basis.value.replace('_', ' ')}")
        if v < 0:
            raise CalcError(basis.value, f"member {m} has a negative {basis.value}")
        values.append(_frac(v))
    whole = sum(values, Fraction(0))
    if whole == 0:
        raise CalcError(basis.value, f"every member's {basis.value.replace('_', ' ')} is zero")
    return {m: v / whole for m, v in zip(members, values, strict=True)}


def allocate(total_cents: int, share_of: Mapping[K, Fraction]) -> dict[K, int]:
    """``total_cents`` shared by exact shares, largest remainder: sums to the total exactly."""
    keys = list(share_of)
    return dict(zip(keys, largest_remainder(total_cents, [share_of[k] for k in keys]),
                    strict=True))


def true_up(billed: Mapping[K, int], usage: Mapping[K, float]) -> dict[K, int]:
    """What each member owes (+) or is owed (-) when the year's billed total is re-shared on
    actual usage. Sums to zero exactly."""
    keys = list(billed)
    total = sum(billed.values())
    allocated = largest_remainder(total, [_frac(usage.get(k) or 0) for k in keys])
    return {k: a - billed[k] for k, a in zip(keys, allocated, strict=True)}


# --------------------------------------------------------------------------- cash flows


def npv(rate: float, flows: Sequence[float]) -> float:
    """Net present value of end-of-year flows for years 1..n at ``rate``."""
    if rate <= -1:
        raise CalcError("discount_rate", "must be more than -100%")
    factor = 1 / (1 + rate)
    total, d = 0.0, 1.0
    for f in flows:
        d *= factor
        total += f * d
    return total


def sign_changes(flows: Sequence[float]) -> int:
    signs = [f > 0 for f in flows if f != 0]
    return sum(1 for a, b in zip(signs, signs[1:], strict=False) if a != b)


def irr(flows: Sequence[float], *, tol: float = 1e-12) -> float | None:
    """The rate at which NPV is zero (bisection on -99%..1,000%), or None: no sign change, or
    NPV has the same sign at both ends of the range."""
    if sign_changes(flows) == 0:
        return None
    lo, hi = IRR_LO, IRR_HI
    f_lo, f_hi = npv(lo, flows), npv(hi, flows)
    if f_lo == 0:
        return lo
    if f_lo * f_hi > 0:
        return None
    for _ in range(300):
        mid = (lo + hi) / 2
        f_mid = npv(mid, flows)
        if f_mid == 0 or hi - lo < tol:
            return mid
        if (f_mid > 0) == (f_lo > 0):
            lo, f_lo = mid, f_mid
        else:
            hi = mid
    return (lo + hi) / 2


def payback_year(flows: Sequence[int]) -> int | None:
    """First year (1-based) from which the cumulative net flow is >= 0 to the end, or None."""
    cum, since = 0, None
    for t, f in enumerate(flows, start=1):
        cum += f
        since = (since or t) if cum >= 0 else None
    return since


def ramp_pct(ramp: Sequence[float], t: int) -> float:
    """The share of full savings (percent) in year t: the ramp's entry, 100 after it."""
    return float(ramp[t - 1]) if t <= len(ramp) else 100.0


@dataclass(slots=True)  # not frozen: a frozen dataclass costs 3x to build, and there are many
class Year:
    t: int
    year: int
    ramp_pct: float
    savings_cents: int
    one_time_cents: int
    net_cents: int
    cumulative_cents: int
    present_value_cents: int
    cumulative_pv_cents: int


@dataclass(frozen=True)
class Outcome:
    """The result of one stream of flows (a member's, or the total)."""

    years: list[Year]
    annual_savings_cents: int  # at full ramp
    npv_cents: int
    irr: float | None
    irr_several: bool  # the flows change sign more than once
    payback_year: int | None  # calendar year
    total_savings_cents: int
    total_one_time_cents: int

    @property
    def net_cents(self) -> int:
        return self.total_savings_cents - self.total_one_time_cents

    def as_dict(self) -> dict[str, Any]:
        return {"annual_savings_cents": self.annual_savings_cents, "npv_cents": self.npv_cents,
                "irr": self.irr, "irr_several": self.irr_several,
                "payback_year": self.payback_year,
                "total_savings_cents": self.total_savings_cents,
                "total_one_time_cents": self.total_one_time_cents,
                "years": [asdict(y) for y in self.years]}


def outcome(*, annual_savings_cents: int, one_time_cents: Sequence[int], ramp: Sequence[float],
            horizon: int, start_year: int, rate: float) -> Outcome:
    """Flows, NPV, IRR and payback of one stream: savings ramped, one-time costs by year."""
    check_terms(horizon=horizon, ramp=ramp, one_time=one_time_cents, rate=rate)
    years, cum, cum_pv = [], 0, 0.0
    flows: list[int] = []
    d, factor = 1.0, 1 / (1 + rate)
    for t in range(1, horizon + 1):
        pct = ramp_pct(ramp, t)
        savings = (annual_savings_cents if pct == 100
                   else round(Fraction(annual_savings_cents) * _frac(pct) / 100))
        once = int(one_time_cents[t - 1]) if t <= len(one_time_cents) else 0
        net = savings - once
        flows.append(net)
        cum += net
        d *= factor
        pv = net * d
        cum_pv += pv
        years.append(Year(t=t, year=start_year + t - 1, ramp_pct=pct, savings_cents=savings,
                          one_time_cents=once, net_cents=net, cumulative_cents=cum,
                          present_value_cents=round(pv), cumulative_pv_cents=round(cum_pv)))
    back = payback_year(flows)
    return Outcome(years=years, annual_savings_cents=annual_savings_cents,
                   npv_cents=round(npv(rate, flows)), irr=irr(flows),
                   irr_several=sign_changes(flows) > 1,
                   payback_year=None if back is None else start_year + back - 1,
                   total_savings_cents=sum(y.savings_cents for y in years),
                   total_one_time_cents=sum(y.one_time_cents for y in years))


def check_terms(*, horizon: int, ramp: Sequence[float], one_time: Sequence[int],
                rate: float) -> None:
    if horizon < 1:
        raise CalcError("horizon_years", "must be at least 1 year")
    if len(ramp) > horizon:
        raise CalcError("ramp_pct", f"the ramp has {len(ramp)} years, longer than the horizon "
                        f"of {horizon}")
    if len(one_time) > horizon:
        raise CalcError("one_time", f"one-time costs are given for {len(one_time)} years, "
                        f"longer than the horizon of {horizon}")
    if not (math.isfinite(rate) and rate > -1):
        raise CalcError("discount_rate", "must be a finite rate above -100%")


# --------------------------------------------------------------------------- a proposal


@dataclass(frozen=True)
class MemberIn:
    """One member's figures: what the service costs it alone today (``baseline_cents`` a
    year), what stays its own cost under the shared model (``direct_cents`` a year: added
    travel, a retained liaison), its own one-time transition costs (``own_one_time_cents``,
    borne by it alone in the first year: its people's moves, its systems' migration), and its
    drivers for allocation."""

    key: int
    name: str
    baseline_cents: int
    direct_cents: int = 0
    drivers: Mapping[str, float | None] = field(default_factory=dict)
    own_one_time_cents: int = 0


@dataclass(frozen=True)
class MemberResult:
    key: int
    name: str
    share: Fraction
    baseline_cents: int
    direct_cents: int
    charge_cents: int  # its allocated share of the shared model's annual cost
    one_time_cents: list[int]  # its share of each year's one-time costs, and its own in year 1
    outcome: Outcome

    @property
    def annual_savings_cents(self) -> int:
        return self.baseline_cents - self.direct_cents - self.charge_cents

    @property
    def worse_off(self) -> bool:
        """Pays more in the shared model than going alone (over the horizon, discounted)."""
        return self.annual_savings_cents < 0 or self.outcome.npv_cents < 0


@dataclass(frozen=True)
class CaseResult:
    members: list[MemberResult]
    total: Outcome
    shared_annual_cents: int
    baseline_cents: int
    rate: float

    @property
    def worse_off(self) -> list[MemberResult]:
        return [m for m in self.members if m.worse_off]


def evaluate(*, members: Sequence[MemberIn], shared_annual_cents: int,
             one_time_cents: Sequence[int], ramp: Sequence[float], horizon: int,
             start_year: int, rate: float, basis: Basis,
             blend: Mapping[str, float] | None = None) -> CaseResult:
    """Per-member and total results of a proposal. The shared model's annual cost and each
    year's one-time costs are allocated among the members on ``basis``; a member's own
    one-time costs are added to its first year; a member saves its baseline less its direct
    costs and its charge. The total is the sum of the members, so the two always agree to
    the cent."""
    check_terms(horizon=horizon, ramp=ramp, one_time=one_time_cents, rate=rate)
    if shared_annual_cents < 0:
        raise CalcError("shared_annual_cents", "must not be negative")
    for m in members:
        if m.baseline_cents < 0:
            raise CalcError("baseline_cents", f"member {m.name}: must not be negative")
        if m.direct_cents < 0:
            raise CalcError("direct_cents", f"member {m.name}: must not be negative")
        if m.own_one_time_cents < 0:
            raise CalcError("own_one_time_cents", f"member {m.name}: must not be negative")
    keys = [m.key for m in members]
    if len(set(keys)) != len(keys):
        raise CalcError("members", "a member is listed twice")
    share_of = shares(keys, basis, {m.key: m.drivers for m in members}, blend)
    charges = allocate(shared_annual_cents, share_of)
    once_by_year = [allocate(int(c), share_of) for c in one_time_cents]
    results = []
    for m in members:
        once = [y[m.key] for y in once_by_year]
        if m.own_one_time_cents:
            once = once or [0]
            once[0] += m.own_one_time_cents
        annual = m.baseline_cents - m.direct_cents - charges[m.key]
        results.append(MemberResult(
            key=m.key, name=m.name, share=share_of[m.key], baseline_cents=m.baseline_cents,
            direct_cents=m.direct_cents, charge_cents=charges[m.key], one_time_cents=once,
            outcome=outcome(annual_savings_cents=annual, one_time_cents=once, ramp=ramp,
                            horizon=horizon, start_year=start_year, rate=rate)))
    total = _sum_outcomes([r.outcome for r in results], start_year=start_year, rate=rate,
                          horizon=horizon, ramp=ramp)
    return CaseResult(members=results, total=total, shared_annual_cents=shared_annual_cents,
                      baseline_cents=sum(m.baseline_cents for m in members), rate=rate)


def _sum_outcomes(outs: Sequence[Outcome], *, start_year: int, rate: float, horizon: int,
                  ramp: Sequence[float]) -> Outcome:
    """The total stream: each year's members' savings and one-time costs added up."""
    years, cum, cum_pv = [], 0, 0.0
    flows = []
    for t in range(1, horizon + 1):
        savings = sum(o.years[t - 1].savings_cents for o in outs)
        once = sum(o.years[t - 1].one_time_cents for o in outs)
        net = savings - once
        flows.append(net)
        cum += net
        pv = net / (1 + rate) ** t
        cum_pv += pv
        years.append(Year(t=t, year=start_year + t - 1, ramp_pct=ramp_pct(ramp, t),
                          savings_cents=savings, one_time_cents=once, net_cents=net,
                          cumulative_cents=cum, present_value_cents=round(pv),
                          cumulative_pv_cents=round(cum_pv)))
    back = payback_year(flows)
    return Outcome(years=years, annual_savings_cents=sum(o.annual_savings_cents for o in outs),
                   npv_cents=round(npv(rate, flows)), irr=irr(flows),
                   irr_several=sign_changes(flows) > 1,
                   payback_year=None if back is None else start_year + back - 1,
                   total_savings_cents=sum(y.savings_cents for y in years),
                   total_one_time_cents=sum(y.one_time_cents for y in years))


# --------------------------------------------------------------------------- realized


@dataclass(frozen=True)
class Realized:
    """One year of one member (or the total): projected savings beside realized ones."""

    year: int
    projected_cents: int  # the projection's net flow for that year (savings - one-time)
    realized_cents: int | None  # baseline - actual cost; None: no actuals recorded
    reporting: int = 1  # members whose actuals are in the figure (the total)
    expected: int = 1  # members in the proposal
    # The projection of the reporting members only (the total): what realized compares to.
    compared_cents: int | None = None

    @property
    def against_cents(self) -> int:
        return self.projected_cents if self.compared_cents is None else self.compared_cents

    @property
    def gap_cents(self) -> int | None:
        """Realized less projected (negative: short of the projection)."""
        return None if self.realized_cents is None else self.realized_cents - self.against_cents

    @property
    def realized_pct(self) -> float | None:
        if self.realized_cents is None or self.against_cents <= 0:
            return None
        return 100.0 * self.realized_cents / self.against_cents


def realized(baseline_cents: int, actual_cents: int) -> int:
    """Realized savings of a year: what going alone would have cost less what it did cost."""
    return baseline_cents - actual_cents


def dollars(cents: int | None) -> str:
    if cents is None:
        return "—"
    sign = "-" if cents < 0 else ""
    return f"{sign}${abs(cents) / 100:,.0f}"


def pct(x: float | None, digits: int = 1) -> str:
    return "—" if x is None else f"{x * 100:.{digits}f}%"
