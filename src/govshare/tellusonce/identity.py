"""A resident's identity from an OpenID Connect provider (issue 9 §5, ADR 19).

A report of a life event reaches agencies only once its reporter's identity is assured. One
way is a configured identity provider (Login.gov-style) at a stated assurance level: the
authorization-code flow with PKCE (S256), ``state`` and ``nonce`` (authlib builds the
request), and the ID token checked here (signature against the provider's published keys with
joserfc, authlib's JOSE library; then ``iss``, ``aud``/``azp``, ``exp``, ``iat``, ``nonce``,
``sub`` and ``acr``).

Invariants:
- Off unless ``GOVSHARE_OIDC_ISSUER`` is set. The provider's discovery document must name the
  configured issuer exactly, and its authorization endpoint must be on the issuer's origin:
  that origin is the only one the pages' CSP lets a form lead to.
- The flow's secrets (state, nonce, PKCE verifier) and, after the callback, the verified
  identity (issuer, subject, acr, name and e-mail if given) live only in sealed cookies
  (Fernet under their own HKDF purposes: encrypted and authenticated, HttpOnly,
  SameSite=Lax), each with its own expiry inside the sealed value. Tokens are never stored,
  logged or audited; the audit log gets the issuer, the acr and a digest of the subject.
- The site proves itself at the token endpoint by a client secret (HTTP Basic), by a
  private_key_jwt assertion signed with its own key (RFC 7523; Login.gov's way for web
  sites), or, as a public client, by PKCE alone.
- "Do not use my verified identity" forgets it here and, when the provider publishes an
  ``end_session_endpoint``, signs the resident out there too (RP-Initiated Logout 1.0).
- Only an identity at the required level (``oidc_acr`` or one of ``oidc_acr_also_accepted``)
  is kept: anything else is refused with a reason the resident can read, and their report
  waits for staff, as without a provider.
"""

from __future__ import annotations

import hmac
import json
import os
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, RSAKey, import_key

from govshare.core import crypto
from govshare.core.errors import GovshareError
from govshare.core.security import token_digest
from govshare.core.settings import Settings

FLOW_COOKIE = "govshare_oidc_flow"
IDENTITY_COOKIE = "govshare_identity"
FLOW_PATH = "/tell-us-once/identity"
IDENTITY_PATH = "/tell-us-once"
CALLBACK_PATH = "/tell-us-once/identity/callback"
FLOW_SECONDS = 600  # the resident has ten minutes at the provider
LEEWAY_SECONDS = 60  # clock skew allowed on exp and iat
ALGORITHMS = ("RS256", "PS256", "ES256")  # asymmetric only: never "none" or an HMAC
CACHE_SECONDS = 600.0
FLOW_PURPOSE = "oidc-flow-v1"
IDENTITY_PURPOSE = "oidc-identity-v1"


class IdentityRefused(GovshareError):
    """The identity provider's answer cannot be trusted; ``detail`` says why, plainly."""

    status = 400
    code = "identity-refused"
    title = "Your identity could not be verified"


class ProviderUnavailable(GovshareError):
    status = 502
    code = "identity-provider-unavailable"
    title = "The identity provider did not answer"


@dataclass(frozen=True)
class Provider:
    """The configured identity provider."""

    issuer: str
    name: str
    client_id: str
    client_secret: str | None
    acr: str
    accepted_acr: frozenset[str]
    scopes: str
    timeout: float
    identity_seconds: int
    redirect_uri: str | None
    client_key_file: str | None = None  # private_key_jwt (RFC 7523), instead of a secret
    client_key_id: str | None = None
    post_logout_redirect_uri: str | None = None


def provider_from(settings: Settings) -> Provider | None:
    """The provider the settings configure, or None (then every report waits for staff)."""
    if not settings.oidc_issuer or not settings.oidc_origin or not settings.oidc_client_id:
        return None
    scopes = settings.oidc_scopes.split()
    if "openid" not in scopes:
        scopes.insert(0, "openid")
    return Provider(issuer=settings.oidc_issuer, name=settings.oidc_provider_name,
                    client_id=settings.oidc_client_id,
                    client_secret=settings.oidc_client_secret or None, acr=settings.oidc_acr,
                    accepted_acr=settings.oidc_accepted_acr, scopes=" ".join(scopes),
                    timeout=settings.oidc_timeout_seconds,
                    identity_seconds=settings.oidc_identity_minutes * 60,
                    redirect_uri=settings.oidc_redirect_uri,
                    client_key_file=(str(settings.oidc_client_private_key_file)
                                     if settings.oidc_client_private_key_file else None),
                    client_key_id=settings.oidc_client_key_id,
                    post_logout_redirect_uri=settings.oidc_post_logout_redirect_uri)


