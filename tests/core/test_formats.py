"""Money, numbers, dates and times are written one way (core.formats), times in the region's
time zone with its abbreviation, on pages and in the CLI (issue 8 §3: pages showed UTC)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from jinja2 import Environment
from sqlalchemy.orm import Session

from govshare.core import formats
from govshare.regions.models import Region
from tests.conftest import BACKENDS, ROOT, csrf_from, login
from tests.factories.cli import Cli, flat, fresh_cli

WINTER = datetime(2026, 12, 4, 23, 20, 5, tzinfo=UTC)  # 3:20 PM in Seattle, PST
SUMMER = datetime(2026, 7, 4, 16, 5, tzinfo=UTC)  # 9:05 AM in Seattle, PDT
LA, NY = "America/Los_Angeles", "America/New_York"


# ------------------------------------------------------------------------------ formats


def test_when_is_the_local_time_with_the_zone_abbreviation() -> None:
    assert formats.when(WINTER, LA) == "Dec 4, 2026, 3:20 PM PST"
    assert formats.when(SUMMER, LA) == "Jul 4, 2026, 9:05 AM PDT"
    assert formats.when(WINTER, NY) == "Dec 4, 2026, 6:20 PM EST"
    assert formats.when(WINTER, LA, seconds=True) == "Dec 4, 2026, 3:20:05 PM PST"
    assert formats.when(datetime(2026, 1, 1, 8, 0, tzinfo=UTC), LA) == "Jan 1, 2026, 12:00 AM PST"
    assert formats.when(datetime(2026, 1, 1, 20, 0, tzinfo=UTC), LA) == "Jan 1, 2026, 12:00 PM PST"
    assert formats.when(WINTER.replace(tzinfo=None), LA) == "Dec 4, 2026, 3:20 PM PST"  # naive: UTC
    assert formats.when(WINTER) == "Dec 4, 2026, 11:20 PM UTC"
    assert formats.when(None, LA) == "—"


def test_day_is_the_local_calendar_day() -> None:
    late = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)  # still Dec 4 in Seattle
    assert formats.day(late, LA) == "Dec 4, 2026"
    assert formats.day(late, "UTC") == "Dec 5, 2026"
    assert formats.day(date(2026, 3, 9), LA) == "Mar 9, 2026"
    assert formats.day(None, LA) == "—"


def test_money_number_and_percent() -> None:
    assert formats.money(123_456_789) == "$1,234,568"
    assert formats.money(99_950) == "$999.50"
    assert formats.money(0) == "$0.00"
    assert formats.money(-250_000) == "-$2,500"
    assert formats.money(None) == "—" and formats.money(float("inf")) == "—"
    assert formats.number(1234567.891) == "1,234,568"
    assert formats.number(1234.5, 1, "kWh") == "1,234.5 kWh"
    assert formats.number(-0.0001, 2) == "0.00"
    assert formats.number(None) == "—" and formats.number(float("nan")) == "—"
    assert formats.percent(87.4) == "87%" and formats.percent(None) == "—"


@pytest.mark.parametrize("name", ["Mars/Olympus_Mons", "", " America/Chicago", "../etc/passwd",
                                  "EST5EDT\x00", "a" * 65])
def test_only_iana_time_zone_names_are_accepted(name: str) -> None:
    with pytest.raises(ValueError, match="IANA"):
        formats.check_time_zone(name)
    assert formats.check_time_zone("America/Chicago") == "America/Chicago"


def test_filters_take_the_time_zone_from_the_page_context() -> None:
    env = Environment(autoescape=True)
    formats.register(env)
    t = env.from_string("{{ at | when }} · {{ at | day }} · {{ c | money }} · {{ n | number(1) }}")
    assert t.render(at=WINTER, c=150_000, n=2.25, time_zone=LA) == (
        "Dec 4, 2026, 3:20 PM PST · Dec 4, 2026 · $1,500 · 2.2")
    assert t.render(at=WINTER, c=None, n=None).startswith("Dec 4, 2026, 11:20 PM UTC")


# ------------------------------------------------------------------------------ templates

# Formatting that bypasses the filters: strftime, the old dollars() helper, str.format and
# printf-style number formats ("%.2g" for a solver gap stays: it is not a quantity's display).
BYPASS = re.compile(r"\.strftime\(|\bdollars\(|\"\{:[^\"]*\}[^\"]*\"\.format\(|"
                    r"[\"']%\.\d+f%*[\"']\s*\|\s*format|\(UTC\)|\d UTC")


def test_no_template_formats_dates_money_or_numbers_by_hand() -> None:
    offenders = []
    for path in sorted((ROOT / "src" / "govshare").rglob("templates/**/*.html")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if BYPASS.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}")
    assert not offenders, "use |when, |day, |money, |number, |percent: " + ", ".join(offenders)


# ------------------------------------------------------------------------------ pages


def _abbr(tz: str) -> str:
    return formats.zone_abbreviation(tz)


def test_staff_pages_show_times_in_the_region_time_zone(client: TestClient,
                                                        session: Session) -> None:
    login(client, "admin@demo.govshare.org")
    region = session.scalars(sa.select(Region)).one()
    assert region.time_zone == LA  # the demo region's (and the default)
    audit = client.get("/admin/audit")
    assert audit.status_code == 200
    assert re.search(r"[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d{2}:\d{2} [AP]M " + _abbr(LA),
                     audit.text)
    assert " UTC" not in audit.text
    admin = client.get("/admin")
    assert LA in admin.text and f"now {_abbr(LA)}" in admin.text

    r = client.post("/admin/time-zone", data={"time_zone": NY,
                                              "csrf_token": csrf_from(admin.text)},
                    follow_redirects=False)
    assert r.status_code == 303
    session.expire_all()
    assert session.scalars(sa.select(Region)).one().time_zone == NY
    audit = client.get("/admin/audit")
    assert "region.time_zone" in audit.text
    assert re.search(r"\d{1,2}:\d{2}:\d{2} [AP]M " + _abbr(NY), audit.text)
    assert not re.search(r"\d{1,2}:\d{2}:\d{2} [AP]M " + _abbr(LA), audit.text)


def test_an_unknown_time_zone_is_refused_naming_the_field(client: TestClient,
                                                          session: Session) -> None:
    login(client, "admin@demo.govshare.org")
    admin = client.get("/admin")
    r = client.post("/admin/time-zone", data={"time_zone": "Mars/Olympus_Mons",
                                              "csrf_token": csrf_from(admin.text)})
    assert r.status_code == 422
    assert "Nothing was saved" in r.text and "time_zone" in r.text and "IANA" in r.text
    session.expire_all()
    assert session.scalars(sa.select(Region)).one().time_zone == LA


def test_jurisdiction_staff_see_the_time_zone_but_cannot_change_it(client: TestClient) -> None:
    login(client, "seattle.staff@demo.govshare.org")
    admin = client.get("/admin")
    assert LA in admin.text and 'action="/admin/time-zone"' not in admin.text
    r = client.post("/admin/time-zone", data={"time_zone": NY,
                                              "csrf_token": csrf_from(admin.text)})
    assert r.status_code == 403


def test_the_region_api_names_its_time_zone(client: TestClient) -> None:
    assert client.get("/api/v1/region").json()["time_zone"] == LA


# ------------------------------------------------------------------------------ CLI


@pytest.fixture(params=BACKENDS)
def cli(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cli]:
    with fresh_cli(request.param, tmp_path, "tzcli") as c:
        c("db", "upgrade")
        yield c


def test_cli_creates_shows_and_sets_the_time_zone(cli: Cli) -> None:
    cli("region", "create", "Test", "--counties", "53033", "--time-zone", "America/Chicago")
    assert "America/Chicago" in flat(cli("region", "show").stdout)
    cli("apikey", "create", "kiosk", "--role", "regional_analyst")
    assert "never" in flat(cli("apikey", "list").stdout)
    cli("apikey", "revoke", "1")
    chicago = formats.zone_abbreviation("America/Chicago")
    listed = flat(cli("apikey", "list").stdout)  # the table wraps the time; its zone shows
    assert re.search(r"[AP]M " + chicago + r"\b", listed) and "+00:00" not in listed
    refused = cli("region", "set-time-zone", "Mars/Olympus_Mons", code=2)
    assert "IANA" in flat(refused.stdout + refused.stderr)
    cli("region", "set-time-zone", "Pacific/Honolulu")
    assert '"time_zone": "Pacific/Honolulu"' in cli("region", "show", "--json").stdout
    assert cli.scalar("SELECT count(*) FROM audit_events WHERE action = 'region.time_zone'") == 1
