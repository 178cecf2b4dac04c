"""A consolidation plan's emissions effect in the carbon plan: one measure of kind
"consolidation" per member whose buildings the plan closes, t CO2e a year = the closed
buildings' recorded emissions of the member's latest whole inventory year, from the year the
user chooses, named after the plan and linking back; a closed building without recorded
emissions is named and left out; adding the same use again replaces, never duplicates; the
measures show on /carbon/targets and in the member's trajectory. Page (no JS), API."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from govshare.carbon.models import Measure
from govshare.core.tenancy import Role
from govshare.property import service
from tests.conftest import csrf_from, login
from tests.factories.property import asset
from tests.factories.regions import api_key

ORIGIN = "property.consolidation:park"
# 300,000 kWh at eGRID2023 NWPP (Hub 2025 Table 6, lb/MWh: CO2 631.705, CH4 0.054, N2O 0.008)
# and 8,000 therms = 800 MMBtu of gas (Table 1: 53.06 kg CO2, 1 g CH4, 0.1 g N2O), AR5
NWPP_KG_PER_MWH = (631.705 + 0.054 * 28 + 0.008 * 265) * 0.45359237
GAS_KG_PER_MMBTU = 53.06 + 0.001 * 28 + 0.0001 * 265
HALL_T = (300 * NWPP_KG_PER_MWH + 800 * GAS_KG_PER_MMBTU) / 1000


def parks(session: Session, ids: dict[str, int]) -> dict[str, Any]:
    """Parks (a use the demo has none of): the city's dear <A> next to the county's B, and the
    county's D next to B with no energy on record; C far away. The plan closes A and D."""
    common = {"use": "park", "capacity": 100, "occupancy": 40, "lat": 47.6050}
    return {
        "a": asset(session, ids["city"], asset_code="PA", name="Park <b>A</b>", lon=-122.3350,
                   annual_om_cost_cents=30_000_000, **common),
        "b": asset(session, ids["county"], asset_code="PB", name="Park B", lon=-122.3210,
                   annual_om_cost_cents=20_000_000, capacity=200, occupancy=40,
                   use="park", lat=47.6050),
        "c": asset(session, ids["county"], asset_code="PC", name="Park C far", lon=-121.70,
                   lat=47.40, capacity=50, occupancy=30, use="park"),
        "d": asset(session, ids["county"], asset_code="PD", name="Park D", lon=-122.3220,
                   annual_om_cost_cents=25_000_000, electricity_kwh=None,
                   natural_gas_therms=None, energy_year=None, **common),
    }


def _h(session: Session, role: Role, jid: int | None = None) -> dict[str, str]:
    key = api_key(session, role, jid, name=f"consolidation carbon {role.value} {jid}")
    session.commit()
    return {"X-API-Key": key}


def _mine(session: Session) -> list[Measure]:
    session.expire_all()
    return list(session.scalars(select(Measure).where(Measure.origin == ORIGIN)
                                .order_by(Measure.id)))


def test_api_adds_replaces_and_the_trajectory_subtracts(client: TestClient, session: Session,
                                                        ids: dict[str, int]) -> None:
    p = parks(session, ids)
    session.commit()
    admin = _h(session, Role.regional_admin)
    body = {"use": "park", "max_km": 15, "close": [p["d"].id], "start_year": 2027}
    r = client.post("/api/v1/property/consolidation/carbon-measures", headers=admin, json=body)
    assert r.status_code == 201, r.text
    out = r.json()
    members = {m["jurisdiction_id"]: m for m in out["members"]}
    city, county = members[ids["city"]], members[ids["county"]]
    # the city's closed park counted from its 2016 emissions, computed by hand
    assert city["year"] == 2016 and [b["name"] for b in city["counted"]] == ["Park <b>A</b>"]
    assert city["t_co2e_per_year"] == pytest.approx(HALL_T, rel=1e-6)
    # the county's closed park has no energy on record: named, left out, no measure invented
    assert county["counted"] == [] and county["t_co2e_per_year"] == 0
    (d,) = county["left_out"]
    assert d["asset_id"] == p["d"].id and "no emissions recorded" in d["reason"]
    (m,) = out["measures"]
    assert m["jurisdiction_id"] == ids["city"] and m["kind"] == "consolidation"
    assert m["start_year"] == 2027 and m["t_co2e_per_year"] == pytest.approx(HALL_T, rel=1e-6)
    assert m["name"].startswith("Consolidation plan for park buildings: close 1 of City of "
                                "Seattle's (Park <b>A</b>)")
    assert m["origin"] == ORIGIN and m["link"] == out["link"]
    assert out["link"].startswith("/property/consolidation?use=park&max_km=15")
    assert f"close={p['d'].id}" in out["link"] and "not modeled" in out["not_modeled"]
    assert out["replaced"] == 0
    # the member's trajectory: business as usual less the measure from 2027
    prog = client.get(f"/api/v1/carbon/progress?jurisdiction_id={ids['city']}",
                      headers=admin).json()
    assert m["id"] in {x["id"] for x in prog["measures"]}
    bau = {v["year"]: v["t_co2e"] for v in prog["bau"]}
    with_m = {v["year"]: v["t_co2e"] for v in prog["with_measures"]}
    assert with_m[2026] == pytest.approx(bau[2026])
    assert with_m[2030] == pytest.approx(max(0.0, bau[2030] - HALL_T))
    # the same use again: replaced, not duplicated
    again = client.post("/api/v1/property/consolidation/carbon-measures", headers=admin,
                        json={**body, "start_year": 2029})
    assert again.status_code == 201 and again.json()["replaced"] == 1
    (stored,) = _mine(session)
    assert stored.start_year == 2029  # one measure: the old one replaced


