"""The Dockerfile, read as instructions (no Docker engine needed).

A small parser joins continuation lines and drops comments; the tests then check what the
image promises: a slim multi-stage build, a non-root runtime, port 8000, a /healthz
healthcheck, the project installed without the `embedded` extra, daphne as the default
process. One test replays the build's collectstatic step, so a settings change that would
break `docker build` fails here first.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"


@dataclass(frozen=True)
class Instruction:
    stage: int
    keyword: str
    args: str


def parse(text: str) -> list[Instruction]:
    instructions: list[Instruction] = []
    stage = -1
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, args = (pending + line).partition(" ")
        pending = ""
        keyword = keyword.upper()
        if keyword == "FROM":
            stage += 1
        instructions.append(Instruction(stage, keyword, " ".join(args.split())))
    return instructions


INSTRUCTIONS = parse(DOCKERFILE.read_text())
FINAL_STAGE = max(i.stage for i in INSTRUCTIONS)


def final(keyword: str) -> list[Instruction]:
    return [i for i in INSTRUCTIONS if i.stage == FINAL_STAGE and i.keyword == keyword]


def every(keyword: str) -> list[Instruction]:
    return [i for i in INSTRUCTIONS if i.keyword == keyword]


def test_it_builds_in_stages_on_python_3_11_slim() -> None:
    bases = [i.args.split()[0] for i in every("FROM")]

    assert len(bases) >= 2
    assert set(bases) == {"python:3.11-slim"}
    assert any(i.args.startswith("--from=") for i in final("COPY"))


def test_the_runtime_runs_as_a_non_root_user() -> None:
    users = final("USER")

    assert users, "the runtime stage sets no USER, so it runs as root"
    user = users[-1].args.split(":")[0]
    assert user not in {"root", "0"}


def test_it_exposes_port_8000() -> None:
    exposed = {port for i in final("EXPOSE") for port in i.args.split()}

    assert exposed & {"8000", "8000/tcp"}


def test_the_healthcheck_calls_healthz_with_pythons_urllib() -> None:
    (healthcheck,) = final("HEALTHCHECK")

    assert " CMD " in f" {healthcheck.args} "
    assert "urllib.request" in healthcheck.args
    assert "127.0.0.1:8000/healthz" in healthcheck.args
    assert "curl" not in healthcheck.args


def test_it_installs_the_project_without_the_embedded_extra() -> None:
    runs = " && ".join(i.args for i in every("RUN"))

    assert re.search(r"pip install .*\blifecycle-dash\b", runs) or re.search(
        r"pip install .*\s\.(\s|$)", runs
    )
    # Comments may explain the extra; no instruction may ask for it.
    assert "embedded" not in " ".join(i.args for i in INSTRUCTIONS)
    assert not re.search(r"lifecycle-dash\[|\.\[", runs)


def test_dependencies_come_from_the_pinned_project_dependencies_only() -> None:
    runs = " ".join(i.args for i in every("RUN"))

    assert '["project"]["dependencies"]' in runs
    assert "optional-dependencies" not in runs


def test_static_files_are_collected_at_build_time() -> None:
    runs = [i.args for i in final("RUN")]

    assert any("manage.py collectstatic --noinput" in run for run in runs)


def test_the_default_process_is_daphne_serving_the_asgi_application() -> None:
    (cmd,) = final("CMD")
    argv = json.loads(cmd.args)

    assert argv[0] == "daphne"
    assert argv[-1] == "lifecycle_dash.asgi:application"
    assert argv[argv.index("-b") + 1] == "0.0.0.0"
    assert argv[argv.index("-p") + 1] == "8000"


def test_it_carries_oci_labels() -> None:
    labels = " ".join(i.args for i in final("LABEL"))

    for key in ("title", "description", "version", "licenses"):
        assert f"org.opencontainers.image.{key}=" in labels


def test_the_build_context_leaves_local_state_out() -> None:
    lines = [
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    included = {line[1:].strip("/") for line in lines if line.startswith("!")}

    # An allow-list: everything is excluded, then the product's own files are let back in.
    assert lines[0] == "*"
    assert {"pyproject.toml", "manage.py", "lifecycle_dash", "templates", "static"} <= included
    # var/ holds local databases and services.env, which settings.py would load.
    assert not included & {"var", ".venv", ".git", ".env", "tests"}


def collectstatic_environment() -> dict[str, str]:
    (run,) = [i.args for i in final("RUN") if "collectstatic" in i.args]
    step = next(part for part in run.split("&&") if "collectstatic" in part)
    words = shlex.split(step)
    return dict(word.split("=", 1) for word in words[: words.index("python")])


def test_collectstatic_runs_with_the_builds_placeholder_environment(tmp_path) -> None:
    placeholders = collectstatic_environment()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "lifecycle_dash.settings",
        **placeholders,
    }

    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--dry-run"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert set(placeholders) == {"SECRET_KEY", "DATABASE_URL"}
    assert result.returncode == 0, result.stderr
