"""Encryption at rest for personal data and stored secrets (Fernet, keys derived by HKDF).

Each purpose gets its own key, derived from the app's secret key with HKDF-SHA256 (RFC 5869)
and the purpose as ``info``: a key that opens tell-us-once reports does not open webhook
signing secrets, and none of them is the key that signs CSRF tokens. Fernet (AES-128-CBC +
HMAC-SHA256, with a timestamp) authenticates as well as encrypts, so a tampered or foreign
value fails to open instead of decrypting to garbage.

Invariants:
- Only the sealed token is stored; the plaintext never reaches the database or the audit log.
- Changing ``GOVSHARE_SECRET_KEY`` makes existing sealed values unreadable. Rotate it only
  after the retention period has purged what it protected, or re-seal first.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from govshare.core.errors import GovshareError

SALT = b"govshare-at-rest-v1"

# The purposes in use; one key each.
OUTBOX_PAYLOAD = "outbox-payload-v1"
WEBHOOK_SECRET = "webhook-signing-secret-v1"  # noqa: S105 - a label, not a secret
PERSONAL_DATA = "tell-us-once-personal-data-v1"


class SealedValueUnreadable(GovshareError):
    status = 500
    code = "sealed-value-unreadable"
    title = "A stored encrypted value cannot be opened"


def derive_key(secret_key: str, purpose: str) -> bytes:
    """32 bytes for ``purpose``, from the app's secret key (HKDF-SHA256)."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=SALT, info=purpose.encode())
    return hkdf.derive(secret_key.encode())


class Sealer:
    """Seals and opens text under one purpose's key."""

    def __init__(self, secret_key: str, purpose: str) -> None:
        self.purpose = purpose
        self._fernet = Fernet(base64.urlsafe_b64encode(derive_key(secret_key, purpose)))

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode("ascii")

    def open(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode()
        except (InvalidToken, ValueError) as exc:
            raise SealedValueUnreadable(
                f"A value sealed for {self.purpose} cannot be opened: it was sealed under "
                "another secret key, or altered") from exc


@lru_cache(maxsize=32)
def sealer(secret_key: str, purpose: str) -> Sealer:
    """The (cached) sealer for a purpose; HKDF runs once per key and purpose."""
    return Sealer(secret_key, purpose)