def test_api_who_may_and_bad_input(client: TestClient, session: Session,
                                   ids: dict[str, int]) -> None:
    parks(session, ids)
    session.commit()
    url = "/api/v1/property/consolidation/carbon-measures"
    body = {"use": "park"}
    # the analyst plans consolidations but not carbon; a member's admin plans its own carbon
    # but never sees the region's plan; its staff neither
    assert client.post(url, json=body,
                       headers=_h(session, Role.regional_analyst)).status_code == 403
    assert client.post(url, json=body, headers=_h(session, Role.jurisdiction_admin,
                                                  ids["city"])).status_code == 403
    assert client.post(url, json=body, headers=_h(session, Role.jurisdiction_staff,
                                                  ids["city"])).status_code == 403
    assert client.post(url, json=body).status_code == 401
    admin = _h(session, Role.regional_admin)
    r = client.post(url, headers=admin, json={"use": "castle", "start_year": 1800,
                                              "max_km": -1})
    assert r.status_code == 422
    fields = {str(e["loc"][-1]) for e in r.json()["errors"]}
    assert {"use", "start_year", "max_km"} <= fields
    assert _mine(session) == []


def test_page_shows_the_effect_and_adds_it_without_js(client: TestClient, session: Session,
                                                      ids: dict[str, int]) -> None:
    p = parks(session, ids)
    session.commit()
    plan_url = f"/property/consolidation?use=park&max_km=15&close={p['d'].id}"
    # the analyst sees what would be added, but has no button (no carbon planning)
    login(client, "analyst@demo.govshare.org")
    page = client.get(plan_url)
    assert page.status_code == 200 and 'id="carbon-effect"' in page.text
    assert 'id="to-carbon-plan"' not in page.text
    login(client, "admin@demo.govshare.org")
    page = client.get(plan_url)
    text = page.text
    assert 'id="to-carbon-plan"' in text and "Park &lt;b&gt;A&lt;/b&gt;" in text
    assert "<b>A</b>" not in text
    assert "Park D</a>: no emissions recorded" in text and 'id="carbon-left-out"' in text
    assert "is not modeled" in text  # said next to the button
    assert f'name="close" value="{p["d"].id}"' in text
    token = csrf_from(text)
    form = {"csrf_token": token, "use": "park", "max_km": "15", "max_sites": "",
            "travel": "191.36", "close": str(p["d"].id)}
    bad = client.post("/property/consolidation/carbon-measures",
                      data={**form, "start_year": "20x0"})
    assert bad.status_code == 422
    assert "<strong>First year the measures take effect</strong>" in bad.text
    assert 'href="#carbon-start-year"' in bad.text and 'value="20x0"' in bad.text
    assert _mine(session) == []
    r = client.post("/property/consolidation/carbon-measures",
                    data={**form, "start_year": ""}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/carbon/targets")
    (m,) = _mine(session)
    assert m.start_year == service.next_year(session)  # empty: next year
    targets = client.get("/carbon/targets").text
    assert "1 closed building without recorded emissions left out" in targets
    assert "Consolidation plan for park buildings: close 1 of City of Seattle&#39;s" in targets
    assert f'href="{m.link.replace("&", "&amp;")}">(the plan it came from)' in targets
    # the member's page draws the measure in its trajectory
    member = client.get(f"/carbon/jurisdictions/{ids['city']}").text
    assert "With planned measures" in member
