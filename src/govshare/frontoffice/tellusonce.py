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
- Data minimisation: each event has a fixed list of fields; nothing else is stored or sent
  (no free text, no IP address). The personal data is sealed at rest (Fernet, key from the
  secret key by HKDF) and deleted after ``GOVSHARE_TELLUSONCE_RETENTION_DAYS`` by
  :func:`purge_expired`, together with the outbox bodies. It never enters the audit log.
- Each message's idempotency key is ``tellusonce:<reference>:<subscription id>``: the same
  on every delivery attempt, so an agency applies the report once however often it arrives.
- Subscriptions belong to a member: a jurisdiction admin manages their own, the regional
  admin any. Deactivating one dead-letters its waiting messages; rotating its secret re-seals
  them, so nothing is sent under a withdrawn URL or secret.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govshare.core import audit, crypto, ratelimit
from govshare.core.db import utcnow
from govshare.core.errors import Conflict, NotFound, ValidationFailed
from govshare.core.tenancy import (
    Action,
    Principal,
    authorize,
    ensure_visible,
    visible_jurisdiction_ids,
)
from govshare.frontoffice.tellusonce_models import (
    AgencySubscription,
    LifeEventReport,
    LifeEventType,
)
from govshare.outbox import queries as outbox_queries
from govshare.outbox import service as outbox_service
from govshare.regions import queries as regions_queries

CONSENT_VERSION = "tell-us-once-consent-v1"
CONSENT_TEXT = (
    "I agree that the details on this form are sent to each agency I ticked, so that it can "
    "update its records. Each agency uses them only for that. The details are kept here, "
    "encrypted, for {days} days and then deleted; the reference number and this agreement "
    "are kept as the record that the details were shared with my consent.")
TOPIC_PREFIX = "tellusonce."
RATE_BUCKET = "tellusonce"
REPORTS_PER_HOUR = 5
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


# ------------------------------------------------------------------------------ events


@dataclass(frozen=True)
class EventField:
    name: str
    label: str
    kind: str = "text"  # text | date
    hint: str = ""
    autocomplete: str = "off"
    max_length: int = 200
    past_years: int = 120  # dates: how far back they may go
    future_days: int = 0  # dates: how far ahead they may go


@dataclass(frozen=True)
class EventSpec:
    label: str
    summary: str
    fields: tuple[EventField, ...] = field(default_factory=tuple)
    # (later field, earlier field): the first date may not be before the second
    order: tuple[tuple[str, str], ...] = ()


ADDRESS_HINT = "Street and number, apartment, city, ZIP code"
EVENTS: dict[str, EventSpec] = {
    LifeEventType.change_of_address.value: EventSpec(
        label="Change of address",
        summary="You have moved, or are about to move, to a new home.",
        fields=(
            EventField("full_name", "Your full name", autocomplete="name"),
            EventField("date_of_birth", "Your date of birth", kind="date",
                       autocomplete="bday"),
            EventField("old_address", "Old address", hint=ADDRESS_HINT, max_length=300),
            EventField("new_address", "New address", hint=ADDRESS_HINT, max_length=300,
                       autocomplete="street-address"),
            EventField("moved_on", "Date of the move", kind="date", past_years=1,
                       future_days=90, hint="It can be up to 90 days ahead."),
        ),
        order=(("moved_on", "date_of_birth"),)),
    LifeEventType.birth.value: EventSpec(
        label="Birth of a child",
        summary="A child has been born in your family.",
        fields=(
            EventField("child_full_name", "The child's full name"),
            EventField("child_date_of_birth", "The child's date of birth", kind="date",
                       past_years=18),
            EventField("parent_full_name", "Your full name (parent or guardian)",
                       autocomplete="name"),
            EventField("home_address", "The child's home address", hint=ADDRESS_HINT,
                       max_length=300, autocomplete="street-address"),
        )),
    LifeEventType.death.value: EventSpec(
        label="Death",
        summary="Someone has died, and you are the one letting the agencies know.",
        fields=(
            EventField("deceased_full_name", "Full name of the person who died"),
            EventField("deceased_date_of_birth", "Their date of birth", kind="date"),
            EventField("date_of_death", "Date of death", kind="date", past_years=5),
            EventField("last_address", "Their last home address", hint=ADDRESS_HINT,
                       max_length=300),
            EventField("informant_full_name", "Your full name", autocomplete="name"),
            EventField("informant_relationship", "Your relationship to them",
                       hint="For example: daughter, husband, executor", max_length=100),
        ),
        order=(("date_of_death", "deceased_date_of_birth"),)),
}

