"""core/v1 Events about pods: a typed, redacted ``PodEvent``, de-aggregation, classification.

``event_from_raw`` keeps only what the timeline needs (no annotations, managedFields or
``related`` object) and truncates the message to 1 KiB, the events.k8s.io ``note`` limit;
malformed input yields a ``PodEvent`` with ``problems`` rather than an exception, because
one bad Event must never stop a watch stream.

Kubernetes aggregates repeats into one object (reference §6.2): the legacy recorder PATCHes
``count`` and ``lastTimestamp``, the events.k8s.io recorder writes ``series.count`` and
``series.lastObservedTime``. A MODIFIED Event is therefore N new occurrences, not an update.
``occurrences_between`` turns the difference between two versions of one Event into those
occurrences, each with a deterministic key (event uid + ordinal) so a replay after a relist
writes nothing twice. Only the newest occurrence of a bump has an exact time; the ones in
between are known only to lie between the previous and the current last time, and say so.

The classification helpers key on ``reason`` and only use message prefixes where the reason
is shared (Killing, Unhealthy, BackOff, Failed), as the reference advises (§6.3, §9).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from lifecycle_dash.lifecycle.timeparse import parse_rfc3339

__all__ = [
    "MESSAGE_LIMIT_BYTES",
    "BackOffKind",
    "HookKindFailed",
    "KillCause",
    "Occurrence",
    "PodEvent",
    "ProbeKind",
    "PullResult",
    "back_off_kind",
    "event_from_raw",
    "hook_failure",
    "is_eviction",
    "is_preemption",
    "is_pull",
    "is_scheduling",
    "kill_cause",
    "latest_event_versions",
    "occurrences_between",
    "parse_go_duration",
    "probe_failure",
    "pull_result",
    "pulled_image",
    "redact_message",
]

MESSAGE_LIMIT_BYTES = 1024
_COMBINED_PREFIX = "(combined from similar events): "
_FIELD_PATH = re.compile(r"^spec\.(containers|initContainers|ephemeralContainers)\{([^}]*)\}")


@dataclass(frozen=True, slots=True)
class PodEvent:
    """One version of one core/v1 Event. Empty string = absent; None = absent time/number."""

    uid: str
    name: str = ""
    namespace: str = ""
    resource_version: str = ""
    involved_kind: str = ""
    involved_uid: str = ""
    involved_name: str = ""
    involved_namespace: str = ""
    field_path: str = ""
    container_name: str = ""
    # "containers", "initContainers" or "ephemeralContainers", from the fieldPath.
    container_list: str = ""
    type: str = ""
    reason: str = ""
    message: str = ""
    message_truncated: bool = False
    message_redacted: bool = False
    action: str = ""
    source_component: str = ""
    source_host: str = ""
    reporting_controller: str = ""
    reporting_instance: str = ""
    count: int | None = None
    first_timestamp: datetime | None = None
    last_timestamp: datetime | None = None
    event_time: datetime | None = None
    series_count: int | None = None
    series_last_observed_time: datetime | None = None
    creation_timestamp: datetime | None = None
    occurred_at: datetime | None = None
    # Which field ``occurred_at`` came from, e.g. "event:series.lastObservedTime".
    occurred_at_source: str = ""
    problems: tuple[str, ...] = ()

    @property
    def total_count(self) -> int:
        """How many occurrences this version stands for (at least 1)."""
        if self.series_count is not None and self.series_count > 0:
            return self.series_count
        if self.count is not None and self.count > 0:
            return self.count
        return 1

    @property
    def first_occurred_at(self) -> datetime | None:
        """When the first aggregated occurrence happened, where the API says so."""
        if self.series_count is not None and self.event_time is not None:
            return self.event_time
        return self.first_timestamp or self.event_time or self.occurred_at

    @property
    def key_base(self) -> str:
        return self.uid or f"{self.namespace}/{self.name}"

    @property
    def is_warning(self) -> bool:
        return self.type == "Warning"


# Secret references and credential-looking values that kubelet messages can carry (config
# errors name the Secret and key; probe and hook failures may echo command output).
_REDACTIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"couldn't find key \S+ in (Secret|ConfigMap) \S+"),
        r"couldn't find key <redacted> in \1 <redacted>",
    ),
    (re.compile(r'(?i)\b(secret|configmap)s? "[^"]*"'), r'\1 "<redacted>"'),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), r"\1 <redacted>"),
    (
        re.compile(
            r"(?i)\b([A-Za-z0-9_-]*(?:password|passwd|secret|token|api[_-]?key))"
            r"(\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s,;]+)"
        ),
        r"\1\2<redacted>",
    ),
)


def redact_message(text: str) -> tuple[str, bool]:
    """``text`` with secret references and credential-looking values replaced."""
    redacted = text
    for pattern, replacement in _REDACTIONS:
        redacted = pattern.sub(replacement, redacted)
    return redacted, redacted != text


def _truncate_utf8(text: str, limit: int) -> tuple[str, bool]:
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text, False
    return encoded[:limit].decode("utf-8", errors="ignore"), True


class _Reader:
    """Typed field access that records a problem instead of raising."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def mapping(self, parent: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
        value = parent.get(key)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.problems.append(f"{where}{key}: expected an object")
            return {}
        return value

    def text(self, parent: Mapping[str, Any], key: str, where: str) -> str:
        value = parent.get(key)
        if value is None:
            return ""
        if not isinstance(value, str):
            self.problems.append(f"{where}{key}: expected a string")
            return ""
        return value

    def integer(self, parent: Mapping[str, Any], key: str, where: str) -> int | None:
        value = parent.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.problems.append(f"{where}{key}: expected an integer")
            return None
        return int(value)

    def time(self, parent: Mapping[str, Any], key: str, where: str) -> datetime | None:
        value = parent.get(key)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            self.problems.append(f"{where}{key}: expected a timestamp string")
            return None
        try:
            return parse_rfc3339(value)
        except ValueError:
            self.problems.append(f"{where}{key}: unparseable timestamp {value[:40]!r}")
            return None


