"""JSON API of the public window (no key needed) and of the proposal workflow (staff), under
/api/v1. The rules — what is listed, what is public, the rate limit — live in
``property.public`` and are the same as on the pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session

from govshare.core.http import allow, get_session, row_id
from govshare.core.paging import Page, PageParams, page_params
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


def _base_url(request: Request) -> str:
    """The site's address as the feeds write it (``public_pages``): photo URLs are absolute."""
    return str(request.base_url).rstrip("/")


@router.get("/public/assets", response_model=Page[AssetPublic],
            summary="Public assets that are surplus, vacant or under-used, with their "
                    "published photos (anyone)")
def list_public_assets(
    request: Request,
    q: str | None = Query(None, max_length=100,
                          description="Words that must all appear in the published name, "
                                      "type, owner or (if published) address"),
    use: AssetUse | None = None,
    status: AssetStatus | None = Query(None, description="One status; in_use lists assets "
                                                         "whose use may be challenged"),
    include_in_use: bool = Query(False, description="Also list assets in use"),
    page: PageParams = Depends(page_params(500, 5000)),
    session: Session = Depends(get_session),
    _: Principal = Depends(allow(Action.public_read)),
) -> Page[AssetPublic]:
    region_id = regions_queries.require_current_region(session=session).id
    items, total = public.listing(session=session, region_id=region_id, q=q,
                                  use=use.value if use else None,
                                  status=status.value if status else None,
                                  include_in_use=include_in_use, page=page)
    base = _base_url(request)
    return page.page([public.with_absolute_urls(i.view, base) for i in items], total)


@router.get("/public/assets/{asset_id}", response_model=AssetPublic,
            summary="One asset's published facts and photos (anyone)")
def get_public_asset(asset_id: AssetId, request: Request,
                     session: Session = Depends(get_session),
                     _: Principal = Depends(allow(Action.public_read))) -> AssetPublic:
    return public.with_absolute_urls(public.get(session=session, asset_id=asset_id).view,
                                     _base_url(request))


@router.get("/public/assets/{asset_id}/proposals", response_model=Page[ProposalPublic],
            summary="Proposals and challenges about an asset, without who sent them (anyone)")
def list_public_proposals(asset_id: AssetId, page: PageParams = Depends(page_params(100, 1000)),
                          session: Session = Depends(get_session),
                          _: Principal = Depends(allow(Action.public_read))
                          ) -> Page[ProposalPublic]:
    public.get(session=session, asset_id=asset_id)  # 404 for a private asset
    rows, total = queries.list_proposals(session=session, asset_id=asset_id, page=page)
    return page.page([ProposalPublic.model_validate(p) for p in rows], total)


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


@router.get("/proposals", response_model=Page[ProposalRead],
            summary="Proposals to answer: the caller's jurisdiction's (every member's for "
                    "regional roles), oldest first, with contact details")
def list_proposals(
    status: list[ProposalStatus] | None = Query(None, description="Repeat to ask for several"),
    kind: ProposalKind | None = None,
    page: PageParams = Depends(page_params(200, 1000)),
    session: Session = Depends(get_session),
    actor: Principal = Depends(allow(Action.property_read)),
) -> Page[ProposalRead]:
    rows, total = queries.proposal_queue(
        session=session, actor=actor, statuses=[s.value for s in status or []],
        kind=kind.value if kind else None, page=page)
    return page.page([ProposalRead.model_validate(p) for p, _a in rows], total)


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
