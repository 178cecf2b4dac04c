"""Pure rules of the front office: request status machine and its Open311 mapping, service
attribute validation (Open311 datatypes), duplicate proximity, request ids. No I/O."""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any

S_SUBMITTED, S_ACK, S_PROGRESS, S_HOLD = "submitted", "acknowledged", "in_progress", "on_hold"
S_RESOLVED, S_DUPLICATE, S_DECLINED = "resolved", "duplicate", "declined"

REQUEST_TRANSITIONS: dict[str, frozenset[str]] = {
    S_SUBMITTED: frozenset({S_ACK, S_PROGRESS, S_RESOLVED, S_DUPLICATE, S_DECLINED}),
    S_ACK: frozenset({S_PROGRESS, S_HOLD, S_RESOLVED, S_DUPLICATE, S_DECLINED}),
    S_PROGRESS: frozenset({S_HOLD, S_RESOLVED, S_DECLINED}),
    S_HOLD: frozenset({S_PROGRESS, S_RESOLVED, S_DECLINED}),
    S_RESOLVED: frozenset({S_PROGRESS}),  # reopened
    S_DUPLICATE: frozenset({S_ACK}),  # not a duplicate after all
    S_DECLINED: frozenset({S_ACK}),
}
CLOSED_STATES = frozenset({S_RESOLVED, S_DUPLICATE, S_DECLINED})
STATUS_LABELS = {S_SUBMITTED: "Received", S_ACK: "Acknowledged", S_PROGRESS: "In progress",
                 S_HOLD: "On hold", S_RESOLVED: "Resolved", S_DUPLICATE: "Closed as duplicate",
                 S_DECLINED: "Closed: not something we can act on"}


def open311_status(status: str) -> str:
    """GeoReport v2 knows only 'open' and 'closed'."""
    return "closed" if status in CLOSED_STATES else "open"


def can_transition(current: str, to: str) -> bool:
    return to in REQUEST_TRANSITIONS.get(current, frozenset())


def public_request_id(year: int, number: int) -> str:
    """Stable, human-readable, string id (Open311 ids are strings): e.g. 2026-000123."""
    return f"{year}-{number:06d}"


def normalize_public_id(text: str) -> str:
    """A request id as people type it: "2026000123", "2026 000123", "#2026-000123" and
    "2026-123" are all "2026-000123". Anything else is returned trimmed, as typed."""
    t = text.strip().lstrip("#").strip()
    digits = "".join(ch for ch in t if ch.isdigit())
    if digits and all(ch.isdigit() or ch in " -_./" for ch in t):
        parts = [p for p in re.split(r"[ \-_./]+", t) if p]
        if len(parts) == 2 and len(parts[0]) == 4 and len(parts[1]) <= 6:
            return f"{parts[0]}-{int(parts[1]):06d}"
        if len(parts) == 1 and len(digits) == 10:
            return f"{digits[:4]}-{digits[4:]}"
    return t


def bbox_around(lon: float, lat: float, meters: float) -> tuple[float, float, float, float]:
    dlat = meters / 111_320
    dlon = meters / (111_320 * max(0.01, math.cos(math.radians(lat))))
    return lon - dlon, lat - dlat, lon + dlon, lat + dlat


# ------------------------------------------------------------------ Open311 attributes

DATATYPES = ("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist")
ATTR_CODE = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")


def check_definitions(attributes: list[dict[str, Any]]) -> list[str]:
    """Problems with a service's attribute definitions (for catalogue edits)."""
    problems = []
    seen = set()
    for i, a in enumerate(attributes):
        code = a.get("code")
        if not isinstance(code, str) or not ATTR_CODE.match(code):
            problems.append(f"attribute {i}: code must be 1-64 letters, digits, _ or -")
        elif code in seen:
            problems.append(f"attribute {i}: duplicate code {code!r}")
        seen.add(code)
        if a.get("datatype") not in DATATYPES:
            problems.append(f"attribute {code}: datatype must be one of {', '.join(DATATYPES)}")
        if a.get("datatype") in ("singlevaluelist", "multivaluelist") and not a.get("values"):
            problems.append(f"attribute {code}: a list needs values")
    return problems


