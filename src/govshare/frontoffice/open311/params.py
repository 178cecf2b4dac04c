"""Parameters of Open311 GeoReport v2 requests, read strictly and named in every error.

The spec's rules: an empty parameter is the same as an absent one; lists are comma-separated
(and may be repeated) only where the spec allows them; date-times are ISO 8601 with a zone.
Every refusal is a :class:`BadRequest` whose ``errors`` name the parameter, so the router can
answer with the spec's ``{code, description}`` list (``attribute[size]: required ...``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request

from govshare.core.errors import BadRequest
from govshare.frontoffice.calc import ATTR_CODE

MAX_RESULTS = 1000  # the spec's largest answer; also the largest page
WINDOW = timedelta(days=90)  # the spec's default and largest date range
MAX_BODY = 64 * 1024
MAX_PAGE = 1_000_000


def param_error(param: str, reason: str) -> BadRequest:
    return BadRequest(f"{param}: {reason}", errors=[{"loc": [param], "reason": reason}])


class Params:
    """Query (and, for POST, form) parameters under the spec's rules: an empty value is the
    same as no value; a parameter may be repeated only where the spec allows a list."""

    def __init__(self, items: Iterable[tuple[str, str]]) -> None:
        self.multi: dict[str, list[str]] = {}
        for key, value in items:
            if "\x00" in key or "\x00" in value:
                raise param_error(key.replace("\x00", "") or "parameter",
                                  "contains a NUL character")
            self.multi.setdefault(key, []).append(value)

    def one(self, name: str) -> str | None:
        values = [v.strip() for v in self.multi.get(name, []) if v.strip()]
        if len(values) > 1:
            raise param_error(name, "given more than once")
        return values[0] if values else None

    def listed(self, name: str) -> list[str] | None:
        """A comma-separated list, possibly repeated (``status=open,closed``)."""
        out: list[str] = []
        for value in self.multi.get(name, []):
            if not value.strip():
                continue
            for part in value.split(","):
                if not part.strip():
                    raise param_error(name, "has an empty item in its comma-separated list")
                out.append(part.strip())
        return out or None


def query_params(request: Request) -> Params:
    return Params(request.query_params.multi_items())


ATTRIBUTE_KEY = re.compile(r"^attribute\[([^\[\]]*)\](\[\])?$")


async def post_params(request: Request) -> Params:
    """Query string plus an ``application/x-www-form-urlencoded`` body (the spec's format)."""
    items = list(request.query_params.multi_items())
    body = await request.body()
    if body:
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            raise param_error("Content-Type", "a service request is sent as "
                              "application/x-www-form-urlencoded")
        if len(body) > MAX_BODY:
            raise param_error("request", f"the body is larger than {MAX_BODY // 1024} KB")
        try:
            items += parse_qsl(body.decode("utf-8"), keep_blank_values=True,
                               errors="strict", max_num_fields=500)
        except UnicodeDecodeError as exc:
            raise param_error("request", "the body is not UTF-8") from exc
        except ValueError as exc:
            raise param_error("request", "too many fields") from exc
    return Params(items)


W3C_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:\d{2})$")


def parse_datetime(name: str, value: str | None) -> datetime | None:
    if value is None:
        return None
    if re.fullmatch(r".*T[0-9:.]+ \d{2}:\d{2}", value):
        raise param_error(name, f"{value[:40]!r} has a space where the offset's '+' was: "
                          "encode '+' as %2B in a query string")
    if not W3C_DATETIME.match(value):
        raise param_error(name, f"{value[:40]!r} is not an ISO 8601 date-time with a time "
                          "zone (e.g. 2026-01-31T00:00:00Z or 2026-01-31T00:00:00-08:00)")
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise param_error(name, f"{value[:40]!r} is not a valid date-time") from exc


