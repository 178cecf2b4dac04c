"""The report form loses nothing and leaks nothing (issue 9 §2), and is routed by street
address (§1): every step is a POST that shows the form again with every answer, the photo
included; no personal data in a URL; a ZIP code alone asks for a pin; nearby open reports of
the same kind are offered before sending; what will be public is said; tracking takes an id
without its dash; plain headings."""

from __future__ import annotations

import re

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from govshare.frontoffice.models import ServiceRequest
from tests.conftest import csrf_from
from tests.factories.images import png

PNG = png()
PERSON = {"first_name": "Rosa", "last_name": "Parks-Test", "email": "rosa@example.org",
          "phone": "206-555-0199", "description": "A deep one by the bus stop"}


def _token(client: TestClient, path: str = "/requests/new") -> str:
    return csrf_from(client.get(path).text)


def _count(session: Session) -> int:
    return int(session.scalar(sa.select(sa.func.count()).select_from(ServiceRequest)) or 0)


def test_a_phone_that_is_not_a_number_is_refused_naming_the_field(
        client: TestClient, session: Session) -> None:
    before = _count(session)
    token = _token(client)
    for phone, reason in (("555-0199", "Has 7 digits; a US telephone number has 10"),
                          ("<b>call me</b>", "Is not a telephone number (like 206-555-0100"),
                          ("206-555-0199 x1234567", "Has an extension of 7 digits")):
        r = client.post("/requests/new", data={
            "csrf_token": token, "service_code": "pothole", "attribute[size]": "small",
            "lat": "47.6080", "lon": "-122.3351", "confirm_new": "1", **PERSON,
            "phone": phone})
        assert r.status_code == 422 and "Nothing was saved" in r.text, r.text[:500]
        assert 'href="#r-phone"' in r.text and reason in r.text, (phone, r.text)
        assert "<b>call me</b>" not in r.text  # the answer is kept, as text
    assert _count(session) == before
    r = client.post("/requests/new", data={
        "csrf_token": token, "service_code": "pothole", "attribute[size]": "small",
        "lat": "47.6080", "lon": "-122.3351", "confirm_new": "1", **PERSON,
        "phone": "+44 20 7946 0000 ext. 12"})
    assert r.status_code == 201, r.text[:500]
    req = session.scalars(sa.select(ServiceRequest).order_by(ServiceRequest.id.desc())).first()
    assert req is not None and req.contact_phone == "+44 20 7946 0000 ext. 12"


def test_show_questions_is_a_post_that_keeps_everything(client: TestClient) -> None:
    page = client.get("/requests/new")
    assert 'formmethod="get"' not in page.text  # the old GET reload put names in the URL
    assert "What will be public" in page.text and "never shown" in page.text
    r = client.post("/requests/new", data={"csrf_token": csrf_from(page.text),
                                           "service_code": "pothole", "action": "questions",
                                           "address": "12525 Stone Ave N", **PERSON},
                    files={"photo": ("hole.png", PNG, "image/png")})
    assert r.status_code == 200
    assert str(r.url).endswith("/requests/new")  # nothing in the query string
    for value in PERSON.values():
        assert value in r.text
    assert "How big is it?" in r.text  # the service's own questions
    assert "<h1>Report a pothole</h1>" in r.text and "About the" not in r.text
    assert re.search(r'name="media_url" value="/media/[\w-]+\.png"', r.text)


