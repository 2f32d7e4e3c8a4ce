"""One container as the simulated runtime and kubelet track it, and its API status rendering."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lifecycle_dash.kubesim.clock import format_time
from lifecycle_dash.kubesim.engine.behaviour import ContainerBehaviour
from lifecycle_dash.kubesim.engine.ids import image_id, normalize_image
from lifecycle_dash.kubesim.engine.timeline import Timer

INIT, SIDECAR, MAIN = "init", "sidecar", "main"
BACKOFF_INITIAL = 10.0
BACKOFF_MAX = 300.0


@dataclass(slots=True)
class Ctr:
    name: str
    spec: dict[str, Any]
    role: str
    behaviour: ContainerBehaviour
    state: dict[str, Any] = field(default_factory=dict)
    last_state: dict[str, Any] = field(default_factory=dict)
    restart_count: int = 0
    started: bool = False
    ready: bool = False
    container_id: str | None = None
    image_id: str = ""
    started_at: datetime | None = None
    # Incarnation counter: a timer from an earlier incarnation is stale and does nothing.
    gen: int = 0
    timers: list[Timer] = field(default_factory=list)
    # flowcontrol.Backoff entry for crash restarts (duration, lastUpdate) and for image pulls.
    backoff: float = 0.0
    backoff_update: datetime | None = None
    pull_backoff: float = 0.0
    done: bool = False
    stopping: bool = False
    ever_ran: bool = False
    launched: bool = False
    exit_code: int | None = None

    @property
    def image(self) -> str:
        return str(self.spec.get("image", ""))

    @property
    def field_path(self) -> str:
        group = "initContainers" if self.role in (INIT, SIDECAR) else "containers"
        return f"spec.{group}{{{self.name}}}"

    @property
    def running(self) -> bool:
        return "running" in self.state

    @property
    def terminated(self) -> bool:
        return "terminated" in self.state

    def cancel_timers(self) -> None:
        for timer in self.timers:
            timer.cancel()
        self.timers.clear()

    def wait(self, reason: str, message: str | None = None) -> None:
        self.state = {"waiting": {"reason": reason, **({"message": message} if message else {})}}

    def run(self, at: datetime, container_id: str) -> None:
        self.gen += 1
        self.container_id = container_id
        self.image_id = image_id(self.image)
        self.started_at = at
        self.state = {"running": {"startedAt": format_time(at)}}
        self.started = False
        self.ready = False
        self.ever_ran = True
        self.exit_code = None

    def terminate(self, at: datetime, exit_code: int, reason: str, message: str = "") -> None:
        self.gen += 1
        self.cancel_timers()
        terminated: dict[str, Any] = {
            "exitCode": exit_code,
            "reason": reason,
            "startedAt": format_time(self.started_at) if self.started_at else None,
            "finishedAt": format_time(at),
        }
        if message:
            terminated["message"] = message
        if self.container_id:
            terminated["containerID"] = self.container_id
        self.state = {"terminated": terminated}
        self.started = False
        self.ready = False
        self.stopping = False
        self.exit_code = exit_code

    def status(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "name": self.name,
            "image": normalize_image(self.image) if self.image_id else self.image,
            "imageID": self.image_id,
            "ready": self.ready,
            "restartCount": self.restart_count,
            "started": self.started,
            "state": self.state,
            "lastState": self.last_state,
        }
        if self.container_id:
            result["containerID"] = self.container_id
        return result
