"""Fast positional constructors for the frozen, slotted dataclasses of the hot path.

A frozen dataclass's ``__init__`` sets every field through ``object.__setattr__`` (its own
``__setattr__`` refuses), which costs about four times a plain slot store. Snapshots and
transitions are built for every pod update, so ``fast_new(cls)`` returns a function that
fills an instance of a private twin class (same slots, same layout, no frozen guard) with
plain stores and then retypes it as ``cls``. The result is an ordinary ``cls`` instance,
equal to what ``cls(*args)`` builds; every argument must be given, positionally, in field
order (no defaults are applied, no ``__post_init__`` runs: the classes it serves have none).
If the interpreter refuses the retyping, the class itself is returned as the constructor.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["fast_new"]

T = TypeVar("T")


def fast_new(cls: type[T]) -> Callable[..., T]:
    """A positional constructor for the frozen slotted dataclass ``cls`` (see module doc)."""
    fields = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    slots = getattr(cls, "__slots__", None)
    if (
        slots is None
        or tuple(slots) != tuple(fields)
        or hasattr(cls, "__post_init__")
        or not all(name.isidentifier() for name in fields)
    ):
        return cls
    twin = type(f"_{cls.__name__}Builder", (), {"__slots__": tuple(fields)})
    params = ", ".join(fields)
    stores = "".join(f"    o.{name} = {name}\n" for name in fields)
    source = f"def new({params}):\n    o = _twin()\n{stores}    o.__class__ = _cls\n    return o\n"
    namespace: dict[str, Any] = {"_twin": twin, "_cls": cls}
    exec(source, namespace)  # the same technique dataclasses uses to build __init__
    new: Callable[..., T] = namespace["new"]
    new.__qualname__ = f"fast_new({cls.__qualname__})"
    try:
        probe = twin()
        probe.__class__ = cls
    except TypeError:  # pragma: no cover - layout refused by this interpreter
        return cls
    return new
