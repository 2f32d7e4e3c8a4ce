"""PostgreSQL leases: exactly one slice per watch stream runs anywhere.

The lease lives on the ``WatchStream`` row (``lease_owner``, ``lease_expires_at``) and every
change to it is one conditional ``UPDATE`` whose row count says whether we won. PostgreSQL
re-checks the ``WHERE`` clause against the newest row version when two updates race, so two
workers can never both see a count of 1. Times come from the database clock (``Now()``), so
workers on hosts with skewed clocks still agree on who holds what.

Lease states of a stream:

``""``                 free: the supervisor may enqueue a slice
``queued:<token>``     a slice was enqueued with this token (by the supervisor or by the
                       previous slice, as a hand-over); only that slice may take the lease,
                       until the reservation expires (the message may have been lost, e.g. in
                       a Redis restart) and the supervisor enqueues another
``<host>:<pid>:<id>``  a running slice; renewed every few seconds, so when its worker is killed
                       the lease expires within ``LEASE_SECONDS`` and the supervisor hands the
                       stream to another worker
"""

from __future__ import annotations

import os
import secrets
import socket
from datetime import timedelta

from django.db.models import Q
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import Now

from lifecycle_dash.ingest.models import WatchStream

LEASE_SECONDS = 20.0
RENEW_EVERY_SECONDS = 5.0
RESERVATION_SECONDS = 60.0
RESERVATION_PREFIX = "queued:"


def new_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"[:200]


def new_reservation() -> str:
    return f"{RESERVATION_PREFIX}{secrets.token_hex(8)}"


def _expiry(seconds: float) -> CombinedExpression:
    return Now() + timedelta(seconds=seconds)


def _free() -> Q:
    return Q(lease_owner="") | Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=Now())


def lease_acquire(
    *, stream_id: int, owner: str, reservation: str = "", seconds: float = LEASE_SECONDS
) -> bool:
    """Take the stream if it is free, expired, or reserved for us."""
    condition = _free()
    if reservation:
        condition |= Q(lease_owner=reservation)
    updated = WatchStream.objects.filter(condition, pk=stream_id).update(
        lease_owner=owner, lease_expires_at=_expiry(seconds)
    )
    return updated == 1


def lease_renew(*, stream_id: int, owner: str, seconds: float = LEASE_SECONDS) -> bool:
    """False when the lease is no longer ours (it expired and someone took it)."""
    updated = WatchStream.objects.filter(pk=stream_id, lease_owner=owner).update(
        lease_expires_at=_expiry(seconds)
    )
    return updated == 1


def lease_release(*, stream_id: int, owner: str) -> bool:
    updated = WatchStream.objects.filter(pk=stream_id, lease_owner=owner).update(
        lease_owner="", lease_expires_at=None
    )
    return updated == 1


def lease_hand_over(
    *, stream_id: int, owner: str, reservation: str, seconds: float = RESERVATION_SECONDS
) -> bool:
    """Turn our lease into a reservation for the successor slice we are about to enqueue."""
    updated = WatchStream.objects.filter(pk=stream_id, lease_owner=owner).update(
        lease_owner=reservation, lease_expires_at=_expiry(seconds)
    )
    return updated == 1


def lease_reserve(
    *, stream_id: int, reservation: str, seconds: float = RESERVATION_SECONDS
) -> bool:
    """Reserve a free or expired stream for a slice about to be enqueued (supervisor)."""
    updated = WatchStream.objects.filter(_free(), pk=stream_id).update(
        lease_owner=reservation, lease_expires_at=_expiry(seconds)
    )
    return updated == 1


def is_free() -> Q:
    """Streams whose lease is free or expired, for querysets."""
    return _free()
