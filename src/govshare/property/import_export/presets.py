"""Column presets and row validation for asset files (see ``fileio`` for the readers).

Presets and validation
----------------------
A :class:`Preset` maps a file's column names (case and spacing ignored, several accepted names
per field) to :class:`~govshare.property.schemas.AssetIn` fields, with converters for the
preset's units (FRPP dollars -> integer cents, Seattle's ``1,234.5`` numbers) and derived
fields (Seattle's ``use`` from its property types). Columns named exactly like an ``AssetIn``
field are understood by every preset. The checks are compiled from ``AssetIn``'s own field
constraints (types, bounds, lengths, patterns, enumerations), so the two cannot drift; a test
runs both on the same rows. They take ~12 µs a row for 20 columns where building an
``AssetIn`` takes ~37 µs, which is what lets an import keep up with the database's own bulk
load (``bench/bench_import.py``).

An import sets only the fields its columns give. An empty cell clears a nullable field; in a
field with a default (kind, ownership, status, public_groups, synthetic_fields) an empty cell
means "not given": the default for a new asset, unchanged for an existing one. ``none`` in a
list column is the empty list (``public_groups = none`` makes an asset private).
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import Enum
from types import UnionType
from typing import Any, Union, get_args, get_origin

import annotated_types
import shapely
from shapely.geometry import shape

from govshare.core.bounds import bounds_of
from govshare.property.import_export.fileio import (
    FIELDS,
    GEOMETRY,
    JURISDICTION_COLUMN,
    CellError,
    RowError,
    header_key,
    shown,
    unneutralise,
)
from govshare.property.models import AssetKind, AssetStatus, AssetUse, Ownership
from govshare.property.schemas import (
    DEFAULT_PUBLIC_GROUPS,
    FIELD_GROUPS,
    PM_TYPES,
    STATUS_LABELS,
    USE_LABELS,
    AssetIn,
)

# Fields where an empty cell means "not given" rather than "no value".
DEFAULTED = frozenset({"kind", "ownership", "status", "public_groups", "synthetic_fields"})
NEW_DEFAULTS: dict[str, Any] = {
    name: (list(DEFAULT_PUBLIC_GROUPS) if name == "public_groups" else
           [] if name == "synthetic_fields" else
           f.default.value if isinstance(f.default, Enum) else
           None if f.is_required() else f.default)
    for name, f in AssetIn.model_fields.items()
}

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


def _lo_hi(name: str) -> tuple[float | None, float | None]:
    """The range ``AssetIn`` declares for a field (``core.bounds``): one definition for the
    API and the importer."""
    b = bounds_of(AssetIn.model_fields[name])
    return (b.lo, b.hi) if b is not None else (None, None)


def _range_reason(lo: float | None, hi: float | None) -> str:
    def n(x: float) -> str:
        return f"{int(x):,}" if float(x).is_integer() else f"{x:,}"
    if lo is not None and hi is not None:
        return f"must be between {n(lo)} and {n(hi)}"
    return f"must be at least {n(lo)}" if lo is not None else f"must be at most {n(hi)}"  # type: ignore[arg-type]


def float_converter(lo: float | None, hi: float | None) -> Converter:
    # NaN fails every comparison and infinities fail a finite bound, so one chained test
    # catches all three; without a bound, infinities are caught by the finite limits.
    low = lo if lo is not None else -sys.float_info.max
    high = hi if hi is not None else sys.float_info.max

    def conv(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            plain = _number_text(text)  # CellError for a misplaced comma
            try:
                value = float(plain)
            except ValueError:
                raise CellError("is not a number") from None
        if not low <= value <= high:
            if not math.isfinite(value):
                raise CellError("is not a finite number")
            raise CellError(_range_reason(lo, hi))
        return value
    return conv


def int_converter(lo: float | None, hi: float | None) -> Converter:
    low = lo if lo is not None else -math.inf
    high = hi if hi is not None else math.inf

    def conv(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            plain = _number_text(text)  # CellError for a misplaced comma
            try:
                number = float(plain)
            except ValueError:
                raise CellError("is not a whole number") from None
            if not number.is_integer():
                raise CellError("is not a whole number") from None
            value = int(number)
        if not low <= value <= high:
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
        found = table.get(text)  # the common case: the value itself, as exported
        if found is None:
            found = table.get(_key(text))
            if found is None:
                raise CellError(f"is not one of: {known}")
        return found
    return conv


def str_converter(max_len: int | None, pattern: str | None) -> Converter:
    regex = re.compile(pattern) if pattern else None
    limit = max_len if max_len is not None else math.inf

    def conv(text: str) -> str:
        value = text.strip()
        if value[:1] == "'":
            value = unneutralise(value)
        if len(value) > limit:
            raise CellError(f"is longer than {max_len} characters")
        if regex is not None and not regex.match(value):
            raise CellError(f"does not match the pattern {pattern}")
        return value
    return conv


_ZIP = re.compile(r"\d{5}(-\d{4})?")
_ISO_DATE = re.compile(r"(\d{4})-\d{1,2}-\d{1,2}(?:[T ].*)?")
_US_DATE = re.compile(r"\d{1,2}/\d{1,2}/(\d{4})")


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
    if not _ZIP.fullmatch(value):
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
        if len(value) <= 4:
            return as_int(value)
        m = _ISO_DATE.fullmatch(value) or _US_DATE.fullmatch(value)
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
    lo, hi = _lo_hi(name)
    if isinstance(kind, type) and issubclass(kind, Enum):
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


_LEASED, _OWNED = Ownership.leased.value, Ownership.owned.value


def check_rules(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``AssetIn``'s cross-field rules on a complete asset: (field, reason) per failure."""
    problems = []
    if (values.get("lon") is None) != (values.get("lat") is None):
        problems.append(("lat", "give both longitude and latitude, or neither"))
    ownership = values.get("ownership")
    if ownership == _LEASED and values.get("annual_lease_cost_cents") is None:
        problems.append(("annual_lease_cost_cents", "a leased asset needs its annual lease cost"))
    if ownership == _OWNED and values.get("annual_lease_cost_cents"):
        problems.append(("annual_lease_cost_cents", "an owned asset has no lease cost"))
    return problems


PM_BY_USE: dict[str, str | None] = {use.value: pm for use, pm in PM_TYPES.items()}


def default_pm_type(values: dict[str, Any]) -> None:
    """AssetIn's rule: no Portfolio Manager type given -> the one of the use, if any."""
    if values.get("pm_property_type") is None and values.get("use"):
        values["pm_property_type"] = PM_BY_USE.get(values["use"])

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
        if self.jurisdiction_columns:
            out.append(("(must be the importing jurisdiction)",
                        " | ".join(self.jurisdiction_columns)))
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
    """What a derivation returns for "not given" (the field is left out of the row)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


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
        """The values one row gives, and its problems. A field with a default whose cell is
        empty is *absent* from the values ("not given"); other empty cells give None.

        The hot loop of an import (one call per row): plain locals, no per-cell allocations
        beyond the values themselves."""
        given: dict[str, Any] = {}
        errors: list[RowError] = []
        defaulted, required = DEFAULTED, REQUIRED_FIELDS
        for idx, name, conv, column in self.cells:
            text = cells[idx]
            if not text or (text[0] in " \t" and not text.strip()):
                if name in defaulted:
                    continue
                if name in required:
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
                value = compute(values)
            except CellError as exc:
                errors.append(RowError(number, column, shown(values[0]), str(exc)))
                continue
            if value is not MISSING:
                given[name] = value
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