def event_from_raw(raw: Any) -> PodEvent:
    """Build a ``PodEvent`` from a raw core/v1 Event dict. Never raises."""
    if not isinstance(raw, Mapping):
        return PodEvent(uid="", problems=("event: expected an object",))
    r = _Reader()
    meta = r.mapping(raw, "metadata", "")
    involved = r.mapping(raw, "involvedObject", "")
    source = r.mapping(raw, "source", "")
    series = r.mapping(raw, "series", "")

    uid = r.text(meta, "uid", "metadata.")
    if not uid:
        r.problems.append("metadata.uid: missing; occurrences are keyed by namespace/name")
    field_path = r.text(involved, "fieldPath", "involvedObject.")
    container_list, container_name = "", ""
    match = _FIELD_PATH.match(field_path)
    if match is not None:
        container_list, container_name = match.group(1), match.group(2)
    elif field_path:
        r.problems.append(f"involvedObject.fieldPath: not a container path {field_path[:60]!r}")

    message, redacted = redact_message(r.text(raw, "message", ""))
    message, truncated = _truncate_utf8(message, MESSAGE_LIMIT_BYTES)
    count = r.integer(raw, "count", "")
    first_ts = r.time(raw, "firstTimestamp", "")
    last_ts = r.time(raw, "lastTimestamp", "")
    event_time = r.time(raw, "eventTime", "")
    series_count = r.integer(series, "count", "series.")
    series_last = r.time(series, "lastObservedTime", "series.")
    created = r.time(meta, "creationTimestamp", "metadata.")

    # Reference §6.1 occurrence rule.
    occurred_at: datetime | None = None
    occurred_source = ""
    for value, label in (
        (series_last, "event:series.lastObservedTime"),
        (event_time, "event:eventTime"),
        (last_ts, "event:lastTimestamp"),
        (first_ts, "event:firstTimestamp"),
        (created, "event:metadata.creationTimestamp"),
    ):
        if value is not None:
            occurred_at, occurred_source = value, label
            break
    if occurred_at is None:
        r.problems.append("event: no timestamp at all")

    return PodEvent(
        uid=uid,
        name=r.text(meta, "name", "metadata."),
        namespace=r.text(meta, "namespace", "metadata."),
        resource_version=r.text(meta, "resourceVersion", "metadata."),
        involved_kind=r.text(involved, "kind", "involvedObject."),
        involved_uid=r.text(involved, "uid", "involvedObject."),
        involved_name=r.text(involved, "name", "involvedObject."),
        involved_namespace=r.text(involved, "namespace", "involvedObject."),
        field_path=field_path,
        container_name=container_name,
        container_list=container_list,
        type=r.text(raw, "type", ""),
        reason=r.text(raw, "reason", ""),
        message=message,
        message_truncated=truncated,
        message_redacted=redacted,
        action=r.text(raw, "action", ""),
        source_component=r.text(source, "component", "source."),
        source_host=r.text(source, "host", "source."),
        reporting_controller=r.text(raw, "reportingComponent", ""),
        reporting_instance=r.text(raw, "reportingInstance", ""),
        count=count,
        first_timestamp=first_ts,
        last_timestamp=last_ts,
        event_time=event_time,
        series_count=series_count,
        series_last_observed_time=series_last,
        creation_timestamp=created,
        occurred_at=occurred_at,
        occurred_at_source=occurred_source,
        problems=tuple(r.problems),
    )


