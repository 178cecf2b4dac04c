"""Carbon's pages and /api/v1 endpoints through the app: who sees what, the inventory as a
Page, exports, factor-set upload (all or nothing), adding a retrofit to the plan."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from govshare.carbon import service
from govshare.core.tenancy import Principal
from tests.conftest import csrf_from, login


@pytest.fixture
def recorded(session: Session, system: Principal, ids: dict[str, int]) -> dict[str, int]:
    service.install_builtin_sets(session)
    rows: list[dict[str, Any]] = []
    for key, jid, kwh, therms in (("hall", ids["city"], 2_000_000, 30_000),
                                  ("court", ids["county"], 3_000_000, 10_000)):
        base = {"source_key": key, "jurisdiction_id": jid,
                "name": f"<b>{key}</b> & co", "zip": "98104",
                "property_type": "Office", "gross_floor_area_ft2": 100_000,
                "period_start": date(2016, 1, 1), "period_end": date(2016, 12, 31)}
        rows.append({**base, "activity": "electricity", "quantity": kwh, "unit": "kWh",
                     "utility": "seattle-city-light"})
        rows.append({**base, "activity": "natural_gas", "quantity": therms, "unit": "therm"})
    service.record_activity(session, system, "test", rows)
    session.flush()
    return ids


def test_dashboard_and_member_pages(client: TestClient, recorded: dict[str, int]) -> None:
    login(client, "admin@demo.govshare.org")
    page = client.get("/carbon")
    assert page.status_code == 200, page.text
    assert "Counted once" in page.text and "market-based" in page.text
    assert "<b>hall</b>" not in page.text
    # the demo fleet's 2025 has no buildings: a partial year, said so, the page opens on 2016
    assert "2025 (no Buildings &amp; facilities recorded)" in page.text
    assert "Emissions by member, 2016" in page.text
    member = client.get(f"/carbon/jurisdictions/{recorded['city']}")
    assert member.status_code == 200
    assert "&lt;b&gt;hall&lt;/b&gt; &amp; co" in member.text
    meth = client.get("/carbon/methodology")
    assert "eGRID2023" in meth.text and "NWPP" in meth.text and "Hub 2025 Table 1" in meth.text
    bench = client.get("/carbon/benchmarking?year=2016")
    assert bench.status_code == 200 and "Add to plan" in bench.text


def test_member_staff_sees_own_only(client: TestClient, recorded: dict[str, int]) -> None:
    login(client, "seattle.staff@demo.govshare.org")
    r = client.get("/carbon", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith(f"/{recorded['city']}")
    assert client.get(f"/carbon/jurisdictions/{recorded['county']}").status_code == 404
    api = client.get("/api/v1/carbon/inventory?by=jurisdiction&year=2016").json()
    assert {i["jurisdiction_id"] for i in api["items"]} == {recorded["city"]}
    assert client.get("/api/v1/carbon/rollup?year=2016").status_code == 403


def test_api_inventory_page_and_exports(client: TestClient, recorded: dict[str, int]) -> None:
    login(client, "analyst@demo.govshare.org")
    r = client.get("/api/v1/carbon/inventory?by=gas&year=2016&limit=2")
    body = r.json()
    assert r.status_code == 200 and body["limit"] == 2 and len(body["items"]) == 2
    assert body["total"] > 2 and body["total_market"] < body["total_location"]
    roll = client.get("/api/v1/carbon/rollup?year=2016&method=market").json()
    assert roll["double_counted_t"] == pytest.approx(roll["naive_t"] - roll["region_t"])
    grid = client.get("/api/v1/carbon/grid-factor?zip=98104").json()
    assert grid["subregion"] == "NWPP"
    csv_text = client.get("/carbon/export.csv?year=2016").text
    assert csv_text.startswith("Jurisdiction,Year,Sector,Scope,Gas")
    xlsx = client.get("/carbon/export.xlsx?year=2016")
    ws = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert ws is not None and ws.cell(1, 7).value == "t CO2e (location-based)"


def test_factor_set_upload(client: TestClient, session: Session, recorded: dict[str, int]
                           ) -> None:
    login(client, "admin@demo.govshare.org")
    form = client.get("/carbon/factor-sets")
    token = csrf_from(form.text)
    meta = {"name": "test-set", "title": "Test set", "edition": "1", "publisher": "Us",
            "year_from": "2010", "year_to": "2020", "csrf_token": token}
    bad = ("activity,detail,basis,match_key,gas,value,unit,source_table,note\n"
           "natural_gas,,any,,CO2,50,kg/furlong,t,\n"
           "unobtainium,,any,,CO2,1,kg/mmbtu,t,\n")
    r = client.post("/carbon/factor-sets", data=meta,
                    files={"file": ("f.csv", bad.encode(), "text/csv")})
    assert r.status_code == 422
    assert "unknown activity" in r.text and "furlong" in r.text
    good = ("activity,detail,basis,match_key,gas,value,unit,source_table,note\n"
            "natural_gas,,any,,CO2e,60,kg/mmbtu,My table,\n")
    r = client.post("/carbon/factor-sets", data=meta,
                    files={"file": ("f.csv", good.encode(), "text/csv")},
                    follow_redirects=False)
    assert r.status_code == 303
    inv = client.get("/api/v1/carbon/inventory?by=asset&year=2016&factor_set=test-set"
                     f"&jurisdiction_id={recorded['city']}&limit=5000").json()
    (row,) = [i for i in inv["items"] if i["source"] == "<b>hall</b> & co"]
    # 3,000 MMBtu of gas at 60 kg CO2e + 2,000 MWh of electricity (Hub NWPP, location)
    nwpp = (631.705 + 0.054 * 28 + 0.008 * 265) * 0.45359237
    assert row["t_co2e_location"] == pytest.approx(3000 * 60 / 1000 + 2000 * nwpp / 1000)
    staff_client = client
    login(staff_client, "seattle.admin@demo.govshare.org")
    assert staff_client.post("/api/v1/carbon/factor-sets", data=meta,
                             files={"file": ("f.csv", good.encode(), "text/csv")}
                             ).status_code == 403


def test_asset_page_shows_both_methods(client: TestClient, session: Session) -> None:
    """The demo's buildings are in the inventory: a City of Seattle building's registry page
    shows its tonnes location- and market-based (Seattle City Light)."""
    from sqlalchemy import select

    from govshare.carbon.models import Source

    src = session.scalars(select(Source).where(Source.source_domain == "property",
                                               Source.utility == "seattle-city-light")).first()
    assert src is not None
    login(client, "admin@demo.govshare.org")
    page = client.get(f"/property/assets/{src.source_key}")
    assert page.status_code == 200
    assert "t CO2e, market-based" in page.text and "In the region" in page.text
