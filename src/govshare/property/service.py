"""Writes of the property domain: assets and their status machine, field publication,
cost parameters, public proposals and their workflow. Keyword-only; flush, never commit;
every write leaves an audit row. (Bulk imports live in ``imports``.)

Status machine (one table, checked here, values backed by a DB check constraint):

    in_use <-> under_used <-> vacant, each -> surplus
    surplus -> in_use (withdrawn) | disposal_in_progress
    disposal_in_progress -> surplus (halted) | disposed          disposed: final
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from govshare.carbon import service as carbon_service
from govshare.carbon.schemas import MeasureIn, MeasureRead
from govshare.core import audit, images, parameters
from govshare.core import tabular as t
from govshare.core.db import utcnow
from govshare.core.errors import BadRequest, Conflict, NotFound, ValidationFailed
from govshare.core.tenancy import Action, Principal, authorize, ensure_visible
from govshare.property.calc import (
    Parameters,
    checked_parameters,
    deadline_text,
    proposals_closed,
)
from govshare.property.models import (
    Asset,
    AssetPhoto,
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
    LISTING_FIELDS,
    MAX_PHOTOS,
    PROPOSALS,
    AssetIn,
    BuildingCarbon,
    ConsolidationCarbonIn,
    ConsolidationCarbonOut,
    ListingIn,
    MemberCarbonOut,
    PhotoIn,
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
    if asset.energy_year is not None:
        record_carbon(session=session, actor=actor, asset_ids=[asset.id])
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
    changed = audit.record_changes(session, actor, asset, fields=ASSET_AUDIT_FIELDS,
                                   before=before, action="asset.update", entity="asset",
                                   jurisdiction_id=asset.jurisdiction_id)
    if changed.intersection(CARBON_FIELDS):
        record_carbon(session=session, actor=actor, asset_ids=[asset.id])
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


def update_listing(*, session: Session, actor: Principal, asset_id: int, data: ListingIn
                   ) -> Asset:
    """Set the public page's fields (site area, zoning, contact, proposal deadline) from the
    asset's page; audited like any change of the asset's fields."""
    asset = _asset(session, actor, asset_id)
    authorize(actor, Action.property_manage, asset.jurisdiction_id)
    before = audit.snapshot(asset, LISTING_FIELDS)
    for key, value in data.model_dump().items():
        setattr(asset, key, value)
    session.flush()
    audit.record_changes(session, actor, asset, fields=LISTING_FIELDS, before=before,
                         action="asset.update", entity="asset",
                         jurisdiction_id=asset.jurisdiction_id)
    return asset


# ------------------------------------------------------------------------------- photos


def add_photo(*, session: Session, actor: Principal, asset_id: int, content: bytes,
              data: PhotoIn, synthetic: bool = False) -> AssetPhoto:
    """Keep a photo of the asset, re-encoded by ``core.images`` (JPEG, PNG or WebP, checked
    by content, bounded, metadata dropped), with its thumbnail for where it is shown small.
    Staff of the owning member only."""
    asset = _asset(session, actor, asset_id)
    authorize(actor, Action.property_manage, asset.jurisdiction_id)
    count = session.scalar(select(func.count()).select_from(AssetPhoto)
                           .where(AssetPhoto.asset_id == asset.id)) or 0
    if count >= MAX_PHOTOS:
        raise ValidationFailed(f"An asset has at most {MAX_PHOTOS} photos; remove one first",
                               errors=[{"loc": ["photo"], "reason": f"this asset already "
                                        f"has {MAX_PHOTOS} photos, the most it may have"}])
    try:
        cleaned = images.clean(content)
        thumb = images.thumbnail(cleaned.data)
    except ValueError as exc:
        raise ValidationFailed(f"Photo refused: {exc}",
                               errors=[{"loc": ["photo"], "reason": str(exc)}]) from None
    photo = AssetPhoto(asset_id=asset.id, content_type=cleaned.content_type,
                       data=cleaned.data, bytes=len(cleaned.data), width=cleaned.width,
                       height=cleaned.height, alt_text=data.alt_text, synthetic=synthetic,
                       created_at=utcnow(), created_by=actor.ref)
    _set_thumbnail(photo, thumb)
    session.add(photo)
    session.flush()
    audit.record(session, actor, action="asset.photo.add", entity="asset", entity_id=asset.id,
                 jurisdiction_id=asset.jurisdiction_id,
                 after={"photo_id": photo.id, "alt_text": photo.alt_text,
                        "content_type": photo.content_type, "bytes": photo.bytes,
                        "width": photo.width, "height": photo.height})
    return photo


def _set_thumbnail(photo: AssetPhoto, thumb: images.Cleaned | None) -> None:
    photo.thumbnail = thumb.data if thumb else None
    photo.thumbnail_width = thumb.width if thumb else None
    photo.thumbnail_height = thumb.height if thumb else None


def make_thumbnail(*, session: Session, photo_id: int) -> bool:
    """Make the thumbnail of a photo stored without one (before migration 0022; see
    ``queries.photos_without_thumbnail``); whether one was made (a photo small enough to be
    its own thumbnail, or already given one, is left as it is). Not audited: it adds nothing
    a person wrote, the pixels are the photo's. The caller commits, one photo at a time."""
    photo = session.get(AssetPhoto, photo_id)
    if photo is None or photo.thumbnail is not None:  # removed or made meanwhile
        return False
    try:
        thumb = images.thumbnail(photo.data)
    except ValueError:  # cleaned on upload, so not expected; the photo serves as is
        return False
    _set_thumbnail(photo, thumb)
    session.flush()
    return thumb is not None


