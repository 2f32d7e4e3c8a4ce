"""``manage.py api_token create USER [--name N]``, ``list USER``, ``revoke PREFIX``.

``create`` prints the token once; only its hash is stored, so it cannot be shown again.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from lifecycle_dash.web.models import ApiToken


class Command(BaseCommand):
    help = "Create, list or revoke API tokens (Authorization: Bearer <token>)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a token for USER and print it once")
        create.add_argument("username")
        create.add_argument("--name", default="", help="a label to tell tokens apart")
        listing = sub.add_parser("list", help="list USER's tokens (prefixes only)")
        listing.add_argument("username")
        revoke = sub.add_parser("revoke", help="revoke the token with this prefix")
        revoke.add_argument("prefix")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "revoke":
            count = ApiToken.objects.filter(
                prefix=options["prefix"], revoked_at__isnull=True
            ).update(revoked_at=timezone.now())
            if count == 0:
                raise CommandError(f"no active token with prefix {options['prefix']!r}")
            self.stdout.write(f"revoked {count} token(s)")
            return
        user_model = get_user_model()
        try:
            user = user_model.objects.get(**{user_model.USERNAME_FIELD: options["username"]})
        except user_model.DoesNotExist:
            raise CommandError(f"no user {options['username']!r}") from None
        if action == "create":
            _, token = ApiToken.issue(user=user, name=options["name"])
            # Only the token on stdout, so `TOKEN=$(manage.py api_token create sre)` works.
            self.stdout.write(token)
            self.stderr.write("Store it now: only its hash is kept, it cannot be shown again.")
            return
        for row in ApiToken.objects.filter(user=user):
            state = "revoked" if row.revoked_at else "active"
            used = row.last_used_at.isoformat() if row.last_used_at else "never"
            self.stdout.write(f"{row.prefix}…  {state}  {row.name or '-'}  last used {used}")
