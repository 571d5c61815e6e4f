"""Standard Webhooks signing secrets: made, sealed at rest, used to sign.

A secret is ``whsec_`` + base64 of 32 random bytes (the spec asks for 24 to 64). It is
stored sealed with Fernet under a key derived from ``SECRET_KEY`` (``SECRET_KEY_FALLBACKS``
still open older rows, so the Django key can be rotated the usual way). The signature of
a message is ``v1,`` + base64 HMAC-SHA256 of ``{webhook-id}.{webhook-timestamp}.{body}``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings
from django.utils.crypto import salted_hmac

PREFIX = "whsec_"
SECRET_BYTES = 32
_SALT = "genpipe.webhooks.signing-secret-at-rest"


def secret_generate() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def _fernet() -> MultiFernet:
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return MultiFernet(
        [
            Fernet(
                base64.urlsafe_b64encode(
                    salted_hmac(_SALT, "", secret=key, algorithm="sha256").digest()
                )
            )
            for key in keys
        ]
    )


def secret_seal(secret: str) -> str:
    return _fernet().encrypt(secret.encode("ascii")).decode("ascii")


def secret_open(sealed: str) -> str:
    return _fernet().decrypt(sealed.encode("ascii")).decode("ascii")


def signature(secret: str, *, webhook_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(PREFIX))
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signature_header(
    secrets_: Iterable[str], *, webhook_id: str, timestamp: int, body: bytes
) -> str:
    """The ``webhook-signature`` value: one ``v1,…`` per secret, space-separated."""
    return " ".join(
        signature(s, webhook_id=webhook_id, timestamp=timestamp, body=body) for s in secrets_
    )
