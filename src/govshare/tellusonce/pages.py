"""Pages of tell us once: the public report form and its confirmation; the staff page of
subscribed agencies (add, deactivate, rotate a secret) and of recent reports' deliveries.

Delivery status in detail is on the outbox pages (``/outbox``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from govshare.core import audit, forms
from govshare.core.db import utcnow
from govshare.core.errors import BadRequest, Conflict, NotFound, RateLimited, ValidationFailed
from govshare.core.http import allow, csrf_protect, get_session, redirect, render, row_id
from govshare.core.security import new_token, token_digest
from govshare.core.tenancy import Action, Principal, allows
from govshare.outbox.schemas import STATUS_LABELS
from govshare.regions import queries as regions_queries
from govshare.tellusonce import calc, identity, queries, service
from govshare.tellusonce.calc import EVENTS
from govshare.tellusonce.schemas import SubscriptionIn

router = APIRouter(include_in_schema=False)

FORM_CONTROL = frozenset({"csrf_token", "event", "form_token", "agency", "consent"})


def _names(session: Session, region_id: int) -> dict[int, str]:
    return {j.id: j.name for j in regions_queries.list_jurisdictions(session=session,
                                                                      region_id=region_id)}


# ------------------------------------------------------------------------------ public


def _provider(request: Request) -> identity.Provider | None:
    return identity.provider_from(request.app.state.settings)


def _identity(request: Request) -> identity.Identity | None:
    """The resident's identity verified with the provider, if still kept (its cookie)."""
    return identity.open_identity(request.app.state.secret_key,
                                  request.cookies.get(identity.IDENTITY_COOKIE),
                                  _provider(request))


