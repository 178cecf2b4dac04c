"""Front-office pages: catalog, what applies here, journeys, request form, tracking, staff."""

from __future__ import annotations

import io
import re

import sqlalchemy as sa
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy.orm import Session

from govshare.frontoffice.models import ServiceRequest
from tests.conftest import csrf_from, login
from tests.factories.images import GPS_TAG, jpeg_with_gps, png

PNG = png()


def _form(client: TestClient, path: str = "/requests/new?service=pothole") -> str:
    return csrf_from(client.get(path).text)


def test_catalog_search_and_sample_label(client: TestClient) -> None:
    r = client.get("/services", params={"q": "noise"})
    assert r.status_code == 200
    assert "Report aircraft or harbor noise" in r.text and "Report a pothole" not in r.text
    assert "Sample content" in r.text
    r = client.get("/services", params={"event": "having_a_baby"})
    assert "Order a birth certificate" in r.text
    page = client.get("/services/pothole")
    assert "City of Seattle" in page.text and "King County" in page.text


def test_what_applies_here_by_zip(client: TestClient) -> None:
    r = client.get("/here", params={"zip": "98104"})
    assert r.status_code == 200
    body = r.text
    assert "By life event" in body and "Having a baby" in body
    for name in ("State of Washington", "King County", "City of Seattle",
                 "Seattle Public Schools", "Port of Seattle"):
        assert name in body
    outside = client.get("/here", params={"lon": "-125.5", "lat": "47.0"})
    assert "outside the region" in outside.text


def test_life_event_journey(client: TestClient) -> None:
    r = client.get("/life-events/having_a_baby")
    assert r.status_code == 200
    assert "usa-process-list" in r.text and "Order a birth certificate" in r.text
    assert "State of Washington" in r.text and "King County" in r.text
    assert client.get("/life-events/nope").status_code == 404


def test_submit_and_track_a_request(client: TestClient, session: Session,
                                    ids: dict[str, int]) -> None:
    token = _form(client)
    r = client.post("/requests/new", data={
        "csrf_token": token, "service_code": "pothole", "attribute[size]": "large",
        "lat": "47.6080", "lon": "-122.3351", "description": "Deep <b>hole</b>",
        "email": "me@example.org"}, files={"photo": ("hole.png", PNG, "image/png")})
    assert r.status_code == 201, r.text
    req = session.scalars(sa.select(ServiceRequest).order_by(ServiceRequest.id.desc())).first()
    assert req is not None and req.jurisdiction_id == ids["city"] and req.channel == "web"
    assert req.media_url and req.media_url.startswith("/media/")
    assert req.public_id in r.text and "City of Seattle" in r.text
    tracked = client.get("/requests/track", params={"id": req.public_id})
    assert tracked.status_code == 200 and "Received" in tracked.text
    assert "me@example.org" not in tracked.text and "<b>" not in tracked.text
    assert client.get(req.media_url).status_code == 200
    assert client.get("/requests/track", params={"id": "2026-999999"}).status_code == 404


def test_a_residents_photo_is_published_without_its_gps_position(
        client: TestClient, session: Session) -> None:
    """A phone's photo carries where it was taken (often the resident's home) and the camera:
    a request's photo is public, so only its pixels are kept."""
    token = _form(client)
    taken = jpeg_with_gps(640, 480)
    assert Image.open(io.BytesIO(taken)).getexif().get(GPS_TAG)
    r = client.post("/requests/new", data={
        "csrf_token": token, "service_code": "pothole", "attribute[size]": "large",
        "lat": "47.6080", "lon": "-122.3351"},
        files={"photo": ("IMG_0001.jpg", taken, "image/jpeg")})
    assert r.status_code == 201, r.text
    req = session.scalars(sa.select(ServiceRequest).order_by(ServiceRequest.id.desc())).first()
    assert req is not None and req.media_url and req.media_url.endswith(".jpg")
    served = client.get(req.media_url)
    assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
    assert b"SnoopCam" not in served.content
    published = Image.open(io.BytesIO(served.content))
    assert published.size == (640, 480) and dict(published.getexif()) == {}