# --- de-aggregation ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One occurrence of an aggregated Event.

    ``at`` is set only when the API gives this occurrence's exact time; otherwise it is None
    and the occurrence lies within [``earliest``, ``latest``]. ``time_source`` names the rule.
    """

    key: str
    event_uid: str
    ordinal: int
    reason: str
    type: str
    container_name: str
    message: str
    at: datetime | None
    earliest: datetime | None
    latest: datetime | None
    time_source: str
    event: PodEvent

    @property
    def sort_time(self) -> datetime | None:
        """A time to order by: exact if known, else the latest bound."""
        return self.at if self.at is not None else self.latest


def _occurrence(
    event: PodEvent,
    ordinal: int,
    at: datetime | None,
    earliest: datetime | None,
    latest: datetime | None,
    source: str,
) -> Occurrence:
    return Occurrence(
        key=f"{event.key_base}#{ordinal}",
        event_uid=event.uid,
        ordinal=ordinal,
        reason=event.reason,
        type=event.type,
        container_name=event.container_name,
        message=event.message,
        at=at,
        earliest=earliest,
        latest=latest,
        time_source=source,
        event=event,
    )


def occurrences_between(previous: PodEvent | None, current: PodEvent) -> list[Occurrence]:
    """The occurrences ``current`` adds over ``previous`` (the last version seen of it).

    ``previous`` None means first sight (ADDED, or a relist). A version that is not newer
    than ``previous`` (a replay or an out-of-order delivery) adds nothing. A ``previous`` of
    another Event object is ignored.
    """
    if previous is not None and previous.key_base != current.key_base:
        previous = None
    total = current.total_count
    seen = previous.total_count if previous is not None else 0
    if total <= seen:
        return []
    last_at = current.occurred_at
    last_source = current.occurred_at_source
    result: list[Occurrence] = []
    first_new = seen + 1
    lower: datetime | None
    lower_source: str
    if previous is None:
        # The first occurrence's time is in the object itself (firstTimestamp, or eventTime
        # for a series), so only ordinals 2..N-1 are bounded.
        first_at = current.first_occurred_at
        if total > 1:
            src = (
                "event:eventTime (first of series)"
                if current.series_count is not None and current.event_time is not None
                else "event:firstTimestamp"
            )
            result.append(_occurrence(current, 1, first_at, first_at, first_at, src))
            first_new = 2
        lower, lower_source = first_at, "first occurrence"
    else:
        lower, lower_source = previous.occurred_at, "previous version's last occurrence"
    for ordinal in range(first_new, total):
        result.append(
            _occurrence(
                current,
                ordinal,
                None,
                lower,
                last_at,
                f"bounded:[{lower_source}, {last_source.removeprefix('event:')}]",
            )
        )
    result.append(_occurrence(current, total, last_at, last_at, last_at, last_source))
    return result


def latest_event_versions(events: Iterable[PodEvent]) -> list[PodEvent]:
    """One version per Event object: the one with the highest count, then the latest time.

    Events can arrive out of order or be replayed; the highest count is the newest version
    because counts only grow.
    """
    best: dict[str, PodEvent] = {}
    for event in events:
        current = best.get(event.key_base)
        if current is None or _version_key(event) > _version_key(current):
            best[event.key_base] = event
    return sorted(best.values(), key=_order_key)


def _order_key(event: PodEvent) -> tuple[bool, float, str]:
    first = event.first_occurred_at
    return (first is None, first.timestamp() if first is not None else 0.0, event.key_base)


def _version_key(event: PodEvent) -> tuple[int, float]:
    at = event.occurred_at
    return (event.total_count, at.timestamp() if at is not None else float("-inf"))


# --- classification ------------------------------------------------------------------------


class ProbeKind(StrEnum):
    LIVENESS = "liveness"
    READINESS = "readiness"
    STARTUP = "startup"


class HookKindFailed(StrEnum):
    POST_START = "postStart"
    PRE_STOP = "preStop"


class KillCause(StrEnum):
    # "Stopping container X": the pod is being stopped (API delete, eviction, preemption...).
    STOP_POD = "stop_pod"
    LIVENESS_PROBE = "liveness_probe"
    STARTUP_PROBE = "startup_probe"
    POST_START_HOOK = "post_start_hook"
    SPEC_CHANGED = "spec_changed"
    OTHER = "other"


class BackOffKind(StrEnum):
    IMAGE_PULL = "image_pull"
    RESTART = "restart"
    OTHER = "other"


def _message(event: PodEvent) -> str:
    return event.message.removeprefix(_COMBINED_PREFIX)


def probe_failure(event: PodEvent) -> ProbeKind | None:
    """The probe an ``Unhealthy`` event is about (``Liveness probe failed: ...``), else None."""
    if event.reason != "Unhealthy":
        return None
    text = _message(event)
    for kind, prefix in (
        (ProbeKind.LIVENESS, "Liveness probe"),
        (ProbeKind.READINESS, "Readiness probe"),
        (ProbeKind.STARTUP, "Startup probe"),
    ):
        if text.startswith(prefix):
            return kind
    return None


def hook_failure(event: PodEvent) -> HookKindFailed | None:
    if event.reason == "FailedPostStartHook":
        return HookKindFailed.POST_START
    if event.reason == "FailedPreStopHook":
        return HookKindFailed.PRE_STOP
    return None


def kill_cause(event: PodEvent) -> KillCause | None:
    """Why a ``Killing`` event was recorded (reference §3.5), else None for other reasons."""
    if event.reason != "Killing":
        return None
    text = _message(event)
    if text.startswith("Stopping container"):
        return KillCause.STOP_POD
    if "failed liveness probe" in text:
        return KillCause.LIVENESS_PROBE
    if "failed startup probe" in text:
        return KillCause.STARTUP_PROBE
    if "FailedPostStartHook" in text:
        return KillCause.POST_START_HOOK
    if "definition changed" in text:
        return KillCause.SPEC_CHANGED
    return KillCause.OTHER


def back_off_kind(event: PodEvent) -> BackOffKind | None:
    if event.reason != "BackOff":
        return None
    text = _message(event)
    if text.startswith("Back-off pulling image"):
        return BackOffKind.IMAGE_PULL
    if text.startswith("Back-off restarting"):
        return BackOffKind.RESTART
    return BackOffKind.OTHER


_SCHEDULING_REASONS = frozenset({"Scheduled", "FailedScheduling"})
_PULL_REASONS = frozenset({"Pulling", "Pulled", "ErrImageNeverPull", "InspectFailed"})
_EVICTION_REASONS = frozenset({"Evicted", "TaintManagerEviction"})
_PREEMPTION_REASONS = frozenset({"Preempted", "Preempting"})


def is_scheduling(event: PodEvent) -> bool:
    return event.reason in _SCHEDULING_REASONS


def is_pull(event: PodEvent) -> bool:
    if event.reason in _PULL_REASONS:
        return True
    if event.reason == "BackOff":
        return back_off_kind(event) is BackOffKind.IMAGE_PULL
    if event.reason == "Failed":
        text = _message(event)
        return (
            "pull" in text.lower() or "ErrImagePull" in text or "ImagePullBackOff" in text
        ) and "couldn't find key" not in text
    return False


def is_eviction(event: PodEvent) -> bool:
    """Kubelet eviction, or the taint-eviction controller marking the pod for deletion."""
    if event.reason == "TaintManagerEviction":
        return _message(event).startswith("Marking for deletion")
    return event.reason in _EVICTION_REASONS


def is_preemption(event: PodEvent) -> bool:
    return event.reason in _PREEMPTION_REASONS


# --- pulls ---------------------------------------------------------------------------------

_GO_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_GO_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_IMAGE = re.compile(r'image "([^"]*)"')
_PULLED = re.compile(
    r'Successfully pulled image "(?P<image>[^"]*)" in (?P<pull>[0-9.a-zµμ]+)'
    r"(?: \((?P<waiting>[0-9.a-zµμ]+) including waiting\))?"
)


def parse_go_duration(text: str) -> float | None:
    """Seconds in a Go ``time.Duration`` string (``1.5s``, ``532ms``, ``1m2.5s``), else None."""
    if not text:
        return None
    body = text[1:] if text[0] in "+-" else text
    if body == "0":
        return 0.0
    pos, total = 0, 0.0
    while pos < len(body):
        part = _GO_DURATION_PART.match(body, pos)
        if part is None:
            return None
        total += float(part.group(1)) * _GO_UNITS[part.group(2)]
        pos = part.end()
    if pos == 0:
        return None
    return -total if text[0] == "-" else total


@dataclass(frozen=True, slots=True)
class PullResult:
    image: str
    # False when the image was already present on the node.
    pulled: bool
    # The pull itself, and the pull including time queued behind other pulls (Pulled message).
    duration_seconds: float | None
    duration_including_waiting_seconds: float | None


def pull_result(event: PodEvent) -> PullResult | None:
    """What a ``Pulled`` event says about the pull, else None."""
    if event.reason != "Pulled":
        return None
    text = _message(event)
    match = _PULLED.search(text)
    if match is not None:
        return PullResult(
            image=match.group("image"),
            pulled=True,
            duration_seconds=parse_go_duration(match.group("pull")),
            duration_including_waiting_seconds=parse_go_duration(match.group("waiting") or ""),
        )
    image = _IMAGE.search(text)
    present = "already present" in text
    return PullResult(
        image=image.group(1) if image else "",
        pulled=not present,
        duration_seconds=0.0 if present else None,
        duration_including_waiting_seconds=0.0 if present else None,
    )


def pulled_image(event: PodEvent) -> str:
    """The image a Pulling/Pulled/BackOff message names, or ""."""
    match = _IMAGE.search(event.message)
    return match.group(1) if match else ""
