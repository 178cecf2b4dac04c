"""The asset rules on top of the shared tabular readers and writers (``core.tabular``): the
fields a file fills (``AssetIn``'s), their converters compiled from ``AssetIn``'s own field
constraints, the cell rules only assets have (field groups, footprints), ``AssetIn``'s
cross-field rules re-stated for whole rows, and the defaults of a new asset. Pure: no
database; the importer drives it with the presets of ``presets``.

An import sets only the fields its columns give. An empty cell clears a nullable field; in a
field with a default (kind, ownership, status, interchangeable, public_groups,
synthetic_fields) an empty cell
means "not given": the default for a new asset, unchanged for an existing one. ``none`` in a
list column is the empty list (``public_groups = none`` makes an asset private).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from enum import Enum
from typing import Any

import shapely
from shapely.geometry import shape

from govshare.core.phones import check_phone
from govshare.core.tabular import (
    CellError,
    Converter,
    Layout,
    bounds,
    enum_key,
    model_converters,
    year_converter,
    zip_converter,
)
from govshare.property.models import AssetStatus, AssetUse, Ownership
from govshare.property.schemas import (
    DEFAULT_PUBLIC_GROUPS,
    FIELD_GROUPS,
    PM_TYPES,
    STATUS_LABELS,
    USE_LABELS,
    AssetIn,
    check_deadline,
    check_email,
)

FIELDS: tuple[str, ...] = tuple(AssetIn.model_fields)
JURISDICTION_COLUMN = "jurisdiction"
EXPORT_COLUMNS: tuple[str, ...] = (JURISDICTION_COLUMN, *FIELDS)
SHEET = "assets"  # the sheet an XLSX export writes and an import prefers
ENERGY_FIELDS = tuple(f for f in FIELD_GROUPS["energy"] if f != "energy_year")

# Fields where an empty cell means "not given" rather than "no value".
DEFAULTED = frozenset({"kind", "ownership", "status", "interchangeable", "public_groups",
                       "synthetic_fields"})
REQUIRED_FIELDS = frozenset(n for n, f in AssetIn.model_fields.items() if f.is_required())
NEW_DEFAULTS: dict[str, Any] = {
    name: (list(DEFAULT_PUBLIC_GROUPS) if name == "public_groups" else
           [] if name == "synthetic_fields" else
           f.default.value if isinstance(f.default, Enum) else
           None if f.is_required() else f.default)
    for name, f in AssetIn.model_fields.items()
}

# ------------------------------------------------------------------------ asset cell rules


def _split_list(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"[;,|]", text) if p.strip()]


def groups_converter(text: str) -> list[str]:
    if enum_key(text) == "none":
        return []
    groups = [enum_key(g) for g in _split_list(text)]
    unknown = sorted(set(groups) - set(FIELD_GROUPS))
    if unknown:
        raise CellError(f"unknown field group(s) {', '.join(unknown)}; known: "
                        f"{', '.join(FIELD_GROUPS)} (or none)")
    chosen = set(groups) | ({"identity"} if groups else set())
    return [g for g in FIELD_GROUPS if g in chosen]


def synthetic_converter(text: str) -> list[str]:
    if enum_key(text) == "none":
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
    except RecursionError:
        raise CellError("is nested too deeply to be a polygon") from None
    if not isinstance(geom, dict) or geom.get("type") not in ("Polygon", "MultiPolygon"):
        raise CellError("must be a GeoJSON Polygon or MultiPolygon geometry")
    try:
        polygon = shape(geom)
    except Exception as exc:
        raise CellError(f"is not a valid polygon ({exc})") from None
    if polygon.is_empty:
        raise CellError("is an empty polygon")
    if not polygon.is_valid:
        raise CellError(f"is not a valid polygon: {shapely.is_valid_reason(polygon)}")
    minx, miny, maxx, maxy = polygon.bounds
    if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        raise CellError("has coordinates outside longitude -180..180 / latitude -90..90")
    return json.dumps(geom, separators=(",", ":"))


_ISO_DAY = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ]00:00(?::00)?)?")
_US_DAY = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")


def date_converter(text: str) -> date:
    """A day: ISO ``2027-01-29`` (what the export writes; a spreadsheet's midnight
    ``2027-01-29 00:00:00`` too) or US ``1/29/2027``; within ``check_deadline``'s years."""
    value = text.strip()
    m = _ISO_DAY.fullmatch(value)
    parts = (m.group(1), m.group(2), m.group(3)) if m else None
    if parts is None and (u := _US_DAY.fullmatch(value)):
        parts = (u.group(3), u.group(1), u.group(2))
    if parts is None:
        raise CellError("is not a date (like 2027-01-29 or 1/29/2027)")
    try:
        day = date(int(parts[0]), int(parts[1]), int(parts[2]))
    except ValueError as exc:
        raise CellError(f"is not a date ({exc})") from None
    checked: date = _checked(check_deadline)(day)
    return checked


def _checked(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A schema check (``ValueError`` in words) as a cell check (``CellError``)."""
    def conv(value: Any) -> Any:
        try:
            return check(value)
        except ValueError as exc:
            raise CellError(str(exc)) from None
    return conv


def _text_checked(check: Callable[[str], str]) -> Converter:
    run = _checked(check)

    def conv(text: str) -> str:
        return run(text.strip())  # type: ignore[no-any-return]
    return conv


def export_value(value: Any) -> Any:
    """A stored value as written to a file: a day as ISO text (GeoJSON has no date type),
    the rest unchanged."""
    return value.isoformat() if isinstance(value, date | datetime) else value


def field_bounds(name: str) -> tuple[float | None, float | None]:
    return bounds(AssetIn.model_fields[name])


CONVERTERS: dict[str, Converter] = model_converters(
    AssetIn,
    special={"zip": zip_converter, "public_groups": groups_converter,
             "synthetic_fields": synthetic_converter, "footprint_geojson": footprint_converter,
             "proposal_deadline": date_converter,
             "contact_email": _text_checked(check_email),
             "contact_phone": _text_checked(check_phone),
             "year_built": year_converter(*field_bounds("year_built"))},
    labels={AssetUse: USE_LABELS, AssetStatus: STATUS_LABELS})

LAYOUT = Layout(fields=FIELDS, converters=CONVERTERS, required=REQUIRED_FIELDS,
                defaulted=DEFAULTED, point=("lon", "lat"),
                jurisdiction_column=JURISDICTION_COLUMN)

# ------------------------------------------------------------------------- whole-row rules

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
