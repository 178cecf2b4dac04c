"""The Open311 read cache shows a renamed or new member, or a renamed region, in the very next
answer (issue 8, 2.13): the region's scope is kept while the change counter is unchanged,
never for a time."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from govshare.core.tenancy import Principal
from govshare.regions import service
from govshare.regions.schemas import JurisdictionCreate, JurisdictionKind, JurisdictionUpdate
from tests.contract.test_open311 import O311, key, submit  # noqa: F401 - fixture


def test_a_rename_shows_at_once_in_discovery_services_and_requests(
        client: TestClient, session: Session, system: Principal, key: str,  # noqa: F811
        ids: dict[str, int]) -> None:
    city = ids["city"]
    first = submit(client, key)  # downtown Seattle: the city handles potholes there
    assert first["service_notice"].startswith("Sent to City of Seattle,")
    one = f"{O311}/requests/{first['service_request_id']}.json"
    assert client.get(one).json()[0]["agency_responsible"] == "City of Seattle"
    assert client.get(f"{O311}/services.json", params={"jurisdiction_id": city}).status_code \
        == 200
    discovery = client.get(f"{O311}/discovery.json").json()
    assert discovery["contact"].startswith("Seattle - King County, WA")

    # Within a second of those reads (a cache kept for a time would still hold them):
    service.update_jurisdiction(session=session, actor=system, jurisdiction_id=city,
                                data=JurisdictionUpdate(name="Seattle (renamed)"))
    added = service.add_jurisdiction(session=session, actor=system, region_id=1,
                                     data=JurisdictionCreate(name="Brand New District",
                                                             kind=JurisdictionKind.special_district))
    session.execute(sa.text("UPDATE regions SET name = 'Puget Sound Partnership'"))
    session.commit()

    assert client.get(one).json()[0]["agency_responsible"] == "Seattle (renamed)"
    assert submit(client, key)["service_notice"].startswith("Sent to Seattle (renamed),")
    assert client.get(f"{O311}/discovery.json").json()["contact"].startswith(
        "Puget Sound Partnership")
    new_member = client.get(f"{O311}/services.json", params={"jurisdiction_id": added.id})
    assert new_member.status_code == 200, new_member.text
    listed = client.get(f"{O311}/requests.json", params={"jurisdiction_id": city}).json()
    assert {d["agency_responsible"] for d in listed} == {"Seattle (renamed)"}
