"""Start-up paths: image problems, init containers, sidecars, conditions."""

from __future__ import annotations

import pytest

from tests.kubesim.engine.support import (
    Run,
    condition,
    container_status,
    kubectl_status,
    play,
)


@pytest.fixture(scope="module")
def images() -> Run:
    return play("imagepull", 60)


@pytest.fixture(scope="module")
def init() -> Run:
    return play("init", 45)


def _waiting_reasons(run: Run, ns: str, pod: str, container: str) -> list[str]:
    reasons: list[str] = []
    for _, obj in run.pod_history(ns, pod):
        try:
            state = container_status(obj, container)["state"]
        except KeyError:
            continue
        reason = state.get("waiting", {}).get("reason")
        if reason and (not reasons or reasons[-1] != reason):
            reasons.append(reason)
    return reasons


def test_a_missing_image_goes_from_err_image_pull_to_image_pull_back_off(images):
    assert _waiting_reasons(images, "imagepull", "typo", "web")[-2:] == [
        "ErrImagePull",
        "ImagePullBackOff",
    ]
    pod = images.pod("imagepull", "typo")
    assert pod["status"]["phase"] == "Pending"
    assert kubectl_status(pod, images.clock.now())[0] == "ImagePullBackOff"
    uid = pod["metadata"]["uid"]
    pulling = images.events(uid=uid, reason="Pulling")
    assert pulling[0]["count"] >= 2
    messages = {e["message"] for e in images.events(uid=uid, reason="Failed")}
    assert "Error: ErrImagePull" in messages
    assert "Error: ImagePullBackOff" in messages
    assert any(m.startswith('Failed to pull image "ngnix:1.27"') for m in messages)
    (backoff,) = images.events(uid=uid, reason="BackOff")
    assert backoff["message"] == 'Back-off pulling image "ngnix:1.27"'


def test_image_pull_retries_back_off_exponentially(images):
    pod = images.pod("imagepull", "typo")
    uid = pod["metadata"]["uid"]
    (pulling,) = images.events(uid=uid, reason="Pulling")
    # Pulls at about 1, 12.5, 34 s: first pull + 1.5 s, then 10 s and 20 s of back-off.
    assert pulling["count"] == 3


def test_an_invalid_image_reference_is_invalid_image_name(images):
    pod = images.pod("imagepull", "bad-name")
    assert container_status(pod, "web")["state"]["waiting"]["reason"] == "InvalidImageName"
    assert kubectl_status(pod, images.clock.now())[0] == "InvalidImageName"
    assert images.events(uid=pod["metadata"]["uid"], reason="InspectFailed")


def test_a_missing_secret_key_is_create_container_config_error(images):
    pod = images.pod("imagepull", "missing-secret")
    waiting = container_status(pod, "api")["state"]["waiting"]
    assert waiting["reason"] == "CreateContainerConfigError"
    assert "couldn't find key password" in waiting["message"]
    assert kubectl_status(pod, images.clock.now())[0] == "CreateContainerConfigError"


def test_init_containers_run_one_at_a_time_then_the_app(init):
    starts = [(r["container"], r["offset"]) for r in init.truth("start", "init-ok")]
    assert [c for c, _ in starts] == ["wait-db", "migrate", "app"]
    exits = {r["container"]: r["offset"] for r in init.truth("exit", "init-ok")}
    assert starts[1][1] >= exits["wait-db"]
    assert starts[2][1] >= exits["migrate"]
    statuses = [
        kubectl_status(o, init.clock.now())[0] for _, o in init.pod_history("init", "init-ok")
    ]
    assert "Init:0/2" in statuses
    assert "Init:1/2" in statuses
    assert statuses[-1] == "Running"
    pod = init.pod("init", "init-ok")
    initialized = condition(pod, "Initialized")
    assert initialized["status"] == "True"


def test_a_failing_init_container_crash_loops(init):
    statuses = [
        kubectl_status(o, init.clock.now())[0] for _, o in init.pod_history("init", "init-fails")
    ]
    assert "Init:Error" in statuses
    assert "Init:CrashLoopBackOff" in statuses
    pod = init.pod("init", "init-fails")
    assert pod["status"]["phase"] == "Pending"
    assert condition(pod, "Initialized")["reason"] == "ContainersNotInitialized"
    assert (
        condition(pod, "Initialized")["message"] == "containers with incomplete status: [migrate]"
    )
    assert container_status(pod, "app")["state"]["waiting"]["reason"] == "PodInitializing"


def test_a_failing_init_container_with_restart_never_fails_the_pod(init):
    pod = init.pod("init", "init-fails-never")
    assert pod["status"]["phase"] == "Failed"
    assert kubectl_status(pod, init.clock.now())[0] == "Init:Error"
    assert len(init.truth("start", "init-fails-never")) == 1


def test_conditions_change_transition_time_only_when_their_status_changes(init):
    seen: dict[str, tuple[str, str]] = {}
    for _, obj in init.pod_history("init", "init-ok"):
        for cond in obj["status"].get("conditions") or []:
            before = seen.get(cond["type"])
            if before is not None and before[0] == cond["status"]:
                assert cond["lastTransitionTime"] == before[1], cond["type"]
            seen[cond["type"]] = (cond["status"], cond["lastTransitionTime"])
    assert set(seen) == {
        "PodScheduled",
        "PodReadyToStartContainers",
        "Initialized",
        "ContainersReady",
        "Ready",
    }


def test_a_running_pod_reports_ips_start_time_and_qos(init):
    pod = init.pod("init", "init-ok")
    status = pod["status"]
    assert status["podIP"] == status["podIPs"][0]["ip"]
    assert status["hostIP"].startswith("172.18.")
    assert status["startTime"]
    assert status["qosClass"] == "BestEffort"
    app = container_status(pod, "app")
    assert app["ready"] is True
    assert app["started"] is True
    assert app["imageID"].startswith("docker.io/acme/app@sha256:")
    assert app["image"] == "docker.io/acme/app:1.0"


def test_a_sidecar_starts_before_the_next_init_and_stops_after_the_app():
    run = play("sidecar", 45)
    starts = [(r["container"], r["offset"]) for r in run.truth("start", "with-sidecar")]
    assert [c for c, _ in starts] == ["log-shipper", "migrate", "app"]
    sigterms = [(r["container"], r["offset"]) for r in run.truth("sigterm", "with-sidecar")]
    assert [c for c, _ in sigterms] == ["app", "log-shipper"]
    exits = {r["container"]: r["offset"] for r in run.truth("exit", "with-sidecar")}
    assert sigterms[1][1] >= exits["app"]
    running = next(
        o
        for _, o in run.pod_history("sidecar", "with-sidecar")
        if o["status"].get("phase") == "Running"
    )
    assert kubectl_status(running, run.clock.now())[1] == "2/2"
    history = run.pod_history("sidecar", "with-sidecar")
    assert history[-1][0] == "DELETED"
    assert history[-3][1]["status"]["phase"] == "Succeeded"
