"""Every JSON list of the API pages one way, in SQL (``core.paging``; docs/architecture.md,
"Lists"): ``limit`` and ``offset`` in, ``{items, total, limit, offset}`` out, and walking the
pages with a small ``limit`` gives exactly the list one large page gives.

The lists are found in the OpenAPI document the app serves, not in a hand-kept list: a GET
under ``/api/v1`` that answers a bare JSON array fails, one that answers a Page must have a
walk below (so a new list cannot escape the check), and one whose answer holds a list of
objects without being a Page must be named in ``DOCUMENTS`` with the reason it is one thing.

Issue 8, item 2.8: ``/api/v1/assets?limit=50&offset=0`` returned 39 items and ``total=39``
while the caller could see 85 — it cut the rows with ``LIMIT`` before dropping those the
caller may not see in full.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from govshare.carbon import service as carbon_service
from govshare.carbon.schemas import FactorSetIn, MeasureIn, TargetIn
from govshare.casebook import service as casebook_service
from govshare.casebook.schemas import ActualIn
from govshare.cli.demo_sites import DEMO_SCENARIO
from govshare.core.tenancy import ANONYMOUS, Role, system_principal
from govshare.frontoffice import service as frontoffice_service
from govshare.frontoffice.schemas import RequestIn
from govshare.property import service as property_service
from govshare.property.models import Asset
from govshare.property.schemas import PhotoIn, ProposalIn
from govshare.regions.models import Region
from govshare.sites import queries as sites_queries
from govshare.sites import service as sites_service
from govshare.sites.schemas import ScenarioIn
from govshare.sites.service import REFERENCE_SCENARIOS
from tests.contract.routes import offline_app
from tests.factories.casebook import proposal as casebook_proposal
from tests.factories.property import asset
from tests.factories.regions import api_key

PAGE_KEYS = {"items", "total", "limit", "offset"}
# GET answers that hold a list of objects but are one thing, each with why it is not paged.
DOCUMENTS = {
    "GET /api/v1/region": "the region with its members; the members are paged at "
                          "/api/v1/jurisdictions",
    "GET /api/v1/locate": "the members serving one point: a handful at most",
    "GET /api/v1/sites/scenarios/{scenario_id}": "one center scenario with its roles (at most "
                                                 "50)",
    "GET /api/v1/locate/address": "one address search: the place found with its members, or "
                                  "at most ten candidate places",
    "GET /api/v1/assets/{asset_id}/true-cost": "one asset's cost components and fuels",
    "GET /api/v1/public/assets/{asset_id}": "one asset's published facts with its published "
                                             "photos (at most 20)",
    "GET /api/v1/boundaries.geojson": "an RFC 7946 FeatureCollection of the region's member "
                                      "boundaries, which maps draw whole",
    "GET /api/v1/jurisdictions/{jurisdiction_id}/boundary": "one GeoJSON Feature",
    "GET /api/v1/carbon/progress": "one member's (or the region's) progress: a series per "
                                    "year to the horizon (at most 2100) and its targets and "
                                    "measures",
    "GET /api/v1/casebook/proposals/{case_id}/results": "one proposal's results: a row "
                                                            "per year of its horizon (at most "
                                                            "50)",
}


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    with TestClient(offline_app()) as client:
        return client.get("/api/v1/openapi.json").json()  # type: ignore[no-any-return]


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _holds_objects(doc: dict[str, Any], schema: dict[str, Any]) -> bool:
    """Whether an array in the schema (at the top or in a property) holds objects."""
    for s in [schema, *schema.get("properties", {}).values()]:
        s = _resolve(doc, s)
        if s.get("type") == "array" and _resolve(doc, s.get("items", {})).get("type") == "object":
            return True
    return False


def classify(doc: dict[str, Any]) -> tuple[dict[str, dict[str, Any]], set[str], list[str]]:
    """(Page operations with their parameters, document operations, problems)."""
    pages: dict[str, dict[str, Any]] = {}
    documents: set[str] = set()
    problems: list[str] = []
    for path, ops in doc["paths"].items():
        if not path.startswith("/api/v1/") or "get" not in ops:
            continue
        op_id = f"GET {path}"
        content = ops["get"]["responses"].get("200", {}).get("content", {})
        schema = _resolve(doc, next(iter(content.values()), {}).get("schema", {}))
        params = {p["name"]: p for p in ops["get"].get("parameters", [])}
        if schema.get("type") == "array":
            problems.append(f"{op_id} answers a bare array: answer a core.paging.Page")
        elif set(schema.get("properties", {})) >= PAGE_KEYS:
            pages[op_id] = params
            if not {"limit", "offset"} <= set(params):
                problems.append(f"{op_id} answers a Page without limit and offset")
        elif not schema or _holds_objects(doc, schema):
            documents.add(op_id)
    return pages, documents, problems


# ----------------------------------------------------------------------------- the walks


@dataclass(frozen=True)
class Walk:
    path: str
    params: dict[str, Any]
    role: Role | None  # None: anyone
    jurisdiction: str | None = None


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 3), (0, 90, 160)).save(out, "PNG")
    return out.getvalue()


def _seed(session: Session, ids: dict[str, int]) -> dict[str, int]:
    """Enough rows for every list to span several pages (the demo region has the rest)."""
    city = ids["city"]
    made = [asset(session, city, asset_code=f"PG-{i}", name=f"Paging depot {i}", status="surplus",
                  public_groups=["identity", "status", "location"]) for i in range(6)]
    for i in range(6):
        property_service.submit_proposal(
            session=session, actor=system_principal("test"), asset_id=made[0].id,
            data=ProposalIn(name="Ann", contact_email=f"ann{i}@example.org",
                            proposed_use=f"Use {i}", description="A use for the depot, soon."))
    for i in range(6):
        property_service.add_photo(session=session, actor=system_principal("test"),
                                   asset_id=made[0].id, content=_png(),
                                   data=PhotoIn(alt_text=f"Paging photo {i}"))
    for i in range(6):
        api_key(session, Role.jurisdiction_staff, city, name=f"paging key {i}")
    carbon_service.install_builtin_sets(session)
    for i in range(3):
        carbon_service.add_factor_set(
            session, system_principal("test"),
            FactorSetIn(name=f"paging-{i}", title=f"Paging set {i}", edition="1",
                        publisher="test", year_from=2000, year_to=2030),
            io.BytesIO(b"activity,gas,value,unit\nnatural_gas,CO2e,50,kg/mmbtu\n"), "f.csv")
    for i in range(4):
        carbon_service.add_gwp_set(session, system_principal("test"), f"PG{i}",
                                   io.BytesIO(f"gas,value\nCO2,1\nCH4,{20 + i}\n".encode()),
                                   "g.csv", source="paging test")
    for i in range(3):
        carbon_service.add_target(session, system_principal("test"), TargetIn(
            jurisdiction_id=city, base_year=2016, target_year=2031 + i, reduction_pct=10 + i,
            label=f"Paging target {i}"))
    for i in range(6):
        carbon_service.add_measure(session, system_principal("test"), MeasureIn(
            jurisdiction_id=city, kind="other", name=f"Paging measure {i}", start_year=2027,
            t_co2e_per_year=i + 1))
    carbon_service.record_activity(session, system_principal("test"), "test", [
        {"source_key": f"PG-V{i}", "jurisdiction_id": city, "name": f"Paging vehicle {i}",
         "sector": "vehicle_fleet", "activity": "vehicle_miles", "quantity": 100,
         "unit": "mile", "vehicle_type": f"Paging type {i}", "model_year": 2016,
         "period_start": date(2016, 1, 1), "period_end": date(2016, 12, 31)}
        for i in range(6)])
    members = [{"jurisdiction_id": jid, "staff": 100_000 * (i + 1), "headcount": i + 1}
               for i, jid in enumerate(sorted(ids.values()))]
    case = None
    for i in range(5):
        case = casebook_proposal(session, ids, name=f"Paging case {i}", members=members)
    assert case is not None
    for year in range(2027, 2030):
        for jid in (ids["city"], ids["county"]):
            casebook_service.record_actual(
                session=session, actor=system_principal("test"), proposal_id=case.id,
                data=ActualIn(jurisdiction_id=jid, year=year, actual=50_000))
    region = session.scalars(select(Region)).one()
    for i in range(3):
        sites_service.create_scenario(
            session=session, actor=system_principal("test"), region_id=region.id,
            data=ScenarioIn.model_validate({**DEMO_SCENARIO, "name": f"Paging scenario {i}"}))
    demo_site = sites_queries.find_scenario(session=session, region_id=region.id,
                                            name=DEMO_SCENARIO["name"])
    virginia = sites_queries.find_scenario(session=session, region_id=region.id,
                                           name=REFERENCE_SCENARIOS[1]["name"])
    session.commit()
    return {"asset": made[0].id, "scenario": demo_site.id, "virginia": virginia.id,
            "case": case.id}


WALKS: dict[str, Callable[[dict[str, int]], Walk]] = {
    "GET /api/v1/jurisdictions": lambda s: Walk("/api/v1/jurisdictions", {}, None),
    "GET /api/v1/users": lambda s: Walk("/api/v1/users", {}, Role.regional_admin),
    "GET /api/v1/apikeys": lambda s: Walk("/api/v1/apikeys", {}, Role.regional_admin),
    "GET /api/v1/audit": lambda s: Walk("/api/v1/audit", {"entity": "apikey"},
                                        Role.regional_admin),
    "GET /api/v1/assets": lambda s: Walk("/api/v1/assets", {}, Role.jurisdiction_staff,
                                         "city"),
    "GET /api/v1/property/summary": lambda s: Walk("/api/v1/property/summary", {"by": "use"},
                                                   Role.regional_analyst),
    "GET /api/v1/public/assets": lambda s: Walk("/api/v1/public/assets",
                                                {"include_in_use": "true"}, None),
    "GET /api/v1/assets/{asset_id}/photos": lambda s: Walk(
        f"/api/v1/assets/{s['asset']}/photos", {}, Role.jurisdiction_staff, "city"),
    "GET /api/v1/public/assets/{asset_id}/proposals": lambda s: Walk(
        f"/api/v1/public/assets/{s['asset']}/proposals", {}, None),
    "GET /api/v1/casebook/proposals": lambda s: Walk("/api/v1/casebook/proposals", {},
                                                     Role.regional_analyst),
    "GET /api/v1/casebook/proposals/{case_id}/members": lambda s: Walk(
        f"/api/v1/casebook/proposals/{s['case']}/members", {}, Role.regional_analyst),
    "GET /api/v1/casebook/proposals/{case_id}/allocation": lambda s: Walk(
        f"/api/v1/casebook/proposals/{s['case']}/allocation", {}, Role.regional_admin),
    "GET /api/v1/casebook/proposals/{case_id}/actuals": lambda s: Walk(
        f"/api/v1/casebook/proposals/{s['case']}/actuals", {}, Role.regional_analyst),
    "GET /api/v1/proposals": lambda s: Walk("/api/v1/proposals", {"status": "received"},
                                            Role.jurisdiction_admin, "city"),
    "GET /api/v1/carbon/inventory": lambda s: Walk(
        "/api/v1/carbon/inventory", {"by": "gas", "year": 2016}, Role.regional_analyst),
    "GET /api/v1/carbon/inventory/gaps": lambda s: Walk(
        "/api/v1/carbon/inventory/gaps", {}, Role.jurisdiction_staff, "city"),
    "GET /api/v1/carbon/targets": lambda s: Walk("/api/v1/carbon/targets", {},
                                                 Role.jurisdiction_staff, "city"),
    "GET /api/v1/carbon/measures": lambda s: Walk("/api/v1/carbon/measures", {},
                                                  Role.jurisdiction_admin, "city"),
    "GET /api/v1/carbon/gwp-sets": lambda s: Walk("/api/v1/carbon/gwp-sets", {},
                                                  Role.jurisdiction_staff, "city"),
    "GET /api/v1/carbon/factor-sets": lambda s: Walk("/api/v1/carbon/factor-sets", {},
                                                     Role.jurisdiction_staff, "city"),
    "GET /api/v1/carbon/factor-sets/{set_name}/factors": lambda s: Walk(
        "/api/v1/carbon/factor-sets/epa-hub-2025/factors", {"activity": "electricity"},
        Role.regional_analyst),
    # fleet: the demo's synthetic fleet spans several pages
    "GET /api/v1/fleet/vehicles": lambda s: Walk("/api/v1/fleet/vehicles", {},
                                                 Role.jurisdiction_staff, "city"),
    "GET /api/v1/fleet/rightsizing": lambda s: Walk("/api/v1/fleet/rightsizing", {},
                                                    Role.regional_analyst),
    "GET /api/v1/fleet/pooling/groups": lambda s: Walk("/api/v1/fleet/pooling/groups", {},
                                                       Role.regional_analyst),
    "GET /api/v1/fleet/electrification": lambda s: Walk("/api/v1/fleet/electrification", {},
                                                        Role.jurisdiction_staff, "county"),
    "GET /api/v1/sites/counties": lambda s: Walk("/api/v1/sites/counties", {"state": "WA"},
                                                 Role.jurisdiction_staff, "city"),
    "GET /api/v1/sites/sources": lambda s: Walk("/api/v1/sites/sources", {},
                                                Role.jurisdiction_staff, "city"),
    "GET /api/v1/sites/scenarios": lambda s: Walk("/api/v1/sites/scenarios", {},
                                                  Role.regional_analyst),
    "GET /api/v1/sites/scenarios/{scenario_id}/ranking": lambda s: Walk(
        f"/api/v1/sites/scenarios/{s['scenario']}/ranking", {}, Role.regional_analyst),
    "GET /api/v1/sites/scenarios/{scenario_id}/columns": lambda s: Walk(
        f"/api/v1/sites/scenarios/{s['scenario']}/columns", {}, Role.regional_analyst),
    "GET /api/v1/sites/scenarios/{scenario_id}/excluded": lambda s: Walk(
        f"/api/v1/sites/scenarios/{s['virginia']}/excluded", {}, Role.regional_analyst),
}


def test_every_list_answers_a_page_and_has_a_walk(openapi: dict[str, Any]) -> None:
    pages, documents, problems = classify(openapi)
    assert problems == []
    assert set(pages) == set(WALKS), (
        "a list without a walk here (add one) or a walk without a list: "
        f"{sorted(set(pages) ^ set(WALKS))}")
    assert documents == set(DOCUMENTS), (
        "an answer holding a list of objects that is not a Page: page it, or name it in "
        f"DOCUMENTS with why it is one thing: {sorted(documents ^ set(DOCUMENTS))}")


@pytest.mark.parametrize("op_id", sorted(WALKS))
def test_walking_the_pages_gives_the_whole_list(
        op_id: str, client: TestClient, session: Session, ids: dict[str, int],
        openapi: dict[str, Any]) -> None:
    walk = WALKS[op_id](_seed(session, ids))
    headers = {}
    if walk.role is not None:
        jid = ids[walk.jurisdiction] if walk.jurisdiction else None
        headers = {"X-API-Key": api_key(session, walk.role, jid, name="walker")}
        session.commit()
    params = classify(openapi)[0][op_id]
    largest = params["limit"]["schema"]["maximum"]
    assert params["offset"]["schema"]["minimum"] == 0

    def get(**paging: Any) -> dict[str, Any]:
        r = client.get(walk.path, params={**walk.params, **paging}, headers=headers)
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    whole = get(limit=largest)
    total = whole["total"]
    assert total == len(whole["items"]) and total > 4, (op_id, total)
    # Two page sizes, one page apart, so the pages' edges differ; at most ~10 pages a walk
    # (a computed list is computed again for every page).
    small = max(2, math.ceil(total / 10))
    for size in (small, small + 1):
        walked: list[Any] = []
        for offset in range(0, total, size):
            page = get(limit=size, offset=offset)
            assert (page["total"], page["limit"], page["offset"]) == (total, size, offset)
            assert len(page["items"]) == min(size, total - offset)
            walked += page["items"]
        assert walked == whole["items"], op_id
    assert get(limit=size, offset=total)["items"] == []
    for bad in ({"limit": 0}, {"limit": largest + 1}, {"offset": -1}):
        r = client.get(walk.path, params={**walk.params, **bad}, headers=headers)
        assert r.status_code == 422, (bad, r.text)


def test_the_asset_list_counts_every_asset_seen_in_full(
        client: TestClient, session: Session, ids: dict[str, int]) -> None:
    """The page is cut after the filters: a member's staff get every one of their assets,
    whatever other members' public assets sort among them."""
    city = session.scalar(sa.select(sa.func.count()).select_from(Asset)
                          .where(Asset.jurisdiction_id == ids["city"]))
    assert city and city > 10
    key = api_key(session, Role.jurisdiction_staff, ids["city"])
    page = client.get("/api/v1/assets", params={"limit": 10}, headers={"X-API-Key": key}).json()
    assert page["total"] == city and len(page["items"]) == 10
    assert {a["jurisdiction_id"] for a in page["items"]} == {ids["city"]}


# ----------------------------------------------------------------------------- Open311


@pytest.mark.parametrize("feed,key", [("requests", "service_request_id"),
                                      ("servicerequestupdates", "update_id")])
def test_open311_pages_in_its_own_format_and_walking_them_gives_the_whole_feed(
        client: TestClient, session: Session, feed: str, key: str) -> None:
    """Open311 keeps GeoReport v2's shape (``page``/``page_size``, a bare list) but pages in
    SQL like the rest: its pages together are its whole answer."""
    for i in range(7):
        frontoffice_service.submit_request(
            session=session, actor=ANONYMOUS, region_id=1,
            data=RequestIn(service_code="pothole", lon=-122.3351, lat=47.6080,
                           attributes={"size": ["large"]}, description=f"Paging pothole {i}"))
    session.commit()
    url = f"/open311/v2/{feed}.json"
    whole = client.get(url).json()
    assert len(whole) > 6
    walked: list[Any] = []
    page = 1
    while chunk := client.get(url, params={"page_size": 3, "page": page}).json():
        assert len(chunk) <= 3
        walked += chunk
        page += 1
    assert [x[key] for x in walked] == [x[key] for x in whole]
