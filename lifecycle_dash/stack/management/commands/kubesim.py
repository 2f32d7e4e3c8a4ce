"""`manage.py kubesim ...`: the built-in cluster simulator, same flags as `python -m`."""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the built-in Kubernetes API simulator (see python -m lifecycle_dash.kubesim -h)."

    def run_from_argv(self, argv: list[str]) -> None:
        # The simulator owns its argument parsing; Django's parser would reject its flags.
        from lifecycle_dash.kubesim.cli import main

        sys.exit(main(argv[2:]))

    def handle(self, *args: str, **options: object) -> None:
        from lifecycle_dash.kubesim.cli import main

        sys.exit(main(list(args)))
