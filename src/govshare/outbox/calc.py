"""Pure rules of webhook delivery: backoff, what an answer means, dead letters, signatures.

No I/O: the worker and the receiver call these with plain values.

Backoff. After the n-th failed attempt the next one waits a random time in the upper half of
the window ``min(cap, base * 2**(n-1))`` (AWS's "equal jitter"). Jitter spreads the retries
of many messages that failed together (an agency's endpoint coming back is not hit by all of
them at once). Full jitter (anywhere in ``0..window``) spreads them a little more, but can
bunch the retries of one message: with 10 attempts it dead-letters about one message in ten
during a one-hour outage. The lower half-window bound makes the guarantee firm: with the
defaults (30 s base, 1 h cap) ten attempts span at least 92 minutes (:func:`min_span`).

What an answer means (:func:`classify`):
- 2xx: delivered.
- No answer (connection refused, DNS failure, timeout, reset), 5xx: the receiver is down or
  broken for now; retry.
- 408 Request Timeout, 429 Too Many Requests: explicitly "try again later"; retry, waiting at
  least as long as a ``Retry-After`` header asks (up to the cap).
- 409 Conflict: a receiver that processes idempotency keys (Stripe's scheme) answers 409 when
  the same key is being processed by another request right now, e.g. our earlier attempt
  whose answer we never got; retry, and the next attempt learns the outcome.
- Any other 4xx (400 malformed, 401/403 bad signature or secret, 404/410 wrong or retired
  URL, 413, 422 ...): the receiver understood and refused. Sending the same signed body again
  gets the same answer and can only hammer it, so the message becomes a dead letter at once,
  with the answer kept as its last error; staff fix the subscription and requeue it.
- 3xx: redirects are not followed (a webhook must not be steered to another host); the URL
  is wrong, so the message is dead-lettered with an explanation.

Dead letters (:func:`next_state`): a retryable failure becomes dead once the message has had
``max_attempts`` attempts, or when it fails while older than ``max_age`` (counted from when it
was queued or requeued), whichever comes first.

Signatures follow Standard Webhooks (https://www.standardwebhooks.com, the PyPI package
``standardwebhooks``), so a receiving agency verifies them with a ready library in its own
language. Each request carries ``webhook-id`` (the message's idempotency key: the same on
every attempt), ``webhook-timestamp`` (unix seconds of this attempt) and
``webhook-signature`` (``v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">``) under the
destination's secret, ``whsec_`` + base64 of 24 to 64 random bytes. The library refuses a
timestamp more than five minutes away (a replay); within that, the id makes it harmless.

Destinations (:func:`url_problem`, :func:`address_problem`). A webhook URL is chosen by a
member's admin, so it must not be a way into our own network (SSRF): only ``https``, and only
public addresses; no loopback, private, link-local, multicast, reserved or otherwise
non-public address. The URL is checked when it is entered and again at every attempt, and the
worker checks every address the name resolves to at connection time and connects to the
address it checked. Loopback (and plain http to it) is allowed only where the setting
``GOVSHARE_OUTBOX_ALLOW_LOOPBACK`` says so: the demo and the tests, whose reference receiver
listens on 127.0.0.1; never in production.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import random
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from urllib.parse import urlsplit

from standardwebhooks import Webhook

from govshare.core.states import StateMachine

ERROR_LIMIT = 1000  # characters of an error kept with an attempt
SECRET_PREFIX = "whsec_"  # noqa: S105 - the standard's prefix, not a secret
SECRET_BYTES = 32  # of a new signing secret (the standard asks for 24 to 64)
SECRET_MIN_BYTES, SECRET_MAX_BYTES = 24, 64
# The id is signed as "<id>.<timestamp>.<body>": it must not hold a full stop (the standard).
WEBHOOK_ID = re.compile(r"[A-Za-z0-9_:-]{1,200}")
LOOPBACK_NAMES = ("localhost",)
NOT_SENT_HINT = "correct the subscription's address, then requeue"

# The outbox message's state machine (core.states): claims, answers, withdrawals, purges and
# requeues all move a message through it (bulk moves with ``MESSAGES.guard``).
MESSAGES = StateMachine.of(
    "outbox message",
    labels={"pending": "Waiting", "in_flight": "Being delivered", "delivered": "Delivered",
            "dead": "Dead letter (not delivered)"},
    moves={
        # in_flight: claimed; dead: purged, destination withdrawn; delivered: a late 2xx of
        # an earlier attempt whose message was meanwhile given back for a retry (it was sent).
        "pending": {"in_flight", "dead", "delivered"},
        # the answer, or a re-claim after the lease ran out (the worker died)
        "in_flight": {"delivered", "pending", "dead", "in_flight"},
        "delivered": set(),
        # requeued by staff; delivered: a late 2xx of an attempt made before it died
        "dead": {"pending", "delivered"},
    })
STATUSES = MESSAGES.states
TRANSITIONS = MESSAGES.moves


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 10
    max_age_seconds: float = 24 * 3600
    base_seconds: float = 30.0
    cap_seconds: float = 3600.0


class Verdict(StrEnum):
    delivered = "delivered"
    retry = "retry"
    dead = "dead"


# ------------------------------------------------------------------------------ backoff


def backoff_window(failures: int, base: float, cap: float) -> float:
    """The window after ``failures`` failed attempts (1 = after the first)."""
    if failures < 1:
        return 0.0
    exponent = min(failures - 1, 60)  # 2**60 * base is past any cap; avoid float overflow
    return float(min(cap, base * 2.0**exponent))


def backoff_delay(failures: int, base: float, cap: float,
                  rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait after ``failures`` failed attempts: uniform in the window's upper half."""
    window = backoff_window(failures, base, cap)
    return window / 2 + rand() * window / 2


