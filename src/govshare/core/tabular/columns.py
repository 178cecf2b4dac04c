"""From a file's columns to a domain's fields: :class:`Layout` (the fields, their converters,
which need a value), :class:`Preset` (a known file layout: accepted column names per field,
converters for its units, fields derived from several columns) and :class:`Plan` (one file's
header resolved against a preset, then :meth:`Plan.validate` per row — the hot loop).

Columns named exactly like a field are understood by every preset. A column that holds data
the layout has no place for is never dropped silently: :meth:`Plan.tally` counts the rows
where each unplaced column holds a value, for the import's result (:attr:`Plan.unplaced`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from govshare.core.tabular.converters import Converter
from govshare.core.tabular.problems import CellError, RowError, shown
from govshare.core.tabular.readers import GEOMETRY, header_key


@dataclass(frozen=True)
class Layout:
    """The fields a domain's files fill. An empty cell in a ``required`` field is a row error;
    in a ``defaulted`` field it means "not given" (the field is left out of the row's
    values); in any other field it is None. A GeoJSON Point fills the two ``point`` fields."""

    fields: tuple[str, ...]
    converters: Mapping[str, Converter]
    required: frozenset[str] = frozenset()
    defaulted: frozenset[str] = frozenset()
    point: tuple[str, str] = ("lon", "lat")
    jurisdiction_column: str = "jurisdiction"  # how the report names a member column


@dataclass(frozen=True)
class Derived:
    """A field computed from one or more columns (e.g. Seattle's use from its types)."""

    field: str
    sources: tuple[str, ...]  # header names, in order; absent ones read as ""
    compute: Callable[[Sequence[str]], Any]  # raises CellError; MISSING for "not given"
    key_sources: int = 1  # the derivation applies when one of the first N is present


@dataclass(frozen=True)
class Preset:
    """A file layout a domain accepts: which column names give which field."""

    name: str
    label: str
    description: str
    layout: Layout
    columns: Mapping[str, tuple[str, ...]]  # field -> accepted header names
    required: tuple[str, ...] = ()  # fields that need a column
    converters: Mapping[str, Converter] = field(default_factory=dict)
    derived: tuple[Derived, ...] = ()
    jurisdiction_columns: tuple[str, ...] = ()
    # A user's column mapping (field -> file column) on top of the preset: a mapped field is
    # read from that column only, and no other field reads the column. See :func:`mapped`.
    mapping: Mapping[str, str] = field(default_factory=dict)

    def column_map(self) -> list[tuple[str, str]]:
        """(field, file column) pairs, for the docs and the upload page."""
        out = [(f, " | ".join(names)) for f, names in self.columns.items()]
        out += [(d.field, " + ".join(d.sources) + " (derived)") for d in self.derived]
        if self.jurisdiction_columns:
            out.append(("(must be the importing jurisdiction)",
                        " | ".join(self.jurisdiction_columns)))
        return out


MAX_MAPPED = 200  # pairs in one mapping; a layout has far fewer fields


class MappingError(ValueError):
    """A column mapping that cannot be used; the message names the pair and the reason."""


def parse_mapping(pairs: Sequence[str]) -> dict[str, str]:
    """``FILE_COLUMN=FIELD`` pairs (the CLI's ``--map``, the form's lines) as
    field -> file column. The column is everything before the *last* ``=`` (a header may
    hold one); both sides are trimmed."""
    out: dict[str, str] = {}
    seen_columns: dict[str, str] = {}
    if len(pairs) > MAX_MAPPED:
        raise MappingError(f"a mapping has at most {MAX_MAPPED} pairs; {len(pairs)} were given")
    for raw in pairs:
        column, sep, name = str(raw).rpartition("=")
        column, name = column.strip(), name.strip()
        if not sep or not column or not name:
            raise MappingError(f"{shown(raw)!r} is not FILE_COLUMN=FIELD")
        if name.partition(":")[0] in {k.partition(":")[0] for k in out}:
            raise MappingError(f"{name.partition(':')[0]} is mapped twice")
        key = header_key(column)
        if key in seen_columns:
            raise MappingError(f"column {column!r} is mapped twice (to {seen_columns[key]} and "
                               f"{name})")
        out[name] = column
        seen_columns[key] = name
    return out


# Energy in a file's own unit: a mapped field named for its unit (``electricity_kwh``,
# ``natural_gas_therms``, ``district_steam_kbtu``) may say the column's unit after a colon
# (``electricity_kwh:kbtu``); the value is converted through kBtu. 1 kWh = 3.412 kBtu (EIA's
# 3,412 Btu per kWh, as ENERGY STAR Portfolio Manager's site energy), 1 therm = 100 kBtu.
KBTU_PER_UNIT: dict[str, float] = {"kbtu": 1.0, "mmbtu": 1_000.0, "btu": 0.001, "kwh": 3.412,
                                   "mwh": 3_412.0, "therms": 100.0, "therm": 100.0}


def _unit_of(name: str) -> str | None:
    tail = name.rsplit("_", 1)[-1]
    return tail if tail in KBTU_PER_UNIT else None


def _in_unit(convert: Converter, factor: float) -> Converter:
    def converter(text: str) -> Any:
        try:
            value = float(text.replace(",", "").strip())
        except ValueError:
            raise CellError("is not a number") from None
        return convert(repr(value * factor))  # the field's own checks (range, finite)

    return converter


def mapped(preset: Preset, mapping: Mapping[str, str]) -> Preset:
    """``preset`` with a user's column mapping (field -> file column) on top. A field the
    layout does not have is refused, naming the fields it has. Mapping a field sets aside
    the preset's own column names and derivation for it. An energy field may name the
    column's unit (``electricity_kwh:kbtu``, see :data:`KBTU_PER_UNIT`)."""
    if not mapping:
        return preset
    fields = preset.layout.fields
    converters = dict(preset.converters)
    plain: dict[str, str] = {}
    for spec, column in mapping.items():
        name, _, unit = spec.partition(":")
        name, unit = name.strip(), unit.strip().casefold()
        if unit and name in fields:
            native = _unit_of(name)
            if native is None:
                raise MappingError(f"{name} has no unit to convert; map it without "
                                   f"':{unit}'")
            if unit not in KBTU_PER_UNIT:
                raise MappingError(f"{unit!r} is not an energy unit; use one of "
                                   f"{', '.join(KBTU_PER_UNIT)}")
            base = preset.converters.get(name, preset.layout.converters[name])
            converters[name] = _in_unit(base, KBTU_PER_UNIT[unit] / KBTU_PER_UNIT[native])
        if name in plain:
            raise MappingError(f"{name} is mapped twice (from {plain[name]!r} and {column!r})")
        plain[name] = column
    mapping = plain
    unknown = [f for f in mapping if f not in fields]
    if unknown:
        raise MappingError(f"{', '.join(repr(f) for f in unknown)} "
                           f"{'is not a field' if len(unknown) == 1 else 'are not fields'}"
                           f"; the fields are: {', '.join(fields)}")
    seen: dict[str, str] = {}
    for name, column in mapping.items():
        key = header_key(column)
        if not key:
            raise MappingError(f"{name} is mapped to an empty column name")
        if key in seen:
            raise MappingError(f"column {column!r} is mapped twice (to {seen[key]} and {name})")
        seen[key] = name
    return Preset(
        name=preset.name, label=f"{preset.label}, with your column mapping",
        description=preset.description, layout=preset.layout,
        columns={**preset.columns, **{f: (c,) for f, c in mapping.items()}},
        required=preset.required, converters=converters,
        derived=tuple(d for d in preset.derived if d.field not in mapping),
        jurisdiction_columns=preset.jurisdiction_columns, mapping=dict(mapping))


class _Missing:
    """What a derivation returns for "not given" (the field is left out of the row)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


@dataclass
class Plan:
    """How one file's columns become fields; built once per file from its header."""

    layout: Layout
    columns: list[str]
    cells: list[tuple[int, str, Converter, str]]  # (index, field, converter, column)
    derived: list[tuple[list[int], str, Callable[[Sequence[str]], Any], str]]
    covered: frozenset[str]
    column_of: dict[str, str]
    ignored: list[str]  # columns with a name that no field reads
    ignored_at: list[int] = field(default_factory=list)  # their positions
    jurisdiction_index: int | None = None
    point_index: int | None = None  # GeoJSON geometry column
    header_errors: list[RowError] = field(default_factory=list)
    filled: list[int] = field(default_factory=list)  # rows with a value, per ignored column

    def validate(self, number: int, cells: Sequence[Any]) -> tuple[dict[str, Any],
                                                                    list[RowError]]:
        """The values one row gives, and its problems. A defaulted field whose cell is empty
        is *absent* from the values ("not given"); other empty cells give None.

        The hot loop of an import (one call per row): plain locals, no per-cell allocations
        beyond the values themselves."""
        given: dict[str, Any] = {}
        errors: list[RowError] = []
        defaulted, required = self.layout.defaulted, self.layout.required
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
            lon, lat = self.layout.point
            given[lon], given[lat] = point if point else (None, None)
        return given, errors

    def tally(self, cells: Sequence[Any]) -> None:
        """Count the row in :attr:`filled` for each ignored column where it holds a value.
        Call it only when :attr:`ignored_at` is not empty (the common files have none)."""
        filled = self.filled
        for k, i in enumerate(self.ignored_at):
            text = cells[i]
            if text and (text[0] not in " \t" or text.strip()):
                filled[k] += 1

    @property
    def unplaced(self) -> list[tuple[str, int]]:
        """(column, rows where it holds a value) for every column no field reads."""
        return list(zip(self.ignored, self.filled, strict=True))


def make_plan(columns: Sequence[str], preset: Preset, fmt: str) -> Plan:
    """Resolve a file's header against a preset: which column gives which field, which
    fields are derived, which columns no field reads, and the header's problems (a required
    column missing, two columns giving one field)."""
    layout = preset.layout
    keys = [header_key(c) for c in columns]
    where: dict[str, int] = {}
    for i, k in enumerate(keys):
        if k:
            where.setdefault(k, i)
    used: dict[int, str] = {}
    source: dict[str, int] = {}
    errors: list[RowError] = []
    geo = fmt == "geojson"
    claimed = {header_key(c): f for f, c in preset.mapping.items()}  # the user's columns
    for name, column in preset.mapping.items():
        if header_key(column) not in where:
            errors.append(RowError(1, column, "", f"is mapped to {name} but the file has no "
                                   f"such column (its columns: "
                                   f"{', '.join(shown(str(c)) for c in columns[:40])})"))
    for name in layout.fields:
        names = preset.columns.get(name, ())
        found = [where[header_key(n)] for n in names
                 if header_key(n) in where and claimed.get(header_key(n), name) == name]
        native = where.get(header_key(name))
        if native is not None and native not in found and name not in preset.mapping \
                and claimed.get(header_key(name), name) == name:
            found.append(native)
        found = list(dict.fromkeys(found))
        if geo and name in layout.point:
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
        idxs = [where.get(header_key(s), -1) if header_key(s) not in claimed else -1
                for s in d.sources]
        if d.field in source:
            continue  # a column of the field itself wins over the derivation
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
            named = list(dict.fromkeys([*accepted, name]))
            errors.append(RowError(1, named[0], "", "required column is missing (accepted "
                                   f"names: {', '.join(named)})"))
    jurisdiction_index = next((where[header_key(c)] for c in preset.jurisdiction_columns
                               if header_key(c) in where), None)
    if jurisdiction_index is not None:
        used[jurisdiction_index] = layout.jurisdiction_column
    point_index = None
    if geo and GEOMETRY in where:
        point_index = where[GEOMETRY]
        used[point_index] = ", ".join(layout.point)
        covered |= set(layout.point)
    cells = [(i, name, preset.converters.get(name, layout.converters[name]), columns[i])
             for name, i in source.items()]
    column_of = {name: columns[i] for name, i in source.items()}
    column_of.update({d[1]: d[3] for d in derived})
    if point_index is not None:
        for name in layout.point:
            column_of[name] = GEOMETRY
    ignored_at = [i for i, c in enumerate(columns) if i not in used and str(c).strip()]
    return Plan(layout=layout, columns=list(columns), cells=cells, derived=derived,
                covered=frozenset(covered), column_of=column_of,
                ignored=[columns[i] for i in ignored_at], ignored_at=ignored_at,
                filled=[0] * len(ignored_at), jurisdiction_index=jurisdiction_index,
                point_index=point_index, header_errors=errors)
