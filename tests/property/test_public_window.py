"""The public window: only published fields ever leave (HTML, JSON, CSV, GeoJSON), contact
details never do, the honeypot and the rate limit, which asset takes which submission, and the
staff workflow with its history and its jurisdiction boundary."""

from __future__ import annotations

import csv
import io
import itertools
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session

from govshare.core import tabular
from govshare.core.tenancy import Principal, Role
from govshare.property import service
from govshare.property.models import Asset, AssetStatus, Proposal, ProposalStatusChange
from govshare.property.public_window import service as public
from govshare.property.schemas import AssetIn, ProposalDecision, ProposalIn
from govshare.regions import queries as regions_queries
from tests.conftest import csrf_from, login
from tests.factories.regions import api_key

_codes = itertools.count()

# Private values no public response may contain, in every form a page or feed could print.
SECRET = dict(repair_needs_cents=123_456_789, replacement_value_cents=987_654_321,
              annual_om_cost_cents=555_444_333, annual_energy_cost_cents=222_333_444,
              electricity_kwh=13_579_246.0, natural_gas_therms=24_681.0, energy_year=2016,
              capacity=4_242, occupancy=1_717,
              # the public page's groups ("zoning", "contact"), not published here
              zoning="Q-9 Quillzone", contact_name="Hidden Contactperson",
              contact_email="hidden.contact@example.gov", contact_phone="206-555-0199")
SECRET_STRINGS = ("123456789", "1,234,568", "1,234,567", "987654321", "9,876,543",
                  "555444333", "5,554,443", "222333444", "2,223,334", "13579246",
                  "13,579,246", "24681", "24,681", "4242", "4,242", "1717", "1,717",
                  "Quillzone", "Contactperson", "hidden.contact", "555-0199")
ADDRESS = "4321 Quillback Avenue"
CONTACT = "ada.proposer@example.org"


def make_asset(session: Session, system: Principal, jid: int, *, name: str,
               status: str = "surplus",
               groups: list[str] | None = None, **kw: Any) -> Asset:
    values: dict[str, Any] = dict(
        asset_code=f"PW-{next(_codes)}", name=name, use="office", address=ADDRESS,
        city="Seattle", zip="98104", lon=-122.3321, lat=47.6062,
        gross_floor_area_ft2=31_000, year_built=1961, status=status,
        public_groups=["identity", "location", "size", "status"] if groups is None else groups)
    values.update(kw)
    a = service.create_asset(session=session, actor=system, jurisdiction_id=jid,
                             data=AssetIn(**values))
    session.commit()
    return a


def form(client: TestClient, asset_id: int, **overrides: str) -> dict[str, str]:
    page = client.get(f"/property/public/{asset_id}")
    assert page.status_code == 200, page.text
    if 'name="csrf_token"' not in page.text:  # no form offered: take a token elsewhere
        page = client.get("/login")
    data = {"csrf_token": csrf_from(page.text), "kind": "proposal", "name": "Ada Proposer",
            "organization": "Quillback Tenants Union", "contact_email": CONTACT,
            "proposed_use": "Community kitchen and food bank",
            "description": "A kitchen run by volunteers five days a week, paid by grants.",
            "website": ""}
    data.update(overrides)
    return data


def submit(client: TestClient, asset_id: int, **overrides: str) -> Any:
    return client.post(f"/property/public/{asset_id}/proposals",
                       data=form(client, asset_id, **overrides), follow_redirects=False)


def proposals_of(session: Session, asset_id: int) -> list[Proposal]:
    return list(session.scalars(select(Proposal).where(Proposal.asset_id == asset_id)))


# ------------------------------------------------------------------------- only public fields


