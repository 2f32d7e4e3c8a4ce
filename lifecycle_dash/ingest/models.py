"""Storage for the watch pipeline: clusters, streams, current pods and their history.

Two kinds of tables:

* Ordinary Django tables: ``Cluster``, ``WatchStream`` (checkpoint + lease + stats),
  ``ObservationGap``, ``Pod`` (current state, one row per pod uid, kept after deletion),
  ``PodEvent`` (the latest version of each core/v1 Event object), ``EndpointSliceState`` (the
  latest compact version of each EndpointSlice, the diff base), ``EndpointObservation`` (per
  pod endpoint changes) and ``TerminationRecord``.
* Time-partitioned history, created by raw SQL in migration 0002 (Django cannot declare
  ``PARTITION BY RANGE``): ``ingest_transition`` and ``ingest_eventoccurrence``, partitioned
  daily on ``observed_at`` (our receive time). The models over them are ``managed = False``;
  ``partitions.py`` creates partitions ahead and ``retention.py`` drops old ones. There is no
  default partition: a row outside every partition is an error, never silently kept.

Why partition on ``observed_at`` and not on the API time: API times can be far in the past
(a 60-day-old pod seen for the first time) and would land outside the retained partitions;
receive time is always "now", so every insert lands in today's partition. Idempotency does
not rest on a unique index (a partitioned unique index must include the partition key, and a
replay's receive time differs); see ``processing.py`` for the argument.
"""

from __future__ import annotations

from typing import Any

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models

from lifecycle_dash.ingest import credentials


def _empty_list() -> list[str]:
    return []


def _empty_dict() -> dict[str, Any]:
    return {}


class Cluster(models.Model):
    class Source(models.TextChoices):
        KUBECONFIG = "kubeconfig", "kubeconfig"
        IN_CLUSTER = "incluster", "in-cluster service account"
        SIMULATOR = "simulator", "built-in simulator"

    class Status(models.TextChoices):
        PENDING = "pending", "not contacted yet"
        OK = "ok", "ok"
        UNAUTHORIZED = "unauthorized", "unauthorized (401)"
        FORBIDDEN = "forbidden", "forbidden (403)"
        ERROR = "error", "error"

    name = models.SlugField(max_length=63, unique=True)
    source = models.CharField(max_length=16, choices=Source.choices)
    # Fernet token (credentials.py); never the kubeconfig itself.
    kubeconfig_encrypted = models.TextField(blank=True, default="")
    context = models.CharField(max_length=253, blank=True, default="")
    # Empty = every namespace.
    namespaces = ArrayField(models.CharField(max_length=63), blank=True, default=_empty_list)
    exclude_namespaces = ArrayField(
        models.CharField(max_length=63), blank=True, default=_empty_list
    )
    enabled = models.BooleanField(default=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    status_message = models.TextField(blank=True, default="")
    status_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name

    @property
    def kubeconfig(self) -> str:
        """The decrypted kubeconfig (raises ``credentials.CredentialsUnreadable``)."""
        return credentials.decrypt(self.kubeconfig_encrypted)

    def set_kubeconfig(self, content: str) -> None:
        self.kubeconfig_encrypted = credentials.encrypt(content)

    @property
    def kubeconfig_masked(self) -> str:
        try:
            return credentials.mask(self.kubeconfig)
        except credentials.CredentialsUnreadable:
            return "(unreadable with the current SECRET_KEY)"

    def watches_namespace(self, namespace: str) -> bool:
        if self.namespaces and namespace not in self.namespaces:
            return False
        return namespace not in self.exclude_namespaces


class Resource(models.TextChoices):
    PODS = "pods", "pods"
    EVENTS = "events", "events (core/v1)"
    ENDPOINTSLICES = "endpointslices", "endpointslices (discovery/v1)"


class WatchStream(models.Model):
    """One (cluster, resource) watch: its committed checkpoint, its lease and its health.

    ``resource_version`` commits in the same transaction as the data it covers
    (``writer.py``); the lease fields belong to ``leases.py`` (conditional updates).
    """

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="streams")
    resource = models.CharField(max_length=16, choices=Resource.choices)
    # Checkpoint: everything up to this resourceVersion is committed ("" = never listed).
    resource_version = models.CharField(max_length=64, blank=True, default="")
    # Receive time of the newest event (or bookmark) the checkpoint covers.
    checkpoint_at = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=200, blank=True, default="")
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    events_total = models.BigIntegerField(default=0)
    events_per_second = models.FloatField(default=0.0)
    # Receive time of the newest watch event: now - this is the idle time / lag.
    last_event_at = models.DateTimeField(null=True, blank=True)
    last_flush_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    last_error_at = models.DateTimeField(null=True, blank=True)
    # Bad input by kind ("unparseable", "missing_uid", "malformed_fields", ...) -> count.
    bad_input = models.JSONField(default=_empty_dict, blank=True)
    relists_total = models.IntegerField(default=0)
    last_relist_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = (
            models.UniqueConstraint(
                fields=("cluster", "resource"), name="ingest_watchstream_one_per_resource"
            ),
        )

    def __str__(self) -> str:
        return f"{self.cluster_id}/{self.resource}"


