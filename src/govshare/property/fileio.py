"""Asset files in and out: streaming readers (CSV, XLSX, GeoJSON), column presets, row
validation, and exporters. Pure: no database, no clock; the importer (``imports``) drives it.

Reading
-------
Every reader yields rows one at a time, so a file larger than memory streams through:

- CSV must be UTF-8 (a byte-order mark is fine). UTF-16/32 files and bytes that are not UTF-8
  are *refused*, never guessed: a wrong guess (Latin-1 for Windows-1252, say) silently
  corrupts names, and the user can re-save as "CSV UTF-8" in one step. An undecodable row is
  reported with its row number and column, the bad bytes shown as ``\\xNN``.
- XLSX is read with openpyxl in read-only mode (rows stream from the zip), first sheet or the
  sheet named ``assets``; cached values of formulas are read, never the formulas.
- GeoJSON must be a FeatureCollection; features are decoded one by one from the stream (no
  third-party streaming parser needed). Location comes only from a ``Point`` geometry (or a
  null geometry for an asset without one); any other geometry type is a row error, and a
  building footprint goes in the ``footprint_geojson`` property instead. Columns are the
  first feature's properties; a later feature with a property the first lacks is a row error.

Row numbers are the ones the user sees: in CSV and XLSX the header is row 1 and the first data
row is row 2 (a quoted multi-line cell is one row, a blank line is a row); in GeoJSON the
"row" is the feature's position in ``features``, counting from 1.

Presets and validation
----------------------
A :class:`Preset` maps a file's column names (case and spacing ignored, several accepted names
per field) to :class:`~govshare.property.schemas.AssetIn` fields, with converters for the
preset's units (FRPP dollars -> integer cents, Seattle's ``1,234.5`` numbers) and derived
fields (Seattle's ``use`` from its property types). Columns named exactly like an ``AssetIn``
field are understood by every preset. The checks are compiled from ``AssetIn``'s own field
constraints (types, bounds, lengths, patterns, enumerations), so the two cannot drift; a test
runs both on the same rows. They run ~10x faster than building an ``AssetIn`` per row, which is
what lets an import keep up with the database's own bulk load (``bench/bench_import.py``).

An import sets only the fields its columns give. An empty cell clears a nullable field; in a
field with a default (kind, ownership, status, public_groups, synthetic_fields) an empty cell
means "not given": the default for a new asset, unchanged for an existing one. ``none`` in a
list column is the empty list (``public_groups = none`` makes an asset private).

Spreadsheet formula injection
-----------------------------
Text that starts with ``= + - @``, tab or carriage return is *accepted and stored as text* (it
is a legitimate name, e.g. ``-Annex``, far more often than an attack). It is neutralised where
it could run: CSV and XLSX exports prefix such cells with an apostrophe (OWASP's advice). The
importer strips exactly that prefix again, so export -> import round-trips exactly; a value
that itself starts with an apostrophe before such a character is escaped with one more.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import math
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from enum import Enum
from types import UnionType
from typing import IO, Any, BinaryIO, Union, get_args, get_origin

import annotated_types
import shapely
from shapely.geometry import shape

from govshare.property.models import AssetKind, AssetStatus, AssetUse, Ownership
from govshare.property.schemas import DEFAULT_PUBLIC_GROUPS, FIELD_GROUPS, PM_TYPES, AssetIn

FORMATS = ("csv", "xlsx", "geojson")
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "geojson": "application/geo+json",
}
FIELDS: tuple[str, ...] = tuple(AssetIn.model_fields)
GEOMETRY = "geometry"  # the virtual column of a GeoJSON feature's Point
JURISDICTION_COLUMN = "jurisdiction"
EXPORT_COLUMNS: tuple[str, ...] = (JURISDICTION_COLUMN, *FIELDS)
# Fields where an empty cell means "not given" rather than "no value".
DEFAULTED = frozenset({"kind", "ownership", "status", "public_groups", "synthetic_fields"})
NEW_DEFAULTS: dict[str, Any] = {
    name: (list(DEFAULT_PUBLIC_GROUPS) if name == "public_groups" else
           [] if name == "synthetic_fields" else
           f.default.value if isinstance(f.default, Enum) else
           None if f.is_required() else f.default)
    for name, f in AssetIn.model_fields.items()
}
MAX_CELL = 10_000  # characters shown of a bad value in a report


# ------------------------------------------------------------------------------- problems


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem: the row as the user sees it (None: the whole file), the column, the
    offending value as text, and the reason in words."""

    row: int | None
    column: str
    value: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        loc: list[Any] = [f"row {self.row}"] if self.row is not None else ["file"]
        if self.column:
            loc.append(self.column)
        return {"row": self.row, "column": self.column, "value": self.value,
                "reason": self.reason, "loc": loc}


class CellError(ValueError):
    """Raised by a converter; the caller adds row, column and value."""


class FileRefused(Exception):
    """The file cannot be read at all (wrong format, encoding, empty)."""

    def __init__(self, reason: str, *, row: int | None = None, column: str = "",
                 value: str = "") -> None:
        super().__init__(reason)
        self.error = RowError(row, column, value, reason)


def shown(value: Any) -> str:
    """A cell as text for a report, bad bytes visible as \\xNN, cut to MAX_CELL."""
    if value is None:
        return ""
    if isinstance(value, tuple):
        return ", ".join(shown(v) for v in value)
    text = value if isinstance(value, str) else str(value)
    if any("\udc80" <= ch <= "\udcff" for ch in text):
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return text if len(text) <= MAX_CELL else text[:MAX_CELL] + "…"


# ------------------------------------------------------------------- formula neutralisation

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def _needs_escape(text: str) -> bool:
    while text.startswith("'"):
        text = text[1:]
    return text.startswith(FORMULA_TRIGGERS)


