"""The dashboard's query parameters, parsed and validated into a typed ``PodFilter``.

One parser serves the page, the htmx table fragment, the WebSocket consumer (its URL carries
the same query string) and the JSON API. Anything invalid raises ``FilterError`` naming the
parameter, which views render as HTTP 400 with the message, never a 500.

Parameters (all optional):

``cluster``     cluster name (exact)
``namespace``   namespace (exact)
``status``      kubectl STATUS (exact, e.g. ``CrashLoopBackOff``, ``Init:0/2``)
``phase``       ``Pending`` | ``Running`` | ``Succeeded`` | ``Failed`` | ``Unknown``
``node``        node name (exact)
``owner``       ``Kind/name`` (e.g. ``ReplicaSet/web-7d9f``) or a bare owner name
``selector``    Kubernetes label selector: ``app=web,tier!=db,env in (a,b),!canary``
``q``           free text: name, namespace or node contains (case-insensitive)
``sort``        ``name`` (cluster, namespace, name) | ``age`` (newest first) |
                ``restarts`` (most first) | ``status``
``deleted``     ``1`` to include pods deleted within the last hour (greyed out)
``after``       opaque keyset cursor of the next page (from the previous page)
``limit``       rows per page, 10..500 (default 100)
"""

from __future__ import annotations

import base64
import binascii
import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import orjson

from lifecycle_dash.access.scope import EVERYTHING, AccessScope

__all__ = [
    "DEFAULT_LIMIT",
    "FILTER_PARAMETERS",
    "PHASES",
    "Cursor",
    "FilterError",
    "LabelOp",
    "LabelRequirement",
    "PodFilter",
    "Sort",
    "decode_cursor",
    "encode_cursor",
    "parse_label_selector",
    "parse_pod_filter",
]

DEFAULT_LIMIT = 100
MIN_LIMIT = 10
MAX_LIMIT = 500
PHASES: tuple[str, ...] = ("Pending", "Running", "Succeeded", "Failed", "Unknown")

# Kubernetes name rules (apimachinery validation), as loose as the API itself allows.
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,251}[A-Za-z0-9])?$")
_LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_LABEL_PREFIX = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
_KIND = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,62}$")
_STATUS = re.compile(r"^[A-Za-z0-9:/._<>-]{1,128}$")

FILTER_PARAMETERS = (
    "cluster",
    "namespace",
    "status",
    "phase",
    "node",
    "owner",
    "selector",
    "q",
    "sort",
    "deleted",
)