class ObservationGap(models.Model):
    """A period when a stream saw nothing (410 relist, outage): history there is incomplete."""

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="gaps")
    resource = models.CharField(max_length=16, choices=Resource.choices)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField()
    reason = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = (
            # Incident review and timelines: "was there a gap overlapping [t0, t1]?"
            models.Index(fields=("cluster", "ended_at"), name="ingest_gap_cluster_ended"),
        )

    def __str__(self) -> str:
        return f"{self.resource} gap {self.started_at:%Y-%m-%d %H:%M:%S}..{self.ended_at:%H:%M:%S}"


class Pod(models.Model):
    """Current state of one pod (by uid), kept long after deletion for its history."""

    class DeletionSource(models.TextChoices):
        NONE = "", "not deleted"
        WATCH = "watch", "DELETED watch event"
        RELIST = "relist", "absent from a relist"

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="pods")
    uid = models.CharField(max_length=64)
    namespace = models.CharField(max_length=253)
    name = models.CharField(max_length=253)
    node_name = models.CharField(max_length=253, blank=True, default="")
    owner_kind = models.CharField(max_length=63, blank=True, default="")
    owner_name = models.CharField(max_length=253, blank=True, default="")
    phase = models.CharField(max_length=16, blank=True, default="")
    # kubectl columns (lifecycle.kubectl); "(5m ago)" is recomputed from last_restart_at.
    status = models.CharField(max_length=128, blank=True, default="")
    ready = models.CharField(max_length=16, blank=True, default="")
    restarts = models.IntegerField(default=0)
    last_restart_at = models.DateTimeField(null=True, blank=True)
    pod_ip = models.CharField(max_length=64, blank=True, default="")
    labels = models.JSONField(default=_empty_dict, blank=True)
    qos_class = models.CharField(max_length=16, blank=True, default="")
    created_at = models.DateTimeField(null=True, blank=True)  # metadata.creationTimestamp
    deletion_requested_at = models.DateTimeField(null=True, blank=True)
    # Upper bound of the deletion (receive time of DELETED, or the relist that missed it) ...
    deleted_at = models.DateTimeField(null=True, blank=True)
    # ... and, for a deletion observed by relist, the lower bound (last time seen alive).
    deleted_not_before = models.DateTimeField(null=True, blank=True)
    deletion_source = models.CharField(
        max_length=8, choices=DeletionSource.choices, blank=True, default=""
    )
    # Compact redacted snapshot, k8s-shaped (snapshots.py): timeline header + cache seed.
    snapshot = models.JSONField(default=_empty_dict)
    resource_version = models.CharField(max_length=64, blank=True, default="")
    # The last resourceVersions processed for this pod (bounded): a replayed old version is
    # recognised by equality, since resourceVersions must never be ordered.
    recent_resource_versions = models.JSONField(default=_empty_list, blank=True)
    first_observed_at = models.DateTimeField()
    last_observed_at = models.DateTimeField()

    class Meta:
        constraints = (
            # Upsert target of the batch writer.
            models.UniqueConstraint(fields=("cluster", "uid"), name="ingest_pod_cluster_uid"),
        )
        indexes = (
            # Dashboard default order and namespace/name filters, keyset pagination.
            models.Index(fields=("cluster", "namespace", "name"), name="ingest_pod_ns_name"),
            # Dashboard STATUS filter ("CrashLoopBackOff", "Terminating"...).
            models.Index(fields=("cluster", "status"), name="ingest_pod_status"),
            # Dashboard node filter.
            models.Index(fields=("cluster", "node_name"), name="ingest_pod_node"),
            # Dashboard owner filter (all pods of a Deployment's ReplicaSet...).
            models.Index(fields=("cluster", "owner_kind", "owner_name"), name="ingest_pod_owner"),
            # "Recently deleted": only deleted rows are indexed.
            models.Index(
                fields=("deleted_at",),
                name="ingest_pod_recently_deleted",
                condition=models.Q(deleted_at__isnull=False),
            ),
            # Timeline and permalinks address a pod by uid alone.
            models.Index(fields=("uid",), name="ingest_pod_uid"),
            # Label selectors (labels @> '{"app": "web"}').
            GinIndex(fields=("labels",), name="ingest_pod_labels", opclasses=("jsonb_path_ops",)),
        )

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


