"""JSON API of the public window (no key needed) and of the proposal workflow (staff), under
/api/v1. The rules — what is listed, what is public, the rate limit — live in
``property.public`` and are the same as on the pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session

from govshare.core.http import allow, get_session, row_id
from govshare.core.tenancy import Action, Principal
from govshare.property import queries, service
from govshare.property.models import AssetStatus, AssetUse, ProposalKind, ProposalStatus
from govshare.property.public_window import service as public
from govshare.property.schemas import (
    AssetPublic,
    ProposalDecision,
    ProposalIn,
    ProposalPublic,
    ProposalRead,
)
from govshare.regions import queries as regions_queries

router = APIRouter(prefix="/api/v1", tags=["public property"])
AssetId = Annotated[int, row_id("asset")]
ProposalId = Annotated[int, row_id("proposal")]


@router.get("/public/assets", response_model=list[AssetPublic],
            summary="Public assets that are surplus, vacant or under-used (anyone)")
def list_public_assets(
    q: str | None = Query(None, max_length=100,
                          description="Words that must all appear in the published name, "
                                      "type, owner or (if published) address"),
    use: AssetUse | None = None,
    status: AssetStatus | None = Query(None, description="One status; in_use lists assets "
                                                         "whose use may be challenged"),
    include_in_use: bool = Query(False, description="Also list assets in use"),
    limit: int = Query(500, ge=1, le=5000), offset: int = Query(0, ge=0, le=1_000_000),
    session: Session = Depends(get_session),
    _: Principal = Depends(allow(Action.public_read)),
) -> list[AssetPublic]:
    region_id = regions_queries.require_current_region(session=session).id
    items = public.listing(session=session, region_id=region_id, q=q,
                           use=use.value if use else None,
                           status=status.value if status else None,
                           include_in_use=include_in_use)
    return [i.view for i in items[offset:offset + limit]]


@router.get("/public/assets/{asset_id}", response_model=AssetPublic,
            summary="One asset's published facts (anyone)")
def get_public_asset(asset_id: AssetId, session: Session = Depends(get_session),
                     _: Principal = Depends(allow(Action.public_read))) -> AssetPublic:
    return public.get(session=session, asset_id=asset_id).view


@router.get("/public/assets/{asset_id}/proposals", response_model=list[ProposalPublic],
            summary="Proposals and challenges about an asset, without who sent them (anyone)")
def list_public_proposals(asset_id: AssetId, session: Session = Depends(get_session),
                          _: Principal = Depends(allow(Action.public_read))
                          ) -> list[ProposalPublic]:
    public.get(session=session, asset_id=asset_id)  # 404 for a private asset
    return public.proposals(session=session, asset_id=asset_id)


@router.post("/public/assets/{asset_id}/proposals", response_model=ProposalPublic,
             status_code=201,
             summary="Propose a use for a surplus, vacant or under-used asset, or challenge "
                     "the use of one in use (anyone; rate-limited per client address)")
def submit_proposal(asset_id: AssetId, data: ProposalIn, request: Request,
                    session: Session = Depends(get_session),
                    actor: Principal = Depends(allow(Action.proposal_submit))
                    ) -> ProposalPublic:
    client = request.client.host if request.client else "unknown"
    proposal = public.submit(session=session, actor=actor, asset_id=asset_id, data=data,
                             client=client)
    session.commit()
    return ProposalPublic.model_validate(proposal)


@router.get("/proposals", response_model=list[ProposalRead],
            summary="Proposals to answer: the caller's jurisdiction's (every member's for "
                    "regional roles), oldest first, with contact details")
def list_proposals(
    status: list[ProposalStatus] | None = Query(None, description="Repeat to ask for several"),
    kind: ProposalKind | None = None,
    limit: int = Query(200, ge=1, le=1000), offset: int = Query(0, ge=0, le=1_000_000),
    session: Session = Depends(get_session),
    actor: Principal = Depends(allow(Action.property_read)),
) -> list[ProposalRead]:
    rows, _total = queries.proposal_queue(
        session=session, actor=actor, statuses=[s.value for s in status or []],
        kind=kind.value if kind else None, limit=limit, offset=offset)
    return [ProposalRead.model_validate(p) for p, _a in rows]


@router.post("/proposals/{proposal_id}/decision", response_model=ProposalRead,
             summary="Move a proposal on: under review, accepted or declined (a public reason "
                     "is required to accept or decline); the note stays internal")
def decide_proposal(proposal_id: ProposalId, data: ProposalDecision,
                    session: Session = Depends(get_session),
                    actor: Principal = Depends(allow(Action.property_manage))) -> ProposalRead:
    proposal = service.decide_proposal(session=session, actor=actor, proposal_id=proposal_id,
                                       data=data)
    session.commit()
    return ProposalRead.model_validate(proposal)
