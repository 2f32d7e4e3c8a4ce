"""`manage.py simulator_cluster --kubeconfig PATH`: point the "simulator" cluster at a new run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lifecycle_dash.stack.simulator import simulator_cluster_register


class Command(BaseCommand):
    help = "Register (or re-point) the built-in simulated cluster and start watching it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--kubeconfig", type=Path, required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["kubeconfig"]
        try:
            kubeconfig = path.read_text()
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from exc
        cluster = simulator_cluster_register(kubeconfig=kubeconfig)
        from lifecycle_dash.celery import app

        # Start watching now rather than at the next beat. By name: the stack has no business
        # importing the watch machinery (and with it the Kubernetes client).
        app.send_task("lifecycle_dash.ingest.tasks.supervise_streams")
        self.stdout.write(f"watching the simulated cluster as {cluster.name!r}")
