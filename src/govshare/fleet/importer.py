"""Imports of fuel-card exports and trip logs, all or nothing, through ``core.tabular``.

:func:`import_fuel` and :func:`import_trips` are the one use case behind the CLI
(`govshare fleet import`), the API, the upload page and the demo data.

- **All or nothing.** Every row is read and checked first (the compiled ``FuelRow`` /
  ``TripRow`` checks, unknown vehicles, dates in the future, negative or absurd gallons,
  duplicate keys, trips that end before they start or overlap another trip of the vehicle,
  in the file or already recorded). Any problem -> ``ImportRefused`` (a 422 carrying the
  per-row report: row, column, value, reason) and nothing is written. Files are a fleet's
  year at most (tens of thousands of rows), so the rows are checked in memory.
- **Idempotent.** A fuel line is keyed by (member, the export's transaction key), a trip by
  (vehicle, start). A row already stored with the same values is unchanged; with other
  values it is updated.
- **Flagged, not refused.** What is doubtful but real data — an odometer reading that goes
  backwards or jumps further than the fuel bought or the days passed allow, a transaction
  dated after its posting date or long before it — is imported with its reason: the
  reading is kept out of every mileage figure and listed on the vehicle's page
  (``service.recheck_odometer`` checks each touched vehicle's whole sequence again).
- **Registering from the export.** The fuel-card vendor preset (the City of Urbana, IL
  layout) may register the vehicles a file names that the member has not registered
  (``register=True``): unit id, description and department from the file, class and model
  year read from the description (said so in the vehicle's source). Otherwise a row for an
  unknown vehicle is an error.
- **Nothing dropped without a word.** Columns no field reads are named in the result with
  the number of rows where they hold a value.
- **Into carbon.** At the end (not in a dry run) the fuel and miles of every vehicle the
  file names go into the carbon inventory through ``service.record_carbon`` (LGOP vehicle
  fleet; each vehicle's periods are replaced, so a re-import never counts twice). A carbon
  refusal refuses the whole import.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO, Any, BinaryIO

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from govshare.core import audit
from govshare.core import tabular as t
from govshare.core.db import utcnow
from govshare.core.tenancy import Action, Principal, authorize
from govshare.fleet import queries, service
from govshare.fleet.calc import DIESEL_PRODUCTS, PRODUCT_LABELS
from govshare.fleet.models import (
    FuelTransaction,
    FuelType,
    OdometerReading,
    Product,
    ReadingSource,
    Trip,
    Vehicle,
    VehicleClass,
)
from govshare.fleet.schemas import GALLONS, LINE_CENTS, FuelRow, ImportSummary, TripRow, VehicleIn
from govshare.regions import queries as regions_queries

MAX_BYTES = 50 * 1024 * 1024  # an upload; a fleet's year of fuel cards is a few MB
LITERS_PER_GALLON = 3.785411784
GALLON_UNITS = frozenset({"GA", "GAL", "GALLON", "GALLONS", "G"})
LITER_UNITS = frozenset({"L", "LT", "LTR", "LITER", "LITERS", "LITRE", "LITRES"})
MAX_TRIP_HOURS = 24
MAX_MPH = 100


class ImportRefused(t.Refused):
    """The file was refused; nothing was written. ``report`` has every problem."""


_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2}))?)?")
_US = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?"
                 r"\s*([AaPp][Mm])?)?")


def parse_datetime(text: str) -> datetime:
    """ISO (``2017-10-26T12:01:22``, ``2017-10-26 12:01``) or US (``10/26/2017 12:01:22``,
    ``10/26/2017 1:05 PM``); a date alone is midnight. (A regular expression: strptime
    trying formats in turn was most of an import's time.)"""
    text = text.strip()
    ampm = None
    if m := _ISO.fullmatch(text):
        y, mo, d, hh, mi, ss = m.groups()
    elif m := _US.fullmatch(text):
        mo, d, y, hh, mi, ss, ampm = m.groups()
    else:
        raise t.CellError("is not a date and time (use 2017-10-26 12:01 or 10/26/2017 12:01)")
    hour = int(hh or 0)
    if ampm:
        if not 1 <= hour <= 12:
            raise t.CellError("is not a valid time (AM/PM hours are 1 to 12)")
        hour = hour % 12 + (12 if ampm.upper() == "PM" else 0)
    try:
        return datetime(int(y), int(mo), int(d), hour, int(mi or 0), int(ss or 0))
    except ValueError as exc:
        raise t.CellError(f"is not a valid date and time ({exc})") from None


def _date(text: str) -> date:
    return parse_datetime(text).date()


def _date_time(values: Sequence[str]) -> Any:
    day, clock = (v.strip() for v in values)
    if not day:
        raise t.CellError("a date is required")
    return parse_datetime(f"{day} {clock}" if clock else day)


def _key(values: Sequence[str]) -> Any:
    txn, seq = (v.strip() for v in values)
    if not txn:
        raise t.CellError("a transaction id is required")
    return f"{txn}/{seq}" if seq else txn


def _product(values: Sequence[str]) -> Any:
    """A vendor's product class and code -> what the inventory needs."""
    cls, code = (v.strip().upper() for v in values)
    if cls in ("NON-FUEL", "SERVICE") or code in ("WASH", "OTH", "DIS", "DISC"):
        return Product.non_fuel
    if code == "E85" or cls == "E-85":
        return Product.e85
    if cls.startswith("DIESEL") or code in ("DSL", "DS+", "BIOD"):
        return Product.b2 if code == "BIOD" else Product.diesel
    if cls.startswith("UNLEADED") or code in ("UNL", "UN+", "SUP", "ETH"):
        return Product.e10 if code == "ETH" else Product.gasoline
    raise t.CellError(f"unknown product (class {cls or '-'}, code {code or '-'})")


_cents = t.dollars_converter(LINE_CENTS.lo, LINE_CENTS.hi)
_text60 = t.str_converter(60, None)
_text200 = t.str_converter(200, None)

FUEL_FIELDS = (*FuelRow.model_fields, "description", "department", "posted_on")
FUEL_LAYOUT = t.Layout(
    fields=FUEL_FIELDS,
    converters={**t.model_converters(FuelRow, special={"occurred_at": parse_datetime,
                                                       "cost_cents": _cents}),
                "description": _text200, "department": _text60, "posted_on": _date},
    required=frozenset({"source_key", "unit_id", "occurred_at", "fuel_product", "quantity", "unit",
                        "cost_cents"}))

VENDOR = t.Preset(
    name="fuel-card", label="Fuel-card vendor export (City of Urbana, IL 2017 layout)",
    description="The vendor's 77-column transaction export: Transaction Id and item number, "
                "Vehicle ID, Transaction Date and Time, Product Class and Product, Units, "
                "Unit of Measure, Net Cost, Current Odometer; registers the vehicles it names",
    layout=FUEL_LAYOUT,
    columns={"unit_id": ("Vehicle ID",), "product_label": ("Product Description",),
             "quantity": ("Units",), "unit": ("Unit of Measure",), "cost_cents": ("Net Cost",),
             "odometer": ("Current Odometer",), "description": ("Vehicle Description",),
             "department": ("Department",), "posted_on": ("Posted Date",)},
    required=("source_key", "unit_id", "occurred_at", "fuel_product", "quantity", "unit",
              "cost_cents"),
    derived=(t.Derived("source_key", ("Transaction Id", "Transaction Item Sequence Number"),
                       _key),
             t.Derived("occurred_at", ("Transaction Date", "Transaction Time"), _date_time),
             t.Derived("fuel_product", ("Product Class", "Product"), _product, key_sources=2)))
GOVSHARE_FUEL = t.Preset(
    name="govshare", label="govshare fuel columns",
    description="One column per field: source_key, unit_id, occurred_at, product "
                "(gasoline, e10, e85, diesel, b2, non_fuel), product_label, quantity, unit "
                "(GA or L), cost_cents (dollars), odometer",
    layout=FUEL_LAYOUT, columns={"cost_cents": ("cost", "cost_dollars"),
                                 "fuel_product": ("product",)},
    required=("source_key", "unit_id", "occurred_at", "fuel_product", "quantity", "unit",
              "cost_cents"))
FUEL_PRESETS = {p.name: p for p in (VENDOR, GOVSHARE_FUEL)}
REGISTERS = frozenset({"fuel-card"})  # presets that may register the vehicles they name


def _trip_time(values: Sequence[str]) -> Any:
    return _date_time(values)


TRIP_LAYOUT = t.Layout(
    fields=tuple(TripRow.model_fields),
    converters=t.model_converters(TripRow, special={"started_at": parse_datetime,
                                                    "ended_at": parse_datetime}),
    required=frozenset(TripRow.model_fields))
TRIP_LOG = t.Preset(
    name="govshare", label="Trip or usage log",
    description="vehicle (unit id), started_at and ended_at (or date, start_time, end_time; "
                "an end before the start on the same date is the next day), miles",
    layout=TRIP_LAYOUT,
    columns={"unit_id": ("vehicle", "vehicle_id", "unit"), "miles": ("distance",)},
    required=tuple(TripRow.model_fields),
    derived=(t.Derived("started_at", ("date", "start_time"), _trip_time),
             t.Derived("ended_at", ("date", "end_time"), _trip_time)))
TRIP_PRESETS = {TRIP_LOG.name: TRIP_LOG}


# ------------------------------------------------------------------ vehicles from an export

_CLASS_WORDS: list[tuple[VehicleClass, re.Pattern[str]]] = [
    (VehicleClass.off_road, re.compile(r"\b(CAT|JD|CASE|VRMR\w*|VERMRSC\w*|KMTARVTX1|"
                                       r"\w*RVTX1|ROCK PATCH)\b|VRMRBC")),
    (VehicleClass.police_interceptor, re.compile(r"INTEC|CRN-VIC|CROWN VIC")),
    (VehicleClass.heavy_truck, re.compile(r"7400|SPARTAN|PUMPER|KNWRTH|T440|ELGIN|"
                                          r"ALLIANZ")),
    (VehicleClass.medium_truck, re.compile(r"F450|F550|\b4300\b|\b4900\b|DURA")),
    (VehicleClass.pickup, re.compile(r"F-?150|F-?250|F-?350|\b250\b|C1500|C3500|CK3500|"
                                     r"S-15|RNGR|RANGER")),
    (VehicleClass.van, re.compile(r"CARAVAN|\bCARA\b|METRO|CHEVY EXP\b|EXPRESS")),
    (VehicleClass.suv, re.compile(r"ESCAPE|ESCPE|EXCAPE|EXPED|EXPLORER")),
    (VehicleClass.sedan, re.compile(r"IMPALA|TAURUS|TAURS|FOCUS|FOCU|FUSION|SABER|INTRE|"
                                    r"COBALT|CMAX")),
]
_YEAR = re.compile(r"^\s*\d{4}\s*(\d{2})(?!\d)")


def infer_class(description: str | None) -> VehicleClass:
    text = (description or "").upper()
    for cls, pattern in _CLASS_WORDS:
        if pattern.search(text):
            return cls
    return VehicleClass.other


def infer_model_year(description: str | None) -> int | None:
    m = _YEAR.match(description or "")
    if not m:
        return None
    yy = int(m.group(1))
    return 2000 + yy if yy <= 40 else 1900 + yy


def infer_fuel(products: set[str]) -> FuelType:
    fuels = products - {Product.non_fuel.value}
    if Product.e85.value in fuels:
        return FuelType.flex_fuel
    if fuels and fuels <= DIESEL_PRODUCTS:
        return FuelType.diesel
    if fuels:
        return FuelType.gasoline
    return FuelType.unknown


# ---------------------------------------------------------------------------- the imports


@dataclass
class _Read:
    rows: list[tuple[int, dict[str, Any]]]
    unplaced: list[tuple[str, int]]
    sha256: str
    total: int
    column_of: dict[str, str]


def _read(source: str | Path | BinaryIO, name: str, preset: t.Preset, fmt: str | None,
          report: t.ErrorReport) -> _Read:
    if isinstance(source, str | Path):
        raw = Path(source).read_bytes()
    else:
        raw = source.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        report.add(t.RowError(None, "", "", f"the file is larger than {MAX_BYTES // 2**20} MB"))
        raise ImportRefused(f"{name} is too large", report=report)
    stream = io.BytesIO(raw)
    try:
        table = t.open_table(stream, fmt or t.detect_format(name, raw[:8192]))
    except t.FileRefused as exc:
        report.add(exc.error)
        raise ImportRefused(f"{name} cannot be read: {exc.error.reason}", report=report) from None
    plan = t.make_plan(table.columns, preset, fmt or t.detect_format(name, raw[:8192]))
    for e in plan.header_errors:
        report.add(e)
    rows: list[tuple[int, dict[str, Any]]] = []
    total = 0
    for number, cells, problems in table.rows:
        if cells is None:
            for e in problems:
                report.add(e)
            continue
        total += 1
        values, errors = plan.validate(number, cells)
        if plan.ignored_at:
            plan.tally(cells)
        for e in problems + errors:
            report.add(e)
        if not problems and not errors:
            rows.append((number, values))
    return _Read(rows=rows, unplaced=plan.unplaced, sha256=hashlib.sha256(raw).hexdigest(),
                 total=total, column_of=dict(plan.column_of))


def _column_note(unplaced: list[tuple[str, int]]) -> list[str]:
    used = [(c, n) for c, n in unplaced if n]
    if not used:
        return []
    shown = ", ".join(f"{c} ({n:,} rows)" for c, n in used[:12])
    more = f" and {len(used) - 12} more" if len(used) > 12 else ""
    return [f"{len(used)} column(s) hold data that no fleet field reads, so it was not "
            f"imported: {shown}{more}"]


def _now_local() -> datetime:
    # Logs carry local wall-clock times; a day's slack covers every US time zone.
    return utcnow().replace(tzinfo=None) + timedelta(days=1)


def import_fuel(*, session: Session, actor: Principal, jurisdiction_id: int,
                source: str | Path | BinaryIO, file_name: str | None = None,
                preset: str = "fuel-card", fmt: str | None = None, register: bool | None = None,
                dry_run: bool = False, source_label: str | None = None) -> ImportSummary:
    """Import a fuel-card export for one member: every line or none."""
    authorize(actor, Action.fleet_manage, jurisdiction_id)
    member = regions_queries.get_jurisdiction(session=session, jurisdiction_id=jurisdiction_id)
    if preset not in FUEL_PRESETS:
        raise t.Refused(f"Unknown preset {preset!r} (known: {', '.join(FUEL_PRESETS)})",
                        report=t.ErrorReport())
    name = file_name or (Path(source).name if isinstance(source, str | Path) else "upload")
    register = preset in REGISTERS if register is None else register
    report = t.ErrorReport()
    read = _read(source, name, FUEL_PRESETS[preset], fmt, report)
    known = queries.units(session=session, jurisdiction_id=jurisdiction_id)
    now = _now_local()
    seen: dict[str, int] = {}
    staged: list[tuple[int, dict[str, Any]]] = []
    new_units: dict[str, dict[str, Any]] = {}
    for number, v in read.rows:
        ok = True
        v["fuel_product"] = Product(v["fuel_product"])
        key = v["source_key"]
        if key in seen:
            report.add(t.RowError(number, "source_key", key,
                                  f"the same transaction as row {seen[key]}"))
            ok = False
        seen.setdefault(key, number)
        unit = str(v["unit"]).strip().upper()
        q = v["quantity"]
        gallons = None
        if unit in GALLON_UNITS:
            gallons = q
        elif unit in LITER_UNITS:
            gallons = q / LITERS_PER_GALLON
        elif v["fuel_product"] is not Product.non_fuel:
            report.add(t.RowError(number, "unit", v["unit"], "fuel must be in gallons (GA) or "
                                  "liters (L)"))
            ok = False
        if gallons is not None and v["fuel_product"] is not Product.non_fuel \
                and not GALLONS.admits(gallons):
            reason = ("negative gallons" if gallons < 0 else
                      f"{gallons:,.1f} gallons in one line is not possible "
                      f"({GALLONS.reason})")
            report.add(t.RowError(number, "quantity", str(q), reason))
            ok = False
        if v["occurred_at"] > now:
            report.add(t.RowError(number, "occurred_at", v["occurred_at"].isoformat(" "),
                                  "the date is in the future"))
            ok = False
        if v["unit_id"] not in known:
            if register:
                info = new_units.setdefault(v["unit_id"], {"description": None,
                                                           "department": None,
                                                           "products": set()})
                info["description"] = info["description"] or v.get("description")
                info["department"] = info["department"] or v.get("department")
                info["products"].add(v["fuel_product"].value)
            else:
                report.add(t.RowError(number, "unit_id", v["unit_id"],
                                      f"unknown vehicle: unit {v['unit_id']} is not "
                                      f"registered for {member.name}"))
                ok = False
        v["gallons"] = gallons if v["fuel_product"] is not Product.non_fuel or gallons else None
        if ok:
            staged.append((number, v))
    if report.count:
        raise ImportRefused(f"{report.count:,} problem(s) in {name}; nothing was imported",
                            report=report)
    label = source_label or f"fuel-card import {name} (sha256 {read.sha256[:12]})"
    # register the vehicles the export names
    if not dry_run:
        for unit_id, info in sorted(new_units.items()):
            desc = (info["description"] or "").strip() or None
            data = VehicleIn(unit_id=unit_id, vehicle_class=infer_class(desc),
                             model_year=infer_model_year(desc),
                             fuel_type=infer_fuel(info["products"]), description=desc,
                             department=(info["department"] or "").strip() or None)
            known[unit_id] = service.create_vehicle(
                session=session, actor=actor, jurisdiction_id=jurisdiction_id, data=data,
                source=f"registered from {label}; class and model year read from the "
                       "description")
    existing = {f.source_key: f for f in session.scalars(
        select(FuelTransaction).where(FuelTransaction.jurisdiction_id == jurisdiction_id,
                                      FuelTransaction.source_key.in_(list(seen))))} \
        if len(seen) <= 30_000 else _existing_fuel(session, jurisdiction_id, set(seen))
    added = unchanged = updated = 0
    touched: set[int] = set()
    date_flags = 0
    pending: list[tuple[FuelTransaction, float | None]] = []
    for _number, v in staged:
        flag = _date_flag(v["occurred_at"], v.get("posted_on"))
        date_flags += flag is not None
        fields = {"occurred_at": v["occurred_at"], "product": v["fuel_product"].value,
                  "product_label": (v.get("product_label")
                                    or PRODUCT_LABELS[v["fuel_product"].value])[:100],
                  "gallons": v["gallons"], "quantity": v["quantity"], "unit": v["unit"],
                  "cost_cents": v["cost_cents"], "odometer": v["odometer"], "flag": flag}
        old = existing.get(v["source_key"])
        if old is not None:
            same = all(getattr(old, k) == x for k, x in fields.items()) and \
                old.vehicle_id == getattr(known.get(v["unit_id"]), "id", None)
            if same:
                unchanged += 1
                continue
            updated += 1
            if dry_run:
                continue
            touched.add(old.vehicle_id)
            for k, x in fields.items():
                setattr(old, k, x)
            old.vehicle_id = known[v["unit_id"]].id
            for reading in session.scalars(select(OdometerReading).where(
                    OdometerReading.fuel_transaction_id == old.id)):
                session.delete(reading)
            pending.append((old, v["odometer"]))
        else:
            added += 1
            if dry_run:
                continue
            row = FuelTransaction(jurisdiction_id=jurisdiction_id,
                                  vehicle_id=known[v["unit_id"]].id,
                                  source_key=v["source_key"], source=label, **fields)
            session.add(row)
            pending.append((row, v["odometer"]))
    if pending:
        session.flush()
        for row, odometer in pending:
            touched.add(row.vehicle_id)
            if odometer:
                session.add(OdometerReading(vehicle_id=row.vehicle_id, read_at=row.occurred_at,
                                            miles=odometer,
                                            source=ReadingSource.fuel_card.value,
                                            fuel_transaction_id=row.id))
    flagged = 0
    if not dry_run:
        session.flush()
        region = regions_queries.require_current_region(session=session)
        flagged = service.recheck_odometer(
            session=session, vehicle_ids=sorted(touched),
            params=queries.parameters(session=session, region_id=region.id))
        # every vehicle the file names (and any a corrected line moved away from): their
        # fuel and miles into carbon, each vehicle's periods replaced, never added to
        named = {known[v["unit_id"]].id for _n, v in staged}
        service.record_carbon(session=session, actor=actor,
                              vehicle_ids=sorted(named | touched))
    notes = _column_note(read.unplaced)
    if date_flags:
        notes.append(f"{date_flags} line(s) have a transaction date that does not fit their "
                     "posted date; imported and flagged")
    if flagged:
        notes.append(f"{flagged} odometer reading(s) of the vehicles in this file are flagged "
                     "(backwards or an impossible jump) and left out of every mileage figure")
    summary = ImportSummary(kind="fuel", file_name=name, rows=read.total, added=added,
                            unchanged=unchanged, updated=updated,
                            vehicles_registered=len(new_units), flagged=flagged + date_flags,
                            notes=notes, dry_run=dry_run)
    if not dry_run:
        audit.record(session, actor, action="fleet.import_fuel", entity="jurisdiction",
                     entity_id=jurisdiction_id, jurisdiction_id=jurisdiction_id,
                     after={"file": name, "sha256": read.sha256, "preset": preset,
                            "rows": read.total, "added": added, "updated": updated,
                            "unchanged": unchanged, "registered": len(new_units),
                            "flagged": flagged + date_flags})
    return summary


def _existing_fuel(session: Session, jurisdiction_id: int, keys: set[str]
                   ) -> dict[str, FuelTransaction]:
    return {f.source_key: f for f in session.scalars(
        select(FuelTransaction).where(FuelTransaction.jurisdiction_id == jurisdiction_id))
        if f.source_key in keys}


def _date_flag(occurred: datetime, posted: date | None) -> str | None:
    if posted is None:
        return None
    if occurred.date() > posted:
        return (f"transaction date {occurred.date().isoformat()} is after its posted date "
                f"{posted.isoformat()}: a typo of the year or month?")
    if (posted - occurred.date()).days > 60:
        return (f"transaction date {occurred.date().isoformat()} is "
                f"{(posted - occurred.date()).days:,} days before its posted date "
                f"{posted.isoformat()}: a typo of the year?")
    return None


def import_trips(*, session: Session, actor: Principal, jurisdiction_id: int,
                 source: str | Path | BinaryIO, file_name: str | None = None,
                 fmt: str | None = None, dry_run: bool = False, synthetic: bool = False,
                 source_label: str | None = None) -> ImportSummary:
    """Import a trip or usage log for one member's vehicles: every trip or none."""
    authorize(actor, Action.fleet_manage, jurisdiction_id)
    member = regions_queries.get_jurisdiction(session=session, jurisdiction_id=jurisdiction_id)
    name = file_name or (Path(source).name if isinstance(source, str | Path) else "upload")
    report = t.ErrorReport()
    read = _read(source, name, TRIP_LOG, fmt, report)
    known = queries.units(session=session, jurisdiction_id=jurisdiction_id)
    now = _now_local()
    staged: dict[int, list[tuple[int, datetime, datetime, float]]] = defaultdict(list)
    # a log of date, start_time and end_time: an end before the start is past midnight
    wraps = read.column_of.get("ended_at", "").strip().lower() == "date"
    for number, v in read.rows:
        s, e, miles = v["started_at"], v["ended_at"], v["miles"]
        if wraps and e < s and e.date() == s.date():
            e = e + timedelta(days=1)
        problems = []
        if v["unit_id"] not in known:
            problems.append(("unit_id", v["unit_id"], f"unknown vehicle: unit {v['unit_id']} "
                             f"is not registered for {member.name}"))
        if e <= s:
            problems.append(("ended_at", e.isoformat(" "), "the trip ends before it starts"))
        elif (e - s) > timedelta(hours=MAX_TRIP_HOURS):
            problems.append(("ended_at", e.isoformat(" "),
                             f"a trip longer than {MAX_TRIP_HOURS} hours; split it by day"))
        elif miles / ((e - s).total_seconds() / 3600) > MAX_MPH:
            problems.append(("miles", f"{miles:g}", f"{miles:,.0f} miles in "
                             f"{(e - s).total_seconds() / 60:,.0f} minutes is faster than "
                             f"{MAX_MPH} mph on average"))
        if e > now:
            problems.append(("ended_at", e.isoformat(" "), "the date is in the future"))
        for col, val, reason in problems:
            report.add(t.RowError(number, col, val, reason))
        if not problems:
            staged[known[v["unit_id"]].id].append((number, s, e, miles))
    stored: dict[int, dict[datetime, Trip]] = defaultdict(dict)
    if staged:
        lo = min(s for rows in staged.values() for _n, s, _e, _m in rows) - timedelta(days=1)
        hi = max(e for rows in staged.values() for _n, _s, e, _m in rows)
        for tr in session.scalars(select(Trip).where(Trip.vehicle_id.in_(list(staged)),
                                                     Trip.started_at >= lo,
                                                     Trip.started_at <= hi)):
            stored[tr.vehicle_id][tr.started_at] = tr
    for vid, rows in staged.items():
        by_start: dict[datetime, int] = {}
        events: list[tuple[datetime, datetime, int | None]] = []
        for number, s, e, _m in rows:
            if s in by_start:
                report.add(t.RowError(number, "started_at", s.isoformat(" "),
                                      f"the same trip start as row {by_start[s]}"))
                continue
            by_start[s] = number
            events.append((s, e, number))
        for s, tr in stored[vid].items():
            if s not in by_start:
                events.append((tr.started_at, tr.ended_at, None))
        events.sort(key=lambda x: (x[0], x[1]))
        last: tuple[datetime, datetime, int | None] | None = None
        for ev in events:
            if last is not None and ev[0] < last[1]:
                row = ev[2] if ev[2] is not None else last[2]
                other = last if ev[2] is not None else ev
                where = (f"row {other[2]}" if other[2] is not None else "a trip already "
                         "recorded")
                report.add(t.RowError(row, "started_at", (ev if ev[2] is not None else last)[0]
                                      .isoformat(" "),
                                      f"overlaps another trip of the vehicle "
                                      f"({other[0]:%Y-%m-%d %H:%M} to {other[1]:%H:%M}, "
                                      f"{where})"))
            if last is None or ev[1] > last[1]:
                last = ev
    if report.count:
        raise ImportRefused(f"{report.count:,} problem(s) in {name}; nothing was imported",
                            report=report)
    label = source_label or f"trip log {name} (sha256 {read.sha256[:12]})"
    added = unchanged = updated = 0
    new_rows = []
    for vid, rows in staged.items():
        for _number, s, e, miles in rows:
            old = stored[vid].get(s)
            if old is not None:
                if old.ended_at == e and old.miles == miles:
                    unchanged += 1
                    continue
                updated += 1
                if not dry_run:
                    old.ended_at, old.miles = e, miles
                continue
            added += 1
            new_rows.append({"jurisdiction_id": jurisdiction_id, "vehicle_id": vid,
                             "started_at": s, "ended_at": e, "miles": miles,
                             "synthetic": synthetic, "source": label})
    if not dry_run:
        if new_rows:
            session.execute(insert(Trip), new_rows)
        session.flush()
        service.record_carbon(session=session, actor=actor, vehicle_ids=sorted(staged))
        audit.record(session, actor, action="fleet.import_trips", entity="jurisdiction",
                     entity_id=jurisdiction_id, jurisdiction_id=jurisdiction_id,
                     after={"file": name, "sha256": read.sha256, "rows": read.total,
                            "added": added, "updated": updated, "unchanged": unchanged,
                            "synthetic": synthetic})
    return ImportSummary(kind="trips", file_name=name, rows=read.total, added=added,
                         unchanged=unchanged, updated=updated, vehicles_registered=0,
                         flagged=0, notes=_column_note(read.unplaced), dry_run=dry_run)


def write_report(exc: t.Refused, out: IO[str]) -> int:
    return exc.report.write_csv(out)


__all__ = ["FUEL_PRESETS", "TRIP_PRESETS", "ImportRefused", "Vehicle", "import_fuel",
           "import_trips", "infer_class", "infer_model_year", "write_report"]
