"""Owners of one service with the same priority at one point: routing is ambiguous, so it is
refused with the service, the point and the tied members named, unless the submitter names
one of them (web form, staff intake, Open311 ``jurisdiction_id``); catalog managers see the
tie on the service's page. The demo catalog has none."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from govshare.core.errors import BadRequest, Conflict
from govshare.core.tenancy import ANONYMOUS, Role
from govshare.frontoffice import queries, service
from govshare.frontoffice.models import ServiceOwner, ServiceRequest
from govshare.frontoffice.schemas import RequestIn
from tests.conftest import csrf_from, login
from tests.factories.regions import api_key

DOWNTOWN = (-122.3351, 47.6080)  # City of Seattle, in King County
KENT = (-122.2348, 47.3809)  # King County, outside Seattle


def tie_pothole(session: Session, ids: dict[str, int]) -> int:
    """Give King County the city's priority (1) for potholes: inside Seattle they tie."""
    pothole = queries.get_service(session=session, region_id=1, code="pothole")
    session.execute(sa.update(ServiceOwner).where(
        ServiceOwner.service_id == pothole.id,
        ServiceOwner.jurisdiction_id == ids["county"]).values(priority=1))
    session.flush()
    session.expire_all()
    return pothole.id


def count_requests(session: Session) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(ServiceRequest)) or 0


def pothole_at(where: tuple[float, float], **kw: object) -> RequestIn:
    return RequestIn(service_code="pothole", lon=where[0], lat=where[1],
                     attributes={"size": ["large"]}, **kw)  # type: ignore[arg-type]


def test_demo_catalog_has_no_ties(session: Session) -> None:
    for svc in queries.search_services(session=session, region_id=1):
        assert queries.owner_ties(session=session, region_id=1, service_id=svc.id) == [], svc.code


def test_equal_priority_owners_at_a_point_are_refused_naming_them(
        session: Session, ids: dict[str, int]) -> None:
    tie_pothole(session, ids)
    pothole = queries.get_service(session=session, region_id=1, code="pothole")
    with pytest.raises(queries.AmbiguousOwner) as exc:
        queries.route(session=session, region_id=1, service=pothole, lon=DOWNTOWN[0],
                      lat=DOWNTOWN[1])
    err = exc.value
    assert isinstance(err, Conflict) and err.status == 409
    for part in ("'Report a pothole'", "(-122.33510, 47.60800)", "City of Seattle",
                 "King County", "priority 1"):
        assert part in err.detail, part
    assert sorted(err.candidates) == sorted([(ids["city"], "City of Seattle"),
                                             (ids["county"], "King County")])
    assert err.errors[0]["loc"] == ["jurisdiction_id"]
    # Where only one of them covers the point there is nothing to choose.
    kent = queries.route(session=session, region_id=1, service=pothole, lon=KENT[0],
                         lat=KENT[1])
    assert kent.jurisdiction_id == ids["county"]
    # Submitting without a choice saves nothing.
    before = count_requests(session)
    with pytest.raises(queries.AmbiguousOwner):
        service.submit_request(session=session, actor=ANONYMOUS, region_id=1,
                               data=pothole_at(DOWNTOWN))
    assert count_requests(session) == before


def test_a_named_member_settles_a_tie_but_never_overrides_a_clear_owner(
        session: Session, ids: dict[str, int]) -> None:
    tie_pothole(session, ids)
    pothole = queries.get_service(session=session, region_id=1, code="pothole")
    for member in ("city", "county"):
        routing = queries.route(session=session, region_id=1, service=pothole,
                                lon=DOWNTOWN[0], lat=DOWNTOWN[1],
                                prefer_jurisdiction_id=ids[member])
        assert routing.jurisdiction_id == ids[member]
    req = service.submit_request(session=session, actor=ANONYMOUS, region_id=1,
                                 data=pothole_at(DOWNTOWN, jurisdiction_id=ids["county"]))
    assert req.jurisdiction_id == ids["county"]
    with pytest.raises(queries.AmbiguousOwner, match="is not one of them"):
        service.submit_request(session=session, actor=ANONYMOUS, region_id=1,
                               data=pothole_at(DOWNTOWN, jurisdiction_id=ids["port"]))
    with pytest.raises(BadRequest, match="handled by King County"):  # no tie in Kent
        service.submit_request(session=session, actor=ANONYMOUS, region_id=1,
                               data=pothole_at(KENT, jurisdiction_id=ids["city"]))