def remove_photo(*, session: Session, actor: Principal, asset_id: int, photo_id: int) -> None:
    asset = _asset(session, actor, asset_id)
    authorize(actor, Action.property_manage, asset.jurisdiction_id)
    photo = session.get(AssetPhoto, photo_id)
    if photo is None or photo.asset_id != asset.id:
        raise NotFound("Photo not found")
    audit.record(session, actor, action="asset.photo.remove", entity="asset",
                 entity_id=asset.id, jurisdiction_id=asset.jurisdiction_id,
                 before={"photo_id": photo.id, "alt_text": photo.alt_text})
    session.delete(photo)
    session.flush()


def set_parameters(*, session: Session, actor: Principal, region_id: int,
                   params: dict[str, Any]) -> CostParameters:
    """Store the region's parameters that differ from the defaults, after validating all."""
    authorize(actor, Action.property_parameters, region_id=region_id)
    values = parameters.changed_from_defaults(params, Parameters, checked_parameters)
    row: CostParameters = parameters.store(session, actor, CostParameters, region_id, values,
                                    action="property.parameters")
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
    if data.kind is ProposalKind.proposal and asset.proposal_deadline is not None:
        tz = regions_queries.require_current_region(session=session).time_zone
        if proposals_closed(asset.proposal_deadline, tz, utcnow()):
            raise BadRequest("Proposals for this property closed after "
                             f"{deadline_text(asset.proposal_deadline, tz)}; this one was "
                             "not accepted. Ask the owner whether it takes late proposals.")
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
# What an asset's carbon depends on: its energy and year, and what carbon keeps of the asset
# (name, place for the eGRID subregion, type and floor area for benchmarking).
CARBON_FIELDS = ("energy_year", *(f for f, _a, _u in CARBON_FUELS), "name", "zip", "lon",
                 "lat", "pm_property_type", "gross_floor_area_ft2")
CARBON_CHUNK = 20_000  # assets per call into carbon (bounded memory on a large import)


def carbon_key(asset_id: int) -> str:
    """The asset's ``source_key`` in carbon (source domain ``property``)."""
    return str(asset_id)


def carbon_rows(a: Asset, utility: str | None = None) -> list[dict[str, Any]]:
    """The asset's energy of its energy year as carbon activity, one period per fuel."""
    if a.energy_year is None:
        return []
    base = {"source_key": carbon_key(a.id), "jurisdiction_id": a.jurisdiction_id,
            "name": a.name, "sector": "buildings",
            "period_start": date(a.energy_year, 1, 1),
            "period_end": date(a.energy_year, 12, 31), "zip": a.zip, "lon": a.lon,
            "lat": a.lat, "utility": utility, "property_type": a.pm_property_type,
            "gross_floor_area_ft2": a.gross_floor_area_ft2}
    return [{**base, "activity": act, "quantity": getattr(a, f), "unit": u}
            for f, act, u in CARBON_FUELS if getattr(a, f)]


