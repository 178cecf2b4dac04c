"""The public asset page (issue 9 §6): site area, zoning, a contact and a proposal deadline
(validated and named by field, edited on the staff page and the API, read and written by
files, audited, published only through their groups), late proposals refused, and photos
(checked by content, bounded while they stream, metadata stripped, only the owner's staff
upload or remove them, public only while the asset publishes them; in the window's list as
a real thumbnail made at upload, and in the feeds and the JSON API as absolute URLs, read in
one query), hostile text escaped."""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image
from pydantic import ValidationError
from sqlalchemy.orm import Session

from govshare.core import images
from govshare.core.audit import AuditEvent
from govshare.core.errors import BadRequest, NotFound, ValidationFailed
from govshare.core.tenancy import Principal, Role
from govshare.property import calc, queries, service
from govshare.property.import_export import exporter, importer
from govshare.property.models import Asset, AssetPhoto
from govshare.property.schemas import AssetIn, ListingIn, PhotoIn, ProposalIn
from govshare.regions import queries as regions_queries
from tests.conftest import csrf_from, login
from tests.factories.images import jpeg_with_gps, png, textured
from tests.factories.regions import api_key
from tests.web.test_body_limit import BOUNDARY, MB, call, multipart_head

_codes = itertools.count()
HOSTILE = '<script>alert("x")</script>'
GROUPS = ["identity", "location", "size", "status", "zoning", "contact", "photos"]


def make_asset(session: Session, system: Principal, jid: int, *, status: str = "surplus",
               groups: list[str] | None = None, **kw: Any) -> Asset:
    values: dict[str, Any] = dict(
        asset_code=f"PA-{next(_codes)}", name=f"Pelican Depot {next(_codes)}",
        use="warehouse", address="1 Pelican Way", city="Seattle", zip="98134",
        lon=-122.34, lat=47.58, gross_floor_area_ft2=20_000, land_area_acres=2.5,
        status=status, zoning="IG2 U/85 General Industrial 2", contact_name="Robin Surplus",
        contact_email="robin.surplus@example.gov", contact_phone="206-555-0111",
        public_groups=GROUPS if groups is None else groups)
    values.update(kw)
    a = service.create_asset(session=session, actor=system, jurisdiction_id=jid,
                             data=AssetIn(**values))
    session.commit()
    return a


def staff_page(client: TestClient, asset_id: int) -> str:
    page = client.get(f"/property/assets/{asset_id}")
    assert page.status_code == 200, page.text[:300]
    return page.text


def upload(client: TestClient, asset_id: int, content: bytes, alt: str = "Front of the depot",
           name: str = "photo.jpg", mime: str = "image/jpeg") -> Any:
    token = csrf_from(client.get("/property").text)
    return client.post(f"/property/assets/{asset_id}/photos",
                       data={"csrf_token": token, "alt_text": alt},
                       files={"photo": (name, content, mime)}, follow_redirects=False)


# ------------------------------------------------------------------------- validation


@pytest.mark.parametrize(("field", "value", "reason"), [
    ("land_area_acres", -1, "greater than or equal to 0"),
    ("land_area_acres", 10_000_001, "less than or equal to 10000000"),
    ("zoning", "Z" * 101, "at most 100 characters"),
    ("contact_name", "N" * 201, "at most 200 characters"),
    ("contact_email", "robin at example.gov", "is not an e-mail address"),
    ("contact_email", f"{HOSTILE}@example.gov", "is not an e-mail address"),
    ("contact_phone", "555-0111", "has 7 digits; a US telephone number has 10"),
    ("contact_phone", "call me", "is not a telephone number"),
    ("contact_phone", "123-456-7890", "123 is not an area code in use"),
    ("contact_phone", "<b>206-555-0111</b>", "is not a telephone number"),
    ("contact_phone", "206-555-0111" * 3, "at most 30 characters"),
    ("proposal_deadline", "1999-12-31", "between 2000 and 2100"),
    ("proposal_deadline", "2027-02-30", "valid date"),
])
def test_bad_values_are_refused_naming_the_field(field: str, value: Any, reason: str) -> None:
    for model in (ListingIn, AssetIn):
        base = {} if model is ListingIn else {"asset_code": "X", "name": "X", "use": "office"}
        with pytest.raises(ValidationError) as caught:
            model.model_validate({**base, field: value})
        errors = caught.value.errors()
        assert [e["loc"] for e in errors] == [(field,)], errors
        assert reason in errors[0]["msg"], errors[0]["msg"]


def test_the_staff_form_saves_audits_and_names_refused_fields(
        client: TestClient, session: Session, ids: dict[str, int], system: Principal) -> None:
    a = make_asset(session, system, ids["city"], zoning=None, contact_name=None,
                   contact_email=None, contact_phone=None, land_area_acres=None)
    login(client, "seattle.staff@demo.govshare.org")
    token = csrf_from(staff_page(client, a.id))
    bad = client.post(f"/property/assets/{a.id}/listing", data={
        "csrf_token": token, "land_area_acres": "-3", "zoning": "C-2 Commercial",
        "contact_email": "nobody", "contact_phone": "12", "proposal_deadline": "2027-01-29"})
    assert bad.status_code == 422
    for label in ("Site area (acres)", "Contact e-mail address", "Contact telephone"):
        assert label in bad.text
    assert 'href="#l-contact_email"' in bad.text and 'value="nobody"' in bad.text
    session.refresh(a)
    assert a.zoning is None  # nothing half-written
    ok = client.post(f"/property/assets/{a.id}/listing", data={
        "csrf_token": token, "land_area_acres": "3.25", "zoning": "C-2 Commercial",
        "contact_name": "Robin Surplus", "contact_email": "Robin@Example.GOV",
        "contact_phone": "(206) 555-0111", "proposal_deadline": "2027-01-29"},
        follow_redirects=False)
    assert ok.status_code == 303, ok.text[:500]
    session.refresh(a)
    assert (a.land_area_acres, a.zoning, a.contact_email, a.contact_phone,
            a.proposal_deadline) == (3.25, "C-2 Commercial", "Robin@example.gov",
                                     "(206) 555-0111", date(2027, 1, 29))
    event = session.scalars(sa.select(AuditEvent).where(
        AuditEvent.entity == "asset", AuditEvent.entity_id == str(a.id),
        AuditEvent.action == "asset.update").order_by(AuditEvent.id.desc())).first()
    assert event is not None and event.actor.startswith("user:")
    assert event.after["zoning"] == "C-2 Commercial"  # type: ignore[index]
    assert event.after["proposal_deadline"] == "2027-01-29"  # type: ignore[index]
    assert event.before["zoning"] is None  # type: ignore[index]


