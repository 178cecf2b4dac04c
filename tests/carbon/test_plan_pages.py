"""The targets and planned-measures page: add, list and remove targets for a member and for
the region, add and remove measures; refusals named per field (core.forms), nothing saved;
who may do what."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from govshare.carbon.models import Measure, Target
from govshare.core.audit import AuditEvent
from tests.conftest import csrf_from, login


def _token(client: TestClient) -> str:
    page = client.get("/carbon/targets")
    assert page.status_code == 200, page.text
    return csrf_from(page.text)


def test_targets_add_list_remove(client: TestClient, session: Session,
                                 ids: dict[str, int]) -> None:
    login(client, "admin@demo.govshare.org")
    token = _token(client)
    r = client.post("/carbon/targets", data={
        "csrf_token": token, "jurisdiction_id": "region", "label": "<i>Region</i> 2030",
        "base_year": "2016", "target_year": "2030", "reduction_pct": "50"},
        follow_redirects=False)
    assert r.status_code == 303
    r = client.post("/carbon/targets", data={
        "csrf_token": token, "jurisdiction_id": str(ids["city"]), "label": "City net zero",
        "base_year": "2016", "target_year": "2050", "reduction_pct": "100"},
        follow_redirects=False)
    assert r.status_code == 303
    mine = {t.label: t for t in session.scalars(select(Target)).all()}
    assert mine["<i>Region</i> 2030"].jurisdiction_id is None
    assert mine["City net zero"].jurisdiction_id == ids["city"]
    assert mine["City net zero"].reduction_pct == 100
    page = client.get("/carbon/targets").text
    assert "&lt;i&gt;Region&lt;/i&gt; 2030" in page and "<i>Region</i>" not in page
    assert "City net zero" in page
    # the member's page draws its trajectory from it
    member = client.get(f"/carbon/jurisdictions/{ids['city']}").text
    assert "City net zero: 100% below 2016 by 2050" in member
    # removed: gone from the page and the store, with an audit row
    tid = mine["City net zero"].id
    r = client.post(f"/carbon/targets/{tid}/delete", data={"csrf_token": token},
                    follow_redirects=False)
    assert r.status_code == 303
    session.expire_all()
    assert session.get(Target, tid) is None
    page = client.get("/carbon/targets").text
    assert "Target removed: City net zero" in page and "<td data-label=\"Label\">City net zero" \
        not in page
    assert session.scalars(select(AuditEvent).where(
        AuditEvent.action == "carbon.target.remove")).first() is not None
    assert client.post("/carbon/targets/999999/delete",
                       data={"csrf_token": token}).status_code == 404
    assert client.post("/carbon/targets/0/delete",
                       data={"csrf_token": token}).status_code == 422


def test_target_form_names_each_field(client: TestClient, session: Session,
                                      ids: dict[str, int]) -> None:
    login(client, "admin@demo.govshare.org")
    token = _token(client)
    before = len(session.scalars(select(Target)).all())
    r = client.post("/carbon/targets", data={
        "csrf_token": token, "jurisdiction_id": str(ids["city"]), "label": "",
        "base_year": "1890", "target_year": "soon", "reduction_pct": "150"})
    assert r.status_code == 422
    text = r.text
    assert "Nothing was saved" in text
    for label in ("Label", "Base year", "Target year", "Reduction below the base year, %"):
        assert f"<strong>{label}</strong>" in text, label
    assert 'href="#target-base_year"' in text and 'id="target-base_year"' in text
    assert 'usa-input--error" id="target-reduction_pct"' in text
    assert 'value="soon"' in text  # what was typed is kept
    r = client.post("/carbon/targets", data={
        "csrf_token": token, "jurisdiction_id": str(ids["city"]), "label": "Backwards",
        "base_year": "2030", "target_year": "2016", "reduction_pct": "10"})
    assert r.status_code == 422 and "Target_year must come after base_year" in r.text
    r = client.post("/carbon/targets", data={
        "csrf_token": token, "jurisdiction_id": "", "label": "Whose?",
        "base_year": "2016", "target_year": "2030", "reduction_pct": "10"})
    assert r.status_code == 422 and "<strong>Whose target</strong>" in r.text
    session.expire_all()
    assert len(session.scalars(select(Target)).all()) == before


def test_member_admin_plans_its_own_only(client: TestClient, session: Session,
                                         ids: dict[str, int]) -> None:
    login(client, "seattle.admin@demo.govshare.org")
    page = client.get("/carbon/targets")
    assert page.status_code == 200
    options = re.findall(r'<option value="([^"]*)"', page.text)
    assert "region" not in options and str(ids["county"]) not in options
    token = csrf_from(page.text)
    for jid in ("region", str(ids["county"])):
        r = client.post("/carbon/targets", data={
            "csrf_token": token, "jurisdiction_id": jid, "label": "Not mine",
            "base_year": "2016", "target_year": "2030", "reduction_pct": "10"})
        assert r.status_code in (403, 404), (jid, r.status_code)
    r = client.post("/carbon/targets", data={
        "csrf_token": token, "jurisdiction_id": str(ids["city"]), "label": "Ours",
        "base_year": "2016", "target_year": "2030", "reduction_pct": "40"},
        follow_redirects=False)
    assert r.status_code == 303
    # a regional target is listed to the member but not removable by it
    region_t = Target(region_id=session.scalars(select(Target.region_id)).first(),
                      jurisdiction_id=None, base_year=2016, target_year=2040,
                      reduction_pct=60, label="Regional goal")
    session.add(region_t)
    session.commit()
    page = client.get("/carbon/targets").text
    assert "Regional goal" in page and f"/carbon/targets/{region_t.id}/delete" not in page
    assert client.post(f"/carbon/targets/{region_t.id}/delete",
                       data={"csrf_token": token}).status_code == 403
    # staff read, but do not plan
    login(client, "seattle.staff@demo.govshare.org")
    page = client.get("/carbon/targets")
    assert page.status_code == 200 and "Add a target" not in page.text
    assert client.post("/carbon/targets", data={
        "csrf_token": csrf_from(page.text), "jurisdiction_id": str(ids["city"]),
        "label": "x", "base_year": "2016", "target_year": "2030",
        "reduction_pct": "1"}).status_code == 403


def test_measures_form(client: TestClient, session: Session, ids: dict[str, int]) -> None:
    login(client, "admin@demo.govshare.org")
    token = _token(client)
    r = client.post("/carbon/measures/new", data={
        "csrf_token": token, "jurisdiction_id": str(ids["county"]), "kind": "teleport",
        "name": "", "start_year": "20x0", "t_co2e_per_year": "-5", "cost_cents": "1.5"})
    assert r.status_code == 422
    for label in ("Kind", "Name", "First year it takes effect",
                  "Avoided emissions, t CO2e a year", "Cost, cents"):
        assert f"<strong>{label}</strong>" in r.text, label
    assert 'href="#measure-t_co2e_per_year"' in r.text
    assert not session.scalars(select(Measure).where(Measure.name == "")).first()
    r = client.post("/carbon/measures/new", data={
        "csrf_token": token, "jurisdiction_id": str(ids["county"]), "kind": "electrification",
        "name": "Electric <b>buses</b>", "start_year": "2027", "t_co2e_per_year": "120.5",
        "cost_cents": "25000000"}, follow_redirects=False)
    assert r.status_code == 303
    m = session.scalars(select(Measure).where(Measure.name == "Electric <b>buses</b>")).one()
    assert m.t_co2e_per_year == 120.5 and m.cost_cents == 25_000_000
    page = client.get("/carbon/targets").text
    assert "Electric &lt;b&gt;buses&lt;/b&gt;" in page and "$250,000" in page
    mid = m.id
    r = client.post(f"/carbon/measures/{mid}/delete", data={"csrf_token": token},
                    follow_redirects=False)
    assert r.status_code == 303
    session.expire_all()
    assert session.get(Measure, mid) is None
