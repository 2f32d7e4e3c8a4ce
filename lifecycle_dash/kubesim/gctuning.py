"""Cyclic garbage collector settings for the simulator process.

The store holds hundreds of thousands of acyclic JSON trees (dicts, lists, strings). Each
full cyclic-GC pass walks all of them and frees nothing, and with the default thresholds such
passes run often while objects are being created: at 150,000 pods they took about 40 % of the
store's create/update time in the benchmark. Reference counting frees the store's garbage
anyway; the collector only matters for the rare cycles (asyncio internals), so young
generations are still collected, only much less often, and full passes become rare.
"""

from __future__ import annotations

import gc


def tune_gc() -> None:
    # Everything alive at startup (modules, classes) never needs scanning again.
    gc.freeze()
    gc.set_threshold(50_000, 50, 1000)