class FilterError(ValueError):
    """An invalid query parameter; ``parameter`` names it, ``message`` says what is wrong."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
        self.message = message


class Sort(enum.StrEnum):
    NAME = "name"
    AGE = "age"
    RESTARTS = "restarts"
    STATUS = "status"


class LabelOp(enum.StrEnum):
    EQUALS = "="
    NOT_EQUALS = "!="
    IN = "in"
    NOT_IN = "notin"
    EXISTS = "exists"
    NOT_EXISTS = "!"


@dataclass(frozen=True, slots=True)
class LabelRequirement:
    key: str
    op: LabelOp
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, Any]) -> bool:
        """The Kubernetes semantics: ``!=`` and ``notin`` also match pods without the key."""
        present = self.key in labels
        value = labels.get(self.key)
        if self.op is LabelOp.EXISTS:
            return present
        if self.op is LabelOp.NOT_EXISTS:
            return not present
        if self.op in (LabelOp.EQUALS, LabelOp.IN):
            return present and value in self.values
        return not present or value not in self.values


@dataclass(frozen=True, slots=True)
class Cursor:
    """Keyset position: the sort key of the last row shown and its id (the tie-breaker)."""

    sort: Sort
    key: tuple[Any, ...]
    id: int


@dataclass(frozen=True, slots=True)
class PodFilter:
    cluster: str = ""
    namespace: str = ""
    status: str = ""
    phase: str = ""
    node: str = ""
    owner_kind: str = ""
    owner_name: str = ""
    selector: tuple[LabelRequirement, ...] = ()
    selector_text: str = ""
    q: str = ""
    sort: Sort = Sort.NAME
    include_deleted: bool = False
    after: Cursor | None = None
    limit: int = DEFAULT_LIMIT
    # Who is looking: every selector taking this filter reads only what the scope reaches.
    # Views set it from the request (``with_access``); not a query parameter.
    access: AccessScope = EVERYTHING
    # Parameters as given (normalised), for links and the WebSocket URL.
    params: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    @property
    def owner(self) -> str:
        if self.owner_kind:
            return f"{self.owner_kind}/{self.owner_name}"
        return self.owner_name

    @property
    def is_first_page(self) -> bool:
        return self.after is None

    def querystring(self, **overrides: str | None) -> str:
        """The filter as a query string; ``overrides`` set (or with None/"" drop) parameters.

        The cursor is never carried over: changing a filter or the sort starts at page one.
        """
        values = dict(self.params)
        for name, value in overrides.items():
            if value:
                values[name] = value
            else:
                values.pop(name, None)
        return urlencode(sorted(values.items()))

    def without_cursor(self) -> PodFilter:
        return replace(self, after=None)

    def with_access(self, access: AccessScope) -> PodFilter:
        return replace(self, access=access)


def _one(params: Mapping[str, Any], name: str) -> str:
    """The single value of a parameter; a repeated parameter is an error, not a guess."""
    getlist = getattr(params, "getlist", None)
    if getlist is not None:
        values = [str(v) for v in getlist(name)]
        if len(values) > 1:
            raise FilterError(name, "may be given only once")
        return values[0].strip() if values else ""
    value = params.get(name, "")
    return str(value).strip() if value is not None else ""


def _check(name: str, value: str, pattern: re.Pattern[str], what: str) -> str:
    if value and not pattern.match(value):
        raise FilterError(name, f"{value[:80]!r} is not a valid {what}")
    return value


def parse_pod_filter(params: Mapping[str, Any], *, allow_cursor: bool = True) -> PodFilter:
    """Parse the dashboard's query parameters (a ``QueryDict`` or a plain mapping)."""
    cluster = _check("cluster", _one(params, "cluster"), _NAME, "cluster name")
    namespace = _check("namespace", _one(params, "namespace"), _DNS_LABEL, "namespace")
    status = _check("status", _one(params, "status"), _STATUS, "STATUS")
    phase = _one(params, "phase")
    if phase and phase not in PHASES:
        raise FilterError("phase", f"must be one of {', '.join(PHASES)}")
    node = _check("node", _one(params, "node"), _NAME, "node name")
    owner = _one(params, "owner")
    owner_kind, owner_name = "", owner
    if "/" in owner:
        owner_kind, _, owner_name = owner.partition("/")
        _check("owner", owner_kind, _KIND, "owner kind (use Kind/name)")
        if not owner_name:
            raise FilterError("owner", "names no owner (use Kind/name)")
    _check("owner", owner_name, _NAME, "owner name")
    selector_text = _one(params, "selector")
    selector = parse_label_selector(selector_text)
    q = _one(params, "q")
    if len(q) > 253:
        raise FilterError("q", "is longer than 253 characters")
    sort_raw = _one(params, "sort") or Sort.NAME.value
    try:
        sort = Sort(sort_raw)
    except ValueError:
        raise FilterError("sort", f"must be one of {', '.join(s.value for s in Sort)}") from None
    deleted_raw = _one(params, "deleted")
    if deleted_raw not in ("", "0", "1"):
        raise FilterError("deleted", "must be 1 (include recently deleted pods) or 0")
    limit_raw = _one(params, "limit")
    limit = DEFAULT_LIMIT
    if limit_raw:
        try:
            limit = int(limit_raw)
        except ValueError:
            raise FilterError("limit", "must be a whole number") from None
        if not MIN_LIMIT <= limit <= MAX_LIMIT:
            raise FilterError("limit", f"must be between {MIN_LIMIT} and {MAX_LIMIT}")
    after_raw = _one(params, "after") if allow_cursor else ""
    after = decode_cursor(after_raw, sort=sort) if after_raw else None

    kept = {
        "cluster": cluster,
        "namespace": namespace,
        "status": status,
        "phase": phase,
        "node": node,
        "owner": owner,
        "selector": selector_text,
        "q": q,
        "sort": "" if sort is Sort.NAME else sort.value,
        "deleted": "1" if deleted_raw == "1" else "",
        "limit": "" if limit == DEFAULT_LIMIT else str(limit),
    }
    return PodFilter(
        cluster=cluster,
        namespace=namespace,
        status=status,
        phase=phase,
        node=node,
        owner_kind=owner_kind,
        owner_name=owner_name,
        selector=selector,
        selector_text=selector_text,
        q=q,
        sort=sort,
        include_deleted=deleted_raw == "1",
        after=after,
        limit=limit,
        params=tuple((k, v) for k, v in kept.items() if v),
    )


