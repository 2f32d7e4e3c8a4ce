"""Typed lifecycle transitions: what changed between two observations of a pod.

``Transition`` (frozen dataclass with slots) fields:

``pod_uid``
    The pod's UID (names are reused by replacement pods; the UID is not).
``kind``
    ``TransitionKind`` (a StrEnum, stored as its value).
``subject``
    Container name for container kinds, condition type for ``CONDITION``, ``""`` for pod-level.
``old`` / ``new``
    JSON-safe scalars (``str | int | bool | None``); ``None`` = absent. Per kind:

    ============================  ==========================================================
    ``POD_CREATED``               None -> creationTimestamp (ISO); only on first observation
    ``PHASE``                     phase strings
    ``POD_REASON``                status.reason strings ("" = none); message in detail
    ``CONDITION``                 condition status ("True"/"False"/"Unknown"); None = absent
    ``POD_READY``                 bool: the pod's Ready condition is True
    ``NODE_ASSIGNED``             spec.nodeName ("" = unassigned)
    ``POD_IP``                    first pod IP ("" = none); all IPs in detail
    ``CONTAINER_STATE``           state label: "waiting", "waiting:<reason>", "running",
                                  "terminated:<reason>" (or "terminated:exit=<code>"); None =
                                  no status for that container
    ``CONTAINER_RESTART``         restart number - 1 -> restart number (one per restart)
    ``CONTAINER_RESTART_RESET``   restartCount went down (node reboot / runtime state loss)
    ``CONTAINER_LAST_STATE``      lastState.terminated changed without a restart we can count
    ``CONTAINER_STARTED``         bool
    ``CONTAINER_READY``           bool
    ``DELETION_REQUESTED``        None -> deletionTimestamp (ISO)
    ``GRACE_SHORTENED``           old -> new deletionGracePeriodSeconds (int)
    ``KUBECTL_STATUS``            the STATUS column of ``kubectl get pods``
    ``DELETED``                   False -> True: the object is gone (watch DELETED)
    ============================  ==========================================================

``detail``
    A small read-only mapping (``types.MappingProxyType``; nested maps read-only too, lists
    as tuples) of JSON-safe values. Times are RFC 3339 strings. Per kind:

    - ``POD_CREATED``: ``namespace``, ``name``, ``owner_kind``, ``owner_name``.
    - ``POD_REASON``: ``message``. ``POD_IP``: ``pod_ips``. ``POD_READY``: ``reason``.
    - ``CONDITION``: ``reason``, ``message``, ``last_transition_time``, ``old_reason``
      (a vanished condition: ``old_reason`` only).
    - every container kind: ``role`` ("init" / "sidecar" / "regular").
    - ``CONTAINER_STATE``: one of ``waiting`` {reason, message}, ``running`` {started_at},
      ``terminated`` {exit_code, signal, reason, message, started_at, finished_at,
      container_id}; none of them for a status with an empty state.
    - ``CONTAINER_RESTART``: ``restart`` (its number), ``in_gap`` (True: happened between two
      observations, termination unknown), ``last_state`` (the terminated map above, or None);
      a gap wider than ``diff.MAX_GAP_RECORDS`` is one record with ``gap_first``/``gap_last``.
    - ``CONTAINER_RESTART_RESET`` / ``CONTAINER_LAST_STATE``: ``last_state`` (and ``restart``).
    - ``DELETION_REQUESTED`` / ``GRACE_SHORTENED``: ``deletion_timestamp``,
      ``grace_period_seconds``, ``requested_at`` (= deletionTimestamp - grace, reference
      §3.1: the original DELETE time, stable across shortening). ``GRACE_SHORTENED`` also
      records any other change of a pending deletion (the API never makes one).
    - ``DELETED``: ``final_state_known`` (False when no last state came with the deletion).
``api_time``
    The API timestamp the transition is based on, where one exists (lastTransitionTime,
    startedAt, finishedAt, deletion request time, creationTimestamp...). 1 s precision.
``observed_at``
    When we received the observation (our clock).
``time_source``
    ``TimeSource.API`` when ``api_time`` is the authoritative instant of the change,
    ``TimeSource.OBSERVED`` when only the receive time is known (the change happened at or
    before ``observed_at``). ``at`` returns the authoritative one. API times used:
    creationTimestamp (POD_CREATED); the condition's lastTransitionTime when it moved
    (CONDITION, POD_READY; a reason-only change is OBSERVED); PodScheduled's time
    (NODE_ASSIGNED); running.startedAt / terminated.finishedAt (CONTAINER_STATE);
    lastState.terminated.finishedAt (the last CONTAINER_RESTART of a jump,
    CONTAINER_LAST_STATE); the derived request time (DELETION_REQUESTED). Everything else,
    including restarts in a gap, is OBSERVED.
``key``
    Deterministic idempotency key ``<uid>|<kind>|<subject>|<discriminator>``: a replayed event
    produces the same key, so storage can ignore duplicates. The discriminator is
    ``restart=<n>@<finishedAt of the lastState the jump ends with>`` for restarts (the number
    alone would repeat after a restartCount reset; ``@rv=<resourceVersion>`` when no
    finishedAt is known), ``requested=<request time>`` for deletion requests, nothing for the
    once-per-pod kinds (``POD_CREATED``, ``DELETED``), otherwise ``rv=<resourceVersion of
    after>``.

``to_record()`` returns a plain dict of JSON-safe values for storage; ``Transition.from_record``
reads it back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any, TypeAlias

from lifecycle_dash.lifecycle.timeparse import format_rfc3339, parse_rfc3339

__all__ = [
    "JSONScalar",
    "TimeSource",
    "Transition",
    "TransitionKind",
    "freeze_detail",
]

JSONScalar: TypeAlias = str | int | float | bool | None


class TransitionKind(StrEnum):
    POD_CREATED = "pod_created"
    PHASE = "phase"
    POD_REASON = "pod_reason"
    CONDITION = "condition"
    POD_READY = "pod_ready"
    NODE_ASSIGNED = "node_assigned"
    POD_IP = "pod_ip"
    CONTAINER_STATE = "container_state"
    CONTAINER_RESTART = "container_restart"
    CONTAINER_RESTART_RESET = "container_restart_reset"
    CONTAINER_LAST_STATE = "container_last_state"
    CONTAINER_STARTED = "container_started"
    CONTAINER_READY = "container_ready"
    DELETION_REQUESTED = "deletion_requested"
    GRACE_SHORTENED = "grace_shortened"
    KUBECTL_STATUS = "kubectl_status"
    DELETED = "deleted"


class TimeSource(StrEnum):
    """Which timestamp of a transition is authoritative."""

    API = "api"
    OBSERVED = "observed"


_EMPTY_DETAIL: Mapping[str, Any] = MappingProxyType({})


def freeze_detail(detail: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """A read-only copy of a detail mapping (nested mappings frozen, lists made tuples)."""
    if not detail:
        return _EMPTY_DETAIL
    return MappingProxyType({k: _freeze(v) for k, v in detail.items()})


def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_thaw(v) for v in value]
    return value


def _iso(value: datetime | None) -> str | None:
    return None if value is None else format_rfc3339(value)


@dataclass(frozen=True, slots=True)
class Transition:
    pod_uid: str
    kind: TransitionKind
    subject: str
    old: JSONScalar
    new: JSONScalar
    observed_at: datetime
    key: str
    api_time: datetime | None = None
    time_source: TimeSource = TimeSource.OBSERVED
    detail: Mapping[str, Any] = field(default_factory=lambda: _EMPTY_DETAIL, hash=False)

    @property
    def at(self) -> datetime:
        """The authoritative instant: the API time when it is authoritative, else receipt."""
        if self.time_source is TimeSource.API and self.api_time is not None:
            return self.api_time
        return self.observed_at

    def to_record(self) -> dict[str, Any]:
        """A dict of JSON-safe values (datetimes as RFC 3339 strings in UTC)."""
        return {
            "key": self.key,
            "pod_uid": self.pod_uid,
            "kind": str(self.kind),
            "subject": self.subject,
            "old": self.old,
            "new": self.new,
            "detail": _thaw(self.detail),
            "api_time": _iso(self.api_time),
            "observed_at": _iso(self.observed_at),
            "time_source": str(self.time_source),
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Transition:
        """Inverse of ``to_record``."""
        api_time = record.get("api_time")
        return cls(
            pod_uid=record["pod_uid"],
            kind=TransitionKind(record["kind"]),
            subject=record["subject"],
            old=record["old"],
            new=record["new"],
            observed_at=parse_rfc3339(record["observed_at"]),
            key=record["key"],
            api_time=parse_rfc3339(api_time) if api_time else None,
            time_source=TimeSource(record["time_source"]),
            detail=freeze_detail(record.get("detail")),
        )
