"""Requests routed by location across levels, on the real demo boundaries."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from govshare.core.audit import AuditEvent
from govshare.core.errors import BadRequest, NotFound, ValidationFailed
from govshare.core.tenancy import ANONYMOUS, Principal, Role
from govshare.frontoffice import queries, service
from govshare.frontoffice.models import RequestUpdate, ServiceRequest
from govshare.frontoffice.schemas import RequestAction, RequestIn
from tests.factories.regions import principal

DOWNTOWN = (-122.3351, 47.6080)
KENT = (-122.2348, 47.3809)  # King County, outside Seattle
TACOMA = (-122.4443, 47.2529)  # Washington, outside King County
SEA = (-125.5, 47.0)


def submit(session: Session, code: str, where: tuple[float, float], **kw: object
           ) -> ServiceRequest:
    data = RequestIn(service_code=code, lon=where[0], lat=where[1], **kw)  # type: ignore[arg-type]
    return service.submit_request(session=session, actor=ANONYMOUS, region_id=1, data=data)


def test_pothole_goes_to_the_city_inside_and_the_county_outside(session: Session,
                                                                ids: dict[str, int]) -> None:
    r1 = submit(session, "pothole", DOWNTOWN, attributes={"size": ["large"]})
    r2 = submit(session, "pothole", KENT, attributes={"size": ["small"]})
    assert r1.jurisdiction_id == ids["city"]
    assert r2.jurisdiction_id == ids["county"]
    assert r1.public_id == f"{r1.requested_at.year}-{r1.id:06d}"
    assert r1.attributes == {"size": "large"}


def test_outside_every_member_or_no_owner_is_refused(session: Session) -> None:
    before = session.scalar(sa.select(sa.func.count()).select_from(ServiceRequest))
    with pytest.raises(BadRequest, match="outside every member"):
        submit(session, "pothole", SEA, attributes={"size": ["large"]})
    with pytest.raises(BadRequest, match="No member provides"):
        submit(session, "pothole", TACOMA, attributes={"size": ["large"]})
    assert session.scalar(sa.select(sa.func.count()).select_from(ServiceRequest)) == before


def test_street_address_locates_the_request(session: Session, ids: dict[str, int]) -> None:
    r = service.submit_request(session=session, actor=ANONYMOUS, region_id=1, data=RequestIn(
        service_code="graffiti", zipcode="98133", address="12525 Stone Ave N",
        attributes={"surface": ["wall"], "offensive": ["no"]}))
    assert r.jurisdiction_id == ids["city"] and r.zipcode == "98133"
    assert r.lon is not None and abs(r.lon + 122.3432) < 1e-3


def test_zip_code_alone_is_never_routed(session: Session) -> None:
    """98133 is partly in Seattle: its point would send a Seattle pothole to the county."""
    for data in (RequestIn(service_code="pothole", zipcode="98133",
                           attributes={"size": ["large"]}),
                 RequestIn(service_code="pothole", address="13000 Nowhere Ave N",
                           zipcode="98133", attributes={"size": ["large"]})):
        with pytest.raises(service.PlaceNeeded, match="pin on the map"):
            service.submit_request(session=session, actor=ANONYMOUS, region_id=1, data=data)


def test_bad_requests(session: Session) -> None:
    with pytest.raises(NotFound, match="No service"):
        submit(session, "unicorn", DOWNTOWN)
    with pytest.raises(BadRequest, match="does not take requests"):
        submit(session, "birth_certificate", DOWNTOWN)
    with pytest.raises(ValidationFailed) as exc:
        submit(session, "illegal_dumping", DOWNTOWN, attributes={"items": ["spaceship"]})
    assert exc.value.errors[0]["loc"] == ["attribute", "items"]
    with pytest.raises(service.PlaceNeeded, match="location is required"):
        service.submit_request(session=session, actor=ANONYMOUS, region_id=1,
                               data=RequestIn(service_code="streetlight"))
    with pytest.raises(BadRequest, match="Only staff"):
        submit(session, "streetlight", DOWNTOWN, channel="phone")


def test_html_in_descriptions_is_stored_as_plain_text(session: Session) -> None:
    r = submit(session, "streetlight", DOWNTOWN, description="<img src=x onerror=alert(1)>Out")
    assert r.description == "Out"


def test_staff_workflow_forward_and_history(session: Session, ids: dict[str, int]) -> None:
    r = submit(session, "streetlight", DOWNTOWN, email="Resident@Example.org")
    seattle = principal(Role.jurisdiction_staff, ids["city"])
    service.act_on_request(session=session, actor=seattle, request_id=r.id,
                           action=RequestAction(to_status="acknowledged", note="Crew booked"))
    with pytest.raises(BadRequest, match="cannot become"):
        service.act_on_request(session=session, actor=seattle, request_id=r.id,
                               action=RequestAction(to_status="submitted"))
    service.act_on_request(session=session, actor=seattle, request_id=r.id,
                           action=RequestAction(forward_to_jurisdiction_id=ids["port"],
                                                note="Port-owned pole"))
    assert r.jurisdiction_id == ids["port"]
    with pytest.raises(NotFound):  # no longer Seattle's: invisible to its staff
        service.act_on_request(session=session, actor=seattle, request_id=r.id,
                               action=RequestAction(note="still there?"))
    kinds = [u.kind for u in session.scalars(sa.select(RequestUpdate).where(
        RequestUpdate.request_id == r.id).order_by(RequestUpdate.id))]
    assert kinds == ["status", "status", "forward"]
    audit_rows = session.scalars(sa.select(AuditEvent).where(
        AuditEvent.entity == "service_request", AuditEvent.entity_id == r.public_id)).all()
    assert audit_rows and all("resident@example.org" not in str(a.after) for a in audit_rows)


def test_duplicates_suggested_and_closed(session: Session, ids: dict[str, int],
                                         system: Principal) -> None:
    first = submit(session, "pothole", DOWNTOWN, attributes={"size": ["large"]})
    near = (DOWNTOWN[0] + 0.0005, DOWNTOWN[1])  # ~38 m east
    second = submit(session, "pothole", near, attributes={"size": ["large"]})
    suggestions = queries.nearby_open(session=session, service_id=second.service_id,
                                      lon=near[0], lat=near[1], exclude_id=second.id)
    assert [r.id for r, _d in suggestions] == [first.id]
    service.act_on_request(session=session, actor=system, request_id=second.id,
                           action=RequestAction(duplicate_of=first.public_id))
    assert second.status == "duplicate" and second.duplicate_of_id == first.id
    assert second.closed_at is not None


def test_services_at_a_place_by_member_and_life_event(session: Session) -> None:
    place = queries.services_at(session=session, region_id=1, lon=DOWNTOWN[0], lat=DOWNTOWN[1])
    by_member = {j.name: {s.code for s in svcs} for j, svcs in place.by_jurisdiction}
    assert "pothole" in by_member["City of Seattle"]
    assert "pothole" not in by_member["King County"]  # the city owns it here
    assert "birth_certificate" in by_member["State of Washington"]
    assert "school_enrollment" in by_member["Seattle Public Schools"]
    baby = {s.code for s, _who in place.by_life_event["having_a_baby"]}
    assert {"birth_certificate", "newborn_visits"} <= baby
    kent = queries.services_at(session=session, region_id=1, lon=KENT[0], lat=KENT[1])
    kent_members = {j.name: {s.code for s in svcs} for j, svcs in kent.by_jurisdiction}
    assert "pothole" in kent_members["King County"]


def test_catalogue_search(session: Session) -> None:
    found = {s.code for s in queries.search_services(session=session, region_id=1, q="noise")}
    assert found == {"port_noise"}
    babies = queries.search_services(session=session, region_id=1, life_event="having_a_baby")
    assert {s.code for s in babies} >= {"birth_certificate", "newborn_visits"}
    assert queries.search_services(session=session, region_id=1, q="pothole road")[0].code == \
        "pothole"
