"""``manage.py cluster add|list|remove``: the clusters ingest watches.

    cluster add NAME --kubeconfig PATH [--context C] [--namespaces a,b]
                     [--exclude-namespaces kube-system]
    cluster add NAME --in-cluster
    cluster add NAME --simulator --kubeconfig PATH
    cluster list
    cluster remove NAME

Credentials are read from the file, stored encrypted, and never printed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lifecycle_dash.ingest.clusters import ClusterError, cluster_add, cluster_remove
from lifecycle_dash.ingest.models import Cluster


def _names(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


class Command(BaseCommand):
    help = "Add, list or remove the Kubernetes clusters lifecycle-dash watches."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        add = actions.add_parser("add", help="watch a cluster")
        add.add_argument("name")
        source = add.add_mutually_exclusive_group()
        source.add_argument("--in-cluster", action="store_true")
        source.add_argument("--simulator", action="store_true")
        add.add_argument("--kubeconfig", type=Path)
        add.add_argument("--context", default="")
        add.add_argument("--namespaces", default="", help="comma-separated; default all")
        add.add_argument("--exclude-namespaces", default="", help="comma-separated")
        actions.add_parser("list", help="list clusters (credentials masked)")
        remove = actions.add_parser("remove", help="stop watching and delete its history")
        remove.add_argument("name")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "add":
            self._add(options)
        elif action == "list":
            self._list()
        else:
            if not cluster_remove(name=options["name"]):
                raise CommandError(f"no cluster named {options['name']!r}")
            self.stdout.write(f"removed {options['name']}")

    def _add(self, options: dict[str, Any]) -> None:
        if options["in_cluster"]:
            source = Cluster.Source.IN_CLUSTER
        elif options["simulator"]:
            source = Cluster.Source.SIMULATOR
        else:
            source = Cluster.Source.KUBECONFIG
        kubeconfig = ""
        path: Path | None = options["kubeconfig"]
        if path is not None:
            try:
                kubeconfig = path.read_text()
            except OSError as exc:
                raise CommandError(f"cannot read {path}: {exc.strerror}") from exc
        try:
            cluster = cluster_add(
                name=options["name"],
                source=source,
                kubeconfig=kubeconfig,
                context=options["context"],
                namespaces=_names(options["namespaces"]),
                exclude_namespaces=_names(options["exclude_namespaces"]),
            )
        except ClusterError as exc:
            raise CommandError(str(exc)) from exc
        except Exception as exc:  # full_clean's ValidationError: name not a slug...
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"added {cluster.name} ({cluster.get_source_display()})")

    def _list(self) -> None:
        clusters = list(Cluster.objects.order_by("name"))
        if not clusters:
            self.stdout.write("no clusters")
            return
        for cluster in clusters:
            namespaces = ",".join(cluster.namespaces) or "*"
            if cluster.exclude_namespaces:
                namespaces += " -" + ",-".join(cluster.exclude_namespaces)
            self.stdout.write(
                f"{cluster.name}\t{cluster.source}\t{cluster.context or '-'}\t{namespaces}\t"
                f"{cluster.status}\t{cluster.kubeconfig_masked}"
            )
