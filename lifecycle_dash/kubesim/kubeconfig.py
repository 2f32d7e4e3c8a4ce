"""The kubeconfig the simulator writes for its clients.

Written as JSON, which is valid YAML, so kubectl, client-go and the official Python client
read it unchanged and our own fault client can read it back without a YAML parser. Plain http
with a static bearer token: the simulator has no TLS.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

CONTEXT = "kubesim"


def kubeconfig(url: str, token: str, *, name: str = CONTEXT) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {"server": url}}],
        "users": [{"name": name, "user": {"token": token}}],
        "contexts": [
            {"name": name, "context": {"cluster": name, "user": name, "namespace": "default"}}
        ],
        "current-context": name,
        "preferences": {},
    }


def write_kubeconfig(path: Path, url: str, token: str) -> None:
    """Write atomically (a reader never sees half a file), readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(kubeconfig(url, token), handle, indent=2)
        handle.write("\n")
    temporary.replace(path)


def read_kubeconfig(path: Path) -> tuple[str, str]:
    """(server URL, token) of the current context of a kubeconfig this module wrote."""
    config = json.loads(path.read_text(encoding="utf-8"))
    context_name = config["current-context"]
    context = next(c["context"] for c in config["contexts"] if c["name"] == context_name)
    cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == context["cluster"])
    user = next(u["user"] for u in config["users"] if u["name"] == context["user"])
    return str(cluster["server"]), str(user["token"])
