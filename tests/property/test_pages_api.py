"""Property staff pages and JSON API: true cost on the page, status changes, parameters."""

from __future__ import annotations

import html
import re
from urllib.parse import urlencode

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from govshare.core.tenancy import Role
from govshare.property.models import Asset
from tests.conftest import csrf_from, login
from tests.factories.property import asset
from tests.factories.regions import api_key


def test_asset_page_shows_every_cost_component_with_formula_and_sources(
        client: TestClient, session: Session, ids: dict[str, int]) -> None:
    a = asset(session, ids["city"], name="Fleet garage", use="garage_maintenance",
              synthetic_fields=["annual_om_cost_cents"])
    login(client, "seattle.staff@demo.govshare.org")
    r = client.get(f"/property/assets/{a.id}")
    assert r.status_code == 200
    for text in ("Operating and maintenance", "Energy", "Lease", "Repair needs, annualized",
                 "Carbon (social cost)", "Vacant space (social cost)", "eGRID2023",
                 "Social Cost of Greenhouse Gases", "repair needs / 10 years", "synthetic"):
        assert text in r.text, text
    key = api_key(session, Role.regional_analyst)
    api = client.get(f"/api/v1/assets/{a.id}/true-cost",
                     headers={"Authorization": f"Bearer {key}"})
    assert api.status_code == 200
    body = api.json()
    assert body["total_cents"] == sum(c["cents"] for c in body["components"])
    assert f"${body['total_cents'] / 100:,.0f}" in r.text


def test_status_change_through_the_page(client: TestClient, session: Session,
                                        ids: dict[str, int]) -> None:
    a = asset(session, ids["city"])
    login(client, "seattle.staff@demo.govshare.org")
    page = client.get(f"/property/assets/{a.id}")
    r = client.post(f"/property/assets/{a.id}/status",
                    data={"to_status": "disposed", "csrf_token": csrf_from(page.text)})
    assert r.status_code == 400 and "cannot become disposed" in r.text
    r = client.post(f"/property/assets/{a.id}/status",
                    data={"to_status": "surplus", "reason": "moved out",
                          "csrf_token": csrf_from(page.text)}, follow_redirects=False)
    assert r.status_code == 303
    session.refresh(a)
    assert a.status == "surplus"
    assert "moved out" in client.get(f"/property/assets/{a.id}").text


