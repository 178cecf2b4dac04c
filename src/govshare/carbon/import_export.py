"""Files into carbon: a community benchmarking data set (e.g. Seattle's, under its
benchmarking ordinance: every covered building, not only the public ones) through
``core.tabular``, and factor-set files (``service.add_factor_set``).

A benchmarking building becomes an emitting asset of the ``community`` boundary of the member
that publishes the data set, with one period per fuel for its data year. Its electricity is the
meter's net figure (the Bullitt Center exports more than it uses: -33,826.8 kWh in 2016), so it
is recorded as net-metered and may be negative. A second year's file adds that year beside the
first; the same file again replaces the same year with the same figures.
"""

from __future__ import annotations

from datetime import date
from typing import Any, BinaryIO

from sqlalchemy.orm import Session

from govshare.carbon import service
from govshare.carbon.schemas import BenchmarkResult, BenchmarkRow
from govshare.core import tabular as t
from govshare.core.tabular import Layout, Preset
from govshare.core.tenancy import Principal

SOURCE_DOMAIN = "benchmarking"
LAYOUT = Layout(fields=tuple(BenchmarkRow.model_fields),
                converters=t.model_converters(BenchmarkRow),
                required=frozenset({"building_id", "name", "data_year"}))

SEATTLE = Preset(
    name="seattle-benchmarking", label="Seattle building energy benchmarking",
    description="City of Seattle benchmarking (data.seattle.gov): OSEBuildingID, DataYear, "
                "Electricity(kWh) (net), NaturalGas(therms), SteamUse(kBtu), TotalGHGEmissions "
                "(the city's own figure, kept to compare).",
    layout=LAYOUT, required=("building_id", "name", "data_year"),
    columns={
        "building_id": ("OSEBuildingID",),
        "name": ("PropertyName",),
        "data_year": ("DataYear",),
        "zip": ("ZipCode",),
        "lat": ("Latitude",),
        "lon": ("Longitude",),
        "property_type": ("LargestPropertyUseType",),
        "gross_floor_area_ft2": ("PropertyGFATotal",),
        "electricity_kwh": ("Electricity(kWh)",),
        "natural_gas_therms": ("NaturalGas(therms)",),
        "district_steam_kbtu": ("SteamUse(kBtu)",),
        "published_t_co2e": ("TotalGHGEmissions", "GHGEmissions(MetricTonsCO2e)"),
    },
)
PRESETS = {p.name: p for p in (SEATTLE,)}
FUELS = (("electricity_kwh", "electricity", "kWh"), ("natural_gas_therms", "natural_gas", "therm"),
         ("district_steam_kbtu", "district_steam", "kBtu"))


def import_benchmarking(session: Session, principal: Principal, stream: BinaryIO, name: str,
                        *, jurisdiction_id: int, preset: str = "seattle-benchmarking",
                        utility: str | None = "seattle-city-light") -> BenchmarkResult:
    """Import a benchmarking file whole or not at all (``core.tabular.Refused``)."""
    p = PRESETS[preset]
    head = stream.read(8192)
    stream.seek(0)
    fmt = t.detect_format(name, head)
    report = t.ErrorReport()
    try:
        table = t.open_table(stream, fmt)
    except t.FileRefused as exc:
        report.add(exc.error)
        raise t.Refused(f"{name} cannot be read: {exc.error.reason}", report=report) from None
    plan = t.make_plan(table.columns, p, fmt)
    for e in plan.header_errors:
        report.add(e)
    rows: list[tuple[int, dict[str, Any]]] = []
    without: list[str] = []
    buildings: set[str] = set()
    for number, cells, problems in table.rows:
        if cells is None:
            for e in problems:
                report.add(e)
            continue
        values, errors = plan.validate(number, cells)
        if plan.ignored_at:
            plan.tally(cells)
        for e in problems + errors:
            report.add(e)
        if errors or problems:
            continue
        bid = str(values["building_id"])
        if bid in buildings:
            report.add(t.RowError(number, plan.column_of.get("building_id", "building_id"),
                                  bid, "this building is in the file twice"))
            continue
        buildings.add(bid)
        year = int(values["data_year"])
        base = {"source_key": f"{preset}:{bid}", "jurisdiction_id": jurisdiction_id,
                "name": values["name"], "sector": "buildings", "boundary": "community",
                "period_start": date(year, 1, 1), "period_end": date(year, 12, 31),
                "zip": values.get("zip"), "lat": values.get("lat"), "lon": values.get("lon"),
                "utility": utility, "property_type": values.get("property_type"),
                "gross_floor_area_ft2": values.get("gross_floor_area_ft2"),
                "net_metered": True, "published_t_co2e": values.get("published_t_co2e")}
        given = [(f, a, u) for f, a, u in FUELS if values.get(f)]
        if not given:
            without.append(bid)
            continue
        for f, a, u in given:
            rows.append((number, {**base, "activity": a, "quantity": values[f], "unit": u}))
    if report.count:
        raise t.Refused(f"{report.count:,} problems in {name}; nothing was imported",
                        report=report)
    result = service.record_activity(session, principal, SOURCE_DOMAIN, rows)
    return BenchmarkResult(file=name, buildings=result.sources, periods=result.periods,
                           years=result.years, replaced_periods=result.replaced_periods,
                           without_energy=without,
                           unplaced_columns=dict(zip(plan.ignored, plan.filled, strict=False)))
