"""Writes of the property domain: assets and their status machine, field publication,
cost parameters, public proposals and their workflow. Keyword-only; flush, never commit;
every write leaves an audit row. (Bulk imports live in ``imports``.)

Status machine (one table, checked here, values backed by a DB check constraint):

    in_use <-> under_used <-> vacant, each -> surplus
    surplus -> in_use (withdrawn) | disposal_in_progress
    disposal_in_progress -> surplus (halted) | disposed          disposed: final
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from govshare.carbon import service as carbon_service
from govshare.core import audit
from govshare.core.db import utcnow
from govshare.core.errors import BadRequest, Conflict, NotFound, ValidationFailed
from govshare.core.tenancy import Action, Principal, authorize, ensure_visible
from govshare.property.calc import Parameters, checked_parameters
from govshare.property.models import (
    Asset,
    AssetStatus,
    AssetStatusChange,
    CostParameters,
    Proposal,
    ProposalKind,
    ProposalStatus,
    ProposalStatusChange,
)
from govshare.property.schemas import (
    ASSETS,
    FIELD_GROUPS,
    PROPOSALS,
    AssetIn,
    ProposalDecision,
    ProposalIn,
)
from govshare.regions import queries as regions_queries

S, P = AssetStatus, ProposalStatus
# Which asset statuses accept which kind of public submission.
OPEN_TO_PROPOSALS = frozenset({S.surplus, S.vacant, S.under_used})
OPEN_TO_CHALLENGE = frozenset({S.in_use})

ASSET_AUDIT_FIELDS = tuple(AssetIn.model_fields)


def _asset(session: Session, actor: Principal, asset_id: int) -> Asset:
    asset = session.get(Asset, asset_id)
    if asset is None:
        raise NotFound("Asset not found")
    ensure_visible(actor, asset.jurisdiction_id, "Asset")
    return asset


def create_asset(*, session: Session, actor: Principal, jurisdiction_id: int, data: AssetIn,
                 source: str | None = None) -> Asset:
    authorize(actor, Action.property_manage, jurisdiction_id)
    regions_queries.get_jurisdiction(session=session, jurisdiction_id=jurisdiction_id)
    exists = session.scalars(select(Asset.id).where(Asset.jurisdiction_id == jurisdiction_id,
                                                    Asset.asset_code == data.asset_code)).first()
    if exists is not None:
        raise Conflict(f"Asset id {data.asset_code!r} already exists in this jurisdiction "
                       f"(asset {exists})")
    asset = Asset(jurisdiction_id=jurisdiction_id, source=source, **data.values())
    session.add(asset)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(f"Asset id {data.asset_code!r} already exists") from exc
    session.add(AssetStatusChange(asset_id=asset.id, from_status=None, to_status=asset.status,
                                  at=utcnow(), actor=actor.ref, reason="registered"))
    audit.record(session, actor, action="asset.create", entity="asset", entity_id=asset.id,
                 jurisdiction_id=jurisdiction_id,
                 after=audit.snapshot(asset, ASSET_AUDIT_FIELDS))
    return asset


def update_asset(*, session: Session, actor: Principal, asset_id: int, data: AssetIn) -> Asset:
    """Replace the asset's fields (status changes go through :func:`transition`)."""
    asset = _asset(session, actor, asset_id)
    authorize(actor, Action.property_manage, asset.jurisdiction_id)
    if data.asset_code != asset.asset_code:
        raise BadRequest("The asset id cannot be changed; register a new asset instead")
    if data.status.value != asset.status:
        raise BadRequest("Change the status with a status transition, which keeps history")
    before = audit.snapshot(asset, ASSET_AUDIT_FIELDS)
    for key, value in data.values().items():
        setattr(asset, key, value)
    session.flush()
    after = audit.snapshot(asset, ASSET_AUDIT_FIELDS)
    if after != before:
        audit.record(session, actor, action="asset.update", entity="asset", entity_id=asset.id,
                     jurisdiction_id=asset.jurisdiction_id,
                     before={k: v for k, v in before.items() if after[k] != v},
                     after={k: v for k, v in after.items() if before[k] != v})
    return asset


