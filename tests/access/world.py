"""The three personas and a small world of pods in several namespaces of two clusters.

* admin: a superuser, sees everything;
* member: in group ``team-a``, which is granted ``team-a-*`` on cluster ``prod`` only;
* outsider: signed in, no grant.

Every pod the member may see has a name starting with ``alpha``; every other pod's name, and
the namespaces and cluster it alone lives in, are in ``HIDDEN``: no answer to the member may
contain any of them, and no answer to the outsider may contain a pod at all.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from lifecycle_dash.access.models import AccessGrant
from lifecycle_dash.ingest.models import Cluster, Pod
from tests.web import timeline_data as data
from tests.web.dashboard_factories import make_cluster, make_pod

VISIBLE_MARK = "alpha"
HIDDEN = ("bravo", "stage-web", "stage-api", "coredns", "team-b-pay", "kube-system", "staging")


@dataclass(frozen=True)
class World:
    prod: Cluster
    staging: Cluster
    # SIGKILLed at the end of their grace period (termination record, history, events).
    alpha: data.PodStory  # prod/team-a-web: the member's
    bravo: data.PodStory  # prod/team-b-pay: another team's
    stage: data.PodStory  # staging/team-a-web: the member's namespace, another cluster
    live: dict[str, Pod]  # name -> current pod row

    @property
    def member_live(self) -> list[str]:
        return sorted(n for n, p in self.live.items() if n.startswith(VISIBLE_MARK))

    def story(self, name: str) -> data.PodStory:
        return {"alpha": self.alpha, "bravo": self.bravo, "stage": self.stage}[name]


def _story(uid_tail: str, namespace: str, name: str) -> data.PodStory:
    base = data.sigkill_story(uid=f"acce5500-0000-4000-8000-{uid_tail}", name=name)
    return replace(base, namespace=namespace)


def build_world() -> World:
    prod = make_cluster("prod")
    staging = make_cluster("staging")
    alpha = _story("00000000a001", "team-a-web", "alpha-web-7d9f8b6c5-sk1ll")
    bravo = _story("00000000b001", "team-b-pay", "bravo-pay-7d9f8b6c5-sk1ll")
    stage = _story("00000000c001", "team-a-web", "stage-web-7d9f8b6c5-sk1ll")
    data.ingest_sigkill_pod(prod, alpha)
    data.ingest_sigkill_pod(prod, bravo)
    data.ingest_sigkill_pod(staging, stage)
    now = datetime.now(UTC)
    live = {
        "alpha-api-5c6d7-r4nn1": make_pod(prod, "alpha-api-5c6d7-r4nn1", namespace="team-a-api"),
        "alpha-worker-6f7d8-cr4sh": make_pod(
            prod,
            "alpha-worker-6f7d8-cr4sh",
            namespace="team-a-api",
            status="CrashLoopBackOff",
            restarts=7,
            last_observed_at=now - timedelta(seconds=5),
        ),
        "bravo-worker-6f7d8-cr4sh": make_pod(
            prod,
            "bravo-worker-6f7d8-cr4sh",
            namespace="team-b-pay",
            status="CrashLoopBackOff",
            restarts=9,
            last_observed_at=now - timedelta(seconds=4),
        ),
        "coredns-5d78c-dns01": make_pod(prod, "coredns-5d78c-dns01", namespace="kube-system"),
        "stage-api-5c6d7-r4nn1": make_pod(staging, "stage-api-5c6d7-r4nn1", namespace="team-a-web"),
    }
    return World(prod, staging, alpha, bravo, stage, live)


@dataclass(frozen=True)
class Personas:
    admin: Any
    member: Any
    outsider: Any


def make_personas(world: World) -> Personas:
    users = get_user_model().objects
    admin = users.create_superuser("root", "root@example.com", "pw-root-123")
    member = users.create_user("ana", password="pw-ana-123")
    outsider = users.create_user("oscar", password="pw-oscar-123")
    team = Group.objects.create(name="team-a")
    member.groups.add(team)
    AccessGrant.objects.create(group=team, cluster=world.prod, namespace_pattern="team-a-*")
    return Personas(admin, member, outsider)


def leaks(text: str) -> list[str]:
    """The hidden names ``text`` mentions (empty when it reveals nothing of them)."""
    return [word for word in HIDDEN if word in text]
