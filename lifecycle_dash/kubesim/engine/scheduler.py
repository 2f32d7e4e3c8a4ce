"""The simulated kube-scheduler: binds pending pods, reports why it cannot, preempts.

* Filters: node Ready (a lost node carries the unreachable taint), nodeSelector, pod count and
  cpu/memory requests. Score: least allocated cpu, then node order (deterministic).
* Failure: PodScheduled False/Unschedulable with the scheduler's "0/N nodes are available"
  message, and a ``FailedScheduling`` event through the events.k8s.io recorder (series
  aggregation, §6.2). Unschedulable pods are retried when a pod is deleted or a node changes
  (with the per-pod back-off of 1 s doubling to 10 s) and at least every 5 minutes.
* Preemption: a pod with a higher ``spec.priority`` evicts lower-priority pods of one node:
  DisruptionTarget PreemptionByScheduler, ``Preempted`` event on each victim, a graceful
  DELETE, ``status.nominatedNodeName`` on the preemptor.
* Binding writes ``spec.nodeName`` and PodScheduled True in one update and records
  ``Scheduled`` (action ``Binding``).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from lifecycle_dash.kubesim.clock import format_time
from lifecycle_dash.kubesim.deletion import request_pod_deletion
from lifecycle_dash.kubesim.engine.behaviour import parse_pod_behaviour
from lifecycle_dash.kubesim.engine.context import Context
from lifecycle_dash.kubesim.engine.nodes import Node, pod_requests
from lifecycle_dash.kubesim.engine.timeline import Timer

SCHEDULER = "default-scheduler"
LATENCY = 0.05
RETRY_PERIOD = 300.0
BACKOFF_MAX = 10.0


class Scheduler:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.instance = f"{SCHEDULER}-control-plane"
        self._queued: dict[str, Timer] = {}
        self._unschedulable: dict[str, tuple[str, str]] = {}
        self._attempts: Counter[str] = Counter()

    # ---- queue -------------------------------------------------------------------------------

    def on_change(self, type_: str, kind: str, pod: dict[str, Any]) -> None:
        if kind != "pods" or self.ctx.bulk:
            return
        meta = pod["metadata"]
        uid = meta["uid"]
        if uid in self.ctx.ignored:
            return
        if type_ == "DELETED":
            self._forget(uid)
            if (pod.get("spec") or {}).get("nodeName"):
                self.cluster_changed()
            return
        spec = pod.get("spec") or {}
        if spec.get("nodeName") or meta.get("deletionTimestamp"):
            self._forget(uid)
            return
        if spec.get("schedulerName", SCHEDULER) != SCHEDULER:
            return
        if uid in self._queued or uid in self._unschedulable:
            return
        delay = parse_pod_behaviour(meta.get("annotations")).schedule_delay + LATENCY
        self._enqueue(uid, meta["namespace"], meta["name"], delay)

    def cluster_changed(self) -> None:
        """A pod went away or a node changed: give unschedulable pods another try."""
        for uid, (namespace, name) in list(self._unschedulable.items()):
            backoff = min(BACKOFF_MAX, 2.0 ** max(0, self._attempts[uid] - 1))
            self._enqueue(uid, namespace, name, backoff)

    def _enqueue(self, uid: str, namespace: str, name: str, delay: float) -> None:
        when = self.ctx.timeline.now().timestamp() + delay
        existing = self._queued.get(uid)
        if existing is not None and existing.when.timestamp() <= when and not existing.cancelled:
            return
        if existing is not None:
            existing.cancel()
        self._queued[uid] = self.ctx.timeline.after(
            delay, lambda: self._attempt(uid, namespace, name)
        )

    def _forget(self, uid: str) -> None:
        timer = self._queued.pop(uid, None)
        if timer is not None:
            timer.cancel()
        self._unschedulable.pop(uid, None)
        self._attempts.pop(uid, None)

    # ---- one scheduling cycle ----------------------------------------------------------------

    def _attempt(self, uid: str, namespace: str, name: str) -> None:
        self._queued.pop(uid, None)
        pod = self.ctx.pod(namespace, name, uid)
        if pod is None or pod["spec"].get("nodeName") or pod["metadata"].get("deletionTimestamp"):
            self._forget(uid)
            return
        self._attempts[uid] += 1
        forced = parse_pod_behaviour(pod["metadata"].get("annotations")).unschedulable
        nodes = list(self.ctx.nodes.values())
        if forced is not None:
            message = forced or f"0/{len(nodes)} nodes are available: {len(nodes)} Unschedulable."
            self._fail(pod, message)
            return
        cpu, memory = pod_requests(pod)
        reasons: Counter[str] = Counter()
        fitting: list[Node] = []
        selector = pod["spec"].get("nodeSelector") or {}
        nominated = (pod.get("status") or {}).get("nominatedNodeName")
        for node in nodes:
            reason = self._filter(node, selector, cpu, memory)
            if reason is None:
                fitting.append(node)
            else:
                reasons[reason] += 1
        if fitting:
            fitting.sort(
                key=lambda n: (n.name != nominated, n.used_cpu / n.cpu, len(n.pods), n.index)
            )
            self._bind(pod, fitting[0], cpu, memory)
            return
        summary = ", ".join(f"{count} {reason}" for reason, count in sorted(reasons.items()))
        head = f"0/{len(nodes)} nodes are available: {summary}."
        resource_bound = all(r.startswith("Insufficient") or r == "Too many pods" for r in reasons)
        if resource_bound and self._preempt(pod, cpu, memory, selector, head):
            return
        if resource_bound:
            tail = (
                f" preemption: 0/{len(nodes)} nodes are available: {len(nodes)} No preemption "
                "victims found for incoming pod."
            )
        else:
            tail = (
                f" preemption: 0/{len(nodes)} nodes are available: {len(nodes)} Preemption is "
                "not helpful for scheduling."
            )
        self._fail(pod, head + tail)

    def _filter(
        self, node: Node, selector: dict[str, str], cpu: float, memory: float
    ) -> str | None:
        if node.lost or not node.ready:
            return "node(s) had untolerated taint {node.kubernetes.io/unreachable: }"
        if any(node.labels.get(k) != v for k, v in selector.items()):
            return "node(s) didn't match Pod's node affinity/selector"
        if len(node.pods) >= node.max_pods:
            return "Too many pods"
        if node.used_cpu + cpu > node.cpu + 1e-9:
            return "Insufficient cpu"
        if node.used_memory + memory > node.memory + 1e-9:
            return "Insufficient memory"
        return None

    def _bind(self, pod: dict[str, Any], node: Node, cpu: float, memory: float) -> None:
        uid = pod["metadata"]["uid"]
        self._forget(uid)
        node.bind(uid, cpu, memory)
        new = dict(pod)
        new["metadata"] = dict(pod["metadata"])
        new["spec"] = {**pod["spec"], "nodeName": node.name}
        status = dict(pod.get("status") or {})
        status.pop("nominatedNodeName", None)
        status["conditions"] = _with_condition(
            status.get("conditions") or [],
            {
                "type": "PodScheduled",
                "status": "True",
                "lastProbeTime": None,
                "lastTransitionTime": format_time(self.ctx.timeline.now()),
            },
        )
        new["status"] = status
        bound = self.ctx.store.update("pods", new)
        meta = bound["metadata"]
        self.ctx.recorder.series(
            bound,
            type_="Normal",
            reason="Scheduled",
            note=f"Successfully assigned {meta['namespace']}/{meta['name']} to {node.name}",
            action="Binding",
            controller=SCHEDULER,
            instance=self.instance,
        )

    def _fail(self, pod: dict[str, Any], message: str) -> None:
        meta = pod["metadata"]
        self._unschedulable[meta["uid"]] = (meta["namespace"], meta["name"])
        status = dict(pod.get("status") or {})
        old = next(
            (c for c in status.get("conditions") or [] if c.get("type") == "PodScheduled"), None
        )
        changed = old is None or old.get("status") != "False"
        status["conditions"] = _with_condition(
            status.get("conditions") or [],
            {
                "type": "PodScheduled",
                "status": "False",
                "lastProbeTime": None,
                "lastTransitionTime": (
                    format_time(self.ctx.timeline.now()) if changed else old["lastTransitionTime"]  # type: ignore[index]
                ),
                "reason": "Unschedulable",
                "message": message,
            },
        )
        new = dict(pod)
        new["metadata"] = dict(meta)
        new["status"] = status
        updated = self.ctx.store.update("pods", new)
        self.ctx.recorder.series(
            updated,
            type_="Warning",
            reason="FailedScheduling",
            note=message,
            action="Scheduling",
            controller=SCHEDULER,
            instance=self.instance,
        )
        uid = meta["uid"]
        self._enqueue(uid, meta["namespace"], meta["name"], RETRY_PERIOD)

    # ---- preemption --------------------------------------------------------------------------

    def _preempt(
        self,
        pod: dict[str, Any],
        cpu: float,
        memory: float,
        selector: dict[str, str],
        message: str,
    ) -> bool:
        priority = int(pod["spec"].get("priority") or 0)
        if pod["spec"].get("preemptionPolicy") == "Never":
            return False
        if (pod.get("status") or {}).get("nominatedNodeName"):
            # Victims are still terminating: wait for them, as the scheduler does.
            self._fail_nominated(pod, message)
            return True
        for node in sorted(self.ctx.nodes.values(), key=lambda n: n.index):
            if node.lost or any(node.labels.get(k) != v for k, v in selector.items()):
                continue
            candidates = []
            for victim_uid in node.pods:
                found = self.ctx.store.get_by_uid(victim_uid)
                if found is None or found[0] != "pods":
                    continue
                victim = found[1]
                if int(victim["spec"].get("priority") or 0) < priority and not victim[
                    "metadata"
                ].get("deletionTimestamp"):
                    candidates.append(victim)
            candidates.sort(
                key=lambda v: (
                    int(v["spec"].get("priority") or 0),
                    v["metadata"]["name"],
                ),
            )
            free_cpu = node.cpu - node.used_cpu
            free_mem = node.memory - node.used_memory
            chosen = []
            for victim in candidates:
                if free_cpu >= cpu - 1e-9 and free_mem >= memory - 1e-9:
                    break
                v_cpu, v_mem = pod_requests(victim)
                free_cpu += v_cpu
                free_mem += v_mem
                chosen.append(victim)
            if chosen and free_cpu >= cpu - 1e-9 and free_mem >= memory - 1e-9:
                self._evict_victims(pod, node, chosen, message)
                return True
        return False

    def _evict_victims(
        self, pod: dict[str, Any], node: Node, victims: list[dict[str, Any]], message: str
    ) -> None:
        now = format_time(self.ctx.timeline.now())
        for victim in victims:
            status = dict(victim.get("status") or {})
            status["conditions"] = _with_condition(
                status.get("conditions") or [],
                {
                    "type": "DisruptionTarget",
                    "status": "True",
                    "lastProbeTime": None,
                    "lastTransitionTime": now,
                    "reason": "PreemptionByScheduler",
                    "message": f"{SCHEDULER}: preempting to accommodate a higher priority pod",
                },
            )
            new = dict(victim)
            new["metadata"] = dict(victim["metadata"])
            new["status"] = status
            marked = self.ctx.store.update("pods", new)
            self.ctx.recorder.series(
                marked,
                type_="Normal",
                reason="Preempted",
                note=f"Preempted by pod {pod['metadata']['uid']} on node {node.name}",
                action="Preempting",
                controller=SCHEDULER,
                instance=self.instance,
                related=pod,
            )
            self.ctx.truth.record("preempted", marked, None, node=node.name)
            meta = marked["metadata"]
            request_pod_deletion(self.ctx.store, meta["namespace"], meta["name"])
        current = self.ctx.pod(pod["metadata"]["namespace"], pod["metadata"]["name"])
        if current is None:
            return
        nominated = dict(current)
        nominated["metadata"] = dict(current["metadata"])
        nominated["status"] = {**(current.get("status") or {}), "nominatedNodeName": node.name}
        self.ctx.store.update("pods", nominated)
        self._fail_nominated(
            self.ctx.pod(pod["metadata"]["namespace"], pod["metadata"]["name"]) or nominated,
            message,
        )

    def _fail_nominated(self, pod: dict[str, Any], message: str) -> None:
        tail = " preemption: not eligible due to a terminating pod on the nominated node."
        self._fail(pod, message + tail)


def _with_condition(
    conditions: list[dict[str, Any]], condition: dict[str, Any]
) -> list[dict[str, Any]]:
    result = [c for c in conditions if c.get("type") != condition["type"]]
    result.append(condition)
    return result
