"""Tie a supervising process's life to its parent's.

`make` does not forward SIGTERM to its recipe, so a killed `make run` would otherwise leave
the supervisor (and everything under it) running. Linux can deliver a signal when the parent
dies; elsewhere this is a no-op and Ctrl-C (which reaches the whole foreground group) remains
the way to stop.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import signal
import sys

_PR_SET_PDEATHSIG = 1


def die_with_parent(signum: int = signal.SIGTERM) -> None:
    if not sys.platform.startswith("linux"):
        return
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return
    libc = ctypes.CDLL(libc_name, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0)
