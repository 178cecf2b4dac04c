"""Carbon's service: the public API other domains use, and the writes of the domain.

For other domains (``property``, ``fleet``; carbon never imports them):

- :func:`record_activity` — ``record_activity(session, principal, source_domain, rows)``
  records activity of emitting assets (``rows``: :class:`ActivityIn`, dicts of its fields,
  or ``(row_number, ActivityIn | dict)`` pairs). Idempotent: for each asset, activity and
  detail, the years the rows cover are *replaced*; other years stay (importing 2015 beside
  2016 adds a year); ``replace="years"`` replaces the asset's whole years, ``"all"`` its
  whole history. All or nothing: any bad row raises ``core.tabular.Refused`` with one
  ``RowError`` per problem (row, field, reason) and nothing is written.
- :func:`clear_periods` — forget an asset's periods of some years (or all), keeping the asset.
- :func:`grid_factor` — the location-based electricity factor (kg CO2e/MWh and per gas) at a
  ZIP or a point, with its eGRID subregion, set and edition (fleet's electrification).
- :func:`source_emissions` — an asset's tonnes by year under both scope-2 methods.
- :func:`inventory`, :func:`regional_rollup` — the inventory (see ``queries``).

Keyword-only where it matters; flush, never commit; every write leaves an audit row.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import struct
from array import array
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from importlib import resources
from operator import itemgetter
from typing import Any, BinaryIO

import numpy as np
from pydantic import ValidationError
from sqlalchemy import delete, insert, select, text
from sqlalchemy.orm import Session

from govshare.carbon import calc, queries
from govshare.carbon.calc import ACTIVITIES, BIOGENIC, Boundary, Method, UnitError
from govshare.carbon.models import (
    Factor,
    FactorSet,
    Gwp,
    Measure,
    Source,
    SourceClaim,
    Target,
)
from govshare.carbon.schemas import (
    ActivityIn,
    FactorSetIn,
    Gap,
    GridFactor,
    Inventory,
    InventoryRow,
    MeasureIn,
    RecordResult,
    Rollup,
    TargetIn,
)
from govshare.core import audit, db
from govshare.core import tabular as t
from govshare.core.bounds import Bounds, bounds_of
from govshare.core.errors import BadRequest, Conflict, Forbidden, NotFound, ValidationFailed
from govshare.core.tenancy import (
    Action,
    Principal,
    authorize,
    ensure_visible,
    visible_jurisdiction_ids,
)
from govshare.regions import queries as regions_queries

DATA = resources.files("govshare.carbon") / "data"
DEFAULT_SET = "epa-hub-2025"
MARKET_SET = "utility-market"
DEFAULT_GWP = "AR5"
METHODS = (Method.location, Method.market)


@dataclass(frozen=True)
class BuiltinSet:
    name: str
    file: str
    title: str
    edition: str
    publisher: str
    year_from: int
    year_to: int
    notes: str


BUILTIN_SETS = (
    BuiltinSet(
        DEFAULT_SET, "hub2025.csv", "EPA GHG Emission Factors Hub 2025",
        "Hub 2025 (last modified January 15, 2025); electricity eGRID2023",
        "U.S. EPA Center for Corporate Climate Leadership", 1990, 2035,
        "The default set. Stationary combustion (Table 1), mobile CO2 per fuel (Table 2), "
        "on-road CH4 and N2O per mile by vehicle type and model year (Tables 3 and 4; model "
        "years after 2022 take the latest published row), purchased steam (Table 7), and "
        "eGRID2023 total output rates by subregion (Table 6, location-based). Applied to every "
        "year from 1990 to 2035: the Hub publishes no earlier edition here, and pages name the "
        "edition beside every figure."),
    BuiltinSet(
        MARKET_SET, "utility_market.csv", "Utility market-based electricity factors",
        "Seattle City Light fuel mix disclosure as used by Seattle's benchmarking",
        "Seattle City Light (via City of Seattle OSE)", 1990, 2035,
        "Market-based scope 2: the factor of the utility that sells the electricity, matched "
        "by the asset's utility. Seattle City Light 52.44 lb CO2e/MWh."),
    BuiltinSet(
        "seattle-2016", "seattle_2016.csv", "Seattle 2016 building benchmarking factors",
        "Data year 2016", "City of Seattle Office of Sustainability & Environment", 2015, 2016,
        "The factors behind TotalGHGEmissions in Seattle's 2016 benchmarking file: Seattle City "
        "Light 52.44 lb CO2e/MWh, natural gas 53.11 kg CO2e/MMBtu, Enwave steam 170.17 lb "
        "CO2e/MMBtu, pounds converted at 2.20462 lb/kg as the city did."),
)


# ------------------------------------------------------------------------ package data

def _data_text(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def zip_subregions() -> dict[str, str]:
    """ZIP -> eGRID2023 subregion (EPA Power Profiler, predominant utility)."""
    rows = csv.DictReader(io.StringIO(_data_text("zip_egrid_subregion_2023.csv")))
    return {r["zip"]: r["subregion"] for r in rows}


@lru_cache(maxsize=1)
def _subregion_index() -> tuple[Any, list[str], dict[str, str]]:
    import shapely
    from shapely.geometry import shape

    doc = json.loads(_data_text("egrid2023_subregions.geojson"))
    geoms = [shape(f["geometry"]) for f in doc["features"]]
    codes = [f["properties"]["subregion"] for f in doc["features"]]
    names = {f["properties"]["subregion"]: f["properties"]["name"] for f in doc["features"]}
    return shapely.STRtree(geoms), codes, names


def subregion_names() -> dict[str, str]:
    return _subregion_index()[2]


def subregion_at(*, zip_code: str | None = None, lon: float | None = None,
                 lat: float | None = None) -> str | None:
    """The eGRID subregion of a ZIP (the Power Profiler table) or else of a point (the
    subregion polygons); None when neither gives one."""
    if zip_code:
        sub = zip_subregions().get(zip_code.strip()[:5])
        if sub:
            return sub
    if lon is not None and lat is not None:
        import shapely

        tree, codes, _ = _subregion_index()
        hits = tree.query(shapely.Point(lon, lat), predicate="intersects")
        if len(hits):
            return codes[int(min(hits))]
    return None


@lru_cache(maxsize=1)
def median_eui() -> dict[str, tuple[float, float, str]]:
    """Portfolio Manager property type -> (site EUI, source EUI, reference), kBtu/ft2."""
    rows = csv.DictReader(io.StringIO(_data_text("energystar_median_eui.csv")))
    return {r["property_type"].lower(): (float(r["site_eui_kbtu_ft2"]),
                                         float(r["source_eui_kbtu_ft2"]), r["source"])
            for r in rows}


@dataclass(frozen=True)
class PackagedFactor:
    """A factor of the default set read straight from package data (no database): for pure
    callers such as property's true cost. ``kg`` is kg of each gas per ``unit``."""

    activity: str
    unit: str
    kg: dict[str, float]
    source: str


@lru_cache(maxsize=4)
def packaged_factors(unit_of: tuple[tuple[str, str], ...] = (
        ("natural_gas", "therm"), ("district_steam", "kbtu"), ("fuel_oil", "gallon"),
        ("propane", "gallon"))) -> dict[str, PackagedFactor]:
    """Stationary factors of the default set (EPA Hub 2025) per activity, each converted to
    the unit asked for (``calc.to_canonical``), with its table as the source."""
    rows = list(csv.DictReader(io.StringIO(_data_text("hub2025.csv"))))
    out: dict[str, PackagedFactor] = {}
    for activity, unit in unit_of:
        per = calc.to_canonical(activity, 1.0, unit)
        mine = [r for r in rows if r["activity"] == activity and not r["detail"]
                and r["basis"] == "any"]
        kg = {r["gas"]: calc.factor_to_kg_per_canonical(activity, float(r["value"]), r["unit"])
              * per for r in mine}
        src = (f"EPA GHG Emission Factors Hub 2025, {mine[0]['source_table']} "
               f"({mine[0]['note']})") if mine else ""
        out[activity] = PackagedFactor(activity, unit, kg, src)
    return out


@lru_cache(maxsize=1)
def packaged_grid() -> dict[str, dict[str, Any]]:
    """eGRID2023 subregion -> {name, lb_per_mwh: {gas: value}, source} from the default set."""
    out: dict[str, dict[str, Any]] = {}
    for r in csv.DictReader(io.StringIO(_data_text("hub2025.csv"))):
        if r["activity"] == "electricity" and r["basis"] == "location":
            d = out.setdefault(r["match_key"], {"name": r["note"], "lb_per_mwh": {},
                                                "source": r["source_table"]})
            d["lb_per_mwh"][r["gas"]] = float(r["value"])
    return out


# Off-road equipment (Hub 2025 Table 5): without a type, equipment-sector fuel is taken as
# construction equipment (a government's loaders, backhoes, mowers on trucks...) with the
# table's most common engine of that fuel; the page and the factor's note say which line.
DEFAULT_EQUIPMENT_TYPE = "Construction/Mining Equipment"
DEFAULT_EQUIPMENT_FUEL = {"gasoline": ("Gasoline (4 stroke)", "Gasoline"),
                          "diesel": ("Diesel Equipment", "Diesel"), "lpg": ("LPG",),
                          "jet_fuel": ("Jet Fuel",), "aviation_gasoline": ("Aviation Gasoline",)}


@lru_cache(maxsize=1)
def nonroad_lines() -> dict[str, dict[str, set[str]]]:
    """Hub 2025 Table 5 as shipped: activity -> equipment type -> its fuel lines."""
    out: dict[str, dict[str, set[str]]] = {}
    for r in csv.DictReader(io.StringIO(_data_text("hub2025.csv"))):
        if r["source_table"].startswith("Hub 2025 Table 5") and "|" in r["detail"]:
            kind, fuel = r["detail"].split("|", 1)
            out.setdefault(r["activity"], {}).setdefault(kind, set()).add(fuel)
    return out


def nonroad_detail(row: ActivityIn) -> tuple[str, str | None, str | None]:
    """(detail, field, reason) of a fuel row burned off-road: the Table 5 line ``type|fuel``;
    ``""`` when the row is not off-road fuel; a field and reason when a named type or fuel
    line is not in the table."""
    named = bool(row.equipment_type or row.equipment_fuel)
    if not named and row.sector.value != "equipment":
        return "", None, None
    lines = nonroad_lines().get(row.activity)
    if not lines:
        if named:
            return "", "activity", (f"Hub 2025 Table 5 has no off-road line for "
                                    f"{row.activity}")
        return "", None, None
    kind = (row.equipment_type or DEFAULT_EQUIPMENT_TYPE).strip()
    if kind not in lines and not row.equipment_type:
        return "", None, None  # e.g. jet fuel of a member's equipment: the fuel's CO2 only
    if kind not in lines:
        return "", "equipment_type", (f"not an equipment type of Hub 2025 Table 5 for "
                                      f"{row.activity} (known: {', '.join(sorted(lines))})")
    if row.equipment_fuel:
        fuel = row.equipment_fuel.strip()
        if fuel not in lines[kind]:
            return "", "equipment_fuel", (f"not a {row.activity} line of {kind} in Hub 2025 "
                                          f"Table 5 (known: {', '.join(sorted(lines[kind]))})")
        return f"{kind}|{fuel}", None, None
    fuel = next((f for f in DEFAULT_EQUIPMENT_FUEL.get(row.activity, ()) if f in lines[kind]),
                sorted(lines[kind])[0])
    return f"{kind}|{fuel}", None, None


# ------------------------------------------------------------------------ factor sets