class Transition(models.Model):
    """One lifecycle transition (``lifecycle.Transition``). Partitioned table, see docstring."""

    id = models.BigIntegerField(primary_key=True)  # the table's key is (id, observed_at)
    observed_at = models.DateTimeField()
    cluster = models.ForeignKey(Cluster, on_delete=models.DO_NOTHING, db_constraint=False)
    pod_uid = models.CharField(max_length=64)
    kind = models.CharField(max_length=32)
    subject = models.CharField(max_length=253)
    old = models.JSONField(null=True)
    new = models.JSONField(null=True)
    # The authoritative instant (api_time if time_source is "api", else observed_at).
    at = models.DateTimeField()
    api_time = models.DateTimeField(null=True)
    time_source = models.CharField(max_length=8)
    key = models.TextField()
    detail = models.JSONField(default=_empty_dict)

    class Meta:
        managed = False
        db_table = "ingest_transition"

    def __str__(self) -> str:
        return f"{self.pod_uid} {self.kind} {self.subject} {self.old!r}->{self.new!r}"


class EventOccurrence(models.Model):
    """One de-aggregated occurrence of a pod Event. Partitioned table, see docstring."""

    id = models.BigIntegerField(primary_key=True)  # the table's key is (id, observed_at)
    observed_at = models.DateTimeField()
    cluster = models.ForeignKey(Cluster, on_delete=models.DO_NOTHING, db_constraint=False)
    pod_uid = models.CharField(max_length=64)
    event_uid = models.CharField(max_length=300)
    ordinal = models.IntegerField()
    key = models.TextField()
    type = models.CharField(max_length=16)
    reason = models.CharField(max_length=128)
    container_name = models.CharField(max_length=253)
    message = models.TextField()
    # Exact time when the API gives it; else the occurrence lies in [earliest, latest].
    at = models.DateTimeField(null=True)
    earliest = models.DateTimeField(null=True)
    latest = models.DateTimeField(null=True)
    # at ?? latest ?? observed_at: what timelines and reviews order and filter by.
    sort_at = models.DateTimeField()
    time_source = models.TextField()

    class Meta:
        managed = False
        db_table = "ingest_eventoccurrence"

    def __str__(self) -> str:
        return f"{self.pod_uid} {self.reason} #{self.ordinal}"


class PodEvent(models.Model):
    """The latest version seen of one core/v1 Event about a pod (display fields + diff base)."""

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="events")
    # PodEvent.key_base: metadata.uid, or namespace/name when the uid is missing.
    event_uid = models.CharField(max_length=300)
    name = models.CharField(max_length=253, blank=True, default="")
    namespace = models.CharField(max_length=253, blank=True, default="")
    resource_version = models.CharField(max_length=64, blank=True, default="")
    pod_uid = models.CharField(max_length=64, blank=True, default="")
    pod_name = models.CharField(max_length=253, blank=True, default="")
    pod_namespace = models.CharField(max_length=253, blank=True, default="")
    field_path = models.CharField(max_length=512, blank=True, default="")
    container_name = models.CharField(max_length=253, blank=True, default="")
    container_list = models.CharField(max_length=32, blank=True, default="")
    type = models.CharField(max_length=16, blank=True, default="")
    reason = models.CharField(max_length=128, blank=True, default="")
    message = models.TextField(blank=True, default="")  # truncated to 1 KiB by lifecycle
    message_truncated = models.BooleanField(default=False)
    action = models.CharField(max_length=128, blank=True, default="")
    source_component = models.CharField(max_length=253, blank=True, default="")
    source_host = models.CharField(max_length=253, blank=True, default="")
    reporting_controller = models.CharField(max_length=253, blank=True, default="")
    reporting_instance = models.CharField(max_length=253, blank=True, default="")
    count = models.IntegerField(null=True, blank=True)
    first_timestamp = models.DateTimeField(null=True, blank=True)
    last_timestamp = models.DateTimeField(null=True, blank=True)
    event_time = models.DateTimeField(null=True, blank=True)
    series_count = models.IntegerField(null=True, blank=True)
    series_last_observed_time = models.DateTimeField(null=True, blank=True)
    creation_timestamp = models.DateTimeField(null=True, blank=True)
    occurred_at = models.DateTimeField(null=True, blank=True)
    occurred_at_source = models.CharField(max_length=64, blank=True, default="")
    first_received_at = models.DateTimeField()
    last_received_at = models.DateTimeField()

    class Meta:
        constraints = (
            # Upsert target of the batch writer; cache seeding by event uid.
            models.UniqueConstraint(
                fields=("cluster", "event_uid"), name="ingest_podevent_cluster_uid"
            ),
        )
        indexes = (
            # Termination analysis and timeline: all events of one pod.
            models.Index(fields=("pod_uid",), name="ingest_podevent_pod"),
            # Retention of event versions and cache seeding of recent events.
            models.Index(fields=("last_received_at",), name="ingest_podevent_received"),
        )

    def __str__(self) -> str:
        return f"{self.reason} on {self.pod_namespace}/{self.pod_name}"