def min_span(attempts: int, base: float, cap: float) -> float:
    """The shortest time ``attempts`` attempts can take (sum of the half-windows between)."""
    return sum(backoff_window(k, base, cap) / 2 for k in range(1, attempts))


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """A ``Retry-After`` header (seconds or an HTTP date) as seconds from ``now``."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())


# ------------------------------------------------------------------------------ answers


def classify(status_code: int | None, *, refused: str | None = None) -> tuple[Verdict, str]:
    """What an HTTP answer (``None``: no answer at all) means for the message, and why.

    ``refused``: the worker did not send it, because the destination is not allowed (see
    :func:`url_problem`); sending again would be refused again, so it is dead at once.
    """
    if refused is not None:
        return Verdict.dead, f"not sent: {refused}; {NOT_SENT_HINT}"
    if status_code is None:
        return Verdict.retry, "no answer from the receiver"
    if 200 <= status_code < 300:
        return Verdict.delivered, "accepted"
    if 300 <= status_code < 400:
        return Verdict.dead, (f"the receiver redirected ({status_code}); redirects are not "
                              "followed: correct the subscription's URL, then requeue")
    if status_code in (408, 429):
        return Verdict.retry, f"the receiver asked to try later ({status_code})"
    if status_code == 409:
        return Verdict.retry, "the receiver is still processing this key (409)"
    if 400 <= status_code < 500:
        return Verdict.dead, (f"the receiver refused the message ({status_code}); sending it "
                              "again would get the same answer: fix the cause, then requeue")
    return Verdict.retry, f"the receiver failed ({status_code})"


@dataclass(frozen=True)
class NextState:
    status: str  # delivered | pending | dead
    delay_seconds: float | None  # for pending: when to try again
    reason: str


def next_state(verdict: Verdict, *, attempts: int, age_seconds: float, policy: RetryPolicy,
               reason: str, retry_after: float | None = None,
               rand: Callable[[], float] = random.random) -> NextState:
    """Where a message goes after an attempt (``attempts`` counts that attempt)."""
    if verdict is Verdict.delivered:
        return NextState("delivered", None, reason)
    if verdict is Verdict.dead:
        return NextState("dead", None, reason)
    if attempts >= policy.max_attempts:
        return NextState("dead", None, f"{reason}; gave up after {attempts} attempts")
    if age_seconds >= policy.max_age_seconds:
        hours = policy.max_age_seconds / 3600
        return NextState("dead", None, f"{reason}; not delivered within {hours:g} hours")
    delay = backoff_delay(attempts, policy.base_seconds, policy.cap_seconds, rand)
    if retry_after is not None:
        delay = max(delay, min(retry_after, policy.cap_seconds))
    return NextState("pending", delay, reason)


def can_transition(current: str, to: str) -> bool:
    return MESSAGES.allows(current, to)


# ------------------------------------------------------------------------------ signatures


def new_signing_secret() -> str:
    """A destination's signing secret, in the form every Standard Webhooks library reads."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def check_signing_secret(secret: str) -> None:
    """Raise ``ValueError`` unless ``secret`` is ``whsec_`` + base64 of 24 to 64 bytes."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"the signing secret does not start with {SECRET_PREFIX}")
    try:
        raw = base64.b64decode(secret[len(SECRET_PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the signing secret is not base64 after whsec_") from None
    if not SECRET_MIN_BYTES <= len(raw) <= SECRET_MAX_BYTES:
        raise ValueError(f"the signing secret holds {len(raw)} bytes; Standard Webhooks asks "
                         f"for {SECRET_MIN_BYTES} to {SECRET_MAX_BYTES}")


def check_webhook_id(webhook_id: str) -> None:
    """Raise ``ValueError`` unless ``webhook_id`` can be signed unambiguously (no ``.``)."""
    if not WEBHOOK_ID.fullmatch(webhook_id):
        raise ValueError(f"the idempotency key {webhook_id[:60]!r} must be 1 to 200 letters, "
                         "digits, '_', ':' or '-' (it is signed as the webhook-id)")


def webhook_headers(secret: str, webhook_id: str, body: bytes, at: datetime
                    ) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt sent at ``at`` (timezone-aware)."""
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(webhook_id, at, body),
    }


