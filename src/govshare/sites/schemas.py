"""What the sites pages, API and CLI take in: a center scenario, and the candidate-data
file's columns. Every number has one range (``core.bounds``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from govshare.core.bounds import Bounds
from govshare.sites.calc import CRITERIA, FIELDS, UPLOAD_FIELDS, Role, Scenario

FIPS = r"^[0-9]{5}$"
STATE = r"^[A-Za-z]{2}$"


class RoleIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=100)
    headcount: int = Bounds(1, 100_000).field(description="People in this role")
    salary_usd: float = Bounds(10_000, 1_000_000).field(
        description="Salary a year at the baseline location, USD")


class WeightsIn(BaseModel):
    savings: float = Bounds(0, 100).field(0.4, description=CRITERIA["savings"])
    distress: float = Bounds(0, 100).field(0.3, description=CRITERIA["distress"])
    jobs_share: float = Bounds(0, 100).field(0.15, description=CRITERIA["jobs_share"])
    labor_pool: float = Bounds(0, 100).field(0.15, description=CRITERIA["labor_pool"])

    @model_validator(mode="after")
    def _not_all_zero(self) -> WeightsIn:
        if self.savings + self.distress + self.jobs_share + self.labor_pool <= 0:
            raise ValueError("the weights sum to zero: give at least one criterion a weight")
        return self


class CandidatesIn(BaseModel):
    """The candidate set: every county of some ``states``, a list of ``fips`` codes, or the
    counties within ``radius_km`` of (``lat``, ``lon``)."""

    kind: Literal["state", "list", "radius"] = "state"
    states: list[str] = Field(default_factory=list, max_length=51)
    fips: list[str] = Field(default_factory=list, max_length=3_200)
    lat: float | None = Bounds(-90, 90).field(None)
    lon: float | None = Bounds(-180, 180).field(None)
    radius_km: float | None = Bounds(1, 5_000).field(None)

    @model_validator(mode="after")
    def _complete(self) -> CandidatesIn:
        import re

        if self.kind == "state" and not self.states:
            raise ValueError("name at least one state (two-letter code)")
        if self.kind == "list" and not self.fips:
            raise ValueError("list at least one county code (5-digit FIPS)")
        if self.kind == "radius" and None in (self.lat, self.lon, self.radius_km):
            raise ValueError("give a latitude, a longitude and a radius in km")
        bad = [s for s in self.states if not re.fullmatch(STATE, s)]
        bad += [f for f in self.fips if not re.fullmatch(FIPS, f)]
        if bad:
            raise ValueError(f"not a state or county code: {', '.join(bad[:5])}")
        self.states = [s.upper() for s in self.states]
        return self


class ScenarioIn(BaseModel):
    """A center scenario, as the form, the API and the CLI's JSON file give it."""

    model_config = ConfigDict(str_strip_whitespace=True)

    name: str = Field(min_length=2, max_length=120)
    description: str = Field("", max_length=2_000)
    roles: list[RoleIn] = Field(min_length=1, max_length=50)
    baseline_fips: str = Field(pattern=FIPS, description="The baseline county (5-digit FIPS)")
    ft2_per_person: float = Bounds(50, 1_000).field(175.0)
    rent_baseline_usd_ft2: float = Bounds(1, 500).field(
        description="Office rent at the baseline, USD per ft2 per year (user input)")
    other_usd_per_person: float = Bounds(0, 1_000_000).field(
        0.0, description="Other annual cost per person, the same everywhere")
    one_time_usd: float = Bounds(0, 1e10).field(
        0.0, description="One-time move, recruitment and fit-out cost away from the baseline")
    multiplier_low: float = Bounds(1, 10).field(1.3, description="Employment multiplier, low")
    multiplier_high: float = Bounds(1, 10).field(1.8, description="Employment multiplier, high")
    multiplier_source: str = Field("", max_length=500, description=(
        "Where the multiplier range comes from (user input: RIMS II tables are not shipped), "
        "shown beside every total-jobs figure"))
    weights: WeightsIn = Field(default_factory=WeightsIn)
    candidates: CandidatesIn
    min_labor_force_multiple: float = Bounds(0, 1_000).field(
        10.0, description="A candidate's labor force must be at least this times the headcount")
    max_km_to_hq: float | None = Bounds(1, 10_000).field(
        None, description="Largest distance from headquarters (the baseline's centroid), km")
    rent_uncertainty_pct: float = Bounds(0, 90).field(20.0)
    wage_uncertainty_pct: float = Bounds(0, 90).field(10.0)
    draws: int = Bounds(10, 10_000).field(1_000, description="Monte Carlo draws")
    spotlight: list[str] = Field(default_factory=list, max_length=10, description=(
        "Counties (5-digit FIPS) the page compares with the baseline, with sources"))

    @model_validator(mode="after")
    def _ranges(self) -> ScenarioIn:
        import re

        if self.multiplier_low > self.multiplier_high:
            raise ValueError("the low multiplier is above the high one")
        bad = [f for f in self.spotlight if not re.fullmatch(FIPS, f)]
        if bad:
            raise ValueError(f"spotlight: not a county code: {', '.join(bad[:5])}")
        return self

    @property
    def headcount(self) -> int:
        return sum(r.headcount for r in self.roles)

    def scenario(self) -> Scenario:
        return Scenario(
            roles=tuple(Role(r.name, r.headcount, r.salary_usd) for r in self.roles),
            baseline_fips=self.baseline_fips, ft2_per_person=self.ft2_per_person,
            rent_baseline_usd_ft2=self.rent_baseline_usd_ft2,
            other_usd_per_person=self.other_usd_per_person, one_time_usd=self.one_time_usd,
            multiplier_low=self.multiplier_low, multiplier_high=self.multiplier_high,
            weights=self.weights.model_dump(),
            min_labor_force_multiple=self.min_labor_force_multiple,
            max_km_to_hq=self.max_km_to_hq,
            rent_uncertainty_pct=self.rent_uncertainty_pct,
            wage_uncertainty_pct=self.wage_uncertainty_pct)


class ScenarioRead(ScenarioIn):
    model_config = ConfigDict(from_attributes=True)

    id: int
    sample: bool
    overrides_file: str | None
    overrides_count: int


# The candidate-data file: a ``fips`` column and any of the county fields (and
# ``rent_usd_ft2``), each within its range. Built from calc.FIELDS, so the two agree.
CandidateRow = create_model(  # type: ignore[call-overload]
    "CandidateRow",
    fips=(str, Field(pattern=FIPS)),
    **{k: (float | None, Bounds(FIELDS[k].lo, FIELDS[k].hi).field(None))
       for k in UPLOAD_FIELDS},
)
