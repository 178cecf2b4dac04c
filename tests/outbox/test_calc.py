"""Pure delivery rules: backoff bounds, what each answer means, dead letters, Standard
Webhooks signatures and secrets, which destinations are allowed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import random
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

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
    # a late 2xx of an earlier attempt is recorded as delivered (it was), whatever came since
    assert calc.can_transition("pending", "delivered") and calc.can_transition("dead", "delivered")
    assert not calc.can_transition("pending", "pending")


# ------------------------------------------------------------------------------ signatures

SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
BODY = b'{"event":"birth","id":"tellusonce:TU-AAAA-BBBB:1"}'
KEY = "tellusonce:TU-AAAA-BBBB:1"


def test_headers_are_standard_webhooks_and_verify_with_its_library() -> None:
    at = datetime.now(UTC)
    headers = calc.webhook_headers(SECRET, KEY, BODY, at)
    assert set(headers) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert headers["webhook-id"] == KEY and headers["webhook-timestamp"] == str(int(
        at.timestamp()))
    # the standard's scheme, computed here by hand: v1,base64(HMAC-SHA256 of id.ts.body)
    signed = f"{KEY}.{int(at.timestamp())}.".encode() + BODY
    digest = hmac.new(b"k" * 32, signed, hashlib.sha256).digest()
    assert headers["webhook-signature"] == "v1," + base64.b64encode(digest).decode()
    # ... and what a receiving agency does with the ready library
    assert Webhook(SECRET).verify(BODY, headers) == json.loads(BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(calc.new_signing_secret()).verify(BODY, headers)


def test_new_secrets_are_whsec_base64_and_odd_ones_are_refused() -> None:
    made = {calc.new_signing_secret() for _ in range(20)}
    assert len(made) == 20
    for secret in made:
        calc.check_signing_secret(secret)
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret[6:], validate=True)) == calc.SECRET_BYTES
    for bad, reason in [
        ("whsec_test-secret", "not base64"),  # the old urlsafe form: the library misreads it
        ("whsec_" + base64.b64encode(b"x" * 16).decode(), "16 bytes"),
        ("whsec_" + base64.b64encode(b"x" * 65).decode(), "65 bytes"),
        (base64.b64encode(b"x" * 32).decode(), "does not start with whsec_"),
    ]:
        with pytest.raises(ValueError, match=reason):
            calc.check_signing_secret(bad)


@pytest.mark.parametrize("key", ["a.b", "", "x" * 201, "key with space", "tellus\nonce"])
def test_a_webhook_id_cannot_be_ambiguous_when_signed(key: str) -> None:
    with pytest.raises(ValueError, match="webhook-id"):
        calc.check_webhook_id(key)


def test_idempotency_keys_of_producers_are_valid_webhook_ids() -> None:
    calc.check_webhook_id(KEY)


# ------------------------------------------------------------------------------ destinations


@pytest.mark.parametrize(("address", "problem"), [
    ("127.0.0.1", "loopback"), ("127.8.9.10", "loopback"), ("::1", "loopback"),
    ("::ffff:127.0.0.1", "loopback"),  # an IPv4-mapped IPv6 address
    ("10.1.2.3", "private"), ("172.16.0.9", "private"), ("192.168.1.1", "private"),
    ("fd12:3456::1", "private"), ("64:ff9b::a00:1", "private"),  # 10.0.0.1 through NAT64
    ("169.254.169.254", "link-local"), ("fe80::1", "link-local"),
    ("224.0.0.1", "multicast"), ("239.255.0.1", "multicast"), ("ff02::1", "multicast"),
    ("0.0.0.0", "unspecified"), ("::", "unspecified"),
    ("240.0.0.1", "reserved"), ("255.255.255.255", "reserved"),
    ("100.64.0.1", "non-public"),  # carrier-grade NAT
    ("8.8.8.8", None), ("2606:4700:4700::1111", None),
])
def test_webhooks_go_only_to_public_addresses(address: str, problem: str | None) -> None:
    found = calc.address_problem(ipaddress.ip_address(address), allow_loopback=False)
    assert (found is None) if problem is None else (problem in (found or ""))


def test_loopback_only_where_allowed_and_nothing_else_with_it() -> None:
    for address in ("127.0.0.1", "::1", "::ffff:127.0.0.1"):
        assert calc.address_problem(ipaddress.ip_address(address), allow_loopback=True) is None
    for address in ("10.0.0.1", "169.254.169.254", "0.0.0.0"):  # 0.0.0.0 reaches this host
        assert calc.address_problem(ipaddress.ip_address(address), allow_loopback=True)


@pytest.mark.parametrize(("url", "strict", "loopback_allowed"), [
    ("https://hooks.example.org/life-events", None, None),
    ("https://hooks.example.org:8443/x?q=1", None, None),
    ("http://hooks.example.org/x", "must use https://", "must use https://"),
    ("http://127.0.0.1:5432/", "loopback", None),
    ("http://localhost:8099/hooks/a", "loopback", None),
    ("https://LOCALHOST./x", "loopback", None),
    ("https://db.localhost/x", "loopback", None),
    ("https://[::1]:8099/x", "loopback", None),
    ("https://169.254.169.254/latest/meta-data/", "link-local", "link-local"),
    ("https://10.0.0.7/hook", "private", "private"),
    ("https://[ff02::1]/hook", "multicast", "multicast"),
    ("http://10.0.0.7/hook", "private", "private"),
    ("https://user:pw@hooks.example.org/", "user name or password", "user name"),
    ("https://hooks.example.org/#frag", "#fragment", "#fragment"),
    ("ftp://hooks.example.org/", "https://", "https://"),
    ("https://hooks.example.org:port/", "https://", "https://"),
    ("not a url", "https://", "https://"),
    ("https:///nohost", "https://", "https://"),
])
def test_url_problems(url: str, strict: str | None, loopback_allowed: str | None) -> None:
    for allow, expected in ((False, strict), (True, loopback_allowed)):
        found = calc.url_problem(url, allow_loopback=allow)
        assert (found is None) if expected is None else (expected in (found or "")), (
            url, allow, found)


def test_a_refused_destination_is_dead_at_once() -> None:
    verdict, reason = calc.classify(None, refused="x.example resolves to a private address")
    assert verdict is calc.Verdict.dead
    assert reason.startswith("not sent: x.example resolves to a private address")


def test_clip() -> None:
    assert calc.clip(None) is None
    assert calc.clip("x" * 5, 10) == "xxxxx"
    assert calc.clip("x" * 20, 10) == "x" * 9 + "…"
    assert timedelta(seconds=calc.min_span(1, 30, 3600)) == timedelta(0)