class EndpointSliceState(models.Model):
    """The latest compact version of one EndpointSlice: the base of the next diff."""

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="slices")
    namespace = models.CharField(max_length=253)
    name = models.CharField(max_length=253)
    resource_version = models.CharField(max_length=64, blank=True, default="")
    # {"metadata": {...}, "endpoints": [{"targetRef": {"uid"}, "conditions": {...}}]}
    compact = models.JSONField()
    last_observed_at = models.DateTimeField()

    class Meta:
        constraints = (
            # Upsert target of the batch writer.
            models.UniqueConstraint(
                fields=("cluster", "namespace", "name"), name="ingest_slice_cluster_ns_name"
            ),
        )

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


class EndpointObservation(models.Model):
    """A change of one pod's endpoint in one slice, at our receive time (no API time exists)."""

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="+")
    pod_uid = models.CharField(max_length=64)
    namespace = models.CharField(max_length=253)
    slice_name = models.CharField(max_length=253)
    service_name = models.CharField(max_length=253, blank=True, default="")
    observed_at = models.DateTimeField()
    ready = models.BooleanField(null=True)
    serving = models.BooleanField(null=True)
    terminating = models.BooleanField(null=True)
    removed = models.BooleanField(default=False)
    # True when the removal was inferred from a relist that no longer listed the slice.
    by_relist = models.BooleanField(default=False)

    class Meta:
        indexes = (
            # Timeline and termination analysis: a pod's endpoint history in time order.
            models.Index(fields=("pod_uid", "observed_at"), name="ingest_endpoint_pod_time"),
            # Retention.
            models.Index(fields=("observed_at",), name="ingest_endpoint_time"),
        )

    def __str__(self) -> str:
        return f"{self.pod_uid} in {self.slice_name} at {self.observed_at:%H:%M:%S}"


class TerminationRecord(models.Model):
    """``lifecycle.termination.analyze_termination`` for one pod, recomputed on new evidence."""

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="+")
    pod_uid = models.CharField(max_length=64)
    cause = models.CharField(max_length=32)
    # Per container "name:verdict", e.g. ["app:sigkill_after_grace"].
    verdicts = ArrayField(models.CharField(max_length=300), default=_empty_list)
    started_at = models.DateTimeField(null=True)
    analysis = models.JSONField()
    computed_at = models.DateTimeField()

    class Meta:
        constraints = (
            # Upsert target: one record per pod.
            models.UniqueConstraint(fields=("cluster", "pod_uid"), name="ingest_termination_pod"),
        )
        indexes = (
            # Incident review: terminations in a window, by cause.
            models.Index(fields=("started_at", "cause"), name="ingest_termination_review"),
            models.Index(fields=("pod_uid",), name="ingest_termination_uid"),
        )

    def __str__(self) -> str:
        return f"{self.pod_uid} {self.cause}"


class StartupRecord(models.Model):
    """``lifecycle.startup.analyze_startup`` for one pod, recomputed on new evidence."""

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="+")
    pod_uid = models.CharField(max_length=64)
    pod_created_at = models.DateTimeField(null=True)
    # The API-variant SLI: create -> observed Running, and with pulls/init excluded.
    pod_startup_seconds = models.FloatField(null=True)
    sli_seconds = models.FloatField(null=True)
    within_slo = models.BooleanField(null=True)
    analysis = models.JSONField()
    computed_at = models.DateTimeField()

    class Meta:
        constraints = (
            # Upsert target: one record per pod.
            models.UniqueConstraint(fields=("cluster", "pod_uid"), name="ingest_startup_pod"),
        )
        indexes = (
            # Incident review: slow starts among pods created in a window.
            models.Index(fields=("pod_created_at", "sli_seconds"), name="ingest_startup_review"),
            models.Index(fields=("pod_uid",), name="ingest_startup_uid"),
        )

    def __str__(self) -> str:
        return f"{self.pod_uid} startup {self.pod_startup_seconds}s"
