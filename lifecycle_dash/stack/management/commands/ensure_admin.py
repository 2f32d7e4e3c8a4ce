"""Create the first administrator, once, so a fresh `make run` can be signed into."""

from __future__ import annotations

import os
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the admin user from DASH_ADMIN_PASSWORD (or a generated password) if missing."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--username", default=os.environ.get("DASH_ADMIN_USER", "admin"))

    def handle(self, *args: Any, **options: Any) -> None:
        username: str = options["username"]
        user_model = get_user_model()
        if user_model.objects.filter(username=username).exists():
            self.stdout.write(f"admin login: {username} (exists; password unchanged)")
            return
        password = os.environ.get("DASH_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        user_model.objects.create_superuser(username=username, email="", password=password)
        if os.environ.get("DASH_ADMIN_PASSWORD"):
            self.stdout.write(f"admin login: {username} (password from DASH_ADMIN_PASSWORD)")
        else:
            # Printed exactly once: only the hash is stored.
            self.stdout.write(f"admin login: {username} / {password}  (generated; shown only now)")
