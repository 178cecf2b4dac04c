"""Cell converters: text of a file cell -> a typed value, or :class:`CellError` with the
reason in words (the plan adds row, column and value).

They are compiled from a pydantic model's own field constraints (types, bounds, lengths,
patterns, enumerations) by :func:`model_converters`, so a file's checks and the form's or
API's checks cannot drift. They take a few microseconds a cell where validating a pydantic
model per row takes several times more, which is what lets an import keep up with the
database's own bulk load (``bench/bench_import.py``). Deliberate differences from pydantic:
thousands separators (``1,234.5``), ZIP codes that lost their leading zeros, dates for years
and enum labels are accepted; non-finite numbers are refused.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from enum import Enum
from types import UnionType
from typing import Any, Union, cast, get_args, get_origin

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from govshare.core.tabular.problems import CellError
from govshare.core.tabular.writers import unneutralize

Converter = Callable[[str], Any]
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")


def number_text(text: str) -> str:
    """A number's text without thousands separators (refused where they do not belong)."""
    text = text.strip()
    if "," in text:
        if not _THOUSANDS.fullmatch(text):
            raise CellError("is not a number (use a point for decimals; commas only "
                            "between thousands)")
        text = text.replace(",", "")
    return text


def bounds(info: FieldInfo) -> tuple[float | None, float | None]:
    """The ``ge``/``le`` bounds of a pydantic field (None where it has none)."""
    lo = hi = None
    for m in info.metadata:
        if isinstance(m, annotated_types.Ge):
            lo = cast(float, m.ge)
        elif isinstance(m, annotated_types.Le):
            hi = cast(float, m.le)
    return lo, hi


def _shown(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() else f"{x:,}"


def range_reason(lo: float | None, hi: float | None) -> str:
    """``must be between 0 and 10,000`` (whole numbers shown without ``.0``)."""
    if lo is not None and hi is not None:
        return f"must be between {_shown(lo)} and {_shown(hi)}"
    return (f"must be at least {_shown(lo)}" if lo is not None
            else f"must be at most {_shown(hi)}")  # type: ignore[arg-type]


def float_converter(lo: float | None, hi: float | None) -> Callable[[str], float]:
    # NaN fails every comparison and infinities fail a finite bound, so one chained test
    # catches all three; without a bound, infinities are caught by the finite limits.
    low = lo if lo is not None else -sys.float_info.max
    high = hi if hi is not None else sys.float_info.max

    def conv(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            plain = number_text(text)  # CellError for a misplaced comma
            try:
                value = float(plain)
            except ValueError:
                raise CellError("is not a number") from None
        if not low <= value <= high:
            if not math.isfinite(value):
                raise CellError("is not a finite number")
            raise CellError(range_reason(lo, hi))
        return value
    return conv


def int_converter(lo: float | None, hi: float | None) -> Callable[[str], int]:
    low = lo if lo is not None else -math.inf
    high = hi if hi is not None else math.inf

    def conv(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            plain = number_text(text)  # CellError for a misplaced comma
            try:
                number = float(plain)
            except ValueError:
                raise CellError("is not a whole number") from None
            if not number.is_integer():
                raise CellError("is not a whole number") from None
            value = int(number)
        if not low <= value <= high:
            raise CellError(range_reason(lo, hi))
        return value
    return conv


def enum_key(text: str) -> str:
    """A value compared case-blind, with spaces, hyphens and slashes as underscores."""
    return re.sub(r"[\s\-/]+", "_", text.strip().casefold())


def enum_converter(enum: type[Enum], labels: Mapping[str, str] | None = None,
                   aliases: Mapping[str, str] | None = None) -> Converter:
    """Accepts the value, its label, or an alias; case, spaces and hyphens ignored."""
    table: dict[str, str] = {}
    for member in enum:
        table[enum_key(member.value)] = member.value
    for value, label in (labels or {}).items():
        table.setdefault(enum_key(label), value)
    for alias, value in (aliases or {}).items():
        table[enum_key(alias)] = value
    known = ", ".join(m.value for m in enum)

    def conv(text: str) -> str:
        found = table.get(text)  # the common case: the value itself, as exported
        if found is None:
            found = table.get(enum_key(text))
            if found is None:
                raise CellError(f"is not one of: {known}")
        return found
    return conv


def str_converter(max_len: int | None, pattern: str | None) -> Converter:
    """Text, stripped, with the export's formula escape removed (``writers.unneutralize``)."""
    regex = re.compile(pattern) if pattern else None
    limit = max_len if max_len is not None else math.inf

    def conv(text: str) -> str:
        value = text.strip()
        if value[:1] == "'":
            value = unneutralize(value)
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


def dollars_converter(lo: float | None, hi: float | None) -> Converter:
    """Dollars (``$1,234.56``, ``(12.00)`` negative) -> integer cents, rounded half up; the
    bounds are in cents."""
    def conv(text: str) -> int:
        raw = text.strip().replace("$", "").replace(" ", "")
        negative = raw.startswith("(") and raw.endswith(")")
        raw = raw.strip("()")
        try:
            amount = Decimal(number_text(raw))
        except (InvalidOperation, CellError):
            raise CellError("is not a dollar amount") from None
        if not amount.is_finite():
            raise CellError("is not a dollar amount")
        cents = int((amount * 100).to_integral_value(rounding="ROUND_HALF_UP"))
        cents = -cents if negative else cents
        if (lo is not None and cents < lo) or (hi is not None and cents > hi):
            raise CellError(range_reason(None if lo is None else lo / 100,
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


_TRUE = frozenset({"true", "yes", "y", "1", "t"})
_FALSE = frozenset({"false", "no", "n", "0", "f"})


def bool_converter(text: str) -> bool:
    """yes/no, true/false, y/n, 1/0 (any case)."""
    key = text.strip().casefold()
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise CellError("is not yes or no (yes/no, true/false, 1/0)")


def _unwrap(annotation: Any) -> Any:
    origin = get_origin(annotation)
    if origin in (Union, UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return annotation


def field_converter(model: type[BaseModel], name: str,
                    labels: Mapping[type[Enum], Mapping[str, str]] | None = None) -> Converter:
    """The converter of one field of ``model``, compiled from its type and constraints:
    an enum (its values, or the ``labels`` given for that enum), bool, float, int or str."""
    info = model.model_fields[name]
    kind = _unwrap(info.annotation)
    lo, hi = bounds(info)
    if isinstance(kind, type) and issubclass(kind, Enum):
        return enum_converter(kind, (labels or {}).get(kind))
    if kind is bool:
        return bool_converter
    if kind is float:
        return float_converter(lo, hi)
    if kind is int:
        return int_converter(lo, hi)
    if kind is str:
        max_len = next((m.max_length for m in info.metadata
                        if isinstance(m, annotated_types.MaxLen)), None)
        pattern = next((getattr(m, "pattern", None) for m in info.metadata
                        if getattr(m, "pattern", None)), None)
        return str_converter(max_len, pattern)
    raise TypeError(f"no converter for {model.__name__}.{name}: {info.annotation!r}; "
                    "give one")


def model_converters(model: type[BaseModel], special: Mapping[str, Converter] | None = None,
                     labels: Mapping[type[Enum], Mapping[str, str]] | None = None,
                     fields: Sequence[str] | None = None) -> dict[str, Converter]:
    """A converter for every field of ``model`` (or of ``fields``): ``special`` ones where
    given, else compiled by :func:`field_converter`."""
    special = special or {}
    return {name: special[name] if name in special else field_converter(model, name, labels)
            for name in (fields or model.model_fields)}