def test_a_private_field_heavy_asset_shows_only_its_published_fields_everywhere(
        client: TestClient, session: Session, ids: dict[str, int], system: Principal) -> None:
    a = make_asset(session, system, ids["city"], name="Quillback Annex", **SECRET)
    only = {"q": "quillback annex"}  # narrows every list and feed to this asset
    responses = {
        "window": client.get("/property/public"),
        "window search": client.get("/property/public", params=only),
        "asset page": client.get(f"/property/public/{a.id}"),
        "csv": client.get("/property/public.csv"),
        "csv search": client.get("/property/public.csv", params=only),
        "geojson": client.get("/property/public.geojson"),
        "geojson search": client.get("/property/public.geojson", params=only),
        "api list": client.get("/api/v1/public/assets"),
        "api search": client.get("/api/v1/public/assets", params=only),
        "api asset": client.get(f"/api/v1/public/assets/{a.id}"),
    }
    for what, r in responses.items():
        assert r.status_code == 200, (what, r.text[:300])
        assert "Quillback Annex" in r.text, what
        for s in SECRET_STRINGS:
            assert s not in r.text, f"private value {s} leaked in the {what}"
        if what in ("csv search", "geojson search", "api search", "api asset"):
            # other assets may publish these groups; this one alone must not name them
            for private_field in ("repair_needs_cents", "annual_om_cost_cents",
                                  "electricity_kwh", "capacity", "occupancy"):
                assert private_field not in r.text, f"{private_field} named in the {what}"
    fields = responses["api asset"].json()["fields"]
    assert set(fields) == {"name", "kind", "use", "pm_property_type", "address", "city", "zip",
                           "lon", "lat", "footprint_geojson", "gross_floor_area_ft2",
                           "land_area_acres", "year_built", "status",
                           "proposal_deadline"}
    page = responses["asset page"].text
    assert ADDRESS in page and "31,000 ft²" in page and "1961" in page

    # Publishing the condition group makes exactly those facts public.
    service.publish_groups(session=session, actor=system, asset_id=a.id,
                           groups=["identity", "location", "size", "status", "condition"])
    session.commit()
    page = client.get(f"/property/public/{a.id}").text
    assert "$1,234,568" in page and "$9,876,543" in page
    assert "555444333" not in page and "$5,554,443" not in page


def test_a_private_asset_does_not_exist_for_the_public(
        client: TestClient, session: Session, ids: dict[str, int], system: Principal) -> None:
    a = make_asset(session, system, ids["county"], name="Hidden Depot", groups=[])
    assert client.get(f"/property/public/{a.id}").status_code == 404
    assert client.get(f"/api/v1/public/assets/{a.id}").status_code == 404
    assert client.get(f"/api/v1/public/assets/{a.id}/proposals").status_code == 404
    for path in ("/property/public", "/property/public.csv", "/property/public.geojson",
                 "/api/v1/public/assets?include_in_use=true"):
        assert "Hidden Depot" not in client.get(path).text, path
    r = client.post(f"/api/v1/public/assets/{a.id}/proposals", json={
        "name": "X", "contact_email": "x@example.org", "proposed_use": "Garden",
        "description": "A garden for the neighborhood"})
    assert r.status_code == 404
    page = client.get("/login")  # any page with a visitor's CSRF token
    r = client.post(f"/property/public/{a.id}/proposals", data={
        "csrf_token": csrf_from(page.text), "name": "X", "contact_email": "x@example.org",
        "proposed_use": "Garden", "description": "A garden for the neighborhood"})
    assert r.status_code == 404
    assert proposals_of(session, a.id) == []


def test_an_asset_whose_status_is_unpublished_is_not_listed_and_takes_nothing_here(
        client: TestClient, session: Session, ids: dict[str, int], system: Principal) -> None:
    a = make_asset(session, system, ids["city"], name="Quiet Warehouse",
                   groups=["identity", "location"])
    assert "Quiet Warehouse" not in client.get("/property/public").text
    assert "Quiet Warehouse" not in client.get("/property/public.csv").text
    page = client.get(f"/property/public/{a.id}")
    assert page.status_code == 200
    assert "<strong>Surplus</strong>" not in page.text and "Send proposal" not in page.text
    r = submit(client, a.id)
    assert r.status_code == 400
    assert proposals_of(session, a.id) == []


def test_search_matches_published_text_only(
        client: TestClient, session: Session, ids: dict[str, int], system: Principal) -> None:
    make_asset(session, system, ids["city"], name="Marbled Murrelet Hall",
               groups=["identity", "status"], address="77 Obscure Lane")
    found = client.get("/property/public", params={"q": "murrelet hall"}).text
    assert "Marbled Murrelet Hall" in found
    probe = client.get("/property/public", params={"q": "obscure lane"}).text
    assert "Marbled Murrelet Hall" not in probe, "search must not reveal a private address"
    assert "77 Obscure Lane" not in found
    api = client.get("/api/v1/public/assets", params={"q": "obscure"}).json()
    assert api["items"] == [] and api["total"] == 0


