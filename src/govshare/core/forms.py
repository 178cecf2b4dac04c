"""Form errors: one mapping from what refused a form to the fields the person must correct.

Every page that takes a form validates it through the domain's pydantic model (or service)
and, when that refuses, renders the form again with::

    errors = forms.form_errors(exc, labels=FORM_LABELS)   # a list, in field order
    ... render(..., {"errors": errors, "field_errors": forms.by_field(errors)}, 422)

Each error is ``{"loc": [field], "field": field, "label": label, "reason": message}``:
``field`` is the form input's name (the last name in pydantic's location, so a nested model's
``attributes.size`` stays ``attributes.size``; ``body``/``query`` prefixes dropped), ``label``
what the page calls it, and ``reason`` pydantic's message without its "Value error, " prefix.
``web/_form_errors.html`` lists them above the form, each linking to its input; templates may
also show ``field_errors[name]`` next to the input. A ``GovshareError`` keeps the per-field
``errors`` it carries, or becomes one error about the whole form (``field`` ``""``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from govshare.core.errors import GovshareError

_PREFIXES = ("body", "query", "path", "form")
_NOISE = ("Value error, ", "Assertion failed, ")


def _field(loc: Any) -> str:
    parts = [str(p) for p in (loc or ()) if not isinstance(p, int)]
    while parts and parts[0] in _PREFIXES:
        parts = parts[1:]
    return ".".join(parts)


def _reason(message: str) -> str:
    for prefix in _NOISE:
        if message.startswith(prefix):
            message = message[len(prefix):]
    return message[:1].upper() + message[1:] if message else message


def _error(field: str, reason: str, labels: Mapping[str, str],
           anchors: Mapping[str, str]) -> dict[str, Any]:
    label = labels.get(field) or " › ".join(
        labels.get(part) or part.replace("_", " ") for part in field.split("."))
    return {"loc": [field] if field else [], "field": field,
            "label": label[:1].upper() + label[1:] if field else "", "reason": reason,
            "anchor": anchors.get(field, field)}


def form_errors(exc: Exception, *, labels: Mapping[str, str] | None = None,
                anchors: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """The field errors of a refused form: from a pydantic ``ValidationError``, a
    ``GovshareError`` (its ``errors``, else its detail), or a ``ValueError`` (its message).
    Anything else is not a form error and is raised again. ``labels`` name the fields as the
    page does; ``anchors`` give an input's id where it is not the field's name."""
    names, ids = labels or {}, anchors or {}
    if isinstance(exc, ValidationError):
        return [_error(_field(e.get("loc")), _reason(str(e.get("msg", ""))), names, ids)
                for e in exc.errors(include_url=False)]
    if isinstance(exc, GovshareError):
        if exc.errors:
            return [_error(_field(e.get("loc")),
                           str(e.get("reason") or e.get("msg") or exc.detail), names, ids)
                    for e in exc.errors]
        return [_error("", exc.detail, names, ids)]
    if isinstance(exc, ValueError):
        return [_error("", _reason(str(exc).splitlines()[0] if str(exc) else "Not valid"),
                       names, ids)]
    raise exc


def field_error(field: str, reason: str, *, labels: Mapping[str, str] | None = None,
                anchors: Mapping[str, str] | None = None) -> dict[str, Any]:
    """One error about one input (a check the page makes itself, e.g. a number it parses)."""
    return _error(field, reason, labels or {}, anchors or {})


def by_field(errors: list[dict[str, Any]]) -> dict[str, str]:
    """``{field: first reason}`` for showing a message next to its input."""
    out: dict[str, str] = {}
    for e in errors:
        field = e.get("field") or (str(e["loc"][0]) if e.get("loc") else "")
        if field:
            out.setdefault(field, str(e.get("reason", "")))
    return out


__all__ = ["by_field", "field_error", "form_errors"]