def _parse_factor_csv(stream: BinaryIO, name: str, gases: Iterable[str]
                      ) -> list[calc.FactorRow]:
    report = t.ErrorReport()
    gases = set(gases)
    try:
        table = t.open_table(stream, "csv")
    except t.FileRefused as exc:
        report.add(exc.error)
        raise t.Refused(f"{name} cannot be read: {exc.error.reason}", report=report) from None
    cols = [t.header_key(c) for c in table.columns]
    missing = [c for c in ("activity", "gas", "value", "unit") if c not in cols]
    if missing:
        report.add(t.RowError(None, missing[0], "", f"the file has no {missing[0]!r} column "
                              f"(columns: {', '.join(calc.FACTOR_COLUMNS)})"))
        raise t.Refused(f"{name} is not a factor table", report=report)
    out: list[calc.FactorRow] = []
    numbers: list[int] = []
    for number, cells, problems in table.rows:
        for e in problems:
            report.add(e)
        if cells is None:
            continue
        row = {c: (cells[i] if i < len(cells) else "") for i, c in enumerate(cols)}
        try:
            out.append(calc.parse_factor(row, gases))
            numbers.append(number)
        except calc.FactorProblem as exc:
            report.add(t.RowError(number, exc.column, t.shown(row.get(exc.column, "")),
                                  exc.reason))
        if len(out) > 200_000:
            report.add(t.RowError(number, "", "", "more than 200,000 factors"))
            break
    for i, column, reason in calc.duplicate_problems(out):
        report.add(t.RowError(numbers[i], column, getattr(out[i], column), reason))
    if not out and not report.count:
        report.add(t.RowError(None, "", "", "the file holds no factors"))
    if report.count:
        raise t.Refused(f"{report.count:,} problems in {name}", report=report)
    return out


def _insert_factors(session: Session, set_id: int, rows: list[calc.FactorRow]) -> None:
    session.execute(insert(Factor), [
        {"factor_set_id": set_id, "activity": r.activity, "detail": r.detail, "basis": r.basis,
         "match_key": r.match_key, "gas": r.gas, "value": r.value, "unit": r.unit,
         "kg_per_unit": r.kg_per_unit, "source_table": r.source_table, "note": r.note}
        for r in rows])


def _known_gases(session: Session) -> set[str]:
    return set(session.scalars(select(Gwp.gas).distinct()))


def install_builtin_sets(session: Session, actor: Principal | None = None) -> list[str]:
    """Load the GWP sets and the built-in factor sets from package data; a set already there
    with the same contents is left alone, a changed one is replaced. Returns what changed."""
    changed: list[str] = []
    gwp_text = _data_text("gwp.csv")
    gwp_rows = list(csv.DictReader(io.StringIO(gwp_text)))
    have = {(g.gwp_set, g.gas): g for g in session.scalars(select(Gwp))}
    for r in gwp_rows:
        g = have.get((r["gwp_set"], r["gas"]))
        if g is None:
            session.add(Gwp(gwp_set=r["gwp_set"], gas=r["gas"], value=float(r["value"]),
                            source=r["source"]))
            changed.append(f"gwp:{r['gwp_set']}:{r['gas']}")
        elif g.value != float(r["value"]):
            g.value, g.source = float(r["value"]), r["source"]
            changed.append(f"gwp:{r['gwp_set']}:{r['gas']}")
    session.flush()
    gases = {r["gas"] for r in gwp_rows}
    for b in BUILTIN_SETS:
        raw = _data_text(b.file).encode("utf-8")
        digest = hashlib.sha256(raw).hexdigest()
        fs = queries.factor_set_by_name(session, b.name)
        if fs is not None and fs.checksum == digest:
            continue
        rows = _parse_factor_csv(io.BytesIO(raw), b.file, gases)
        if fs is None:
            fs = FactorSet(name=b.name, builtin=True, created_by="system:builtin",
                           title=b.title, edition=b.edition, publisher=b.publisher,
                           year_from=b.year_from, year_to=b.year_to, notes=b.notes,
                           checksum=digest)
            session.add(fs)
            session.flush()
        else:
            session.execute(delete(Factor).where(Factor.factor_set_id == fs.id))
            fs.checksum, fs.title, fs.edition, fs.notes = digest, b.title, b.edition, b.notes
            fs.year_from, fs.year_to = b.year_from, b.year_to
        _insert_factors(session, fs.id, rows)
        changed.append(b.name)
    session.flush()
    if changed and actor is not None:
        audit.record(session, actor, action="carbon.factors.install", entity="carbon_factor_set",
                     after={"changed": changed[:50]})
    return changed


def _here(session: Session) -> int:
    """The region this installation serves: a principal of another is the public here."""
    return regions_queries.require_current_region(session=session).id


MAX_FACTOR_FILE = 20_000_000


def add_factor_set(session: Session, actor: Principal, meta: FactorSetIn, stream: BinaryIO,
                   file_name: str, *, replace: bool = False) -> FactorSet:
    """A user's factor set from a CSV (columns ``activity, detail, basis, match_key, gas,
    value, unit, source_table, note``). The same file again changes nothing; another file
    under an existing name needs ``replace``; built-in sets cannot be replaced."""
    authorize(actor, Action.carbon_factors, region_id=_here(session))
    raw = stream.read(MAX_FACTOR_FILE + 1)
    if len(raw) > MAX_FACTOR_FILE:
        raise BadRequest("A factor file may be at most 20 MB")
    digest = hashlib.sha256(raw).hexdigest()
    rows = _parse_factor_csv(io.BytesIO(raw), file_name, _known_gases(session))
    fs = queries.factor_set_by_name(session, meta.name)
    if fs is not None:
        if fs.builtin:
            raise Conflict(f"{meta.name!r} is a built-in factor set; choose another name")
        if fs.checksum == digest:
            return fs
        if not replace:
            raise Conflict(f"A factor set named {meta.name!r} exists with other factors; "
                           "replace it explicitly or choose another name")
        session.execute(delete(Factor).where(Factor.factor_set_id == fs.id))
        for k, v in meta.model_dump().items():
            setattr(fs, k, v)
        fs.checksum = digest
    else:
        fs = FactorSet(builtin=False, created_by=actor.ref, checksum=digest, **meta.model_dump())
        session.add(fs)
        session.flush()
    _insert_factors(session, fs.id, rows)
    _analyze(session, "carbon_factors")
    audit.record(session, actor, action="carbon.factors.add", entity="carbon_factor_set",
                 entity_id=fs.id, after={**meta.model_dump(), "factors": len(rows),
                                         "sha256": digest, "file": file_name})
    return fs


# ------------------------------------------------------------------------ GWP sets

GWP_VALUE = Bounds(0, 1_000_000)  # SF6 is 23,500 (AR5), the largest potentials ~ 10^4-10^5
GWP_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,19}$")
GAS_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._()/+-]{0,39}$")
MAX_GWP_FILE = 1_000_000
# conventions of every set, not potentials: a factor given in CO2e counts once; biogenic CO2
# is reported apart, outside CO2e (LGOP 1.1)
GWP_CONVENTIONS = {"CO2": 1.0, "CO2e": 1.0, BIOGENIC: 0.0}


@lru_cache(maxsize=1)
def builtin_gwp_sets() -> frozenset[str]:
    return frozenset(r["gwp_set"] for r in csv.DictReader(io.StringIO(_data_text("gwp.csv"))))


def _parse_gwp_csv(raw: bytes, name: str, default_source: str) -> dict[str, tuple[float, str]]:
    """gas -> (potential, source) of a GWP file (columns ``gas, value`` and optionally
    ``source``), or ``Refused`` naming every bad row and field."""
    report = t.ErrorReport()
    try:
        table = t.open_table(io.BytesIO(raw), "csv")
    except t.FileRefused as exc:
        report.add(exc.error)
        raise t.Refused(f"{name} cannot be read: {exc.error.reason}", report=report) from None
    cols = [t.header_key(c) for c in table.columns]
    missing = [c for c in ("gas", "value") if c not in cols]
    if missing:
        report.add(t.RowError(None, missing[0], "", f"the file has no {missing[0]!r} column "
                              "(columns: gas, value, source)"))
        raise t.Refused(f"{name} is not a GWP table", report=report)
    out: dict[str, tuple[float, str]] = {}
    first_row: dict[str, int] = {}
    for number, cells, problems in table.rows:
        for e in problems:
            report.add(e)
        if cells is None:
            continue
        row = {c: (cells[i] if i < len(cells) else "").strip() for i, c in enumerate(cols)}
        gas, text_value = row.get("gas", ""), row.get("value", "")
        source = row.get("source", "") or default_source
        if not GAS_NAME.match(gas):
            report.add(t.RowError(number, "gas", t.shown(gas), "a gas is 1 to 40 letters, "
                                  "digits, spaces or . _ ( ) / + - (e.g. HFC-134a)"))
            continue
        if gas in first_row:
            report.add(t.RowError(number, "gas", gas, f"given already in row {first_row[gas]}"))
            continue
        first_row[gas] = number
        try:
            value = float(text_value.replace(",", ""))
        except ValueError:
            report.add(t.RowError(number, "value", t.shown(text_value), "is not a number"))
            continue
        if not GWP_VALUE.admits(value):
            report.add(t.RowError(number, "value", t.shown(text_value),
                                  f"a potential {GWP_VALUE.reason}"))
            continue
        if gas in GWP_CONVENTIONS and value != GWP_CONVENTIONS[gas]:
            report.add(t.RowError(number, "value", t.shown(text_value),
                                  f"{gas} is {GWP_CONVENTIONS[gas]:g} in every set "
                                  "(potentials are relative to CO2)"))
            continue
        if len(source) > 300:
            report.add(t.RowError(number, "source", t.shown(source), "at most 300 characters"))
            continue
        out[gas] = (value, source)
        if len(out) > 1000:
            report.add(t.RowError(number, "", "", "more than 1,000 gases"))
            break
    if not report.count and "CO2" not in out:
        report.add(t.RowError(None, "gas", "", "the file has no CO2 row (CO2 is 1 by "
                              "definition; every potential is relative to it)"))
    if report.count:
        raise t.Refused(f"{report.count:,} problems in {name}; nothing was added",
                        report=report)
    for gas, v in GWP_CONVENTIONS.items():
        out.setdefault(gas, (v, "convention of every GWP set"))
    return out


def add_gwp_set(session: Session, actor: Principal, name: str, stream: BinaryIO,
                file_name: str, *, source: str, replace: bool = False) -> list[Gwp]:
    """A user's set of global warming potentials from a CSV (``gas, value[, source]``), all
    rows or none. The same file again changes nothing; other values under an existing name
    need ``replace``; the built-in sets (AR5, AR6) cannot be replaced."""
    authorize(actor, Action.carbon_factors, region_id=_here(session))
    if not GWP_NAME.match(name or ""):
        raise ValidationFailed("The GWP set's name is not valid", errors=[
            {"loc": ["name"], "reason": "2 to 20 letters, digits or . _ - (e.g. AR4 or "
                                        "AR6-20yr)"}])
    if not source.strip() or len(source) > 300:
        raise ValidationFailed("Say where the potentials come from", errors=[
            {"loc": ["source"], "reason": "1 to 300 characters: the report and its table"}])
    if name in builtin_gwp_sets():
        raise Conflict(f"{name!r} is a built-in GWP set; choose another name")
    raw = stream.read(MAX_GWP_FILE + 1)
    if len(raw) > MAX_GWP_FILE:
        raise BadRequest("A GWP file may be at most 1 MB")
    values = _parse_gwp_csv(raw, file_name, source.strip())
    have = {g.gas: g for g in queries.gwp_rows(session, name)}
    if have:
        same = {g: (r.value, r.source) for g, r in have.items()} == values
        if same:
            return list(have.values())
        if not replace:
            raise Conflict(f"A GWP set named {name!r} exists with other values; replace it "
                           "explicitly or choose another name")
        session.execute(delete(Gwp).where(Gwp.gwp_set == name))
    rows = [Gwp(gwp_set=name, gas=g, value=v, source=src) for g, (v, src) in values.items()]
    session.add_all(rows)
    session.flush()
    audit.record(session, actor, action="carbon.gwp.add", entity="carbon_gwp", entity_id=name,
                 before={"gases": len(have)} if have else None,
                 after={"gases": len(rows), "file": file_name,
                        "sha256": hashlib.sha256(raw).hexdigest(), "replaced": bool(have)})
    return rows