def transition(*, session: Session, actor: Principal, asset_id: int, to_status: AssetStatus,
               reason: str | None = None) -> Asset:
    asset = _asset(session, actor, asset_id)
    authorize(actor, Action.property_manage, asset.jurisdiction_id)
    current = ASSETS.move(asset, to_status)  # 409 if not allowed
    session.add(AssetStatusChange(asset_id=asset.id, from_status=current,
                                  to_status=to_status.value, at=utcnow(), actor=actor.ref,
                                  reason=reason))
    session.flush()
    audit.record(session, actor, action="asset.status", entity="asset", entity_id=asset.id,
                 jurisdiction_id=asset.jurisdiction_id, before={"status": current},
                 after={"status": to_status.value, "reason": reason})
    return asset


def publish_groups(*, session: Session, actor: Principal, asset_id: int, groups: list[str]
                   ) -> Asset:
    asset = _asset(session, actor, asset_id)
    authorize(actor, Action.property_manage, asset.jurisdiction_id)
    unknown = sorted(set(groups) - set(FIELD_GROUPS))
    if unknown:
        raise BadRequest(f"Unknown field group(s): {', '.join(unknown)}")
    before = list(asset.public_groups or [])
    new = [g for g in FIELD_GROUPS if g in set(groups) | ({"identity"} if groups else set())]
    asset.public_groups = new
    session.flush()
    audit.record(session, actor, action="asset.publish", entity="asset", entity_id=asset.id,
                 jurisdiction_id=asset.jurisdiction_id, before={"public_groups": before},
                 after={"public_groups": new})
    return asset


def set_interchangeable(*, session: Session, actor: Principal, asset_id: int,
                        interchangeable: bool) -> Asset:
    """Say whether the asset's space can take in, or move into, another building of its use
    (consolidation leaves the others out and says why)."""
    asset = _asset(session, actor, asset_id)
    authorize(actor, Action.property_manage, asset.jurisdiction_id)
    before = bool(asset.interchangeable)
    asset.interchangeable = interchangeable
    session.flush()
    if before != interchangeable:
        audit.record(session, actor, action="asset.update", entity="asset",
                     entity_id=asset.id, jurisdiction_id=asset.jurisdiction_id,
                     before={"interchangeable": before},
                     after={"interchangeable": interchangeable})
    return asset


def set_parameters(*, session: Session, actor: Principal, region_id: int,
                   params: dict[str, Any]) -> CostParameters:
    """Store the region's parameters that differ from the defaults, after validating all."""
    authorize(actor, Action.property_parameters)
    unknown = sorted(set(params) - set(Parameters.__dataclass_fields__))
    if unknown:
        raise ValidationFailed("Unknown parameter(s): " + ", ".join(unknown), errors=[
            {"loc": [k], "reason": "unknown parameter", "value": params[k]} for k in unknown])
    try:
        checked = checked_parameters(params)
    except ValidationError as exc:
        raise ValidationFailed("The parameters are not valid", errors=[
            {"loc": [str(p) for p in e["loc"]], "reason": e["msg"], "value": e.get("input")}
            for e in exc.errors()]) from None
    except ValueError as exc:
        raise ValidationFailed(str(exc)) from None
    defaults = Parameters()
    params = {k: v for k, v in checked.__dict__.items() if v != getattr(defaults, k)}
    row = session.scalars(select(CostParameters).where(CostParameters.region_id == region_id)
                          ).first()
    before = dict(row.params) if row else {}
    if row is None:
        row = CostParameters(region_id=region_id, params={}, updated_by=actor.ref)
        session.add(row)
    row.params = params
    row.updated_by = actor.ref
    session.flush()
    audit.record(session, actor, action="property.parameters", entity="property_parameters",
                 entity_id=row.id, before=before, after=params)
    return row


# ------------------------------------------------------------------------------- proposals


