"""Workload controllers: Deployment -> ReplicaSet -> pods, Job -> pods, and a CronJob-like
schedule. The controller objects stay internal (only pods, events, endpointslices and
namespaces are served); their pods look exactly like a cluster's:

* ReplicaSet pods are named ``<rs>-<5 chars>``, carry ``pod-template-hash`` and an
  ownerReference ``apps/v1 ReplicaSet`` (controller=true). A ReplicaSet keeps ``replicas``
  active pods (not terminal, not being deleted); it deletes surplus pods gracefully, not ready
  ones first. Failed (evicted) pods linger, as in a cluster.
* A Deployment rolls out a new template with the rolling-update rules (maxSurge /
  maxUnavailable against ready pods), optionally every ``rollout_every`` seconds (like a
  ``kubectl rollout restart``: the ``kubectl.kubernetes.io/restartedAt`` annotation changes).
* A Job runs pods (ownerReference ``batch/v1 Job``, ``job-name`` labels) until ``completions``
  succeed or more than ``backoff_limit`` fail, re-creating failed pods after the Job back-off
  (10 s doubling).
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lifecycle_dash.kubesim.clock import format_time
from lifecycle_dash.kubesim.deletion import request_pod_deletion
from lifecycle_dash.kubesim.engine.context import Context
from lifecycle_dash.kubesim.engine.ids import template_hash
from lifecycle_dash.kubesim.engine.timeline import Timer

REACTION = 0.05
TERMINAL = ("Succeeded", "Failed")


def _active(pod: dict[str, Any]) -> bool:
    return (
        not pod["metadata"].get("deletionTimestamp")
        and (pod.get("status") or {}).get("phase") not in TERMINAL
    )


def _ready(pod: dict[str, Any]) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (pod.get("status") or {}).get("conditions") or []
    )


@dataclass(slots=True)
class PodTemplate:
    labels: dict[str, str]
    spec: dict[str, Any]
    annotations: dict[str, str] = field(default_factory=dict)

    def text(self) -> str:
        return json.dumps(
            {"labels": self.labels, "annotations": self.annotations, "spec": self.spec},
            sort_keys=True,
        )


class Owner:
    """Something that owns pods and reconciles when they change."""

    kind = ""
    api_version = ""

    def __init__(self, manager: Controllers, namespace: str, name: str) -> None:
        self.manager = manager
        self.ctx = manager.ctx
        self.namespace = namespace
        self.name = name
        self.uid = self.ctx.ids.uid()
        self.pods: dict[str, dict[str, Any]] = {}
        self._pending: Timer | None = None
        manager.owners[self.uid] = self

    def owner_reference(self) -> dict[str, Any]:
        return {
            "apiVersion": self.api_version,
            "kind": self.kind,
            "name": self.name,
            "uid": self.uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }

    def poke(self) -> None:
        if self._pending is None:
            self._pending = self.ctx.timeline.after(REACTION, self._run)

    def _run(self) -> None:
        self._pending = None
        self.reconcile()

    def reconcile(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def create_pod(self, template: PodTemplate, extra_labels: dict[str, str]) -> dict[str, Any]:
        name = f"{self.name}-{self.ctx.ids.suffix()}"
        while self.ctx.store.get("pods", self.namespace, name) is not None:
            name = f"{self.name}-{self.ctx.ids.suffix()}"
        pod = {
            "metadata": {
                "name": name,
                "generateName": f"{self.name}-",
                "namespace": self.namespace,
                "labels": {**template.labels, **extra_labels},
                "annotations": dict(template.annotations),
                "ownerReferences": [self.owner_reference()],
            },
            "spec": copy.deepcopy(template.spec),
        }
        if not pod["metadata"]["annotations"]:
            del pod["metadata"]["annotations"]
        created = self.ctx.store.create("pods", pod)
        self.manager.serial += 1
        self.manager.created[created["metadata"]["uid"]] = self.manager.serial
        return created


class ReplicaSet(Owner):
    kind = "ReplicaSet"
    api_version = "apps/v1"

    def __init__(
        self,
        manager: Controllers,
        namespace: str,
        name: str,
        template: PodTemplate,
        pod_hash: str,
        replicas: int,
        deployment: Deployment | None = None,
    ) -> None:
        super().__init__(manager, namespace, name)
        self.template = template
        self.hash = pod_hash
        self.replicas = replicas
        self.deployment = deployment

    def active(self) -> list[dict[str, Any]]:
        return [p for p in self.pods.values() if _active(p)]

    def available(self) -> int:
        return sum(1 for p in self.active() if _ready(p))

    def reconcile(self) -> None:
        self.sync()
        if self.deployment is not None:
            self.deployment.poke()

    def sync(self) -> None:
        active = self.active()
        diff = self.replicas - len(active)
        if diff > 0:
            for _ in range(diff):
                self.create_pod(self.template, {"pod-template-hash": self.hash})
        elif diff < 0:
            # controller.ActivePods order: unscheduled, then not ready, then the youngest
            # (by creation order: creationTimestamps are whole seconds and tie).
            order = self.manager.created
            active.sort(key=lambda p: order.get(p["metadata"]["uid"], 0), reverse=True)
            active.sort(key=lambda p: (bool(p["spec"].get("nodeName")), _ready(p)))
            for pod in active[:-diff]:
                meta = pod["metadata"]
                request_pod_deletion(self.ctx.store, meta["namespace"], meta["name"])


class Deployment:
    def __init__(
        self,
        manager: Controllers,
        namespace: str,
        name: str,
        template: PodTemplate,
        *,
        replicas: int = 1,
        max_surge: int | str = "25%",
        max_unavailable: int | str = "25%",
        rollout_every: float | None = None,
    ) -> None:
        self.manager = manager
        self.ctx = manager.ctx
        self.namespace = namespace
        self.name = name
        self.template = template
        self.replicas = replicas
        self.surge = _resolve(max_surge, replicas, up=True)
        self.unavailable = _resolve(max_unavailable, replicas, up=False)
        if self.surge == 0 and self.unavailable == 0:
            self.unavailable = 1
        self.rollout_every = rollout_every
        self.sets: list[ReplicaSet] = []
        self._pending: Timer | None = None
        self.rollouts = 0

    def start(self) -> None:
        self._current_set()
        self.reconcile()
        if self.rollout_every:
            self.ctx.timeline.after(self.rollout_every, self._periodic_rollout)

    def _periodic_rollout(self) -> None:
        self.rollout()
        if self.rollout_every:
            self.ctx.timeline.after(self.rollout_every, self._periodic_rollout)

    def rollout(self, template: PodTemplate | None = None) -> None:
        """Change the template (default: a ``kubectl rollout restart``)."""
        self.rollouts += 1
        if template is None:
            template = copy.deepcopy(self.template)
            template.annotations["kubectl.kubernetes.io/restartedAt"] = format_time(
                self.ctx.timeline.now()
            )
        self.template = template
        self._current_set()
        self.reconcile()

    def _current_set(self) -> ReplicaSet:
        # The restartedAt stamp is absolute time; hashing the rollout count instead keeps the
        # names of a replayed run identical.
        stable = copy.deepcopy(self.template)
        stable.annotations.pop("kubectl.kubernetes.io/restartedAt", None)
        pod_hash = template_hash(f"{self.name}/{self.rollouts}/{stable.text()}")
        for rs in self.sets:
            if rs.hash == pod_hash:
                return rs
        rs = ReplicaSet(
            self.manager,
            self.namespace,
            f"{self.name}-{pod_hash}",
            self.template,
            pod_hash,
            0,
            deployment=self,
        )
        self.sets.append(rs)
        return rs

    def poke(self) -> None:
        if self._pending is None:
            self._pending = self.ctx.timeline.after(REACTION, self._run)

    def _run(self) -> None:
        self._pending = None
        self.reconcile()

    def reconcile(self) -> None:
        new = self._current_set()
        old = [rs for rs in self.sets if rs is not new]
        changed = False
        if not any(rs.replicas for rs in old):
            if new.replicas != self.replicas:
                new.replicas = self.replicas
                changed = True
        else:
            total = sum(rs.replicas for rs in self.sets)
            if new.replicas < self.replicas:
                allowed = self.replicas + self.surge - total
                if allowed > 0:
                    new.replicas += min(allowed, self.replicas - new.replicas)
                    changed = True
            min_available = self.replicas - self.unavailable
            total = sum(rs.replicas for rs in self.sets)
            new_unavailable = max(0, new.replicas - new.available())
            budget = total - min_available - new_unavailable
            for rs in old:
                if budget <= 0:
                    break
                unhealthy = max(0, rs.replicas - rs.available())
                cut = min(unhealthy, budget)
                if cut:
                    rs.replicas -= cut
                    budget -= cut
                    changed = True
            available = sum(rs.available() for rs in self.sets)
            can = available - min_available
            for rs in old:
                if can <= 0:
                    break
                cut = min(rs.replicas, can)
                if cut:
                    rs.replicas -= cut
                    can -= cut
                    changed = True
        for rs in self.sets:
            rs.sync()
        self.sets = [rs for rs in self.sets if rs is new or rs.replicas or rs.pods]
        if changed:
            self.poke()


def _resolve(value: int | str, replicas: int, *, up: bool) -> int:
    if isinstance(value, int):
        return value
    percent = float(value.rstrip("%")) / 100.0 * replicas
    return math.ceil(percent) if up else math.floor(percent)


class Job(Owner):
    kind = "Job"
    api_version = "batch/v1"

    def __init__(
        self,
        manager: Controllers,
        namespace: str,
        name: str,
        template: PodTemplate,
        *,
        completions: int = 1,
        parallelism: int = 1,
        backoff_limit: int = 6,
        on_done: Callable[[Job], None] | None = None,
    ) -> None:
        super().__init__(manager, namespace, name)
        template = copy.deepcopy(template)
        template.spec.setdefault("restartPolicy", "Never")
        self.template = template
        self.completions = completions
        self.parallelism = parallelism
        self.backoff_limit = backoff_limit
        self.done: str | None = None
        self.on_done = on_done
        self._retry: Timer | None = None

    def labels(self) -> dict[str, str]:
        return {
            "batch.kubernetes.io/controller-uid": self.uid,
            "batch.kubernetes.io/job-name": self.name,
            "controller-uid": self.uid,
            "job-name": self.name,
        }

    def reconcile(self) -> None:
        if self.done:
            return
        pods = list(self.pods.values())
        succeeded = sum(1 for p in pods if p["status"].get("phase") == "Succeeded")
        failed = sum(1 for p in pods if p["status"].get("phase") == "Failed")
        failed += sum(
            int(cs.get("restartCount") or 0)
            for p in pods
            for cs in p["status"].get("containerStatuses") or []
        )
        active = [p for p in pods if _active(p)]
        if succeeded >= self.completions:
            self._finish("Complete")
            return
        if failed > self.backoff_limit:
            for pod in active:
                meta = pod["metadata"]
                request_pod_deletion(self.ctx.store, meta["namespace"], meta["name"])
            self._finish("Failed")
            return
        wanted = min(self.parallelism, self.completions - succeeded) - len(active)
        if wanted <= 0 or self._retry is not None:
            return
        delay = 0.0 if failed == 0 else min(360.0, 10.0 * 2 ** (failed - 1))
        if delay == 0.0:
            self._create(wanted)
        else:
            self._retry = self.ctx.timeline.after(delay, lambda: self._create(wanted))

    def _create(self, count: int) -> None:
        self._retry = None
        if self.done:
            return
        for _ in range(count):
            self.create_pod(self.template, self.labels())

    def _finish(self, how: str) -> None:
        self.done = how
        if self.on_done is not None:
            self.on_done(self)


class CronJob:
    """Creates a Job every ``every`` seconds; keeps the pods of the last few Jobs."""

    def __init__(
        self,
        manager: Controllers,
        namespace: str,
        name: str,
        template: PodTemplate,
        *,
        every: float,
        backoff_limit: int = 6,
        keep: int = 3,
    ) -> None:
        self.manager = manager
        self.ctx = manager.ctx
        self.namespace = namespace
        self.name = name
        self.template = template
        self.every = every
        self.backoff_limit = backoff_limit
        self.keep = keep
        self.jobs: list[Job] = []

    def start(self) -> None:
        self._tick()

    def _tick(self) -> None:
        stamp = int(self.ctx.timeline.now().timestamp() // 60)
        job = Job(
            self.manager,
            self.namespace,
            f"{self.name}-{stamp}",
            self.template,
            backoff_limit=self.backoff_limit,
        )
        self.jobs.append(job)
        job.reconcile()
        for old in self.jobs[: -self.keep]:
            for pod in list(old.pods.values()):
                meta = pod["metadata"]
                if self.ctx.store.get("pods", meta["namespace"], meta["name"]) is not None:
                    request_pod_deletion(self.ctx.store, meta["namespace"], meta["name"])
            self.manager.owners.pop(old.uid, None)
        self.jobs = self.jobs[-self.keep :]
        self.ctx.timeline.after(self.every, self._tick)


class Controllers:
    """Routes pod changes to their owner and holds every workload."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.owners: dict[str, Owner] = {}
        self.deployments: list[Deployment] = []
        self.created: dict[str, int] = {}
        self.serial = 0

    def on_change(self, type_: str, kind: str, pod: dict[str, Any]) -> None:
        if kind != "pods" or self.ctx.bulk:
            return
        meta = pod["metadata"]
        if type_ == "DELETED":
            self.created.pop(meta["uid"], None)
        for ref in meta.get("ownerReferences") or ():
            owner = self.owners.get(ref.get("uid", ""))
            if owner is None:
                continue
            if type_ == "DELETED":
                owner.pods.pop(meta["uid"], None)
            else:
                owner.pods[meta["uid"]] = pod
            owner.poke()

    def deployment(
        self, namespace: str, name: str, template: PodTemplate, **options: Any
    ) -> Deployment:
        template.labels.setdefault("app", name)
        deployment = Deployment(self, namespace, name, template, **options)
        self.deployments.append(deployment)
        deployment.start()
        return deployment

    def job(self, namespace: str, name: str, template: PodTemplate, **options: Any) -> Job:
        job = Job(self, namespace, name, template, **options)
        job.reconcile()
        return job

    def cronjob(self, namespace: str, name: str, template: PodTemplate, **options: Any) -> CronJob:
        cron = CronJob(self, namespace, name, template, **options)
        cron.start()
        return cron