@dataclass(frozen=True)
class Identity:
    """A resident's identity as the provider vouched for it, at an accepted level."""

    issuer: str
    subject: str
    acr: str
    name: str
    email: str
    verified_at: int  # Unix seconds

    def audit_record(self) -> dict[str, Any]:
        """What the audit log keeps: no tokens, no name, the subject only as a digest."""
        return {"issuer": self.issuer, "acr": self.acr,
                "subject_digest": token_digest(f"{self.issuer} {self.subject}")[:16]}

    def report_record(self) -> dict[str, str]:
        """What the report keeps (sealed, beside staff's evidence): who vouched, for whom."""
        return {"issuer": self.issuer, "subject": self.subject, "acr": self.acr,
                "name": self.name, "email": self.email}


# ------------------------------------------------------------------------------ the provider

_cache: dict[str, tuple[float, dict[str, Any], KeySet]] = {}
_cache_lock = threading.Lock()


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _get_json(url: str, timeout: float) -> dict[str, Any]:
    try:
        r = httpx.get(url, timeout=timeout, follow_redirects=False,
                      headers={"Accept": "application/json"})
        r.raise_for_status()
        data = r.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise ProviderUnavailable(f"{url} did not answer as expected ({type(exc).__name__})."
                                  ) from exc
    if not isinstance(data, dict):
        raise ProviderUnavailable(f"{url} did not answer with a JSON object.")
    return data


def discover(provider: Provider, *, refresh: bool = False) -> tuple[dict[str, Any], KeySet]:
    """The provider's discovery document and published keys (kept ten minutes)."""
    with _cache_lock:
        hit = _cache.get(provider.issuer)
    if hit is not None and not refresh and time.monotonic() - hit[0] < CACHE_SECONDS:
        return hit[1], hit[2]
    meta = _get_json(provider.issuer.rstrip("/") + "/.well-known/openid-configuration",
                     provider.timeout)
    if meta.get("issuer") != provider.issuer:
        raise ProviderUnavailable("The identity provider's discovery document names another "
                                  f"issuer ({str(meta.get('issuer'))[:200]!r}).")
    origin = _origin(provider.issuer)
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        value = meta.get(key)
        if not isinstance(value, str) or _origin(value) != origin:
            raise ProviderUnavailable(f"The identity provider's {key} is missing or not on "
                                      f"{origin}, the origin configured.")
    try:
        keys = KeySet.import_key_set(_get_json(meta["jwks_uri"], provider.timeout))  # type: ignore[arg-type]
    except (JoseError, ValueError, KeyError, TypeError) as exc:
        raise ProviderUnavailable("The identity provider's published keys cannot be read."
                                  ) from exc
    with _cache_lock:
        _cache[provider.issuer] = (time.monotonic(), meta, keys)
    return meta, keys


def forget_discovery() -> None:
    """Drop the cached discovery documents and keys (tests; a provider's key rotation)."""
    with _cache_lock:
        _cache.clear()


# ------------------------------------------------------------------------------ the flow


def start(provider: Provider, *, event: str, redirect_uri: str,
          now: float | None = None) -> tuple[str, dict[str, Any]]:
    """The provider's authorization URL to send the resident to, and the flow to keep (sealed,
    in a cookie) until they come back."""
    meta, _ = discover(provider)
    state, nonce, verifier = generate_token(32), generate_token(32), generate_token(64)
    url = prepare_grant_uri(
        meta["authorization_endpoint"], provider.client_id, "code", redirect_uri,
        scope=provider.scopes, state=state, nonce=nonce, acr_values=provider.acr,
        code_challenge=create_s256_code_challenge(verifier), code_challenge_method="S256",
        prompt="select_account")
    flow = {"state": state, "nonce": nonce, "verifier": verifier, "event": event,
            "issuer": provider.issuer, "redirect_uri": redirect_uri,
            "expires": int(now if now is not None else time.time()) + FLOW_SECONDS}
    return url, flow