def record_carbon(*, session: Session, actor: Principal, jurisdiction_ids: list[int] | None = None,
                  asset_ids: list[int] | None = None, utilities: dict[int, str] | None = None
                  ) -> int:
    """Record the energy of these assets (or of every asset of these members) into carbon,
    through carbon's service: one period per fuel for the asset's energy year. The asset's
    whole year is replaced (``replace="years"``), so recording again never adds and a fuel
    no longer given leaves nothing behind; an asset whose year now has no energy has that
    year cleared. Other years stay: energy is a series by year, and an asset's figures of a
    new year add that year. ``utilities`` names the electric utility of a member's buildings
    for market-based factors (kept by carbon until another is named). Disposed assets are left
    as they were. Returns the number of assets recorded.

    Carbon refuses electricity it cannot place (no ZIP, point or subregion): the refusal names
    the asset and the field, and nothing is recorded."""
    utilities = utilities or {}
    stmt = select(Asset).where(Asset.status != AssetStatus.disposed.value)
    if asset_ids is not None:
        ids = sorted(set(asset_ids))
        chunks = [ids[i:i + CARBON_CHUNK] for i in range(0, len(ids), CARBON_CHUNK)]
    else:
        chunks = [sorted(session.scalars(select(Asset.id).where(
            Asset.jurisdiction_id.in_(jurisdiction_ids or []))))]
        chunks = [chunks[0][i:i + CARBON_CHUNK] for i in range(0, len(chunks[0]),
                                                               CARBON_CHUNK)]
    n = 0
    for chunk in chunks:
        rows: list[tuple[int, dict[str, Any]]] = []
        cleared: dict[int, list[str]] = {}
        codes: dict[str, str] = {}
        for a in session.scalars(stmt.where(Asset.id.in_(chunk)).order_by(Asset.id)
                                 .execution_options(populate_existing=True)):
            mine = carbon_rows(a, utilities.get(a.jurisdiction_id))
            codes[carbon_key(a.id)] = a.asset_code
            if mine:
                n += 1
                rows += [(len(rows) + i + 1, r) for i, r in enumerate(mine)]
            elif a.energy_year is not None:
                cleared.setdefault(a.energy_year, []).append(carbon_key(a.id))
        if rows:
            try:
                carbon_service.record_activity(session, actor, "property", rows,
                                               replace="years")
            except t.Refused as exc:
                raise _carbon_refused(exc, rows, codes) from None
        for year, keys in cleared.items():
            carbon_service.clear_periods(session, actor, "property", keys, [year])
    return n


def _carbon_refused(exc: t.Refused, rows: list[tuple[int, dict[str, Any]]],
                    codes: dict[str, str]) -> ValidationFailed:
    """Carbon's refusal in the asset's words: which asset, which field, why."""
    by_number = dict(rows)
    fuel_of = {act: f for f, act, _u in CARBON_FUELS}
    errors = []
    for e in list(exc.report)[:50]:
        r = by_number.get(e.row or 0, {})
        field = fuel_of.get(r.get("activity", ""), e.column) if e.column in (
            "zip", "subregion", "quantity", "unit") else e.column
        reason = e.reason
        if e.column in ("zip", "subregion"):
            reason = ("the carbon inventory needs the asset's place to find the electricity's "
                      "eGRID subregion: give a ZIP code or a point")
        code = codes.get(r.get("source_key", ""), "?")
        errors.append({"loc": [field], "reason": reason, "asset_code": code,
                       "value": f"asset id {code} ({r.get('name', '?')})"})
    first = errors[0] if errors else {"loc": ["energy"], "reason": str(exc), "value": ""}
    return ValidationFailed(f"Not counted in the carbon inventory: {first['reason']} "
                            f"({first['value']}, {first['loc'][0]})", errors=errors)


# ------------------------------------------------------------------ consolidation -> carbon

CONSOLIDATION_ORIGIN = "property.consolidation:{use}"
GUEST_LOAD_NOT_MODELED = (
    "The guests' added load at the buildings that take them in is not modeled: the kept "
    "buildings are assumed to use no more energy with the guests, so each measure counts "
    "the closed buildings' whole recorded emissions (the most the closures can save).")


@dataclass(frozen=True)
class ClosedBuilding:
    """A building a consolidation plan closes (plain values from ``planning.Plan``)."""

    asset_id: int
    name: str
    jurisdiction_id: int


def consolidation_link(data: ConsolidationCarbonIn) -> str:
    """The plan page that gives the same plan (the measures link back to it)."""
    q: list[tuple[str, Any]] = [("use", data.use.value)]
    for k in ("max_km", "max_sites", "travel"):
        v = getattr(data, k)
        if v is not None:
            q.append((k, f"{v:g}"))
    if data.keep_together:
        q.append(("keep_together", "yes"))  # as the page's checkbox sends it
    if data.minutes != ConsolidationCarbonIn.model_fields["minutes"].default:
        q.append(("minutes", data.minutes))  # the same time for the solver
    q += [("keep", i) for i in data.keep] + [("close", i) for i in data.close]
    return "/property/consolidation?" + urlencode(q)


