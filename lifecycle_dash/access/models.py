from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import models

from lifecycle_dash.access.patterns import InvalidPattern, validate_pattern
from lifecycle_dash.ingest.models import Cluster

__all__ = ["AccessGrant", "validate_namespace_pattern"]


def validate_namespace_pattern(value: str) -> None:
    try:
        validate_pattern(value)
    except InvalidPattern as error:
        raise ValidationError(str(error)) from None


class AccessGrant(models.Model):
    """A user or a group may see the pods of a cluster (or every cluster) whose namespace
    matches a pattern. Superusers see everything without a grant."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="access_grants",
    )
    group = models.ForeignKey(
        Group, null=True, blank=True, on_delete=models.CASCADE, related_name="access_grants"
    )
    # Null: every cluster, including clusters added later.
    cluster = models.ForeignKey(
        Cluster,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="access_grants",
        help_text="Empty: every cluster, including clusters added later.",
    )
    namespace_pattern = models.CharField(
        max_length=63,
        validators=[validate_namespace_pattern],
        help_text="A namespace, or a pattern with * and ?: team-a-*, *-prod, * (every namespace).",
    )
    note = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = (
            models.CheckConstraint(
                condition=models.Q(user__isnull=False, group__isnull=True)
                | models.Q(user__isnull=True, group__isnull=False),
                name="access_grant_user_xor_group",
                violation_error_message="A grant names either a user or a group.",
            ),
            models.UniqueConstraint(
                fields=["user", "group", "cluster", "namespace_pattern"],
                name="access_grant_unique",
                nulls_distinct=False,
                violation_error_message="This grant exists already.",
            ),
        )

    def __str__(self) -> str:
        who = f"user {self.user}" if self.user_id else f"group {self.group}"
        where = self.cluster.name if self.cluster_id and self.cluster else "every cluster"
        return f"{who}: {where} / {self.namespace_pattern}"
