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

    def column_map(self) -> list[tuple[str, str]]:
        """(field, file column) pairs, for the docs and the upload page."""
        out = [(f, " | ".join(names)) for f, names in self.columns.items()]
        out += [(d.field, " + ".join(d.sources) + " (derived)") for d in self.derived]
        if self.jurisdiction_columns:
            out.append(("(must be the importing jurisdiction)",
                        " | ".join(self.jurisdiction_columns)))
        return out


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
    for name in layout.fields:
        names = preset.columns.get(name, ())
        found = [where[header_key(n)] for n in names if header_key(n) in where]
        native = where.get(header_key(name))
        if native is not None and native not in found:
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
        idxs = [where.get(header_key(s), -1) for s in d.sources]
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