def neutralise(text: str) -> str:
    """The cell as written to CSV/XLSX: an apostrophe before a formula-like start."""
    if text and (text[0] in "=+-@\t\r" or (text[0] == "'" and _needs_escape(text))):
        return "'" + text
    return text


def unneutralise(text: str) -> str:
    """Inverse of :func:`neutralise` (applied to every text cell read)."""
    if text.startswith("'") and _needs_escape(text[1:]):
        return text[1:]
    return text


# ------------------------------------------------------------------------------ converters

Converter = Callable[[str], Any]
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")


def _number_text(text: str) -> str:
    text = text.strip()
    if "," in text:
        if not _THOUSANDS.fullmatch(text):
            raise CellError("is not a number (use a point for decimals; commas only "
                            "between thousands)")
        text = text.replace(",", "")
    return text


def _bounds(metadata: Sequence[Any]) -> tuple[float | None, float | None]:
    lo = hi = None
    for m in metadata:
        if isinstance(m, annotated_types.Ge):
            lo = m.ge  # type: ignore[assignment]
        elif isinstance(m, annotated_types.Le):
            hi = m.le  # type: ignore[assignment]
    return lo, hi


def _range_reason(lo: float | None, hi: float | None) -> str:
    if lo is not None and hi is not None:
        return f"must be between {lo:,} and {hi:,}"
    return f"must be at least {lo:,}" if lo is not None else f"must be at most {hi:,}"


