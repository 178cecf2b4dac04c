"""Contract tests of Open311 GeoReport v2 at /open311/v2, in XML and JSON, on both backends.

JSON answers are validated against the GeoReport v2 JSON Schemas (open311/schema-validation,
copied into ``tests/data/open311``); XML answers are parsed (well-formed, declaration, no DTD) and
read back by the Spark convention the spec uses, which must give the JSON answer again.
Requests are routed across levels on the real demo boundaries: a pothole downtown goes to
the City of Seattle, one in Kent to King County, one at sea is refused.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from sqlalchemy import delete, select
from sqlalchemy import func as sa_func
from sqlalchemy.orm import Session

from govshare.core.db import utcnow
from govshare.core.tenancy import ANONYMOUS, Role
from govshare.frontoffice import service as fo_service
from govshare.frontoffice.models import RequestUpdate, ServiceRequest
from govshare.frontoffice.open311.format import ITEM
from govshare.frontoffice.schemas import RequestAction, RequestIn
from govshare.regions import queries as regions_queries
from govshare.regions import service as regions_service
from tests.conftest import TEST_DATA
from tests.factories.regions import api_key, principal

O311 = "/open311/v2"
FORMATS = ("json", "xml")
DOWNTOWN = {"lat": "47.6080", "long": "-122.3351"}  # City of Seattle
KENT = {"lat": "47.3809", "long": "-122.2348"}  # King County, outside Seattle
AT_SEA = {"lat": "47.0", "long": "-125.5"}  # no member
REQUEST_SERVICES = {"pothole", "graffiti", "streetlight", "illegal_dumping", "abandoned_vehicle",
                    "school_facility", "port_noise"}
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$")
PII = {"first_name": "Ada", "last_name": "Lovelace-Secret", "email": "ada.secret@example.org",
       "phone": "206-555-0199", "device_id": "device-secret-42", "account_id": "acct-secret-7"}

# ----------------------------------------------------------------------------- schemas

_SCHEMAS = {name: json.loads((TEST_DATA / "open311" / f"{name}.json").read_text())
            for name in ("services", "service", "service-definition", "requests", "request")}
_REGISTRY = Registry().with_resources(
    (f"{name}.json", Resource.from_contents(schema, default_specification=DRAFT202012))
    for name, schema in _SCHEMAS.items())


def validate(name: str, document: Any) -> None:
    Draft202012Validator(_SCHEMAS[name], registry=_REGISTRY).validate(document)
    if name == "requests":
        for r in document:
            for field in ("requested_datetime", "updated_datetime", "expected_datetime"):
                assert r[field] is None or ISO.match(r[field]), (field, r[field])


# ----------------------------------------------------------------------------- helpers


def spark(el: ET.Element) -> Any:
    """XML -> JSON by the Spark convention (list elements from the spec's plural names)."""
    if el.tag in ITEM:
        assert all(c.tag == ITEM[el.tag] for c in el), [c.tag for c in el]
        return [spark(c) for c in el]
    if len(el):
        return {c.tag: spark(c) for c in el}
    return el.text


def as_text(value: Any) -> Any:
    """A JSON value as it reads in XML."""
    if isinstance(value, list):
        return [as_text(v) for v in value]
    if isinstance(value, dict):
        return {k: as_text(v) for k, v in value.items()}
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def body(r: Response, fmt: str, root: str | None = None) -> Any:
    if fmt == "json":
        assert r.headers["content-type"] == "application/json; charset=utf-8"
        return r.json()
    assert r.headers["content-type"] == "text/xml; charset=utf-8"
    assert r.text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    assert "<!DOCTYPE" not in r.text and "<!ENTITY" not in r.text
    el = ET.fromstring(r.content)
    if root is not None:
        assert el.tag == root
    return spark(el)


def errors_of(r: Response, fmt: str, status: int) -> list[str]:
    """The spec's error document: a list of {code, description}; returns the descriptions."""
    assert r.status_code == status, r.text
    entries = body(r, fmt, "errors")
    assert isinstance(entries, list) and entries
    for e in entries:
        assert set(e) == {"code", "description"}
        assert str(e["code"]) == str(status)
    return [str(e["description"]) for e in entries]


def both(client: TestClient, path: str, root: str, **params: Any) -> Any:
    """GET in both formats; the XML must say what the JSON says. Returns the JSON."""
    rj = client.get(f"{O311}/{path}.json", params=params)
    rx = client.get(f"{O311}/{path}.xml", params=params)
    assert rj.status_code == rx.status_code == 200, (rj.text, rx.text)
    doc = body(rj, "json")
    assert body(rx, "xml", root) == as_text(doc)
    return doc


def post(client: TestClient, fmt: str, **data: Any) -> Response:
    return client.post(f"{O311}/requests.{fmt}", data=data)


@pytest.fixture
def region_slug(session: Session) -> str:
    region = regions_queries.current_region(session=session)
    assert region is not None
    return region.slug


@pytest.fixture
def key(session: Session, ids: dict[str, int]) -> str:
    """An Open311 client's key (a Seattle staff key: any member's key may submit anywhere)."""
    plaintext = api_key(session, Role.jurisdiction_staff, ids["city"], name="open311 app")
    session.commit()
    return plaintext


def submit(client: TestClient, key: str, fmt: str = "json", **data: Any) -> dict[str, Any]:
    data = {"api_key": key, "service_code": "pothole", "attribute[size]": "large",
            **DOWNTOWN, **data}
    r = post(client, fmt, **data)
    assert r.status_code == 200, r.text
    doc = body(r, fmt, "service_requests")
    assert isinstance(doc, list) and len(doc) == 1
    return dict(doc[0])


def stored(session: Session, public_id: str) -> ServiceRequest:
    session.expire_all()
    return session.scalars(select(ServiceRequest).where(
        ServiceRequest.public_id == public_id)).one()


# ----------------------------------------------------------------------------- discovery, services


def test_discovery(client: TestClient) -> None:
    doc = both(client, "discovery", "discovery")
    assert set(doc) == {"changeset", "contact", "key_service", "endpoints"}
    [endpoint] = doc["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == "http://testserver/open311/v2"
    assert endpoint["type"] == "production"
    assert endpoint["formats"] == ["text/xml", "application/json"]
    assert ISO.match(doc["changeset"]) and endpoint["changeset"] == doc["changeset"]


def test_service_list_has_only_request_services(client: TestClient) -> None:
    doc = both(client, "services", "services")
    validate("services", doc)
    assert {s["service_code"] for s in doc} == REQUEST_SERVICES
    pothole = next(s for s in doc if s["service_code"] == "pothole")
    assert pothole == {"service_code": "pothole", "service_name": "Report a pothole",
                       "description": pothole["description"], "metadata": True,
                       "type": "realtime", "keywords": "road, street, hole, pavement",
                       "group": "Streets"}
    assert all(s["type"] == "realtime" and s["metadata"] is True for s in doc)


def test_service_list_by_member_id_or_region_slug(client: TestClient, ids: dict[str, int],
                                                  region_slug: str) -> None:
    schools = both(client, "services", "services", jurisdiction_id=ids["schools"])
    assert [s["service_code"] for s in schools] == ["school_facility"]
    everything = both(client, "services", "services", jurisdiction_id=region_slug)
    assert {s["service_code"] for s in everything} == REQUEST_SERVICES
    for fmt in FORMATS:
        r = client.get(f"{O311}/services.{fmt}", params={"jurisdiction_id": "sfgov.org"})
        [message] = errors_of(r, fmt, 404)
        assert "jurisdiction_id 'sfgov.org' was not found" in message


def test_service_definitions_cover_every_datatype(client: TestClient) -> None:
    datatypes = set()
    for code in sorted(REQUEST_SERVICES):
        doc = both(client, f"services/{code}", "service_definition")
        validate("service-definition", doc)
        assert doc["service_code"] == code
        orders = [a["order"] for a in doc["attributes"]]
        assert orders == sorted(orders)
        for a in doc["attributes"]:
            assert set(a) == {"variable", "code", "datatype", "required",
                              "datatype_description", "order", "description", "values"}
            datatypes.add(a["datatype"])
            if a["datatype"].endswith("valuelist"):
                assert a["values"] and all(set(v) == {"key", "name"} for v in a["values"])
    assert datatypes == {"string", "number", "datetime", "text", "singlevaluelist",
                         "multivaluelist"}
    noise = both(client, "services/port_noise", "service_definition")
    info = next(a for a in noise["attributes"] if a["code"] == "note")
    assert info["variable"] is False and info["required"] is False


@pytest.mark.parametrize("fmt", FORMATS)
def test_service_definition_not_found(client: TestClient, fmt: str) -> None:
    for code in ("unicorn", "birth_certificate"):  # unknown; information only
        [message] = errors_of(client.get(f"{O311}/services/{code}.{fmt}"), fmt, 404)
        assert code in message


# ----------------------------------------------------------------------------- POST


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_routes_across_levels(client: TestClient, session: Session, key: str,
                                   ids: dict[str, int], fmt: str) -> None:
    downtown = submit(client, key, fmt)
    kent = submit(client, key, fmt, **KENT, description="Kent pothole")
    for doc in (downtown, kent):
        assert set(doc) == {"service_request_id", "token", "service_notice", "account_id"}
        assert isinstance(doc["service_request_id"], str)
        assert re.fullmatch(r"\d{4}-\d{6}", doc["service_request_id"])
    assert "City of Seattle" in downtown["service_notice"]
    assert "King County" in kent["service_notice"]
    row = stored(session, downtown["service_request_id"])
    assert row.jurisdiction_id == ids["city"]
    assert stored(session, kent["service_request_id"]).jurisdiction_id == ids["county"]
    assert row.channel == "open311"
    key_id = regions_service.find_api_key(session=session, prefix=key.split("_")[1]).id
    assert row.recorded_by == f"apikey:{key_id}"
    assert row.attributes == {"size": "large"}


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_outside_every_member_is_refused_clearly(client: TestClient, key: str,
                                                      fmt: str) -> None:
    r = post(client, fmt, api_key=key, service_code="pothole", **AT_SEA,
             **{"attribute[size]": "large"})
    [message] = errors_of(r, fmt, 400)
    assert "outside every member" in message
    tacoma = post(client, fmt, api_key=key, service_code="pothole", lat="47.2529",
                  long="-122.4443", **{"attribute[size]": "large"})
    assert "No member provides 'Report a pothole'" in errors_of(tacoma, fmt, 400)[0]


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_needs_a_valid_key(client: TestClient, session: Session, key: str,
                                ids: dict[str, int], fmt: str) -> None:
    data = {"service_code": "pothole", "attribute[size]": "large", **DOWNTOWN}
    assert "API key is required" in errors_of(post(client, fmt, **data), fmt, 403)[0]
    bad = post(client, fmt, api_key="gsk_notakey", **data)
    assert "unknown or has been revoked" in errors_of(bad, fmt, 403)[0]
    # Our own headers work too; a bad header key is refused, never downgraded to the public.
    for header in ("Authorization", "X-API-Key"):
        value = f"Bearer {key}" if header == "Authorization" else key
        r = client.post(f"{O311}/requests.{fmt}", data=data, headers={header: value})
        assert r.status_code == 200, r.text
    r = client.post(f"{O311}/requests.{fmt}", data=data,
                    headers={"Authorization": "Bearer gsk_12345678_nope-nope-nope-nope-nope"})
    errors_of(r, fmt, 403)
    # A revoked key.
    row = regions_service.find_api_key(session=session, prefix=key.split("_")[1])
    regions_service.revoke_api_key(session=session, actor=principal(Role.regional_admin),
                                   apikey_id=row.id)
    session.commit()
    assert "revoked" in errors_of(post(client, fmt, api_key=key, **data), fmt, 403)[0]
    # A session cookie is not an API key: signed-in staff still need one here.
    assert post(client, fmt, **data).status_code == 403


BAD_LOCATIONS = [
    ({"lat": "91", "long": "-122.3"}, "lat: must be between -90 and 90"),
    ({"lat": "47.6", "long": "-180.5"}, "long: must be between -180 and 180"),
    ({"lat": "nan", "long": "-122.3"}, "lat: 'nan' is not a number"),
    ({"lat": "47.6", "long": "1e999"}, "long: must be between"),
    ({"lat": "47.6"}, "long: lat and long are sent together"),
    ({"long": "-122.3"}, "lat: lat and long are sent together"),
    ({}, "lat: a location is required"),
    ({"address_string": "1 Nowhere Way, Seattle"}, "address_string: 1 NOWHERE WAY, SEATTLE "
                                                  "is not among the region's address points"),
    ({"address_string": "1000 Fourth Avenue"}, "address_string: '1000 Fourth Avenue' could be "
                                               "2 places"),
    ({"address_id": "545483", "zipcode": "98104"}, "address_id: cannot be located here"),
    ({"address_id": "545483"}, "address_id: cannot be located here"),
    ({"address_string": "1 Main St", "zipcode": "9810"}, "zipcode: must be a 5-digit"),
    ({"address_string": "1 Nowhere Rd 00001"}, "address_string: 1 NOWHERE RD, 00001 is not"),
]


@pytest.mark.parametrize(("where", "expected"), BAD_LOCATIONS,
                         ids=[e.split(":")[0] + "-" + str(i) for i, (_, e)
                              in enumerate(BAD_LOCATIONS)])
@pytest.mark.parametrize("fmt", FORMATS)
def test_post_location_is_strict(client: TestClient, key: str, fmt: str,
                                 where: dict[str, str], expected: str) -> None:
    r = post(client, fmt, api_key=key, service_code="pothole", **where,
             **{"attribute[size]": "large"})
    assert any(expected in m for m in errors_of(r, fmt, 400)), r.text


def test_post_by_address_string(client: TestClient, session: Session, key: str,
                                 ids: dict[str, int]) -> None:
    """address_string is found among the address points (issue 9 §1): 12525 Stone Ave N is
    inside Seattle although its ZIP code's point is not."""
    base = {"api_key": key, "service_code": "graffiti", "attribute[surface]": "wall",
            "attribute[offensive]": "no"}
    r = post(client, "json", **base, address_string="12525 stone avenue north, Seattle, WA "
             "98133-1234", address_id="545483")
    assert r.status_code == 200, r.text
    row = stored(session, r.json()[0]["service_request_id"])
    assert (row.zipcode, row.jurisdiction_id, row.address_id) == ("98133", ids["city"],
                                                                  "545483")
    assert abs(row.lon + 122.34318) < 1e-4 and abs(row.lat - 47.72065) < 1e-4


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_attributes_of_every_datatype(client: TestClient, session: Session, key: str,
                                           fmt: str) -> None:
    doc = submit(client, key, fmt, service_code="illegal_dumping",
                 **{"attribute[size]": "", "attribute[items][]": ["tires", "furniture"],
                    "attribute[first_seen]": "2026-11-01T08:00:00-08:00"})
    row = stored(session, doc["service_request_id"])
    assert row.attributes == {"items": ["tires", "furniture"],
                              "first_seen": "2026-11-01T08:00:00-08:00"}
    doc = submit(client, key, fmt, service_code="abandoned_vehicle",
                 **{"attribute[size]": "", "attribute[days_parked]": "4",
                    "attribute[plate]": "ABC 123 WA"})
    assert stored(session, doc["service_request_id"]).attributes == {
        "days_parked": 4.0, "plate": "ABC 123 WA"}


BAD_ATTRIBUTES = [
    ("illegal_dumping", {"attribute[items][]": ["tires", "spaceship"]},
     "attribute[items]: not among the allowed keys: spaceship"),
    ("illegal_dumping", {}, "attribute[items]: required"),
    ("pothole", {"attribute[size]": "huge"}, "attribute[size]: 'huge' is not among"),
    ("pothole", {}, "attribute[size]: required"),
    ("pothole", {"attribute[size]": "large", "attribute[color]": "red"},
     "attribute[color]: not an attribute of this service"),
    ("pothole", {"attribute[size]": ["large", "small"]}, "attribute[size]: takes one value"),
    ("abandoned_vehicle", {"attribute[days_parked]": "a week"},
     "attribute[days_parked]: 'a week' is not a number"),
    ("port_noise", {"attribute[noise_time]": "2026-11-01T08:00:00", "attribute[source]": "ship"},
     "attribute[noise_time]: '2026-11-01T08:00:00' is not an ISO 8601 date-time with a time"),
    ("pothole", {"attribute[size": "large"}, "attribute[size: is not attribute[code]"),
]


@pytest.mark.parametrize(("code", "attrs", "expected"), BAD_ATTRIBUTES,
                         ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(BAD_ATTRIBUTES)])
@pytest.mark.parametrize("fmt", FORMATS)
def test_post_attributes_are_checked(client: TestClient, key: str, fmt: str, code: str,
                                     attrs: dict[str, Any], expected: str) -> None:
    r = post(client, fmt, api_key=key, service_code=code, **DOWNTOWN, **attrs)
    messages = errors_of(r, fmt, 400)
    assert any(m.startswith(expected) for m in messages), messages


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_other_parameters_are_checked(client: TestClient, key: str, fmt: str) -> None:
    ok = {"api_key": key, "service_code": "pothole", "attribute[size]": "large", **DOWNTOWN}
    cases = [
        ({"service_code": ""}, "service_code: is required"),
        ({"service_code": "unicorn"}, "service_code: 'unicorn' is not a service"),
        ({"service_code": "birth_certificate"}, "'birth_certificate' is not a service"),
        ({"email": "not-an-email"}, "email: "),
        ({"media_url": "javascript:alert(1)"}, "media_url: must be an http or https URL"),
        ({"description": "x" * 4001}, "description: "),
        ({"phone": "555-0199"}, "phone: has 7 digits; a US telephone number has 10, with its "
                                "area code"),
        ({"phone": "123-456-7890"}, "phone: is not a telephone number: 123 is not an area "
                                    "code in use"),
        ({"phone": "<script>x()</script>"}, "phone: is not a telephone number (like "
                                            "206-555-0100, or +44 20 7946 0000)"),
        ({"phone": "2" * 5000}, "phone: String should have at most 30 characters"),
        ({"jurisdiction_id": "99999"}, "jurisdiction_id '99999' was not found"),
    ]
    for change, expected in cases:
        r = post(client, fmt, **{**ok, **change})
        status = 404 if "jurisdiction_id" in change else 400
        assert any(expected in m for m in errors_of(r, fmt, status)), (change, r.text)
    r = client.post(f"{O311}/requests.{fmt}?service_code=graffiti", data=ok)
    assert "service_code: given more than once" in errors_of(r, fmt, 400)[0]
    r = client.post(f"{O311}/requests.{fmt}", json=ok)
    assert "application/x-www-form-urlencoded" in errors_of(r, fmt, 400)[0]


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_jurisdiction_id_must_be_the_owner_or_the_region(
        client: TestClient, key: str, ids: dict[str, int], region_slug: str, fmt: str) -> None:
    submit(client, key, fmt, jurisdiction_id=str(ids["city"]))
    submit(client, key, fmt, jurisdiction_id=region_slug)
    submit(client, key, fmt, jurisdiction_id=str(ids["county"]), **KENT)
    r = post(client, fmt, api_key=key, service_code="pothole", **DOWNTOWN,
             jurisdiction_id=str(ids["county"]), **{"attribute[size]": "large"})
    assert "handled by City of Seattle" in errors_of(r, fmt, 400)[0]


@pytest.mark.parametrize("fmt", FORMATS)
def test_html_is_stored_as_plain_text_and_xml_stays_well_formed(
        client: TestClient, session: Session, key: str, fmt: str) -> None:
    doc = submit(client, key, fmt, description="<b>Big</b> hole & <script>x()</script>\x01 "
                                               "deep")
    assert stored(session, doc["service_request_id"]).description == "Big hole & x()\x01 deep"
    got = client.get(f"{O311}/requests/{doc['service_request_id']}.json").json()
    assert got[0]["description"] == "Big hole & x()\x01 deep"  # JSON keeps it, escaped
    xml = client.get(f"{O311}/requests/{doc['service_request_id']}.xml")
    assert "Big hole &amp; x() deep" in xml.text  # XML cannot carry \x01: dropped


# ----------------------------------------------------------------------------- tokens


@pytest.mark.parametrize("fmt", FORMATS)
def test_token_gives_the_request_id(client: TestClient, key: str, fmt: str) -> None:
    doc = submit(client, key, fmt)
    got = both(client, f"tokens/{doc['token']}", "service_requests")
    assert got == [{"service_request_id": doc["service_request_id"], "token": doc["token"]}]
    errors_of(client.get(f"{O311}/tokens/not-a-token.{fmt}"), fmt, 404)


# ----------------------------------------------------------------------------- GET requests


@pytest.fixture
def three(client: TestClient, session: Session, key: str) -> dict[str, str]:
    """A pothole downtown (then closed), graffiti downtown, a pothole in Kent; newest last.
    The demo's synthetic requests are removed first (inside the test's transaction), so the
    lists hold these three only."""
    session.execute(delete(RequestUpdate))
    session.execute(delete(ServiceRequest))
    session.flush()
    ids = {
        "closed": submit(client, key, **PII, description="Closed one")["service_request_id"],
        "graffiti": submit(client, key, service_code="graffiti", **{
            "attribute[size]": "", "attribute[surface]": "wall",
            "attribute[offensive]": "no"})["service_request_id"],
        "kent": submit(client, key, **KENT)["service_request_id"],
    }
    row = stored(session, ids["closed"])
    assert row.contact_phone == "(206) 555-0199"  # core.phones: written back one way
    admin = principal(Role.regional_admin)
    fo_service.act_on_request(session=session, actor=admin, request_id=row.id,
                              action=RequestAction(note="Crew notes: gate code 1234",
                                                   public=False))
    fo_service.act_on_request(session=session, actor=admin, request_id=row.id,
                              action=RequestAction(to_status="resolved", note="Filled today"))
    session.commit()
    return ids


def listed(client: TestClient, **params: Any) -> list[str]:
    doc = both(client, "requests", "service_requests", **params)
    validate("requests", doc)
    return [r["service_request_id"] for r in doc]


def test_requests_newest_first_with_every_field(client: TestClient, three: dict[str, str]
                                                ) -> None:
    doc = both(client, "requests", "service_requests")
    validate("requests", doc)
    got = [r["service_request_id"] for r in doc]
    assert got[:3] == [three["kent"], three["graffiti"], three["closed"]]
    closed = next(r for r in doc if r["service_request_id"] == three["closed"])
    assert list(closed) == [
        "service_request_id", "status", "status_notes", "service_name", "service_code",
        "description", "agency_responsible", "service_notice", "requested_datetime",
        "updated_datetime", "expected_datetime", "address", "address_id", "zipcode", "lat",
        "long", "media_url"]
    assert (closed["status"], closed["status_notes"], closed["agency_responsible"]) == (
        "closed", "Filled today", "City of Seattle")
    assert (closed["lat"], closed["long"]) == (47.608, -122.3351)


@pytest.mark.parametrize("extensions", ["false", "true"])
def test_requests_never_show_contact_details(client: TestClient, three: dict[str, str],
                                             extensions: str) -> None:
    for fmt in FORMATS:
        for path in ("requests", f"requests/{three['closed']}"):
            text = client.get(f"{O311}/{path}.{fmt}", params={"extensions": extensions}).text
            for value in [*PII.values(), "(206) 555-0199", "555-0199"]:
                assert value not in text, (path, fmt, value)
            assert "gate code" not in text  # a private staff note


def test_request_filters(client: TestClient, three: dict[str, str], ids: dict[str, int]
                         ) -> None:
    assert set(listed(client, status="closed")) == {three["closed"]}
    assert three["closed"] not in listed(client, status="open")
    assert {three["closed"], three["kent"]} <= set(listed(client, status="open,closed"))
    assert set(listed(client, service_code="graffiti")) == {three["graffiti"]}
    assert {three["graffiti"], three["kent"]} <= set(
        listed(client, service_code="graffiti,pothole"))
    assert set(listed(client, jurisdiction_id=ids["county"])) == {three["kent"]}
    # service_request_id overrides every other argument (even ones that would be refused).
    both_ids = f"{three['kent']},{three['closed']}"
    assert listed(client, service_request_id=both_ids, status="open", service_code="nope",
                  start_date="yesterday") == [three["kent"], three["closed"]]
    now = utcnow()
    window = {"start_date": (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
              "end_date": (now + timedelta(hours=1)).isoformat()}
    assert set(three.values()) <= set(listed(client, **window))
    past = {"start_date": "2020-01-01T00:00:00Z", "end_date": "2020-02-01T00:00:00-08:00"}
    assert listed(client, **past) == []


def test_requests_paging_and_extensions(client: TestClient, three: dict[str, str]) -> None:
    assert listed(client, page_size=1) == [three["kent"]]
    assert listed(client, page_size=1, page=2) == [three["graffiti"]]
    doc = both(client, "requests", "service_requests", service_request_id=three["closed"],
               extensions="true")
    validate("requests", doc)
    ext = doc[0]["extended_attributes"]
    assert (ext["status"], ext["channel"]) == ("resolved", "open311")
    assert [n["type"] for n in ext["notes"]] == ["status", "status"]  # the private note is out
    assert ext["notes"][-1]["description"] == "Resolved: Filled today"
    assert all(ISO.match(n["datetime"]) for n in ext["notes"])


def test_default_window_is_the_last_90_days(client: TestClient, session: Session) -> None:
    old = fo_service.submit_request(
        session=session, actor=ANONYMOUS, region_id=1, now=utcnow() - timedelta(days=120),
        data=RequestIn(service_code="streetlight", lon=-122.3351, lat=47.6080))
    session.commit()
    assert old.public_id not in listed(client)
    assert listed(client, service_request_id=old.public_id) == [old.public_id]
    start = (utcnow() - timedelta(days=125)).isoformat()
    assert old.public_id in listed(client, start_date=start)


BAD_READS = [
    ({"start_date": "2026-01-01"}, "start_date: '2026-01-01' is not an ISO 8601 date-time"),
    ({"start_date": "2026-01-01T00:00:00"}, "start_date: '2026-01-01T00:00:00' is not an ISO"),
    ({"end_date": "2026-01-01T00:00:00 01:00"}, "end_date: '2026-01-01T00:00:00 01:00' has a "
                                                "space where the offset's '+' was"),
    ({"end_date": "2026-02-30T00:00:00Z"}, "end_date: '2026-02-30T00:00:00Z' is not a valid"),
    ({"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"},
     "end_date: start_date and end_date may not span more than 90 days"),
    ({"start_date": "2026-02-01T00:00:00Z", "end_date": "2026-01-01T00:00:00Z"},
     "end_date: is before start_date"),
    ({"status": "pending"}, "status: must be open, closed or both"),
    ({"status": "open,"}, "status: has an empty item"),
    ({"service_code": "unicorn"}, "service_code: 'unicorn' is not a service"),
    ({"page_size": "1001"}, "page_size: must be a whole number from 1 to 1000"),
    ({"page": "0"}, "page: must be a whole number from 1"),
    ({"page": "-1"}, "page: must be a whole number"),
    ({"extensions": "yes"}, "extensions: must be true or false"),
    ({"jurisdiction_id": "nowhere"}, "jurisdiction_id 'nowhere' was not found"),
]


@pytest.mark.parametrize(("params", "expected"), BAD_READS,
                         ids=[f"{next(iter(p))}-{i}" for i, (p, _) in enumerate(BAD_READS)])
@pytest.mark.parametrize("fmt", FORMATS)
def test_request_search_parameters_are_strict(client: TestClient, fmt: str,
                                              params: dict[str, str], expected: str) -> None:
    r = client.get(f"{O311}/requests.{fmt}", params=params)
    status = 404 if "jurisdiction_id" in params else 400
    assert any(m.startswith(expected) for m in errors_of(r, fmt, status)), r.text


def test_repeated_single_parameter_is_refused(client: TestClient) -> None:
    r = client.get(f"{O311}/requests.json?page=1&page=2")
    assert errors_of(r, "json", 400) == ["page: given more than once"]
    r = client.get(f"{O311}/requests.json?status=open&status=closed")  # lists may repeat
    assert r.status_code == 200


@pytest.mark.parametrize("fmt", FORMATS)
def test_one_request(client: TestClient, three: dict[str, str], ids: dict[str, int],
                     fmt: str) -> None:
    r = client.get(f"{O311}/requests/{three['kent']}.{fmt}")
    doc = body(r, fmt, "service_requests")
    assert len(doc) == 1 and doc[0]["service_request_id"] == three["kent"]
    if fmt == "json":
        validate("requests", doc)
    [message] = errors_of(client.get(f"{O311}/requests/1999-000001.{fmt}"), fmt, 404)
    assert "1999-000001" in message
    other = client.get(f"{O311}/requests/{three['kent']}.{fmt}",
                       params={"jurisdiction_id": ids["city"]})
    errors_of(other, fmt, 404)  # King County's request is not in Seattle's scope


# ----------------------------------------------------------------------------- updates feed


def test_service_request_updates_feed(client: TestClient, three: dict[str, str]) -> None:
    doc = both(client, "servicerequestupdates", "service_request_updates")
    mine = [u for u in doc if u["service_request_id"] in three.values()]
    assert all(set(u) == {"update_id", "service_request_id", "status", "description",
                          "updated_datetime", "media_url"} for u in mine)
    assert all(isinstance(u["update_id"], str) and ISO.match(u["updated_datetime"])
               for u in mine)
    closed = [u for u in mine if u["service_request_id"] == three["closed"]]
    assert [(u["status"], u["description"]) for u in closed] == [
        ("open", "Received by open311"), ("closed", "Resolved: Filled today")]
    assert "gate code" not in json.dumps(doc)
    times = [u["updated_datetime"] for u in doc]
    assert times == sorted(times)  # oldest first: a feed to poll
    assert len(both(client, "servicerequestupdates", "service_request_updates",
                    page_size=2)) == 2
    r = client.get(f"{O311}/servicerequestupdates.json", params={"start_date": "today"})
    assert errors_of(r, "json", 400)[0].startswith("start_date: 'today' is not an ISO 8601")


# ----------------------------------------------------------------------------- errors, formats


@pytest.mark.parametrize("path", ["services.html", "services.JSON", "discovery.yaml",
                                  "requests/2026-000001.txt", "services/pothole.csv"])
def test_other_formats_are_not_found_in_xml(client: TestClient, path: str) -> None:
    r = client.get(f"{O311}/{path}")
    [message] = errors_of(r, "xml", 404)
    assert "use .xml or .json" in message


@pytest.mark.parametrize("fmt", FORMATS)
def test_unknown_resources_and_methods(client: TestClient, fmt: str) -> None:
    errors_of(client.get(f"{O311}/widgets.{fmt}"), fmt, 404)
    r = client.put(f"{O311}/services.{fmt}")
    assert "use GET" in errors_of(r, fmt, 405)[0] and r.headers["allow"] == "GET"
    r = client.delete(f"{O311}/requests.{fmt}")
    assert r.headers["allow"] == "GET, POST"
    errors_of(r, fmt, 405)
    r = client.get(f"{O311}/", follow_redirects=False)
    assert r.status_code == 307 and r.headers["location"] == f"{O311}/discovery.xml"


def test_errors_are_never_problem_json(client: TestClient) -> None:
    """The app's own error shape is problem+json; nothing under /open311/v2 may use it."""
    for r in (client.get(f"{O311}/services/unicorn.json"),
              client.post(f"{O311}/requests.json", data={}),
              client.get(f"{O311}/requests.json", params={"page": "x"}),
              client.patch(f"{O311}/discovery.json")):
        assert r.headers["content-type"] == "application/json; charset=utf-8"
        assert isinstance(r.json(), list)


def test_openapi_documents_the_open311_resources(client: TestClient) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    documented = {p for p in paths if p.startswith(O311)}
    assert documented == {f"{O311}/{p}" for p in (
        "discovery.{response_format}", "services.{response_format}",
        "services/{service_code}.{response_format}", "requests.{response_format}",
        "tokens/{token}.{response_format}", "requests/{service_request_id}.{response_format}",
        "servicerequestupdates.{response_format}")}
    post_doc = paths[f"{O311}/requests.{{response_format}}"]["post"]
    assert "application/x-www-form-urlencoded" in post_doc["requestBody"]["content"]
    assert all(op["tags"] == ["open311"] for ops in (paths[p] for p in documented)
               for op in ops.values())


@pytest.mark.parametrize("fmt", FORMATS)
def test_posts_per_key_are_limited(client: TestClient, session: Session, key: str, fmt: str
                                   ) -> None:
    """Every attempt counts (a refused one too); past the limit: 429, Retry-After, the spec's
    error shape, and nothing stored."""
    app = client.app
    app.state.settings = app.state.settings.model_copy(  # type: ignore[attr-defined]
        update={"open311_posts_per_key_per_minute": 2})
    submit(client, key, fmt)
    assert post(client, fmt, api_key=key, service_code="nope", **DOWNTOWN).status_code == 400
    count = select(sa_func.count()).select_from(ServiceRequest)
    before = session.scalar(count)
    r = post(client, fmt, api_key=key, service_code="pothole", **{"attribute[size]": "large"},
             **DOWNTOWN)
    assert r.status_code == 429 and r.headers["retry-after"] == "60"
    assert "at most 2 service requests a minute" in errors_of(r, fmt, 429)[0]
    session.expire_all()
    assert session.scalar(count) == before