def validate_attributes(definitions: list[dict[str, Any]], submitted: dict[str, list[str]]
                        ) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """Check submitted ``attribute[code]`` values against the service's definitions.

    Returns the clean values and a list of errors {code, reason}. Unknown codes are errors
    (a client sending them has the wrong definition); informational (``variable: false``)
    attributes take no value.
    """
    errors: list[dict[str, str]] = []
    clean: dict[str, Any] = {}
    by_code = {a["code"]: a for a in definitions}
    for code in submitted:
        if code not in by_code:
            errors.append({"code": code, "reason": "not an attribute of this service"})
    for a in sorted(definitions, key=lambda d: d.get("order", 0)):
        code = a["code"]
        if a.get("variable", True) is False:
            continue
        values = [v for v in submitted.get(code, []) if v is not None and str(v).strip() != ""]
        if not values:
            if a.get("required"):
                errors.append({"code": code, "reason": f"required: {a.get('description', code)}"})
            continue
        kind = a.get("datatype", "string")
        allowed = {str(v["key"]) for v in a.get("values", [])}
        if kind == "multivaluelist":
            bad = [v for v in values if v not in allowed]
            if bad:
                errors.append({"code": code, "reason": f"not among the allowed keys: "
                                                      f"{', '.join(bad)}"})
            else:
                clean[code] = values
            continue
        if len(values) > 1:
            errors.append({"code": code, "reason": "takes one value"})
            continue
        v = str(values[0]).strip()
        if kind == "number":
            try:
                num = float(v)
                if not math.isfinite(num):
                    raise ValueError
                clean[code] = num
            except ValueError:
                errors.append({"code": code, "reason": f"{v!r} is not a number"})
        elif kind == "datetime":
            try:
                dt = datetime.fromisoformat(v.replace("Z", "+00:00"))
                if dt.tzinfo is None:
                    raise ValueError
                clean[code] = dt.isoformat()
            except ValueError:
                errors.append({"code": code, "reason": f"{v!r} is not an ISO 8601 date-time "
                                                      "with a time zone"})
        elif kind == "singlevaluelist":
            if v not in allowed:
                errors.append({"code": code, "reason": f"{v!r} is not among the allowed keys"})
            else:
                clean[code] = v
        else:
            limit = 4000 if kind == "text" else 500
            if len(v) > limit:
                errors.append({"code": code, "reason": f"longer than {limit} characters"})
            else:
                clean[code] = v
    return clean, errors


_TAG = re.compile(r"<[^>]*>")


def plain_text(value: str | None, limit: int = 4000) -> str | None:
    """Descriptions are plain text: tags are stripped (they are escaped on output anyway)."""
    if value is None:
        return None
    text = _TAG.sub("", value).replace("\x00", "").strip()
    return text[:limit] or None


def due_state(expected_at: datetime | None, status: str, now: datetime) -> tuple[str, bool]:
    """The service-level clock of a request in words, and whether it is overdue: "Due in 3
    days", "Due today", "Overdue by 2 days"; a closed request or one without a target has no
    clock ("—")."""
    if expected_at is None or status in CLOSED_STATES:
        return "—", False
    days = (expected_at - now).total_seconds() / 86400
    if days < 0:
        late = max(1, math.ceil(-days - 1e-9)) if -days >= 1 else 1
        return f"Overdue by {late} day{'s' if late != 1 else ''}", True
    if days < 1:
        return "Due within a day", False
    left = int(days)
    return f"Due in {left} day{'s' if left != 1 else ''}", False


def attribute_answers(definitions: list[dict[str, Any]], answers: dict[str, Any]
                      ) -> list[tuple[str, str]]:
    """A request's answers as (question, answer) in the service's words: "How big is it?",
    "Up to a car tyre" — not "size", "medium". Answers to questions the service no longer
    asks keep their code."""
    by_code = {str(d.get("code")): d for d in definitions}
    out = []
    order = {str(d.get("code")): d.get("order", 0) for d in definitions}
    for code in sorted(answers, key=lambda c: (order.get(c, 999), c)):
        value = answers[code]
        d = by_code.get(code, {})
        names = {str(v.get("key")): v.get("name") or str(v.get("key"))
                 for v in d.get("values") or []}
        values = value if isinstance(value, list) else [value]
        shown = ", ".join(names.get(str(v), str(v)) for v in values)
        out.append((str(d.get("description") or code), shown))
    return out