def finish(provider: Provider, flow: dict[str, Any], *, code: str, state: str,
           now: float | None = None) -> Identity:
    """Check the callback against the flow, exchange the code (with the PKCE verifier) and
    check the ID token; the identity, or :class:`IdentityRefused` saying why not."""
    if not state or not hmac.compare_digest(str(flow.get("state", "")).encode(),
                                            state.encode()):
        raise IdentityRefused(f"The answer from {provider.name} does not belong to the sign-in "
                              "started here (its state does not match). Please start again.")
    if flow.get("issuer") != provider.issuer:
        raise IdentityRefused("The identity provider has changed since you started. Please "
                              "start again.")
    if not code:
        raise IdentityRefused(f"{provider.name} sent no authorization code.")
    meta, keys = discover(provider)
    data = {"grant_type": "authorization_code", "code": code,
            "redirect_uri": flow["redirect_uri"], "code_verifier": flow["verifier"]}
    auth: tuple[str, str] | None = None
    if provider.client_key_file:
        data["client_id"] = provider.client_id
        data["client_assertion_type"] = CLIENT_ASSERTION_TYPE
        data["client_assertion"] = client_assertion(provider, meta["token_endpoint"], now=now)
    elif provider.client_secret:
        auth = (provider.client_id, provider.client_secret)
    else:
        data["client_id"] = provider.client_id
    try:
        r = httpx.post(meta["token_endpoint"], data=data, auth=auth, timeout=provider.timeout,
                       follow_redirects=False, headers={"Accept": "application/json"})
        answer = r.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise ProviderUnavailable(f"{provider.name} did not answer the token request "
                                  f"({type(exc).__name__}).") from exc
    if r.status_code != 200 or not isinstance(answer, dict) or not isinstance(
            answer.get("id_token"), str):
        error = answer.get("error") if isinstance(answer, dict) else None
        raise IdentityRefused(f"{provider.name} refused to confirm the sign-in"
                              + (f" ({str(error)[:80]})." if error else "."))
    return check_id_token(provider, answer["id_token"], keys=keys, nonce=str(flow["nonce"]),
                          now=now)


CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_SECONDS = 300
_client_keys: dict[tuple[str, float], Any] = {}


def client_key(provider: Provider) -> Any:
    """The site's private key for private_key_jwt, read from its PEM file (again when the file
    changes: a key rotation needs no restart). A key that cannot be read is the site's fault,
    not the resident's: the provider is then unavailable, and the report waits for staff."""
    path = provider.client_key_file or ""
    try:
        stamp = os.stat(path).st_mtime
        hit = _client_keys.get((path, stamp))
        if hit is not None:
            return hit
        with open(path, "rb") as f:
            pem = f.read(64 * 1024)
        key = _private_key(pem)
    except (OSError, JoseError, ValueError, TypeError) as exc:
        raise ProviderUnavailable("This site's key for the identity provider cannot be read "
                                  f"({type(exc).__name__}); tell the site's administrators."
                                  ) from exc
    if not isinstance(key, RSAKey | ECKey) or not key.is_private:
        raise ProviderUnavailable("This site's key for the identity provider is not an RSA or "
                                  "EC private key; tell the site's administrators.")
    _client_keys.clear()
    _client_keys[(path, stamp)] = key
    return key


def _private_key(pem: bytes) -> Any:
    """An RSA or EC key from PEM, its type named (never guessed: a guess can take any bytes
    as a symmetric key)."""
    if b"EC PRIVATE KEY" in pem:
        return import_key(pem, "EC")
    try:
        return import_key(pem, "RSA")
    except (JoseError, ValueError, TypeError):
        return import_key(pem, "EC")  # a PKCS#8 "PRIVATE KEY" may hold either


def client_assertion(provider: Provider, token_endpoint: str, *,
                     now: float | None = None) -> str:
    """A signed JWT proving this site is the client (RFC 7523 §2.2, OpenID Connect Core
    §9 private_key_jwt): issued by and about the client id, for the token endpoint, used once
    (jti) and valid for five minutes."""
    key = client_key(provider)
    t = int(now if now is not None else time.time())
    header = {"alg": "RS256" if isinstance(key, RSAKey) else "ES256"}
    if provider.client_key_id:
        header["kid"] = provider.client_key_id
    return jwt.encode(header, {"iss": provider.client_id, "sub": provider.client_id,
                               "aud": token_endpoint, "jti": generate_token(32), "iat": t,
                               "exp": t + ASSERTION_SECONDS}, key)


