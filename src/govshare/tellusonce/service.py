"""Tell us once: report a move, a birth or a death once; the agencies you choose are told.

Members' offices subscribe to the kinds of life event they act on (``AgencySubscription``).
A resident reports an event with only the fields that event needs, ticks the subscribed
agencies to tell, and agrees to the consent text; :func:`report_life_event` stores the report
and queues one signed webhook per chosen agency in the same transaction (``govshare.outbox``),
so the report exists exactly when its notifications do.

Invariants:
- Consent is explicit and recorded: at least one agency ticked (nothing is pre-ticked) and
  the consent box agreed; the record keeps which agencies (as they were named then), when,
  and the consent text's version. Only the chosen agencies get a message.
- Data minimization: each event has a fixed list of fields; nothing else is stored or sent
  (no free text, no IP address). The personal data is sealed at rest (Fernet, key from the
  secret key by HKDF) and deleted after ``GOVSHARE_TELLUSONCE_RETENTION_DAYS`` by
  :func:`purge_expired`, together with the outbox bodies. It never enters the audit log.
- Each message's idempotency key is ``tellusonce:<reference>:<subscription id>``: the same
  on every delivery attempt, so an agency applies the report once however often it arrives.
- Subscriptions belong to a member: a jurisdiction admin manages their own, the regional
  admin any. Its webhook URL must be one the outbox may send to (``https``, a public
  address; ``outbox.calc.url_problem``), checked again at every delivery attempt.
  Deactivating one withdraws its outbox destination in the same transaction: its waiting and
  in-flight messages become dead letters and no retry is sent; rotating its secret re-seals
  them, so nothing is sent under a withdrawn URL or secret.
- Identity first (issue 9 §5): a report is stored *awaiting verification* and nothing is
  queued until the reporter's identity is assured — by a configured identity provider at a
  stated assurance level (``identity_assured``; ``tellusonce.identity``, ADR 19), or by a
  member's staff who check it against evidence (:func:`verify_report`). A death reported by
  the public waits for staff unless its reporter's identity is assured at that level. Staff
  who may verify are those of a member told of the report (``Action.tellusonce_verify``);
  a rejected report is deleted at once and told to no one.
- Messages follow Standard Webhooks: signed with the subscription's ``whsec_`` secret, with
  ``webhook-id`` the idempotency key; the body has the standard's ``type`` and ``timestamp``
  (when the event was reported) beside the event's data.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govshare.core import audit, crypto, ratelimit
from govshare.core.db import utcnow
from govshare.core.errors import Conflict, NotFound, ValidationFailed
from govshare.core.tenancy import Action, Principal, authorize
from govshare.outbox import calc as outbox_calc
from govshare.outbox import service as outbox_service
from govshare.regions import queries as regions_queries
from govshare.tellusonce import calc
from govshare.tellusonce.calc import (
    AWAITING,
    CONSENT_VERSION,
    EVENTS,
    EVIDENCE_KINDS,
    REJECTED,
    VERIFIED,
    consent_text,
    idempotency_key,
    needs_staff_verification,
    new_reference,
    validate_person,
    validate_verification,
)
from govshare.tellusonce.models import AgencySubscription, LifeEventReport
from govshare.tellusonce.queries import available_subscriptions, get_subscription, may_verify
from govshare.tellusonce.schemas import SubscriptionIn

TOPIC_PREFIX = "tellusonce."
RATE_BUCKET = "tellusonce"
REPORTS_PER_HOUR = 5


# ------------------------------------------------------------------------------ subscriptions


def secret_hint(secret: str) -> str:
    """The last characters of a secret, to tell secrets apart (base64 padding left out)."""
    return secret.rstrip("=")[-4:]


def _secret_sealer(secret_key: str) -> crypto.Sealer:
    return crypto.sealer(secret_key, crypto.WEBHOOK_SECRET)


def _destination(sub: AgencySubscription) -> str:
    return f"subscription:{sub.id}"


def _label(session: Session, sub: AgencySubscription) -> str:
    j = regions_queries.get_jurisdiction(session=session, jurisdiction_id=sub.jurisdiction_id)
    return f"{j.name}: {sub.name}"


def create_subscription(*, session: Session, actor: Principal, region_id: int,
                        data: SubscriptionIn, secret_key: str, allow_loopback: bool,
                        sample: bool = False, signing_secret: str | None = None
                        ) -> tuple[AgencySubscription, str]:
    """Subscribe a member's office; returns it with its signing secret (shown only now).

    ``allow_loopback``: whether webhooks may go to this machine (the setting
    ``GOVSHARE_OUTBOX_ALLOW_LOOPBACK``; never in production).
    """
    authorize(actor, Action.subscription_manage, data.jurisdiction_id)
    problem = outbox_calc.url_problem(data.webhook_url, allow_loopback=allow_loopback)
    if problem is not None:
        raise ValidationFailed(f"The webhook URL {problem}", errors=[
            {"loc": ["webhook_url"], "reason": f"The webhook URL {problem}"}])
    j = regions_queries.get_jurisdiction(session=session, jurisdiction_id=data.jurisdiction_id)
    if j.region_id != region_id:
        raise ValidationFailed("That jurisdiction is not a member of this region", errors=[
            {"loc": ["jurisdiction_id"], "reason": "not a member of this region"}])
    taken = session.scalars(select(AgencySubscription.id).where(
        AgencySubscription.jurisdiction_id == j.id, AgencySubscription.name == data.name)
    ).first()
    if taken is not None:
        raise Conflict(f"{j.name} already has a subscription named {data.name!r}")
    secret = signing_secret or outbox_calc.new_signing_secret()
    now = utcnow()
    sub = AgencySubscription(
        jurisdiction_id=j.id, name=data.name, purpose=data.purpose,
        event_types=[e.value for e in data.event_types], webhook_url=data.webhook_url,
        secret_enc=_secret_sealer(secret_key).seal(secret), secret_hint=secret_hint(secret),
        active=True, sample=sample, created_by=actor.ref, created_at=now, updated_at=now)
    session.add(sub)
    session.flush()
    audit.record(session, actor, action="subscription.create", entity="tellusonce_subscription",
                 entity_id=sub.id, jurisdiction_id=j.id,
                 after={"name": sub.name, "event_types": sub.event_types,
                        "webhook_url": sub.webhook_url, "secret": "new"})
    return sub, secret


def set_active(*, session: Session, actor: Principal, subscription_id: int,
               active: bool) -> AgencySubscription:
    """Deactivate or reactivate a subscription, and its outbox destination with it.

    Deactivated: its waiting and in-flight messages become dead letters, and no retry or
    requeue is sent while it stays so. Reactivated: new reports reach it; staff may requeue
    the dead letters to send them anyway.
    """
    sub = get_subscription(session=session, actor=actor, subscription_id=subscription_id)
    authorize(actor, Action.subscription_manage, sub.jurisdiction_id)
    if sub.active == active:
        return sub
    sub.active, sub.updated_at = active, utcnow()
    withdrawn = 0
    if active:
        outbox_service.restore_destination(session, destination=_destination(sub),
                                           now=sub.updated_at)
    else:
        withdrawn = outbox_service.withdraw_destination(
            session, destination=_destination(sub), now=sub.updated_at,
            reason="The subscription was deactivated before delivery; requeue after "
                   "reactivating it to send anyway")
    session.flush()
    audit.record(session, actor, action="subscription.activate" if active else
                 "subscription.deactivate", entity="tellusonce_subscription",
                 entity_id=sub.id, jurisdiction_id=sub.jurisdiction_id,
                 before={"active": not active}, after={"active": active,
                                                       "messages_withdrawn": withdrawn})
    return sub


def rotate_secret(*, session: Session, actor: Principal, subscription_id: int,
                  secret_key: str) -> tuple[AgencySubscription, str]:
    """A new signing secret (shown only now); undelivered messages are re-sealed with it."""
    sub = get_subscription(session=session, actor=actor, subscription_id=subscription_id)
    authorize(actor, Action.subscription_manage, sub.jurisdiction_id)
    secret = outbox_calc.new_signing_secret()
    sub.secret_enc = _secret_sealer(secret_key).seal(secret)
    sub.secret_hint = secret_hint(secret)
    sub.updated_at = utcnow()
    n = outbox_service.reseal_destination(session, secret_key=secret_key,
                                          destination=_destination(sub),
                                          url=sub.webhook_url, signing_secret=secret)
    session.flush()
    audit.record(session, actor, action="subscription.rotate_secret",
                 entity="tellusonce_subscription", entity_id=sub.id,
                 jurisdiction_id=sub.jurisdiction_id,
                 after={"secret": "rotated", "messages_resealed": n})
    return sub, secret


# ------------------------------------------------------------------------------ reports


def check_rate(*, session: Session, client: str) -> None:
    ratelimit.check(session, RATE_BUCKET, client, window=timedelta(hours=1),
                    limit=REPORTS_PER_HOUR,
                    message=f"{REPORTS_PER_HOUR} reports have been sent from your address in "
                    "the last hour, which is as many as we take. Please try again later.")


def report_life_event(
    *,
    session: Session,
    actor: Principal,
    region_id: int,
    event: str,
    person: dict[str, str],
    subscription_ids: list[int],
    consent_given: bool,
    secret_key: str,
    retention_days: int,
    client: str | None = None,
    submission_key: str | None = None,
    now: datetime | None = None,
    verification_details: dict[str, str] | None = None,
    identity_assured: bool = False,
    identity: dict[str, str] | None = None,
) -> LifeEventReport:
    """Validate and store the sealed report with its consent; queue one message per agency
    once the reporter's identity is assured, else leave it awaiting verification.

    ``verification_details``: the reporter's contact (and a death certificate number if
    given), what staff confirm the report with; required unless ``identity_assured`` (an
    identity provider vouched for the reporter at the required level; ``identity`` is what it
    said: issuer, subject, acr, name, e-mail, kept sealed with the report). ``client`` (the
    sender's address) is rate-limited. ``submission_key`` (the form's token) makes a form sent
    twice return the first report instead of telling everyone twice.
    """
    authorize(actor, Action.tellusonce_report, region_id=region_id)
    if submission_key:
        earlier = session.scalars(select(LifeEventReport).where(
            LifeEventReport.submission_key == submission_key)).first()
        if earlier is not None:
            return earlier
    if client is not None:
        check_rate(session=session, client=client)
    if event not in EVENTS:
        raise ValidationFailed("Choose what happened", errors=[
            {"loc": ["event"], "reason": "choose a change of address, a birth or a death"}])
    now = now or utcnow()
    data, errors = validate_person(event, person, today=now.date())
    waits = needs_staff_verification(event, identity_assured=identity_assured)
    details: dict[str, str] = {}
    if waits:
        details, problems = validate_verification(event, verification_details or {})
        errors.extend(problems)
    offered = {s.id: s for s in available_subscriptions(session=session, region_id=region_id,
                                                        event=event)}
    chosen_ids = sorted(set(subscription_ids))
    if not chosen_ids:
        errors.append({"loc": ["agencies"], "reason": "Tick at least one agency to tell"})
    elif any(i not in offered for i in chosen_ids):
        errors.append({"loc": ["agencies"], "reason": "An agency you ticked no longer takes "
                                                      "these reports; tick again"})
    if not consent_given:
        errors.append({"loc": ["consent"], "reason": "Tick the box to agree that the agencies "
                                                     "you chose are sent these details"})
    if errors:
        raise ValidationFailed("Some details are missing or not valid", errors=errors)
    if client is not None:
        ratelimit.hit(session, RATE_BUCKET, client)
    chosen = [offered[i] for i in chosen_ids]
    labels = {s.id: _label(session, s) for s in chosen}
    report = LifeEventReport(
        region_id=region_id, reference=new_reference(), submission_key=submission_key,
        event_type=event,
        personal_data_enc=crypto.sealer(secret_key, crypto.PERSONAL_DATA).seal(
            json.dumps(data, sort_keys=True)),
        consent={"version": CONSENT_VERSION, "text": consent_text(retention_days),
                 "given_at": now.isoformat(),
                 "agencies": [{"subscription_id": s.id, "name": labels[s.id]} for s in chosen]},
        consent_version=CONSENT_VERSION, consented_at=now, recorded_by=actor.ref,
        created_at=now, purge_after=now + timedelta(days=retention_days),
        verification=AWAITING if waits else VERIFIED,
        verification_enc=_seal(secret_key, {"reporter": details}) if waits else (
            _seal(secret_key, {"identity": identity}) if identity else None),
        verification_method=None if waits else _provider_method(identity),
        verified_by=None if waits else actor.ref, verified_at=None if waits else now)
    session.add(report)
    session.flush()
    if not waits:
        _dispatch(session, report, chosen, data, labels, secret_key=secret_key, now=now)
    audit.record(session, actor, action="tellusonce.report", entity="life_event_report",
                 entity_id=report.reference,
                 after={"event": event, "subscriptions": chosen_ids,
                        "consent_version": CONSENT_VERSION,
                        "verification": report.verification,
                        **({"identity_provider": identity.get("issuer"),
                            "acr": identity.get("acr")} if identity and not waits else {})})
    return report


def _provider_method(identity: dict[str, str] | None) -> str:
    if not identity:
        return "identity provider"
    return f"identity provider: {identity.get('issuer', '')} ({identity.get('acr', '')})"[:200]


def _seal(secret_key: str, value: dict[str, object]) -> str:
    return crypto.sealer(secret_key, crypto.PERSONAL_DATA).seal(json.dumps(value,
                                                                           sort_keys=True))


def _dispatch(session: Session, report: LifeEventReport, chosen: list[AgencySubscription],
              data: dict[str, str], labels: dict[int, str], *, secret_key: str,
              now: datetime) -> None:
    """Queue one signed message per chosen agency (the report's identity is assured)."""
    reported_at = report.consented_at.isoformat()
    event = report.event_type
    for sub in chosen:
        key = idempotency_key(report.reference, sub.id)
        outbox_service.enqueue(
            session, secret_key=secret_key, topic=TOPIC_PREFIX + event,
            payload={"type": TOPIC_PREFIX + event, "timestamp": reported_at, "id": key,
                     "reference": report.reference, "event": event, "person": data,
                     "consent": {"given_at": reported_at, "version": CONSENT_VERSION,
                                 "recipient": labels[sub.id]},
                     "identity": {"verified_by": report.verification_method,
                                  "verified_at": (report.verified_at or now).isoformat()},
                     "sample": sub.sample},
            idempotency_key=key, destination=_destination(sub),
            destination_label=labels[sub.id], url=sub.webhook_url,
            signing_secret=_secret_sealer(secret_key).open(sub.secret_enc),
            jurisdiction_id=sub.jurisdiction_id, now=now)


def _report_to_verify(session: Session, actor: Principal, region_id: int,
                      reference: str) -> LifeEventReport:
    report = session.scalars(select(LifeEventReport).where(
        LifeEventReport.reference == reference[:20],
        LifeEventReport.region_id == region_id)).first()
    if report is None or not may_verify(session, actor, report):
        raise NotFound("Report not found")
    return report


def verification_details(*, session: Session, actor: Principal, region_id: int,
                         reference: str, secret_key: str
                         ) -> tuple[LifeEventReport, dict[str, str] | None, dict[str, Any]]:
    """A report for the staff who may verify it: the report, its personal data (None once
    purged) and the verification record (the reporter's contact, evidence). Opening it is
    audited (who looked at whose personal data, not the data itself)."""
    report = _report_to_verify(session, actor, region_id, reference)
    person = open_personal_data(report, secret_key=secret_key)
    record: dict[str, Any] = {}
    if report.verification_enc is not None:
        record = json.loads(crypto.sealer(secret_key, crypto.PERSONAL_DATA).open(
            report.verification_enc))
    if person is not None:
        audit.record(session, actor, action="tellusonce.open_for_verification",
                     entity="life_event_report", entity_id=report.reference)
    return report, person, record


def verify_report(*, session: Session, actor: Principal, region_id: int, reference: str,
                  evidence_kind: str, evidence_reference: str, secret_key: str,
                  now: datetime | None = None) -> LifeEventReport:
    """Staff checked the report against evidence: record how, and queue its messages to the
    agencies chosen that still take these reports."""
    report = _report_to_verify(session, actor, region_id, reference)
    _check_move(report, VERIFIED)
    errors = []
    if evidence_kind not in EVIDENCE_KINDS:
        errors.append({"loc": ["evidence_kind"], "reason": "Choose how you checked the report"})
    evidence_reference = " ".join(evidence_reference.split())[:100]
    if evidence_kind in ("death_certificate", "birth_certificate") and not evidence_reference:
        errors.append({"loc": ["evidence_reference"],
                       "reason": "Enter the certificate number you checked"})
    person = open_personal_data(report, secret_key=secret_key)
    if person is None:
        errors.append({"loc": [], "reason": "This report's details have been deleted "
                                            "(past retention); it cannot be sent"})
    if errors or person is None:
        raise ValidationFailed("The report cannot be verified yet", errors=errors)
    now = now or utcnow()
    record: dict[str, Any] = {}
    if report.verification_enc is not None:
        record = json.loads(crypto.sealer(secret_key, crypto.PERSONAL_DATA).open(
            report.verification_enc))
    record["evidence"] = {"kind": evidence_kind, "reference": evidence_reference,
                          "checked_by": actor.ref, "checked_at": now.isoformat()}
    report.verification_enc = _seal(secret_key, record)
    calc.VERIFICATIONS.move(report, VERIFIED)
    report.verified_by, report.verified_at = actor.ref, now
    report.verification_method = f"staff: {EVIDENCE_KINDS[evidence_kind]}"
    ids = [a["subscription_id"] for a in (report.consent or {}).get("agencies", [])]
    subs = {s.id: s for s in session.scalars(select(AgencySubscription).where(
        AgencySubscription.id.in_(ids))).all()}
    chosen = [subs[i] for i in ids if i in subs and subs[i].active
              and report.event_type in (subs[i].event_types or [])]
    labels = {a["subscription_id"]: a["name"] for a in report.consent.get("agencies", [])}
    session.flush()
    _dispatch(session, report, chosen, person, labels, secret_key=secret_key, now=now)
    audit.record(session, actor, action="tellusonce.verify", entity="life_event_report",
                 entity_id=report.reference,
                 after={"evidence_kind": evidence_kind, "sent_to": [s.id for s in chosen],
                        "not_sent_to": sorted(set(ids) - {s.id for s in chosen})})
    return report


def reject_report(*, session: Session, actor: Principal, region_id: int, reference: str,
                  reason: str, now: datetime | None = None) -> LifeEventReport:
    """The report could not be confirmed: nothing is sent, and its details are deleted now."""
    report = _report_to_verify(session, actor, region_id, reference)
    _check_move(report, REJECTED)
    reason = " ".join(reason.split())[:300]
    if not reason:
        raise ValidationFailed("Say why the report is rejected", errors=[
            {"loc": ["reason"], "reason": "Say why the report is rejected (kept in the audit "
                                          "log)"}])
    now = now or utcnow()
    calc.VERIFICATIONS.move(report, REJECTED)
    report.verified_by, report.verified_at = actor.ref, now
    report.verification_method = "rejected by staff"
    report.personal_data_enc = report.verification_enc = None
    report.purged_at = now
    session.flush()
    audit.record(session, actor, action="tellusonce.reject", entity="life_event_report",
                 entity_id=report.reference, after={"reason": reason})
    return report


def _check_move(report: LifeEventReport, to: str) -> None:
    """Refuse (409) before any work a move the verification machine does not allow."""
    calc.VERIFICATIONS.check(report.verification, to)


def open_personal_data(report: LifeEventReport, *, secret_key: str) -> dict[str, str] | None:
    """The report's personal data, or ``None`` once purged."""
    if report.personal_data_enc is None:
        return None
    data: dict[str, str] = json.loads(
        crypto.sealer(secret_key, crypto.PERSONAL_DATA).open(report.personal_data_enc))
    return data


def purge_expired(*, session: Session, actor: Principal, now: datetime,
                  retention_days: int) -> int:
    """Delete personal data past its retention: reports' sealed data and outbox bodies."""
    due = session.scalars(select(LifeEventReport).where(
        LifeEventReport.purge_after <= now, LifeEventReport.personal_data_enc.is_not(None))
    ).all()
    for report in due:
        report.personal_data_enc, report.verification_enc, report.purged_at = None, None, now
    bodies = outbox_service.purge_bodies(session, topic_prefix=TOPIC_PREFIX,
                                         created_before=now - timedelta(days=retention_days),
                                         now=now)
    session.flush()
    if due or bodies:
        audit.record(session, actor, action="tellusonce.purge", entity="life_event_report",
                     after={"reports": len(due), "message_bodies": bodies,
                            "retention_days": retention_days})
    return len(due)


