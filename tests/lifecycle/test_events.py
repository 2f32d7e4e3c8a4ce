from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lifecycle_dash.lifecycle.events import (
    BackOffKind,
    HookKindFailed,
    KillCause,
    PodEvent,
    ProbeKind,
    back_off_kind,
    event_from_raw,
    hook_failure,
    is_eviction,
    is_preemption,
    is_pull,
    is_scheduling,
    kill_cause,
    latest_event_versions,
    occurrences_between,
    parse_go_duration,
    probe_failure,
    pull_result,
    pulled_image,
)

T0 = datetime(2026, 11, 21, 4, 0, 0, tzinfo=UTC)
POD_UID = "6f1c2a4e-8d2b-4d7e-9a51-0c7a3f1e9b10"


def iso(value: datetime) -> str:
    if value.microsecond:
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def kubelet_event(
    reason: str,
    message: str,
    *,
    at: datetime,
    container: str | None = "app",
    init: bool = False,
    type_: str = "Normal",
    count: int = 1,
    first: datetime | None = None,
    uid: str | None = None,
    pod_uid: str = POD_UID,
    pod_name: str = "web-7d9f8b6c5-x2x7q",
    node: str = "ip-10-0-3-17.eu-west-1.compute.internal",
) -> dict[str, Any]:
    """A legacy-recorder Event as the kubelet writes it (reference §6.1)."""
    field_path = ""
    if container is not None:
        field_path = f"spec.{'initContainers' if init else 'containers'}{{{container}}}"
    first_at = first or at
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": f"{pod_name}.{int(first_at.timestamp() * 1e9):x}",
            "namespace": "shop",
            "uid": uid or f"ev-{reason.lower()}-{container or 'pod'}-{int(first_at.timestamp())}",
            "resourceVersion": str(1000 + count),
            "creationTimestamp": iso(first_at),
            "annotations": {"secret-ish": "do-not-keep"},
            "managedFields": [{"manager": "kubelet"}],
        },
        "involvedObject": {
            "kind": "Pod",
            "namespace": "shop",
            "name": pod_name,
            "uid": pod_uid,
            "apiVersion": "v1",
            "resourceVersion": "48213",
            **({"fieldPath": field_path} if field_path else {}),
        },
        "reason": reason,
        "message": message,
        "source": {"component": "kubelet", "host": node},
        "firstTimestamp": iso(first_at),
        "lastTimestamp": iso(at),
        "count": count,
        "type": type_,
        "eventTime": None,
        "reportingComponent": "kubelet",
        "reportingInstance": node,
    }


def scheduler_event(
    reason: str,
    message: str,
    *,
    at: datetime,
    series: tuple[int, datetime] | None = None,
    uid: str = "ev-sched-1",
    type_: str = "Normal",
) -> dict[str, Any]:
    """An events.k8s.io-written Event seen through core/v1 (no first/lastTimestamp)."""
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": f"web-7d9f8b6c5-x2x7q.{int(at.timestamp() * 1e9):x}",
            "namespace": "shop",
            "uid": uid,
            "resourceVersion": "2001",
            "creationTimestamp": iso(at.replace(microsecond=0)),
        },
        "involvedObject": {
            "kind": "Pod",
            "namespace": "shop",
            "name": "web-7d9f8b6c5-x2x7q",
            "uid": POD_UID,
            "apiVersion": "v1",
            "resourceVersion": "48100",
        },
        "reason": reason,
        "message": message,
        "source": {},
        "firstTimestamp": None,
        "lastTimestamp": None,
        "type": type_,
        "eventTime": iso(at),
        "action": "Binding" if reason == "Scheduled" else "Scheduling",
        "reportingComponent": "default-scheduler",
        "reportingInstance": "default-scheduler-control-plane-1",
        **({"series": {"count": series[0], "lastObservedTime": iso(series[1])}} if series else {}),
    }


def ev(raw: dict[str, Any]) -> PodEvent:
    event = event_from_raw(raw)
    assert event.problems == (), event.problems
    return event


# --- parsing ---------------------------------------------------------------------------------


def test_a_kubelet_event_is_typed_with_its_container_and_source():
    event = ev(kubelet_event("Killing", "Stopping container app", at=T0))

    assert event.involved_uid == POD_UID
    assert event.involved_kind == "Pod"
    assert event.container_name == "app"
    assert event.container_list == "containers"
    assert event.source_component == "kubelet"
    assert event.source_host == "ip-10-0-3-17.eu-west-1.compute.internal"
    assert event.reporting_controller == "kubelet"
    assert event.count == 1
    assert event.occurred_at == T0
    assert event.occurred_at_source == "event:lastTimestamp"