def float_converter(lo: float | None, hi: float | None) -> Converter:
    def conv(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            try:
                value = float(_number_text(text))
            except ValueError:
                raise CellError("is not a number") from None
        if value != value or value in (math.inf, -math.inf):
            raise CellError("is not a finite number")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise CellError(_range_reason(lo, hi))
        return value
    return conv


def int_converter(lo: float | None, hi: float | None) -> Converter:
    def conv(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            try:
                number = float(_number_text(text))
            except ValueError:
                raise CellError("is not a whole number") from None
            if not number.is_integer():
                raise CellError("is not a whole number") from None
            value = int(number)
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise CellError(_range_reason(lo, hi))
        return value
    return conv


def _key(text: str) -> str:
    return re.sub(r"[\s\-/]+", "_", text.strip().casefold())


def enum_converter(enum: type[Enum], labels: Mapping[str, str] | None = None,
                   aliases: Mapping[str, str] | None = None) -> Converter:
    """Accepts the value, its label, or an alias; case, spaces and hyphens ignored."""
    table: dict[str, str] = {}
    for member in enum:
        table[_key(member.value)] = member.value
    for value, label in (labels or {}).items():
        table.setdefault(_key(label), value)
    for alias, value in (aliases or {}).items():
        table[_key(alias)] = value
    known = ", ".join(m.value for m in enum)

    def conv(text: str) -> str:
        found = table.get(_key(text))
        if found is None:
            raise CellError(f"is not one of: {known}")
        return found
    return conv


def str_converter(max_len: int | None, pattern: str | None) -> Converter:
    regex = re.compile(pattern) if pattern else None

    def conv(text: str) -> str:
        value = unneutralise(text.strip())
        if max_len is not None and len(value) > max_len:
            raise CellError(f"is longer than {max_len} characters")
        if regex is not None and not regex.match(value):
            raise CellError(f"does not match the pattern {pattern}")
        return value
    return conv


def zip_converter(text: str) -> str:
    """5-digit ZIP or ZIP+4; 9 bare digits become ZIP+4, and 3-4 digits get back the
    leading zeros a spreadsheet drops (New England ZIPs)."""
    value = text.strip()
    if value.endswith(".0") and value[:-2].isdigit():
        value = value[:-2]
    if value.isdigit():
        if len(value) == 9:
            value = value[:5] + "-" + value[5:]
        elif 3 <= len(value) <= 4:
            value = value.zfill(5)
    if not re.fullmatch(r"\d{5}(-\d{4})?", value):
        raise CellError("is not a ZIP code (5 digits, or ZIP+4 like 98104-1234)")
    return value


def _split_list(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"[;,|]", text) if p.strip()]


def groups_converter(text: str) -> list[str]:
    if _key(text) == "none":
        return []
    groups = [_key(g) for g in _split_list(text)]
    unknown = sorted(set(groups) - set(FIELD_GROUPS))
    if unknown:
        raise CellError(f"unknown field group(s) {', '.join(unknown)}; known: "
                        f"{', '.join(FIELD_GROUPS)} (or none)")
    chosen = set(groups) | ({"identity"} if groups else set())
    return [g for g in FIELD_GROUPS if g in chosen]


def synthetic_converter(text: str) -> list[str]:
    if _key(text) == "none":
        return []
    names = set(_split_list(text))
    unknown = sorted(names - set(FIELDS))
    if unknown:
        raise CellError(f"unknown field(s) {', '.join(unknown)}")
    return [f for f in FIELDS if f in names]


def footprint_converter(text: str) -> str:
    """A GeoJSON Polygon or MultiPolygon (lon/lat), valid by OGC rules; stored compact."""
    try:
        geom = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CellError(f"is not GeoJSON ({exc.msg})") from None
    if not isinstance(geom, dict) or geom.get("type") not in ("Polygon", "MultiPolygon"):
        raise CellError("must be a GeoJSON Polygon or MultiPolygon geometry")
    try:
        polygon = shape(geom)
    except Exception as exc:  # noqa: BLE001 - shapely raises several types on bad input
        raise CellError(f"is not a valid polygon ({exc})") from None
    if polygon.is_empty:
        raise CellError("is an empty polygon")
    if not polygon.is_valid:
        raise CellError(f"is not a valid polygon: {shapely.is_valid_reason(polygon)}")
    minx, miny, maxx, maxy = polygon.bounds
    if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        raise CellError("has coordinates outside longitude -180..180 / latitude -90..90")
    return json.dumps(geom, separators=(",", ":"))


def dollars_converter(lo: float | None, hi: float | None) -> Converter:
    """Dollars (``$1,234.56``, ``(12.00)`` negative) -> integer cents, rounded half up."""
    def conv(text: str) -> int:
        raw = text.strip().replace("$", "").replace(" ", "")
        negative = raw.startswith("(") and raw.endswith(")")
        raw = raw.strip("()")
        try:
            amount = Decimal(_number_text(raw))
        except (InvalidOperation, CellError):
            raise CellError("is not a dollar amount") from None
        if not amount.is_finite():
            raise CellError("is not a dollar amount")
        cents = int((amount * 100).to_integral_value(rounding="ROUND_HALF_UP"))
        cents = -cents if negative else cents
        if (lo is not None and cents < lo) or (hi is not None and cents > hi):
            raise CellError(_range_reason(None if lo is None else lo / 100,
                                          None if hi is None else hi / 100) + " dollars")
        return cents
    return conv


def year_converter(lo: float | None, hi: float | None) -> Converter:
    """A year, or a date (ISO ``1970-05-01`` or US ``05/01/1970``) whose year is taken."""
    as_int = int_converter(lo, hi)

    def conv(text: str) -> int:
        value = text.strip()
        m = (re.fullmatch(r"(\d{4})-\d{1,2}-\d{1,2}(?:[T ].*)?", value)
             or re.fullmatch(r"\d{1,2}/\d{1,2}/(\d{4})", value))
        return as_int(m.group(1) if m else value)
    return conv


def _unwrap(annotation: Any) -> Any:
    origin = get_origin(annotation)
    if origin in (Union, UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return annotation


def field_converter(name: str) -> Converter:
    """The converter of an ``AssetIn`` field, compiled from the field's own constraints."""
    if name == "zip":
        return zip_converter
    if name == "public_groups":
        return groups_converter
    if name == "synthetic_fields":
        return synthetic_converter
    if name == "footprint_geojson":
        return footprint_converter
    info = AssetIn.model_fields[name]
    kind = _unwrap(info.annotation)
    lo, hi = _bounds(info.metadata)
    if isinstance(kind, type) and issubclass(kind, Enum):
        from govshare.property.schemas import STATUS_LABELS, USE_LABELS  # noqa: PLC0415
        labels = {AssetUse: USE_LABELS, AssetStatus: STATUS_LABELS}.get(kind)  # type: ignore[call-overload]
        return enum_converter(kind, labels)
    if kind is float:
        return float_converter(lo, hi)
    if kind is int:
        return year_converter(lo, hi) if name == "year_built" else int_converter(lo, hi)
    if kind is str:
        max_len = next((m.max_length for m in info.metadata
                        if isinstance(m, annotated_types.MaxLen)), None)
        pattern = next((getattr(m, "pattern", None) for m in info.metadata
                        if getattr(m, "pattern", None)), None)
        return str_converter(max_len, pattern)
    raise TypeError(f"no converter for AssetIn.{name}: {info.annotation!r}")


CONVERTERS: dict[str, Converter] = {name: field_converter(name) for name in FIELDS}
REQUIRED_FIELDS = tuple(n for n, f in AssetIn.model_fields.items() if f.is_required())


def check_rules(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``AssetIn``'s cross-field rules on a complete asset: (field, reason) per failure."""
    problems = []
    if (values.get("lon") is None) != (values.get("lat") is None):
        problems.append(("lat", "give both longitude and latitude, or neither"))
    ownership = values.get("ownership")
    if ownership == Ownership.leased.value and values.get("annual_lease_cost_cents") is None:
        problems.append(("annual_lease_cost_cents", "a leased asset needs its annual lease cost"))
    if ownership == Ownership.owned.value and values.get("annual_lease_cost_cents"):
        problems.append(("annual_lease_cost_cents", "an owned asset has no lease cost"))
    return problems


def default_pm_type(values: dict[str, Any]) -> None:
    if values.get("pm_property_type") is None and values.get("use"):
        values["pm_property_type"] = PM_TYPES.get(AssetUse(values["use"]))


# --------------------------------------------------------------------------------- presets


@dataclass(frozen=True)
class Derived:
    """A field computed from one or more columns (e.g. Seattle's use from its types)."""

    field: str
    sources: tuple[str, ...]  # header names, in order; absent ones read as ""
    compute: Callable[[Sequence[str]], Any]  # raises CellError
    key_sources: int = 1  # the derivation applies when one of the first N is present


@dataclass(frozen=True)
class Preset:
    name: str
    label: str
    description: str
    columns: Mapping[str, tuple[str, ...]]  # field -> accepted header names
    required: tuple[str, ...] = ("asset_code", "name", "use")  # fields that need a column
    converters: Mapping[str, Converter] = field(default_factory=dict)
    derived: tuple[Derived, ...] = ()
    jurisdiction_columns: tuple[str, ...] = ()

    def column_map(self) -> list[tuple[str, str]]:
        """(field, file column) pairs, for the docs and the upload page."""
        out = [(f, " | ".join(names)) for f, names in self.columns.items()]
        out += [(d.field, " + ".join(d.sources) + " (derived)") for d in self.derived]
        return out


# Seattle benchmarking: LargestPropertyUseType (Portfolio Manager types), then
# PrimaryPropertyType, then keywords of the property name where the types say little.
SEATTLE_USE_TYPES: dict[str, str] = {
    "office": "office", "medical office": "office", "financial office": "office",
    "large office": "office", "small- and mid-sized office": "office",
    "k-12 school": "school", "library": "library", "fire station": "fire_station",
    "police station": "police_station", "courthouse": "courthouse",
    "non-refrigerated warehouse": "warehouse", "refrigerated warehouse": "warehouse",
    "distribution center": "warehouse", "self-storage facility": "warehouse",
    "warehouse": "warehouse",
    "repair services (vehicle, shoe, locksmith, etc)": "garage_maintenance",
    "repair services (vehicle, shoe, locksmith, etc.)": "garage_maintenance",
    "other - recreation": "community_center", "fitness center/health club/gym":
    "community_center", "social/meeting hall": "community_center",
    "swimming pool": "community_center", "senior care community": "community_center",
    "parking": "other",
}
SEATTLE_NAME_KEYWORDS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bfire station\b", re.I), "fire_station"),
    (re.compile(r"\bprecinct\b", re.I), "police_station"),
    (re.compile(r"\bcourthouse\b", re.I), "courthouse"),
    (re.compile(r"\bmaintenance\b|\btransit\b.*\bbases?\b", re.I), "garage_maintenance"),
    (re.compile(r"\bcommunity cent(er|re)\b|\bpool\b", re.I), "community_center"),
    (re.compile(r"\blibrary\b", re.I), "library"),
)


def seattle_use(cells: Sequence[str]) -> str:
    """AssetUse of a Seattle benchmarking row from (LargestPropertyUseType,
    PrimaryPropertyType, PropertyName). The self-reported types are trusted first; where they
    give no specific use ("Other", or an implausible one such as three new fire stations
    filed as "Prison/Incarceration") a keyword of the name decides; else ``other``."""
    largest, primary, name = (c.strip() for c in cells)
    if not largest and not primary:
        raise CellError("needs LargestPropertyUseType or PrimaryPropertyType")
    use = SEATTLE_USE_TYPES.get(largest.casefold()) or SEATTLE_USE_TYPES.get(primary.casefold())
    if use is None or use == "other":
        for pattern, keyword_use in SEATTLE_NAME_KEYWORDS:
            if pattern.search(name):
                return keyword_use
    return use or "other"


FRPP_USES: dict[str, str] = {
    "office": "office", "office building locations": "office", "school": "school",
    "warehouses": "warehouse", "warehouse": "warehouse", "service": "garage_maintenance",
    "parks and historic sites": "park", "recreational": "park", "vacant": "vacant_land",
    "library": "library", "courthouse": "courthouse", "fire station": "fire_station",
    "police station": "police_station",
}
FRPP_STATUS = {"active": "in_use", "inactive": "vacant", "excess": "surplus",
               "disposed": "disposed", "report of excess accepted": "disposal_in_progress"}


def frpp_use(cells: Sequence[str]) -> str:
    """FRPP's Real Property Use has more categories than ours; the rest are ``other``."""
    text = cells[0].strip()
    if not text:
        raise CellError("a value is required")
    return FRPP_USES.get(text.casefold()) or _our_use(text) or "other"


def _our_use(text: str) -> str | None:
    try:
        return CONVERTERS["use"](text)  # type: ignore[no-any-return]
    except CellError:
        return None


def frpp_status(cells: Sequence[str]) -> Any:
    """Asset Status (Active/Inactive/Excess/Disposed) refined by Utilization: an active asset
    reported Underutilized is under_used, Not Utilized is vacant."""
    status, utilization = (c.strip().casefold() for c in cells)
    if not status:
        return MISSING
    mapped = FRPP_STATUS.get(status)
    if mapped is None:
        try:
            mapped = CONVERTERS["status"](status)
        except CellError:
            raise CellError("is not an FRPP asset status (Active, Inactive, Excess, "
                            "Disposed)") from None
    if mapped == "in_use" and utilization in ("underutilized", "under utilized"):
        return "under_used"
    if mapped == "in_use" and utilization in ("not utilized", "unutilized"):
        return "vacant"
    return mapped


def _lo_hi(name: str) -> tuple[float | None, float | None]:
    return _bounds(AssetIn.model_fields[name].metadata)


GOVSHARE = Preset(
    name="govshare", label="govshare export",
    description="The columns of govshare's own export (field names, money in integer cents); "
                "export -> import round-trips exactly.",
    columns={f: (f,) for f in FIELDS},
    jurisdiction_columns=(JURISDICTION_COLUMN,),
)

FRPP = Preset(
    name="frpp", label="FRPP-style (Federal Real Property Profile)",
    description="Column names of the federal FRPP public data set; money in dollars. "
                "Real Property Use categories we do not have become 'other'; Asset Status "
                "plus Utilization give the status.",
    columns={
        "asset_code": ("Real Property Unique Identifier", "RPUID"),
        "name": ("Real Property Name", "Real Property Asset Name", "Asset Name"),
        "kind": ("Real Property Type",),
        "ownership": ("Legal Interest", "Legal Interest Indicator"),
        "address": ("Street Address",),
        "city": ("City",),
        "zip": ("Zip Code",),
        "lat": ("Latitude",),
        "lon": ("Longitude",),
        "gross_floor_area_ft2": ("Square Feet (Buildings)", "Square Feet", "Gross Square Feet"),
        "land_area_acres": ("Acres", "Acres (Land)"),
        "year_built": ("Year Built", "Construction Date", "Year of Construction"),
        "annual_om_cost_cents": ("Annual Operating Costs",
                                 "Annual Operating and Maintenance Costs"),
        "annual_lease_cost_cents": ("Lease Annual Rent", "Lease Annual Rent to Lessor",
                                    "Annual Rent to Lessor"),
        "repair_needs_cents": ("Repair Needs",),
        "replacement_value_cents": ("Replacement Value",),
    },
    converters={
        **{f: dollars_converter(*_lo_hi(f)) for f in (
            "annual_om_cost_cents", "annual_lease_cost_cents", "repair_needs_cents",
            "replacement_value_cents")},
        "kind": enum_converter(AssetKind),
        "ownership": enum_converter(Ownership, aliases={"owned": "owned", "leased": "leased",
                                                        "lease": "leased"}),
    },
    derived=(
        Derived("use", ("Real Property Use",), frpp_use),
        Derived("status", ("Asset Status", "Utilization"), frpp_status),
    ),
)

SEATTLE = Preset(
    name="seattle-benchmarking", label="Seattle building energy benchmarking",
    description="City of Seattle benchmarking columns (data.seattle.gov). Use from "
                "LargestPropertyUseType / PrimaryPropertyType / PropertyName; energy in kWh, "
                "therms and kBtu; DataYear is the energy year.",
    columns={
        "asset_code": ("OSEBuildingID",),
        "name": ("PropertyName",),
        "pm_property_type": ("LargestPropertyUseType",),
        "address": ("Address",),
        "city": ("City",),
        "zip": ("ZipCode",),
        "lat": ("Latitude",),
        "lon": ("Longitude",),
        "year_built": ("YearBuilt",),
        "gross_floor_area_ft2": ("PropertyGFATotal",),
        "energy_year": ("DataYear",),
        "electricity_kwh": ("Electricity(kWh)",),
        "natural_gas_therms": ("NaturalGas(therms)",),
        "district_steam_kbtu": ("SteamUse(kBtu)",),
    },
    derived=(Derived("use", ("LargestPropertyUseType", "PrimaryPropertyType", "PropertyName"),
                     seattle_use, key_sources=2),),
)

PRESETS: dict[str, Preset] = {p.name: p for p in (GOVSHARE, FRPP, SEATTLE)}


# ------------------------------------------------------------------------------------ plan


class _Missing:
    """An empty cell in a field with a default: 'not given'."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def header_key(text: str) -> str:
    return " ".join(str(text).replace("\ufeff", "").split()).casefold()


@dataclass
class Plan:
    """How one file's columns become asset fields; built once per file from its header."""

    columns: list[str]
    cells: list[tuple[int, str, Converter, str]]  # (index, field, converter, column)
    derived: list[tuple[list[int], str, Callable[[Sequence[str]], Any], str]]
    covered: frozenset[str]
    column_of: dict[str, str]
    ignored: list[str]
    jurisdiction_index: int | None = None
    point_index: int | None = None  # GeoJSON geometry column
    header_errors: list[RowError] = field(default_factory=list)

    def validate(self, number: int, cells: Sequence[Any]) -> tuple[dict[str, Any],
                                                                    list[RowError]]:
        """Given values of one row (``MISSING`` where a defaulted field is empty)."""
        given: dict[str, Any] = {}
        errors: list[RowError] = []
        for idx, name, conv, column in self.cells:
            text = cells[idx]
            if not text or (text[0] in " \t" and not text.strip()):
                if name in DEFAULTED:
                    given[name] = MISSING
                elif name in REQUIRED_FIELDS:
                    errors.append(RowError(number, column, "", "a value is required"))
                else:
                    given[name] = None
                continue
            try:
                given[name] = conv(text)
            except CellError as exc:
                errors.append(RowError(number, column, shown(text), str(exc)))
        for idxs, name, compute, column in self.derived:
            values = [cells[i] if i >= 0 else "" for i in idxs]
            try:
                given[name] = compute(values)
            except CellError as exc:
                errors.append(RowError(number, column, shown(values[0]), str(exc)))
        if self.point_index is not None:
            point = cells[self.point_index]
            given["lon"], given["lat"] = point if point else (None, None)
        return given, errors


def make_plan(columns: Sequence[str], preset: Preset, fmt: str) -> Plan:
    keys = [header_key(c) for c in columns]
    where: dict[str, int] = {}
    for i, k in enumerate(keys):
        if k:
            where.setdefault(k, i)
    used: dict[int, str] = {}
    source: dict[str, int] = {}
    errors: list[RowError] = []
    geo = fmt == "geojson"
    for name in FIELDS:
        names = preset.columns.get(name, ())
        found = [where[header_key(n)] for n in names if header_key(n) in where]
        native = where.get(header_key(name))
        if native is not None and native not in found:
            found.append(native)
        found = list(dict.fromkeys(found))
        if geo and name in ("lon", "lat"):
            continue
        if len(found) > 1:
            errors.append(RowError(1, columns[found[1]], "", f"columns "
                                   f"{' and '.join(repr(columns[i]) for i in found)} both "
                                   f"give {name}; keep one"))
        if found:
            source[name] = found[0]
            used[found[0]] = name
    derived = []
    for d in preset.derived:
        idxs = [where.get(header_key(s), -1) for s in d.sources]
        if d.field in source:
            continue  # a native column (e.g. `use`) wins over the derivation
        if not any(i >= 0 for i in idxs[:d.key_sources]):
            continue
        for i in idxs:
            if i >= 0:
                used.setdefault(i, d.field)
        first = next(i for i in idxs if i >= 0)
        derived.append((idxs, d.field, d.compute, columns[first]))
    covered = set(source) | {d[1] for d in derived}
    for name in preset.required:
        if name not in covered:
            accepted = preset.columns.get(name, ()) or next(
                (d.sources[:d.key_sources] for d in preset.derived if d.field == name), ())
            names = list(dict.fromkeys([*accepted, name]))
            errors.append(RowError(1, names[0], "", "required column is missing (accepted "
                                   f"names: {', '.join(names)})"))
    jurisdiction_index = next((where[header_key(c)] for c in preset.jurisdiction_columns
                               if header_key(c) in where), None)
    if jurisdiction_index is not None:
        used[jurisdiction_index] = JURISDICTION_COLUMN
    point_index = None
    if geo and GEOMETRY in where:
        point_index = where[GEOMETRY]
        used[point_index] = "lon, lat"
        covered |= {"lon", "lat"}
    cells = [(i, name, preset.converters.get(name, CONVERTERS[name]), columns[i])
             for name, i in source.items()]
    column_of = {name: columns[i] for name, i in source.items()}
    column_of.update({d[1]: d[3] for d in derived})
    if point_index is not None:
        column_of["lon"] = column_of["lat"] = GEOMETRY
    ignored = [c for i, c in enumerate(columns) if i not in used and str(c).strip()]
    return Plan(columns=list(columns), cells=cells, derived=derived,
                covered=frozenset(covered), column_of=column_of, ignored=ignored,
                jurisdiction_index=jurisdiction_index, point_index=point_index,
                header_errors=errors)


# --------------------------------------------------------------------------------- readers

RawRow = tuple[int, list[Any], list[RowError]]


class Counted(io.RawIOBase):
    """A read-only view of a binary stream that counts the bytes read (for progress)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.stream.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.count += n
        return n


@dataclass
class Table:
    fmt: str
    columns: list[str]
    rows: Iterator[RawRow]
    counter: Counted | None = None  # bytes read so far (CSV, GeoJSON), for progress

    @property
    def bytes_read(self) -> int | None:
        return self.counter.count if self.counter is not None else None


def detect_format(filename: str | None, head: bytes) -> str:
    """By content first (a ZIP is XLSX, a leading ``{`` is JSON), else by extension."""
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"{"):
        return "geojson"
    suffix = (filename or "").rsplit(".", 1)[-1].casefold() if "." in (filename or "") else ""
    if suffix in ("xlsx", "xlsm"):
        return "xlsx"
    if suffix in ("geojson", "json"):
        return "geojson"
    return "csv"


def open_table(stream: BinaryIO, fmt: str) -> Table:
    """The file's columns and a lazy iterator of its rows. XLSX needs a seekable stream."""
    if fmt == "xlsx":
        return _xlsx_table(stream)
    if fmt not in FORMATS:
        raise FileRefused(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    counter = Counted(stream)
    buffered = io.BufferedReader(counter, 1 << 16)
    table = _csv_table(buffered) if fmt == "csv" else _geojson_table(buffered)
    table.counter = counter
    return table


def _check_text_head(head: bytes) -> None:
    if not head.strip(b"\xef\xbb\xbf \t\r\n"):
        raise FileRefused("the file is empty")
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise FileRefused("the file is UTF-32 text; save it as UTF-8 (\"CSV UTF-8\")")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise FileRefused("the file is UTF-16 text; save it as UTF-8 (\"CSV UTF-8\")")
    if b"\x00" in head:
        raise FileRefused("the file contains NUL bytes: it is UTF-16 text without a "
                          "byte-order mark, or not a text file; save it as UTF-8 CSV")
    if head.startswith(b"PK\x03\x04"):
        raise FileRefused("the file is a ZIP archive (an XLSX workbook?), not CSV text")


def _lines(stream: IO[bytes], bad: list[str]) -> Iterator[str]:
    """Decoded lines; a line that is not UTF-8 decodes with surrogate escapes and notes why."""
    first = True
    for raw in stream:
        if first:
            raw = raw.removeprefix(codecs.BOM_UTF8)
            first = False
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            byte = raw[exc.start]
            bad.append(f"invalid UTF-8 byte 0x{byte:02X}; the file is not UTF-8 (it looks "
                       "like Latin-1 or Windows-1252): save it as UTF-8 (\"CSV UTF-8\")")
            yield raw.decode("utf-8", "surrogateescape")


def _csv_table(buffered: io.BufferedReader) -> Table:
    _check_text_head(buffered.peek(4096)[:4096])
    bad: list[str] = []
    reader = csv.reader(_lines(buffered, bad), strict=False)
    try:
        header = next(reader)
    except csv.Error as exc:
        raise FileRefused(f"the header row is not CSV ({exc})", row=1) from None
    except StopIteration:
        raise FileRefused("the file is empty") from None
    if bad:
        raise FileRefused(bad[0], row=1, value=shown(",".join(header)))
    columns = [c.strip() for c in header]
    _check_header(columns)
    width = len(columns)

    def rows() -> Iterator[RawRow]:
        number = 1
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                number += 1
                yield number, [""] * width, [RowError(number, "", "", f"not CSV ({exc})")]
                continue
            number += 1
            problems: list[RowError] = []
            if bad:
                col = next((columns[i] if i < width else f"column {i + 1}"
                            for i, c in enumerate(cells)
                            if any("\udc80" <= ch <= "\udcff" for ch in c)), "")
                value = next((c for c in cells if any("\udc80" <= ch <= "\udcff" for ch in c)),
                             "")
                problems.append(RowError(number, col, shown(value), bad[0]))
                bad.clear()
            if len(cells) != width:
                if not cells:
                    continue  # a blank line: counted, not a row
                if len(cells) < width:
                    cells += [""] * (width - len(cells))
                elif any(c.strip() for c in cells[width:]):
                    problems.append(RowError(number, f"column {width + 1}", shown(cells[width]),
                                             f"the row has {len(cells)} cells but the header "
                                             f"has {width} columns"))
                    cells = cells[:width]
                else:
                    cells = cells[:width]
            yield number, cells, problems

    return Table("csv", columns, rows())


def _check_header(columns: list[str]) -> None:
    seen: dict[str, int] = {}
    for i, c in enumerate(columns):
        k = header_key(c)
        if not k:
            continue
        if k in seen:
            raise FileRefused(f"column {c!r} appears twice (columns {seen[k] + 1} and {i + 1})",
                              row=1, column=c)
        seen[k] = i


def xlsx_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


def _xlsx_table(stream: BinaryIO) -> Table:
    import openpyxl  # noqa: PLC0415 - only XLSX needs it (heavy import)
    from openpyxl.utils.exceptions import InvalidFileException  # noqa: PLC0415

    head = stream.read(4)
    stream.seek(0)
    if not head:
        raise FileRefused("the file is empty")
    if head != b"PK\x03\x04":
        raise FileRefused("the file is not an XLSX workbook (not a ZIP archive); save it from "
                          "the spreadsheet as .xlsx, or upload CSV")
    try:
        book = openpyxl.load_workbook(stream, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise FileRefused(f"the file is not a readable XLSX workbook ({exc})") from None
    sheet = book["assets"] if "assets" in book.sheetnames else book.worksheets[0]
    it = sheet.iter_rows(min_row=1, values_only=True)
    try:
        header = next(it)
    except StopIteration:
        raise FileRefused("the workbook's first sheet is empty") from None
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise FileRefused(f"the workbook is damaged ({exc})") from None
    columns = [xlsx_cell(v).strip() for v in header]
    while columns and not columns[-1]:
        columns.pop()
    if not columns:
        raise FileRefused("the first row of the sheet is empty: put the column names there",
                          row=1)
    _check_header(columns)
    width = len(columns)

    def rows() -> Iterator[RawRow]:
        number = 1
        try:
            for values in it:
                number += 1
                cells = [xlsx_cell(v) for v in values[:width]]
                if len(cells) < width:
                    cells += [""] * (width - len(cells))
                problems = []
                extra = [v for v in values[width:] if v not in (None, "")]
                if extra:
                    problems.append(RowError(number, f"column {width + 1}", shown(extra[0]),
                                             "a value in a column without a header"))
                if not any(cells) and not problems:
                    continue
                yield number, cells, problems
        finally:
            book.close()

    return Table("xlsx", columns, rows())


# --------------------------------------------------------------------------- GeoJSON stream


class _JsonStream:
    """Just enough of an incremental JSON reader to walk a FeatureCollection's ``features``
    array one element at a time, whatever the file's size."""

    CHUNK = 1 << 16
    _ws = re.compile(r"[ \t\r\n]*")

    def __init__(self, text: IO[str]) -> None:
        self.text = text
        self.buf = ""
        self.pos = 0
        self.eof = False
        self.decoder = json.JSONDecoder()

    def _more(self, need: int = CHUNK) -> bool:
        if self.eof:
            return False
        chunk = self.text.read(max(need, self.CHUNK))
        if not chunk:
            self.eof = True
            return False
        self.buf = self.buf[self.pos:] + chunk
        self.pos = 0
        return True

    def peek(self) -> str:
        while True:
            m = self._ws.match(self.buf, self.pos)
            self.pos = m.end() if m else self.pos
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._more():
                return ""

    def expect(self, ch: str) -> None:
        got = self.peek()
        if got != ch:
            raise FileRefused(f"the file is not valid GeoJSON: expected {ch!r}, found "
                              f"{got or 'the end of the file'!r}")
        self.pos += 1

    def value(self) -> Any:
        self.peek()
        need = self.CHUNK
        while True:
            try:
                obj, end = self.decoder.raw_decode(self.buf, self.pos)
                # A number at the very end of the buffer may continue in the next chunk.
                if end >= len(self.buf) and not self.eof and self._more(need):
                    continue
                self.pos = end
                return obj
            except json.JSONDecodeError as exc:
                if self._more(need):
                    need *= 2
                    continue
                raise FileRefused(f"the file is not valid JSON ({exc.msg})") from None


def _geojson_table(buffered: io.BufferedReader) -> Table:
    _check_text_head(buffered.peek(4096)[:4096])
    text = io.TextIOWrapper(buffered, encoding="utf-8-sig", errors="strict")
    js = _JsonStream(text)
    try:
        js.expect("{")
        kind = None
        while True:
            if js.peek() == "}":
                raise FileRefused("the file is not a GeoJSON FeatureCollection (no "
                                  "\"features\" array)")
            key = js.value()
            js.expect(":")
            if key == "features":
                js.expect("[")
                break
            val = js.value()
            if key == "type":
                kind = val
                if val != "FeatureCollection":
                    raise FileRefused(f"the GeoJSON is a {val}; upload a FeatureCollection "
                                      "of Point features")
            if js.peek() == ",":
                js.pos += 1
        first = _next_feature(js, 0)
    except UnicodeDecodeError as exc:
        raise FileRefused(f"the file is not UTF-8 text (byte {exc.start})") from None
    if first is None:
        raise FileRefused("the FeatureCollection has no features")
    props = first.get("properties") if isinstance(first, dict) else None
    keys = [str(k) for k in props] if isinstance(props, dict) else []
    columns = [*[k for k in keys if k != GEOMETRY], GEOMETRY]
    _check_header(columns)
    known = set(columns)

    def rows() -> Iterator[RawRow]:
        feature: Any = first
        number = 0
        try:
            while feature is not None:
                number += 1
                yield _feature_row(number, feature, columns, known)
                feature = _next_feature(js, number)
            if kind not in (None, "FeatureCollection"):
                return
            while js.peek() == ",":  # members after the features array
                js.pos += 1
                key = js.value()
                js.expect(":")
                val = js.value()
                if key == "type" and val != "FeatureCollection":
                    yield number + 1, [""] * len(columns), [RowError(
                        None, "type", shown(val), "the GeoJSON is not a FeatureCollection")]
        except UnicodeDecodeError as exc:
            yield number + 1, [""] * len(columns), [RowError(
                None, "", "", f"the file is not UTF-8 text (byte {exc.start})")]
        except FileRefused as exc:
            yield number + 1, [""] * len(columns), [exc.error]

    return Table("geojson", columns, rows())


def _next_feature(js: _JsonStream, count: int) -> Any:
    ch = js.peek()
    if count and ch == ",":
        js.pos += 1
        ch = js.peek()
    if ch == "]":
        js.pos += 1
        return None
    if not ch:
        raise FileRefused("the file ends inside the features array")
    return js.value()


def _prop_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "; ".join(value) if value else "none"
    return json.dumps(value, separators=(",", ":"))


def _feature_row(number: int, feature: Any, columns: list[str], known: set[str]) -> RawRow:
    width = len(columns)
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        return number, [""] * width, [RowError(number, "type", shown(
            feature.get("type") if isinstance(feature, dict) else type(feature).__name__),
            "each element of features must be a GeoJSON Feature")]
    props = feature.get("properties") or {}
    problems = []
    if not isinstance(props, dict):
        props = {}
        problems.append(RowError(number, "properties", "", "properties must be an object"))
    extra = [k for k in props if k not in known]
    for k in extra:
        problems.append(RowError(number, k, shown(_prop_text(props[k])),
                                 "this property is not in the first feature; give every "
                                 "feature the same properties"))
    cells: list[Any] = [_prop_text(props.get(c)) for c in columns[:-1]]
    geom = feature.get("geometry")
    point: tuple[float, float] | None = None
    if geom is not None:
        gtype = geom.get("type") if isinstance(geom, dict) else None
        coords = geom.get("coordinates") if isinstance(geom, dict) else None
        if gtype != "Point":
            problems.append(RowError(number, GEOMETRY, shown(gtype or type(geom).__name__),
                                     "expected a Point geometry (longitude, latitude); put a "
                                     "building footprint in the footprint_geojson property"))
        elif (not isinstance(coords, list) or len(coords) < 2 or not all(
                isinstance(c, int | float) and not isinstance(c, bool) and math.isfinite(c)
                for c in coords[:2])):
            problems.append(RowError(number, GEOMETRY, shown(json.dumps(coords)),
                                     "a Point needs [longitude, latitude] numbers"))
        else:
            point = (float(coords[0]), float(coords[1]))
            lon, lat = point
            if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                problems.append(RowError(number, GEOMETRY, f"{lon}, {lat}",
                                         "the point is not a longitude/latitude pair "
                                         "(longitude -180..180, latitude -90..90)"))
                point = None
    cells.append(point)
    return number, cells, problems


# ---------------------------------------------------------------------------------- export


def export_cell(value: Any, *, spreadsheet: bool) -> Any:
    """A stored value as a file cell: lists joined, formula-like text neutralised."""
    if value is None:
        return ""
    if isinstance(value, list):
        return "; ".join(value) if value else "none"
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, str):
        return neutralise(value) if spreadsheet else value
    if isinstance(value, float) and not spreadsheet:
        return repr(value)
    return value


def write_csv(columns: Sequence[str], rows: Iterable[Sequence[Any]], out: IO[str]) -> int:
    """CSV with a header; returns the number of rows written."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    n = 0
    for row in rows:
        writer.writerow([export_cell(v, spreadsheet=True) if not isinstance(v, float)
                         else repr(v) for v in row])
        n += 1
    return n


def write_xlsx(columns: Sequence[str], rows: Iterable[Sequence[Any]], out: IO[bytes],
               *, sheet: str = "assets") -> int:
    """A write-only (streaming) workbook; numbers stay numbers, text is neutralised."""
    import openpyxl  # noqa: PLC0415

    book = openpyxl.Workbook(write_only=True)
    ws = book.create_sheet(sheet)
    ws.append(list(columns))
    n = 0
    for row in rows:
        ws.append([None if v is None else export_cell(v, spreadsheet=True) for v in row])
        n += 1
    book.save(out)
    return n


def geojson_chunks(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """An RFC 7946 FeatureCollection, one feature per chunk: Point geometry from lon/lat (null
    without a location), every other column a property. No ``crs`` member (RFC 7946 §4)."""
    lon_i, lat_i = columns.index("lon"), columns.index("lat")
    names = [c for c in columns if c not in ("lon", "lat")]
    keep = [i for i, c in enumerate(columns) if c not in ("lon", "lat")]
    yield '{"type":"FeatureCollection","features":['
    first = True
    for row in rows:
        lon, lat = row[lon_i], row[lat_i]
        geometry = (None if lon is None or lat is None
                    else {"type": "Point", "coordinates": [lon, lat]})
        props = {names[k]: (v.value if isinstance(v, Enum) else v)
                 for k, v in enumerate(row[i] for i in keep)}
        feature = {"type": "Feature", "geometry": geometry, "properties": props}
        yield ("" if first else ",") + "\n" + json.dumps(feature, separators=(",", ":"),
                                                         ensure_ascii=False)
        first = False
    yield "\n]}\n"


def write_error_report(errors: Iterable[RowError], out: IO[str]) -> int:
    """The per-row error report as CSV: row, column, value, reason (values neutralised)."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["row", "column", "value", "reason"])
    n = 0
    for e in errors:
        writer.writerow(["" if e.row is None else e.row, neutralise(e.column),
                         neutralise(e.value), neutralise(e.reason)])
        n += 1
    return n