def test_what_applies_here_lists_a_tied_service_under_each_owner(
        session: Session, ids: dict[str, int]) -> None:
    tie_pothole(session, ids)
    place = queries.services_at(session=session, region_id=1, lon=DOWNTOWN[0], lat=DOWNTOWN[1])
    by_member = {j.name: {s.code for s in svcs} for j, svcs in place.by_jurisdiction}
    assert "pothole" in by_member["City of Seattle"] and "pothole" in by_member["King County"]
    who = {s.code: w for s, w in place.by_life_event["home_and_street"]}
    assert who["pothole"] in {"City of Seattle or King County", "King County or City of Seattle"}


def test_the_service_page_flags_the_tie_to_catalog_managers(
        client: TestClient, session: Session, ids: dict[str, int]) -> None:
    tie_pothole(session, ids)
    public = client.get("/services/pothole")
    assert public.status_code == 200 and 'id="owner-ties"' not in public.text
    login(client, "admin@demo.govshare.org")
    page = client.get("/services/pothole")
    assert page.status_code == 200
    flag = page.text.split('id="owner-ties"', 1)[1].split("</ul>", 1)[0]
    assert "Routing is ambiguous" in flag
    assert "King County and City of Seattle" in flag or "City of Seattle and King County" in flag
    assert "both priority 1" in flag
    # Without the tie, nothing is flagged (the city inside King County is not a tie at 1 vs 2).
    streetlight = client.get("/services/streetlight")
    assert 'id="owner-ties"' not in streetlight.text and "(priority 1)" in streetlight.text


def test_the_request_form_asks_which_member_when_owners_tie(
        client: TestClient, session: Session, ids: dict[str, int]) -> None:
    tie_pothole(session, ids)
    before = count_requests(session)
    token = csrf_from(client.get("/requests/new?service=pothole").text)
    form = {"csrf_token": token, "service_code": "pothole", "attribute[size]": "large",
            "lat": str(DOWNTOWN[1]), "lon": str(DOWNTOWN[0])}
    r = client.post("/requests/new", data=form)
    assert r.status_code == 409
    assert "provided by both" in r.text and "Nothing was saved" in r.text
    assert "Which government should handle it?" in r.text
    assert f'name="jurisdiction_id" value="{ids["county"]}"' in r.text
    assert count_requests(session) == before
    r = client.post("/requests/new", data={**form, "jurisdiction_id": str(ids["county"])})
    assert r.status_code == 201, r.text
    assert "King County" in r.text
    latest = session.scalars(sa.select(ServiceRequest).order_by(ServiceRequest.id.desc())).first()
    assert latest is not None and latest.jurisdiction_id == ids["county"]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_open311_needs_jurisdiction_id_where_owners_tie(
        client: TestClient, session: Session, ids: dict[str, int], fmt: str) -> None:
    key = api_key(session, Role.jurisdiction_staff, ids["city"], name="open311 tie")
    tie_pothole(session, ids)
    session.commit()
    data = {"api_key": key, "service_code": "pothole", "attribute[size]": "large",
            "lat": str(DOWNTOWN[1]), "long": str(DOWNTOWN[0])}
    r = client.post(f"/open311/v2/requests.{fmt}", data=data)
    assert r.status_code == 400, r.text
    assert "jurisdiction_id: required at (-122.33510, 47.60800)" in r.text
    assert "City of Seattle" in r.text and "King County" in r.text
    r = client.post(f"/open311/v2/requests.{fmt}",
                    data={**data, "jurisdiction_id": str(ids["county"])})
    assert r.status_code == 200, r.text
    if fmt == "json":
        public_id = json.loads(r.text)[0]["service_request_id"]
        session.expire_all()
        row = session.scalars(sa.select(ServiceRequest).where(
            ServiceRequest.public_id == public_id)).one()
        assert row.jurisdiction_id == ids["county"]