def test_init_container_field_paths_are_parsed():
    event = ev(
        kubelet_event("Started", "Started container migrate", at=T0, container="migrate", init=True)
    )

    assert event.container_name == "migrate"
    assert event.container_list == "initContainers"


def test_redaction_keeps_no_annotations_or_managed_fields():
    event = ev(kubelet_event("Killing", "Stopping container app", at=T0))

    assert "do-not-keep" not in repr(event)
    assert "managedFields" not in repr(event)


def test_messages_are_truncated_to_one_kibibyte_without_splitting_a_character():
    event = ev(kubelet_event("Unhealthy", "Readiness probe failed: " + "é" * 800, at=T0))

    assert len(event.message.encode("utf-8")) <= 1024
    assert event.message_truncated
    assert event.message.endswith("é")


@pytest.mark.parametrize(
    ("extra", "expected", "source"),
    [
        (
            {"series": {"count": 3, "lastObservedTime": "2026-11-21T04:00:09.250000Z"}},
            T0 + timedelta(seconds=9, microseconds=250000),
            "event:series.lastObservedTime",
        ),
        (
            {"eventTime": "2026-11-21T04:00:01.500000Z"},
            T0 + timedelta(seconds=1.5),
            "event:eventTime",
        ),
        (
            {"lastTimestamp": "2026-11-21T04:00:02Z"},
            T0 + timedelta(seconds=2),
            "event:lastTimestamp",
        ),
        (
            {"firstTimestamp": "2026-11-21T04:00:03Z"},
            T0 + timedelta(seconds=3),
            "event:firstTimestamp",
        ),
        ({}, T0, "event:metadata.creationTimestamp"),
    ],
)
def test_occurrence_time_follows_the_reference_precedence(extra, expected, source):
    raw = {
        "metadata": {"uid": "e1", "creationTimestamp": iso(T0)},
        "involvedObject": {"kind": "Pod", "uid": POD_UID},
        "reason": "Scheduled",
        "eventTime": None,
        "firstTimestamp": None,
        "lastTimestamp": None,
        **extra,
    }
    event = ev(raw)

    assert event.occurred_at == expected
    assert event.occurred_at_source == source


def test_a_scheduler_event_without_legacy_timestamps_uses_event_time():
    at = T0 + timedelta(microseconds=123456)
    event = ev(scheduler_event("Scheduled", "Successfully assigned shop/web to node-1", at=at))

    assert event.occurred_at == at
    assert event.reporting_controller == "default-scheduler"
    assert event.container_name == ""


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("not an event", "event: expected an object"),
        ({"metadata": "x"}, "metadata: expected an object"),
        ({"metadata": {"uid": "u"}, "count": "3"}, "count: expected an integer"),
        ({"metadata": {"uid": "u"}, "count": True}, "count: expected an integer"),
        ({"metadata": {"uid": "u"}, "lastTimestamp": "yesterday"}, "lastTimestamp: unparseable"),
        ({"metadata": {"uid": "u"}, "lastTimestamp": 17}, "lastTimestamp: expected a timestamp"),
        ({"metadata": {}}, "metadata.uid: missing"),
        ({"metadata": {"uid": "u"}, "involvedObject": {"fieldPath": "spec.volumes"}}, "fieldPath"),
        ({"metadata": {"uid": "u"}, "reason": 5}, "reason: expected a string"),
        ({"metadata": {"uid": "u"}}, "no timestamp at all"),
    ],
)
def test_malformed_events_yield_problems_instead_of_raising(raw, problem):
    event = event_from_raw(raw)

    assert any(problem in p for p in event.problems), event.problems


# --- de-aggregation ------------------------------------------------------------------------


def test_first_sight_of_a_single_event_is_one_exact_occurrence():
    event = ev(kubelet_event("Killing", "Stopping container app", at=T0, uid="k1"))

    [occ] = occurrences_between(None, event)

    assert occ.key == "k1#1"
    assert occ.ordinal == 1
    assert occ.at == T0
    assert occ.time_source == "event:lastTimestamp"


