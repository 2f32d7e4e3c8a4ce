"""Cyclic garbage collector settings for a process that ingests watch streams.

A watch worker keeps, per stream, the last snapshot of up to hundreds of thousands of pods
(and their encoded parts): millions of long-lived, acyclic objects. With the default
thresholds the collector runs a young pass every 700 allocations -- a few per watch event,
whose parsed object alone is hundreds of dicts and strings -- and full passes that walk every
cached snapshot and free nothing: in the ingest benchmark that was a large share of the
worker's CPU. Reference counting frees the ingest's garbage (parsed objects, rows) anyway;
the collector only matters for rare cycles (exceptions with tracebacks, client internals), so
young generations are still collected, just less often, and full passes become rare.
"""

from __future__ import annotations

import gc

__all__ = ["tune_gc_for_ingest"]

_tuned = False


def tune_gc_for_ingest() -> None:
    """Idempotent; called when a stream processor is created (once per process counts)."""
    global _tuned
    if _tuned:
        return
    _tuned = True
    # What is loaded by now (modules, Django, the client) lives as long as the process.
    gc.freeze()
    gc.set_threshold(50_000, 50, 1000)
