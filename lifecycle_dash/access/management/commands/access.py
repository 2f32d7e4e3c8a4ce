"""``manage.py access grant|list|revoke``: who sees which namespaces.

    access grant (--user NAME | --group NAME) [--cluster NAME] --namespaces 'team-a-*,shared'
    access list
    access revoke ID [ID ...]

Without ``--cluster`` the grant covers every cluster, including clusters added later.
Superusers see everything and need no grant.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lifecycle_dash.access.models import AccessGrant
from lifecycle_dash.access.services import GrantError, grant_create, grant_revoke


class Command(BaseCommand):
    help = "Grant, list or revoke users' and groups' access to clusters and namespaces."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        grant = actions.add_parser("grant", help="let a user or group see namespaces")
        who = grant.add_mutually_exclusive_group(required=True)
        who.add_argument("--user", default="")
        who.add_argument("--group", default="")
        grant.add_argument("--cluster", default="", help="default: every cluster")
        grant.add_argument(
            "--namespaces", required=True, help="comma-separated names or globs (team-a-*)"
        )
        grant.add_argument("--note", default="")
        actions.add_parser("list", help="list every grant")
        revoke = actions.add_parser("revoke", help="delete grants by id (see list)")
        revoke.add_argument("ids", nargs="+", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "grant":
            patterns = [p.strip() for p in options["namespaces"].split(",") if p.strip()]
            try:
                grants = grant_create(
                    username=options["user"],
                    group=options["group"],
                    cluster=options["cluster"],
                    patterns=patterns,
                    note=options["note"],
                )
            except GrantError as error:
                raise CommandError(str(error)) from None
            for grant in grants:
                self.stdout.write(f"{grant.pk}\t{grant}")
        elif action == "list":
            rows = AccessGrant.objects.select_related("user", "group", "cluster").order_by("pk")
            for grant in rows:
                self.stdout.write(f"{grant.pk}\t{grant}")
        else:
            deleted = grant_revoke(ids=options["ids"])
            self.stdout.write(f"revoked {deleted} grant(s)")