_SPACES = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def validate_person(event: str, values: dict[str, str], *, today: date
                    ) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """The event's fields, cleaned; and the problems, one per field. Other keys are dropped."""
    spec = EVENTS[event]
    clean: dict[str, str] = {}
    errors: list[dict[str, Any]] = []
    for f in spec.fields:
        raw = _SPACES.sub(" ", _CONTROL.sub(" ", values.get(f.name) or "")).strip()
        if not raw:
            errors.append({"loc": [f.name], "reason": f"Enter {f.label[0].lower() + f.label[1:]}"})
            continue
        if f.kind == "date":
            try:
                value = date.fromisoformat(raw)
            except ValueError:
                errors.append({"loc": [f.name], "reason": f"{f.label}: give a date like "
                                                          "2026-03-31"})
                continue
            if value > today + timedelta(days=f.future_days):
                errors.append({"loc": [f.name], "reason": f"{f.label} cannot be "
                               + ("in the future" if not f.future_days else
                                  f"more than {f.future_days} days ahead")})
                continue
            if value < today.replace(year=today.year - f.past_years, day=min(today.day, 28)):
                errors.append({"loc": [f.name], "reason": f"{f.label} is too far in the past"})
                continue
            clean[f.name] = value.isoformat()
        else:
            if len(raw) > f.max_length:
                errors.append({"loc": [f.name], "reason": f"{f.label}: at most "
                                                          f"{f.max_length} characters"})
                continue
            clean[f.name] = raw
    for later, earlier in spec.order:
        if later in clean and earlier in clean and clean[later] < clean[earlier]:
            labels = {f.name: f.label for f in spec.fields}
            errors.append({"loc": [later], "reason": f"{labels[later]} cannot be before "
                                                     f"{labels[earlier].lower()}"})
    return clean, errors