def test_a_count_bump_is_new_occurrences_not_a_duplicate():
    first = ev(kubelet_event("Unhealthy", "Readiness probe failed: 503", at=T0, uid="u1"))
    bumped = ev(
        kubelet_event(
            "Unhealthy",
            "Readiness probe failed: 503",
            at=T0 + timedelta(seconds=30),
            count=4,
            first=T0,
            uid="u1",
        )
    )

    occs = occurrences_between(first, bumped)

    assert [o.key for o in occs] == ["u1#2", "u1#3", "u1#4"]
    assert [o.at for o in occs] == [None, None, T0 + timedelta(seconds=30)]
    assert occs[0].earliest == T0
    assert occs[0].latest == T0 + timedelta(seconds=30)
    assert occs[0].time_source.startswith("bounded:")


def test_first_sight_of_an_aggregated_event_after_a_relist_recovers_every_occurrence():
    raw = kubelet_event(
        "BackOff",
        "Back-off restarting failed container app in pod web",
        at=T0 + timedelta(minutes=5),
        count=3,
        first=T0,
        uid="b1",
        type_="Warning",
    )

    occs = occurrences_between(None, ev(raw))

    assert [o.ordinal for o in occs] == [1, 2, 3]
    assert occs[0].at == T0
    assert occs[0].time_source == "event:firstTimestamp"
    assert occs[1].at is None
    assert (occs[1].earliest, occs[1].latest) == (T0, T0 + timedelta(minutes=5))
    assert occs[2].at == T0 + timedelta(minutes=5)


def test_replays_and_out_of_order_versions_add_nothing():
    newer = ev(
        kubelet_event(
            "Unhealthy",
            "Liveness probe failed",
            at=T0 + timedelta(seconds=20),
            count=3,
            first=T0,
            uid="u1",
        )
    )
    older = ev(
        kubelet_event(
            "Unhealthy",
            "Liveness probe failed",
            at=T0 + timedelta(seconds=10),
            count=2,
            first=T0,
            uid="u1",
        )
    )

    assert occurrences_between(newer, newer) == []
    assert occurrences_between(newer, older) == []


def test_keys_are_identical_whichever_path_produced_them():
    v1 = ev(kubelet_event("Unhealthy", "Liveness probe failed", at=T0, uid="u1"))
    v3 = ev(
        kubelet_event(
            "Unhealthy",
            "Liveness probe failed",
            at=T0 + timedelta(seconds=20),
            count=3,
            first=T0,
            uid="u1",
        )
    )

    incremental = occurrences_between(None, v1) + occurrences_between(v1, v3)
    relisted = occurrences_between(None, v3)

    assert [o.key for o in incremental] == [o.key for o in relisted]


def test_a_previous_version_of_another_event_is_ignored():
    other = ev(kubelet_event("Killing", "Stopping container app", at=T0, uid="other", count=5))
    event = ev(kubelet_event("Killing", "Stopping container app", at=T0, uid="k1"))

    assert [o.key for o in occurrences_between(other, event)] == ["k1#1"]


def test_a_scheduler_series_counts_from_event_time_to_last_observed_time():
    at = T0 + timedelta(microseconds=500)
    last = T0 + timedelta(minutes=3, microseconds=700)
    single = ev(
        scheduler_event(
            "FailedScheduling", "0/3 nodes are available", at=at, uid="s1", type_="Warning"
        )
    )
    series = ev(
        scheduler_event(
            "FailedScheduling",
            "0/3 nodes are available",
            at=at,
            uid="s1",
            series=(2, last),
            type_="Warning",
        )
    )

    from_scratch = occurrences_between(None, series)
    incremental = occurrences_between(single, series)

    assert [(o.ordinal, o.at) for o in from_scratch] == [(1, at), (2, last)]
    assert from_scratch[0].time_source == "event:eventTime (first of series)"
    assert [(o.ordinal, o.at) for o in incremental] == [(2, last)]


# --- classification ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Liveness probe failed: HTTP probe failed with statuscode: 500", ProbeKind.LIVENESS),
        (
            'Readiness probe failed: Get "http://10.0.3.4:8080/ready": context deadline exceeded',
            ProbeKind.READINESS,
        ),
        (
            "Startup probe failed: dial tcp 10.0.3.4:8080: connect: connection refused",
            ProbeKind.STARTUP,
        ),
        ("Readiness probe errored: rpc error", ProbeKind.READINESS),
        ("(combined from similar events): Liveness probe failed: timeout", ProbeKind.LIVENESS),
        ("Something else", None),
    ],
)
def test_probe_failures_are_classified_by_message_prefix(message, expected):
    event = ev(kubelet_event("Unhealthy", message, at=T0, type_="Warning"))

    assert probe_failure(event) is expected


