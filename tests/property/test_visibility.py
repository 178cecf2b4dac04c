"""Other members' assets show, and match a search or a filter, on their published fields only.

Issue 8, item 2.3: a City staff user saw the status, floor area and asset id of a King County
asset whose owner published only ``identity``, and ``/property?q=`` matched its unpublished
address and asset id (an oracle). Every surface a member's staff reach is checked here: the
registry page, its search and filters, the JSON list, the asset page, utilization, the
summary and the exports.
"""

from __future__ import annotations

import csv
import io
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from govshare.core.tenancy import Principal, Role
from govshare.property import queries, service
from govshare.property.models import Asset
from tests.conftest import login
from tests.factories.property import asset
from tests.factories.regions import api_key

CODE = "KC-QUIET-7731"
ADDRESS = "1 Unlisted Way"
NAME = "Quiet Heron Depot"


@pytest.fixture
def quiet(session: Session, ids: dict[str, int]) -> Asset:
    """A King County depot that publishes only its identity (name, kind, use)."""
    a = asset(session, ids["county"], asset_code=CODE, name=NAME, address=ADDRESS,
              city="Seattle", zip="98134", use="warehouse", status="surplus",
              gross_floor_area_ft2=48_613, public_groups=["identity"])
    session.commit()
    return a


def _row(html: str, name: str) -> str:
    """The registry table row naming ``name`` (empty if there is none)."""
    rows = re.findall(r"<tr>.*?</tr>", html, flags=re.S)
    return next((r for r in rows if name in r), "")


def test_the_registry_shows_another_members_row_with_published_fields_only(
        client: TestClient, quiet: Asset) -> None:
    login(client, "seattle.staff@demo.govshare.org")
    page = client.get("/property")
    assert page.status_code == 200
    row = _row(page.text, NAME)
    assert row, "the published identity is listed"
    assert f'href="/property/public/{quiet.id}"' in row
    for secret in (CODE, "48,613", ADDRESS):
        assert secret not in page.text, secret
    assert "Surplus" not in row
    assert row.count("not published") == 3  # status, floor area, true cost


@pytest.mark.parametrize("query", [
    {"q": "unlisted"}, {"q": "kc-quiet"}, {"q": "98134"}, {"status": "surplus"},
    {"q": "quiet", "status": "surplus"},
])
def test_search_and_filters_are_no_oracle_for_unpublished_fields(
        client: TestClient, quiet: Asset, query: dict[str, str]) -> None:
    login(client, "seattle.staff@demo.govshare.org")
    assert NAME in client.get("/property", params={"q": "heron depot"}).text
    assert NAME in client.get("/property", params={"use": "warehouse", "q": "quiet"}).text
    assert NAME not in client.get("/property", params=query).text, query


def test_published_groups_become_visible_and_searchable(
        client: TestClient, session: Session, quiet: Asset, system: Principal) -> None:
    service.publish_groups(session=session, actor=system, asset_id=quiet.id,
                           groups=["location", "status", "size"])
    session.commit()
    login(client, "seattle.staff@demo.govshare.org")
    row = _row(client.get("/property", params={"q": "unlisted"}).text, NAME)
    assert "Surplus" in row and "48,613" in row and CODE not in row
    assert NAME in client.get("/property", params={"status": "surplus"}).text
    assert NAME not in client.get("/property", params={"q": "kc-quiet"}).text  # never public


def test_the_owner_and_regional_roles_see_and_find_every_field(
        client: TestClient, quiet: Asset) -> None:
    for email in ("kingcounty.admin@demo.govshare.org", "analyst@demo.govshare.org"):
        login(client, email)
        row = _row(client.get("/property", params={"q": "kc-quiet unlisted"}).text, NAME)
        assert CODE in row and "Surplus" in row and "48,613" in row, email
        assert f'href="/property/assets/{quiet.id}"' in row


def test_json_list_asset_page_utilization_and_summary_hold_only_own_assets(
        client: TestClient, session: Session, ids: dict[str, int], quiet: Asset) -> None:
    key = api_key(session, Role.jurisdiction_staff, ids["city"])
    h = {"Authorization": f"Bearer {key}"}
    listed = client.get("/api/v1/assets", params={"limit": 1000}, headers=h).json()
    assert listed["items"] and {a["jurisdiction_id"] for a in listed["items"]} == {ids["city"]}
    assert client.get("/api/v1/assets", params={"q": "quiet"}, headers=h).json()["total"] == 0
    assert client.get(f"/api/v1/assets/{quiet.id}", headers=h).status_code == 404
    assert client.get(f"/api/v1/assets/{quiet.id}/true-cost", headers=h).status_code == 404
    summary = client.get("/api/v1/property/summary", headers=h).json()
    assert [g["key"] for g in summary["items"]] == ["City of Seattle"]
    by_use = client.get("/api/v1/property/summary", params={"by": "use"}, headers=h).json()
    assert sum(g["count"] for g in by_use["items"]) == sum(
        g["count"] for g in summary["items"])
    login(client, "seattle.staff@demo.govshare.org")
    assert client.get(f"/property/assets/{quiet.id}").status_code == 404
    util = client.get("/property/utilization").text.split("<h1>")[1].split("</main>")[0]
    assert NAME not in util and "King County" not in util
    registry = client.get("/property").text
    by_member = registry.split("<h2>By member</h2>")[1].split("<h2>Assets</h2>")[0]
    assert "King County" not in by_member


@pytest.mark.parametrize("fmt", ["csv", "geojson"])
def test_exports_hold_another_members_published_fields_only(
        client: TestClient, ids: dict[str, int], quiet: Asset, fmt: str) -> None:
    login(client, "seattle.staff@demo.govshare.org")
    r = client.get(f"/property/export.{fmt}", params={"jurisdiction_id": ids["county"]})
    assert r.status_code == 200 and NAME in r.text
    for secret in (CODE, ADDRESS, "48613"):
        assert secret not in r.text, secret
    if fmt == "csv":
        row = next(x for x in csv.DictReader(io.StringIO(r.text)) if x["name"] == NAME)
    else:
        row = next(f["properties"] for f in r.json()["features"]
                   if f["properties"]["name"] == NAME)
    assert not row["status"] and not row["asset_code"] and not row["address"]


def test_the_query_layer_hands_out_published_fields_only(
        session: Session, ids: dict[str, int], quiet: Asset) -> None:
    from tests.factories.regions import principal
    seattle = principal(Role.jurisdiction_staff, ids["city"])
    rows, total = queries.list_assets(session=session, actor=seattle, region_id=1,
                                      flt=queries.AssetFilter(q="heron"))
    mine = next(r for r in rows if r.id == quiet.id)
    assert not mine.full and set(mine.fields) == {"name", "kind", "use", "pm_property_type"}
    assert total == len(rows)
