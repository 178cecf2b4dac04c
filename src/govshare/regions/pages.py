"""HTML pages of the regions domain: region home, sign-in, and the admin pages."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from govshare.core import audit
from govshare.core.errors import BadRequest, GovshareError
from govshare.core.http import SESSION_COOKIE, allow, csrf_protect, get_session, redirect, render
from govshare.core.paging import PageParams
from govshare.core.tenancy import APIKEY_ROLES, USER_ROLES, Action, Principal, Role, allows
from govshare.regions import queries, service
from govshare.regions.schemas import (
    KIND_LABELS,
    ApiKeyCreate,
    JurisdictionCreate,
    JurisdictionKind,
    UserCreate,
    UserUpdate,
)

router = APIRouter(include_in_schema=False)


def _region(session: Session) -> Any:
    region = queries.require_current_region(session=session)
    return region


def _form_errors(exc: Exception) -> list[dict[str, Any]]:
    if isinstance(exc, ValidationError):
        return [{"loc": [str(p) for p in e["loc"]], "reason": e["msg"]} for e in exc.errors()]
    if isinstance(exc, GovshareError):
        return exc.errors or [{"loc": [], "reason": exc.detail}]
    raise exc


def _members(session: Session, region_id: int) -> list[Any]:
    return queries.list_jurisdictions(session=session, region_id=region_id)


# ------------------------------------------------------------------------------- public


@router.get("/")
def home(request: Request, session: Session = Depends(get_session),
         _: Principal = Depends(allow(Action.public_read))) -> Response:
    region = _region(session)
    members = _members(session, region.id)
    names = {j.id: j.name for j in members}
    return render(request, "regions/home.html", {
        "region": region, "members": members, "names": names, "kind_labels": KIND_LABELS,
    })


@router.get("/login")
def login_form(request: Request, next: str = "/admin",
               _: Principal = Depends(allow(Action.session_manage))) -> Response:
    return render(request, "regions/login.html", {"next": _safe_next(next), "email": ""})


def _safe_next(url: str) -> str:
    return url if url.startswith("/") and not url.startswith("//") else "/admin"


@router.post("/login", dependencies=[Depends(csrf_protect)])
def login(
    request: Request,
    email: str = Form(""),
    password: str = Form(""),
    next: str = Form("/admin"),
    session: Session = Depends(get_session),
    _: Principal = Depends(allow(Action.session_manage)),
) -> Response:
    settings = request.app.state.settings
    client = request.client.host if request.client else "unknown"
    try:
        result = service.authenticate(
            session=session, email=email, password=password, client=client,
            session_hours=settings.session_hours, max_failures=settings.login_max_failures,
            max_failures_per_client=settings.login_max_failures_per_address,
            window_minutes=settings.login_window_minutes,
            device=request.cookies.get(service.DEVICE_COOKIE),
            secret_key=request.app.state.secret_key,
            delay_seconds=settings.login_delay_seconds, trust_days=settings.login_trust_days)
    except BadRequest as exc:
        session.commit()  # keep the failed-attempt count and its audit row
        return render(request, "regions/login.html",
                      {"next": _safe_next(next), "email": email, "error": exc.detail},
                      status_code=400)
    session.commit()
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(SESSION_COOKIE, result.token, httponly=True,
                        secure=settings.secure_cookies, samesite="lax",
                        max_age=int(settings.session_hours * 3600), path="/")
    # This browser is known to the account from now on (ADR 15).
    response.set_cookie(service.DEVICE_COOKIE, result.device_cookie, httponly=True,
                        secure=settings.secure_cookies, samesite="strict",
                        max_age=settings.login_trust_days * 86400, path="/login")
    return response


@router.post("/logout", dependencies=[Depends(csrf_protect)])
def logout(request: Request, session: Session = Depends(get_session),
           _: Principal = Depends(allow(Action.session_manage))) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        service.logout(session=session, token=token)
        session.commit()
    response = redirect("/", flash="You are signed out.")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# ------------------------------------------------------------------------------- admin


@router.get("/admin")
def admin_home(request: Request, session: Session = Depends(get_session),
               actor: Principal = Depends(allow(Action.staff_home))) -> Response:
    region = _region(session)
    links = [
        ("Jurisdictions", "/admin/jurisdictions", "The region's members and their boundaries",
         Action.public_read),
        ("Address points", "/admin/address-points", "The addresses that address search "
         "matches, by source", Action.jurisdiction_manage),
        ("Users", "/admin/users", "Staff accounts and roles", Action.user_read),
        ("API keys", "/admin/apikeys", "Keys for other systems", Action.apikey_read),
        ("Audit log", "/admin/audit", "Every change: who, when, before and after",
         Action.audit_read),
        ("Service requests", "/staff/requests", "Queues, case records, phone and walk-in "
         "intake", Action.request_read),
        ("Tell us once", "/staff/tell-us-once", "Agencies subscribed to changes of address, "
         "births and deaths", Action.subscription_read),
        ("Webhook deliveries", "/outbox", "Delivery status, retries and dead letters",
         Action.outbox_read),
        ("Property parameters", "/property/parameters", "Prices, thresholds and the discount "
         "rate behind every true cost", Action.property_read),
    ]
    visible = [(t, u, d) for t, u, d, a in links if allows(actor, a)]
    return render(request, "regions/admin.html", {"region": region, "links": visible})


@router.get("/admin/jurisdictions")
def admin_jurisdictions(request: Request, session: Session = Depends(get_session),
                        actor: Principal = Depends(allow(Action.staff_home))) -> Response:
    return _jurisdictions_page(request, session, actor, {}, [])


def _jurisdictions_page(request: Request, session: Session, actor: Principal,
                        form: dict[str, Any], errors: list[dict[str, Any]],
                        status_code: int = 200) -> Response:
    region = _region(session)
    members = _members(session, region.id)
    return render(request, "regions/jurisdictions.html", {
        "region": region, "members": members, "names": {j.id: j.name for j in members},
        "kinds": list(JurisdictionKind), "kind_labels": KIND_LABELS, "form": form,
        "errors": errors, "can_manage": allows(actor, Action.jurisdiction_manage),
    }, status_code=status_code)


@router.post("/admin/jurisdictions", dependencies=[Depends(csrf_protect)])
def admin_add_jurisdiction(
    request: Request,
    name: str = Form(""), kind: str = Form(""), parent_id: str = Form(""),
    geoid: str = Form(""), population: str = Form(""),
    session: Session = Depends(get_session),
    actor: Principal = Depends(allow(Action.jurisdiction_manage)),
) -> Response:
    form = {"name": name, "kind": kind, "parent_id": parent_id, "geoid": geoid,
            "population": population}
    try:
        data = JurisdictionCreate(
            name=name, kind=kind, parent_id=int(parent_id) if parent_id else None,
            geoid=geoid.strip() or None,
            population=int(population.replace(",", "")) if population.strip() else None)
        j = service.add_jurisdiction(session=session, actor=actor,
                                     region_id=_region(session).id, data=data)
    except ValueError as exc:  # pydantic ValidationError is a ValueError; so is int("x")
        problem: Exception = exc if isinstance(exc, ValidationError) else BadRequest(
            f"Population and parent must be whole numbers ({exc})")
        return _jurisdictions_page(request, session, actor, form, _form_errors(problem), 422)
    except GovshareError as exc:
        return _jurisdictions_page(request, session, actor, form, _form_errors(exc), exc.status)
    session.commit()
    return redirect("/admin/jurisdictions", flash=f"Added {j.name}.")


# ------------------------------------------------------------------------------- users


def _assignable(actor: Principal, roles: tuple[Role, ...] = USER_ROLES) -> list[Role]:
    """The roles ``actor`` may grant, least privilege first: the forms preselect the first."""
    if actor.role is Role.regional_admin:
        return list(roles)
    return [r for r in roles if not r.is_regional]


@router.get("/admin/users")
def admin_users(request: Request, session: Session = Depends(get_session),
                actor: Principal = Depends(allow(Action.user_read))) -> Response:
    return _users_page(request, session, actor, {}, [])


def _users_page(request: Request, session: Session, actor: Principal, form: dict[str, Any],
                errors: list[dict[str, Any]], status_code: int = 200) -> Response:
    region = _region(session)
    users, total = queries.list_users(session=session, actor=actor, region_id=region.id)
    members = _members(session, region.id)
    if not actor.role.is_regional:
        members = [j for j in members if j.id == actor.jurisdiction_id]
    return render(request, "regions/users.html", {
        "region": region, "users": users, "total": total, "members": members,
        "names": {j.id: j.name for j in _members(session, region.id)},
        "roles": _assignable(actor), "form": form, "errors": errors,
        "can_manage": allows(actor, Action.user_manage),
    }, status_code=status_code)


@router.post("/admin/users", dependencies=[Depends(csrf_protect)])
def admin_add_user(
    request: Request,
    email: str = Form(""), full_name: str = Form(""), password: str = Form(""),
    role: str = Form(""), jurisdiction_id: str = Form(""),
    session: Session = Depends(get_session),
    actor: Principal = Depends(allow(Action.user_manage)),
) -> Response:
    form = {"email": email, "full_name": full_name, "role": role,
            "jurisdiction_id": jurisdiction_id}
    try:
        data = UserCreate(email=email, full_name=full_name, password=password,
                          role=role,
                          jurisdiction_id=int(jurisdiction_id) if jurisdiction_id else None)
        user = service.create_user(session=session, actor=actor,
                                   region_id=_region(session).id, data=data)
    except ValidationError as exc:
        return _users_page(request, session, actor, form, _form_errors(exc), 422)
    except GovshareError as exc:
        return _users_page(request, session, actor, form, _form_errors(exc), exc.status)
    session.commit()
    return redirect("/admin/users", flash=f"Added {user.email} as {Role(user.role).label}.")


@router.post("/admin/users/{user_id}", dependencies=[Depends(csrf_protect)])
def admin_update_user(
    request: Request, user_id: int, is_active: str = Form(""),
    session: Session = Depends(get_session),
    actor: Principal = Depends(allow(Action.user_manage)),
) -> Response:
    try:
        user = service.update_user(session=session, actor=actor, user_id=user_id,
                                   data=UserUpdate(is_active=is_active == "true"))
    except GovshareError as exc:
        if exc.status == 404:
            raise
        return _users_page(request, session, actor, {}, _form_errors(exc), exc.status)
    session.commit()
    state = "reactivated" if user.is_active else "deactivated"
    return redirect("/admin/users", flash=f"{user.email} {state}.")


@router.get("/admin/users/{user_id}")
def admin_user_form(request: Request, user_id: int, session: Session = Depends(get_session),
                    actor: Principal = Depends(allow(Action.user_read))) -> Response:
    user = queries.get_user(session=session, actor=actor, user_id=user_id)
    return _user_page(request, session, actor, user, {}, [])


def _user_page(request: Request, session: Session, actor: Principal, user: Any,
               form: dict[str, Any], errors: list[dict[str, Any]],
               status_code: int = 200) -> Response:
    region = _region(session)
    members = _members(session, region.id)
    if not actor.role.is_regional:
        members = [j for j in members if j.id == actor.jurisdiction_id]
    return render(request, "regions/user.html", {
        "user": user, "members": members, "roles": _assignable(actor), "form": form,
        "errors": errors, "can_manage": allows(actor, Action.user_manage, user.jurisdiction_id),
    }, status_code=status_code)


@router.post("/admin/users/{user_id}/edit", dependencies=[Depends(csrf_protect)])
def admin_edit_user(
    request: Request, user_id: int,
    full_name: str = Form(""), role: str = Form(""), jurisdiction_id: str = Form(""),
    password: str = Form(""),
    session: Session = Depends(get_session),
    actor: Principal = Depends(allow(Action.user_manage)),
) -> Response:
    user = queries.get_user(session=session, actor=actor, user_id=user_id)
    form = {"full_name": full_name, "role": role, "jurisdiction_id": jurisdiction_id}
    try:
        changes: dict[str, Any] = {"full_name": full_name, "role": role,
                                   "jurisdiction_id": int(jurisdiction_id)
                                   if jurisdiction_id else None}
        if password:
            changes["password"] = password
        user = service.update_user(session=session, actor=actor, user_id=user_id,
                                   data=UserUpdate(**changes))
    except ValidationError as exc:
        return _user_page(request, session, actor, user, form, _form_errors(exc), 422)
    except ValueError:  # int() of a jurisdiction id that is not a number
        return _user_page(request, session, actor, user, form,
                          [{"loc": ["jurisdiction_id"], "reason": "not a jurisdiction id"}], 422)
    except GovshareError as exc:
        if exc.status == 404:
            raise
        session.rollback()
        user = queries.get_user(session=session, actor=actor, user_id=user_id)
        return _user_page(request, session, actor, user, form, _form_errors(exc), exc.status)
    session.commit()
    return redirect("/admin/users", flash=f"Saved {user.email} ({Role(user.role).label}).")


# ------------------------------------------------------------------------------- API keys


@router.get("/admin/apikeys")
def admin_apikeys(request: Request, session: Session = Depends(get_session),
                  actor: Principal = Depends(allow(Action.apikey_read))) -> Response:
    return _apikeys_page(request, session, actor, {}, [])


def _apikeys_page(request: Request, session: Session, actor: Principal, form: dict[str, Any],
                  errors: list[dict[str, Any]], status_code: int = 200,
                  created: str | None = None) -> Response:
    region = _region(session)
    keys, _total = queries.list_api_keys(session=session, actor=actor, region_id=region.id)
    members = _members(session, region.id)
    names = {j.id: j.name for j in members}
    if not actor.role.is_regional:
        members = [j for j in members if j.id == actor.jurisdiction_id]
    response = render(request, "regions/apikeys.html", {
        "region": region, "keys": keys, "members": members, "names": names,
        "roles": _assignable(actor, APIKEY_ROLES), "form": form, "errors": errors,
        "created": created,
        "can_manage": allows(actor, Action.apikey_manage),
    }, status_code=status_code)
    if created:
        response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/admin/apikeys", dependencies=[Depends(csrf_protect)])
def admin_create_apikey(
    request: Request, name: str = Form(""), role: str = Form(""),
    jurisdiction_id: str = Form(""),
    session: Session = Depends(get_session),
    actor: Principal = Depends(allow(Action.apikey_manage)),
) -> Response:
    form = {"name": name, "role": role, "jurisdiction_id": jurisdiction_id}
    try:
        data = ApiKeyCreate(name=name, role=role,
                            jurisdiction_id=int(jurisdiction_id) if jurisdiction_id else None)
        _key, plaintext = service.create_api_key(session=session, actor=actor,
                                                 region_id=_region(session).id, data=data)
    except ValidationError as exc:
        return _apikeys_page(request, session, actor, form, _form_errors(exc), 422)
    except GovshareError as exc:
        return _apikeys_page(request, session, actor, form, _form_errors(exc), exc.status)
    session.commit()
    return _apikeys_page(request, session, actor, {}, [], 201, created=plaintext)


@router.post("/admin/apikeys/{apikey_id}/revoke", dependencies=[Depends(csrf_protect)])
def admin_revoke_apikey(
    apikey_id: int, session: Session = Depends(get_session),
    actor: Principal = Depends(allow(Action.apikey_manage)),
) -> Response:
    key = service.revoke_api_key(session=session, actor=actor, apikey_id=apikey_id)
    session.commit()
    return redirect("/admin/apikeys", flash=f"Revoked key {key.name} ({key.prefix}).")


# ------------------------------------------------------------------------------- audit


@router.get("/admin/audit")
def admin_audit(
    request: Request,
    actor_ref: str = Query("", alias="actor", max_length=80),
    entity: str = Query("", max_length=80),
    action: str = Query("", max_length=80),
    jurisdiction_id: str = Query("", max_length=12),
    page: int = Query(1, ge=1, le=100000),
    session: Session = Depends(get_session),
    _: Principal = Depends(allow(Action.audit_read)),
) -> Response:
    region = _region(session)
    per_page = 50
    jid = int(jurisdiction_id) if jurisdiction_id.isdigit() else None
    rows, total = audit.list_events(session, actor=actor_ref or None, entity=entity or None,
                                    action=action or None, jurisdiction_id=jid,
                                    page=PageParams(per_page, (page - 1) * per_page))
    members = _members(session, region.id)
    return render(request, "regions/audit.html", {
        "region": region, "rows": rows, "total": total, "page": page,
        "pages": max(1, -(-total // per_page)),
        "filters": {"actor": actor_ref, "entity": entity, "action": action,
                    "jurisdiction_id": jurisdiction_id},
        "entities": audit.distinct_values(session, "entity"),
        "actions": audit.distinct_values(session, "action"),
        "actors": audit.distinct_values(session, "actor"),
        "members": members, "names": {j.id: j.name for j in members},
    })
