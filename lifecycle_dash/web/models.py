"""Web-side storage: API tokens (only a hash of each token is kept)."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models

# "ld_" + 40 url-safe characters; the prefix makes a leaked token recognisable in logs/scans.
TOKEN_PREFIX = "ld_"


def hash_token(token: str) -> str:
    # A random 240-bit token needs no slow hash or salt: brute force is hopeless anyway.
    return hashlib.sha256(token.encode()).hexdigest()


class ApiToken(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, blank=True, default="")
    # The first characters, so a user can tell tokens apart without the secret.
    prefix = models.CharField(max_length=12)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @classmethod
    def issue(cls, *, user: models.Model, name: str = "") -> tuple[ApiToken, str]:
        """A new token row and the token itself, which is never stored and shown only once."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(30)
        row = cls.objects.create(
            user=user, name=name, prefix=token[:10], token_hash=hash_token(token)
        )
        return row, token


# Re-exported so Django finds the review model in this app's models module.
from lifecycle_dash.web.models_review import Incident as Incident  # noqa: E402
