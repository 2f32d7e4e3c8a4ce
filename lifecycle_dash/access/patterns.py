"""Namespace patterns of access grants: shell-style globs over Kubernetes namespace names.

A pattern is a namespace name in which ``*`` matches any run of characters and ``?`` one
character (``team-a-*``, ``*-prod``, ``*``). Namespaces are DNS labels (``[a-z0-9-]``), so a
pattern needs no escaping and no bracket classes: what it matches in Python (``fnmatchcase``)
and in SQL (the regular expression from ``pattern_regex``) is the same set of names.
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase

__all__ = [
    "InvalidPattern",
    "exact_namespace",
    "namespace_matches",
    "pattern_prefix",
    "pattern_regex",
    "validate_pattern",
]

_PATTERN = re.compile(r"^[a-z0-9*?-]{1,63}$")


class InvalidPattern(ValueError):
    pass


def validate_pattern(pattern: str) -> str:
    if not _PATTERN.match(pattern):
        raise InvalidPattern(
            f"{pattern[:80]!r} is not a namespace pattern: lowercase letters, digits and '-', "
            "with '*' for any characters and '?' for one (team-a-*, *-prod, *)"
        )
    return pattern


def namespace_matches(pattern: str, namespace: str) -> bool:
    return fnmatchcase(namespace, pattern)


def exact_namespace(pattern: str) -> str | None:
    """The one namespace a pattern without wildcards names, else None."""
    return None if "*" in pattern or "?" in pattern else pattern


def pattern_prefix(pattern: str) -> str | None:
    """``team-a-`` for ``team-a-*``: a pattern whose only wildcard is one trailing ``*``."""
    head = pattern[:-1]
    if pattern.endswith("*") and "*" not in head and "?" not in head:
        return head
    return None


def pattern_regex(pattern: str) -> str:
    """An anchored POSIX regular expression (PostgreSQL ``~``) equivalent to the glob."""
    body = "".join(".*" if c == "*" else "." if c == "?" else c for c in pattern)
    return f"^{body}$"