# ------------------------------------------------------------------------------ subscriptions


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    jurisdiction_id: int = Field(ge=1)
    name: str = Field(min_length=2, max_length=200)
    purpose: str = Field(min_length=10, max_length=1000)
    webhook_url: str = Field(max_length=500)
    event_types: list[LifeEventType] = Field(min_length=1)

    @field_validator("webhook_url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        host = (parts.hostname or "").lower()
        if parts.scheme not in ("https", "http") or not host:
            raise ValueError("must be an https:// address")
        if parts.scheme == "http" and host not in LOOPBACK_HOSTS:
            raise ValueError("must use https:// (plain http only to 127.0.0.1 or localhost, "
                             "for local tests)")
        if parts.username or parts.password:
            raise ValueError("must not carry a user name or password; the signature "
                             "authenticates each message")
        if parts.fragment:
            raise ValueError("must not have a #fragment")
        return value


def new_signing_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def _secret_sealer(secret_key: str) -> crypto.Sealer:
    return crypto.sealer(secret_key, crypto.WEBHOOK_SECRET)


def _destination(sub: AgencySubscription) -> str:
    return f"subscription:{sub.id}"


def _label(session: Session, sub: AgencySubscription) -> str:
    j = regions_queries.get_jurisdiction(session=session, jurisdiction_id=sub.jurisdiction_id)
    return f"{j.name}: {sub.name}"


def list_subscriptions(*, session: Session, actor: Principal, region_id: int
                       ) -> list[AgencySubscription]:
    """Subscriptions of the members whose private rows the actor sees."""
    members = {j.id: j.name for j in regions_queries.list_jurisdictions(
        session=session, region_id=region_id)}
    visible = visible_jurisdiction_ids(actor)
    ids = set(members) if visible is None else set(members) & visible
    if not ids:
        return []
    rows = session.scalars(select(AgencySubscription)
                           .where(AgencySubscription.jurisdiction_id.in_(ids))).all()
    return sorted(rows, key=lambda s: (members[s.jurisdiction_id], s.name))


def available_subscriptions(*, session: Session, region_id: int, event: str
                            ) -> list[AgencySubscription]:
    """Active subscriptions to ``event`` across the region's members (for the public form)."""
    members = {j.id: j.name for j in regions_queries.list_jurisdictions(
        session=session, region_id=region_id)}
    if not members:
        return []
    rows = session.scalars(select(AgencySubscription).where(
        AgencySubscription.jurisdiction_id.in_(members), AgencySubscription.active)).all()
    return sorted((s for s in rows if event in (s.event_types or [])),
                  key=lambda s: (members[s.jurisdiction_id], s.name))


def get_subscription(*, session: Session, actor: Principal, subscription_id: int
                     ) -> AgencySubscription:
    sub = session.get(AgencySubscription, subscription_id)
    if sub is None:
        raise NotFound("Subscription not found")
    ensure_visible(actor, sub.jurisdiction_id, "Subscription")
    return sub


def create_subscription(*, session: Session, actor: Principal, region_id: int,
                        data: SubscriptionIn, secret_key: str, sample: bool = False,
                        signing_secret: str | None = None) -> tuple[AgencySubscription, str]:
    """Subscribe a member's office; returns it with its signing secret (shown only now)."""
    authorize(actor, Action.subscription_manage, data.jurisdiction_id)
    j = regions_queries.get_jurisdiction(session=session, jurisdiction_id=data.jurisdiction_id)
    if j.region_id != region_id:
        raise ValidationFailed("That jurisdiction is not a member of this region", errors=[
            {"loc": ["jurisdiction_id"], "reason": "not a member of this region"}])
    taken = session.scalars(select(AgencySubscription.id).where(
        AgencySubscription.jurisdiction_id == j.id, AgencySubscription.name == data.name)
    ).first()
    if taken is not None:
        raise Conflict(f"{j.name} already has a subscription named {data.name!r}")
    secret = signing_secret or new_signing_secret()
    now = utcnow()
    sub = AgencySubscription(
        jurisdiction_id=j.id, name=data.name, purpose=data.purpose,
        event_types=[e.value for e in data.event_types], webhook_url=data.webhook_url,
        secret_enc=_secret_sealer(secret_key).seal(secret), secret_hint=secret[-4:],
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
    """Deactivate (waiting messages become dead letters) or reactivate a subscription."""
    sub = get_subscription(session=session, actor=actor, subscription_id=subscription_id)
    authorize(actor, Action.subscription_manage, sub.jurisdiction_id)
    if sub.active == active:
        return sub
    sub.active, sub.updated_at = active, utcnow()
    withdrawn = 0
    if not active:
        withdrawn = outbox_service.withdraw_destination(
            session, destination=_destination(sub),
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
    secret = new_signing_secret()
    sub.secret_enc, sub.secret_hint = _secret_sealer(secret_key).seal(secret), secret[-4:]
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


def consent_text(retention_days: int) -> str:
    return CONSENT_TEXT.format(days=retention_days)


def new_reference() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read out over the phone
    code = "".join(secrets.choice(alphabet) for _ in range(8))
    return f"TU-{code[:4]}-{code[4:]}"


def idempotency_key(reference: str, subscription_id: int) -> str:
    return f"tellusonce:{reference}:{subscription_id}"


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
) -> LifeEventReport:
    """Validate, store the sealed report with its consent, and queue one message per agency.

    ``client`` (the sender's address) is rate-limited. ``submission_key`` (the form's token)
    makes a form sent twice return the first report instead of telling everyone twice.
    """
    authorize(actor, Action.tellusonce_report)
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
        created_at=now, purge_after=now + timedelta(days=retention_days))
    session.add(report)
    session.flush()
    for sub in chosen:
        key = idempotency_key(report.reference, sub.id)
        outbox_service.enqueue(
            session, secret_key=secret_key, topic=TOPIC_PREFIX + event,
            payload={"type": TOPIC_PREFIX + event, "id": key, "reference": report.reference,
                     "event": event, "reported_at": now.isoformat(), "person": data,
                     "consent": {"given_at": now.isoformat(), "version": CONSENT_VERSION,
                                 "recipient": labels[sub.id]},
                     "sample": sub.sample},
            idempotency_key=key, destination=_destination(sub),
            destination_label=labels[sub.id], url=sub.webhook_url,
            signing_secret=_secret_sealer(secret_key).open(sub.secret_enc),
            jurisdiction_id=sub.jurisdiction_id, now=now)
    audit.record(session, actor, action="tellusonce.report", entity="life_event_report",
                 entity_id=report.reference,
                 after={"event": event, "subscriptions": chosen_ids,
                        "consent_version": CONSENT_VERSION})
    return report


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
        report.personal_data_enc, report.purged_at = None, now
    bodies = outbox_service.purge_bodies(session, topic_prefix=TOPIC_PREFIX,
                                         created_before=now - timedelta(days=retention_days),
                                         now=now)
    session.flush()
    if due or bodies:
        audit.record(session, actor, action="tellusonce.purge", entity="life_event_report",
                     after={"reports": len(due), "message_bodies": bodies,
                            "retention_days": retention_days})
    return len(due)


# ------------------------------------------------------------------------------ staff reads


@dataclass(frozen=True)
class ReportRow:
    report: LifeEventReport
    deliveries: list[tuple[str, str]]  # (agency, outbox status)


def recent_reports(*, session: Session, actor: Principal, region_id: int, limit: int = 25
                   ) -> list[ReportRow]:
    """Latest reports (no personal data) with each chosen agency's delivery status.

    Regional roles see every report; a member's staff see the reports that went to one of
    their own subscriptions, with only their own agencies' deliveries.
    """
    visible = visible_jurisdiction_ids(actor)
    own_subs = None
    if visible is not None:
        own_subs = {s.id for s in list_subscriptions(session=session, actor=actor,
                                                     region_id=region_id)}
    rows = session.scalars(select(LifeEventReport).where(LifeEventReport.region_id == region_id)
                           .order_by(LifeEventReport.created_at.desc(),
                                     LifeEventReport.id.desc()).limit(200)).all()
    picked: list[tuple[LifeEventReport, dict[str, str]]] = []
    for r in rows:
        agencies = [a for a in (r.consent or {}).get("agencies", [])
                    if own_subs is None or a["subscription_id"] in own_subs]
        if agencies:
            picked.append((r, {idempotency_key(r.reference, a["subscription_id"]): a["name"]
                               for a in agencies}))
        if len(picked) >= limit:
            break
    found = outbox_queries.by_keys(session=session,
                                   keys=[k for _, keys in picked for k in keys])
    return [ReportRow(r, [(name, found[k].status if k in found else "missing")
                          for k, name in keys.items()]) for r, keys in picked]


def report_counts(*, session: Session, region_id: int, since: datetime) -> dict[str, int]:
    rows = session.execute(select(LifeEventReport.event_type, func.count())
                           .where(LifeEventReport.region_id == region_id,
                                  LifeEventReport.created_at >= since)
                           .group_by(LifeEventReport.event_type)).all()
    counts = {e: 0 for e in EVENTS}
    counts.update({e: int(n) for e, n in rows})
    return counts