def next_year(session: Session) -> int:
    """Next year in the region's time zone: when a plan's measures take effect by default."""
    return regions_queries.today(session=session).year + 1


def consolidation_carbon(*, session: Session, actor: Principal, region_id: int,
                         closed: Sequence[ClosedBuilding]) -> list[MemberCarbonOut]:
    """Per member whose buildings a plan closes: the closed buildings' recorded emissions
    (carbon's inventory, location-based, t CO2e) in the member's latest whole inventory year,
    and the buildings left out with the reason (none recorded in carbon, or none for that
    year): never an invented figure."""
    authorize(actor, Action.carbon_read, region_id=region_id)
    names = {j.id: j.name for j in regions_queries.list_jurisdictions(session=session,
                                                                      region_id=region_id)}
    recorded = carbon_service.sources_emissions(
        session, actor, source_domain="property",
        source_keys=[carbon_key(b.asset_id) for b in closed])
    out: list[MemberCarbonOut] = []
    for jid in sorted({b.jurisdiction_id for b in closed}, key=lambda j: names.get(j, "")):
        year = carbon_service.latest_whole_year(session, actor, jid)
        counted: list[BuildingCarbon] = []
        left_out: list[BuildingCarbon] = []
        for b in sorted((b for b in closed if b.jurisdiction_id == jid),
                        key=lambda b: (b.name, b.asset_id)):
            by_year = recorded.get(carbon_key(b.asset_id))
            if not by_year:
                why = "no emissions recorded in the carbon inventory (no energy on record)"
            elif year is None:
                why = "its member has no whole inventory year"
            elif year not in by_year:
                why = (f"no emissions recorded for {year}, its member's latest whole inventory "
                       f"year (recorded: {', '.join(str(y) for y in sorted(by_year))})")
            else:
                counted.append(BuildingCarbon(asset_id=b.asset_id, name=b.name,
                                              t_co2e=by_year[year]))
                continue
            left_out.append(BuildingCarbon(asset_id=b.asset_id, name=b.name, reason=why))
        out.append(MemberCarbonOut(
            jurisdiction_id=jid, jurisdiction=names.get(jid, str(jid)), year=year,
            t_co2e_per_year=sum(c.t_co2e or 0.0 for c in counted), counted=counted,
            left_out=left_out))
    return out


def add_consolidation_measures(*, session: Session, actor: Principal, region_id: int,
                               data: ConsolidationCarbonIn, closed: Sequence[ClosedBuilding],
                               proven: bool = True) -> ConsolidationCarbonOut:
    """The plan's emissions effect as planned measures of kind ``consolidation`` in the
    carbon plan: one per member whose closed buildings have recorded emissions (t CO2e a
    year = those buildings' emissions in the member's latest whole inventory year), from
    ``data.start_year`` (else next year), named after the plan and linking back to it.
    Adding a plan of the same use again replaces that use's consolidation measures (two
    plans for one use are alternatives, never both)."""
    authorize(actor, Action.carbon_plan, region_id=region_id)
    start = data.start_year or next_year(session)
    members = consolidation_carbon(session=session, actor=actor, region_id=region_id,
                                   closed=closed)
    label = data.use.value.replace("_", " ")
    status = "" if proven else " (best plan found, not proven optimal)"
    measures = []
    for m in members:
        if not m.counted or m.t_co2e_per_year <= 0:
            continue
        shown = ", ".join(c.name for c in m.counted[:3])
        more = f" and {len(m.counted) - 3} more" if len(m.counted) > 3 else ""
        measures.append(MeasureIn(
            jurisdiction_id=m.jurisdiction_id, kind="consolidation",
            name=(f"Consolidation plan for {label} buildings{status}: close "
                  f"{len(m.counted)} of {m.jurisdiction}'s ({shown}{more}); their "
                  f"{m.year} emissions")[:300],
            start_year=start, t_co2e_per_year=round(m.t_co2e_per_year, 6)))
    origin = CONSOLIDATION_ORIGIN.format(use=data.use.value)
    link = consolidation_link(data)
    written, replaced = carbon_service.replace_measures(session, actor, origin, measures,
                                                        link=link)
    return ConsolidationCarbonOut(
        origin=origin, link=link, start_year=start, replaced=replaced,
        measures=[MeasureRead.model_validate(w) for w in written], members=members,
        not_modeled=GUEST_LOAD_NOT_MODELED)
