"""Cluster credentials at rest: Fernet-encrypted, keyed from ``settings.SECRET_KEY``.

A kubeconfig holds bearer tokens and client keys, so the database only ever sees the Fernet
token. The key is derived from SECRET_KEY (SHA-256, urlsafe base64), so rotating SECRET_KEY
makes stored kubeconfigs unreadable: ``decrypt`` then raises ``CredentialsUnreadable`` and the
cluster must be re-added. ``mask`` is the only way credentials are ever shown.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

__all__ = ["CredentialsUnreadable", "decrypt", "encrypt", "mask"]


class CredentialsUnreadable(Exception):
    """The stored token does not decrypt with the current SECRET_KEY."""


def _fernet() -> Fernet:
    digest = hashlib.sha256(b"lifecycle-dash credentials|" + settings.SECRET_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt(plaintext: str) -> str:
    if not plaintext:
        return ""
    return _fernet().encrypt(plaintext.encode()).decode("ascii")


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode("ascii")).decode()
    except InvalidToken as exc:
        raise CredentialsUnreadable(
            "stored credentials do not decrypt with the current SECRET_KEY; re-add the cluster"
        ) from exc


def mask(plaintext: str) -> str:
    """A description that proves something is stored without revealing any of it."""
    if not plaintext:
        return "(none)"
    fingerprint = hashlib.sha256(plaintext.encode()).hexdigest()[:8]
    return f"(kubeconfig, {len(plaintext)} bytes, sha256 {fingerprint}...)"
