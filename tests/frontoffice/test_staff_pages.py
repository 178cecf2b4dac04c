"""Staff pages speak people's language (issue 9 §4): names instead of user:4, labels for
statuses and answers, the public-note box unticked, filters that fit, assignment, the
service-level clock (overdue flagged) and the queue's map; the demo's queues are not empty."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from govshare.core.db import utcnow
from govshare.core.tenancy import ANONYMOUS
from govshare.frontoffice import service
from govshare.frontoffice.models import ServiceRequest
from govshare.frontoffice.schemas import RequestIn
from tests.conftest import csrf_from, login


def _overdue_pothole(session: Session) -> ServiceRequest:
    req = service.submit_request(
        session=session, actor=ANONYMOUS, region_id=1, now=utcnow() - timedelta(days=9),
        data=RequestIn(service_code="pothole", lat=47.6080, lon=-122.3351,
                       attributes={"size": ["medium"]}, description="Old pothole"))
    session.flush()
    return req


def test_demo_queue_is_not_empty_and_labelled(client: TestClient) -> None:
    login(client, "admin@demo.govshare.org")
    page = client.get("/staff/requests")
    assert page.status_code == 200
    rows = page.text.split("<tbody>")[1].split("</tbody>")[0]
    assert rows.count("<tr") >= 20
    assert "synthetic demo request" in page.text.lower()
    for channel in ("Phone", "Open311 app", "Walk-in", "E-mail", "Mail"):
        assert channel in page.text
    points = json.loads(re.search(r'id="queue-points">(.*?)</script>', page.text, re.S)
                        .group(1))  # type: ignore[union-attr]
    assert points and {"href", "lon", "lat", "label", "overdue"} <= set(points[0])
    feed = client.get("/open311/v2/requests.json")
    assert feed.status_code == 200 and len(feed.json()) >= 20


def test_case_page_names_people_and_labels_answers(client: TestClient,
                                                  session: Session) -> None:
    req = _overdue_pothole(session)
    login(client, "seattle.staff@demo.govshare.org")
    page = client.get(f"/staff/requests/{req.id}")
    assert page.status_code == 200
    assert "How big is it?" in page.text and "Up to a car tyre" in page.text
    assert "size" not in page.text.split('id="history"')[0].split("<dl")[1].split("</dl>")[0]
    assert "Overdue by" in page.text and "target for report a pothole is 5 days" in page.text
    assert 'id="a-public" type="checkbox" name="public">' in page.text  # unticked
    assert "Resident (web form)" in page.text and "user:" not in page.text
    staff_id = session.execute(sa.text(
        "SELECT id FROM users WHERE email = 'seattle.staff@demo.govshare.org'")).scalar()
    r = client.post(f"/staff/requests/{req.id}", data={
        "csrf_token": csrf_from(page.text), "assign_to": str(staff_id),
        "to_status": "in_progress", "note": "Checking the size"}, follow_redirects=True)
    assert r.status_code == 200
    assert "Sky Staff (demo)" in r.text and "user:" not in r.text
    assert "Received → In progress" in r.text and "submitted" not in r.text
    assert "internal" in r.text  # the note was not ticked public
    session.expire_all()
    row = session.get(ServiceRequest, req.id)
    assert row is not None and row.assigned_to_id == staff_id
    mine = client.get("/staff/requests", params={"assigned": "me", "overdue": "on"})
    assert req.public_id in mine.text and "Overdue by" in mine.text
    assert 'id="q-j"' not in mine.text  # a member's staff get no member filter


def test_assignment_is_limited_to_staff_who_can_work_on_it(client: TestClient,
                                                          session: Session) -> None:
    req = _overdue_pothole(session)
    schools = session.execute(sa.text(
        "SELECT id FROM users WHERE email = 'schools.staff@demo.govshare.org'")).scalar()
    login(client, "seattle.admin@demo.govshare.org")
    page = client.get(f"/staff/requests/{req.id}")
    r = client.post(f"/staff/requests/{req.id}", data={
        "csrf_token": csrf_from(page.text), "assign_to": str(schools)})
    assert r.status_code == 400 and "assigned only to staff" in r.text
