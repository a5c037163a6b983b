"""Webhook signing secrets: Standard Webhooks' `whsec_` + base64 of 32 random bytes, shown
to the subscriber once and kept encrypted (AES-GCM) in the database, since signing needs
the secret itself: a hash could not sign."""

import base64
import hashlib
import hmac
import os
import secrets

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from c2r_common.notifications.settings import NotifyingSettings

SECRET_PREFIX = "whsec_"
_VERSION = "v1:"
_NONCE_BYTES = 12


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _key(settings: NotifyingSettings) -> bytes:
    material = settings.notify_key_material
    # Derived, so that the key is never the token-signing key itself.
    return hmac.new(material, b"c2r webhook secrets", hashlib.sha256).digest()


def seal(secret: str, settings: NotifyingSettings) -> str:
    nonce = os.urandom(_NONCE_BYTES)
    sealed = AESGCM(_key(settings)).encrypt(nonce, secret.encode(), None)
    return _VERSION + base64.b64encode(nonce + sealed).decode()


def unseal(stored: str, settings: NotifyingSettings) -> str:
    raw = base64.b64decode(stored.removeprefix(_VERSION))
    nonce, sealed = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:]
    return AESGCM(_key(settings)).decrypt(nonce, sealed, None).decode()