def submit_proposal(*, session: Session, actor: Principal, asset_id: int, data: ProposalIn
                    ) -> Proposal:
    """Anyone may propose a use for a public surplus/vacant/under-used asset, or challenge the
    use of a public in-use one. Private assets do not exist for the public (404)."""
    authorize(actor, Action.proposal_submit)
    asset = session.get(Asset, asset_id)
    if asset is None or not asset.public_groups:
        raise NotFound("Asset not found")
    status = AssetStatus(asset.status)
    if data.kind is ProposalKind.proposal and status not in OPEN_TO_PROPOSALS:
        raise BadRequest("Proposals are open for surplus, vacant or under-used assets; "
                         "this one is " + status.value.replace("_", " ") +
                         (" — you can challenge its current use instead"
                          if status in OPEN_TO_CHALLENGE else ""))
    if data.kind is ProposalKind.challenge and status not in OPEN_TO_CHALLENGE:
        raise BadRequest("Only the use of an asset that is in use can be challenged; "
                         "propose a use instead")
    proposal = Proposal(asset_id=asset.id, jurisdiction_id=asset.jurisdiction_id,
                        kind=data.kind.value, name=data.name, organization=data.organization,
                        contact_email=str(data.contact_email).lower(),
                        proposed_use=data.proposed_use, description=data.description,
                        status=ProposalStatus.received.value)
    session.add(proposal)
    session.flush()
    session.add(ProposalStatusChange(proposal_id=proposal.id, from_status=None,
                                     to_status=proposal.status, at=utcnow(), actor=actor.ref))
    audit.record(session, actor, action="proposal.submit", entity="proposal",
                 entity_id=proposal.id, jurisdiction_id=asset.jurisdiction_id,
                 after={"asset_id": asset.id, "kind": data.kind.value,
                        "proposed_use": data.proposed_use})
    return proposal


def decide_proposal(*, session: Session, actor: Principal, proposal_id: int,
                    data: ProposalDecision) -> Proposal:
    proposal = session.get(Proposal, proposal_id)
    if proposal is None:
        raise NotFound("Proposal not found")
    ensure_visible(actor, proposal.jurisdiction_id, "Proposal")
    authorize(actor, Action.property_manage, proposal.jurisdiction_id)
    PROPOSALS.check(proposal.status, data.to_status)  # 409 if not allowed
    if data.to_status in (P.accepted, P.declined) and not (data.public_reason or "").strip():
        raise BadRequest("Give a public reason when accepting or declining")
    current = PROPOSALS.move(proposal, data.to_status)
    if data.public_reason:
        proposal.public_reason = data.public_reason.strip()
    session.add(ProposalStatusChange(proposal_id=proposal.id, from_status=current,
                                     to_status=data.to_status.value, at=utcnow(),
                                     actor=actor.ref, note=data.note))
    session.flush()
    audit.record(session, actor, action="proposal.decide", entity="proposal",
                 entity_id=proposal.id, jurisdiction_id=proposal.jurisdiction_id,
                 before={"status": current},
                 after={"status": proposal.status, "public_reason": proposal.public_reason})
    return proposal


# ------------------------------------------------------------------------- carbon

CARBON_FUELS = (("electricity_kwh", "electricity", "kWh"),
                ("natural_gas_therms", "natural_gas", "therm"),
                ("district_steam_kbtu", "district_steam", "kBtu"),
                ("fuel_oil_gallons", "fuel_oil", "gallon"),
                ("propane_gallons", "propane", "gallon"))


def record_carbon(*, session: Session, actor: Principal, jurisdiction_ids: list[int],
                  utilities: dict[int, str] | None = None) -> int:
    """Record the annual energy of these members' buildings into carbon (one period per fuel
    for the asset's energy year; idempotent: the same year is replaced). ``utilities`` names
    the electric utility of a member's buildings for market-based factors. Returns the
    number of assets recorded."""
    utilities = utilities or {}
    assets = session.scalars(select(Asset).where(
        Asset.jurisdiction_id.in_(jurisdiction_ids), Asset.energy_year.is_not(None),
        Asset.status != AssetStatus.disposed.value)).all()
    rows: list[dict[str, Any]] = []
    n = 0
    for a in assets:
        fuels = [(f, act, u) for f, act, u in CARBON_FUELS if getattr(a, f)]
        if not fuels or a.energy_year is None:
            continue
        n += 1
        base = {"source_key": str(a.id), "jurisdiction_id": a.jurisdiction_id,
                "name": a.name, "sector": "buildings",
                "period_start": date(a.energy_year, 1, 1),
                "period_end": date(a.energy_year, 12, 31), "zip": a.zip, "lon": a.lon,
                "lat": a.lat, "utility": utilities.get(a.jurisdiction_id),
                "property_type": a.pm_property_type,
                "gross_floor_area_ft2": a.gross_floor_area_ft2}
        rows += [{**base, "activity": act, "quantity": getattr(a, f), "unit": u}
                 for f, act, u in fuels]
    if rows:
        carbon_service.record_activity(session, actor, "property", rows)
    return n
