"""Passwords, tokens and signatures.

- Passwords: argon2id (argon2-cffi defaults, RFC 9106 low-memory profile).
- Session tokens and API keys are 256-bit random strings; only their SHA-256 is stored, so a
  database leak yields nothing usable. (A fast hash is right here: the inputs are high-entropy.)
- CSRF tokens are HMAC-SHA256 of the session (or anonymous visitor) id under the secret key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()

MIN_PASSWORD_LENGTH = 12


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# A hash to verify against when the account does not exist, so that timing does not reveal
# which e-mail addresses have accounts.
DUMMY_HASH = _hasher.hash("not-a-real-password-" + secrets.token_hex(8))


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sign(secret_key: str, message: str) -> str:
    return hmac.new(secret_key.encode(), message.encode(), hashlib.sha256).hexdigest()


def signatures_match(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
