"""Channels group names, built in one place.

Channels allows `[a-zA-Z0-9._-]` and fewer than 100 characters; cluster names and pod uids
are reduced to that alphabet here so no caller has to remember the rule.
"""

from __future__ import annotations

import hashlib
import re

_UNSAFE = re.compile(r"[^a-zA-Z0-9._-]")


def _safe(part: str) -> str:
    cleaned = _UNSAFE.sub("_", part)
    if len(cleaned) <= 40 and cleaned == part:
        return cleaned
    # Distinct unsafe names must not collide after cleaning, hence the digest.
    return f"{cleaned[:24]}.{hashlib.sha1(part.encode()).hexdigest()[:12]}"


def all_pods_group() -> str:
    return "pods.all"


def cluster_group(cluster: str) -> str:
    return f"pods.cluster.{_safe(cluster)}"


def pod_group(uid: str) -> str:
    return f"pod.{_safe(uid)}"
