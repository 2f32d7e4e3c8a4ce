"""The simulated nodes. Node objects are not served; the engine keeps them internally."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lifecycle_dash.kubesim.engine.units import parse_quantity

MAX_PODS = 110


@dataclass(slots=True)
class Node:
    name: str
    index: int
    cpu: float = 4.0
    memory: float = 16 * 1024.0**3
    max_pods: int = MAX_PODS
    labels: dict[str, str] = field(default_factory=dict)
    ready: bool = True
    lost: bool = False
    used_cpu: float = 0.0
    used_memory: float = 0.0
    pods: dict[str, tuple[float, float, int]] = field(default_factory=dict)
    images: set[str] = field(default_factory=set)
    _free_ips: list[int] = field(default_factory=list)
    _next_ip: int = 2

    @property
    def host_ip(self) -> str:
        return f"172.18.{self.index // 250}.{self.index % 250 + 2}"

    def _bump(self) -> int:
        host = self._next_ip
        self._next_ip += 1
        if host > 254:
            host = 254
        return host

    def fits(self, cpu: float, memory: float) -> bool:
        return (
            len(self.pods) < self.max_pods
            and self.used_cpu + cpu <= self.cpu + 1e-9
            and self.used_memory + memory <= self.memory + 1e-9
        )

    def bind(self, uid: str, cpu: float, memory: float) -> int:
        """Account for a pod; returns its IP host part."""
        # Reuse freed addresses first, as a CNI's IPAM does with a /24 per node.
        host = self._free_ips.pop() if self._free_ips else self._bump()
        self.pods[uid] = (cpu, memory, host)
        self.used_cpu += cpu
        self.used_memory += memory
        return host

    def pod_ip(self, uid: str) -> str:
        host = self.pods[uid][2]
        return f"10.{64 + self.index // 256}.{self.index % 256}.{host}"

    def release(self, uid: str) -> None:
        entry = self.pods.pop(uid, None)
        if entry is None:
            return
        cpu, memory, host = entry
        self.used_cpu -= cpu
        self.used_memory -= memory
        self._free_ips.append(host)


def pod_requests(pod: dict[str, Any]) -> tuple[float, float]:
    """Effective (cpu, memory) requests: max(sum of regular+sidecars, any init container)."""
    spec = pod.get("spec") or {}

    def req(container: dict[str, Any]) -> tuple[float, float]:
        requests = (container.get("resources") or {}).get("requests") or {}
        try:
            cpu = parse_quantity(requests.get("cpu", 0))
            memory = parse_quantity(requests.get("memory", 0))
        except ValueError:
            return 0.0, 0.0
        return cpu, memory

    cpu = memory = 0.0
    for container in spec.get("containers") or []:
        c, m = req(container)
        cpu += c
        memory += m
    init_cpu = init_mem = 0.0
    for container in spec.get("initContainers") or []:
        c, m = req(container)
        if container.get("restartPolicy") == "Always":
            cpu += c
            memory += m
        else:
            init_cpu = max(init_cpu, c)
            init_mem = max(init_mem, m)
    return max(cpu, init_cpu), max(memory, init_mem)


def make_nodes(count: int, *, cpu: float = 4.0, memory: float = 16 * 1024.0**3) -> list[Node]:
    return [
        Node(
            name=f"node-{i + 1}",
            index=i,
            cpu=cpu,
            memory=memory,
            labels={"kubernetes.io/hostname": f"node-{i + 1}", "kubernetes.io/os": "linux"},
        )
        for i in range(count)
    ]
