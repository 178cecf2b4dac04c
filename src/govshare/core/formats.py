"""How pages (and the CLI) write money, numbers, dates and times: one definition each.

Templates use the filters registered by :func:`register` on the Jinja environment:

- ``{{ cents | money }}``: an amount in **cents** (the house's unit for money) as dollars,
  ``$1,234`` from $1,000 up and ``$12.50`` below; ``None`` is an em dash.
- ``{{ value | number }}``, ``{{ value | number(1, "kWh") }}``: thousands separators, the
  given decimals and an optional unit; ``None`` or a non-finite value is an em dash.
  ``{{ share | percent }}`` is a number followed by ``%``.
- ``{{ at | when }}``: a moment in the region's time zone with its abbreviation, e.g.
  ``Dec 4, 2026, 3:20 PM PST`` (``when(seconds=True)`` adds seconds).
- ``{{ at | day }}``: the calendar day in the region's time zone, ``Dec 4, 2026``.

The time zone is the page context's ``time_zone`` (the region's IANA name, put there by the
web app for every page); a template rendered without one shows UTC, and says so. Stored
timestamps are UTC (``core.db.UTCDateTime``); a naive ``datetime`` is read as UTC.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from jinja2 import Environment, pass_context
from jinja2.runtime import Context

DEFAULT_TIME_ZONE = "America/Los_Angeles"
"""The demo region's time zone, and the default for a new region (the product serves US
governments; a region in another zone sets its own)."""
DASH = "—"


# ------------------------------------------------------------------------------ time zones


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    """The IANA zone of that name; ``ValueError`` (with the reason) for anything else."""
    if not isinstance(name, str) or not name or len(name) > 64 or name != name.strip():
        raise ValueError(f"{name!r} is not an IANA time zone name (e.g. America/Los_Angeles)")
    if name not in _names():
        raise ValueError(f"{name!r} is not an IANA time zone name (e.g. America/Los_Angeles, "
                         "America/New_York, America/Chicago, America/Denver, Pacific/Honolulu)")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:  # pragma: no cover - listed but absent
        raise ValueError(f"The time zone {name!r} is not installed on this system") from exc


@lru_cache(maxsize=1)
def _names() -> frozenset[str]:
    return frozenset(available_timezones())


def check_time_zone(name: str) -> str:
    """The name if it is an IANA time zone name; ``ValueError`` otherwise."""
    zone(name)
    return name


def local(value: datetime, tz: str) -> datetime:
    """The moment in that zone (a naive value is taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(zone(tz))


def zone_abbreviation(tz: str, at: datetime | None = None) -> str:
    """The zone's abbreviation at that moment (now by default): PST or PDT, EST or EDT."""
    return local(at or datetime.now(UTC), tz).tzname() or tz


# ------------------------------------------------------------------------------ formats


def when(value: datetime | None, tz: str = "UTC", *, seconds: bool = False) -> str:
    """``Dec 4, 2026, 3:20 PM PST`` (``3:20:05 PM`` with seconds); ``None`` is a dash."""
    if value is None:
        return DASH
    t = local(value, tz)
    hour = t.hour % 12 or 12
    clock = f"{hour}:{t.minute:02d}" + (f":{t.second:02d}" if seconds else "")
    return f"{t:%b} {t.day}, {t.year}, {clock} {'AM' if t.hour < 12 else 'PM'} {t.tzname()}"


def day(value: datetime | date | None, tz: str = "UTC") -> str:
    """``Dec 4, 2026``: the day of a moment in the zone, or a date as it is."""
    if value is None:
        return DASH
    d = local(value, tz).date() if isinstance(value, datetime) else value
    return f"{d:%b} {d.day}, {d.year}"


def _finite(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def money(cents: float | int | None) -> str:
    """Cents as dollars: whole dollars from $1,000 up, cents below; negative with a minus."""
    v = _finite(cents)
    if v is None:
        return DASH
    sign, v = ("-" if v < 0 else ""), abs(v)
    return f"{sign}${v / 100:,.0f}" if v >= 100_000 else f"{sign}${v / 100:,.2f}"


def number(value: float | int | None, digits: int = 0, unit: str | None = None) -> str:
    """``12,345``, ``1,234.5 kWh``; ``None`` or not finite is a dash."""
    v = _finite(value)
    if v is None:
        return DASH
    text = f"{v:,.{digits}f}"
    if text.startswith("-") and float(text.replace(",", "")) == 0:
        text = text[1:]  # -0 is 0
    return f"{text} {unit}" if unit else text


def percent(value: float | int | None, digits: int = 0) -> str:
    """A number already in percent, with its sign: ``87%``."""
    text = number(value, digits)
    return text if text == DASH else f"{text}%"


# ------------------------------------------------------------------------------ Jinja


def _tz(ctx: Context) -> str:
    tz = ctx.get("time_zone")
    return tz if isinstance(tz, str) and tz else "UTC"


@pass_context
def _when_filter(ctx: Context, value: datetime | None, seconds: bool = False) -> str:
    return when(value, _tz(ctx), seconds=seconds)


@pass_context
def _day_filter(ctx: Context, value: datetime | date | None) -> str:
    return day(value, _tz(ctx))


def register(env: Environment) -> None:
    """Add ``money``, ``number``, ``percent``, ``when`` and ``day`` to a Jinja environment."""
    env.filters.update(money=money, number=number, percent=percent, when=_when_filter,
                       day=_day_filter)


__all__ = ["DEFAULT_TIME_ZONE", "check_time_zone", "day", "local", "money", "number",
           "percent", "register", "when", "zone", "zone_abbreviation"]