# ------------------------------------------------------------------------------ destinations

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # IPv4 addresses reached through a NAT64 gateway


def address_problem(address: IPAddress, *, allow_loopback: bool) -> str | None:
    """Why a webhook may not go to ``address`` ("a private address", ...), or ``None``.

    An IPv6 address that carries an IPv4 one (mapped, or NAT64) is judged by the IPv4 one.
    """
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        elif address in NAT64:
            address = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.is_loopback:
        return None if allow_loopback else "this machine (a loopback address)"
    for kind, test in (("an unspecified address", address.is_unspecified),
                       ("a link-local address", address.is_link_local),
                       ("a multicast address", address.is_multicast),
                       ("a reserved address", address.is_reserved),
                       ("a private address", address.is_private),
                       ("a non-public address", not address.is_global)):
        if test:
            return kind
    return None


def url_problem(url: str, *, allow_loopback: bool) -> str | None:
    """Why ``url`` may not receive webhooks (a phrase: "must use https:// ..."), or ``None``.

    Names are judged by what they resolve to when a message is sent (the worker); here only
    what the URL itself says: the scheme, credentials, and a literal address or ``localhost``.
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        return "must be an https:// address"
    host = (parts.hostname or "").rstrip(".")
    if parts.scheme not in ("https", "http") or not host:
        return "must be an https:// address"
    if parts.username is not None or parts.password is not None:
        return ("must not carry a user name or password; the signature authenticates each "
                "message")
    if parts.fragment:
        return "must not have a #fragment"
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    loopback = (host in LOOPBACK_NAMES or host.endswith(".localhost")
                or (literal is not None and literal.is_loopback))
    if loopback and not allow_loopback:
        return "must not point at this machine (a loopback address)"
    if literal is not None:
        kind = address_problem(literal, allow_loopback=allow_loopback)
        if kind is not None:
            return f"must not point at {kind}; webhooks go only to public addresses"
    if parts.scheme == "http" and not loopback:
        return ("must use https:// (plain http only to this machine, where "
                "GOVSHARE_OUTBOX_ALLOW_LOOPBACK allows it)")
    return None


def clip(text: str | None, limit: int = ERROR_LIMIT) -> str | None:
    if text is None:
        return None
    return text if len(text) <= limit else text[: limit - 1] + "…"