def test_the_api_takes_the_fields_and_names_a_bad_one(
        client: TestClient, session: Session, ids: dict[str, int], system: Principal) -> None:
    a = make_asset(session, system, ids["city"])
    headers = {"Authorization": f"Bearer {api_key(session, Role.jurisdiction_staff, ids['city'])}"}
    body = client.get(f"/api/v1/assets/{a.id}", headers=headers).json()
    assert body["zoning"] == "IG2 U/85 General Industrial 2"
    assert body["contact_phone"] == "(206) 555-0111" and body["proposal_deadline"] is None
    fields = {k: v for k, v in body.items() if k in AssetIn.model_fields}
    r = client.put(f"/api/v1/assets/{a.id}", json={**fields, "contact_phone": "12"},
                   headers=headers)
    assert r.status_code == 422 and "contact_phone" in r.text, r.text
    r = client.put(f"/api/v1/assets/{a.id}",
                   json={**fields, "proposal_deadline": "2027-03-01", "zoning": "C-2"},
                   headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["proposal_deadline"] == "2027-03-01" and r.json()["zoning"] == "C-2"


def test_a_number_stored_under_the_old_rule_is_still_read(
        client: TestClient, session: Session, ids: dict[str, int], system: Principal) -> None:
    """Numbers stored before core.phones: read written the one way if valid, as stored if the
    check now refuses them (the read does not fail); the next save must correct them."""
    a = make_asset(session, system, ids["city"])
    headers = {"Authorization": f"Bearer {api_key(session, Role.jurisdiction_staff, ids['city'])}"}
    for stored, shown in (("206-555-0111", "(206) 555-0111"), ("123-456-7890", "123-456-7890")):
        a.contact_phone = stored
        session.commit()
        r = client.get(f"/api/v1/assets/{a.id}", headers=headers)
        assert r.status_code == 200 and r.json()["contact_phone"] == shown, r.text
    fields = {k: v for k, v in r.json().items() if k in AssetIn.model_fields}
    r = client.put(f"/api/v1/assets/{a.id}", json=fields, headers=headers)
    assert r.status_code == 422 and "123 is not an area code in use" in r.text, r.text


# ------------------------------------------------------------------------- deadline


def test_the_deadline_closes_at_the_end_of_its_day_in_the_regions_time_zone() -> None:
    closes = calc.deadline_closes_at(date(2027, 1, 29), "America/Los_Angeles")
    assert closes == datetime(2027, 1, 30, 8, 0, tzinfo=UTC)  # midnight PST
    summer = calc.deadline_closes_at(date(2027, 7, 1), "America/Los_Angeles")
    assert summer == datetime(2027, 7, 2, 7, 0, tzinfo=UTC)  # midnight PDT
    assert not calc.proposals_closed(date(2027, 1, 29), "America/Los_Angeles",
                                     closes - timedelta(seconds=1))
    assert calc.proposals_closed(date(2027, 1, 29), "America/Los_Angeles", closes)
    assert not calc.proposals_closed(None, "America/Los_Angeles", closes)
    assert calc.deadline_text(date(2027, 1, 29), "America/Los_Angeles") == (
        "Friday, January 29, 2027, 11:59 PM PST")


def test_a_proposal_after_the_deadline_is_refused_and_the_page_says_closed(
        client: TestClient, session: Session, ids: dict[str, int], system: Principal) -> None:
    tz = regions_queries.require_current_region(session=session).time_zone
    today = datetime.now(ZoneInfo(tz)).date()
    late = make_asset(session, system, ids["city"], proposal_deadline=today - timedelta(days=1))
    on_time = make_asset(session, system, ids["city"], proposal_deadline=today)
    proposal = ProposalIn(name="Ada", contact_email="ada@example.org",
                          proposed_use="Tool library", description="Lending tools to anyone.")
    with pytest.raises(BadRequest, match="closed after .*; this one was not accepted"):
        service.submit_proposal(session=session, actor=system, asset_id=late.id, data=proposal)
    assert service.submit_proposal(session=session, actor=system, asset_id=on_time.id,
                                   data=proposal).id
    session.commit()

    closed = client.get(f"/property/public/{late.id}").text
    assert "Closed" in closed and "Proposals for this property closed after" in closed
    assert 'action="/property/public/' not in closed  # no form offered
    shown = calc.deadline_text(today - timedelta(days=1), tz)
    assert shown in closed and shown.split()[-1] in ("PST", "PDT")
    page = client.get(f"/property/public/{on_time.id}").text
    assert "Proposal deadline:" in page and calc.deadline_text(today, tz) in page
    r = client.post(f"/api/v1/public/assets/{late.id}/proposals",
                    json=proposal.model_dump(mode="json"))
    assert r.status_code == 400 and "closed after" in r.json()["detail"]


# ------------------------------------------------------------------------- the public page


def test_the_public_page_shows_both_units_zoning_contact_and_escapes_hostile_text(
        client: TestClient, session: Session, ids: dict[str, int], system: Principal) -> None:
    a = make_asset(session, system, ids["city"], zoning=f"C-2 {HOSTILE}",
                   contact_name=f"Robin {HOSTILE}")
    service.add_photo(session=session, actor=system, asset_id=a.id, content=png(),
                      data=PhotoIn(alt_text=f"Loading dock {HOSTILE}"))
    session.commit()
    page = client.get(f"/property/public/{a.id}").text
    assert "2.50 acres (108,900 ft²)" in page
    assert "<script>alert" not in page and "&lt;script&gt;alert(&#34;x&#34;)" in page
    assert "C-2 &lt;script&gt;" in page and "Robin &lt;script&gt;" in page
    assert 'href="mailto:robin.surplus@example.gov"' in page
    assert '<a href="tel:+1-206-555-0111">(206) 555-0111</a>' in page
    assert 'alt="Loading dock &lt;script&gt;' in page
    api = client.get(f"/api/v1/public/assets/{a.id}").json()
    assert api["fields"]["zoning"] == f"C-2 {HOSTILE}"
    assert [p["alt_text"] for p in api["photos"]] == [f"Loading dock {HOSTILE}"]
    feed = client.get("/property/public.geojson", params={"q": a.name}).json()
    assert feed["features"][0]["properties"]["contact_email"] == "robin.surplus@example.gov"


def test_unpublished_groups_and_photos_stay_private(
        client: TestClient, session: Session, ids: dict[str, int], system: Principal) -> None:
    a = make_asset(session, system, ids["city"], groups=["identity", "status"])
    photo = service.add_photo(session=session, actor=system, asset_id=a.id, content=png(),
                              data=PhotoIn(alt_text="Side yard"))
    session.commit()
    url = f"/property/public/{a.id}/photos/{photo.id}"
    for text in (client.get(f"/property/public/{a.id}").text,
                 client.get(f"/api/v1/public/assets/{a.id}").text,
                 client.get("/property/public.csv", params={"q": a.name}).text):
        for secret in ("IG2", "Robin", "robin.surplus", "555-0111", "Side yard", "acres"):
            assert secret not in text
    hidden = client.get(url)
    assert hidden.status_code == 404 and "cache-control" not in {
        k.lower() for k in hidden.headers if hidden.headers[k].startswith("public")}
    service.publish_groups(session=session, actor=system, asset_id=a.id,
                           groups=["identity", "status", "photos"])
    session.commit()
    shown = client.get(url)
    assert shown.status_code == 200 and shown.headers["content-type"] == "image/png"
    assert shown.headers["x-content-type-options"] == "nosniff"
    assert shown.headers["cache-control"] == "public, no-cache"
    assert Image.open(io.BytesIO(shown.content)).size == (32, 32)
    # a browser's copy is checked before each use: unchanged, a 304 without the bytes
    etag = shown.headers["etag"]
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200
    assert client.get(f"/property/public/{a.id + 10**6}/photos/{photo.id}").status_code in (
        404, 422)
    service.publish_groups(session=session, actor=system, asset_id=a.id, groups=[])
    session.commit()
    assert client.get(url).status_code == 404  # a private asset's photo does not exist
    # ... not even to a browser holding a copy: the check says it is gone
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 404


# ------------------------------------------------------------------------- photos


def test_photos_are_checked_by_content_and_stripped_of_metadata(
        client: TestClient, session: Session, ids: dict[str, int], system: Principal) -> None:
    a = make_asset(session, system, ids["city"])
    login(client, "seattle.staff@demo.govshare.org")
    html = upload(client, a.id, b"<html><script>alert(1)</script></html>", name="x.jpg")
    assert html.status_code == 422 and "must be a JPEG, PNG or WebP image" in html.text
    gif = io.BytesIO()
    Image.new("RGB", (8, 8)).save(gif, "GIF")
    assert upload(client, a.id, gif.getvalue(), name="x.png", mime="image/png"
                  ).status_code == 422
    no_alt = upload(client, a.id, png(), alt="  ")
    assert no_alt.status_code == 422 and "Description" in no_alt.text
    assert session.scalar(sa.select(sa.func.count()).select_from(AssetPhoto)
                          .where(AssetPhoto.asset_id == a.id)) == 0
    original = jpeg_with_gps()
    assert Image.open(io.BytesIO(original)).getexif().get(0x8825)  # the GPS is there
    ok = upload(client, a.id, original)
    assert ok.status_code == 303, ok.text[:500]
    photo = session.scalars(sa.select(AssetPhoto).where(AssetPhoto.asset_id == a.id)).one()
    served = client.get(f"/property/public/{a.id}/photos/{photo.id}")
    assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
    cleaned = Image.open(io.BytesIO(served.content))
    assert dict(cleaned.getexif()) == {} and "exif" not in cleaned.info
    for marker in (b"SnoopCam", b"secret-editor", b"Exif\x00\x00"):
        assert marker not in served.content
    assert (photo.width, photo.height, photo.content_type) == (64, 48, "image/jpeg")
    assert photo.created_by.startswith("user:")
    events = session.scalars(sa.select(AuditEvent.action).where(
        AuditEvent.entity_id == str(a.id), AuditEvent.action.like("asset.photo.%"))).all()
    assert events == ["asset.photo.add"]


def test_image_bounds_refuse_huge_dimensions_and_damaged_files() -> None:
    with pytest.raises(ValueError, match="at most 8,000 on a side"):
        images.clean(png(8_001, 1))
    with pytest.raises(ValueError, match="40 million in all"):
        images.clean(png(7_000, 7_000))
    with pytest.raises(ValueError, match="larger than 5 MB"):
        images.clean(b"\xff\xd8\xff" + b"0" * images.MAX_BYTES)
    with pytest.raises(ValueError, match="damaged or cut off"):
        images.clean(jpeg_with_gps(400, 300)[:400])


@pytest.mark.parametrize(("fmt", "size"), [("JPEG", (2400, 1600)), ("PNG", (900, 1400)),
                                            ("WEBP", (1000, 1000))])
def test_a_thumbnail_keeps_the_aspect_ratio_with_the_bound_on_its_longer_side(
        fmt: str, size: tuple[int, int]) -> None:
    photo = images.clean(textured(*size, fmt=fmt))
    thumb = images.thumbnail(photo.data)
    assert thumb is not None and thumb.content_type == photo.content_type
    assert max(thumb.width, thumb.height) == images.THUMB_SIDE == 320
    assert abs(thumb.width / thumb.height - size[0] / size[1]) < 0.01
    opened = Image.open(io.BytesIO(thumb.data))
    assert opened.size == (thumb.width, thumb.height) and opened.format == fmt
    assert dict(opened.getexif()) == {} and "exif" not in opened.info
    assert len(thumb.data) * 5 < len(photo.data)


def test_a_photo_no_larger_than_a_thumbnail_is_its_own_and_damage_is_refused() -> None:
    assert images.thumbnail(images.clean(png(320, 200)).data) is None
    assert images.thumbnail(images.clean(png(321, 10)).data) is not None
    with pytest.raises(ValueError, match="must be a JPEG, PNG or WebP image"):
        images.thumbnail(b"<svg/>")


def test_an_upload_stores_a_much_smaller_thumbnail_served_under_the_photos_rules(
        client: TestClient, session: Session, ids: dict[str, int], system: Principal) -> None:
    a = make_asset(session, system, ids["city"], groups=["identity", "status"])
    other = make_asset(session, system, ids["city"])
    login(client, "seattle.staff@demo.govshare.org")
    ok = upload(client, a.id, textured(3000, 2000, exif=True))
    assert ok.status_code == 303, ok.text[:500]
    photo = session.scalars(sa.select(AssetPhoto).where(AssetPhoto.asset_id == a.id)).one()
    assert (photo.width, photo.height) == (3000, 2000)
    assert (photo.thumbnail_width, photo.thumbnail_height) == (320, 213)
    assert photo.thumbnail is not None
    assert len(photo.thumbnail) * 20 < photo.bytes  # a fraction of the photo's bytes
    client.cookies.clear()
    url = f"/property/public/{a.id}/photos/{photo.id}/thumb"
    hidden = client.get(url)
    assert hidden.status_code == 404 and "etag" not in hidden.headers
    service.publish_groups(session=session, actor=system, asset_id=a.id,
                           groups=["identity", "status", "photos"])
    session.commit()
    thumb = client.get(url)
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    assert thumb.content == photo.thumbnail
    assert thumb.headers["cache-control"] == "public, no-cache"
    assert thumb.headers["x-content-type-options"] == "nosniff"
    served = Image.open(io.BytesIO(thumb.content))
    assert served.size == (320, 213) and dict(served.getexif()) == {}
    assert b"SnoopCam" not in thumb.content
    full = client.get(f"/property/public/{a.id}/photos/{photo.id}")
    assert full.status_code == 200 and Image.open(io.BytesIO(full.content)).size == (3000, 2000)
    etag = thumb.headers["etag"]
    assert etag != full.headers["etag"]  # its own
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    assert client.get(url, headers={"If-None-Match": full.headers["etag"]}).status_code == 200
    # another asset's photo id, or an unknown one, is not found
    assert client.get(f"/property/public/{other.id}/photos/{photo.id}/thumb"
                      ).status_code == 404
    assert client.get(f"/property/public/{a.id}/photos/{photo.id + 10**6}/thumb"
                      ).status_code == 404
    service.publish_groups(session=session, actor=system, asset_id=a.id,
                           groups=["identity", "status"])
    session.commit()
    assert client.get(url).status_code == 404
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 404


def test_a_photo_without_a_thumbnail_serves_itself_and_the_command_makes_one(
        client: TestClient, session: Session, ids: dict[str, int], system: Principal) -> None:
    """As a photo stored before migration 0022 is: the thumb route serves the photo until
    ``property thumbnails`` (service.make_thumbnail) makes its thumbnail."""
    a = make_asset(session, system, ids["city"])
    small = service.add_photo(session=session, actor=system, asset_id=a.id, content=png(),
                              data=PhotoIn(alt_text="A small one"))
    old = service.add_photo(session=session, actor=system, asset_id=a.id,
                            content=textured(1200, 900), data=PhotoIn(alt_text="An old one"))
    assert small.thumbnail is None  # 32 x 32: its own thumbnail
    old.thumbnail = old.thumbnail_width = old.thumbnail_height = None
    session.commit()
    for p in (small, old):
        got = client.get(f"/property/public/{a.id}/photos/{p.id}/thumb")
        assert got.status_code == 200 and got.content == p.data
    from govshare.property import queries
    assert old.id in queries.photos_without_thumbnail(session=session)
    assert small.id not in queries.photos_without_thumbnail(session=session)
    assert service.make_thumbnail(session=session, photo_id=old.id)
    assert not service.make_thumbnail(session=session, photo_id=old.id)  # done already
    session.commit()
    assert old.id not in queries.photos_without_thumbnail(session=session)
    assert (old.thumbnail_width, old.thumbnail_height) == (320, 240)
    got = client.get(f"/property/public/{a.id}/photos/{old.id}/thumb")
    assert got.status_code == 200 and got.content == old.thumbnail
    assert Image.open(io.BytesIO(got.content)).size == (320, 240)


def test_an_oversized_upload_is_refused_while_it_streams(
        app: FastAPI, session: Session, ids: dict[str, int], system: Principal) -> None:
    a = make_asset(session, system, ids["city"])
    for path in (f"/property/assets/{a.id}/photos", f"/api/v1/assets/{a.id}/photos"):
        r = call(app, path, total=50 * MB, first=multipart_head(),
                 content_type=f"multipart/form-data; boundary={BOUNDARY}")
        assert r.status == 413, (path, r.body[:300])
        assert r.pulled <= images.MAX_BYTES + 64 * 1024 + MB  # stopped at the cap's chunk


def test_only_the_owners_staff_upload_or_remove_photos(
        client: TestClient, session: Session, ids: dict[str, int], system: Principal) -> None:
    a = make_asset(session, system, ids["city"])
    photo = service.add_photo(session=session, actor=system, asset_id=a.id, content=png(),
                              data=PhotoIn(alt_text="North side"))
    session.commit()
    photo_id = photo.id
    login(client, "kingcounty.admin@demo.govshare.org")  # another member's admin
    assert upload(client, a.id, png()).status_code == 404
    token = csrf_from(client.get("/property").text)
    assert client.post(f"/property/assets/{a.id}/photos/{photo_id}/remove",
                       data={"csrf_token": token}).status_code == 404
    county_key = api_key(session, Role.jurisdiction_admin, ids["county"])
    assert client.delete(f"/api/v1/assets/{a.id}/photos/{photo_id}",
                         headers={"Authorization": f"Bearer {county_key}"}).status_code == 404
    assert client.get(f"/property/assets/{a.id}/photos/{photo_id}").status_code == 404
    client.cookies.clear()
    login(client, "analyst@demo.govshare.org")  # sees every asset, manages none
    assert upload(client, a.id, png()).status_code == 403
    client.cookies.clear()
    login(client, "seattle.staff@demo.govshare.org")
    staff = client.get(f"/property/assets/{a.id}/photos/{photo_id}")
    assert staff.status_code == 200 and staff.headers["cache-control"] == "private, no-cache"
    token = csrf_from(client.get("/property").text)
    r = client.post(f"/property/assets/{a.id}/photos/{photo_id}/remove",
                    data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    session.expire_all()
    assert session.get(AssetPhoto, photo_id) is None
    assert client.get(f"/property/public/{a.id}/photos/{photo_id}").status_code == 404
    with pytest.raises(NotFound):
        service.remove_photo(session=session, actor=system, asset_id=a.id, photo_id=photo_id)


def test_the_api_uploads_lists_and_removes_photos(
        client: TestClient, session: Session, ids: dict[str, int], system: Principal) -> None:
    a = make_asset(session, system, ids["city"])
    headers = {"Authorization": f"Bearer {api_key(session, Role.jurisdiction_staff, ids['city'])}"}
    r = client.post(f"/api/v1/assets/{a.id}/photos", data={"alt_text": "West entrance"},
                    files={"photo": ("p.jpg", jpeg_with_gps(), "image/jpeg")}, headers=headers)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["public"] is True and body["alt_text"] == "West entrance"
    assert b"SnoopCam" not in client.get(body["public_url"]).content
    bad = client.post(f"/api/v1/assets/{a.id}/photos", data={"alt_text": "Not a photo"},
                      files={"photo": ("p.svg", b"<svg/>", "image/svg+xml")}, headers=headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["photo"]
    listed = client.get(f"/api/v1/assets/{a.id}/photos", headers=headers).json()
    assert [p["id"] for p in listed["items"]] == [body["id"]] and listed["total"] == 1
    assert client.delete(f"/api/v1/assets/{a.id}/photos/{body['id']}",
                         headers=headers).status_code == 204
    assert client.get(f"/api/v1/assets/{a.id}/photos", headers=headers).json()["items"] == []


def test_the_api_gives_each_photo_its_thumbnail_only_to_the_owners_staff(
        client: TestClient, session: Session, ids: dict[str, int], system: Principal) -> None:
    """``thumbnail_url`` serves the thumbnail (the photo itself when it has none) to the staff
    who see the asset in full, published or not; ``public_thumbnail_url`` only while the asset
    publishes its photos; another member's key gets 404 for both the list and the thumbnail."""
    a = make_asset(session, system, ids["city"], groups=["identity", "status"])
    other = make_asset(session, system, ids["city"])
    big = service.add_photo(session=session, actor=system, asset_id=a.id,
                            content=textured(1200, 900), data=PhotoIn(alt_text="Yard"))
    small = service.add_photo(session=session, actor=system, asset_id=a.id, content=png(),
                              data=PhotoIn(alt_text="Sign"))
    session.commit()
    assert big.thumbnail is not None and small.thumbnail is None
    staff = {"Authorization": f"Bearer {api_key(session, Role.jurisdiction_staff, ids['city'])}"}
    county = {"Authorization": f"Bearer {api_key(session, Role.jurisdiction_admin, ids['county'])}"}
    listed = client.get(f"/api/v1/assets/{a.id}/photos", headers=staff)
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    staff_url = f"/property/assets/{a.id}/photos"
    public_url = f"/property/public/{a.id}/photos"
    assert [(i["id"], i["url"], i["thumbnail_url"], i["public_url"], i["public_thumbnail_url"])
            for i in items] == [
        (p.id, f"{staff_url}/{p.id}", f"{staff_url}/{p.id}/thumb", f"{public_url}/{p.id}",
         f"{public_url}/{p.id}/thumb") for p in (big, small)]
    assert [i["public"] for i in items] == [False, False]
    for item, expected in zip(items, (big.thumbnail, small.data), strict=True):
        got = client.get(item["thumbnail_url"], headers=staff)
        assert got.status_code == 200 and got.content == expected, item
        assert got.headers["content-type"] == item["content_type"]
        assert got.headers["cache-control"] == "private, no-cache"
        assert client.get(item["thumbnail_url"], headers=county).status_code == 404
        assert client.get(item["public_thumbnail_url"]).status_code == 404  # unpublished
    assert Image.open(io.BytesIO(big.thumbnail)).size == (320, 240)
    assert client.get(f"/api/v1/assets/{a.id}/photos", headers=county).status_code == 404
    # the photo under another asset's id, even one the caller sees, or an unknown id: 404
    assert client.get(f"/property/assets/{other.id}/photos/{big.id}/thumb",
                      headers=staff).status_code == 404
    assert client.get(f"{staff_url}/{big.id + 10**6}/thumb", headers=staff).status_code == 404
    client.cookies.clear()
    login(client, "kingcounty.admin@demo.govshare.org")  # another member's admin, signed in
    assert client.get(items[0]["thumbnail_url"]).status_code == 404
    client.cookies.clear()
    assert client.get(items[0]["thumbnail_url"], follow_redirects=False).status_code in (
        302, 303)  # the public is sent to sign in
    service.publish_groups(session=session, actor=system, asset_id=a.id,
                           groups=["identity", "status", "photos"])
    session.commit()
    got = client.get(items[0]["public_thumbnail_url"])
    assert got.status_code == 200 and got.content == big.thumbnail
    assert client.get(f"/api/v1/assets/{a.id}/photos",
                      headers=staff).json()["items"][0]["public"] is True


def test_staff_photos_carry_an_etag_and_a_current_copy_gets_304_after_the_access_check(
        client: TestClient, session: Session, ids: dict[str, int], system: Principal) -> None:
    """The staff routes, like the public ones, give each photo and thumbnail its own ETag and
    answer a copy still current with 304 and no bytes, kept ``private``; the access rule comes
    first, so another member (even with the right ETag) gets 404, and a photo that changed
    (removed) is not answered 304."""
    a = make_asset(session, system, ids["city"], groups=["identity", "status"])  # unpublished
    big = service.add_photo(session=session, actor=system, asset_id=a.id,
                            content=textured(1200, 900), data=PhotoIn(alt_text="Yard"))
    small = service.add_photo(session=session, actor=system, asset_id=a.id, content=png(),
                              data=PhotoIn(alt_text="Sign"))
    session.commit()
    staff = {"Authorization": f"Bearer {api_key(session, Role.jurisdiction_staff, ids['city'])}"}
    county = {"Authorization": f"Bearer {api_key(session, Role.jurisdiction_admin, ids['county'])}"}
    tags = {}
    for photo, path, expected in ((big, "", big.data), (big, "/thumb", big.thumbnail),
                                  (small, "", small.data), (small, "/thumb", small.data)):
        url = f"/property/assets/{a.id}/photos/{photo.id}{path}"
        first = client.get(url, headers=staff)
        assert first.status_code == 200 and first.content == expected, url
        assert first.headers["cache-control"] == "private, no-cache"
        etag = tags[url] = first.headers["etag"]
        assert etag.startswith('"') and etag.endswith('"')
        for sent in (etag, f"W/{etag}", f'"other", {etag}'):
            again = client.get(url, headers={**staff, "If-None-Match": sent})
            assert again.status_code == 304 and again.content == b"", (url, sent)
            assert again.headers["etag"] == etag
            assert again.headers["cache-control"] == "private, no-cache"
        changed = client.get(url, headers={**staff, "If-None-Match": '"stale"'})
        assert changed.status_code == 200 and changed.content == expected
        for sent in (etag, "*"):  # access before the cache: no 304 for another member
            other = client.get(url, headers={**county, "If-None-Match": sent})
            assert other.status_code == 404 and "etag" not in other.headers
    big_url = f"/property/assets/{a.id}/photos/{big.id}"
    assert tags[big_url] != tags[big_url + "/thumb"]  # the thumbnail has its own
    page = client.get(f"/property/assets/{a.id}", headers=staff).text  # shows these URLs
    assert [f'<img src="{queries.staff_photo_url(a.id, p.id)}" alt=' in page
            for p in (big, small)] == [True, True] and big_url == queries.staff_photo_url(
                a.id, big.id)
    small_url = f"/property/assets/{a.id}/photos/{small.id}"
    assert tags[small_url] == tags[small_url + "/thumb"]  # the photo stands in for it
    service.remove_photo(session=session, actor=system, asset_id=a.id, photo_id=big.id)
    session.commit()
    assert client.get(big_url, headers={**staff, "If-None-Match": tags[big_url]}
                      ).status_code == 404


def test_an_asset_has_at_most_so_many_photos(session: Session, ids: dict[str, int],
                                              system: Principal,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "MAX_PHOTOS", 2)
    a = make_asset(session, system, ids["city"])
    for _ in range(2):
        service.add_photo(session=session, actor=system, asset_id=a.id, content=png(),
                          data=PhotoIn(alt_text="A view"))
    with pytest.raises(ValidationFailed, match="at most 2 photos"):
        service.add_photo(session=session, actor=system, asset_id=a.id, content=png(),
                          data=PhotoIn(alt_text="One more"))


# ------------------------------------------------------------------------- photos in lists


BASE = "http://testserver"  # the test client's base URL, which the feeds write absolute


def photographed(session: Session, system: Principal, jid: int) -> tuple[
        Asset, list[AssetPhoto], Asset, AssetPhoto, Asset]:
    """Three listed assets named "Thumbwell ...": one publishing two photos, one with a photo
    it does not publish, one publishing photos without having any."""
    shown = make_asset(session, system, jid, name="Thumbwell Shown")
    photos = [service.add_photo(session=session, actor=system, asset_id=shown.id,
                                content=png(40 + i, 30), data=PhotoIn(alt_text=f"View {i}"))
              for i in range(2)]
    hidden = make_asset(session, system, jid, name="Thumbwell Hidden",
                        groups=[g for g in GROUPS if g != "photos"])
    secret = service.add_photo(session=session, actor=system, asset_id=hidden.id, content=png(),
                               data=PhotoIn(alt_text="Unpublished yard"))
    none = make_asset(session, system, jid, name="Thumbwell Bare")
    session.commit()
    return shown, photos, hidden, secret, none


def test_the_list_shows_a_thumbnail_of_the_first_published_photo_only(
        client: TestClient, session: Session, ids: dict[str, int], system: Principal) -> None:
    shown, photos, hidden, secret, none = photographed(session, system, ids["city"])
    r = client.get("/property/public", params={"q": "thumbwell"})
    assert r.status_code == 200
    page = r.text
    assert page.count('class="gs-thumb"') == 1  # the bare and the unpublished rows have none
    first = f"/property/public/{shown.id}/photos/{photos[0].id}/thumb"
    assert (f'<img src="{first}" alt="Photo of Thumbwell Shown" width="96" height="72" '
            'loading="lazy"') in page
    assert f'src="/property/public/{shown.id}/photos/{photos[0].id}"' not in page
    assert f"/photos/{photos[1].id}" not in page  # the first photo only
    assert f"/photos/{secret.id}" not in page and "Unpublished yard" not in page
    for bare in (hidden, none):
        assert (f'<th scope="row" data-label="Name"><a href="/property/public/{bare.id}">'
                f'{bare.name}</a></th>') in page  # as the row was before photos
    # the page's policy lets it load its own images, and the thumbnail is one
    assert "img-src 'self'" in r.headers["content-security-policy"]
    thumb = client.get(first)
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/png"


def test_a_hostile_asset_name_is_escaped_in_the_thumbnails_alt_text(
        client: TestClient, session: Session, ids: dict[str, int], system: Principal) -> None:
    a = make_asset(session, system, ids["city"], name=f'Thumbwell "Quoted" {HOSTILE}')
    service.add_photo(session=session, actor=system, asset_id=a.id, content=png(),
                      data=PhotoIn(alt_text="Front"))
    session.commit()
    page = client.get("/property/public", params={"q": "thumbwell"}).text
    assert "<script>alert" not in page
    assert ('alt="Photo of Thumbwell &#34;Quoted&#34; &lt;script&gt;alert(&#34;x&#34;)'
            '&lt;/script&gt;"') in page


def test_the_feeds_and_the_api_give_published_photos_as_absolute_urls_that_resolve(
        client: TestClient, session: Session, ids: dict[str, int], system: Principal) -> None:
    shown, photos, hidden, secret, none = photographed(session, system, ids["city"])
    urls = [f"{BASE}/property/public/{shown.id}/photos/{p.id}" for p in photos]
    mine = {"q": "thumbwell"}
    geo = client.get("/property/public.geojson", params=mine)
    by_id = {f["id"]: f["properties"] for f in geo.json()["features"]}
    assert set(by_id) == {shown.id, hidden.id, none.id}
    assert by_id[shown.id]["photos"] == urls
    assert by_id[hidden.id]["photos"] == [] and by_id[none.id]["photos"] == []
    table = client.get("/property/public.csv", params=mine)
    rows = {int(r["id"]): r for r in csv.DictReader(io.StringIO(table.text))}
    assert rows[shown.id]["photo_urls"] == " ".join(urls)
    assert rows[hidden.id]["photo_urls"] == "" and rows[none.id]["photo_urls"] == ""
    listed = client.get("/api/v1/public/assets", params=mine)
    items = {i["id"]: i for i in listed.json()["items"]}
    one = client.get(f"/api/v1/public/assets/{shown.id}").json()
    for body in (items[shown.id], one):
        assert [(p["id"], p["url"], p["thumbnail_url"]) for p in body["photos"]] == [
            (p.id, u, u + "/thumb") for p, u in zip(photos, urls, strict=True)]
    assert items[hidden.id]["photos"] == [] and items[none.id]["photos"] == []
    assert client.get(f"/api/v1/public/assets/{hidden.id}").json()["photos"] == []
    for what, r in (("geojson", geo), ("csv", table), ("api list", listed)):
        assert f"/photos/{secret.id}" not in r.text, f"an unpublished photo in the {what}"
    for url in urls:
        got = client.get(url)
        assert got.status_code == 200 and got.headers["content-type"] == "image/png", url
    # unpublishing the photos takes them out of every feed at once
    service.publish_groups(session=session, actor=system, asset_id=shown.id,
                           groups=[g for g in GROUPS if g != "photos"])
    session.commit()
    for path in ("/property/public.geojson", "/property/public.csv", "/api/v1/public/assets",
                 f"/api/v1/public/assets/{shown.id}", "/property/public"):
        text = client.get(path, params=mine if "assets/" not in path else None).text
        for p in photos:
            assert f"/photos/{p.id}" not in text, path


def test_the_csv_photo_cell_goes_through_the_formula_rule() -> None:
    from govshare.property.public_window import service as public
    from govshare.property.schemas import AssetPublic, PhotoPublic

    view = AssetPublic(id=1, jurisdiction_id=1, jurisdiction_name="J", public_groups=["photos"],
                       fields={"name": "A"}, photos=[PhotoPublic(
                           id=2, url="=cmd|' /C calc'!A0", thumbnail_url="/t", alt_text="x",
                           content_type="image/png", width=1, height=1)])
    rows = list(csv.DictReader(io.StringIO(public.csv_feed([public.Listed(
        view=view, synthetic=frozenset())], base_url=""))))
    assert rows[0]["photo_urls"] == "'=cmd|' /C calc'!A0"


def test_a_list_reads_every_listed_assets_photos_in_one_query(
        client: TestClient, session: Session, connection: sa.Connection, ids: dict[str, int],
        system: Principal) -> None:
    for n in range(3):
        a = make_asset(session, system, ids["city"], name=f"Thumbwell {n}")
        for _ in range(2):
            service.add_photo(session=session, actor=system, asset_id=a.id, content=png(),
                              data=PhotoIn(alt_text="A view"))
    session.commit()
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "asset_photos" in statement:
            statements.append(statement)

    sa.event.listen(connection, "before_cursor_execute", seen)
    try:
        for path in ("/property/public", "/property/public.csv", "/property/public.geojson",
                     "/api/v1/public/assets"):
            statements.clear()
            for params in ({"q": "thumbwell"}, {}):  # 3 assets with photos, then every one
                r = client.get(path, params=params)
                assert r.status_code == 200 and "/photos/" in r.text, path
            assert len(statements) == 2, (path, statements)  # one per request
            assert not any("asset_photos.data" in s for s in statements), "bytes read"
    finally:
        sa.event.remove(connection, "before_cursor_execute", seen)


def test_the_list_page_reads_the_photos_of_the_listings_it_shows_only(
        client: TestClient, session: Session, connection: sa.Connection, ids: dict[str, int],
        system: Principal) -> None:
    """The page counts every match but shows 50: its one photo query names those 50 assets
    (the last page's few), not every listed one; the feeds, which list them all, read all."""
    assets = [make_asset(session, system, ids["city"], name=f"Pagewell {n:02d}")
              for n in range(55)]  # listed by name: 00-49 on the first page
    for a in assets:
        service.add_photo(session=session, actor=system, asset_id=a.id, content=png(),
                          data=PhotoIn(alt_text="A view"))
    session.commit()
    asked: list[set[int]] = []

    def seen(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        if "asset_photos" in statement:
            values = parameters.values() if isinstance(parameters, dict) else parameters
            asked.append({v for v in values if isinstance(v, int)})

    sa.event.listen(connection, "before_cursor_execute", seen)
    try:
        for page, shown in ((1, assets[:50]), (2, assets[50:]), (9, assets[50:])):
            asked.clear()
            r = client.get("/property/public", params={"q": "pagewell", "page": page})
            assert r.status_code == 200
            assert "55 assets match your search" in r.text
            assert r.text.count('class="gs-thumb"') == len(shown)
            assert asked == [{a.id for a in shown}], page  # one query, the shown assets' ids
        asked.clear()
        assert client.get("/property/public.geojson", params={"q": "pagewell"}).status_code == 200
        assert asked == [{a.id for a in assets}]
    finally:
        sa.event.remove(connection, "before_cursor_execute", seen)


# ------------------------------------------------------------------------- files


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "geojson"])
def test_the_new_columns_round_trip_through_export_and_import(
        fmt: str, session: Session, ids: dict[str, int], system: Principal) -> None:
    a = make_asset(session, system, ids["schools"], proposal_deadline=date(2027, 1, 29))
    out = io.BytesIO()
    exporter.export_file(session=session, actor=system, jurisdiction_ids=[ids["schools"]],
                         fmt=fmt, out=out)
    out.seek(0)
    if fmt == "csv":
        rows = {r["asset_code"]: r for r in csv.DictReader(io.StringIO(out.read().decode()))}
    elif fmt == "xlsx":
        sheet = openpyxl.load_workbook(out, read_only=True)["assets"]
        header, *lines = [list(r) for r in sheet.iter_rows(values_only=True)]
        rows = {r[header.index("asset_code")]: dict(zip(header, r, strict=True))
                for r in lines}
    else:
        rows = {f["properties"]["asset_code"]: f["properties"]
                for f in json.loads(out.read())["features"]}
    mine = rows[a.asset_code]
    assert (str(mine["proposal_deadline"])[:10], mine["zoning"], mine["contact_email"],
            mine["contact_phone"]) == ("2027-01-29", "IG2 U/85 General Industrial 2",
                                       "robin.surplus@example.gov", "(206) 555-0111")
    out.seek(0)
    result = importer.import_assets(session=session, actor=system,
                                    jurisdiction_id=ids["schools"], source=out, fmt=fmt)
    assert result.updated == 0 and result.unchanged == result.rows  # read, not dropped
    changed = io.BytesIO(
        b"asset_code,name,use,zoning,contact_name,contact_email,contact_phone,"
        b"proposal_deadline,land_area_acres\n" +
        f"{a.asset_code},{a.name},warehouse,C-2 Commercial,Sam Lot,sam@example.gov,"
        f"+1 206 555 0199 x7,3/15/2027,4.75\n".encode())
    result = importer.import_assets(session=session, actor=system,
                                    jurisdiction_id=ids["schools"], source=changed, fmt="csv")
    assert result.updated == 1
    session.refresh(a)
    assert (a.zoning, a.contact_name, a.contact_email, a.contact_phone, a.proposal_deadline,
            a.land_area_acres) == ("C-2 Commercial", "Sam Lot", "sam@example.gov",
                                   "(206) 555-0199 ext. 7", date(2027, 3, 15), 4.75)


def test_a_file_with_bad_new_cells_is_refused_naming_row_column_and_reason(
        session: Session, ids: dict[str, int], system: Principal) -> None:
    bad = io.BytesIO(b"asset_code,name,use,contact_email,contact_phone,proposal_deadline\n"
                     b"N-1,New lot,vacant_land,not-an-email,206-555-0100,2027-01-29\n"
                     b"N-2,Other lot,vacant_land,a@example.gov,12,2027-01-29\n"
                     b"N-3,Third lot,vacant_land,a@example.gov,206-555-0100,29.1.2027\n"
                     b"N-4,Fourth lot,vacant_land,a@example.gov,<b>hi</b>,2027-01-29\n"
                     b"N-5,Fifth lot,vacant_land,a@example.gov,555-555-0100,2027-01-29\n")
    with pytest.raises(importer.ImportRefused) as caught:
        importer.import_assets(session=session, actor=system, jurisdiction_id=ids["schools"],
                               source=bad, fmt="csv")
    found = {(e.row, e.column): e.reason for e in caught.value.report}
    assert "is not an e-mail address" in found[(2, "contact_email")]
    assert "has 2 digits" in found[(3, "contact_phone")]
    assert "is not a telephone number" in found[(5, "contact_phone")]
    assert "555 is not an area code" in found[(6, "contact_phone")]
    assert "is not a date" in found[(4, "proposal_deadline")]
    assert session.scalar(sa.select(sa.func.count()).select_from(Asset).where(
        Asset.asset_code.in_(["N-1", "N-2", "N-3", "N-4", "N-5"]))) == 0


# ------------------------------------------------------------------------- the demo


def test_the_demo_gives_surplus_assets_a_public_page_labeled_synthetic(
        client: TestClient, session: Session) -> None:
    rows = session.scalars(sa.select(Asset).where(Asset.zoning.is_not(None))).all()
    assert rows, "no demo asset has a public page"
    for a in rows:
        assert a.status == "surplus"
        assert {"zoning", "contact_name", "proposal_deadline"} <= set(a.synthetic_fields)
        assert {"zoning", "contact", "photos"} <= set(a.public_groups)
    a = rows[0]
    page = client.get(f"/property/public/{a.id}").text
    assert a.zoning in page and "Proposal deadline:" in page
    assert "synthetic" in page and "made up for the demonstration" in page
    assert "Drawings for the demonstration" in page or "drawn for the demonstration" in page
    photo = session.scalars(sa.select(AssetPhoto).where(AssetPhoto.asset_id == a.id)).one()
    assert photo.synthetic and "does not show the property" in photo.alt_text
    assert client.get(f"/property/public/{a.id}/photos/{photo.id}").status_code == 200


def test_a_copy_still_current_gets_its_304_without_a_byte_read(
        client: TestClient, session: Session, connection: sa.Connection, ids: dict[str, int],
        system: Principal) -> None:
    """A photo's ETag comes from its row's metadata (`queries.photo_etag`), so a 304 reads no
    image bytes, on the public and the staff routes, photo and thumbnail; a 200 reads the
    bytes it serves. Two photos of the same size get different tags."""
    a = make_asset(session, system, ids["city"], groups=["identity", "status", "photos"])
    big = service.add_photo(session=session, actor=system, asset_id=a.id,
                            content=textured(1200, 900), data=PhotoIn(alt_text="Yard"))
    twin = service.add_photo(session=session, actor=system, asset_id=a.id,
                             content=textured(1200, 900), data=PhotoIn(alt_text="Yard again"))
    session.commit()
    staff = {"Authorization": f"Bearer {api_key(session, Role.jurisdiction_staff, ids['city'])}"}
    reads: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if re.search(r"asset_photos\.(data|thumbnail)\b", statement):  # not thumbnail_width
            reads.append(statement)

    sa.event.listen(connection, "before_cursor_execute", seen)
    try:
        for base, headers in ((f"/property/public/{a.id}/photos", {}),
                              (f"/property/assets/{a.id}/photos", staff)):
            for path, expected in (("", big.data), ("/thumb", big.thumbnail)):
                url = f"{base}/{big.id}{path}"
                session.expire_all()
                reads.clear()
                first = client.get(url, headers=headers)
                assert first.status_code == 200 and first.content == expected, url
                assert reads, url  # the bytes it serves
                twin_tag = client.get(f"{base}/{twin.id}{path}", headers=headers
                                      ).headers["etag"]
                assert twin_tag != first.headers["etag"]
                session.expire_all()
                reads.clear()
                again = client.get(url, headers={**headers,
                                                 "If-None-Match": first.headers["etag"]})
                assert again.status_code == 304 and again.content == b"", url
                assert reads == [], (url, reads)
    finally:
        sa.event.remove(connection, "before_cursor_execute", seen)
