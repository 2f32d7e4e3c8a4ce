"""Tie a process's life to its parent's.

`make` does not forward SIGTERM to its recipe, so a killed `make run` would otherwise leave
the supervisor (and everything under it) running; a supervisor killed outright (SIGKILL, the
OOM killer) never runs the code that stops its children. Linux can deliver a signal when the
parent dies; elsewhere this is a no-op and Ctrl-C (which reaches the whole foreground group)
remains the way to stop.
"""

from __future__ import annotations

import ctypes
import signal
import sys

_PR_SET_PDEATHSIG = 1

# Resolved once, at import: as a ``preexec_fn`` the call runs between fork and exec, where it
# must not load anything (another thread of the parent may hold the loader's lock).
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def die_with_parent(signum: int = signal.SIGTERM) -> None:
    """Have ``signum`` sent to this process when its parent dies, however it dies.

    Call it first thing in a process, or pass it as ``preexec_fn`` to have it apply to a child.
    Linux ties it to the thread that started the child: start children from a thread that
    outlives them (the main thread).
    """
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0)