def test_other_member_cannot_open_a_private_asset(client: TestClient, session: Session,
                                                  ids: dict[str, int]) -> None:
    a = asset(session, ids["county"], public_groups=[])
    login(client, "seattle.staff@demo.govshare.org")
    assert client.get(f"/property/assets/{a.id}").status_code == 404
    key = api_key(session, Role.jurisdiction_staff, ids["city"])
    r = client.get(f"/api/v1/assets/{a.id}", headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 404
    r = client.post(f"/api/v1/assets/{a.id}/status", json={"to_status": "vacant"},
                    headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 404


def test_registry_and_utilization_pages(client: TestClient, session: Session,
                                        ids: dict[str, int]) -> None:
    asset(session, ids["city"], name="Half-empty office", capacity=100, occupancy=20)
    login(client, "analyst@demo.govshare.org")
    reg = client.get("/property", params={"q": "half-empty"})
    assert reg.status_code == 200 and "Half-empty office" in reg.text
    assert "Annual true cost by member" in reg.text
    util = client.get("/property/utilization")
    assert util.status_code == 200
    flagged = util.text.split("<h2>Under-used and vacant</h2>")[1].split("<h2>Cost per")[0]
    assert "Half-empty office" in flagged and "under-used" in flagged


def test_parameters_page_admin_only(client: TestClient, session: Session) -> None:
    login(client, "seattle.admin@demo.govshare.org")
    page = client.get("/property/parameters")
    assert page.status_code == 200 and "disabled" in page.text
    r = client.post("/property/parameters", data={"discount_rate": "1.5%",
                                                  "csrf_token": csrf_from(page.text)})
    assert r.status_code == 403
    login(client, "admin@demo.govshare.org")
    page = client.get("/property/parameters")
    r = client.post("/property/parameters", data={"discount_rate": "1.5%",
                                                  "repair_amortization_years": "zero",
                                                  "csrf_token": csrf_from(page.text)})
    assert r.status_code == 422 and "Nothing was saved" in r.text
    r = client.post("/property/parameters", data={"discount_rate": "1.5%",
                                                  "csrf_token": csrf_from(page.text)},
                    follow_redirects=False)
    assert r.status_code == 303
    assert '<option selected>1.5%</option>' in client.get("/property/parameters").text


def test_api_create_and_list(client: TestClient, session: Session, ids: dict[str, int]) -> None:
    key = api_key(session, Role.jurisdiction_staff, ids["city"])
    h = {"Authorization": f"Bearer {key}"}
    body = {"asset_code": "API-1", "name": "Branch library", "use": "library",
            "gross_floor_area_ft2": 8000}
    r = client.post("/api/v1/assets", params={"jurisdiction_id": ids["city"]}, json=body,
                    headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["pm_property_type"] == "Library"
    r = client.post("/api/v1/assets", params={"jurisdiction_id": ids["county"]}, json=body,
                    headers=h)
    assert r.status_code == 403
    listed = client.get("/api/v1/assets", headers=h).json()
    assert "API-1" in {a["asset_code"] for a in listed["items"]}
    assert session.scalars(sa.select(Asset).where(Asset.asset_code == "API-1")).one()


ROW_LINK = re.compile(r'<th scope="row" data-label="Asset">'
                      r'<a href="/property/(?:assets|public)/(\d+)"')
COST_CELL = re.compile(r'<td data-label="True cost">([^<]*)</td>')


def _walk(client: TestClient, **params: str) -> list[int]:
    """Every page of the registry's list, following its Next links; the asset ids in order."""
    seen: list[int] = []
    url: str | None = "/property?" + urlencode(params)
    while url:
        page = client.get(url)
        assert page.status_code == 200
        seen += [int(i) for i in ROW_LINK.findall(page.text)]
        nxt = re.search(r'<a href="([^"]+)" class="usa-pagination__link '
                        r'usa-pagination__next-page"', page.text)
        url = html.unescape(nxt.group(1)) if nxt else None
    return seen


def test_the_registry_pages_and_sorts_and_every_asset_shows_once(
        client: TestClient, session: Session) -> None:
    """Issue 9 §6: /property listed all 195 buildings on one page (114,503 px tall on a
    phone) with no sorting; now 50 a page, sorted four ways, each page a slice of one order."""
    login(client, "analyst@demo.govshare.org")
    total = session.scalar(sa.select(sa.func.count()).select_from(Asset)
                           .where(Asset.status != "disposed"))
    first = client.get("/property")
    assert len(ROW_LINK.findall(first.text)) == 50
    assert re.search(r"Showing 1–50 of \d+", first.text)
    for sort in ("member", "name", "use", "cost"):
        ids = _walk(client, sort=sort)
        assert len(ids) == len(set(ids)) and len(ids) >= min(total or 0, 51), sort
    by_cost = client.get("/property", params={"sort": "cost"}).text.split("<h2>Assets</h2>")[1]
    dollars = [float(c.replace("$", "").replace(",", "")) for c in COST_CELL.findall(by_cost)
               if c.startswith("$")]
    assert len(dollars) == 50 and dollars == sorted(dollars, reverse=True)
    assert client.get("/property", params={"sort": "nonsense"}).status_code == 200
    assert client.get("/property", params={"page": "0"}).status_code == 422


def test_a_member_sorting_by_cost_learns_nothing_of_others_unpublished_costs(
        client: TestClient, session: Session, ids: dict[str, int]) -> None:
    """Sorting by cost ranks only the assets the actor sees in full: other members' follow
    in member order, so their position says nothing about figures they did not publish."""
    login(client, "seattle.staff@demo.govshare.org")
    ranked = _walk(client, sort="cost")
    owners = dict(session.execute(sa.select(Asset.id, Asset.jurisdiction_id)
                                  .where(Asset.id.in_(ranked))).all())
    own = [i for i in ranked if owners[i] == ids["city"]]
    assert ranked[:len(own)] == own  # Seattle's first, then the others
    others = ranked[len(own):]
    assert others == [i for i in _walk(client, sort="member") if owners[i] != ids["city"]]


def test_analysts_find_the_export_on_the_registry_and_may_use_it(client: TestClient) -> None:
    """The only export links were on the import page, which analysts may not open (403)."""
    login(client, "analyst@demo.govshare.org")
    page = client.get("/property")
    links = re.findall(r'href="(/property/export\.[a-z]+)"', page.text)
    assert links == ["/property/export.csv", "/property/export.xlsx", "/property/export.geojson"]
    export = client.get(links[0])
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