def test_probe_failure_needs_the_unhealthy_reason():
    assert (
        probe_failure(ev(kubelet_event("ProbeWarning", "Liveness probe warning: x", at=T0))) is None
    )


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Stopping container app", KillCause.STOP_POD),
        ("Container app failed liveness probe, will be restarted", KillCause.LIVENESS_PROBE),
        ("Container app failed liveness probe", KillCause.LIVENESS_PROBE),
        ("Container app failed startup probe, will be restarted", KillCause.STARTUP_PROBE),
        ("FailedPostStartHook", KillCause.POST_START_HOOK),
        ("Container app definition changed, will be restarted", KillCause.SPEC_CHANGED),
        ("Killing for some new reason", KillCause.OTHER),
    ],
)
def test_killing_events_say_why_the_container_is_stopped(message, expected):
    assert kill_cause(ev(kubelet_event("Killing", message, at=T0))) is expected


def test_kill_cause_is_none_for_other_reasons():
    assert kill_cause(ev(kubelet_event("Started", "Started container app", at=T0))) is None


def test_hook_failures_are_classified():
    assert (
        hook_failure(ev(kubelet_event("FailedPostStartHook", "PostStartHook failed", at=T0)))
        is HookKindFailed.POST_START
    )
    assert (
        hook_failure(ev(kubelet_event("FailedPreStopHook", "PreStopHook failed", at=T0)))
        is HookKindFailed.PRE_STOP
    )
    assert hook_failure(ev(kubelet_event("Killing", "Stopping container app", at=T0))) is None


@pytest.mark.parametrize(
    ("message", "kind", "pull"),
    [
        (
            'Back-off pulling image "registry.example.com/shop/web:1.4.2"',
            BackOffKind.IMAGE_PULL,
            True,
        ),
        (
            "Back-off restarting failed container app in pod web_shop(6f1c)",
            BackOffKind.RESTART,
            False,
        ),
        ("Back-off something", BackOffKind.OTHER, False),
    ],
)
def test_back_off_is_either_a_pull_or_a_restart(message, kind, pull):
    event = ev(kubelet_event("BackOff", message, at=T0, type_="Warning"))

    assert back_off_kind(event) is kind
    assert is_pull(event) is pull


@pytest.mark.parametrize(
    ("reason", "message", "scheduling", "pull", "eviction", "preemption"),
    [
        ("Scheduled", "Successfully assigned shop/web to node-1", True, False, False, False),
        (
            "FailedScheduling",
            "0/5 nodes are available: 5 Insufficient cpu.",
            True,
            False,
            False,
            False,
        ),
        ("Pulling", 'Pulling image "nginx:1.27"', False, True, False, False),
        (
            "Pulled",
            'Container image "nginx:1.27" already present on machine',
            False,
            True,
            False,
            False,
        ),
        ("Failed", 'Failed to pull image "nginx:nope": not found', False, True, False, False),
        ("Failed", "Error: ErrImagePull", False, True, False, False),
        (
            "Failed",
            "Error: couldn't find key password in Secret shop/db",
            False,
            False,
            False,
            False,
        ),
        ("Evicted", "The node was low on resource: memory.", False, False, True, False),
        ("TaintManagerEviction", "Marking for deletion Pod shop/web", False, False, True, False),
        ("TaintManagerEviction", "Cancelling deletion of Pod shop/web", False, False, False, False),
        ("Preempted", "Preempted by pod 1234 on node node-1", False, False, False, True),
        ("Preempting", "Preempted in order to admit critical pod", False, False, False, True),
    ],
)
def test_event_classification(reason, message, scheduling, pull, eviction, preemption):
    event = ev(kubelet_event(reason, message, at=T0, container=None))

    assert is_scheduling(event) is scheduling
    assert is_pull(event) is pull
    assert is_eviction(event) is eviction
    assert is_preemption(event) is preemption


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1.2s", 1.2),
        ("532ms", 0.532),
        ("1m2.5s", 62.5),
        ("2h0m0s", 7200.0),
        ("750us", 0.00075),
        ("0", 0.0),
        ("", None),
        ("abc", None),
        ("1.2", None),
    ],
)
def test_go_durations_are_parsed(text, seconds):
    result = parse_go_duration(text)

    if seconds is None:
        assert result is None
    else:
        assert result == pytest.approx(seconds)


