"""Pydantic models of the casebook. Every number has one range (``core.bounds``); money
comes in as dollars (what people type) and is stored as cents."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from govshare.casebook.calc import BASIS_LABELS, DEFAULT_RATE, Basis
from govshare.casebook.models import CaseStatus, ServiceKind, SourceKind
from govshare.core.bounds import Bounds
from govshare.property.schemas import (
    CHARGE_PCT,
    CONSOLIDATION_KM,
    CONSOLIDATION_SITES,
    FITOUT_DOLLARS,
    MOVE_DOLLARS,
    SOLVE_MINUTES,
    TRAVEL_DOLLARS,
    ConsolidationIn,
)

# Ranges: a region's shared service costs at most $10 billion a year; a member's population
# at most 40 million (California); a horizon of 1 to 50 years; a real rate of -5% to 25%.
DOLLARS = Bounds(0, 10_000_000_000)
RATE = Bounds(-0.05, 0.25)
HORIZON = Bounds(1, 50)
YEAR = Bounds(1990, 2100)
PCT = Bounds(0, 100)
POPULATION = Bounds(0, 40_000_000)
HEADCOUNT = Bounds(0, 1_000_000)
USAGE = Bounds(0, 1e12)
ASSESSED = Bounds(0, 10_000_000_000_000)  # $10 trillion
FTES = Bounds(0, 1_000_000)
TONNES = Bounds(0, 100_000_000)
MAX_MEMBERS = 200
_PLAN = ConsolidationIn.model_fields

SERVICE_LABELS: dict[str, str] = {
    "it": "Information technology", "payroll": "Payroll", "procurement": "Procurement",
    "fleet_maintenance": "Fleet maintenance", "facilities": "Facilities",
    "front_office": "311 / front office",
    "consolidation": "Building consolidation (property registry)",
    "sited_center": "Shared-service center (sited)", "fleet_pool": "Fleet pool",
    "other": "Other",
}
SOURCE_LABELS: dict[str, str] = {
    "entered": "Entered by staff",
    "consolidation": "Consolidation plan from the property registry",
    "sited_center": "Shared-service center sited by the sites domain",
    "fleet_pool": "Fleet pooling plan",
}
STATUS_LABELS: dict[str, str] = {"draft": "Draft", "adopted": "Adopted",
                                 "withdrawn": "Withdrawn"}
BASIS_TEXT: dict[str, str] = {b.value: label for b, label in BASIS_LABELS.items()}


def cents(dollars: float | None) -> int | None:
    return None if dollars is None else round(dollars * 100)


class MemberIn(BaseModel):
    """One member's figures, in dollars a year."""

    model_config = ConfigDict(extra="forbid")

    jurisdiction_id: int = Field(ge=1, le=2**31 - 1)
    ftes: float | None = FTES.field(None, description="FTEs doing the service today")
    staff: float = DOLLARS.field(0, description="Salaries and benefits, $ a year")
    contracts: float = DOLLARS.field(0, description="Contracts, $ a year")
    systems: float = DOLLARS.field(0, description="Systems and licenses, $ a year")
    space: float = DOLLARS.field(0, description="Space, $ a year")
    other: float = DOLLARS.field(0, description="Other costs, $ a year")
    direct: float = DOLLARS.field(0, description="Costs that stay the member's own under the "
                                  "shared model (travel, a liaison), $ a year")
    own_one_time: float = DOLLARS.field(0, description="The member's own one-time transition "
                                        "costs (its people's moves, its systems' migration), "
                                        "$, borne by it alone in the first year")
    population: int | None = POPULATION.field(None, description="Population (empty: the "
                                              "member's recorded population)")
    headcount: float | None = HEADCOUNT.field(None, description="Headcount served (FTEs)")
    usage: float | None = USAGE.field(None, description="Usage: transactions, requests, "
                                      "vehicles, ft2 or occupants")
    assessed_value: float | None = ASSESSED.field(None, description="Assessed value, $")
    note: str | None = Field(None, max_length=500)