def test_validation_error_keeps_answers_and_photo(client: TestClient,
                                                  session: Session) -> None:
    before = _count(session)
    token = _token(client)
    r = client.post("/requests/new", data={
        "csrf_token": token, "service_code": "pothole", "attribute[in_bike_lane]": "yes",
        "lat": "47.6080", "lon": "-122.3351", **PERSON},
        files={"photo": ("hole.png", PNG, "image/png")})
    assert r.status_code == 422 and "Nothing was saved" in r.text
    assert '<option value="yes" selected>' in r.text
    for value in PERSON.values():
        assert value in r.text
    media = re.search(r'name="media_url" value="(/media/[\w-]+\.png)"', r.text)
    assert media, "the photo is kept for the next round"
    r = client.post("/requests/new", data={
        "csrf_token": token, "service_code": "pothole", "attribute[in_bike_lane]": "yes",
        "attribute[size]": "small", "lat": "47.6080", "lon": "-122.3351",
        "media_url": media.group(1), "confirm_new": "1", **PERSON})
    assert r.status_code == 201, r.text
    req = session.scalars(sa.select(ServiceRequest).order_by(ServiceRequest.id.desc())).first()
    assert req is not None and req.media_url == media.group(1)
    assert req.attributes == {"in_bike_lane": "yes", "size": "small"}
    assert req.contact_phone == "(206) 555-0199"  # core.phones: written back one way
    assert _count(session) == before + 1
    # A path that is not one of our photos is not attached.
    r = client.post("/requests/new", data={
        "csrf_token": token, "service_code": "pothole", "attribute[size]": "small",
        "lat": "47.6080", "lon": "-122.3351", "media_url": "/media/../../etc/passwd",
        "confirm_new": "1"})
    assert r.status_code == 201
    last = session.scalars(sa.select(ServiceRequest).order_by(ServiceRequest.id.desc())).first()
    assert last is not None and last.media_url is None


def test_zip_alone_asks_for_a_pin_and_address_routes(client: TestClient, session: Session,
                                                     ids: dict[str, int]) -> None:
    before = _count(session)
    token = _token(client)
    r = client.post("/requests/new", data={"csrf_token": token, "service_code": "pothole",
                                           "attribute[size]": "large", "zipcode": "98133",
                                           **PERSON})
    assert r.status_code == 422 and "pin on the map" in r.text
    assert 'id="pin-map"' in r.text and _count(session) == before
    r = client.post("/requests/new", data={"csrf_token": token, "service_code": "pothole",
                                           "attribute[size]": "large",
                                           "address": "1000 Fourth Avenue"})
    assert r.status_code == 422 and "1000 4TH AVE S" in r.text  # choose among candidates
    pick = re.search(r'name="pick" value="([-\d.,]+)">1000 4TH AVE,', r.text)
    assert pick
    r = client.post("/requests/new", data={"csrf_token": token, "service_code": "pothole",
                                           "attribute[size]": "large",
                                           "address": "1000 Fourth Avenue",
                                           "pick": pick.group(1), "confirm_new": "1"})
    assert r.status_code == 201, r.text
    r = client.post("/requests/new", data={"csrf_token": token, "service_code": "pothole",
                                           "attribute[size]": "large", "confirm_new": "1",
                                           "address": "12525 stone avenue north 98133"})
    assert r.status_code == 201 and "City of Seattle" in r.text
    req = session.scalars(sa.select(ServiceRequest).order_by(ServiceRequest.id.desc())).first()
    assert req is not None and req.jurisdiction_id == ids["city"]


def test_nearby_reports_offered_before_sending(client: TestClient, session: Session) -> None:
    token = _token(client)
    where = {"csrf_token": token, "service_code": "graffiti", "attribute[surface]": "wall",
             "attribute[offensive]": "no", "lat": "47.6090", "lon": "-122.3340"}
    first = client.post("/requests/new", data={**where, "confirm_new": "1"})
    assert first.status_code == 201
    first_id = re.search(r"request (\d{4}-\d{6})", first.text)
    assert first_id
    before = _count(session)
    r = client.post("/requests/new", data={**where, **PERSON})
    assert r.status_code == 200 and "Is it one of these?" in r.text
    assert first_id.group(1) in r.text and _count(session) == before
    for value in PERSON.values():
        assert value in r.text
    r = client.post("/requests/new", data={**where, **PERSON, "confirm_new": "1"})
    assert r.status_code == 201 and _count(session) == before + 1


def test_tracking_accepts_an_id_without_its_dash(client: TestClient) -> None:
    token = _token(client)
    r = client.post("/requests/new", data={"csrf_token": token, "service_code": "pothole",
                                           "attribute[size]": "large", "lat": "47.55",
                                           "lon": "-122.30", "confirm_new": "1"})
    assert r.status_code == 201
    pid = re.search(r"request (\d{4})-(\d{6})", r.text)
    assert pid
    for typed in (pid.group(1) + pid.group(2), f" {pid.group(1)} {pid.group(2)} ",
                  f"#{pid.group(1)}-{pid.group(2)}"):
        page = client.get("/requests/track", params={"id": typed})
        assert page.status_code == 200, typed
        assert f"{pid.group(1)}-{pid.group(2)}" in page.text