def test_request_errors_keep_the_form_and_save_nothing(client: TestClient,
                                                       session: Session) -> None:
    before = session.scalar(sa.select(sa.func.count()).select_from(ServiceRequest))
    token = _form(client)
    r = client.post("/requests/new", data={"csrf_token": token, "service_code": "pothole",
                                           "lat": "47.6080", "lon": "-122.3351"})
    assert r.status_code == 422 and "size" in r.text and "Nothing was saved" in r.text
    r = client.post("/requests/new", data={"csrf_token": token, "service_code": "pothole",
                                           "attribute[size]": "large", "lat": "47.0",
                                           "lon": "-125.5"})
    assert r.status_code == 400 and "outside every member" in r.text
    r = client.post("/requests/new", data={
        "csrf_token": token, "service_code": "pothole", "attribute[size]": "large",
        "lat": "47.6080", "lon": "-122.3351"},
        files={"photo": ("evil.png", b"<?php echo 1; ?>", "image/png")})
    assert r.status_code == 422 and "JPEG, PNG or WebP" in r.text
    r = client.post("/requests/new", data={
        "csrf_token": token, "service_code": "pothole", "attribute[size]": "large",
        "lat": "47.6080", "lon": "-122.3351"},
        files={"photo": ("big.png", PNG + b"\x00" * (5 * 1024 * 1024), "image/png")})
    assert r.status_code == 422 and "larger than 5 MB" in r.text
    assert session.scalar(sa.select(sa.func.count()).select_from(ServiceRequest)) == before


def test_staff_record_phone_request_then_forward(client: TestClient, session: Session,
                                                 ids: dict[str, int]) -> None:
    login(client, "seattle.staff@demo.govshare.org")
    token = _form(client, "/staff/requests/new?service=streetlight")
    r = client.post("/staff/requests/new", data={
        "csrf_token": token, "channel": "phone", "service_code": "streetlight",
        "zipcode": "98101", "address": "810 Virginia St", "first_name": "Caller"},
        follow_redirects=False)
    assert r.status_code == 303, r.text
    req = session.scalars(sa.select(ServiceRequest).order_by(ServiceRequest.id.desc())).first()
    assert req is not None and req.channel == "phone" and req.recorded_by.startswith("user:")
    case = client.get(f"/staff/requests/{req.id}")
    assert case.status_code == 200 and "Caller" in case.text
    r = client.post(f"/staff/requests/{req.id}", data={
        "csrf_token": csrf_from(case.text), "forward_to": str(ids["port"]),
        "note": "Port pole", "public": "on"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/staff/requests"
    assert client.get(f"/staff/requests/{req.id}").status_code == 404  # now the port's
    queue = client.get("/staff/requests")
    assert req.public_id not in queue.text


def test_queue_is_per_jurisdiction(client: TestClient) -> None:
    token = _form(client)
    r = client.post("/requests/new", data={"csrf_token": token, "service_code": "pothole",
                                           "attribute[size]": "small", "lat": "47.3809",
                                           "lon": "-122.2348", "confirm_new": "1"})
    assert r.status_code == 201, r.text
    pid = re.search(r"request (\d{4}-\d{6})", r.text)
    assert pid
    login(client, "kingcounty.admin@demo.govshare.org")
    county = client.get("/staff/requests").text
    login(client, "seattle.admin@demo.govshare.org")
    seattle = client.get("/staff/requests").text
    assert pid.group(1) in county and pid.group(1) not in seattle


def test_what_applies_here_offers_a_map_that_marks_the_point(client: TestClient) -> None:
    """The map is an enhancement: hidden until here-map.js shows it, it submits the same
    coordinate form, and a result page hands it the point used (no inline script or style)."""
    blank = client.get("/here")
    assert blank.status_code == 200
    assert '<section id="here-map-section"' in blank.text and "hidden>" in blank.text
    assert 'id="here-point-form"' in blank.text and "/static/js/here-map.js" in blank.text
    assert "data-lon=" not in blank.text
    r = client.get("/here", params={"lon": "-122.3351", "lat": "47.6080"})
    assert r.status_code == 200
    assert 'data-lon="-122.3351" data-lat="47.608"' in r.text
    assert "Place used: -122.33510, 47.60800" in r.text
    assert "<script>" not in r.text and "style=" not in r.text
