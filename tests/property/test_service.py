"""Property service: registration, the status machine with history, publication, visibility."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.orm import Session

from govshare.core.audit import AuditEvent
from govshare.core.errors import BadRequest, Conflict, Forbidden, NotFound, ValidationFailed
from govshare.core.states import MoveRefused
from govshare.core.tenancy import Principal, Role
from govshare.property import queries, service
from govshare.property.models import AssetStatus
from govshare.property.schemas import AssetIn
from tests.factories.property import asset
from tests.factories.regions import principal


def test_register_and_refuse_duplicate_asset_id(session: Session, ids: dict[str, int],
                                                system: Principal) -> None:
    a = asset(session, ids["city"], asset_code="SEA-001", name="City Hall annex")
    assert a.pm_property_type == "Office"
    with pytest.raises(Conflict, match="SEA-001"):
        asset(session, ids["city"], asset_code="SEA-001", name="Other")
    asset(session, ids["county"], asset_code="SEA-001", name="Same id, other owner")
    hist = queries.status_history(session=session, asset_id=a.id)
    assert [(h.from_status, h.to_status) for h in hist] == [(None, "in_use")]


def test_status_machine_keeps_history_and_refuses_jumps(session: Session,
                                                        ids: dict[str, int],
                                                        system: Principal) -> None:
    a = asset(session, ids["city"])
    for to in ("under_used", "surplus", "disposal_in_progress", "disposed"):
        service.transition(session=session, actor=system, asset_id=a.id,
                           to_status=AssetStatus(to), reason=f"to {to}")
    with pytest.raises(MoveRefused, match="disposed cannot become in use; that is final"):
        service.transition(session=session, actor=system, asset_id=a.id,
                           to_status=AssetStatus.in_use)
    b = asset(session, ids["city"], asset_code="B")
    with pytest.raises(MoveRefused, match="it can become under-used, vacant, surplus"):
        service.transition(session=session, actor=system, asset_id=b.id,
                           to_status=AssetStatus.disposed)
    hist = queries.status_history(session=session, asset_id=a.id)
    assert [h.to_status for h in hist] == ["in_use", "under_used", "surplus",
                                          "disposal_in_progress", "disposed"]
    assert hist[-1].reason == "to disposed" and hist[-1].actor == "system:test"


def test_status_check_constraint_backs_the_machine(session: Session, ids: dict[str, int]) -> None:
    a = asset(session, ids["city"])
    nested = session.begin_nested()
    with pytest.raises(sa.exc.IntegrityError):
        session.execute(sa.text("UPDATE assets SET status = 'demolished' WHERE id = :i"),
                        {"i": a.id})
    nested.rollback()


def test_update_cannot_change_status_or_code(session: Session, ids: dict[str, int],
                                             system: Principal) -> None:
    a = asset(session, ids["city"], asset_code="U1")
    data = AssetIn(asset_code="U1", name="Renamed", use="office", status="vacant",
                   gross_floor_area_ft2=1)
    with pytest.raises(BadRequest, match="status transition"):
        service.update_asset(session=session, actor=system, asset_id=a.id, data=data)
    ok = AssetIn(asset_code="U1", name="Renamed", use="office", gross_floor_area_ft2=1)
    service.update_asset(session=session, actor=system, asset_id=a.id, data=ok)
    ev = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "asset.update",
                                                     AuditEvent.entity_id == str(a.id))).one()
    # PUT semantics: the record is replaced; the audit row holds exactly the changed fields
    assert ev.before is not None and ev.after is not None
    assert ev.before["name"] == "Test building" and ev.after["name"] == "Renamed"
    assert ev.after["gross_floor_area_ft2"] == 1.0 and ev.after["capacity"] is None
    assert "use" not in ev.after and "asset_code" not in ev.after
    # the same values again change nothing, and nothing more is recorded
    service.update_asset(session=session, actor=system, asset_id=a.id, data=ok)
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "asset.update", AuditEvent.entity_id == str(a.id))) == 1


def test_other_members_staff_cannot_see_or_change_private_assets(session: Session,
                                                                 ids: dict[str, int]) -> None:
    a = asset(session, ids["county"], public_groups=[])
    seattle = principal(Role.jurisdiction_staff, ids["city"])
    with pytest.raises(NotFound):
        queries.get_asset(session=session, actor=seattle, asset_id=a.id)
    with pytest.raises(NotFound):
        service.transition(session=session, actor=seattle, asset_id=a.id,
                           to_status=AssetStatus.vacant)
    rows, _ = queries.list_assets(session=session, actor=seattle, region_id=1)
    assert a.id not in {r.id for r in rows}
    analyst = principal(Role.regional_analyst)
    assert queries.get_asset(session=session, actor=analyst, asset_id=a.id).id == a.id
    with pytest.raises(Forbidden):  # analysts read everything but write nothing
        service.transition(session=session, actor=analyst, asset_id=a.id,
                           to_status=AssetStatus.vacant)


def test_public_view_shows_only_published_groups(session: Session, ids: dict[str, int],
                                                 system: Principal) -> None:
    a = asset(session, ids["county"], repair_needs_cents=123_456_789,
              public_groups=["location", "size"])
    _asset, view = queries.get_public_asset(session=session, asset_id=a.id)
    assert view.public_groups == ["identity", "location", "size"]
    assert "repair_needs_cents" not in view.fields and "123456789" not in view.model_dump_json()
    assert view.fields["gross_floor_area_ft2"] == 20000
    service.publish_groups(session=session, actor=system, asset_id=a.id, groups=[])
    with pytest.raises(NotFound):
        queries.get_public_asset(session=session, asset_id=a.id)


def test_asset_input_rules() -> None:
    with pytest.raises(ValidationError, match="both lon and lat"):
        AssetIn(asset_code="x", name="x", use="office", lon=-122.3)
    with pytest.raises(ValidationError, match="lease"):
        AssetIn(asset_code="x", name="x", use="office", ownership="leased")
    with pytest.raises(ValidationError, match="unknown field group"):
        AssetIn(asset_code="x", name="x", use="office", public_groups=["secrets"])
    with pytest.raises(ValidationError):
        AssetIn(asset_code="x", name="x", use="office", gross_floor_area_ft2=-5)


def test_parameters_validated_and_audited(session: Session, system: Principal) -> None:
    with pytest.raises(ValidationFailed, match="Unknown parameter"):
        service.set_parameters(session=session, actor=system, region_id=1,
                               params={"discount": "3%"})
    with pytest.raises(ValidationFailed):
        service.set_parameters(session=session, actor=system, region_id=1,
                               params={"repair_amortization_years": "ten"})
    service.set_parameters(session=session, actor=system, region_id=1,
                           params={"discount_rate": "1.5%", "vacant_cost_cents_per_ft2": "300"})
    p = queries.parameters(session=session, region_id=1)
    assert p.discount_rate == "1.5%" and p.vacant_cost_cents_per_ft2 == 300
    assert session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "property.parameters")).first() is not None
