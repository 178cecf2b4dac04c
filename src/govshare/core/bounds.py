"""A number's plausible range, declared once per field and read by every edge that takes it.

Every number a person, a system or a file gives the platform is finite and within a range a
real value can have (a building uses at most so many kWh a year, a price per kWh is at most
so many cents). Unbounded, ``1e308`` or ``Infinity`` is stored and later turns every sum it
enters into infinity: pages that total it fail for every member.

- :meth:`Bounds.field` declares a field's range on a pydantic model or dataclass. The model
  then refuses, with the field's name and the range, a value outside it or one that is not
  finite; the JSON API, the forms that validate through the model and the OpenAPI document
  (``minimum``/``maximum``) all read it from there.
- :func:`bounds_of` gives the range back to code that compiles its own checks from a model
  (the property importer's converters), so the two cannot drift.
- :func:`out_of_bounds` names the fields of a stored row outside their range: a value stored
  before its range existed (or tightened) is reported and left out of computations, never
  allowed to take a page down.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import annotated_types
from pydantic import BaseModel, Field
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined


@dataclass(frozen=True)
class Bounds:
    """The closed range ``lo..hi`` of a finite number field."""

    lo: float
    hi: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.lo) and math.isfinite(self.hi) and self.lo <= self.hi):
            raise ValueError(f"bounds must be finite with lo <= hi, got {self.lo}..{self.hi}")

    def field(self, default: Any = PydanticUndefined, **kwargs: Any) -> Any:
        """The pydantic ``Field`` of a number in this range (finite, ``lo <= x <= hi``)."""
        return Field(default, ge=self.lo, le=self.hi, allow_inf_nan=False, **kwargs)

    def admits(self, value: Any) -> bool:
        """Whether ``value`` is a finite number within the range (``None`` is not a number)."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        return math.isfinite(value) and self.lo <= value <= self.hi

    @property
    def reason(self) -> str:
        """How an error names the range: ``must be between 0 and 10,000``."""
        return f"must be between {self.lo:,} and {self.hi:,}"


def bounds_of(info: FieldInfo) -> Bounds | None:
    """The range a model field was declared with (its ``ge``/``le``), if it has both."""
    lo = hi = None
    for m in info.metadata:
        if isinstance(m, annotated_types.Ge):
            lo = m.ge
        elif isinstance(m, annotated_types.Le):
            hi = m.le
    if lo is None or hi is None:
        return None
    return Bounds(lo, hi)  # type: ignore[arg-type]


@cache
def model_bounds(model: type[BaseModel]) -> dict[str, Bounds]:
    """Every bounded field of ``model`` with its range."""
    out = {}
    for name, info in model.model_fields.items():
        b = bounds_of(info)
        if b is not None:
            out[name] = b
    return out


def out_of_bounds(model: type[BaseModel], values: Mapping[str, Any] | object) -> list[str]:
    """Names of ``model``'s bounded fields whose value in ``values`` (a mapping, or an object
    such as an ORM row) is given but outside its range or not finite."""
    get = values.get if isinstance(values, Mapping) else (
        lambda name: getattr(values, name, None))
    return [name for name, b in model_bounds(model).items()
            if (v := get(name)) is not None and not b.admits(v)]
