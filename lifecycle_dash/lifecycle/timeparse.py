"""RFC 3339 timestamps -> timezone-aware UTC datetimes, and back.

Kubernetes writes ``metav1.Time`` with whole seconds and ``Z`` (``2024-05-01T12:00:00Z``);
``MicroTime`` carries microseconds. Other writers (simulators, proxies) may use offsets or
nanoseconds, so accept the whole RFC 3339 grammar: fraction of any length (truncated to
microseconds), ``Z``/``z`` or ``+HH:MM``/``-HH:MM``, ``T``/``t``/space separator.

Parsing is on the ingest hot path and the same strings recur in every update of a pod
(creationTimestamp, startedAt...), so results are memoised in a small bounded dict.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

__all__ = ["format_rfc3339", "parse_rfc3339", "try_parse_rfc3339"]

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?"
    r"(?:([Zz])|([+-])(\d{2}):(\d{2}))\Z"
)

_CACHE: dict[str, datetime] = {}
_CACHE_MAX = 65536


def parse_rfc3339(value: str) -> datetime:
    """Parse an RFC 3339 timestamp into an aware UTC datetime. Raises ValueError if invalid."""
    # Checked before the cache lookup: an unhashable value (a JSON object or array where a
    # timestamp belongs) would raise TypeError there.
    if type(value) is not str:
        raise ValueError(f"not a string: {type(value).__name__}")
    cached = _CACHE.get(value)
    if cached is not None:
        return cached
    result = _parse(value)
    if len(_CACHE) >= _CACHE_MAX:
        _CACHE.clear()
    _CACHE[value] = result
    return result


def try_parse_rfc3339(value: object) -> datetime | None:
    """Like ``parse_rfc3339`` but None for anything that is not a valid timestamp string."""
    cached = _CACHE.get(value) if type(value) is str else None
    if cached is not None:
        return cached
    try:
        return parse_rfc3339(value)  # type: ignore[arg-type]
    except ValueError:
        return None


def _parse(value: str) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"not a string: {type(value).__name__}")
    m = _RFC3339.match(value)
    if m is None:
        raise ValueError(f"not an RFC 3339 timestamp: {value[:64]!r}")
    year, month, day, hour, minute, second, frac, zulu, sign, off_h, off_m = m.groups()
    micro = int((frac + "000000")[:6]) if frac else 0
    sec = int(second)
    leap = sec == 60  # RFC 3339 allows a leap second; datetime does not
    if zulu:
        tz: timezone = UTC
    else:
        oh, om = int(off_h), int(off_m)
        if oh > 23 or om > 59:
            raise ValueError(f"bad UTC offset in {value[:64]!r}")
        delta = timedelta(hours=oh, minutes=om)
        tz = timezone(-delta if sign == "-" else delta)
    dt = datetime(
        int(year), int(month), int(day), int(hour), int(minute), 59 if leap else sec, micro, tz
    )
    try:
        if leap:
            dt += timedelta(seconds=1)
        return dt.astimezone(UTC)
    except OverflowError:
        # 9999-12-31T23:59:60Z or 0001-01-01T00:00:00+01:00 fall outside datetime's range.
        raise ValueError(f"out of range: {value[:64]!r}") from None


def format_rfc3339(value: datetime) -> str:
    """Format an aware datetime as RFC 3339 in UTC with ``Z`` (microseconds only if non-zero)."""
    value = value.astimezone(UTC)
    if value.microsecond:
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")
