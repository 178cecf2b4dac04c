"""JSON API of the regions domain, under /api/v1."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.orm import Session

from govshare.core import audit
from govshare.core.http import MAX_ID, allow, get_session, row_id
from govshare.core.paging import Page, PageParams, page_params
from govshare.core.tenancy import Action, Principal
from govshare.regions import queries, service
from govshare.regions.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRead,
    AuditEventRead,
    JurisdictionCreate,
    JurisdictionRead,
    JurisdictionUpdate,
    Me,
    RegionSummary,
    UserCreate,
    UserRead,
    UserUpdate,
)

router = APIRouter(prefix="/api/v1", tags=["regions"])


def region_id(session: Session) -> int:
    region = queries.require_current_region(session=session)
    return region.id


@router.get("/region", response_model=RegionSummary, summary="The region and its members")
def get_region(session: Session = Depends(get_session),
               _: Principal = Depends(allow(Action.public_read))) -> RegionSummary:
    region = queries.require_current_region(session=session)
    members = queries.list_jurisdictions(session=session, region_id=region.id)
    return RegionSummary(id=region.id, name=region.name, slug=region.slug,
                         time_zone=region.time_zone,
                         members=[JurisdictionRead.model_validate(j) for j in members])


@router.get("/jurisdictions", response_model=Page[JurisdictionRead])
def list_jurisdictions(page: PageParams = Depends(page_params(100, 1000)),
                       session: Session = Depends(get_session),
                       _: Principal = Depends(allow(Action.public_read))
                       ) -> Page[JurisdictionRead]:
    items, total = queries.jurisdictions_page(session=session, region_id=region_id(session),
                                              page=page)
    return page.page([JurisdictionRead.model_validate(j) for j in items], total)


@router.get("/jurisdictions/{jurisdiction_id}", response_model=JurisdictionRead)
def get_jurisdiction(jurisdiction_id: Annotated[int, row_id("jurisdiction")],
                     session: Session = Depends(get_session),
                     _: Principal = Depends(allow(Action.public_read))) -> JurisdictionRead:
    return JurisdictionRead.model_validate(
        queries.get_jurisdiction(session=session, jurisdiction_id=jurisdiction_id))


@router.post("/jurisdictions", response_model=JurisdictionRead, status_code=201)
def create_jurisdiction(
    data: JurisdictionCreate, request: Request, session: Session = Depends(get_session),
    actor: Principal = Depends(allow(Action.jurisdiction_manage)),
) -> JurisdictionRead:
    j = service.add_jurisdiction(session=session, actor=actor, region_id=region_id(session),
                                 data=data)
    session.commit()
    return JurisdictionRead.model_validate(j)


@router.patch("/jurisdictions/{jurisdiction_id}", response_model=JurisdictionRead)
def update_jurisdiction(
    jurisdiction_id: Annotated[int, row_id("jurisdiction")], data: JurisdictionUpdate,
    session: Session = Depends(get_session),
    actor: Principal = Depends(allow(Action.jurisdiction_manage)),
) -> JurisdictionRead:
    j = service.update_jurisdiction(session=session, actor=actor,
                                    jurisdiction_id=jurisdiction_id, data=data)
    session.commit()
    return JurisdictionRead.model_validate(j)


@router.get("/me", response_model=Me, summary="Who the request acts as")
def me(actor: Principal = Depends(allow(Action.staff_home))) -> Me:
    return Me(kind=actor.kind, role=actor.role, name=actor.name,
              jurisdiction_id=actor.jurisdiction_id)


@router.get("/users", response_model=Page[UserRead])
def list_users(
    page: PageParams = Depends(page_params(100, 500)),
    session: Session = Depends(get_session), actor: Principal = Depends(allow(Action.user_read)),
) -> Page[UserRead]:
    items, total = queries.list_users(session=session, actor=actor,
                                      region_id=region_id(session), page=page)
    return page.page([UserRead.model_validate(u) for u in items], total)


@router.get("/users/{user_id}", response_model=UserRead)
def get_user(user_id: Annotated[int, row_id("user")], session: Session = Depends(get_session),
             actor: Principal = Depends(allow(Action.user_read))) -> UserRead:
    return UserRead.model_validate(queries.get_user(session=session, actor=actor, user_id=user_id))


@router.post("/users", response_model=UserRead, status_code=201)
def create_user(data: UserCreate, session: Session = Depends(get_session),
                actor: Principal = Depends(allow(Action.user_manage))) -> UserRead:
    user = service.create_user(session=session, actor=actor, region_id=region_id(session),
                               data=data)
    session.commit()
    return UserRead.model_validate(user)


@router.patch("/users/{user_id}", response_model=UserRead)
def update_user(user_id: Annotated[int, row_id("user")], data: UserUpdate,
                session: Session = Depends(get_session),
                actor: Principal = Depends(allow(Action.user_manage))) -> UserRead:
    user = service.update_user(session=session, actor=actor, user_id=user_id, data=data)
    session.commit()
    return UserRead.model_validate(user)


@router.get("/apikeys", response_model=Page[ApiKeyRead])
def list_api_keys(page: PageParams = Depends(page_params(100, 500)),
                  session: Session = Depends(get_session),
                  actor: Principal = Depends(allow(Action.apikey_read))) -> Page[ApiKeyRead]:
    items, total = queries.list_api_keys(session=session, actor=actor,
                                         region_id=region_id(session), page=page)
    return page.page([ApiKeyRead.model_validate(k) for k in items], total)


@router.post("/apikeys", response_model=ApiKeyCreated, status_code=201,
             summary="Create an API key (the key is in this response only)")
def create_api_key(data: ApiKeyCreate, response: Response,
                   session: Session = Depends(get_session),
                   actor: Principal = Depends(allow(Action.apikey_manage))) -> ApiKeyCreated:
    key, plaintext = service.create_api_key(session=session, actor=actor,
                                            region_id=region_id(session), data=data)
    session.commit()
    response.headers["Cache-Control"] = "no-store"
    return ApiKeyCreated(**ApiKeyRead.model_validate(key).model_dump(), key=plaintext)


@router.delete("/apikeys/{apikey_id}", response_model=ApiKeyRead, summary="Revoke an API key")
def revoke_api_key(apikey_id: Annotated[int, row_id("API key")],
                   session: Session = Depends(get_session),
                   actor: Principal = Depends(allow(Action.apikey_manage))) -> ApiKeyRead:
    key = service.revoke_api_key(session=session, actor=actor, apikey_id=apikey_id)
    session.commit()
    return ApiKeyRead.model_validate(key)


@router.get("/audit", response_model=Page[AuditEventRead])
def list_audit(
    actor_ref: str | None = Query(None, alias="actor", max_length=80),
    entity: str | None = Query(None, max_length=80),
    action: str | None = Query(None, max_length=80),
    jurisdiction_id: int | None = Query(None, ge=1, le=MAX_ID),
    page: PageParams = Depends(page_params(100, 500)),
    session: Session = Depends(get_session), _: Principal = Depends(allow(Action.audit_read)),
) -> Page[AuditEventRead]:
    rows, total = audit.list_events(session, actor=actor_ref, entity=entity, action=action,
                                    jurisdiction_id=jurisdiction_id, page=page)
    return page.page([AuditEventRead.model_validate(r) for r in rows], total)