def test_window_lists_surplus_vacant_under_used_and_in_use_on_request(
        client: TestClient, session: Session, ids: dict[str, int], system: Principal) -> None:
    names = {s: f"Wndw7 {s} building" for s in ("surplus", "vacant", "under_used", "in_use",
                                                 "disposal_in_progress")}
    for s, n in names.items():
        make_asset(session, system, ids["schools"], name=n, status=s)
    mine = {"q": "wndw7"}  # the demo's own buildings are listed too
    default = client.get("/property/public", params=mine).text
    assert all(names[s] in default for s in ("surplus", "vacant", "under_used"))
    assert names["in_use"] not in default and names["disposal_in_progress"] not in default
    assert "Show what is in use too" in client.get("/property/public").text
    with_in_use = client.get("/property/public", params={**mine, "in_use": "1"}).text
    assert names["in_use"] in with_in_use
    only_vacant = client.get("/property/public", params={**mine, "status": "vacant"}).text
    assert names["vacant"] in only_vacant and names["surplus"] not in only_vacant
    # the feeds honor the same filters
    feed = client.get("/property/public.geojson", params={**mine, "status": "in_use"}).json()
    assert [f["properties"]["name"] for f in feed["features"]] == [names["in_use"]]
    # every status the window shows is explained on the page
    for label in ("Surplus", "Vacant", "Under-used", "In use"):
        assert f"<dt>{label}</dt>" in default


# ------------------------------------------------------------------------- feeds


def test_geojson_feed_is_rfc7946(client: TestClient, session: Session, ids: dict[str, int],
                                 system: Principal) -> None:
    located = make_asset(session, system, ids["city"], name="Feed located")
    unlocated = make_asset(session, system, ids["city"], name="Feed unlocated",
                           groups=["identity", "status"])
    r = client.get("/property/public.geojson")
    assert r.headers["content-type"] == "application/geo+json"
    doc = r.json()
    assert doc["type"] == "FeatureCollection"
    by_id = {f["id"]: f for f in doc["features"]}
    f = by_id[located.id]
    assert f["type"] == "Feature"
    assert f["geometry"] == {"type": "Point", "coordinates": [-122.3321, 47.6062]}
    assert f["properties"]["status"] == "surplus"
    assert f["properties"]["url"].endswith(f"/property/public/{located.id}")
    assert "lon" not in f["properties"] and "lat" not in f["properties"]
    assert by_id[unlocated.id]["geometry"] is None
    assert "address" not in by_id[unlocated.id]["properties"]


def test_csv_feed_neutralizes_formulas_and_keeps_numbers(
        client: TestClient, session: Session, ids: dict[str, int], system: Principal) -> None:
    evil = make_asset(session, system, ids["city"], name='=HYPERLINK("http://x.test","y")',
                      address="+1 Formula Way", city="@Seattle")
    plain = make_asset(session, system, ids["city"], name="-Dash Depot")
    r = client.get("/property/public.csv")
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = {row["id"]: row for row in csv.DictReader(io.StringIO(r.text))}
    row = rows[str(evil.id)]
    assert row["name"] == "'=HYPERLINK(\"http://x.test\",\"y\")"
    assert row["address"] == "'+1 Formula Way" and row["city"] == "'@Seattle"
    assert rows[str(plain.id)]["name"] == "'-Dash Depot"
    assert row["lon"] == "-122.3321", "numbers are ours and stay numbers"
    assert row["status"] == "surplus" and row["jurisdiction"] == "City of Seattle"


def test_the_public_csv_escapes_like_the_export_so_names_round_trip(
        client: TestClient, session: Session, ids: dict[str, int], system: Principal) -> None:
    """Issue 8: the public feed had its own formula escaper, which left "'=x" as it was; read
    back by the importer (or any reader that strips the escape) it became "=x"."""
    quoted = make_asset(session, system, ids["city"], name="'=Annex")
    row = {r["id"]: r for r in csv.DictReader(io.StringIO(
        client.get("/property/public.csv").text))}[str(quoted.id)]
    assert row["name"] == "''=Annex" == tabular.neutralize("'=Annex")
    assert tabular.unneutralize(row["name"]) == "'=Annex"


# ------------------------------------------------------------------------- submitting


