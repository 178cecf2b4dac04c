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

Signatures (Stripe's scheme): ``X-Govshare-Signature: t=<unix seconds>,v1=<hex>`` where the
hex is HMAC-SHA256 under the subscription's secret of ``"<t>." + raw body``. The timestamp is
signed, so a captured request replayed after ``tolerance`` seconds is refused; within the
tolerance the idempotency key makes the replay harmless.
"""

from __future__ import annotations

import hashlib
import hmac
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum

SIGNATURE_HEADER = "X-Govshare-Signature"
IDEMPOTENCY_HEADER = "X-Govshare-Idempotency-Key"
TOPIC_HEADER = "X-Govshare-Topic"
ATTEMPT_HEADER = "X-Govshare-Attempt"
SIGNATURE_VERSION = "v1"
DEFAULT_TOLERANCE_SECONDS = 300
ERROR_LIMIT = 1000  # characters of an error or response body kept with an attempt

STATUSES = ("pending", "in_flight", "delivered", "dead")
TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"in_flight", "dead"}),  # dead: purged or subscription withdrawn
    "in_flight": frozenset({"delivered", "pending", "dead", "in_flight"}),  # lease re-claim
    "delivered": frozenset(),
    "dead": frozenset({"pending"}),  # requeued by staff
}


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


def classify(status_code: int | None) -> tuple[Verdict, str]:
    """What an HTTP answer (``None``: no answer at all) means for the message, and why."""
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
    return to in TRANSITIONS.get(current, frozenset())


# ------------------------------------------------------------------------------ signatures


class SignatureError(ValueError):
    """A webhook's signature header is missing, malformed, stale or does not match."""


def signature(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},{SIGNATURE_VERSION}={signature(secret, timestamp, body)}"


def parse_signature_header(value: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for part in value.split(","):
        key, sep, val = part.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            try:
                timestamp = int(val)
            except ValueError:
                raise SignatureError("the signature's timestamp is not a number") from None
        elif key == SIGNATURE_VERSION:
            signatures.append(val)
    if timestamp is None:
        raise SignatureError("the signature header has no timestamp (t=...)")
    if not signatures:
        raise SignatureError(f"the signature header has no {SIGNATURE_VERSION} signature")
    return timestamp, signatures


def verify(secrets: Iterable[str], header: str | None, body: bytes, *, now: int,
           tolerance: int = DEFAULT_TOLERANCE_SECONDS) -> int:
    """Check a webhook's signature; return its timestamp or raise :class:`SignatureError`.

    Any of ``secrets`` may match (a receiver keeps the old secret during a rotation).
    """
    if not header:
        raise SignatureError(f"the request has no {SIGNATURE_HEADER} header")
    timestamp, sent = parse_signature_header(header)
    if abs(now - timestamp) > tolerance:
        raise SignatureError(f"the signature is {abs(now - timestamp)} s from now; more than "
                             f"{tolerance} s means a replayed or delayed request")
    for secret in secrets:
        expected = signature(secret, timestamp, body)
        if any(hmac.compare_digest(expected, s) for s in sent):
            return timestamp
    raise SignatureError("the signature does not match the body")


def clip(text: str | None, limit: int = ERROR_LIMIT) -> str | None:
    if text is None:
        return None
    return text if len(text) <= limit else text[: limit - 1] + "…"
