"""Pure computation for the property registry: true cost, condition index, utilization.

No database, no I/O: the factor tables are loaded by ``queries`` and passed in. Every
figure comes back as a :class:`Component` that carries its formula, its inputs and the
sources of its factors, so a page can show exactly how each dollar was reached.

Units: money in integer cents; energy in the fuel's unit (kWh, therm, kBtu of steam,
US gallon); emissions in kg per gas, reported in metric tonnes CO2e (AR5 GWP-100).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from pydantic import Field, TypeAdapter, ValidationError

from govshare.core.bounds import Bounds
from govshare.core.formats import local, zone
from govshare.core.formats import money as dollars  # one way to write money

KG_PER_LB = 0.45359237
GWP_AR5 = {"CO2": 1.0, "CH4": 28.0, "N2O": 265.0}
GWP_SOURCE = "IPCC AR5 GWP-100 (CH4 28, N2O 265), as in EPA GHG Emission Factors Hub 2025 Table 11"
DISCOUNT_RATES = ("2.5%", "2.0%", "1.5%")
FUELS = ("electricity_kwh", "natural_gas_therms", "district_steam_kbtu", "fuel_oil_gallons",
         "propane_gallons")
FUEL_FACTOR_KEY = {"natural_gas_therms": "natural_gas", "district_steam_kbtu": "district_steam",
                   "fuel_oil_gallons": "fuel_oil", "propane_gallons": "propane"}
FUEL_LABELS = {"electricity_kwh": ("Electricity", "kWh"),
               "natural_gas_therms": ("Natural gas", "therm"),
               "district_steam_kbtu": ("District steam", "kBtu"),
               "fuel_oil_gallons": ("Fuel oil No. 2", "gallon"),
               "propane_gallons": ("Propane", "gallon")}


@dataclass(frozen=True)
class FuelFactor:
    kg_co2: float
    g_ch4: float
    g_n2o: float
    source: str


@dataclass(frozen=True)
class GridFactor:
    subregion: str
    name: str
    lb_co2_per_mwh: float
    lb_ch4_per_mwh: float
    lb_n2o_per_mwh: float
    source: str


@dataclass(frozen=True)
class Factors:
    """Interim emission factors and social cost of greenhouse gases (see data/SOURCES.md)."""

    fuels: dict[str, FuelFactor]
    grid: dict[str, GridFactor]
    scc: dict[tuple[str, int], dict[str, float]]  # (gas, year) -> {rate: 2020 USD per tonne}
    scc_source: str


PERCENT = Bounds(0, 100)


@dataclass(frozen=True)
class Parameters:
    """Region-wide knobs; every default is documented and shown on the page that uses it.
    Each number has its range (``core.bounds``): :func:`checked_parameters` applies them."""

    discount_rate: str = "2.0%"
    repair_amortization_years: Annotated[int, Bounds(1, 100).field()] = 10
    vacant_cost_cents_per_ft2: Annotated[int, Bounds(0, 100_000).field()] = 200
    underused_below_pct: Annotated[float, PERCENT.field()] = 60.0
    vacant_below_pct: Annotated[float, PERCENT.field()] = 10.0
    electricity_cents_per_kwh: Annotated[float, Bounds(0, 1_000).field()] = 11.0
    gas_cents_per_therm: Annotated[float, Bounds(0, 10_000).field()] = 120.0
    steam_cents_per_kbtu: Annotated[float, Bounds(0, 1_000).field()] = 3.0
    fuel_oil_cents_per_gallon: Annotated[float, Bounds(0, 10_000).field()] = 400.0
    propane_cents_per_gallon: Annotated[float, Bounds(0, 10_000).field()] = 250.0
    scc_year: Annotated[int | None, Bounds(1990, 2100).field()] = None
    default_grid_subregion: Annotated[str | None, Field(max_length=10)] = None

    def __post_init__(self) -> None:
        if self.discount_rate not in DISCOUNT_RATES:
            raise ValueError(f"discount rate must be one of {', '.join(DISCOUNT_RATES)}")
        if self.repair_amortization_years < 1:
            raise ValueError("repair amortization needs at least 1 year")

    @property
    def energy_prices(self) -> dict[str, float]:
        return {"electricity_kwh": self.electricity_cents_per_kwh,
                "natural_gas_therms": self.gas_cents_per_therm,
                "district_steam_kbtu": self.steam_cents_per_kbtu,
                "fuel_oil_gallons": self.fuel_oil_cents_per_gallon,
                "propane_gallons": self.propane_cents_per_gallon}


PARAMETERS = TypeAdapter(Parameters)


def checked_parameters(values: dict[str, Any]) -> Parameters:
    """Parameters from their stored or submitted values, every range checked (raises
    pydantic's ``ValidationError``, or ``ValueError`` from the cross-field checks)."""
    return PARAMETERS.validate_python(values)


def usable_parameters(values: dict[str, Any]) -> tuple[Parameters, list[str]]:
    """Parameters from stored values, never failing: a value that is not valid (stored before
    its range existed) gives way to its default. Returns the parameters and the names of the
    values left out."""
    known = {k: v for k, v in values.items() if k in Parameters.__dataclass_fields__}
    try:
        return checked_parameters(known), []
    except ValidationError as exc:
        # A cross-field check names no field: then none of the stored values is used.
        bad = sorted({str(e["loc"][0]) for e in exc.errors() if e["loc"]} or known)
    return checked_parameters({k: v for k, v in known.items() if k not in bad}), bad


PRICE_SOURCE = ("govshare default energy prices (assumed; set your region's utility rates "
                "under Property parameters)")
VACANCY_SOURCE = ("govshare default social cost of vacant space (assumed: blight, security and "
                  "forgone use; set your region's value under Property parameters)")


@dataclass(frozen=True)
class AssetFacts:
    """The plain values of one asset that true cost needs."""

    status: str
    gross_floor_area_ft2: float | None = None
    capacity: int | None = None
    occupancy: int | None = None
    annual_om_cost_cents: int | None = None
    annual_lease_cost_cents: int | None = None
    annual_energy_cost_cents: int | None = None
    repair_needs_cents: int | None = None
    replacement_value_cents: int | None = None
    energy: dict[str, float] = field(default_factory=dict)
    energy_year: int | None = None
    grid_subregion: str | None = None
    synthetic_fields: frozenset[str] = frozenset()
    # Fields whose stored value is outside its range: given here as None, and named in the
    # missing inputs of the components that use them.
    out_of_range: frozenset[str] = frozenset()


# The true cost has two parts that are never summed without saying so: the budget cost, cash
# a member pays (O&M, energy, lease, repairs), and the social cost, which nobody is billed
# for (carbon at the social cost of greenhouse gases, the waste of vacant space).
BUDGET, SOCIAL = "budget", "social"
SOCIAL_COMPONENTS = frozenset({"carbon", "vacancy"})
COST_KIND_LABELS = {BUDGET: "Budget cost (cash the member pays)",
                    SOCIAL: "Social cost (not billed to anyone)"}
# Inputs as people name them, not as the database does.
INPUT_LABELS = {
    "annual_om_cost_cents": "Annual operating and maintenance cost (recorded)",
    "annual_energy_cost_cents": "Annual energy cost (recorded)",
    "annual_lease_cost_cents": "Annual lease cost (recorded; 0 when owned)",
    "repair_needs_cents": "Repair needs (deferred maintenance, recorded)",
    "years": "Years the repairs are spread over",
}


@dataclass
class Component:
    key: str
    label: str
    cents: int
    formula: str
    inputs: dict[str, str]
    sources: list[str]
    synthetic: bool = False
    missing: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return SOCIAL if self.key in SOCIAL_COMPONENTS else BUDGET


@dataclass
class Emissions:
    kg: dict[str, float]  # per gas
    tco2e: float
    lines: list[dict[str, Any]]  # per fuel: quantity, unit, factor, kg per gas, tCO2e
    missing: list[str]


@dataclass
class TrueCost:
    components: list[Component]
    emissions: Emissions
    total_cents: int
    complete: bool  # False if an input was missing and counted as zero

    def by_key(self) -> dict[str, Component]:
        return {c.key: c for c in self.components}

    @property
    def budget_cents(self) -> int:
        return sum(c.cents for c in self.components if c.kind == BUDGET)

    @property
    def social_cents(self) -> int:
        return sum(c.cents for c in self.components if c.kind == SOCIAL)


def condition_index(repair_needs_cents: int | None, replacement_value_cents: int | None
                    ) -> float | None:
    """FRPP condition index: (1 - repair needs / replacement value) x 100, within 0..100."""
    if repair_needs_cents is None or not replacement_value_cents:
        return None
    return max(0.0, min(100.0, (1 - repair_needs_cents / replacement_value_cents) * 100))


def utilization_pct(occupancy: int | None, capacity: int | None) -> float | None:
    if occupancy is None or not capacity:
        return None
    return occupancy / capacity * 100


def utilization_class(pct: float | None, status: str, params: Parameters) -> str:
    """'vacant', 'under-used', 'in use' or 'unknown', by the region's thresholds."""
    if status in ("vacant", "surplus", "disposal_in_progress", "disposed"):
        return "vacant"
    if pct is None:
        return "unknown"
    if pct < params.vacant_below_pct:
        return "vacant"
    if pct < params.underused_below_pct:
        return "under-used"
    return "in use"


def vacant_ft2(facts: AssetFacts) -> tuple[float, str]:
    """Floor area counted as vacant, and how it was found."""
    gfa = facts.gross_floor_area_ft2 or 0.0
    if facts.status in ("vacant", "surplus", "disposal_in_progress"):
        return gfa, f"whole floor area, status {facts.status.replace('_', ' ')}"
    pct = utilization_pct(facts.occupancy, facts.capacity)
    if pct is None:
        return 0.0, "utilization unknown: no vacancy counted"
    return gfa * max(0.0, 1 - min(pct, 100.0) / 100), (
        f"floor area x (1 - utilization {pct:.0f}%)")


def emissions(facts: AssetFacts, factors: Factors) -> Emissions:
    kg = {"CO2": 0.0, "CH4": 0.0, "N2O": 0.0}
    lines: list[dict[str, Any]] = []
    missing: list[str] = []
    for fuel in FUELS:
        qty = facts.energy.get(fuel)
        if not qty:
            continue
        label, unit = FUEL_LABELS[fuel]
        if fuel == "electricity_kwh":
            grid = factors.grid.get(facts.grid_subregion or "")
            if grid is None:
                missing.append(f"eGRID subregion for electricity ({facts.grid_subregion!r})")
                continue
            mwh = qty / 1000
            gas_kg = {"CO2": mwh * grid.lb_co2_per_mwh * KG_PER_LB,
                      "CH4": mwh * grid.lb_ch4_per_mwh * KG_PER_LB,
                      "N2O": mwh * grid.lb_n2o_per_mwh * KG_PER_LB}
            factor = (f"{grid.lb_co2_per_mwh} lb CO2, {grid.lb_ch4_per_mwh} lb CH4, "
                      f"{grid.lb_n2o_per_mwh} lb N2O per MWh ({grid.subregion} {grid.name})")
            source = grid.source
        else:
            f = factors.fuels[FUEL_FACTOR_KEY[fuel]]
            gas_kg = {"CO2": qty * f.kg_co2, "CH4": qty * f.g_ch4 / 1000,
                      "N2O": qty * f.g_n2o / 1000}
            factor = f"{f.kg_co2} kg CO2, {f.g_ch4} g CH4, {f.g_n2o} g N2O per {unit}"
            source = f.source
        for g, v in gas_kg.items():
            kg[g] += v
        t = sum(v * GWP_AR5[g] for g, v in gas_kg.items()) / 1000
        lines.append({"fuel": label, "quantity": qty, "unit": unit, "factor": factor,
                      "source": source, "kg": gas_kg, "tco2e": t})
    tco2e = sum(v * GWP_AR5[g] for g, v in kg.items()) / 1000
    return Emissions(kg=kg, tco2e=tco2e, lines=lines, missing=missing)


def scc_per_tonne(factors: Factors, year: int, rate: str) -> tuple[int, dict[str, float]]:
    """Social cost per tonne of each gas for an emission year (clamped to the table's years)."""
    years = sorted({y for (_g, y) in factors.scc})
    y = min(max(year, years[0]), years[-1])
    return y, {g: factors.scc[(g, y)][rate] for g in ("CO2", "CH4", "N2O")}


# The asset fields each component is computed from.
COMPONENT_FIELDS: dict[str, tuple[str, ...]] = {
    "om": ("annual_om_cost_cents",),
    "energy": ("annual_energy_cost_cents", *FUELS),
    "lease": ("annual_lease_cost_cents",),
    "repair": ("repair_needs_cents",),
    "carbon": (*FUELS, "energy_year"),
    "vacancy": ("gross_floor_area_ft2", "capacity", "occupancy"),
}


def true_cost(facts: AssetFacts, params: Parameters, factors: Factors, *, year: int
              ) -> TrueCost:
    """Annual true cost = O&M + energy + lease + annualized repair needs + carbon + vacancy."""
    syn = facts.synthetic_fields
    comps: list[Component] = []

    def simple(key: str, label: str, value: int | None, field_name: str, formula: str) -> None:
        comps.append(Component(
            key=key, label=label, cents=value or 0, formula=formula,
            inputs={field_name: dollars(value)}, sources=["asset record"],
            synthetic=field_name in syn, missing=[] if value is not None else [field_name]))

    simple("om", "Operating and maintenance", facts.annual_om_cost_cents, "annual_om_cost_cents",
           "annual O&M cost as recorded")
    # Energy: recorded cost if there is one, else use x price
    if facts.annual_energy_cost_cents is not None:
        comps.append(Component(
            key="energy", label="Energy", cents=facts.annual_energy_cost_cents,
            formula="annual energy cost as recorded",
            inputs={"annual_energy_cost_cents": dollars(facts.annual_energy_cost_cents)},
            sources=["asset record"], synthetic="annual_energy_cost_cents" in syn))
    else:
        prices = params.energy_prices
        cents = 0.0
        inputs: dict[str, str] = {}
        for fuel in FUELS:
            qty = facts.energy.get(fuel)
            if qty:
                label, unit = FUEL_LABELS[fuel]
                cents += qty * prices[fuel]
                inputs[label] = f"{qty:,.0f} {unit} x {prices[fuel] / 100:.3f} $/{unit}"
        comps.append(Component(
            key="energy", label="Energy", cents=round(cents),
            formula="sum over fuels of annual use x price", inputs=inputs or {"energy": "none"},
            sources=[PRICE_SOURCE] if inputs else ["asset record"],
            synthetic=any(f in syn for f in FUELS)))
    lease = facts.annual_lease_cost_cents if facts.annual_lease_cost_cents else 0
    comps.append(Component(key="lease", label="Lease", cents=lease,
                           formula="annual lease cost (0 when owned)",
                           inputs={"annual_lease_cost_cents": dollars(lease)},
                           sources=["asset record"]))
    n = params.repair_amortization_years
    repair = facts.repair_needs_cents
    comps.append(Component(
        key="repair", label="Repair needs, annualized",
        cents=round((repair or 0) / n),
        formula=f"repair needs / {n} years (straight-line)",
        inputs={"repair_needs_cents": dollars(repair), "years": str(n)},
        sources=["asset record", "region parameter repair_amortization_years"],
        synthetic="repair_needs_cents" in syn, missing=[] if repair is not None else
        ["repair_needs_cents"]))
    em = emissions(facts, factors)
    scc_year_used, scc = scc_per_tonne(factors, params.scc_year or facts.energy_year or year,
                                       params.discount_rate)
    carbon_cents = round(sum(em.kg[g] / 1000 * scc[g] * 100 for g in scc))
    comps.append(Component(
        key="carbon", label="Carbon (social cost)", cents=carbon_cents,
        formula=("sum over gases of tonnes emitted x social cost per tonne of that gas "
                 f"(emission year {scc_year_used}, {params.discount_rate} discount rate, "
                 "2020 dollars)"),
        inputs={"tCO2e": f"{em.tco2e:,.1f}",
                **{f"SC-{g}": f"${v:,.0f}/t" for g, v in scc.items()},
                **{f"{g} emitted": f"{em.kg[g] / 1000:,.3f} t" for g in em.kg}},
        sources=[factors.scc_source, GWP_SOURCE, *sorted({ln["source"] for ln in em.lines})],
        synthetic=any(f in syn for f in FUELS), missing=em.missing))
    vft2, how = vacant_ft2(facts)
    comps.append(Component(
        key="vacancy", label="Vacant space (social cost)",
        cents=round(vft2 * params.vacant_cost_cents_per_ft2),
        formula=f"vacant ft2 x {dollars(params.vacant_cost_cents_per_ft2)} per ft2 per year",
        inputs={"vacant ft2": f"{vft2:,.0f}", "how": how},
        sources=[VACANCY_SOURCE],
        synthetic=bool({"occupancy", "capacity"} & syn) and "utilization" in how))
    for c in comps:
        ignored = [f for f in COMPONENT_FIELDS[c.key] if f in facts.out_of_range]
        if ignored:
            c.missing = [m for m in c.missing if m not in ignored] + [
                f"{INPUT_LABELS.get(f, f)} (stored value out of range, left out)"
                for f in ignored]
    for c in comps:
        c.inputs = {INPUT_LABELS.get(k, k): v for k, v in c.inputs.items()}
        c.missing = [INPUT_LABELS.get(m, m) for m in c.missing]
    total = sum(c.cents for c in comps)
    complete = not any(c.missing for c in comps)
    return TrueCost(components=comps, emissions=em, total_cents=total, complete=complete)


# ------------------------------------------------------------------ proposal deadline


def deadline_closes_at(deadline: date, tz: str) -> datetime:
    """The moment proposals close: the end of the deadline's day in the region's time zone
    (midnight starting the next day there), in UTC."""
    next_day = deadline + timedelta(days=1)
    local_midnight = datetime(next_day.year, next_day.month, next_day.day, tzinfo=zone(tz))
    return local_midnight.astimezone(UTC)


def proposals_closed(deadline: date | None, tz: str, now: datetime) -> bool:
    """Whether the deadline has passed at ``now`` (never, without a deadline)."""
    return deadline is not None and now >= deadline_closes_at(deadline, tz)


def deadline_text(deadline: date, tz: str) -> str:
    """``Friday, January 29, 2027, 11:59 PM PST``: the last moment proposals are taken."""
    last = local(deadline_closes_at(deadline, tz) - timedelta(minutes=1), tz)
    hour = last.strftime("%I:%M %p").lstrip("0")
    return f"{last:%A, %B} {last.day}, {last.year}, {hour} {last.tzname() or tz}"


FT2_PER_ACRE = 43_560  # square feet in an acre (exact: 66 ft x 660 ft)


def acres_in_ft2(acres: float) -> float:
    """Site area in square feet (43,560 ft² an acre, exact by definition)."""
    return acres * FT2_PER_ACRE
