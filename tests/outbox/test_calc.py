"""Pure delivery rules: backoff bounds, what each answer means, dead letters, signatures."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from govshare.outbox import calc

POLICY = calc.RetryPolicy()  # the defaults: 10 attempts, 24 h, 30 s base, 1 h cap


def test_backoff_doubles_up_to_the_cap_and_stays_in_the_upper_half_window() -> None:
    assert [calc.backoff_window(n, 30, 3600) for n in (1, 2, 3, 7, 8, 9, 50, 10_000)] == [
        30, 60, 120, 1920, 3600, 3600, 3600, 3600]
    rng = random.Random(7)
    for n in range(1, 40):
        window = calc.backoff_window(n, 30, 3600)
        for _ in range(50):
            delay = calc.backoff_delay(n, 30, 3600, rng.random)
            assert window / 2 <= delay <= window
    assert calc.backoff_delay(1, 30, 3600, lambda: 0.0) == 15
    assert calc.backoff_delay(1, 30, 3600, lambda: 1.0) == 30


def test_ten_attempts_outlast_a_one_hour_outage() -> None:
    """The promise behind the defaults: an agency down for an hour loses nothing."""
    assert calc.min_span(POLICY.max_attempts, POLICY.base_seconds, POLICY.cap_seconds) > 3600
    rng = random.Random(1)
    for _ in range(2000):  # and by simulation, whatever the jitter draws
        waited = 0.0
        for attempt in range(1, POLICY.max_attempts):
            state = calc.next_state(calc.Verdict.retry, attempts=attempt, age_seconds=waited,
                                    policy=POLICY, reason="down", rand=rng.random)
            assert state.status == "pending"
            waited += state.delay_seconds or 0
        assert waited > 3600


@pytest.mark.parametrize(("code", "verdict"), [
    (200, "delivered"), (202, "delivered"), (204, "delivered"),
    (None, "retry"), (500, "retry"), (502, "retry"), (503, "retry"), (504, "retry"),
    (408, "retry"), (409, "retry"), (429, "retry"),
    (400, "dead"), (401, "dead"), (403, "dead"), (404, "dead"), (410, "dead"), (413, "dead"),
    (422, "dead"), (301, "dead"), (307, "dead"),
])
def test_classify(code: int | None, verdict: str) -> None:
    assert calc.classify(code)[0].value == verdict


def test_dead_after_max_attempts_or_max_age() -> None:
    retry = calc.Verdict.retry
    assert calc.next_state(retry, attempts=9, age_seconds=100, policy=POLICY,
                           reason="x").status == "pending"
    last = calc.next_state(retry, attempts=10, age_seconds=100, policy=POLICY, reason="HTTP 503")
    assert last.status == "dead" and "after 10 attempts" in last.reason
    old = calc.next_state(retry, attempts=2, age_seconds=24 * 3600, policy=POLICY, reason="x")
    assert old.status == "dead" and "24 hours" in old.reason
    refused = calc.next_state(calc.Verdict.dead, attempts=1, age_seconds=0, policy=POLICY,
                              reason="HTTP 400")
    assert refused.status == "dead" and refused.delay_seconds is None


def test_retry_after_is_honoured_up_to_the_cap() -> None:
    now = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    assert calc.retry_after_seconds("120", now) == 120
    assert calc.retry_after_seconds("Sun, 29 Nov 2026 12:05:00 GMT", now) == 300
    assert calc.retry_after_seconds("soon", now) is None
    assert calc.retry_after_seconds(None, now) is None
    state = calc.next_state(calc.Verdict.retry, attempts=1, age_seconds=0, policy=POLICY,
                            reason="429", retry_after=600, rand=lambda: 0.0)
    assert state.delay_seconds == 600
    capped = calc.next_state(calc.Verdict.retry, attempts=1, age_seconds=0, policy=POLICY,
                             reason="429", retry_after=99_999)
    assert capped.delay_seconds == POLICY.cap_seconds


def test_transitions() -> None:
    assert calc.can_transition("dead", "pending")
    assert not calc.can_transition("delivered", "pending")
    assert not calc.can_transition("pending", "delivered")  # only by an attempt in flight


# ------------------------------------------------------------------------------ signatures

SECRET = "whsec_test-secret"
BODY = b'{"event":"birth","id":"tellusonce:TU-AAAA-BBBB:1"}'
NOW = 1_800_000_000


def test_signature_round_trip_and_header_format() -> None:
    header = calc.signature_header(SECRET, NOW, BODY)
    assert header.startswith(f"t={NOW},v1=")
    assert len(header.split("v1=")[1]) == 64
    assert calc.verify([SECRET], header, BODY, now=NOW + 10) == NOW
    # a receiver keeping the old secret during a rotation accepts either
    assert calc.verify(["old-secret", SECRET], header, BODY, now=NOW) == NOW


@pytest.mark.parametrize(("header", "body", "now", "message"), [
    (None, BODY, NOW, "no X-Govshare-Signature"),
    ("v1=abc", BODY, NOW, "no timestamp"),
    (f"t={NOW}", BODY, NOW, "no v1 signature"),
    ("t=soon,v1=abc", BODY, NOW, "not a number"),
    (calc.signature_header(SECRET, NOW, BODY), BODY.replace(b"birth", b"death"), NOW,
     "does not match"),
    (calc.signature_header("another-secret", NOW, BODY), BODY, NOW, "does not match"),
    (calc.signature_header(SECRET, NOW, BODY), BODY, NOW + 301, "replayed or delayed"),
    (calc.signature_header(SECRET, NOW, BODY), BODY, NOW - 301, "replayed or delayed"),
    # the timestamp is signed: moving it forward to pass the tolerance breaks the signature
    (calc.signature_header(SECRET, NOW, BODY).replace(f"t={NOW}", f"t={NOW + 400}"), BODY,
     NOW + 400, "does not match"),
])
def test_tampered_stale_or_missing_signatures_are_refused(
        header: str | None, body: bytes, now: int, message: str) -> None:
    with pytest.raises(calc.SignatureError, match=message):
        calc.verify([SECRET], header, body, now=now)


def test_clip() -> None:
    assert calc.clip(None) is None
    assert calc.clip("x" * 5, 10) == "xxxxx"
    assert calc.clip("x" * 20, 10) == "x" * 9 + "…"
    assert timedelta(seconds=calc.min_span(1, 30, 3600)) == timedelta(0)