def stack(session: Session, factor_set: str | None = None) -> list[FactorSet]:
    """The factor sets an inventory uses, first wins: the chosen set, then the utilities'
    market factors, then the default EPA set (each once)."""
    names = [factor_set or DEFAULT_SET, MARKET_SET, DEFAULT_SET]
    out: list[FactorSet] = []
    for n in dict.fromkeys(names):
        fs = queries.factor_set_by_name(session, n)
        if fs is None:
            if n == (factor_set or DEFAULT_SET):
                if n in {b.name for b in BUILTIN_SETS}:
                    install_builtin_sets(session)
                    fs = queries.factor_set_by_name(session, n)
                if fs is None:
                    raise NotFound(f"No factor set named {n!r}")
            else:
                continue
        out.append(fs)
    return out


def _check_gwp(session: Session, gwp_set: str) -> None:
    if gwp_set not in queries.gwp_sets(session):
        install_builtin_sets(session)
        if gwp_set not in queries.gwp_sets(session):
            raise NotFound(f"No GWP set named {gwp_set!r} (known: "
                           f"{', '.join(queries.gwp_sets(session))})")


# ------------------------------------------------------------------------ activity

def _split_years(start: date, end: date) -> list[tuple[date, date, float]]:
    """A period cut at each new year, with each part's share of the days."""
    days = (end - start).days + 1
    out = []
    s = start
    while s <= end:
        e = min(end, date(s.year, 12, 31))
        out.append((s, e, ((e - s).days + 1) / days))
        s = e + timedelta(days=1)
    return out


@lru_cache(maxsize=1024)
def _unit_factor(activity: str, unit: str) -> float:
    return calc.to_canonical(activity, 1.0, unit)


PERIOD_COLUMNS = ("source_id", "activity", "detail", "period_start", "period_end", "year",
                  "quantity", "quantity_in", "unit_in")


# A load into carbon_activity_periods on PostgreSQL of at least this many rows, and at least
# BULK_TABLE_SHARE of the rows the table already holds, drops the table's foreign keys and
# plain indexes first and makes them again after (:class:`_BulkLoad`).
BULK_MIN_ROWS = 100_000
BULK_TABLE_SHARE = 1.0