class ProposalIn(BaseModel):
    """A proposal as staff enter it (or as a source fills it in)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    service: ServiceKind
    description: str | None = Field(None, max_length=5000)
    start_year: int = YEAR.field(description="First year of the shared service")
    horizon_years: int = HORIZON.field(10, description="Years evaluated")
    discount_rate: float | None = RATE.field(
        None, description="Real discount rate as a fraction (0.07 = 7%); empty: the default, "
        "the OMB Circular A-94 Appendix C real rate of the horizon's maturity from the edition "
        f"in force (shipped as package data), else A-94 §8.b's {DEFAULT_RATE:.0%}")
    discount_source: str | None = Field(None, max_length=300)
    ramp_pct: list[float] = Field(default_factory=list, max_length=50,
                                  description="Share of full savings in each early year, %")
    one_time: list[float] = Field(default_factory=list, max_length=50,
                                  description="One-time transition costs by year, $")
    shared_annual: float = DOLLARS.field(0, description="The shared model's annual cost, $")
    basis: Basis = Basis.equal
    blend: dict[Basis, float] = Field(default_factory=dict, max_length=5)
    tco2e_per_year: float | None = TONNES.field(None, description="Tonnes CO2e avoided a year")
    tco2e_source: str | None = Field(None, max_length=300)
    members: list[MemberIn] = Field(min_length=1, max_length=MAX_MEMBERS)

    @field_validator("ramp_pct")
    @classmethod
    def _ramp(cls, v: list[float]) -> list[float]:
        for i, x in enumerate(v, start=1):
            if not PCT.admits(x):
                raise ValueError(f"year {i} of the ramp {PCT.reason}")
        return v

    @field_validator("one_time")
    @classmethod
    def _one_time(cls, v: list[float]) -> list[float]:
        for i, x in enumerate(v, start=1):
            if not DOLLARS.admits(x):
                raise ValueError(f"year {i}'s one-time cost {DOLLARS.reason}")
        return v

    @field_validator("blend")
    @classmethod
    def _blend(cls, v: dict[Basis, float]) -> dict[Basis, float]:
        for b, x in v.items():
            if b in (Basis.blend, Basis.equal) and x:
                raise ValueError(f"a blend weighs population, headcount, usage or assessed "
                                 f"value, not {b.value}")
            if not PCT.admits(x):
                raise ValueError(f"the weight of {b.value} {PCT.reason}")
        return v

    @model_validator(mode="after")
    def _whole(self) -> ProposalIn:
        if len(self.ramp_pct) > self.horizon_years:
            raise ValueError(f"ramp_pct: the ramp ({len(self.ramp_pct)} years) is longer than "
                             f"the horizon ({self.horizon_years} years)")
        if len(self.one_time) > self.horizon_years:
            raise ValueError(f"one_time: one-time costs are given for {len(self.one_time)} "
                             f"years, longer than the horizon ({self.horizon_years} years)")
        if self.basis == Basis.blend:
            total = sum(self.blend.values())
            if abs(total - 100) > 1e-9:
                raise ValueError(f"blend: the weights sum to {total:g}%, not 100%")
        ids = [m.jurisdiction_id for m in self.members]
        if len(set(ids)) != len(ids):
            raise ValueError("members: a member is listed twice")
        return self


class ActualIn(BaseModel):
    """What a member's service cost it in one year, in dollars."""

    model_config = ConfigDict(extra="forbid")

    jurisdiction_id: int = Field(ge=1, le=2**31 - 1)
    year: int = YEAR.field()
    actual: float = DOLLARS.field(description="Actual cost of the service that year, its "
                                  "charges included, $")
    billed: float | None = DOLLARS.field(None, description="Charges billed that year, $")
    usage: float | None = USAGE.field(None, description="Actual usage that year")


class ActualRow(BaseModel):
    """One row of an actuals file (the member by id or name)."""

    model_config = ConfigDict(extra="forbid")

    member: str = Field(min_length=1, max_length=200)
    year: int = YEAR.field()
    actual: float = DOLLARS.field()
    billed: float | None = DOLLARS.field(None)
    usage: float | None = USAGE.field(None)


class FromConsolidationIn(BaseModel):
    """The consolidation form's values, to re-run the plan as a proposal's source."""

    model_config = ConfigDict(extra="forbid")

    use: str = Field(min_length=1, max_length=40)
    max_km: float = CONSOLIDATION_KM.field(15.0, description=_PLAN["max_km"].description)
    max_sites: int | None = CONSOLIDATION_SITES.field(
        None, description=_PLAN["max_sites"].description)
    travel: float = TRAVEL_DOLLARS.field(191.36, description=_PLAN["travel"].description)
    move_cost: float = MOVE_DOLLARS.field(_PLAN["move_cost"].default,
                                          description=_PLAN["move_cost"].description)
    fitout_cost: float = FITOUT_DOLLARS.field(_PLAN["fitout_cost"].default,
                                              description=_PLAN["fitout_cost"].description)
    charge_pct: float = CHARGE_PCT.field(_PLAN["charge_pct"].default,
                                         description=_PLAN["charge_pct"].description)
    keep_together: bool = Field(_PLAN["keep_together"].default,
                                description=_PLAN["keep_together"].description)
    minutes: int = SOLVE_MINUTES.field(
        _PLAN["minutes"].default, description="Time the solver had for the plan (minutes): "
        "the finished plan of that solve is used when this server still keeps it; a plan of "
        "more than 1 minute is not solved again inside a request")
    keep: list[int] = Field(default_factory=list, max_length=1000)
    close: list[int] = Field(default_factory=list, max_length=1000)
    start_year: int = YEAR.field()
    horizon_years: int = HORIZON.field(10)
    one_time: float = DOLLARS.field(
        0, description="Other one-time costs shared among the members (project management, "
        "legal), $; each member's moving and fit-out costs come from the plan as its own")


class MemberOut(BaseModel):
    jurisdiction_id: int
    name: str
    share: float
    baseline_cents: int
    direct_cents: int
    charge_cents: int
    one_time_cents: int
    annual_savings_cents: int
    npv_cents: int
    irr: float | None
    payback_year: int | None
    worse_off: bool


class ProposalOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    parent_id: int | None
    name: str
    service: str
    status: CaseStatus
    source_kind: SourceKind
    source_link: str | None
    start_year: int
    horizon_years: int
    discount_rate: float
    discount_source: str
    ramp_pct: list[float]
    one_time_cents: list[int]
    shared_annual_cents: int
    basis: str
    blend: dict[str, float]
    tco2e_per_year: float | None
    synthetic: bool
    created_at: datetime


class ResultOut(BaseModel):
    proposal_id: int
    discount_rate: float
    discount_source: str
    annual_savings_cents: int
    npv_cents: int
    irr: float | None
    payback_year: int | None
    total_savings_cents: int
    total_one_time_cents: int
    years: list[dict[str, Any]]
    worse_off: list[int]
    members_shown: int
    members_total: int


class AllocationOut(BaseModel):
    jurisdiction_id: int
    name: str
    share: float
    charge_cents: int
    one_time_cents: int


class ActualOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    jurisdiction_id: int
    year: int
    actual_cents: int
    billed_cents: int | None
    usage: float | None
    source: str
