from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from lifecycle_dash.ingest.models import Cluster, WatchStream

TOKEN = "eyJhbGciOiJSUzI1NiJ9.bearer-token-do-not-print"
KUBECONFIG = f"""apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster: {{server: "https://10.0.0.1:6443"}}
users:
- name: sre
  user: {{token: "{TOKEN}"}}
contexts:
- name: prod-admin
  context: {{cluster: prod, user: sre}}
current-context: prod-admin
"""


def run(*args: str) -> str:
    out = StringIO()
    call_command("cluster", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def kubeconfig(tmp_path: Path) -> str:
    path = tmp_path / "config"
    path.write_text(KUBECONFIG)
    return str(path)


@pytest.mark.django_db
def test_adding_a_cluster_stores_credentials_encrypted_and_creates_its_streams(kubeconfig) -> None:
    out = run(
        "add",
        "prod-eu",
        "--kubeconfig",
        kubeconfig,
        "--context",
        "prod-admin",
        "--namespaces",
        "shop, payments",
        "--exclude-namespaces",
        "kube-system",
    )
    assert "added prod-eu" in out
    cluster = Cluster.objects.get(name="prod-eu")
    assert cluster.source == Cluster.Source.KUBECONFIG
    assert (cluster.context, cluster.namespaces) == ("prod-admin", ["shop", "payments"])
    assert cluster.exclude_namespaces == ["kube-system"]
    assert TOKEN not in cluster.kubeconfig_encrypted
    assert cluster.kubeconfig == KUBECONFIG
    assert set(WatchStream.objects.filter(cluster=cluster).values_list("resource", flat=True)) == {
        "pods",
        "events",
        "endpointslices",
    }


@pytest.mark.django_db
def test_listing_never_prints_credentials(kubeconfig) -> None:
    run("add", "prod-eu", "--kubeconfig", kubeconfig)
    run("add", "sim", "--simulator", "--kubeconfig", kubeconfig)
    run("add", "inside", "--in-cluster")
    out = run("list")
    assert TOKEN not in out
    assert "kubeconfig" in out  # the masked description
    assert {line.split("\t")[0] for line in out.splitlines()} == {"inside", "prod-eu", "sim"}


@pytest.mark.django_db
def test_bad_definitions_are_refused_and_removal_deletes(kubeconfig) -> None:
    with pytest.raises(CommandError, match="needs a kubeconfig"):
        run("add", "prod-eu")
    with pytest.raises(CommandError, match="both included and excluded"):
        run(
            "add", "x", "--kubeconfig", kubeconfig, "--namespaces", "a", "--exclude-namespaces", "a"
        )
    run("add", "prod-eu", "--kubeconfig", kubeconfig)
    with pytest.raises(CommandError, match="already exists"):
        run("add", "prod-eu", "--kubeconfig", kubeconfig)
    assert "removed prod-eu" in run("remove", "prod-eu")
    assert not Cluster.objects.exists()
    with pytest.raises(CommandError, match="no cluster"):
        run("remove", "prod-eu")


@pytest.mark.django_db
def test_the_admin_never_renders_stored_credentials(admin_client, kubeconfig) -> None:
    run("add", "prod-eu", "--kubeconfig", kubeconfig)
    cluster = Cluster.objects.get()
    page = admin_client.get(f"/admin/ingest/cluster/{cluster.pk}/change/")
    assert page.status_code == 200
    body = page.content.decode()
    assert TOKEN not in body
    assert cluster.kubeconfig_encrypted not in body
    assert "sha256" in body
    # Saving without pasting a new kubeconfig keeps the stored one.
    response = admin_client.post(
        f"/admin/ingest/cluster/{cluster.pk}/change/",
        {
            "name": "prod-eu",
            "source": "kubeconfig",
            "context": "other",
            "namespaces": "",
            "exclude_namespaces": "",
            "enabled": "on",
            "kubeconfig": "",
        },
    )
    assert response.status_code == 302
    cluster.refresh_from_db()
    assert (cluster.context, cluster.kubeconfig) == ("other", KUBECONFIG)
    streams = admin_client.get("/admin/ingest/watchstream/")
    assert streams.status_code == 200
    assert admin_client.get("/admin/ingest/watchstream/add/").status_code == 403
