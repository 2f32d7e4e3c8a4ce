"""deploy/kubernetes: valid for Kubernetes 1.37, least privilege, matching the settings."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

BASE_DIR = Path(__file__).resolve().parent.parent.parent
DEPLOY = BASE_DIR / "deploy" / "kubernetes"
KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"
WRITE_VERBS = {
    "create",
    "update",
    "patch",
    "delete",
    "deletecollection",
    "escalate",
    "bind",
    "impersonate",
    "*",
}
WORKLOAD_KINDS = {"Deployment", "Job"}


def _manifest_files() -> list[Path]:
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    return [DEPLOY / name for name in kustomization["resources"]]


def _documents() -> list[dict[str, Any]]:
    return [
        doc
        for path in _manifest_files()
        for doc in yaml.safe_load_all(path.read_text())
        if doc is not None
    ]


def _kustomized() -> list[dict[str, Any]]:
    result = subprocess.run(
        [KUBECTL, "kustomize", str(DEPLOY)], capture_output=True, text=True, check=True
    )
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc is not None]


def _by_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [doc for doc in docs if doc["kind"] == kind]


def _named(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (doc,) = [d for d in _by_kind(docs, kind) if d["metadata"]["name"] == name]
    return doc


def test_every_file_of_the_directory_is_part_of_the_kustomization():
    listed = {path.name for path in _manifest_files()}
    on_disk = {path.name for path in DEPLOY.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == on_disk


@pytest.mark.parametrize("path", _manifest_files(), ids=lambda path: path.name)
def test_every_manifest_document_validates_against_kubernetes_1_37_strictly(path: Path):
    docs = [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]
    assert docs
    for doc in docs:
        kubernetes_validate.validate(doc, "1.37.0", strict=True)


def test_the_kustomize_output_validates_and_lands_in_one_namespace():
    docs = _kustomized()
    kinds = sorted(doc["kind"] for doc in docs)
    assert kinds.count("Deployment") == 4
    assert {"Namespace", "ClusterRole", "ClusterRoleBinding", "ConfigMap", "Secret"} <= set(kinds)
    assert {"Service", "Job", "ServiceAccount"} <= set(kinds)
    for doc in docs:
        kubernetes_validate.validate(doc, "1.37.0", strict=True)
        if doc["kind"] not in {"Namespace", "ClusterRole", "ClusterRoleBinding"}:
            assert doc["metadata"]["namespace"] == "lifecycle-dash", doc["metadata"]["name"]


def test_the_cluster_role_only_reads_pods_events_endpointslices_and_namespaces():
    (role,) = _by_kind(_documents(), "ClusterRole")
    granted: set[tuple[str, str, str]] = set()
    for rule in role["rules"]:
        assert not rule.get("resourceNames")
        assert "nonResourceURLs" not in rule
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                for verb in rule["verbs"]:
                    granted.add((group, resource, verb))
    expected = {
        (group, resource, verb)
        for group, resource in [
            ("", "pods"),
            ("", "events"),
            ("", "namespaces"),
            ("events.k8s.io", "events"),
            ("discovery.k8s.io", "endpointslices"),
        ]
        for verb in ("get", "list", "watch")
    }
    assert granted == expected


def test_no_role_anywhere_grants_a_write_verb_or_a_wildcard():
    for doc in _kustomized():
        if doc["kind"] not in {"Role", "ClusterRole"}:
            continue
        for rule in doc["rules"]:
            assert not WRITE_VERBS & set(rule["verbs"]), rule
            assert "*" not in rule["resources"], rule
            assert "*" not in rule["apiGroups"], rule


def test_only_the_watch_workers_get_a_kubernetes_api_token():
    docs = _kustomized()
    binding = _named(docs, "ClusterRoleBinding", "lifecycle-dash-watch")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "lifecycle-dash-watch", "namespace": "lifecycle-dash"}
    ]
    for doc in _by_kind(docs, "Deployment") + _by_kind(docs, "Job"):
        pod = doc["spec"]["template"]["spec"]
        if doc["metadata"]["name"] == "lifecycle-dash-worker-watch":
            assert pod["serviceAccountName"] == "lifecycle-dash-watch"
            assert pod["automountServiceAccountToken"] is True
        else:
            assert pod["serviceAccountName"] == "lifecycle-dash", doc["metadata"]["name"]
            assert pod["automountServiceAccountToken"] is False, doc["metadata"]["name"]


def test_every_workload_runs_restricted_as_the_image_user_from_the_project_image():
    docs = _kustomized()
    workloads = [doc for doc in docs if doc["kind"] in WORKLOAD_KINDS]
    assert len(workloads) == 5
    for doc in workloads:
        name = doc["metadata"]["name"]
        pod = doc["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        # The Dockerfile's numeric user: runAsNonRoot can verify it.
        assert pod["securityContext"]["runAsUser"] == 10001, name
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        for container in pod["containers"] + pod.get("initContainers", []):
            assert container["image"] == "lifecycle-dash:0.1.0", name
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["capabilities"] == {"drop": ["ALL"]}, name
            assert "privileged" not in context
            resources = container["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"]), name
            assert {"cpu", "memory"} <= set(resources["limits"]), name
            # The writable places (read-only root) are emptyDirs.
            mounts = {mount["mountPath"] for mount in container["volumeMounts"]}
            assert mounts == {"/tmp", "/app/var"}, name
    namespace = _named(docs, "Namespace", "lifecycle-dash")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_the_processes_are_those_make_run_starts_and_beat_is_single():
    docs = _kustomized()
    commands = {
        doc["metadata"]["name"]: " ".join(
            doc["spec"]["template"]["spec"]["containers"][0]["command"]
        )
        for doc in _by_kind(docs, "Deployment")
    }
    assert "daphne" in commands["lifecycle-dash-web"]
    assert "lifecycle_dash.asgi:application" in commands["lifecycle-dash-web"]
    assert "worker -Q watch" in commands["lifecycle-dash-worker-watch"]
    assert "worker -Q default" in commands["lifecycle-dash-worker-default"]
    assert " beat " in commands["lifecycle-dash-beat"]
    beat = _named(docs, "Deployment", "lifecycle-dash-beat")
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}


def test_web_is_ready_on_healthz_live_on_tcp_and_exposed_by_a_service():
    docs = _kustomized()
    web = _named(docs, "Deployment", "lifecycle-dash-web")
    (container,) = web["spec"]["template"]["spec"]["containers"]
    readiness = container["readinessProbe"]["httpGet"]
    # Web readiness asks only about what pages need, not about workers and streams.
    assert readiness["path"] == "/healthz?scope=web"
    host_header = {h["name"]: h["value"] for h in readiness["httpHeaders"]}["Host"]
    config = _named(docs, "ConfigMap", "lifecycle-dash-config")["data"]
    # Django answers 400 to a Host outside ALLOWED_HOSTS: the probe would never pass.
    assert host_header in config["ALLOWED_HOSTS"].split(",")
    # A dependency outage makes /healthz 503: liveness must not restart daphne for it.
    assert "tcpSocket" in container["livenessProbe"]
    assert "httpGet" not in container["livenessProbe"]
    service = _named(docs, "Service", "lifecycle-dash-web")
    assert service["spec"]["selector"] == web["spec"]["selector"]["matchLabels"]
    assert service["spec"]["ports"][0]["targetPort"] == "http"


def _variables_the_code_reads() -> set[str]:
    pattern = re.compile(
        r"(?:env_(?:str|bool|int|list)\(|os\.environ\.get\(|os\.getenv\()\s*\"([A-Z0-9_]+)\""
    )
    names: set[str] = set()
    for path in (BASE_DIR / "lifecycle_dash").rglob("*.py"):
        names |= set(pattern.findall(path.read_text()))
    return names


def test_the_environment_sets_only_variables_the_code_reads_and_every_required_one():
    docs = _kustomized()
    config = set(_named(docs, "ConfigMap", "lifecycle-dash-config")["data"])
    secret = set(_named(docs, "Secret", "lifecycle-dash-secrets")["stringData"])
    read = _variables_the_code_reads()
    settings_source = (BASE_DIR / "lifecycle_dash" / "settings.py").read_text()
    # CLUSTER_NAME is read by the setup Job's shell, not by Python.
    unknown = (config | secret) - read - {"CLUSTER_NAME"}
    assert not unknown, f"set in the manifests but read nowhere: {sorted(unknown)}"
    for name in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS", "DEBUG"):
        assert name in config | secret
        assert f'"{name}"' in settings_source
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "METRICS_TOKEN"} <= secret
    assert _named(docs, "ConfigMap", "lifecycle-dash-config")["data"]["DEBUG"] == "false"
    for doc in _by_kind(docs, "Deployment") + _by_kind(docs, "Job"):
        (container,) = doc["spec"]["template"]["spec"]["containers"]
        refs = {next(iter(source.values()))["name"] for source in container["envFrom"]}
        assert refs == {"lifecycle-dash-config", "lifecycle-dash-secrets"}
    job = _named(docs, "Job", "lifecycle-dash-setup")
    script = " ".join(job["spec"]["template"]["spec"]["containers"][0]["command"])
    assert 'cluster add "$CLUSTER_NAME" --in-cluster' in script
    assert "migrate --noinput" in script


@pytest.mark.slow
@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_the_setup_job_registers_the_cluster_once_and_can_run_again(stack_env):
    from lifecycle_dash.ingest.models import Cluster

    job = _named(_kustomized(), "Job", "lifecycle-dash-setup")
    (container,) = job["spec"]["template"]["spec"]["containers"]
    script = container["command"][2]
    env = {**stack_env, "CLUSTER_NAME": "home", "DASH_ADMIN_PASSWORD": "a long admin password"}
    for _ in range(2):
        result = subprocess.run(
            ["sh", "-c", script.replace("python ", f"{sys.executable} ")],
            cwd=BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
    assert "cluster home already registered" in result.stdout
    cluster = Cluster.objects.get(name="home")
    assert cluster.source == Cluster.Source.IN_CLUSTER
    assert cluster.streams.count() == 3
