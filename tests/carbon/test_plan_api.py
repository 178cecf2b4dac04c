"""/api/v1/carbon parity with the pages: targets and planned measures (list, add, remove),
progress as JSON with its units and formulas, GWP sets (list, upload bounded while it
streams). Who may do what: a member's staff read their own, a member's admin plans its own,
another member's rows do not exist for them (404); bad input is a 422 naming the field."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from govshare.carbon import service
from govshare.carbon.models import Gwp, Measure, Target
from govshare.core.audit import AuditEvent
from govshare.core.tenancy import Principal, Role
from tests.factories.regions import api_key


def _h(session: Session, role: Role, jid: int | None = None) -> dict[str, str]:
    key = api_key(session, role, jid, name=f"plan api {role.value} {jid}")
    session.commit()
    return {"X-API-Key": key}


@pytest.fixture
def recorded(session: Session, system: Principal, ids: dict[str, int]) -> dict[str, int]:
    """2015 and 2016 of a city building and a county building (gas only: no grid needed)."""
    service.install_builtin_sets(session)
    rows: list[dict[str, Any]] = []
    for key, jid, therms in (("hall", ids["city"], 30_000), ("court", ids["county"], 10_000)):
        for year, scale in ((2015, 1.1), (2016, 1.0)):
            rows.append({"source_key": key, "jurisdiction_id": jid, "name": key,
                         "activity": "natural_gas", "quantity": therms * scale, "unit": "therm",
                         "period_start": date(year, 1, 1), "period_end": date(year, 12, 31)})
    service.record_activity(session, system, "plan-api-test", rows)
    session.commit()
    return ids


def _error_fields(body: dict[str, Any]) -> set[str]:
    return {str(e["loc"][-1]) for e in body.get("errors", [])}


def test_targets_list_add_remove(client: TestClient, session: Session,
                                 ids: dict[str, int]) -> None:
    admin = _h(session, Role.regional_admin)
    r = client.post("/api/v1/carbon/targets", headers=admin, json={
        "jurisdiction_id": ids["county"], "base_year": 2016, "target_year": 2035,
        "reduction_pct": 45, "label": "County <b>2035</b>"})
    assert r.status_code == 201, r.text
    county_target = r.json()
    assert county_target["label"] == "County <b>2035</b>" and county_target["id"] > 0
    listed = client.get("/api/v1/carbon/targets?limit=1000", headers=admin).json()
    assert county_target in listed["items"] and listed["total"] == len(listed["items"])
    # a member's staff see their own member's and the region's, never another member's
    staff = _h(session, Role.jurisdiction_staff, ids["city"])
    mine = client.get("/api/v1/carbon/targets?limit=1000", headers=staff).json()["items"]
    assert mine and {t["jurisdiction_id"] for t in mine} <= {ids["city"], None}
    assert county_target["id"] not in {t["id"] for t in mine}
    # ... and cannot remove anything; the city's admin cannot see the county's target
    assert client.delete(f"/api/v1/carbon/targets/{county_target['id']}",
                         headers=staff).status_code == 403
    city_admin = _h(session, Role.jurisdiction_admin, ids["city"])
    assert client.delete(f"/api/v1/carbon/targets/{county_target['id']}",
                         headers=city_admin).status_code == 404
    # the region's own target is listed to the member but is the region's roles' to remove
    region_t = next(t for t in mine if t["jurisdiction_id"] is None)
    assert client.delete(f"/api/v1/carbon/targets/{region_t['id']}",
                         headers=city_admin).status_code == 403
    r = client.delete(f"/api/v1/carbon/targets/{county_target['id']}", headers=admin)
    assert r.status_code == 200 and r.json() == county_target
    session.expire_all()
    assert session.get(Target, county_target["id"]) is None
    assert client.delete(f"/api/v1/carbon/targets/{county_target['id']}",
                         headers=admin).status_code == 404
    assert client.delete("/api/v1/carbon/targets/0", headers=admin).status_code == 422


def test_target_and_measure_bad_input_names_the_field(client: TestClient, session: Session,
                                                      ids: dict[str, int]) -> None:
    admin = _h(session, Role.regional_admin)
    before = (len(session.scalars(select(Target)).all()),
              len(session.scalars(select(Measure)).all()))
    r = client.post("/api/v1/carbon/targets", headers=admin, json={
        "jurisdiction_id": ids["city"], "base_year": 1890, "target_year": 2030,
        "reduction_pct": 150, "label": "x"})
    assert r.status_code == 422 and {"base_year", "reduction_pct"} <= _error_fields(r.json())
    r = client.post("/api/v1/carbon/measures", headers=admin, json={
        "jurisdiction_id": ids["city"], "kind": "teleport", "name": "",
        "start_year": 2027, "t_co2e_per_year": -5})
    assert r.status_code == 422
    assert {"kind", "name", "t_co2e_per_year"} <= _error_fields(r.json())
    r = client.post("/api/v1/carbon/measures", headers=admin, json={
        "jurisdiction_id": ids["city"], "kind": "other", "name": "x", "start_year": 2027,
        "t_co2e_per_year": 1, "origin": "sneaky"})
    assert r.status_code == 422 and "origin" in _error_fields(r.json())
    r = client.get("/api/v1/carbon/progress?horizon=3000", headers=admin)
    assert r.status_code == 422 and "horizon" in _error_fields(r.json())
    session.expire_all()
    assert (len(session.scalars(select(Target)).all()),
            len(session.scalars(select(Measure)).all())) == before


def test_measures_list_add_remove_and_who_may(client: TestClient, session: Session,
                                              ids: dict[str, int]) -> None:
    city_admin = _h(session, Role.jurisdiction_admin, ids["city"])
    body = {"jurisdiction_id": ids["city"], "kind": "electrification",
            "name": "Electric <b>buses</b>", "start_year": 2027, "t_co2e_per_year": 120.5,
            "cost_cents": 25_000_000}
    r = client.post("/api/v1/carbon/measures", headers=city_admin, json=body)
    assert r.status_code == 201, r.text
    city_m = r.json()
    assert {k: city_m[k] for k in body} == body and city_m["origin"] is None
    # not for another member
    r = client.post("/api/v1/carbon/measures", headers=city_admin,
                    json={**body, "jurisdiction_id": ids["county"]})
    assert r.status_code == 403
    admin = _h(session, Role.regional_admin)
    county_m = client.post("/api/v1/carbon/measures", headers=admin,
                           json={**body, "jurisdiction_id": ids["county"],
                                 "name": "County heat pumps"}).json()
    # lists: the region's roles see both, the city's staff only the city's
    every = client.get("/api/v1/carbon/measures?limit=1000", headers=admin).json()
    assert {city_m["id"], county_m["id"]} <= {m["id"] for m in every["items"]}
    staff = _h(session, Role.jurisdiction_staff, ids["city"])
    seen = client.get("/api/v1/carbon/measures?limit=1000", headers=staff).json()["items"]
    assert city_m in seen and county_m["id"] not in {m["id"] for m in seen}
    # staff cannot remove; another member's measure does not exist for the city's admin
    assert client.delete(f"/api/v1/carbon/measures/{city_m['id']}",
                         headers=staff).status_code == 403
    assert client.delete(f"/api/v1/carbon/measures/{county_m['id']}",
                         headers=city_admin).status_code == 404
    r = client.delete(f"/api/v1/carbon/measures/{city_m['id']}", headers=city_admin)
    assert r.status_code == 200 and r.json()["name"] == "Electric <b>buses</b>"
    session.expire_all()
    assert session.get(Measure, city_m["id"]) is None
    assert session.scalars(select(AuditEvent).where(
        AuditEvent.action == "carbon.measure.remove",
        AuditEvent.entity_id == str(city_m["id"]))).first() is not None


def test_progress_json(client: TestClient, session: Session, recorded: dict[str, int]) -> None:
    admin = _h(session, Role.regional_admin)
    city = recorded["city"]
    client.post("/api/v1/carbon/targets", headers=admin, json={
        "jurisdiction_id": city, "base_year": 2015, "target_year": 2030,
        "reduction_pct": 50, "label": "Half by 2030"})
    client.post("/api/v1/carbon/measures", headers=admin, json={
        "jurisdiction_id": city, "kind": "other", "name": "Boiler swap", "start_year": 2020,
        "t_co2e_per_year": 10})
    r = client.get(f"/api/v1/carbon/progress?jurisdiction_id={city}&horizon=2040",
                   headers=admin)
    assert r.status_code == 200, r.text
    p = r.json()
    assert p["unit"] == "t CO2e/year" and p["method"] == "location"
    assert p["factor_set"] == "epa-hub-2025" and p["gwp_set"] == "AR5"
    assert set(p["formulas"]) >= {"trajectory", "bau", "with_measures"}
    history = {h["year"]: h["t_co2e"] for h in p["history"] if not h["partial"]}
    # 2015 holds only the hall: 33,000 therms = 3,300 MMBtu at Hub 2025 Table 1's 53.06 kg
    # CO2, 1 g CH4 and 0.1 g N2O per MMBtu (AR5: 28, 265)
    assert history[2015] == pytest.approx(3300 * (53.06 + 0.001 * 28 + 0.0001 * 265) / 1000,
                                          rel=1e-6)
    inv = client.get(f"/api/v1/carbon/inventory?by=jurisdiction&jurisdiction_id={city}",
                     headers=admin).json()["items"]
    assert history == {i["year"]: pytest.approx(i["t_co2e_location"]) for i in inv
                       if i["year"] in history}
    traj = {v["year"]: v["t_co2e"] for v in p["trajectory"]}
    assert traj[2015] == pytest.approx(history[2015])
    assert traj[2030] == pytest.approx(history[2015] * 0.5)
    bau = {v["year"]: v["t_co2e"] for v in p["bau"]}
    with_m = {v["year"]: v["t_co2e"] for v in p["with_measures"]}
    assert with_m[2025] == pytest.approx(max(0.0, bau[2025] - 10))
    assert with_m[2019] == pytest.approx(bau[2019])
    assert [m["name"] for m in p["measures"]] == ["Boiler swap"]
    # a member's staff: their own member, not the county's, not the region's
    staff = _h(session, Role.jurisdiction_staff, city)
    assert client.get(f"/api/v1/carbon/progress?jurisdiction_id={city}",
                      headers=staff).status_code == 200
    assert client.get(f"/api/v1/carbon/progress?jurisdiction_id={recorded['county']}",
                      headers=staff).status_code == 404
    own = client.get("/api/v1/carbon/progress", headers=staff).json()  # their own member
    assert own["jurisdiction_id"] == city and own["history"] == p["history"]
    region = client.get("/api/v1/carbon/progress", headers=admin).json()
    assert region["label"] == "Region" and region["jurisdiction_id"] is None
    assert client.get("/api/v1/carbon/progress?gwp_set=AR99",
                      headers=admin).status_code == 404


def test_gwp_sets_list_and_upload(client: TestClient, session: Session,
                                  ids: dict[str, int]) -> None:
    admin = _h(session, Role.regional_admin)
    staff = _h(session, Role.jurisdiction_staff, ids["city"])
    listed = client.get("/api/v1/carbon/gwp-sets", headers=staff).json()
    names = {s["name"]: s for s in listed["items"]}
    assert {"AR5", "AR6"} <= set(names) and names["AR5"]["builtin"] is True
    assert {g["gas"]: g["value"] for g in names["AR5"]["gases"]}["CH4"] == 28
    good = b"gas,value,source\nCO2,1,\nCH4,25,AR4 Table 2.14\nN2O,298,AR4 Table 2.14\n"
    form = {"name": "AR4", "source": "IPCC AR4 WG1"}
    assert client.post("/api/v1/carbon/gwp-sets", headers=staff, data=form,
                       files={"file": ("ar4.csv", good, "text/csv")}).status_code == 403
    r = client.post("/api/v1/carbon/gwp-sets", headers=admin, data=form,
                    files={"file": ("ar4.csv", good, "text/csv")})
    assert r.status_code == 201, r.text
    ar4 = r.json()
    assert ar4["name"] == "AR4" and not ar4["builtin"]
    assert {g["gas"]: g["value"] for g in ar4["gases"]}.items() >= {
        "CO2": 1, "CH4": 25, "N2O": 298}.items()
    # the same file again changes nothing
    again = client.post("/api/v1/carbon/gwp-sets", headers=admin, data=form,
                        files={"file": ("ar4.csv", good, "text/csv")})
    assert again.status_code == 201 and again.json() == ar4
    # bad rows: 422 naming row and field, nothing added
    bad = b"gas,value\nCO2,1\nCH4,lots\nN2O,-3\n"
    r = client.post("/api/v1/carbon/gwp-sets", headers=admin,
                    data={"name": "AR4b", "source": "x"},
                    files={"file": ("bad.csv", bad, "text/csv")})
    assert r.status_code == 422
    assert {(e["row"], e["column"]) for e in r.json()["errors"]} == {(3, "value"), (4, "value")}
    assert client.post("/api/v1/carbon/gwp-sets", headers=admin,
                       data={"name": "no spaces!", "source": "x"},
                       files={"file": ("ar4.csv", good, "text/csv")}).status_code == 422
    assert client.post("/api/v1/carbon/gwp-sets", headers=admin, data={"name": "AR5",
                                                                      "source": "x"},
                       files={"file": ("ar4.csv", good, "text/csv")}).status_code == 409
    session.expire_all()
    assert not session.scalars(select(Gwp).where(Gwp.gwp_set == "AR4b")).first()
    # bounded while it streams: past 1 MB (+ the form's room) it is a 413, never parsed
    big = b"gas,value\nCO2,1\n" + b"X" * (service.MAX_GWP_FILE + 100 * 1024)
    r = client.post("/api/v1/carbon/gwp-sets", headers=admin, data={"name": "AR4c",
                                                                     "source": "x"},
                    files={"file": ("big.csv", big, "text/csv")})
    assert r.status_code == 413