def test_a_proposal_through_the_form_gets_a_reference_and_stays_anonymous_in_public(
        client: TestClient, session: Session, ids: dict[str, int], system: Principal) -> None:
    a = make_asset(session, system, ids["city"], name="Heron Hall")
    page = client.get(f"/property/public/{a.id}").text
    assert "Propose a use" in page and "Send proposal" in page
    assert 'name="website"' in page and "Leave this field empty" in page
    r = submit(client, a.id)
    assert r.status_code == 201, r.text
    (p,) = proposals_of(session, a.id)
    assert p.contact_email == CONTACT and p.kind == "proposal" and p.status == "received"
    assert public.reference(p.id) in r.text
    assert r.headers["cache-control"] == "no-store"
    for private in (CONTACT, "Ada Proposer"):
        assert private not in r.text, "the confirmation must not echo contact details"
    after = client.get(f"/property/public/{a.id}").text
    assert "Community kitchen and food bank" in after and public.reference(p.id) in after
    api = client.get(f"/api/v1/public/assets/{a.id}/proposals").json()["items"]
    assert [x["proposed_use"] for x in api] == ["Community kitchen and food bank"]
    for text in (after, str(api), client.get("/property/public").text,
                 client.get("/property/public.csv").text,
                 client.get("/property/public.geojson").text):
        for private in (CONTACT, "Ada Proposer", "Quillback Tenants Union", "five days a week"):
            assert private not in text
    history = session.scalars(select(ProposalStatusChange)
                              .where(ProposalStatusChange.proposal_id == p.id)).all()
    assert [(h.from_status, h.to_status, h.actor) for h in history] == [
        (None, "received", "anonymous")]


def test_invalid_form_is_shown_again_with_reasons_and_nothing_stored(
        client: TestClient, session: Session, ids: dict[str, int], system: Principal) -> None:
    a = make_asset(session, system, ids["city"], name="Loon Lodge")
    r = submit(client, a.id, contact_email="not-an-address", description="short")
    assert r.status_code == 422
    assert "was not sent" in r.text and "E-mail address" in r.text and "Description" in r.text
    assert 'value="Community kitchen and food bank"' in r.text, "input is kept"
    assert proposals_of(session, a.id) == []
    no_csrf = form(client, a.id)
    no_csrf.pop("csrf_token")
    assert client.post(f"/property/public/{a.id}/proposals", data=no_csrf).status_code == 403


def test_honeypot_looks_accepted_and_stores_nothing(
        client: TestClient, session: Session, ids: dict[str, int], system: Principal) -> None:
    a = make_asset(session, system, ids["city"], name="Grebe Garage")
    before = session.scalar(select(func.count()).select_from(Proposal))
    r = submit(client, a.id, website="http://spam.example")
    assert r.status_code == 201
    assert "Your reference number" in r.text and "P-" in r.text
    assert session.scalar(select(func.count()).select_from(Proposal)) == before


def test_submissions_are_rate_limited_per_client(
        client: TestClient, session: Session, ids: dict[str, int], system: Principal) -> None:
    a = make_asset(session, system, ids["city"], name="Puffin Place")
    for i in range(public.SUBMISSIONS_PER_WINDOW - 1):
        assert submit(client, a.id, proposed_use=f"Use number {i}").status_code == 201
    assert submit(client, a.id, website="bot").status_code == 201  # the honeypot counts too
    r = submit(client, a.id, proposed_use="One too many")
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) > 0
    assert "Try again later" in r.text or "try again later" in r.text
    assert 'value="One too many"' in r.text, "the sender's text is not lost"
    api = client.post(f"/api/v1/public/assets/{a.id}/proposals", json={
        "name": "Bot", "contact_email": "bot@example.org", "proposed_use": "Anything",
        "description": "Anything at all, again"})
    assert api.status_code == 429
    assert api.headers["content-type"].startswith("application/problem+json")
    assert len(proposals_of(session, a.id)) == public.SUBMISSIONS_PER_WINDOW - 1


@pytest.mark.parametrize("status,offered,refused", [
    ("surplus", "proposal", "challenge"), ("vacant", "proposal", "challenge"),
    ("under_used", "proposal", "challenge"), ("in_use", "challenge", "proposal"),
])
def test_proposals_for_idle_property_and_challenges_for_property_in_use(
        client: TestClient, session: Session, ids: dict[str, int], system: Principal,
        status: str, offered: str, refused: str) -> None:
    a = make_asset(session, system, ids["port"], name=f"Kind check {status}", status=status)
    page = client.get(f"/property/public/{a.id}").text
    heading = "Propose a use" if offered == "proposal" else "Challenge the current use"
    assert heading in page
    assert f'name="kind" value="{offered}"' in page
    assert submit(client, a.id, kind=refused).status_code == 400
    assert submit(client, a.id, kind=offered).status_code == 201
    assert [p.kind for p in proposals_of(session, a.id)] == [offered]