def test_a_pulled_message_gives_the_pull_duration():
    event = ev(
        kubelet_event(
            "Pulled",
            'Successfully pulled image "registry.example.com/shop/web:1.4.2" in 12.345s '
            "(15.1s including waiting). Image size: 48213342 bytes.",
            at=T0,
        )
    )

    result = pull_result(event)

    assert result is not None
    assert result.image == "registry.example.com/shop/web:1.4.2"
    assert result.pulled
    assert result.duration_seconds == pytest.approx(12.345)
    assert result.duration_including_waiting_seconds == pytest.approx(15.1)


def test_an_older_pulled_message_without_waiting_still_gives_the_duration():
    event = ev(kubelet_event("Pulled", 'Successfully pulled image "nginx:1.27" in 1m3.2s', at=T0))

    result = pull_result(event)

    assert result is not None
    assert result.duration_seconds == pytest.approx(63.2)
    assert result.duration_including_waiting_seconds is None


def test_an_image_already_present_is_not_a_pull():
    event = ev(
        kubelet_event("Pulled", 'Container image "nginx:1.27" already present on machine', at=T0)
    )

    result = pull_result(event)

    assert result is not None
    assert not result.pulled
    assert result.image == "nginx:1.27"
    assert result.duration_seconds == 0.0
    assert pulled_image(event) == "nginx:1.27"
    assert pull_result(ev(kubelet_event("Pulling", 'Pulling image "nginx:1.27"', at=T0))) is None


def test_latest_versions_keep_one_per_event_ordered_by_first_occurrence_even_without_times():
    undated = event_from_raw({"metadata": {"uid": "z"}, "reason": "Killing"})
    undated_too = event_from_raw({"metadata": {"uid": "y"}, "reason": "Killing"})
    dated = ev(kubelet_event("Killing", "Stopping container app", at=T0, uid="k1"))

    assert [e.uid for e in latest_event_versions([undated, dated, undated_too])] == ["k1", "y", "z"]


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            "Error: couldn't find key password in Secret shop/db-credentials",
            "Error: couldn't find key <redacted> in Secret <redacted>",
        ),
        (
            'MountVolume.SetUp failed for volume "creds" : secret "db-credentials" not found',
            'MountVolume.SetUp failed for volume "creds" : secret "<redacted>" not found',
        ),
        ('Error: configmap "app-config" not found', 'Error: configmap "<redacted>" not found'),
        (
            "Liveness probe failed: curl -H 'Authorization: Bearer eyJhbGciOi.x-y' localhost",
            "Liveness probe failed: curl -H 'Authorization: Bearer <redacted>' localhost",
        ),
        (
            'Readiness probe failed: DB_PASSWORD=hunter2 api_key: "k-123" token=abc,next',
            "Readiness probe failed: DB_PASSWORD=<redacted> api_key: <redacted> "
            "token=<redacted>,next",
        ),
    ],
)
def test_messages_lose_secret_references_and_credential_values(message, expected):
    event = ev(kubelet_event("Failed", message, at=T0, type_="Warning"))

    assert event.message == expected
    assert event.message_redacted


def test_ordinary_messages_are_kept_verbatim():
    message = "Back-off restarting failed container app in pod web_shop(6f1c)"
    event = ev(kubelet_event("BackOff", message, at=T0, type_="Warning"))

    assert event.message == message
    assert not event.message_redacted


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=20,
)
_EVENT_KEYS = st.sampled_from(
    [
        "metadata",
        "involvedObject",
        "source",
        "series",
        "count",
        "firstTimestamp",
        "lastTimestamp",
        "eventTime",
        "message",
        "reason",
        "type",
    ]
)


@settings(max_examples=80, deadline=None)
@given(st.dictionaries(_EVENT_KEYS, _JSON, max_size=8) | _JSON)
def test_event_from_raw_never_raises(raw):
    event = event_from_raw(raw)

    occurrences_between(None, event)
    kill_cause(event)
    is_pull(event)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=6), min_size=1, max_size=5))
def test_incremental_de_aggregation_yields_each_ordinal_once(bumps):
    counts = []
    total = 0
    for bump in bumps:
        total += bump
        counts.append(total)
    versions = [
        ev(
            kubelet_event(
                "Unhealthy",
                "Liveness probe failed",
                at=T0 + timedelta(seconds=10 * n),
                count=n,
                first=T0,
                uid="u1",
            )
        )
        for n in counts
    ]

    keys = []
    previous = None
    for version in versions:
        keys += [o.key for o in occurrences_between(previous, version)]
        previous = version

    assert keys == [f"u1#{n}" for n in range(1, total + 1)]
    assert keys == [o.key for o in occurrences_between(None, versions[-1])]