def date_window(p: Params, now: datetime) -> tuple[datetime, datetime]:
    """The spec's window: the last 90 days by default; a range may not span more than 90."""
    start = parse_datetime("start_date", p.one("start_date"))
    end = parse_datetime("end_date", p.one("end_date"))
    try:
        if start is None and end is None:
            return now - WINDOW, now
        if start is None:
            assert end is not None
            start = end - WINDOW
        if end is None:
            end = start + WINDOW
    except OverflowError as exc:
        raise param_error("start_date", "is too close to the calendar's limits") from exc
    if end < start:
        raise param_error("end_date", "is before start_date")
    if end - start > WINDOW:
        raise param_error("end_date", "start_date and end_date may not span more than 90 days")
    return start, end


def parse_int(p: Params, name: str, default: int, low: int, high: int) -> int:
    value = p.one(name)
    if value is None:
        return default
    if not (value.isascii() and value.isdigit()) or not low <= int(value) <= high:
        raise param_error(name, f"must be a whole number from {low} to {high}")
    return int(value)


def paging(p: Params) -> tuple[int, int]:
    """``page`` and ``page_size`` (the pagination extension): limit and offset."""
    size = parse_int(p, "page_size", MAX_RESULTS, 1, MAX_RESULTS)
    page = parse_int(p, "page", 1, 1, MAX_PAGE)
    return size, (page - 1) * size


def parse_bool(p: Params, name: str) -> bool:
    value = p.one(name)
    if value is None:
        return False
    if value.lower() not in ("true", "false"):
        raise param_error(name, "must be true or false")
    return value.lower() == "true"


NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")


def parse_coordinate(name: str, value: str, limit: float) -> float:
    if not NUMBER.match(value):
        raise param_error(name, f"{value[:30]!r} is not a number")
    number = float(value)
    if not math.isfinite(number) or not -limit <= number <= limit:
        raise param_error(name, f"must be between {-limit:g} and {limit:g} (WGS84 degrees)")
    return number


ZIP_IN_TEXT = re.compile(r"(?<!\d)(\d{5})(?:-\d{4})?(?!\d)")
ZIP_PARAM = re.compile(r"^(\d{5})(?:-\d{4})?$")
URL = re.compile(r"^https?://[^\s/?#]+[^\s]*$", re.IGNORECASE)


def attributes(p: Params) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, values in p.multi.items():
        if not key.startswith("attribute"):
            continue
        m = ATTRIBUTE_KEY.match(key)
        if m is None or not ATTR_CODE.match(m.group(1)):
            raise param_error(key[:80], "is not attribute[code] or attribute[code][] with a "
                              "code from the service definition")
        given = [v.strip() for v in values if v.strip()]
        if given:  # an empty value is no value (the spec's rule for optional arguments)
            out.setdefault(m.group(1), []).extend(given)
    return out


def location(p: Params) -> dict[str, Any]:
    """lat/long, or ``address_string``, found among the region's address points when the
    request is submitted (``frontoffice.service.place_of``): fields of ``RequestIn``. A ZIP
    code is kept with the address (and narrows its match) but never locates a request alone:
    it is an area, which may cross a member's limit."""
    lat_s, lon_s = p.one("lat"), p.one("long")
    address, address_id, zip_s = p.one("address_string"), p.one("address_id"), p.one("zipcode")
    if (lat_s is None) != (lon_s is None):
        missing = "long" if lon_s is None else "lat"
        raise param_error(missing, "lat and long are sent together")
    zipcode = None
    if zip_s is not None:
        m = ZIP_PARAM.match(zip_s)
        if m is None:
            raise param_error("zipcode", "must be a 5-digit ZIP code (or ZIP+4)")
        zipcode = m.group(1)
    elif address is not None:
        found = ZIP_IN_TEXT.findall(address)
        zipcode = found[-1] if found else None
    out: dict[str, Any] = {"address": address, "address_id": address_id, "zipcode": zipcode}
    if lat_s is not None and lon_s is not None:
        out["lat"] = parse_coordinate("lat", lat_s, 90)
        out["lon"] = parse_coordinate("long", lon_s, 180)
        return out
    if address is None and address_id is None:
        raise param_error("lat", "a location is required: lat and long, or address_string "
                          "(a street address among the region's address points)")
    if address is None:
        raise param_error("address_id", "cannot be located here (there is no master address "
                          "repository): send lat/long or address_string with it")
    return out