def logout_url(provider: Provider, *, post_logout_redirect_uri: str) -> str | None:
    """Where to send the resident to be signed out at the provider too (OpenID Connect
    RP-Initiated Logout 1.0: its ``end_session_endpoint``, with our client id and where to
    come back), or None when the provider publishes none. No ID token is kept here, so none
    is sent as a hint; the provider may ask the resident to confirm."""
    meta, _ = discover(provider)
    end = meta.get("end_session_endpoint")
    if not isinstance(end, str) or _origin(end) != _origin(provider.issuer):
        return None
    query = urlencode({"client_id": provider.client_id, "state": generate_token(32),
                       "post_logout_redirect_uri": post_logout_redirect_uri})
    return end + ("&" if urlsplit(end).query else "?") + query


def check_id_token(provider: Provider, id_token: str, *, keys: KeySet, nonce: str,
                   now: float | None = None) -> Identity:
    """The identity in a signed ID token, once every check has passed."""
    name = provider.name
    try:
        token = jwt.decode(id_token, keys, algorithms=list(ALGORITHMS))
    except (JoseError, ValueError, KeyError, TypeError) as exc:
        raise IdentityRefused(f"The identity token's signature does not match {name}'s "
                              "published keys.") from exc
    claims = token.claims
    t = int(now if now is not None else time.time())
    if claims.get("iss") != provider.issuer:
        raise IdentityRefused(f"The identity token was issued by {str(claims.get('iss'))[:100]}"
                              f", not by {provider.issuer}, the provider configured here.")
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if provider.client_id not in audiences or (
            len(audiences) > 1 and claims.get("azp") != provider.client_id):
        raise IdentityRefused("The identity token was issued for another site (its audience "
                              "is not this site's client id).")
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int | float) or exp + LEEWAY_SECONDS < t:
        raise IdentityRefused(f"The identity token from {name} has expired. Please verify "
                              "your identity again.")
    if not isinstance(iat, int | float) or iat - LEEWAY_SECONDS > t:
        raise IdentityRefused(f"The identity token from {name} is dated in the future.")
    if not hmac.compare_digest(str(claims.get("nonce", "")).encode(), nonce.encode()):
        raise IdentityRefused("The identity token was not issued for this sign-in (its nonce "
                              "does not match). Please start again.")
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject or len(subject) > 255:
        raise IdentityRefused("The identity token names no one (no subject).")
    acr = str(claims.get("acr") or "")
    if acr not in provider.accepted_acr:
        raise IdentityRefused(f"{name} verified your identity at another level "
                              f"({acr[:120] or 'none stated'}) than the one reports sent "
                              f"straight to agencies need ({provider.acr}).")
    full_name = " ".join(str(claims.get(k) or "") for k in ("given_name", "family_name")
                         ).strip() or str(claims.get("name") or "")
    email = str(claims.get("email") or "") if claims.get("email_verified", True) else ""
    return Identity(issuer=provider.issuer, subject=subject, acr=acr, name=full_name[:200],
                    email=email[:200], verified_at=t)


# ------------------------------------------------------------------------------ cookies


def seal(secret_key: str, purpose: str, value: dict[str, Any]) -> str:
    return crypto.Sealer(secret_key, purpose).seal(json.dumps(value, sort_keys=True))


def open_sealed(secret_key: str, purpose: str, value: str | None,
                now: float | None = None) -> dict[str, Any] | None:
    """A sealed cookie's value, or None when absent, tampered with, foreign or expired."""
    if not value or len(value) > 4000:
        return None
    try:
        data = json.loads(crypto.Sealer(secret_key, purpose).open(value))
    except (crypto.SealedValueUnreadable, ValueError):
        return None
    t = now if now is not None else time.time()
    if not isinstance(data, dict) or not isinstance(data.get("expires"), int) \
            or data["expires"] < t:
        return None
    return data


def seal_identity(secret_key: str, identity: Identity, seconds: int) -> str:
    return seal(secret_key, IDENTITY_PURPOSE,
                {**asdict(identity), "expires": identity.verified_at + seconds})


def open_identity(secret_key: str, value: str | None, provider: Provider | None,
                  now: float | None = None) -> Identity | None:
    """The resident's verified identity from its cookie, if still valid, from the provider
    configured now and at a level it accepts now."""
    data = open_sealed(secret_key, IDENTITY_PURPOSE, value, now)
    if data is None or provider is None or data.get("issuer") != provider.issuer \
            or data.get("acr") not in provider.accepted_acr:
        return None
    try:
        return Identity(**{k: data[k] for k in ("issuer", "subject", "acr", "name", "email",
                                                "verified_at")})
    except (KeyError, TypeError):
        return None