@dataclass
class _BulkLoad:
    """The PostgreSQL bulk path of a big load into ``carbon_activity_periods``: the foreign
    keys of that table and of ``carbon_activity`` (its totals) and the periods' plain
    (non-constraint) indexes dropped before the COPY and made again after it (the indexes
    at once, the keys once the totals are written), inside the session's transaction, from
    their own definitions in the catalog.

    Row by row, the foreign key to ``carbon_sources`` is an after-trigger querying and
    locking the source for every period (about half of the COPY's time into this table),
    and the index is one btree insertion per period; re-adding a key validates every row
    of the table in one anti-join, and building the index sorts once. Both cost in the
    rows of the *whole* table, hence only for a load at least ``BULK_TABLE_SHARE`` of it
    (the totals table grows with the periods). The same checks hold when the transaction
    commits (a bad row fails the re-added key and the whole transaction), and a failure
    anywhere rolls the DDL back with the rows. The price: ``ACCESS EXCLUSIVE`` locks on
    ``carbon_sources``, ``carbon_activity_periods`` and ``carbon_activity`` until the commit
    (taken first, before any write, so two such loads queue rather than deadlock): readers
    of carbon's tables wait for the load. Only the tables' owner may do it; anyone else
    takes the ordinary path."""

    foreign_keys: list[tuple[str, str, str]]  # table, name, definition
    indexes: list[tuple[str, str]]  # name, CREATE INDEX statement

    @classmethod
    def plan(cls, session: Session, rows: int) -> _BulkLoad | None:
        if session.get_bind().dialect.name != "postgresql" or rows < BULK_MIN_ROWS:
            return None
        table, owner = session.execute(text(
            "SELECT CASE WHEN c.reltuples >= 0 THEN c.reltuples "
            "ELSE pg_relation_size(c.oid) / 100 END, pg_has_role(c.relowner, 'USAGE') "
            "AND pg_has_role((SELECT relowner FROM pg_class WHERE oid = "
            "'carbon_activity'::regclass), 'USAGE') "
            "FROM pg_class c WHERE c.oid = 'carbon_activity_periods'::regclass")).one()
        if not owner or rows < float(table) * BULK_TABLE_SHARE:
            return None
        session.execute(text("LOCK TABLE carbon_sources, carbon_activity_periods, "
                             "carbon_activity IN ACCESS EXCLUSIVE MODE"))
        fks = session.execute(text(
            "SELECT conrelid::regclass::text, quote_ident(conname), pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE conrelid IN ('carbon_activity_periods'::regclass, "
            "'carbon_activity'::regclass) AND contype = 'f' ORDER BY 1, 2")).all()
        ixs = session.execute(text(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) "
            "FROM pg_index i WHERE i.indrelid = 'carbon_activity_periods'::regclass "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) "
            "ORDER BY 1")).all()
        return cls([(t_, n, d) for t_, n, d in fks], [(n, d) for n, d in ixs])

    def drop(self, session: Session) -> None:
        for table, name, _d in self.foreign_keys:
            session.execute(text(f"ALTER TABLE {table} DROP CONSTRAINT {name}"))
        for name, _d in self.indexes:
            session.execute(text(f"DROP INDEX {name}"))

    def restore_indexes(self, session: Session) -> None:
        for _n, ddl in self.indexes:
            session.execute(text(ddl))

    def restore_keys(self, session: Session) -> None:
        for table, name, definition in self.foreign_keys:
            session.execute(text(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}"))


def _bulk_periods(session: Session, checker: _Checker, series_sid: list[int],
                  bulk: _BulkLoad | None = None) -> int:
    """The checked rows into ``carbon_activity_periods`` in the store's fastest way inside
    the session's transaction: one binary COPY on PostgreSQL, its bytes made in numpy
    (:func:`_copy_chunks`; around it ``bulk``'s drop and index restore, if given), one
    ``executemany`` over :func:`_period_rows` on SQLite. The number written."""
    conn = session.connection()
    driver = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        periods = _period_columns(checker, series_sid)
        if bulk is not None:
            bulk.drop(session)
        with driver.cursor() as cur, cur.copy(  # type: ignore[union-attr]
                f"COPY carbon_activity_periods ({', '.join(_COPY_COLUMNS)}) "
                "FROM STDIN (FORMAT BINARY)") as cp:
            for chunk in _copy_chunks(periods):
                cp.write(chunk)
        if bulk is not None:
            bulk.restore_indexes(session)  # the keys after the totals (_write)
        return len(periods.template)
    cur = driver.cursor()  # type: ignore[union-attr]
    try:
        cur.executemany(f"INSERT INTO carbon_activity_periods ({', '.join(PERIOD_COLUMNS)}) "  # noqa: S608
                        f"VALUES ({', '.join('?' for _ in PERIOD_COLUMNS)})",
                        _period_rows(checker, series_sid))
        return int(cur.rowcount)
    finally:
        cur.close()


@dataclass
class _Periods:
    """The rows of ``carbon_activity_periods`` as columns (a period across new year cut at
    each, as :func:`_period_rows` cuts it): template, start and end (ordinals), year,
    quantity (canonical unit) and quantity as given; and per template its source, activity,
    detail and unit."""

    template: np.ndarray
    start: np.ndarray
    end: np.ndarray
    year: np.ndarray
    quantity: np.ndarray
    quantity_in: np.ndarray
    info: list[tuple[int, str, str, str]]


def _year_of(ordinals: np.ndarray) -> np.ndarray:
    return (ordinals - _EPOCH).astype("M8[D]").astype("M8[Y]").astype(np.int64) + 1970


def _period_columns(checker: _Checker, series_sid: list[int]) -> _Periods:
    cols = checker.rows
    tms = checker.templates
    tm = np.frombuffer(cols.template, dtype=np.int64)
    start = np.frombuffer(cols.start, dtype=np.int64)
    end = np.frombuffer(cols.end, dtype=np.int64)
    q = np.frombuffer(cols.quantity, dtype=np.float64)
    qc = q * np.array([x.factor for x in tms], dtype=np.float64)[tm]  # as q * f per row
    first, last = _year_of(start), _year_of(end)
    info = [(series_sid[x.series], x.row.activity, x.detail, x.row.unit) for x in tms]
    span = last - first
    across = np.flatnonzero(span).tolist()
    if not across:
        return _Periods(tm, start, end, first, qc, q, info)
    counts = span + 1
    at = np.repeat(np.arange(len(tm)), counts)
    out = _Periods(tm[at], start[at], end[at], first[at], qc[at], q[at], info)
    pos = np.cumsum(counts) - counts  # where each row's first period goes
    for i in across:
        p, qci, qi = int(pos[i]), float(qc[i]), float(q[i])
        for k, (a, b, share) in enumerate(_split_years(date.fromordinal(int(start[i])),
                                                       date.fromordinal(int(end[i])))):
            out.start[p + k], out.end[p + k], out.year[p + k] = (a.toordinal(), b.toordinal(),
                                                                 a.year)
            out.quantity[p + k], out.quantity_in[p + k] = qci * share, qi * share
    return out


# The binary COPY of the periods: the per-template text columns first, then the rest, each
# row the template's prefix (field count, source, activity, detail, unit) and a fixed tail.
_COPY_COLUMNS = ("source_id", "activity", "detail", "unit_in", "period_start", "period_end",
                 "year", "quantity", "quantity_in")
_PG_EPOCH = date(2000, 1, 1).toordinal()  # binary dates are days from 2000-01-01
_TAIL = np.dtype([("n1", ">i4"), ("start", ">i4"), ("n2", ">i4"), ("end", ">i4"),
                  ("n3", ">i4"), ("year", ">i4"), ("n4", ">i4"), ("quantity", ">f8"),
                  ("n5", ">i4"), ("quantity_in", ">f8")])
_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\0" + bytes(8)  # and no flags, no header extension
_COPY_TRAILER = b"\xff\xff"


def _copy_chunks(p: _Periods, chunk: int = 65_536) -> Iterator[bytes]:
    """PostgreSQL's binary COPY format of ``p``'s rows (in :data:`_COPY_COLUMNS` order),
    ``chunk`` rows at a time: the rows of each prefix length as one 2-D array of bytes (their
    prefixes gathered from a table, the tails from a structured array), so no Python runs
    per row. Within a chunk, rows go by prefix length, in their order within each."""
    prefixes = [struct.pack(">hii", len(_COPY_COLUMNS), 4, sid) + b"".join(
        struct.pack(">i", len(b)) + b for b in (act.encode(), det.encode(), unit.encode()))
        for sid, act, det, unit in p.info]
    plen = np.array([len(x) for x in prefixes], dtype=np.int64)
    local = np.zeros(len(prefixes), dtype=np.int64)
    tables: dict[int, np.ndarray] = {}
    for length in np.unique(plen).tolist():
        which = np.flatnonzero(plen == length)
        local[which] = np.arange(len(which))
        tables[length] = np.frombuffer(b"".join(prefixes[i] for i in which.tolist()),
                                       dtype=np.uint8).reshape(len(which), length)
    yield _COPY_SIGNATURE
    for lo in range(0, len(p.template), chunk):
        tm = p.template[lo:lo + chunk]
        tail = np.empty(len(tm), dtype=_TAIL)
        tail["n1"] = tail["n2"] = tail["n3"] = 4
        tail["n4"] = tail["n5"] = 8
        tail["start"] = p.start[lo:lo + chunk] - _PG_EPOCH
        tail["end"] = p.end[lo:lo + chunk] - _PG_EPOCH
        tail["year"] = p.year[lo:lo + chunk]
        tail["quantity"] = p.quantity[lo:lo + chunk]
        tail["quantity_in"] = p.quantity_in[lo:lo + chunk]
        tail_bytes = tail.view(np.uint8).reshape(len(tm), _TAIL.itemsize)
        lens = plen[tm]
        parts = []
        for length, table in tables.items():
            rows = np.flatnonzero(lens == length)
            if len(rows):
                parts.append(np.hstack([table[local[tm[rows]]], tail_bytes[rows]]).tobytes())
        yield b"".join(parts)
    yield _COPY_TRAILER


@dataclass(eq=False)
class _Asset:
    """An asset of the rows: its first template (the row that describes it) and the rest."""

    key: str
    first: _Template
    templates: list[_Template] = field(default_factory=list)


@dataclass(eq=False)
class _Template:
    """What every row with the same fields but quantity and period shares, checked once by
    the full path (``_check_row``) on its first row: the rows after it check only their
    quantity and period."""

    index: int
    number: int  # its first row
    row: ActivityIn
    subregion: str
    factor: float  # to the activity's canonical unit
    detail: str
    series: int  # (asset, activity, detail)
    negative_ok: bool
    asset: _Asset
    # a different description of the asset than its first row's: (field, value, reason)
    mismatch: list[tuple[str, str, str]] = field(default_factory=list)


class _Rows:
    """The accepted rows as columns (40 bytes a row): template, period as ordinals,
    quantity as given, row number."""

    def __init__(self) -> None:
        self.template = array("q")
        self.start = array("q")
        self.end = array("q")
        self.quantity = array("d")
        self.number = array("q")

    def __len__(self) -> int:
        return len(self.number)


# The fields a row's template is keyed on: all but these, which are checked per row.
_PER_ROW = ("quantity", "period_start", "period_end")
_FIELDS = tuple(ActivityIn.model_fields)
_QUANTITY = bounds_of(ActivityIn.model_fields["quantity"]) or Bounds(-1e308, 1e308)
_ATTRS = ("jurisdiction_id", "boundary", "sector", "utility")  # one per asset


def _validation_errors(number: int, exc: ValidationError) -> list[t.RowError]:
    out = []
    for e in exc.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "row"
        value = e.get("input") if e["loc"] else ""
        out.append(t.RowError(number, loc, t.shown(value if not isinstance(value, dict)
                                                   else ""), e["msg"]))
    return out


def _check_row(number: int, raw: Any, known_subregions: set[str], report: t.ErrorReport
               ) -> tuple[ActivityIn, str, float, str] | None:
    """The full check of one row (the model, then the rules across its fields): the row,
    its subregion, its factor to the canonical unit and its detail; ``None`` after adding
    its problems to ``report``."""
    try:
        row = raw if isinstance(raw, ActivityIn) else ActivityIn.model_validate(raw)
    except ValidationError as exc:
        for e in _validation_errors(number, exc):
            report.add(e)
        return None
    act = ACTIVITIES[row.activity]
    try:
        factor = _unit_factor(row.activity, row.unit)
    except UnitError as exc:
        report.add(t.RowError(number, "unit", row.unit, str(exc)))
        return None
    if row.quantity * factor < 0 and not (act.may_be_negative and row.net_metered):
        why = ("only net-metered electricity may be negative" if act.may_be_negative
               else f"{act.label.lower()} cannot be negative")
        report.add(t.RowError(number, "quantity", t.shown(row.quantity), why))
        return None
    sub = (row.subregion or "").upper() or subregion_at(zip_code=row.zip, lon=row.lon,
                                                         lat=row.lat) or ""
    if sub and sub not in known_subregions:
        report.add(t.RowError(number, "subregion", sub, "not an eGRID2023 subregion"))
        return None
    if row.activity == "electricity" and not sub:
        report.add(t.RowError(number, "zip", row.zip or "",
                              "no eGRID subregion for this asset: give subregion, a ZIP "
                              "code the Power Profiler knows, or a point"))
        return None
    if row.activity == "vehicle_miles":
        detail = calc.mile_detail(row.vehicle_type or "", row.model_year or 0)
    else:
        found = nonroad_detail(row)
        if found[1]:
            report.add(t.RowError(number, found[1],
                                  t.shown(getattr(row, found[1]) or ""), found[2] or ""))
            return None
        detail = found[0]
    return row, sub, factor, detail


class _Checker:
    """Every row checked as strictly as :class:`ActivityIn` and the rules after it, fast.

    A row's fields but quantity and period repeat across an asset's periods (an asset has
    tens to hundreds of them), so the first row with given values of those fields (the
    *template*'s key: its keys, their values and the values' types) goes through the full
    check, and a later row with the same key only checks its quantity (a finite int or float
    within the field's bounds, negative only where the template allows) and period (two
    ``date`` values in order). A row that fails those fast checks, or is not a plain dict,
    goes through the full check itself, so every problem is reported by the same code with
    the same words (row, field, reason) whichever way the row came."""

    def __init__(self, report: t.ErrorReport) -> None:
        self.report = report
        self.known_subregions = set(subregion_names())
        self.assets: dict[str, _Asset] = {}
        self.templates: list[_Template] = []
        self.series: dict[tuple[str, str, str], int] = {}
        self.rows = _Rows()
        self._layouts: dict[tuple[str, ...], Any] = {}
        self._late: list[t.RowError] = []  # problems across rows, reported after the rows

    def _layout(self, keys: tuple[str, ...]) -> tuple[Any, dict[Any, _Template]] | None:
        """A dict layout's getter of its template fields and its templates; ``None`` if the
        layout lacks a per-row field or has a field the model does not (the full check
        names it)."""
        if not set(_PER_ROW) <= set(keys) or not set(keys) <= set(_FIELDS):
            return None
        fixed = [k for k in keys if k not in _PER_ROW]
        get: Any = (itemgetter(*fixed) if len(fixed) > 1 else
                    (lambda r, k=fixed[0]: (r[k],)) if fixed else (lambda r: ()))
        return get, {}

    def add_all(self, rows: Iterable[Any]) -> None:
        lo, hi = _QUANTITY.lo, _QUANTITY.hi
        layouts = self._layouts
        cols = self.rows
        c_tm, c_s, c_e, c_q, c_n = (cols.template.append, cols.start.append,
                                    cols.end.append, cols.quantity.append, cols.number.append)
        missing = object()
        for number, raw in enumerate(rows, start=1):
            table: dict[Any, _Template] | None = None
            key: Any = None
            if type(raw) is not dict and isinstance(raw, tuple) and len(raw) == 2 \
                    and isinstance(raw[0], int):
                number, raw = raw  # (row number, row): the caller's numbering
            if type(raw) is dict:
                keys = tuple(raw)
                layout = layouts.get(keys, missing)
                if layout is missing:
                    layout = layouts[keys] = self._layout(keys)
                if layout is not None:
                    get, table = layout
                    values = get(raw)
                    key = (values, tuple(map(type, values)))
                    try:
                        tm = table.get(key)
                    except TypeError:  # a list (shared_with): the full check every time
                        tm, table = None, None
                    if tm is not None:
                        q, ps, pe = raw["quantity"], raw["period_start"], raw["period_end"]
                        tq = type(q)
                        if ((tq is float or tq is int) and lo <= q <= hi
                                and (q >= 0 or tm.negative_ok)
                                and type(ps) is date and type(pe) is date and ps <= pe):
                            c_tm(tm.index)
                            c_s(ps.toordinal())
                            c_e(pe.toordinal())
                            c_q(float(q))
                            c_n(number)
                            if tm.mismatch:
                                self._mismatch(number, tm)
                            continue
            checked = _check_row(number, raw, self.known_subregions, self.report)
            if checked is None:
                continue
            row = checked[0]
            found = table.get(key) if table is not None else None
            if found is None:
                tm = self._template(number, *checked)
                if table is not None:
                    table[key] = tm
            else:
                tm = found
            c_tm(tm.index)
            c_s(row.period_start.toordinal())
            c_e(row.period_end.toordinal())
            c_q(row.quantity)
            c_n(number)
            if tm.mismatch:
                self._mismatch(number, tm)

    def _template(self, number: int, row: ActivityIn, sub: str, factor: float, detail: str
                  ) -> _Template:
        act = ACTIVITIES[row.activity]
        asset = self.assets.get(row.source_key)
        series = self.series.setdefault((row.source_key, row.activity, detail), len(self.series))
        tm = _Template(len(self.templates), number, row, sub, factor, detail, series,
                       act.may_be_negative and row.net_metered, asset)  # type: ignore[arg-type]
        if asset is None:
            asset = tm.asset = self.assets[row.source_key] = _Asset(row.source_key, tm)
        else:
            first = asset.first
            for a in _ATTRS:
                mine, theirs = getattr(row, a), getattr(first.row, a)
                if a == "utility" and (mine is None or theirs is None):
                    continue  # said once for the asset is enough
                if mine != theirs:
                    tm.mismatch.append((a, t.shown(mine), f"asset {row.source_key!r} has "
                                        f"{theirs!r} in row {first.number}"))
        asset.templates.append(tm)
        self.templates.append(tm)
        return tm

    def _mismatch(self, number: int, tm: _Template) -> None:
        self._late.extend(t.RowError(number, a, v, why) for a, v, why in tm.mismatch)

    def finish(self) -> None:
        """Problems across rows: an asset described two ways, overlapping periods."""
        for late in self._late:
            self.report.add(late)
        cols = self.rows
        if len(cols) < 2:
            return
        series = np.array([tm.series for tm in self.templates], dtype=np.int64)[
            np.frombuffer(cols.template, dtype=np.int64)]
        start = np.frombuffer(cols.start, dtype=np.int64)
        end = np.frombuffer(cols.end, dtype=np.int64)
        order = np.lexsort((end, start, series))  # stable: ties keep the rows' order
        s, b, e = series[order], start[order], end[order]
        clash = np.flatnonzero((s[1:] == s[:-1]) & (b[1:] <= e[:-1]))
        numbers = cols.number
        for i in clash.tolist():
            prev, nxt = int(order[i]), int(order[i + 1])
            ps, pe = date.fromordinal(cols.start[prev]), date.fromordinal(cols.end[prev])
            self.report.add(t.RowError(numbers[nxt], "period_start",
                                       str(date.fromordinal(cols.start[nxt])),
                                       f"overlaps the period of row {numbers[prev]} "
                                       f"({ps} to {pe})"))


REPLACE_MODES = ("series", "years", "all")


def record_activity(session: Session, principal: Principal, source_domain: str,
                    rows: Iterable[Any], *, replace: str = "series") -> RecordResult:
    """Record activity of emitting assets; see the module docstring. ``source_domain`` names
    the recording domain (``property``, ``fleet``, ``community`` ...).

    ``replace`` says what the rows stand for, per asset: ``series`` (the default) replaces
    the years each activity series covers; ``years`` replaces *everything* the asset has in
    the years the rows cover (the rows are its whole year: a fuel no longer used there or a
    vehicle's changed model year leaves nothing stale); ``all`` replaces every period the
    asset has (the rows are its whole history, e.g. fleet's vehicles from fleet's store).

    Rows are checked by :class:`_Checker` (the full check once per asset and activity, the
    quantity and period per row), kept as columns, and written in one bulk load (COPY on
    PostgreSQL, ``executemany`` on SQLite) only when every row passed."""
    if not source_domain or len(source_domain) > 40:
        raise BadRequest("source_domain must be 1 to 40 characters")
    if replace not in REPLACE_MODES:
        raise BadRequest(f"replace must be one of {', '.join(REPLACE_MODES)}")
    report = t.ErrorReport()
    checker = _Checker(report)
    checker.add_all(rows)
    checker.finish()
    if report.count:
        raise t.Refused(f"{report.count:,} problems in the activity rows; nothing was recorded",
                        report=report)
    if not len(checker.rows):
        return RecordResult(sources=0, periods=0, years=[], replaced_periods=0)
    # members: each exists in the principal's region, and the principal may record for it
    region = regions_queries.require_current_region(session=session)
    members = {j.id for j in regions_queries.list_jurisdictions(session=session,
                                                                region_id=region.id)}
    owners = {tm.row.jurisdiction_id for tm in checker.templates}
    for jid in sorted(owners | {j for tm in checker.templates for j in tm.row.shared_with}):
        if jid not in members:
            raise NotFound(f"Jurisdiction {jid} is not a member of this region")
    for jid in sorted(owners):
        authorize(principal, Action.carbon_record, jid)
    return _write(session, principal, source_domain, checker, replace)


_EPOCH = date(1970, 1, 1).toordinal()


def _years(checker: _Checker) -> tuple[np.ndarray, np.ndarray]:
    """(series, year) of every year each row's period touches (a period across new year
    touches each), as two arrays, one entry per distinct pair."""
    cols = checker.rows
    tm = np.frombuffer(cols.template, dtype=np.int64)
    series = np.array([x.series for x in checker.templates], dtype=np.int64)[tm]
    first = (np.frombuffer(cols.start, dtype=np.int64) - _EPOCH).astype("M8[D]").astype(
        "M8[Y]").astype(np.int64) + 1970
    last = (np.frombuffer(cols.end, dtype=np.int64) - _EPOCH).astype("M8[D]").astype(
        "M8[Y]").astype(np.int64) + 1970
    pairs = [series * 10_000 + first]
    span = last - first
    for k in range(1, int(span.max()) + 1 if len(span) else 1):
        more = span >= k
        pairs.append(series[more] * 10_000 + first[more] + k)
    both = np.unique(np.concatenate(pairs))
    return both // 10_000, both % 10_000


def _write(session: Session, principal: Principal, source_domain: str, checker: _Checker,
           mode: str = "series") -> RecordResult:
    # a big load on PostgreSQL: the locks first, before any write (_BulkLoad)
    bulk = _BulkLoad.plan(session, len(checker.rows))
    assets = checker.assets
    keys = list(assets)
    existing: dict[str, Source] = {}
    for i in range(0, len(keys), 500):
        chunk = keys[i:i + 500]
        for src in session.scalars(select(Source).where(Source.source_domain == source_domain,
                                                        Source.source_key.in_(chunk))):
            existing[src.source_key] = src
    touched_j: set[int] = set()
    new: list[dict[str, Any]] = []
    for key, asset in assets.items():
        tms = asset.templates
        r = asset.first.row
        # a utility said once for the asset stays until another is said (a domain that
        # does not know it, e.g. an edit of the asset, does not erase it)
        utility = next((x.row.utility for x in tms if x.row.utility), "") or (
            existing[key].utility if key in existing else "")
        subregion = next((x.subregion for x in tms if x.subregion), "")
        values = {"jurisdiction_id": r.jurisdiction_id, "boundary": r.boundary.value,
                  "name": r.name, "sector": r.sector.value, "subregion": subregion,
                  "utility": utility, "zip": r.zip, "lon": r.lon, "lat": r.lat,
                  "property_type": r.property_type,
                  "gross_floor_area_ft2": r.gross_floor_area_ft2,
                  "net_metered": any(x.row.net_metered for x in tms)}
        published = [x.row.published_t_co2e for x in tms if x.row.published_t_co2e is not None]
        if published:
            values["published_t_co2e"] = published[0]
            values["published_year"] = r.period_end.year
        found = existing.get(key)
        if found is None:
            new.append({"source_domain": source_domain, "source_key": key,
                        "published_t_co2e": None, "published_year": None, **values})
        else:
            touched_j.add(found.jurisdiction_id)
            for k, v in values.items():
                setattr(found, k, v)
        touched_j.add(r.jurisdiction_id)
    session.flush()
    sid_of = {k: s.id for k, s in existing.items()}
    sid_of.update(_insert_sources(session, new))
    ids = [sid_of[k] for k in keys]
    series_sid = [0] * len(checker.series)
    series_key: list[tuple[str, str]] = [("", "")] * len(checker.series)
    for (key, act, det), n in checker.series.items():
        series_sid[n] = sid_of[key]
        series_key[n] = (act, det)
    s_arr, y_arr = _years(checker)
    years = sorted(set(y_arr.tolist()))
    # the years each series covers are replaced (only assets that were there have any)
    replaced = 0
    old = [sid_of[k] for k in keys if k in existing]
    if old and mode == "all":
        for i in range(0, len(old), 500):
            res = session.execute(text(
                "DELETE FROM carbon_activity_periods WHERE source_id IN :ids")
                .bindparams(_expanding("ids")), {"ids": sorted(old[i:i + 500])})
            replaced += res.rowcount or 0  # type: ignore[attr-defined]
    elif old and mode == "years":
        was = set(old)
        by_year: dict[int, list[int]] = defaultdict(list)
        for sid, y in {(series_sid[s], y) for s, y in zip(s_arr.tolist(), y_arr.tolist(),
                                                           strict=True)}:
            if sid in was:
                by_year[y].append(sid)
        for y, sids in by_year.items():
            sids.sort()
            for i in range(0, len(sids), 500):
                res = session.execute(text(
                    "DELETE FROM carbon_activity_periods WHERE year = :y "
                    "AND source_id IN :ids").bindparams(_expanding("ids")),
                    {"y": y, "ids": sids[i:i + 500]})
                replaced += res.rowcount or 0  # type: ignore[attr-defined]
    elif old:
        was = set(old)
        by_key: dict[tuple[str, str, int], list[int]] = defaultdict(list)
        for s, y in zip(s_arr.tolist(), y_arr.tolist(), strict=True):
            if series_sid[s] in was:
                by_key[(*series_key[s], y)].append(series_sid[s])
        for (act, det, y), sids in by_key.items():
            sids.sort()
            for i in range(0, len(sids), 500):
                res = session.execute(text(
                    "DELETE FROM carbon_activity_periods WHERE activity = :a AND detail = :d "
                    "AND year = :y AND source_id IN :ids").bindparams(_expanding("ids")),
                    {"a": act, "d": det, "y": y, "ids": sids[i:i + 500]})
                replaced += res.rowcount or 0  # type: ignore[attr-defined]
    periods = _bulk_periods(session, checker, series_sid, bulk)
    # claims: the members that also count a shared asset
    claim_rows = [{"source_id": sid_of[k], "jurisdiction_id": j}
                  for k, asset in assets.items()
                  for j in sorted({j for x in asset.templates for j in x.row.shared_with})
                  if j != asset.first.row.jurisdiction_id]
    for i in range(0, len(old), 500):
        session.execute(delete(SourceClaim).where(SourceClaim.source_id.in_(old[i:i + 500])))
    if claim_rows:
        session.execute(insert(SourceClaim), claim_rows)
    if mode == "all" or not old:
        # no period of these sources but the rows': their totals come from the columns,
        # not from scanning and sorting the periods just written
        _write_totals(session, ids, _totals(checker, series_sid, series_key), new=not old)
    else:
        refresh_totals(session, ids, new=False)
    if bulk is not None:
        bulk.restore_keys(session)
    refresh_rollup(session, sorted(touched_j))
    audit.record(session, principal, action="carbon.activity.record", entity="carbon_activity",
                 jurisdiction_id=next(iter(touched_j)) if len(touched_j) == 1 else None,
                 after={"source_domain": source_domain, "sources": len(ids),
                        "periods": periods, "years": years,
                        "replace": mode, "replaced_periods": replaced})
    return RecordResult(sources=len(ids), periods=periods, years=years,
                        replaced_periods=replaced)


def _insert_sources(session: Session, new: list[dict[str, Any]]) -> Iterator[tuple[str, int]]:
    """The new sources written: (source key, id) of each. PostgreSQL: their ids drawn from
    the sequence in one statement and the rows in one COPY (a multi-row INSERT ... RETURNING
    of thousands of sources spent seconds in the driver building and parsing its statement);
    SQLite: INSERT ... RETURNING in chunks."""
    if not new:
        return
    if session.get_bind().dialect.name != "postgresql":
        for i in range(0, len(new), 5000):
            for v, k in session.execute(insert(Source).returning(Source.id, Source.source_key),
                                        new[i:i + 5000]):
                yield k, v
        return
    ids = list(session.scalars(text(
        "SELECT nextval(pg_get_serial_sequence('carbon_sources', 'id')) "
        "FROM generate_series(1, :n)"), {"n": len(new)}))
    now = db.utcnow()
    cols = [c.name for c in Source.__table__.columns]
    driver = session.connection().connection.driver_connection
    with driver.cursor() as cur, cur.copy(  # type: ignore[union-attr]
            f"COPY carbon_sources ({', '.join(cols)}) FROM STDIN") as cp:
        for sid, values in zip(ids, new, strict=True):
            row = {**values, "id": sid, "created_at": now, "updated_at": now}
            cp.write_row([row[c] for c in cols])
    for sid, values in zip(ids, new, strict=True):
        yield values["source_key"], sid


def _period_rows(checker: _Checker, series_sid: list[int]) -> Iterator[tuple[Any, ...]]:
    """The rows of ``carbon_activity_periods`` (a period across new year cut at each)."""
    info = [(series_sid[x.series], x.row.activity, x.detail, x.row.unit, x.factor)
            for x in checker.templates]
    cols = checker.rows
    ordinals = np.unique(np.concatenate([np.frombuffer(cols.start, dtype=np.int64),
                                         np.frombuffer(cols.end, dtype=np.int64)]))
    day = {o: date.fromordinal(o) for o in ordinals.tolist()}
    for k, a, b, q in zip(cols.template, cols.start, cols.end, cols.quantity, strict=True):
        sid, act, det, unit, f = info[k]
        ps, pe = day[a], day[b]
        y = ps.year
        if y == pe.year:
            yield (sid, act, det, ps, pe, y, q * f, q, unit)
            continue
        qc = q * f
        for s, e, share in _split_years(ps, pe):
            yield (sid, act, det, s, e, s.year, qc * share, q * share, unit)


def _totals(checker: _Checker, series_sid: list[int], series_key: list[tuple[str, str]]
            ) -> list[tuple[int, int, str, str, float]]:
    """``carbon_activity``'s rows of the checked rows alone (source, year, activity, detail,
    quantity): what :func:`refresh_totals` makes of the periods :func:`_period_rows` writes
    (each row's quantity times its factor, a period across new year shared by days), summed
    in numpy."""
    cols = checker.rows
    tm = np.frombuffer(cols.template, dtype=np.int64)
    series = np.array([x.series for x in checker.templates], dtype=np.int64)[tm]
    qc = np.frombuffer(cols.quantity, dtype=np.float64) * np.array(
        [x.factor for x in checker.templates], dtype=np.float64)[tm]
    first = _year_of(np.frombuffer(cols.start, dtype=np.int64))
    last = _year_of(np.frombuffer(cols.end, dtype=np.int64))
    one = first == last
    keys = [series[one] * 10_000 + first[one]]
    weights = [qc[one]]
    across = np.flatnonzero(~one).tolist()
    if across:  # a period across new year: its parts, as _period_rows cuts them
        k_more: list[int] = []
        w_more: list[float] = []
        for i in across:
            q = float(qc[i])
            for a, _b, share in _split_years(date.fromordinal(cols.start[i]),
                                             date.fromordinal(cols.end[i])):
                k_more.append(int(series[i]) * 10_000 + a.year)
                w_more.append(q * share)
        keys.append(np.array(k_more, dtype=np.int64))
        weights.append(np.array(w_more, dtype=np.float64))
    uniq, where = np.unique(np.concatenate(keys), return_inverse=True)
    sums = np.bincount(where, weights=np.concatenate(weights), minlength=len(uniq))
    out = []
    for k, total in zip(uniq.tolist(), sums.tolist(), strict=True):
        act, det = series_key[k // 10_000]
        out.append((series_sid[k // 10_000], k % 10_000, act, det, total))
    return out


def _write_totals(session: Session, source_ids: Sequence[int],
                  rows: list[tuple[int, int, str, str, float]], *, new: bool) -> None:
    """``carbon_activity`` of these sources replaced by ``rows`` (from :func:`_totals`)."""
    if not new:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("DELETE FROM carbon_activity WHERE source_id = ANY(:ids)"),
                            {"ids": list(source_ids)})
        else:
            for i in range(0, len(source_ids), 500):
                session.execute(text("DELETE FROM carbon_activity WHERE source_id IN :ids")
                                .bindparams(_expanding("ids")),
                                {"ids": list(source_ids[i:i + 500])})
    if not rows:
        return
    driver = session.connection().connection.driver_connection
    if session.get_bind().dialect.name == "postgresql":
        with driver.cursor() as pg, pg.copy(  # type: ignore[union-attr]
                "COPY carbon_activity (source_id, year, activity, detail, quantity) "
                "FROM STDIN (FORMAT BINARY)") as cp:
            cp.set_types(["int4", "int4", "text", "text", "float8"])
            for r in rows:
                cp.write_row(r)
        return
    cur = driver.cursor()  # type: ignore[union-attr]
    try:
        cur.executemany("INSERT INTO carbon_activity (source_id, year, activity, detail, "
                        "quantity) VALUES (?, ?, ?, ?, ?)", rows)
    finally:
        cur.close()


def refresh_totals(session: Session, source_ids: Sequence[int], *, new: bool = False) -> None:
    """Re-aggregate ``carbon_activity`` of these sources from their periods (set-based);
    ``new``: the sources were just added (no totals to remove).

    On PostgreSQL one statement for all of them (``= ANY`` of an array): in chunks of 500 ids
    a table just bulk-loaded and not yet analyzed was scanned whole once per chunk (10
    million periods of 50,000 sources: 100 scans, minutes instead of seconds)."""
    if session.get_bind().dialect.name == "postgresql":
        ids = list(source_ids)
        if not new:
            session.execute(text("DELETE FROM carbon_activity WHERE source_id = ANY(:ids)"),
                            {"ids": ids})
        session.execute(text(
            "INSERT INTO carbon_activity (source_id, year, activity, detail, quantity) "
            "SELECT source_id, year, activity, detail, SUM(quantity) FROM carbon_activity_periods "
            "WHERE source_id = ANY(:ids) GROUP BY source_id, year, activity, detail"),
            {"ids": ids})
        return
    for i in range(0, len(source_ids), 500):
        chunk = list(source_ids[i:i + 500])
        if not new:
            session.execute(text("DELETE FROM carbon_activity WHERE source_id IN :ids")
                            .bindparams(_expanding("ids")), {"ids": chunk})
        session.execute(text(
            "INSERT INTO carbon_activity (source_id, year, activity, detail, quantity) "
            "SELECT source_id, year, activity, detail, SUM(quantity) FROM carbon_activity_periods "
            "WHERE source_id IN :ids GROUP BY source_id, year, activity, detail")
            .bindparams(_expanding("ids")), {"ids": chunk})


def refresh_rollup(session: Session, jurisdiction_ids: Sequence[int]) -> None:
    """Re-aggregate ``carbon_rollup`` of these members from ``carbon_activity`` (set-based)."""
    if not jurisdiction_ids:
        return
    ids = list(jurisdiction_ids)
    session.execute(text("DELETE FROM carbon_rollup WHERE jurisdiction_id IN :ids")
                    .bindparams(_expanding("ids")), {"ids": ids})
    session.execute(text(
        "INSERT INTO carbon_rollup (jurisdiction_id, boundary, year, sector, activity, detail, "
        "subregion, utility, quantity, sources) "
        "SELECT s.jurisdiction_id, s.boundary, a.year, s.sector, a.activity, a.detail, "
        "s.subregion, s.utility, SUM(a.quantity), COUNT(DISTINCT s.id) "
        "FROM carbon_activity a JOIN carbon_sources s ON s.id = a.source_id "
        "WHERE s.jurisdiction_id IN :ids "
        "GROUP BY s.jurisdiction_id, s.boundary, a.year, s.sector, a.activity, a.detail, "
        "s.subregion, s.utility").bindparams(_expanding("ids")), {"ids": ids})
    _analyze(session, "carbon_rollup", "carbon_activity", "carbon_sources")


def _analyze(session: Session, *tables: str) -> None:
    """Fresh planner statistics on PostgreSQL after a bulk change: with stale ones (a table
    just filled) it estimates one row per CTE and joins the inventory by nested loops
    (``core.db.analyze``; not on SQLite, whose planner does without them here)."""
    db.analyze(session, *tables, sqlite=False)


def _expanding(name: str) -> Any:
    from sqlalchemy import bindparam
    return bindparam(name, expanding=True)


def clear_periods(session: Session, principal: Principal, source_domain: str,
                  source_keys: Iterable[str], years: Iterable[int] | None = None) -> int:
    """Forget the periods of these assets in ``years`` (every year if None), keeping the
    assets themselves (and the measures that name them): what a recording domain calls when
    an asset's activity of a year is no longer there (a building's energy removed, a
    vehicle's fuel lines moved to another). Unknown keys are skipped. Returns the periods
    removed."""
    keys = sorted(set(source_keys))
    srcs = [s for i in range(0, len(keys), 500) for s in session.scalars(select(Source).where(
        Source.source_domain == source_domain, Source.source_key.in_(keys[i:i + 500])))]
    if not srcs:
        return 0
    for jid in sorted({s.jurisdiction_id for s in srcs}):
        authorize(principal, Action.carbon_record, jid)
    ids = sorted(s.id for s in srcs)
    only = sorted(set(years)) if years is not None else None
    removed = 0
    for i in range(0, len(ids), 500):
        sql = "DELETE FROM carbon_activity_periods WHERE source_id IN :ids"
        params: dict[str, Any] = {"ids": ids[i:i + 500]}
        stmt = text(sql).bindparams(_expanding("ids"))
        if only is not None:
            if not only:
                break
            stmt = text(sql + " AND year IN :years").bindparams(_expanding("ids"),
                                                                 _expanding("years"))
            params["years"] = only
        res = session.execute(stmt, params)
        removed += res.rowcount or 0  # type: ignore[attr-defined]
    if removed:
        refresh_totals(session, ids)
        jids = sorted({s.jurisdiction_id for s in srcs})
        refresh_rollup(session, jids)
        audit.record(session, principal, action="carbon.activity.clear",
                     entity="carbon_activity",
                     jurisdiction_id=jids[0] if len(jids) == 1 else None,
                     after={"source_domain": source_domain, "sources": len(ids),
                            "years": only, "removed_periods": removed})
    return removed


def remove_source(session: Session, principal: Principal, source_domain: str,
                  source_key: str) -> bool:
    """Forget an asset and its activity (e.g. property deleted it). False if unknown."""
    src = queries.source_by_key(session, source_domain, source_key)
    if src is None:
        return False
    authorize(principal, Action.carbon_record, src.jurisdiction_id)
    jid = src.jurisdiction_id
    session.delete(src)
    session.flush()
    refresh_rollup(session, [jid])
    audit.record(session, principal, action="carbon.source.remove", entity="carbon_source",
                 entity_id=f"{source_domain}:{source_key}", jurisdiction_id=jid)
    return True


# ------------------------------------------------------------------------ factors out

def grid_factor(session: Session, *, zip_code: str | None = None, lon: float | None = None,
                lat: float | None = None, factor_set: str | None = None,
                gwp_set: str = DEFAULT_GWP) -> GridFactor:
    """Location-based electricity factor at a ZIP or point: kg per MWh of each gas and of
    CO2e under ``gwp_set``. NotFound when the place has no eGRID subregion."""
    if not zip_code and (lon is None or lat is None):
        raise BadRequest("Give a ZIP code, or a point (lon and lat)")
    sub = subregion_at(zip_code=zip_code, lon=lon, lat=lat)
    if sub is None:
        raise NotFound("No eGRID subregion for this place (ZIP or point)")
    _check_gwp(session, gwp_set)
    gwp = {g.gas: g.value for g in queries.gwp_rows(session, gwp_set)}
    for fs in stack(session, factor_set):
        rows = session.scalars(select(Factor).where(
            Factor.factor_set_id == fs.id, Factor.activity == "electricity",
            Factor.basis.in_(("any", "location")),
            Factor.match_key.in_((sub, ""))).order_by(Factor.match_key.desc())).all()
        if not rows:
            continue
        key = rows[0].match_key
        per_gas = {f.gas: f.kg_per_unit for f in rows if f.match_key == key}
        co2e = sum(v * gwp.get(g, 0.0) for g, v in per_gas.items())
        src = rows[0].source_table
        return GridFactor(subregion=sub, subregion_name=subregion_names().get(sub, sub),
                          factor_set=fs.name, edition=fs.edition, gwp_set=gwp_set,
                          kg_co2e_per_mwh=co2e, kg_per_mwh=per_gas, source=src)
    raise NotFound(f"No electricity factor for subregion {sub}")


# ------------------------------------------------------------------------ inventory

def _scope_ids(session: Session, principal: Principal, jurisdiction_id: int | None
               ) -> list[int] | None:
    authorize(principal, Action.carbon_read, region_id=_here(session))
    if jurisdiction_id is not None:
        ensure_visible(principal, jurisdiction_id, "Jurisdiction")
        return [jurisdiction_id]
    visible = visible_jurisdiction_ids(principal)
    return None if visible is None else sorted(visible)


BY = {"jurisdiction": "jurisdiction", "sector": "sector", "scope": "scope", "gas": "gas",
      "asset": "asset", "region": "region"}


def inventory(session: Session, principal: Principal, *, year: int | None = None,
              jurisdiction_id: int | None = None, factor_set: str | None = None,
              gwp_set: str = DEFAULT_GWP, by: str = "sector",
              boundary: str = Boundary.government.value) -> Inventory:
    """Tonnes CO2e by ``by`` (jurisdiction, sector, scope, gas, asset, region) and year,
    location- and market-based side by side, with the activity no factor covers."""
    if by not in BY:
        raise BadRequest(f"by must be one of {', '.join(BY)}")
    if boundary not in Boundary.__members__:
        raise BadRequest("boundary must be government or community")
    jids = _scope_ids(session, principal, jurisdiction_id)
    _check_gwp(session, gwp_set)
    sets = stack(session, factor_set)
    set_ids = [s.id for s in sets]
    region = regions_queries.require_current_region(session=session)
    results: dict[Method, list[dict[str, Any]]] = {}
    for m in METHODS:
        results[m] = queries.emissions(session, region_id=region.id, set_ids=set_ids,
                                       gwp_set=gwp_set, method=m, group=by, boundary=boundary,
                                       year=year, jurisdiction_ids=jids)
    names = {j.id: j.name for j in regions_queries.list_jurisdictions(session=session,
                                                                       region_id=region.id)}
    keycols = [*queries.GROUP_NAMES[by], "year"]
    merged: dict[tuple[Any, ...], InventoryRow] = {}
    for m in METHODS:
        for r in results[m]:
            key = tuple(r[c] for c in keycols)
            row = merged.get(key)
            if row is None:
                row = InventoryRow(
                    jurisdiction_id=r.get("jurisdiction_id"),
                    jurisdiction=names.get(r.get("jurisdiction_id", -1)),
                    year=int(r["year"]), sector=r.get("sector"),
                    scope=str(r["scope"]) if r.get("scope") is not None else None,
                    gas=r.get("gas"), source_id=r.get("source_id"),
                    t_gas=float(r["t_gas"]) if by == "gas" else None,
                    t_co2e_location=0.0, t_co2e_market=0.0,
                    t_biogenic_co2=float(r["t_biogenic"] or 0))
                merged[key] = row
            if m == Method.location:
                row.t_co2e_location = float(r["t_co2e"] or 0)
            else:
                row.t_co2e_market = float(r["t_co2e"] or 0)
    rows = sorted(merged.values(), key=lambda r: (r.year, r.jurisdiction or "", r.sector or "",
                                                  r.scope or "", r.gas or "", r.source_id or 0))
    if by == "asset":
        src_names = dict(session.execute(select(Source.id, Source.name).where(
            Source.id.in_([r.source_id for r in rows if r.source_id][:100_000]))).all())
        for row in rows:
            row.source = src_names.get(row.source_id or -1)
    gap_rows: dict[tuple[Any, ...], Gap] = {}
    for m in METHODS:
        for g in queries.gaps(session, region_id=region.id, set_ids=set_ids, method=m,
                              boundary=boundary, year=year, jurisdiction_ids=jids,
                              per_asset=by == "asset"):
            key = (g["jurisdiction_id"], g["source_id"], g["year"], g["activity"], g["detail"])
            gap_rows.setdefault(key, Gap(
                jurisdiction_id=g["jurisdiction_id"], source_id=g["source_id"] or None,
                year=g["year"], activity=g["activity"], detail=g["detail"],
                quantity=float(g["quantity"]),
                reason=_gap_reason(sets, g["activity"], g["detail"], g["year"])))
    for gas in queries.missing_gwp(session, set_ids=set_ids, gwp_set=gwp_set):
        gap_rows[("gwp", gas)] = Gap(jurisdiction_id=0, year=year or 0, activity="*",
                                     detail="", quantity=0.0,
                                     reason=f"gas {gas} has no GWP in {gwp_set}: its tonnes are "
                                     "left out of CO2e")
    return Inventory(factor_set=sets[0].name, gwp_set=gwp_set, by=by, boundary=boundary,
                     rows=rows, gaps=list(gap_rows.values()),
                     total_location=sum(r.t_co2e_location for r in rows),
                     total_market=sum(r.t_co2e_market for r in rows))


def _gap_reason(sets: list[FactorSet], activity: str, detail: str, year: int) -> str:
    covering = [s.name for s in sets if s.year_from <= year <= s.year_to]
    if not covering:
        return (f"no factor set of the stack covers {year} "
                f"({', '.join(f'{s.name} {s.year_from}-{s.year_to}' for s in sets)})")
    what = f"{activity} ({detail})" if detail else activity
    return f"no factor for {what} at this place in {', '.join(covering)}"


def regional_rollup(session: Session, principal: Principal, *, year: int,
                    factor_set: str | None = None, gwp_set: str = DEFAULT_GWP,
                    method: Method = Method.location) -> Rollup:
    """The region counted once (each asset with the member that controls it) against the sum
    of members' own inventories (a shared asset counted by every member that claims it)."""
    authorize(principal, Action.carbon_read, region_id=_here(session))
    if not principal.role.is_regional:
        raise Forbidden("The regional roll-up is for the region's roles")
    _check_gwp(session, gwp_set)
    set_ids = [s.id for s in stack(session, factor_set)]
    region = regions_queries.require_current_region(session=session)
    total = queries.emissions(session, region_id=region.id, set_ids=set_ids, gwp_set=gwp_set,
                              method=method, group="region", year=year)
    region_t = float(total[0]["t_co2e"] or 0) if total else 0.0
    claim_list = queries.claims(session)
    shared = sorted({sid for sid, _ in claim_list})
    per_source: dict[int, float] = {}
    if shared:
        for r in queries.emissions(session, region_id=region.id, set_ids=set_ids,
                                   gwp_set=gwp_set, method=method, group="asset", year=year,
                                   source_ids=shared):
            per_source[int(r["source_id"])] = float(r["t_co2e"] or 0)
    extra = sum(per_source.get(sid, 0.0) for sid, _ in claim_list)
    return Rollup(year=year, method=method, region_t=region_t, naive_t=region_t + extra,
                  double_counted_t=extra, shared_sources=len(shared))


def source_emissions(session: Session, principal: Principal, *, source_domain: str,
                     source_key: str, factor_set: str | None = None,
                     gwp_set: str = DEFAULT_GWP) -> list[InventoryRow]:
    """An asset's tonnes CO2e per year, location- and market-based (its registry page)."""
    src = queries.source_by_key(session, source_domain, source_key)
    if src is None:
        return []
    authorize(principal, Action.carbon_read, region_id=_here(session))
    ensure_visible(principal, src.jurisdiction_id, "Asset")
    set_ids = [s.id for s in stack(session, factor_set)]
    region = regions_queries.require_current_region(session=session)
    out: dict[int, InventoryRow] = {}
    for m in METHODS:
        for r in queries.emissions(session, region_id=region.id, set_ids=set_ids,
                                   gwp_set=gwp_set, method=m, group="asset",
                                   boundary=src.boundary, source_ids=[src.id]):
            row = out.setdefault(int(r["year"]), InventoryRow(
                jurisdiction_id=src.jurisdiction_id, year=int(r["year"]), source_id=src.id,
                source=src.name, t_co2e_location=0.0, t_co2e_market=0.0))
            if m == Method.location:
                row.t_co2e_location = float(r["t_co2e"] or 0)
            else:
                row.t_co2e_market = float(r["t_co2e"] or 0)
    return [out[y] for y in sorted(out)]


# ------------------------------------------------------------------------ targets

def add_target(session: Session, principal: Principal, data: TargetIn) -> Target:
    authorize(principal, Action.carbon_plan, data.jurisdiction_id, region_id=_here(session))
    if data.jurisdiction_id is None and not principal.role.is_regional:
        raise Forbidden("Regional targets are set by the region's roles")
    region = regions_queries.require_current_region(session=session)
    if data.jurisdiction_id is not None:
        regions_queries.get_jurisdiction(session=session, jurisdiction_id=data.jurisdiction_id)
    tgt = Target(region_id=region.id, **data.model_dump())
    session.add(tgt)
    session.flush()
    audit.record(session, principal, action="carbon.target.add", entity="carbon_target",
                 entity_id=tgt.id, jurisdiction_id=data.jurisdiction_id,
                 after=data.model_dump())
    return tgt


def add_measure(session: Session, principal: Principal, data: MeasureIn) -> Measure:
    authorize(principal, Action.carbon_plan, data.jurisdiction_id, region_id=_here(session))
    regions_queries.get_jurisdiction(session=session, jurisdiction_id=data.jurisdiction_id)
    if data.source_id is not None:
        src = session.get(Source, data.source_id)
        if src is None or src.jurisdiction_id != data.jurisdiction_id:
            raise NotFound("Asset not found")
    m = Measure(**data.model_dump())
    session.add(m)
    session.flush()
    audit.record(session, principal, action="carbon.measure.add", entity="carbon_measure",
                 entity_id=m.id, jurisdiction_id=data.jurisdiction_id, after=data.model_dump())
    return m


def plan_items(session: Session, principal: Principal) -> tuple[list[Target], list[Measure]]:
    """The targets and planned measures the principal may see: the region's own targets and
    every visible member's (a member's staff: its own and the region's), newest last."""
    jids = _scope_ids(session, principal, None)
    region = regions_queries.require_current_region(session=session)
    tg = [x for x in queries.targets(session, region.id)
          if x.jurisdiction_id is None or jids is None or x.jurisdiction_id in jids]
    if jids is None:  # the region's roles: this region's members, not another region's
        jids = sorted(_member_ids(session))
    return tg, queries.measures(session, jids)


def _member_ids(session: Session) -> set[int]:
    return {j.id for j in regions_queries.list_jurisdictions(session=session,
                                                             region_id=_here(session))}


def remove_target(session: Session, principal: Principal, target_id: int) -> Target:
    """Delete a target: its member's planners, or the region's roles for a regional one. A
    target of another region, or of a member the principal cannot see, is not found."""
    region = regions_queries.require_current_region(session=session)
    tgt = session.get(Target, target_id)
    if tgt is None or tgt.region_id != region.id:
        raise NotFound("Target not found")
    if tgt.jurisdiction_id is not None:
        ensure_visible(principal, tgt.jurisdiction_id, "Target")
    authorize(principal, Action.carbon_plan, tgt.jurisdiction_id, region_id=region.id)
    if tgt.jurisdiction_id is None and not principal.role.is_regional:
        raise Forbidden("Regional targets are set by the region's roles")
    jid = tgt.jurisdiction_id
    before = {"jurisdiction_id": jid, "base_year": tgt.base_year,
              "target_year": tgt.target_year, "reduction_pct": tgt.reduction_pct,
              "label": tgt.label}
    session.delete(tgt)
    session.flush()
    audit.record(session, principal, action="carbon.target.remove", entity="carbon_target",
                 entity_id=target_id, jurisdiction_id=jid, before=before)
    return tgt


def remove_measure(session: Session, principal: Principal, measure_id: int) -> Measure:
    """Delete a planned measure (its member's planners); another region's is not found."""
    m = session.get(Measure, measure_id)
    if m is None or m.jurisdiction_id not in _member_ids(session):
        raise NotFound("Measure not found")
    ensure_visible(principal, m.jurisdiction_id, "Measure")
    authorize(principal, Action.carbon_plan, m.jurisdiction_id, region_id=_here(session))
    before = {"jurisdiction_id": m.jurisdiction_id, "kind": m.kind, "name": m.name,
              "start_year": m.start_year, "t_co2e_per_year": m.t_co2e_per_year}
    session.delete(m)
    session.flush()
    audit.record(session, principal, action="carbon.measure.remove", entity="carbon_measure",
                 entity_id=measure_id, jurisdiction_id=m.jurisdiction_id, before=before)
    return m


MEASURE_ORIGIN = re.compile(r"^[a-z][a-z0-9_.-]{0,58}:[A-Za-z0-9_.-]{1,60}$")
# a link back is a path on this site: never another origin, never a script
MEASURE_LINK = re.compile(r"^/(?![/\\])[A-Za-z0-9/_.~%?&=+,;:@!*'()\[\]-]{0,1998}$")


def replace_measures(session: Session, principal: Principal, origin: str,
                     measures: Sequence[MeasureIn], *, link: str | None = None
                     ) -> tuple[list[Measure], int]:
    """Replace every planned measure that ``origin`` wrote in this region (e.g.
    ``property.consolidation:office``: another analysis's effect on the trajectories) with
    ``measures``, all or none: writing the same analysis again replaces its measures rather
    than adding them twice. The principal must plan for every member concerned (the old
    measures' and the new ones'). ``link`` is the page the measures came from (a path on
    this site). Returns (the measures written, how many were replaced)."""
    authorize(principal, Action.carbon_plan, region_id=_here(session))
    if not MEASURE_ORIGIN.match(origin or ""):
        raise BadRequest("origin must read domain.analysis:key (e.g. "
                         "property.consolidation:office)")
    if link is not None and not MEASURE_LINK.match(link):
        raise BadRequest("link must be a path on this site (starting with one /)")
    members = _member_ids(session)
    old = [m for m in session.scalars(select(Measure).where(Measure.origin == origin))
           if m.jurisdiction_id in members]
    for jid in sorted({m.jurisdiction_id for m in measures}):
        if jid not in members:
            raise NotFound(f"Jurisdiction {jid} is not a member of this region")
    for jid in sorted({m.jurisdiction_id for m in old} | {m.jurisdiction_id for m in measures}):
        ensure_visible(principal, jid, "Jurisdiction")
        authorize(principal, Action.carbon_plan, jid, region_id=_here(session))
    for data in measures:
        if data.source_id is not None:
            src = session.get(Source, data.source_id)
            if src is None or src.jurisdiction_id != data.jurisdiction_id:
                raise NotFound("Asset not found")
    before = [{"id": m.id, "jurisdiction_id": m.jurisdiction_id, "name": m.name,
               "start_year": m.start_year, "t_co2e_per_year": m.t_co2e_per_year} for m in old]
    for m in old:
        session.delete(m)
    session.flush()
    added = [Measure(**data.model_dump(), origin=origin, link=link) for data in measures]
    session.add_all(added)
    session.flush()
    jids = {m.jurisdiction_id for m in added} | {m.jurisdiction_id for m in old}
    audit.record(session, principal, action="carbon.measures.replace", entity="carbon_measure",
                 entity_id=origin, jurisdiction_id=next(iter(jids)) if len(jids) == 1 else None,
                 before={"measures": before} if before else None,
                 after={"origin": origin, "link": link, "measures": [
                     {"id": m.id, "jurisdiction_id": m.jurisdiction_id, "name": m.name,
                      "start_year": m.start_year, "t_co2e_per_year": m.t_co2e_per_year}
                     for m in added]})
    return added, len(old)


def sources_emissions(session: Session, principal: Principal, *, source_domain: str,
                      source_keys: Iterable[str], factor_set: str | None = None,
                      gwp_set: str = DEFAULT_GWP, method: Method = Method.location
                      ) -> dict[str, dict[int, float]]:
    """Many assets' tonnes CO2e by year under one method, in one statement per boundary:
    source key -> year -> t. A key carbon does not know is absent; a known asset with no
    computable year has an empty mapping. Another member's asset the principal cannot see is
    not found (404)."""
    authorize(principal, Action.carbon_read, region_id=_here(session))
    _check_gwp(session, gwp_set)
    keys = sorted(set(source_keys))
    srcs = [s for i in range(0, len(keys), 500) for s in session.scalars(select(Source).where(
        Source.source_domain == source_domain, Source.source_key.in_(keys[i:i + 500])))]
    for jid in sorted({s.jurisdiction_id for s in srcs}):
        ensure_visible(principal, jid, "Asset")
    out: dict[str, dict[int, float]] = {s.source_key: {} for s in srcs}
    if not srcs:
        return out
    set_ids = [s.id for s in stack(session, factor_set)]
    region = regions_queries.require_current_region(session=session)
    key_of = {s.id: s.source_key for s in srcs}
    for boundary in sorted({s.boundary for s in srcs}):
        ids = sorted(s.id for s in srcs if s.boundary == boundary)
        for r in queries.emissions(session, region_id=region.id, set_ids=set_ids,
                                   gwp_set=gwp_set, method=method, group="asset",
                                   boundary=boundary, source_ids=ids):
            out[key_of[int(r["source_id"])]][int(r["year"])] = float(r["t_co2e"] or 0)
    return out


def _partial_years(session: Session, jids: list[int] | None, base_year: int | None,
                   years: Iterable[int]) -> dict[int, list[str]]:
    """Years lacking sectors of the reference year (the base year, else the year with the
    most assets) -> those sectors: never judged against a trajectory nor fitted."""
    sectors = queries.sectors_by_year(session, jids)
    ref_year = base_year if base_year in sectors else queries.fullest_year(
        session, jurisdiction_ids=jids)
    ref = sectors.get(ref_year, set()) if ref_year is not None else set()
    return {y: sorted(ref - sectors.get(y, set())) for y in years
            if ref - sectors.get(y, set())}


def latest_whole_year(session: Session, principal: Principal, jurisdiction_id: int
                      ) -> int | None:
    """A member's latest whole inventory year (the year its progress judges, see
    :func:`progress`); None when it has no recorded year."""
    jids = _scope_ids(session, principal, jurisdiction_id)
    region = regions_queries.require_current_region(session=session)
    base = min((x.base_year for x in queries.targets(session, region.id)
                if x.jurisdiction_id == jurisdiction_id), default=None)
    years = set(queries.sectors_by_year(session, jids))
    partial = _partial_years(session, jids, base, years)
    return max((y for y in years if y not in partial), default=None)


# ------------------------------------------------------------------------ progress

@dataclass
class Progress:
    """One member's (or the region's) emissions against its targets, per year."""

    label: str
    jurisdiction_id: int | None
    method: Method
    history: dict[int, float]
    targets: list[Target]
    trajectory: dict[int, float]
    bau: dict[int, float]
    with_measures: dict[int, float]
    measures: list[Measure]
    latest_year: int | None
    on_track: bool | None
    base_missing: bool
    # years that lack sectors the reference year has (year -> those sectors): shown apart,
    # never judged against the trajectory nor fitted into business as usual
    partial: dict[int, list[str]] = field(default_factory=dict)


def progress(session: Session, principal: Principal, *, jurisdiction_id: int | None = None,
             factor_set: str | None = None, gwp_set: str = DEFAULT_GWP,
             method: Method = Method.location, horizon: int = 2050) -> Progress:
    """History, targets, the linear trajectory, business as usual and the planned measures'
    effect, for a member or (``None``, regional roles) the whole region."""
    authorize(principal, Action.carbon_read, region_id=_here(session))
    if jurisdiction_id is None and not principal.role.is_regional:
        raise Forbidden("The region's progress is for the region's roles")
    jids = _scope_ids(session, principal, jurisdiction_id)
    _check_gwp(session, gwp_set)
    region = regions_queries.require_current_region(session=session)
    set_ids = [s.id for s in stack(session, factor_set)]
    rows = queries.emissions(session, region_id=region.id, set_ids=set_ids, gwp_set=gwp_set,
                             method=method, group="region", jurisdiction_ids=jids)
    history = {int(r["year"]): float(r["t_co2e"] or 0) for r in rows}
    tg = [x for x in queries.targets(session, region.id) if x.jurisdiction_id == jurisdiction_id]
    ms = queries.measures(session, jids if jids is not None else sorted(_member_ids(session)))
    # A year is compared with another only if it holds the same sectors: the reference is
    # the base year (else the year with the most assets); a year lacking some of its
    # sectors (the demo's 2025 holds only its synthetic fleet, its buildings are 2016) is
    # partial, not a drop in emissions.
    base = min((x.base_year for x in tg), default=None)
    partial = _partial_years(session, jids, base, history)
    whole = {y: v for y, v in history.items() if y not in partial}
    last = max(whole) if whole else None
    years = list(range(min([*history, *(x.base_year for x in tg)] or [2016]), horizon + 1))
    base_missing = False
    path: dict[int, float] = {}
    if tg:
        base_year = min(x.base_year for x in tg)
        base_t = history.get(base_year)
        if base_t is None:
            base_missing = True
        else:
            path = calc.trajectory(base_t, [calc.Target(x.base_year, x.target_year,
                                                        x.reduction_pct) for x in tg], years)
    future = [y for y in years if last is None or y >= last]
    bau = calc.bau_forecast(whole, future)
    with_measures = {y: max(0.0, v - sum(m.t_co2e_per_year for m in ms if m.start_year <= y))
                     for y, v in bau.items()}
    ok = None
    if last is not None and last in path:
        ok = calc.on_track(history[last], path[last])
    label = "Region" if jurisdiction_id is None else regions_queries.get_jurisdiction(
        session=session, jurisdiction_id=jurisdiction_id).name
    return Progress(label, jurisdiction_id, method, history, tg, path, bau, with_measures, ms,
                    last, ok, base_missing, partial)


# ------------------------------------------------------------------------ benchmarking

@dataclass
class Benchmark:
    source_id: int
    name: str
    jurisdiction_id: int
    property_type: str | None
    gfa_ft2: float | None
    site_eui: float | None
    source_eui: float | None
    median_site_eui: float | None
    median_source_eui: float | None
    median_reference: str | None
    t_co2e: float
    retrofit: calc.Retrofit | None


RETROFIT_USD_PER_FT2 = 8.0  # an assumption shown on the page, not a quote


def benchmarks(session: Session, principal: Principal, *, year: int,
               jurisdiction_id: int | None = None, boundary: str = "government",
               factor_set: str | None = None, gwp_set: str = DEFAULT_GWP,
               usd_per_ft2: float = RETROFIT_USD_PER_FT2, limit: int = 5000
               ) -> list[Benchmark]:
    """Site and source EUI of each building (Portfolio Manager source-site ratios) against the
    U.S. national median EUI of its property type, and the retrofit that closes the gap,
    ranked by tonnes avoided."""
    jids = _scope_ids(session, principal, jurisdiction_id)
    region = regions_queries.require_current_region(session=session)
    set_ids = [s.id for s in stack(session, factor_set)]
    stmt = (select(Source.id, Source.name, Source.jurisdiction_id, Source.property_type,
                   Source.gross_floor_area_ft2)
            .where(Source.boundary == boundary, Source.sector == "buildings"))
    if jids is not None:
        stmt = stmt.where(Source.jurisdiction_id.in_(jids))
    srcs = {r.id: r for r in session.execute(stmt.limit(limit))}
    if not srcs:
        return []
    qty: dict[int, dict[str, float]] = defaultdict(dict)
    act_stmt = text("SELECT a.source_id, a.activity, SUM(a.quantity) FROM carbon_activity a "
                    "JOIN carbon_sources s ON s.id = a.source_id WHERE a.year = :year "
                    "AND s.boundary = :boundary AND s.sector = 'buildings' "
                    "GROUP BY a.source_id, a.activity")
    for sid, act, q in session.execute(act_stmt, {"year": year, "boundary": boundary}):
        if sid in srcs:
            qty[sid][act] = float(q)
    tco2e = {int(r["source_id"]): float(r["t_co2e"] or 0) for r in queries.emissions(
        session, region_id=region.id, set_ids=set_ids, gwp_set=gwp_set, method=Method.location,
        group="asset", boundary=boundary, year=year, jurisdiction_ids=jids)}
    medians = median_eui()
    out: list[Benchmark] = []
    for sid, q in qty.items():
        s = srcs[sid]
        e = calc.eui(q)
        gfa = s.gross_floor_area_ft2
        med = medians.get((s.property_type or "").lower())
        site, source = e.site_eui(gfa), e.source_eui(gfa)
        t_total = tco2e.get(sid, 0.0)
        rf = None
        if med and site is not None and gfa and e.site_kbtu > 0:
            rf = calc.retrofit(sid, s.name, site, med[0], gfa, t_total / e.site_kbtu,
                               usd_per_ft2)
        out.append(Benchmark(sid, s.name, s.jurisdiction_id, s.property_type, gfa, site, source,
                             med[0] if med else None, med[1] if med else None,
                             med[2] if med else None, t_total, rf))
    out.sort(key=lambda b: -(b.retrofit.avoidable_t if b.retrofit else -1))
    return out