def test_property_being_disposed_of_takes_nothing(
        client: TestClient, session: Session, ids: dict[str, int], system: Principal) -> None:
    a = make_asset(session, system, ids["city"], name="Going Going", status="surplus")
    service.transition(session=session, actor=system, asset_id=a.id,
                       to_status=AssetStatus.disposal_in_progress)
    session.commit()
    page = client.get(f"/property/public/{a.id}").text
    assert "does not take proposals or challenges" in page
    assert "/proposals\"" not in page, "no submission form"
    for kind in ("proposal", "challenge"):
        assert submit(client, a.id, kind=kind).status_code == 400


def test_the_json_api_takes_proposals_without_a_key_and_returns_no_contact(
        client: TestClient, session: Session, ids: dict[str, int], system: Principal) -> None:
    a = make_asset(session, system, ids["city"], name="Auklet Annex", status="vacant")
    body = {"name": "Ben API", "organization": "Civic Tech", "contact_email": "ben@example.org",
            "proposed_use": "Makerspace", "description": "Tools and classes for everyone."}
    r = client.post(f"/api/v1/public/assets/{a.id}/proposals", json=body)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["status"] == "received" and out["proposed_use"] == "Makerspace"
    assert not {"name", "organization", "contact_email", "description"} & set(out)
    assert "ben@example.org" not in r.text
    bad = client.post(f"/api/v1/public/assets/{a.id}/proposals",
                      json={**body, "contact_email": "nope"})
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")


# ------------------------------------------------------------------------- the staff workflow


def _proposal(session: Session, asset_id: int, **kw: Any) -> Proposal:
    anonymous = Principal(kind="anonymous", role=Role.public)
    data = ProposalIn(name="Cy Citizen", contact_email="cy@example.org",
                      proposed_use=kw.pop("proposed_use", "Youth center"),
                      description="Evenings and weekends for teenagers.", **kw)
    p = service.submit_proposal(session=session, actor=anonymous, asset_id=asset_id, data=data)
    session.commit()
    return p


def test_staff_run_the_workflow_with_history_and_a_public_reason(
        client: TestClient, session: Session, ids: dict[str, int], system: Principal) -> None:
    a = make_asset(session, system, ids["city"], name="Osprey Office")
    p = _proposal(session, a.id)
    login(client, "seattle.staff@demo.govshare.org")

    queue = client.get("/property/proposals")
    assert queue.status_code == 200
    assert public.reference(p.id) in queue.text and "Cy Citizen" in queue.text
    detail = client.get(f"/property/proposals/{p.id}")
    assert "cy@example.org" in detail.text and "Evenings and weekends" in detail.text
    token = csrf_from(detail.text)

    def decide(**data: str) -> Any:
        return client.post(f"/property/proposals/{p.id}/decide",
                           data={"csrf_token": token, **data}, follow_redirects=False)

    assert decide(to_status="accepted", public_reason="Yes").status_code == 409  # not yet
    assert "Choose the new status" in decide(public_reason="No status").text
    r = decide(to_status="under_review", note="Call the applicant")
    assert r.status_code == 303 and r.headers["location"] == f"/property/proposals/{p.id}"
    r = decide(to_status="declined", public_reason="")
    assert r.status_code == 400 and "public reason" in r.text
    r = decide(to_status="declined", public_reason="The building is needed for the new fire "
               "station from 2027.", note="Internal: budget line 44")
    assert r.status_code == 303
    final = client.get(f"/property/proposals/{p.id}").text
    assert "the decision is final" in final and "Save answer" not in final
    assert "Call the applicant" in final and "Internal: budget line 44" in final
    assert decide(to_status="accepted", public_reason="Changed our mind").status_code == 409

    client.cookies.clear()
    public_page = client.get(f"/property/public/{a.id}").text
    assert "needed for the new fire station" in public_page and "Declined" in public_page
    assert "Internal: budget line 44" not in public_page
    assert "Call the applicant" not in public_page
    assert "cy@example.org" not in public_page and "Cy Citizen" not in public_page
    history = session.scalars(select(ProposalStatusChange)
                              .where(ProposalStatusChange.proposal_id == p.id)
                              .order_by(ProposalStatusChange.id)).all()
    assert [(h.from_status, h.to_status) for h in history] == [
        (None, "received"), ("received", "under_review"), ("under_review", "declined")]
    assert history[1].note == "Call the applicant" and history[1].actor.startswith("user:")


