from __future__ import annotations

import os
import signal
import subprocess
import urllib.error
import urllib.request
import uuid
from dataclasses import replace
from pathlib import Path

import pytest

from lifecycle_dash.stack.run import simulator_kubeconfig
from lifecycle_dash.stack.soakcheck import check_history, list_pod_uids, simulator_view
from tests.support.processes import BASE_DIR, free_port, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _marked_processes(marker: str) -> list[int]:
    """Processes whose environment carries the marker: everything `make run` started."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            environ = (proc / "environ").read_bytes()
        except OSError:
            continue
        if marker.encode() in environ:
            found.append(int(proc.name))
    return found


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status in {200, 302}
    except urllib.error.HTTPError as exc:
        return exc.code in {302, 503}
    except OSError:
        return False


@pytest.mark.django_db(transaction=True)
def test_make_run_serves_keeps_every_deleted_pods_history_and_ctrl_c_leaves_nothing(
    stack_env, tmp_path
):
    """``make run`` with no cluster configured: the dashboard answers, every process is
    started, and the simulator's demo lands in the database. At 60x for half a minute (half
    an hour of rollouts, crash loops, OOM-killed Jobs), every pod the simulator deletes keeps
    its row, its transitions and its deletion record. Ctrl-C then stops everything it started.
    The hour-long version is ``python -m lifecycle_dash.stack.soakcheck`` (see the README).

    One run serves all three checks: starting the stack is most of the cost.
    """
    marker = f"LIFECYCLE_DASH_TEST_RUN={uuid.uuid4().hex}"
    key, value = marker.split("=")
    truth = tmp_path / "truth.jsonl"
    port = free_port()
    env = {
        **stack_env,
        key: value,
        "PORT": str(port),
        "DASH_ADMIN_PASSWORD": "run-test-pass",
        "KUBESIM_SPEED": "60",
        "KUBESIM_TRUTH_OUT": str(truth),
        # Its own schedule file and simulator kubeconfig: another run from this checkout (a
        # developer's, another session's) must not share them.
        "DASH_RUN_DIR": str(tmp_path / "run"),
    }
    log_path = tmp_path / "make-run.log"
    log = log_path.open("wb")
    # A new session stands in for the terminal: Ctrl-C reaches its whole foreground group.
    make = subprocess.Popen(
        ["make", "--no-print-directory", "run"],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        assert wait_until(lambda: _answers(f"http://127.0.0.1:{port}/login/"), timeout=90), (
            log_path.read_text()[-3000:]
        )
        banner = f"running at http://127.0.0.1:{port}/"
        assert wait_until(lambda: banner in log_path.read_text(), timeout=10)
        names = {"daphne", "-Q watch", "-Q default", "beat", "kubesim"}
        cmdlines = [
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            for pid in _marked_processes(marker)
        ]
        for name in names:
            assert any(name in line for line in cmdlines), (name, cmdlines)

        from lifecycle_dash.ingest.models import Pod

        kubeconfig = simulator_kubeconfig(tmp_path / "run")

        def view():
            return simulator_view(
                truth=truth, list_uids=lambda: list_pod_uids(kubeconfig=kubeconfig)
            )

        # At 60x the first rollout comes 3 s after the simulator starts, maybe before the first
        # list: pods deleted before the product first looked are not history it could keep.
        assert wait_until(
            lambda: Pod.objects.filter(cluster__name="simulator").exists(), timeout=90
        )
        unseeable = view().deleted
        assert wait_until(lambda: len(view().deleted - unseeable) >= 30, timeout=120), (
            f"the simulator deleted too few pods: {len(view().deleted - unseeable)}"
        )
        everything = view()
        seen = replace(everything, deleted=everything.deleted - unseeable)
        # Deletions are ingested within a few seconds; then every one must be in the database.
        assert wait_until(
            lambda: check_history(cluster="simulator", view=seen).ok, timeout=30, interval=1
        ), check_history(cluster="simulator", view=seen)
        verdict = check_history(cluster="simulator", view=seen)
        assert verdict.kept == len(seen.deleted) >= 30
    finally:
        os.killpg(make.pid, signal.SIGINT)
        make.wait(timeout=60)
        log.close()
    assert wait_until(lambda: not _marked_processes(marker), timeout=30), [
        Path(f"/proc/{pid}/cmdline").read_bytes() for pid in _marked_processes(marker)
    ]