# --- label selectors -----------------------------------------------------------------------

_TOKEN = re.compile(r"\s*(!=|==|=|!|,|\(|\)|[^\s!=,()]+)")


def _label_key(key: str) -> str:
    prefix, slash, name = key.rpartition("/")
    if slash and not _LABEL_PREFIX.match(prefix):
        raise FilterError("selector", f"{key!r}: invalid label key prefix")
    if not _LABEL_NAME.match(name):
        raise FilterError("selector", f"{key!r} is not a valid label key")
    return key


def _label_value(value: str) -> str:
    if not _LABEL_VALUE.match(value):
        raise FilterError("selector", f"{value!r} is not a valid label value")
    return value


def parse_label_selector(text: str) -> tuple[LabelRequirement, ...]:
    """Parse a Kubernetes label selector (apimachinery ``labels.Parse`` grammar)."""
    if not text.strip():
        return ()
    if len(text) > 1024:
        raise FilterError("selector", "is longer than 1024 characters")
    tokens: list[str] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            if text[position:].strip() == "":
                break
            raise FilterError("selector", f"cannot parse near {text[position:][:20]!r}")
        tokens.append(match.group(1))
        position = match.end()

    requirements: list[LabelRequirement] = []
    i = 0

    def take() -> str:
        nonlocal i
        if i >= len(tokens):
            raise FilterError("selector", f"{text!r} ends too early")
        token = tokens[i]
        i += 1
        return token

    def peek() -> str | None:
        return tokens[i] if i < len(tokens) else None

    while True:
        token = take()
        if token == "!":
            requirements.append(LabelRequirement(_label_key(take()), LabelOp.NOT_EXISTS))
        else:
            if token in {",", "(", ")", "=", "==", "!="}:
                raise FilterError("selector", f"expected a label key, found {token!r}")
            key = _label_key(token)
            op = peek()
            if op is None or op == ",":
                requirements.append(LabelRequirement(key, LabelOp.EXISTS))
            elif op in {"=", "==", "!="}:
                take()
                value = peek()
                # `app=` (empty value) is valid Kubernetes syntax.
                if value is None or value == ",":
                    value = ""
                else:
                    value = take()
                    if value in {"(", ")", "=", "==", "!=", "!"}:
                        raise FilterError("selector", f"expected a value after {key}{op}")
                requirements.append(
                    LabelRequirement(
                        key,
                        LabelOp.NOT_EQUALS if op == "!=" else LabelOp.EQUALS,
                        (_label_value(value),),
                    )
                )
            elif op in {"in", "notin"}:
                take()
                if take() != "(":
                    raise FilterError("selector", f"expected '(' after {key} {op}")
                values: list[str] = []
                while True:
                    value = take()
                    if value == ")" and not values:
                        break
                    if value in {",", ")"}:
                        values.append("")
                    else:
                        values.append(_label_value(value))
                        value = take()
                    if value == ")":
                        break
                    if value != ",":
                        raise FilterError("selector", f"expected ',' or ')' in {key} {op} (...)")
                if not values:
                    raise FilterError("selector", f"{key} {op} () needs at least one value")
                requirements.append(
                    LabelRequirement(
                        key,
                        LabelOp.IN if op == "in" else LabelOp.NOT_IN,
                        tuple(dict.fromkeys(values)),
                    )
                )
            else:
                raise FilterError("selector", f"unexpected {op!r} after {key!r}")
        separator = peek()
        if separator is None:
            break
        take()
        if separator != ",":
            raise FilterError("selector", f"expected ',' between requirements, found {separator!r}")
    return tuple(requirements)


# --- keyset cursors ------------------------------------------------------------------------


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    return value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"t"}:
        return datetime.fromisoformat(str(value["t"]))
    return value


def encode_cursor(cursor: Cursor) -> str:
    raw = orjson.dumps([cursor.sort.value, [_encode_value(v) for v in cursor.key], cursor.id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str, *, sort: Sort) -> Cursor:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        sort_value, key, pk = orjson.loads(raw)
        cursor = Cursor(Sort(sort_value), tuple(_decode_value(v) for v in key), int(pk))
    except (binascii.Error, ValueError, TypeError, orjson.JSONDecodeError):
        raise FilterError("after", "is not a page cursor of this dashboard") from None
    if cursor.sort is not sort:
        raise FilterError("after", "belongs to another sort order; start from the first page")
    return cursor