def test_another_jurisdictions_staff_cannot_see_contacts_or_decide(
        client: TestClient, session: Session, ids: dict[str, int], system: Principal) -> None:
    a = make_asset(session, system, ids["city"], name="Cormorant Court")
    p = _proposal(session, a.id, proposed_use="Artist studios")
    login(client, "kingcounty.admin@demo.govshare.org")
    queue = client.get("/property/proposals", params={"show": "all"}).text
    assert public.reference(p.id) not in queue
    detail = client.get(f"/property/proposals/{p.id}")
    assert detail.status_code == 200  # what the public sees, as in the registry
    assert "Artist studios" in detail.text
    assert "cy@example.org" not in detail.text and "Cy Citizen" not in detail.text
    assert "Evenings and weekends" not in detail.text and "Save answer" not in detail.text
    r = client.post(f"/property/proposals/{p.id}/decide", data={
        "csrf_token": csrf_from(detail.text), "to_status": "under_review"})
    assert r.status_code == 404
    key = api_key(session, Role.jurisdiction_admin, ids["county"], name="kc decide")
    session.commit()
    r = client.post(f"/api/v1/proposals/{p.id}/decision", json={"to_status": "under_review"},
                    headers={"X-API-Key": key})
    assert r.status_code == 404
    listed = client.get("/api/v1/proposals", headers={"X-API-Key": key}).json()["items"]
    assert p.id not in [x["id"] for x in listed]
    session.refresh(p)
    assert p.status == "received"


def test_regional_roles_see_every_members_queue_and_the_api_decides(
        client: TestClient, session: Session, ids: dict[str, int], system: Principal) -> None:
    city = _proposal(session, make_asset(session, system, ids["city"], name="Q city").id)
    port = _proposal(session, make_asset(session, system, ids["port"], name="Q port").id)
    analyst = api_key(session, Role.regional_analyst, name="analyst")
    seattle = api_key(session, Role.jurisdiction_staff, ids["city"], name="sea staff")
    session.commit()
    seen = [x["id"] for x in client.get("/api/v1/proposals",
                                        headers={"X-API-Key": analyst}).json()["items"]]
    assert city.id in seen and port.id in seen
    mine = client.get("/api/v1/proposals", headers={"X-API-Key": seattle}).json()["items"]
    assert [x["id"] for x in mine if x["id"] in (city.id, port.id)] == [city.id]
    assert mine[0]["contact_email"] == "cy@example.org"
    r = client.post(f"/api/v1/proposals/{city.id}/decision",
                    json={"to_status": "under_review", "note": "looking"},
                    headers={"X-API-Key": seattle})
    assert r.status_code == 200 and r.json()["status"] == "under_review"
    r = client.post(f"/api/v1/proposals/{city.id}/decision",
                    json={"to_status": "accepted"}, headers={"X-API-Key": seattle})
    assert r.status_code == 400  # a public reason is required
    assert client.post(f"/api/v1/proposals/{city.id}/decision",
                       json={"to_status": "accepted", "public_reason": "ok"},
                       headers={"X-API-Key": analyst}).status_code == 403


def test_service_decision_is_refused_to_the_public(session: Session, ids: dict[str, int],
                                                   system: Principal) -> None:
    a = make_asset(session, system, ids["city"], name="Svc check")
    p = _proposal(session, a.id)
    from govshare.core.errors import NotFound

    with pytest.raises(NotFound):
        service.decide_proposal(session=session, actor=Principal(kind="anonymous",
                                                                 role=Role.public),
                                proposal_id=p.id,
                                data=ProposalDecision(to_status="under_review"))  # type: ignore[arg-type]


