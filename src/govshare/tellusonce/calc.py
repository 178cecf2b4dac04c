"""Tell us once, the pure rules: which fields each life event asks for and how they are
checked, the reference numbers and idempotency keys, the consent text. No database."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from govshare.core.phones import check_phone
from govshare.core.states import StateMachine

CONSENT_VERSION = "tell-us-once-consent-v1"
CONSENT_TEXT = (
    "I agree that the details on this form are sent to each agency I ticked, so that it can "
    "update its records. Each agency uses them only for that. The details are kept here, "
    "encrypted, for {days} days and then deleted; the reference number and this agreement "
    "are kept as the record that the details were shared with my consent.")


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
    "change_of_address": EventSpec(
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
    "birth": EventSpec(
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
    "death": EventSpec(
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

# ------------------------------------------------------------------ identity and verification
# A report reaches agencies only once the reporter's identity is assured (issue 9 §5): by a
# configured identity provider at a stated assurance level, or by a member's staff checking
# it against evidence (a death certificate number against vital records, a call to the
# reporter). Until then it waits, and nothing is sent. A death reported by the public always
# waits for staff: a wrong death notice cancels a living person's vote and driver license.

AWAITING = "awaiting_verification"
VERIFIED = "verified"
REJECTED = "rejected"
# The report's verification machine (core.states); verified and rejected are final.
VERIFICATIONS = StateMachine.of(
    "report",
    labels={AWAITING: "Awaiting verification", VERIFIED: "Verified and sent",
            REJECTED: "Rejected (nothing sent, details deleted)"},
    moves={AWAITING: {VERIFIED, REJECTED}, VERIFIED: set(), REJECTED: set()},
    attribute="verification")
VERIFICATION_LABELS = VERIFICATIONS.labels
VERIFICATION_MOVES = VERIFICATIONS.moves

# How staff checked a report; the reference (a certificate number, ...) is sealed with the
# personal data, never sent to the agencies, and deleted with it.
EVIDENCE_KINDS: dict[str, str] = {
    "death_certificate": "Death certificate checked against vital records",
    "birth_certificate": "Birth certificate checked against vital records",
    "photo_id_in_person": "Photo ID seen in person",
    "call_back": "Reporter called back at a number on our records",
    "records_match": "Details match our own records",
}


def can_move(current: str, to: str) -> bool:
    return VERIFICATIONS.allows(current, to)


def needs_staff_verification(event: str, *, identity_assured: bool) -> bool:
    """Whether a report waits for a member's staff before any agency is told: unless an
    identity provider vouched for the reporter at the required level (ADR 19), every report
    does, a death's included."""
    return not identity_assured


# What the reporter gives so that staff can confirm the report (never sent to agencies).
VERIFICATION_FIELDS: dict[str, tuple[EventField, ...]] = {
    event: (
        EventField("contact", "Your e-mail address or phone number",
                   hint="Only so that staff can confirm this report with you. It is not sent "
                        "to the agencies.", autocomplete="email", max_length=200),
        *((EventField("certificate_number", "Death certificate number, if you have it",
                      hint="It lets vital records confirm the death quickly. Leave it empty "
                           "if you do not have the certificate yet.", max_length=40),)
          if event == "death" else ()),
    ) for event in EVENTS
}
OPTIONAL_VERIFICATION_FIELDS = frozenset({"certificate_number"})
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def validate_verification(event: str, values: dict[str, str]
                          ) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """The reporter's contact (an e-mail address, or a telephone number as ``core.phones``
    checks and writes it) and, for a death, the certificate number if given; the problems,
    one per field."""
    clean: dict[str, str] = {}
    errors: list[dict[str, Any]] = []
    for f in VERIFICATION_FIELDS[event]:
        raw = _SPACES.sub(" ", _CONTROL.sub(" ", values.get(f.name) or "")).strip()
        if not raw:
            if f.name not in OPTIONAL_VERIFICATION_FIELDS:
                errors.append({"loc": [f.name], "reason": "Enter an e-mail address or a phone "
                                                          "number so that we can confirm "
                                                          "the report with you"})
            continue
        if len(raw) > f.max_length:
            errors.append({"loc": [f.name], "reason": f"{f.label}: at most {f.max_length} "
                                                      "characters"})
            continue
        if f.name == "contact" and not _EMAIL.match(raw):
            try:
                raw = check_phone(raw)
            except ValueError:
                errors.append({"loc": [f.name], "reason": "Give an e-mail address like "
                                                          "name@example.com or a phone number "
                                                          "like 206-555-0100"})
                continue
        clean[f.name] = raw
    return clean, errors


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


def consent_text(retention_days: int) -> str:
    return CONSENT_TEXT.format(days=retention_days)


def new_reference() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read out over the phone
    code = "".join(secrets.choice(alphabet) for _ in range(8))
    return f"TU-{code[:4]}-{code[4:]}"


def idempotency_key(reference: str, subscription_id: int) -> str:
    return f"tellusonce:{reference}:{subscription_id}"