def _form_page(request: Request, session: Session, event: str, *, values: dict[str, str],
               chosen: set[int], consent: bool, errors: list[dict[str, Any]],
               status_code: int = 200, identity_error: str | None = None) -> Response:
    region = regions_queries.require_current_region(session=session)
    provider = _provider(request)
    verified = _identity(request)
    retention = request.app.state.settings.tellusonce_retention_days
    agencies = (queries.available_subscriptions(session=session, region_id=region.id,
                                                   event=event) if event in EVENTS else [])
    field_errors = forms.by_field(errors)
    response = render(request, "tellusonce/report.html", {
        "events": EVENTS, "event": event if event in EVENTS else "",
        "spec": EVENTS.get(event), "values": values, "chosen": chosen, "consent": consent,
        "agencies": agencies, "names": _names(session, region.id), "errors": errors,
        "field_errors": field_errors, "form_token": new_token(16),
        "consent_text": calc.consent_text(retention), "retention_days": retention,
        "verification_fields": calc.VERIFICATION_FIELDS.get(event, ()),
        "optional_fields": calc.OPTIONAL_VERIFICATION_FIELDS,
        "provider": provider, "identity": verified, "identity_error": identity_error,
    }, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    if identity_error:  # an identity refused is not one kept from before
        response.delete_cookie(identity.IDENTITY_COOKIE, path=identity.IDENTITY_PATH)
    return response


@router.get("/tell-us-once")
def report_form(request: Request, event: str = Query("", max_length=40),
                session: Session = Depends(get_session),
                _: Principal = Depends(allow(Action.tellusonce_report))) -> Response:
    return _form_page(request, session, event, values={}, chosen=set(), consent=False,
                      errors=[])


@router.post("/tell-us-once", dependencies=[Depends(csrf_protect)])
async def report_submit(request: Request, session: Session = Depends(get_session),
                        actor: Principal = Depends(allow(Action.tellusonce_report))
                        ) -> Response:
    """Store the report and queue its notifications; answer with the reference (201)."""
    form = await request.form()
    event = str(form.get("event") or "")[:40]
    values = {k: str(v)[:1000] for k, v in form.items()
              if k not in FORM_CONTROL and isinstance(v, str)}
    chosen = {int(v) for v in form.getlist("agency") if isinstance(v, str) and v.isdigit()
              and len(v) < 10}
    consent = form.get("consent") == "yes"
    token = str(form.get("form_token") or "")[:64]
    settings = request.app.state.settings
    region = regions_queries.require_current_region(session=session)
    verified = _identity(request)
    try:
        report = service.report_life_event(
            session=session, actor=actor, region_id=region.id, event=event, person=values,
            subscription_ids=sorted(chosen), consent_given=consent,
            secret_key=request.app.state.secret_key,
            retention_days=settings.tellusonce_retention_days,
            client=request.client.host if request.client else "unknown",
            submission_key=token_digest(token) if token else None,
            verification_details=values, identity_assured=verified is not None,
            identity=verified.report_record() if verified is not None else None)
    except (ValidationFailed, BadRequest) as exc:
        session.rollback()
        return _form_page(request, session, event, values=values, chosen=chosen,
                          consent=consent, errors=exc.errors or [{"loc": [],
                                                                  "reason": exc.detail}],
                          status_code=exc.status)
    except RateLimited as exc:
        session.rollback()
        response = _form_page(request, session, event, values=values, chosen=chosen,
                              consent=consent, errors=[{"loc": [], "reason": exc.detail}],
                              status_code=429)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    session.commit()
    response = render(request, "tellusonce/confirmation.html", {
        "report": report, "spec": EVENTS[report.event_type],
        "agencies": report.consent.get("agencies", []),
        "retention_days": settings.tellusonce_retention_days,
        "provider": _provider(request),
    }, status_code=201)
    response.headers["Cache-Control"] = "no-store"
    # The identity served this report; another report needs the resident to verify again.
    response.delete_cookie(identity.IDENTITY_COOKIE, path=identity.IDENTITY_PATH)
    return response


# ------------------------------------------------------------------------------ identity


def _cookie_args(request: Request) -> dict[str, Any]:
    return {"httponly": True, "samesite": "lax",
            "secure": request.app.state.settings.secure_cookies}


def _redirect_uri(request: Request) -> str:
    configured = request.app.state.settings.oidc_redirect_uri
    return str(configured) if configured else str(request.base_url).rstrip("/") + \
        identity.CALLBACK_PATH


@router.post("/tell-us-once/identity", dependencies=[Depends(csrf_protect)])
def identity_start(request: Request, event: str = Form("", max_length=40),
                   session: Session = Depends(get_session),
                   _: Principal = Depends(allow(Action.tellusonce_report))) -> Response:
    """Send the resident to the identity provider (303), the flow's secrets sealed in a
    cookie for the callback."""
    provider = _provider(request)
    if provider is None:
        raise NotFound("No identity provider is configured here")
    event = event if event in EVENTS else ""
    try:
        url, flow = identity.start(provider, event=event, redirect_uri=_redirect_uri(request))
    except identity.ProviderUnavailable as exc:
        return _form_page(request, session, event, values={}, chosen=set(), consent=False,
                          errors=[], status_code=502,
                          identity_error=f"{provider.name} cannot be reached just now "
                          f"({exc.detail}) You can still send your report: staff will "
                          "confirm it before any agency is told.")
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(identity.FLOW_COOKIE,
                        identity.seal(request.app.state.secret_key, identity.FLOW_PURPOSE, flow),
                        max_age=identity.FLOW_SECONDS, path=identity.FLOW_PATH,
                        **_cookie_args(request))
    return response


@router.get(identity.CALLBACK_PATH)
def identity_callback(request: Request, code: str = Query("", max_length=2000),
                      state: str = Query("", max_length=500),
                      error: str = Query("", max_length=200),
                      session: Session = Depends(get_session),
                      actor: Principal = Depends(allow(Action.tellusonce_report))) -> Response:
    """The provider sends the resident back here: check everything, keep the identity (sealed
    cookie) and return to the form (303), or show the form with the reason it was refused."""
    provider = _provider(request)
    if provider is None:
        raise NotFound("No identity provider is configured here")
    key = request.app.state.secret_key
    flow = identity.open_sealed(key, identity.FLOW_PURPOSE,
                                request.cookies.get(identity.FLOW_COOKIE))
    event = str(flow.get("event", "")) if flow else ""
    reason: str | None = None
    verified: identity.Identity | None = None
    if flow is None:
        reason = (f"The sign-in with {provider.name} took too long or was started in another "
                  "browser. Please start again.")
    elif error:
        reason = (f"{provider.name} did not verify your identity"
                  + (" (you canceled)." if error == "access_denied" else f" ({error[:80]})."))
    else:
        try:
            verified = identity.finish(provider, flow, code=code, state=state)
        except (identity.IdentityRefused, identity.ProviderUnavailable) as exc:
            reason = exc.detail
    if verified is None:
        audit.record(session, actor, action="tellusonce.identity_refused",
                     entity="resident_identity",
                     after={"issuer": provider.issuer, "reason": (reason or "")[:300]})
        session.commit()
        response = _form_page(request, session, event, values={}, chosen=set(),
                              consent=False, errors=[], status_code=400,
                              identity_error=f"{reason} You can still send your report: "
                              "staff will confirm it before any agency is told.")
    else:
        audit.record(session, actor, action="tellusonce.identity_verified",
                     entity="resident_identity", after=verified.audit_record())
        session.commit()
        response = redirect(f"/tell-us-once?event={event}" if event else "/tell-us-once",
                            flash=f"Your identity is verified with {provider.name}.")
        response.set_cookie(identity.IDENTITY_COOKIE,
                            identity.seal_identity(key, verified, provider.identity_seconds),
                            max_age=provider.identity_seconds, path=identity.IDENTITY_PATH,
                            **_cookie_args(request))
    response.delete_cookie(identity.FLOW_COOKIE, path=identity.FLOW_PATH)
    return response


@router.post("/tell-us-once/identity/forget", dependencies=[Depends(csrf_protect)])
def identity_forget(request: Request, event: str = Form("", max_length=40),
                    _: Principal = Depends(allow(Action.tellusonce_report))) -> Response:
    """Stop using the verified identity (a shared computer; another person's report), and
    sign the resident out at the provider too when it offers that (RP-initiated logout)."""
    back = f"/tell-us-once?event={event}" if event in EVENTS else "/tell-us-once"
    provider = _provider(request)
    response: Response | None = None
    if provider is not None:
        after = (provider.post_logout_redirect_uri
                 or str(request.base_url).rstrip("/") + identity.IDENTITY_PATH)
        try:
            url = identity.logout_url(provider, post_logout_redirect_uri=after)
        except identity.ProviderUnavailable:
            response = redirect(back, flash="Your verified identity is no longer used here. "
                                f"{provider.name} cannot be reached just now: to sign out "
                                "there too, visit its site.")
        else:
            if url is not None:
                response = RedirectResponse(url, status_code=303)
    if response is None:
        response = redirect(back, flash="Your verified identity is no longer used here.")
    response.delete_cookie(identity.IDENTITY_COOKIE, path=identity.IDENTITY_PATH)
    return response


# ------------------------------------------------------------------------------ staff


def _staff_page(request: Request, session: Session, actor: Principal, *,
                form: dict[str, Any] | None = None, errors: list[dict[str, Any]] | None = None,
                new_secret: tuple[str, str] | None = None, status_code: int = 200) -> Response:
    region = regions_queries.require_current_region(session=session)
    names = _names(session, region.id)
    subs = queries.list_subscriptions(session=session, actor=actor, region_id=region.id)
    manageable = [(jid, name) for jid, name in sorted(names.items(), key=lambda x: x[1])
                  if allows(actor, Action.subscription_manage, jid)]
    since = utcnow() - timedelta(days=30)
    return render(request, "tellusonce/staff.html", {
        "subscriptions": subs, "names": names, "events": EVENTS,
        "can_manage": {s.id: allows(actor, Action.subscription_manage, s.jurisdiction_id)
                       for s in subs},
        "manageable": manageable, "form": form or {}, "errors": errors or [],
        "new_secret": new_secret,
        "reports": queries.recent_reports(session=session, actor=actor,
                                             region_id=region.id),
        "counts": queries.report_counts(session=session, region_id=region.id,
                                           since=since) if actor.role.is_regional else None,
        "delivery_labels": STATUS_LABELS,  # the outbox's one table; "missing": not queued
        "verification_labels": calc.VERIFICATION_LABELS,
        "awaiting": queries.awaiting_reports(session=session, actor=actor, region_id=region.id),
        "retention_days": request.app.state.settings.tellusonce_retention_days,
        "can_see_outbox": allows(actor, Action.outbox_read),
    }, status_code=status_code)


@router.get("/staff/tell-us-once")
def staff_page(request: Request, session: Session = Depends(get_session),
               actor: Principal = Depends(allow(Action.subscription_read))) -> Response:
    return _staff_page(request, session, actor)


@router.post("/staff/tell-us-once/subscriptions", dependencies=[Depends(csrf_protect)])
def create_subscription(
    request: Request,
    jurisdiction_id: str = Form("", max_length=12),
    name: str = Form("", max_length=300),
    purpose: str = Form("", max_length=2000),
    webhook_url: str = Form("", max_length=600),
    event_types: list[str] = Form([]),
    session: Session = Depends(get_session),
    actor: Principal = Depends(allow(Action.subscription_manage)),
) -> Response:
    form = {"jurisdiction_id": jurisdiction_id, "name": name, "purpose": purpose,
            "webhook_url": webhook_url, "event_types": event_types}
    region = regions_queries.require_current_region(session=session)
    try:
        data = SubscriptionIn(jurisdiction_id=int(jurisdiction_id) if jurisdiction_id.isdigit()
                              else 0, name=name, purpose=purpose, webhook_url=webhook_url,
                              event_types=event_types)
        sub, secret = service.create_subscription(
            session=session, actor=actor, region_id=region.id, data=data,
            secret_key=request.app.state.secret_key,
            allow_loopback=request.app.state.settings.outbox_allows_loopback)
    except ValidationError as exc:
        errors = forms.form_errors(exc)
        return _staff_page(request, session, actor, form=form, errors=errors, status_code=422)
    except (ValidationFailed, Conflict) as exc:
        session.rollback()
        return _staff_page(request, session, actor, form=form,
                           errors=exc.errors or [{"loc": [], "reason": exc.detail}],
                           status_code=exc.status)
    session.commit()
    return _staff_page(request, session, actor, new_secret=(sub.name, secret),
                       status_code=201)


@router.post("/staff/tell-us-once/subscriptions/{subscription_id}",
             dependencies=[Depends(csrf_protect)])
def change_subscription(
    request: Request,
    subscription_id: int = row_id("subscription"),
    action: str = Form("", max_length=20),
    session: Session = Depends(get_session),
    actor: Principal = Depends(allow(Action.subscription_manage)),
) -> Response:
    """``action``: ``deactivate``, ``activate`` or ``rotate`` (a new signing secret)."""
    if action == "rotate":
        sub, secret = service.rotate_secret(session=session, actor=actor,
                                               subscription_id=subscription_id,
                                               secret_key=request.app.state.secret_key)
        session.commit()
        return _staff_page(request, session, actor, new_secret=(sub.name, secret))
    if action not in ("deactivate", "activate"):
        raise BadRequest("action must be deactivate, activate or rotate")
    sub = service.set_active(session=session, actor=actor, subscription_id=subscription_id,
                                active=action == "activate")
    session.commit()
    return redirect("/staff/tell-us-once",
                    flash=f"{sub.name} is {'active' if sub.active else 'deactivated'}.")


# ------------------------------------------------------------------------------ verification


def _verify_page(request: Request, session: Session, actor: Principal, reference: str, *,
                 form: dict[str, str] | None = None, errors: list[dict[str, Any]] | None = None,
                 status_code: int = 200) -> Response:
    region = regions_queries.require_current_region(session=session)
    report, person, record = service.verification_details(
        session=session, actor=actor, region_id=region.id, reference=reference,
        secret_key=request.app.state.secret_key)
    session.commit()  # the audit row of who opened the details
    response = render(request, "tellusonce/verify.html", {
        "report": report, "person": person, "record": record, "events": EVENTS,
        "verification_fields": calc.VERIFICATION_FIELDS[report.event_type],
        "verification_labels": calc.VERIFICATION_LABELS,
        "evidence_kinds": calc.EVIDENCE_KINDS, "form": form or {}, "errors": errors or [],
    }, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response


REFERENCE = Path(..., max_length=20, pattern=r"^TU-[A-Z0-9]{4}-[A-Z0-9]{4}$")


@router.get("/staff/tell-us-once/reports/{reference}")
def verify_page(request: Request, reference: str = REFERENCE,
                session: Session = Depends(get_session),
                actor: Principal = Depends(allow(Action.tellusonce_verify))) -> Response:
    return _verify_page(request, session, actor, reference)


@router.post("/staff/tell-us-once/reports/{reference}/verify",
             dependencies=[Depends(csrf_protect)])
def verify(request: Request, reference: str = REFERENCE,
           evidence_kind: str = Form("", max_length=40),
           evidence_reference: str = Form("", max_length=200),
           session: Session = Depends(get_session),
           actor: Principal = Depends(allow(Action.tellusonce_verify))) -> Response:
    region = regions_queries.require_current_region(session=session)
    try:
        service.verify_report(session=session, actor=actor, region_id=region.id,
                              reference=reference, evidence_kind=evidence_kind,
                              evidence_reference=evidence_reference,
                              secret_key=request.app.state.secret_key)
    except (ValidationFailed, Conflict) as exc:
        session.rollback()
        return _verify_page(request, session, actor, reference,
                            form={"evidence_kind": evidence_kind,
                                  "evidence_reference": evidence_reference},
                            errors=exc.errors or [{"loc": [], "reason": exc.detail}],
                            status_code=exc.status)
    session.commit()
    return redirect("/staff/tell-us-once#awaiting",
                    flash=f"Report {reference} is verified and queued to its agencies.")


@router.post("/staff/tell-us-once/reports/{reference}/reject",
             dependencies=[Depends(csrf_protect)])
def reject(request: Request, reference: str = REFERENCE,
           reason: str = Form("", max_length=600),
           session: Session = Depends(get_session),
           actor: Principal = Depends(allow(Action.tellusonce_verify))) -> Response:
    region = regions_queries.require_current_region(session=session)
    try:
        service.reject_report(session=session, actor=actor, region_id=region.id,
                              reference=reference, reason=reason)
    except (ValidationFailed, Conflict) as exc:
        session.rollback()
        return _verify_page(request, session, actor, reference,
                            errors=exc.errors or [{"loc": [], "reason": exc.detail}],
                            status_code=exc.status)
    session.commit()
    return redirect("/staff/tell-us-once#awaiting",
                    flash=f"Report {reference} is rejected: nothing was sent and its details "
                          "are deleted.")