def test_the_list_pages_and_keeps_the_search(client: TestClient, session: Session,
                                            ids: dict[str, int], system: Principal,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from govshare.property.public_window import pages as public_pages

    monkeypatch.setattr(public_pages, "PAGE_SIZE", 2)
    for n in ("Pgx A", "Pgx B", "Pgx C"):
        make_asset(session, system, ids["city"], name=n)
    first = client.get("/property/public", params={"q": "pgx"}).text
    assert "Page 1 of 2" in first and "Pgx A" in first and "Pgx C" not in first
    assert 'href="/property/public?q=pgx&amp;page=2#results"' in first
    second = client.get("/property/public", params={"q": "pgx", "page": "2"}).text
    assert "Pgx C" in second and "Pgx A" not in second and "Previous page" in second
    beyond = client.get("/property/public", params={"q": "pgx", "page": "9"}).text
    assert "Page 2 of 2" in beyond


# ------------------------------------------------------------------------- counts and pages in SQL

LOCATED_RE = re.compile(r"(\d+) of (\d+) listed assets? (?:has|have) a published location")
ROW_RE = re.compile(r'<a href="/property/public/(\d+)">')
FILTERS: list[dict[str, Any]] = [
    {}, {"include_in_use": True}, {"status": "vacant"}, {"status": "in_use"},
    {"use": "office", "include_in_use": True}, {"q": "seattle"}, {"q": "school hall"},
    {"q": "wndw8", "include_in_use": True}]


def _as_before(session: Session, **flt: Any) -> tuple[int, int]:
    """The page's numbers as it computed them before, in Python over every match."""
    region = regions_queries.require_current_region(session=session)
    items, total = public.listing(session=session, region_id=region.id, with_photos=False,
                                  **flt)
    assert total == len(items)
    return len(items), sum(1 for i in items if i.get("lon") is not None)


def _page_numbers(client: TestClient, **flt: Any) -> tuple[int, int]:
    params = {k: ("1" if v is True else v) for k, v in flt.items()}
    if "include_in_use" in params:
        params["in_use"] = params.pop("include_in_use")
    m = LOCATED_RE.search(client.get("/property/public", params=params).text)
    assert m, flt
    return int(m.group(2)), int(m.group(1))


def _counts(session: Session, **flt: Any) -> tuple[int, int]:
    region = regions_queries.require_current_region(session=session)
    c = public.counts(session=session, region_id=region.id, **flt)
    return c.total, c.located


def test_the_window_counts_in_sql_what_it_counted_in_python_on_the_demo(
        client: TestClient, session: Session) -> None:
    assert _as_before(session, include_in_use=True)[1] > 0, "the demo publishes locations"
    for flt in FILTERS:
        before = _as_before(session, **flt)
        assert _counts(session, **flt) == before, flt
        assert _page_numbers(client, **flt) == before, flt


def test_an_unpublished_or_unusable_location_changes_no_public_number(
        client: TestClient, session: Session, ids: dict[str, int], system: Principal) -> None:
    """Only a location the page would show counts as published: not one whose group is
    unpublished (whatever its coordinates), not one stored out of range (read as none), not
    a missing one. Removing the coordinates of an unpublished location changes no number."""
    no_location = ["identity", "size", "status"]
    make_asset(session, system, ids["city"], name="Wndw8 shown")
    hidden = make_asset(session, system, ids["city"], name="Wndw8 hidden", groups=no_location)
    make_asset(session, system, ids["schools"], name="Wndw8 hidden in use", status="in_use",
               groups=no_location)
    make_asset(session, system, ids["city"], name="Wndw8 none", lon=None, lat=None)
    far = [make_asset(session, system, ids["county"], name=f"Wndw8 out of range {n}")
           for n in range(3)]
    make_asset(session, system, ids["county"], name="Wndw8 edge", lon=180.0, lat=-90.0)
    # stored before the ranges existed: read as no location (stored_values)
    for a, (lon, lat) in zip(far, ((181.0, 47.6), (-122.3, 90.5), (-180.5, None)),
                             strict=True):
        session.execute(update(Asset).where(Asset.id == a.id).values(lon=lon, lat=lat))
    session.commit()
    mine = {"q": "wndw8", "include_in_use": True}
    expected = (8, 2)  # "shown" and "edge"
    assert _as_before(session, **mine) == expected
    assert _counts(session, **mine) == expected
    assert _page_numbers(client, **mine) == expected
    assert _counts(session, q="wndw8") == _page_numbers(client, q="wndw8") == (7, 2)
    session.execute(update(Asset).where(Asset.id == hidden.id).values(lon=None, lat=None))
    session.commit()
    assert _counts(session, **mine) == _page_numbers(client, **mine) == expected
    for flt in FILTERS:  # the demo's numbers still agree with these rows among them
        assert _counts(session, **flt) == _as_before(session, **flt), flt


def test_the_list_page_reads_the_rows_of_the_page_it_shows_only(
        client: TestClient, session: Session, ids: dict[str, int], system: Principal) -> None:
    """With 55 matches the page loads at most 50 asset rows (the rest are counted in SQL),
    in the listing's order and with its filters; the feeds, which list every match, load
    all 55."""
    assets = [make_asset(session, system, ids["city"], name=f"Rowbound {n:02d}",
                         status=("surplus", "vacant", "under_used")[n % 3]) for n in range(55)]
    loaded: list[int] = []

    def load(target: Asset, _context: Any) -> None:
        loaded.append(target.id)

    event.listen(Asset, "load", load)
    try:
        for page, shown in ((1, assets[:50]), (2, assets[50:]), (9, assets[50:])):
            loaded.clear()
            text = client.get("/property/public", params={"q": "rowbound", "page": page}).text
            assert "55 assets match your search" in text
            assert ("Page 2 of 2" if page > 1 else "Page 1 of 2") in text
            assert [int(i) for i in ROW_RE.findall(text)] == [a.id for a in shown]
            assert sorted(loaded) == sorted(a.id for a in shown), page
        loaded.clear()
        text = client.get("/property/public", params={"q": "rowbound", "status": "vacant"}
                          ).text
        vacant = [a.id for a in assets if a.status == "vacant"]
        assert [int(i) for i in ROW_RE.findall(text)] == vacant and len(loaded) == 18
        loaded.clear()
        client.get("/property/public", params={"in_use": "1"})  # every listing, the demo's too
        assert 0 < len(loaded) <= 50
        loaded.clear()
        assert client.get("/property/public.geojson", params={"q": "rowbound"}).status_code == 200
        assert sorted(loaded) == sorted(a.id for a in assets)
    finally:
        event.remove(Asset, "load", load)


def test_the_pages_walk_the_listing_in_its_order(
        client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    """Paged in SQL, the pages together are the whole listing in its order, once each."""
    from govshare.property.public_window import pages as public_pages

    monkeypatch.setattr(public_pages, "PAGE_SIZE", 7)
    region = regions_queries.require_current_region(session=session)
    for flt, params in (({"include_in_use": True}, {"in_use": "1"}), ({}, {})):
        items, total = public.listing(session=session, region_id=region.id, **flt)
        assert total > 7
        walked: list[int] = []
        for page in range(1, -(-total // 7) + 1):
            text = client.get("/property/public", params={**params, "page": page}).text
            walked += [int(i) for i in ROW_RE.findall(text)]
        assert walked == [i.id for i in items]


def test_a_proposer_checks_the_status_by_reference(
        client: TestClient, session: Session, ids: dict[str, int], system: Principal) -> None:
    """The reference on the confirmation finds the proposal's row on its asset's public page,
    typed as people type it; a reference never given, or of an asset no longer public, is
    the same 404 with the form and a hint."""
    a = make_asset(session, system, ids["city"], name="Kestrel Hall")
    r = submit(client, a.id)
    (p,) = proposals_of(session, a.id)
    ref = public.reference(p.id)
    assert f'href="/property/proposal-status?reference={ref}"' in r.text
    assert "Check a proposal" in client.get("/property/public").text
    form = client.get("/property/proposal-status")
    assert form.status_code == 200 and 'name="reference"' in form.text
    for typed in (ref, ref.lower(), ref.replace("-", ""), f" {ref.replace('-', ' ')} ",
                  str(p.id)):
        found = client.get("/property/proposal-status", params={"reference": typed},
                           follow_redirects=False)
        assert found.status_code == 303, typed
        assert found.headers["location"] == f"/property/public/{a.id}#{ref}"
    page = client.get(f"/property/public/{a.id}").text
    assert f'<tr id="{ref}">' in page
    for unknown in ("P-999999999", "banana", "P-0", "<script>x</script>"):
        missing = client.get("/property/proposal-status", params={"reference": unknown})
        assert missing.status_code == 404, unknown
        assert "It is on your confirmation page" in missing.text
        assert "<script>x</script>" not in missing.text
    service.publish_groups(session=session, actor=system, asset_id=a.id, groups=[])
    session.commit()  # the asset is withdrawn from the public: its proposals go with it
    gone = client.get("/property/proposal-status", params={"reference": ref})
    assert gone.status_code == 404
