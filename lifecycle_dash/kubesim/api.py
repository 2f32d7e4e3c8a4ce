"""Request routing and the REST handlers: discovery, list/get/create/update/patch/delete, watch.

Pure request -> response logic over the store; sockets are the server's business. A watch is
returned as a ``WatchPlan`` that the server runs on the connection.

Semantics that clients depend on and that are modelled here:

* LIST returns the global resourceVersion; ``limit``/``continue`` page over one snapshot.
* Watch ``resourceVersion`` unset or ``"0"``: synthetic ADDED for the current state, then
  changes; any other value: the retained changes after it, or one ERROR 410 event on a 200.
* Pod DELETE applies graceful-deletion rules (``deletion.request_pod_deletion``).
* PUT on a pod ignores status, PUT on ``pods/status`` ignores everything but status.
* ``Accept: ...;as=Table;g=meta.k8s.io`` gets server-side printed Tables.
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from lifecycle_dash.kubesim import discovery, errors, table, validation
from lifecycle_dash.kubesim.clock import format_time
from lifecycle_dash.kubesim.defaults import type_meta
from lifecycle_dash.kubesim.deletion import request_pod_deletion
from lifecycle_dash.kubesim.httpio import Request
from lifecycle_dash.kubesim.listing import Pager
from lifecycle_dash.kubesim.patch import merge_patch, strategic_merge_patch
from lifecycle_dash.kubesim.selectors import (
    Predicate,
    combine,
    parse_field_selector,
    parse_label_selector,
)
from lifecycle_dash.kubesim.store import Store, clone

log = logging.getLogger(__name__)

Recorder = Callable[[str, dict[str, Any]], None]

_LIST_KIND = {"pods": "PodList", "events": "EventList", "namespaces": "NamespaceList"}
_NS = r"namespaces/(?P<ns>[^/]+)"
_NAME = r"(?P<name>[^/]+)"
_CORE = r"^/api/v1/(?:watch/)?"
_DISCOVERY = r"^/apis/discovery\.k8s\.io/v1/(?:watch/)?"
# (pattern, subresource); each pattern names the resource as <kind>.
_ROUTES: list[tuple[re.Pattern[str], str | None]] = [
    (re.compile(_CORE + r"(?P<kind>pods|events|namespaces)$"), None),
    (re.compile(_CORE + _NS + r"/(?P<kind>pods|events)$"), None),
    (re.compile(_CORE + _NS + r"/(?P<kind>pods|events)/" + _NAME + "$"), None),
    (re.compile(r"^/api/v1/" + _NS + r"/(?P<kind>pods)/" + _NAME + "/status$"), "status"),
    (re.compile(r"^/api/v1/" + _NS + r"/(?P<kind>pods)/" + _NAME + "/eviction$"), "eviction"),
    (re.compile(_CORE + r"(?P<kind>namespaces)/" + _NAME + "$"), None),
    (re.compile(_DISCOVERY + r"(?P<kind>endpointslices)$"), None),
    (re.compile(_DISCOVERY + _NS + r"/(?P<kind>endpointslices)$"), None),
    (re.compile(_DISCOVERY + _NS + r"/(?P<kind>endpointslices)/" + _NAME + "$"), None),
]
_VERB_BY_METHOD = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


@dataclass(slots=True)
class Response:
    code: int
    body: bytes
    content_type: str = "application/json"


@dataclass(slots=True)
class WatchPlan:
    kind: str
    namespace: str | None
    predicate: Predicate | None
    resource_version: str
    timeout: float
    bookmarks: bool
    send_initial_events: bool
    table_version: str | None
    include_object: str


@dataclass(slots=True)
class Target:
    kind: str
    namespace: str | None
    name: str | None
    subresource: str | None
    is_watch_path: bool


@dataclass
class ApiConfig:
    token: str
    forbidden: list[str] = field(default_factory=list)
    default_watch_timeout: tuple[float, float] = (1800.0, 3600.0)
    bookmark_interval: float = 60.0
    require_token: bool = False


def json_response(code: int, obj: Any) -> Response:
    return Response(code, orjson.dumps(obj))


def error_response(error: errors.ApiError) -> Response:
    return json_response(error.code, error.status())


class Api:
    def __init__(
        self,
        store: Store,
        config: ApiConfig,
        *,
        server_address: Callable[[], str],
        recorder: Recorder | None = None,
    ) -> None:
        self.store = store
        self.config = config
        self.pager = Pager()
        self.server_address = server_address
        self.recorder = recorder

    # ---- entry point -------------------------------------------------------------------------

    def handle(self, request: Request) -> Response | WatchPlan:
        try:
            return self._handle(request)
        except errors.ApiError as error:
            return error_response(error)
        except Exception as exc:
            # A malformed body that slipped past validation, or a bug: answer like the API
            # server's panic handler rather than dropping the connection.
            log.exception("kubesim: %s %s failed", request.method, request.target)
            return error_response(
                errors.ApiError(500, "InternalError", f"an error on the server: {exc!r}")
            )

    def authenticate(self, request: Request) -> None:
        # kubectl (clientcmd) never sends a bearer token to a plain-http server
        # (kubernetes/kubectl#744), so a request without credentials is served like the old
        # insecure port did, unless require_token is set. A wrong token is always a 401.
        header = request.headers.get("authorization")
        if header is None and not self.config.require_token:
            return
        scheme, _, token = (header or "").partition(" ")
        if scheme.lower() != "bearer" or token.strip() != self.config.token:
            raise errors.unauthorized()

    def _handle(self, request: Request) -> Response | WatchPlan:
        path = request.path.rstrip("/") or "/"
        if path in ("/healthz", "/livez", "/readyz"):
            return Response(200, b"ok", "text/plain; charset=utf-8")
        if path == "/version":
            return json_response(200, discovery.SERVER_VERSION)
        self.authenticate(request)
        static = self._static(path)
        if static is not None:
            if request.method != "GET":
                raise errors.method_not_allowed()
            return static
        target = self._route(path)
        if target is None:
            raise errors.not_found_path(path)
        verb = self._verb(request, target)
        self._authorize(verb, target)
        if target.subresource == "eviction":
            if request.method != "POST":
                raise errors.method_not_allowed()
            return self._evict(request, target)
        if target.name is None:
            if request.method == "GET":
                if verb == "watch":
                    return self._watch_plan(request, target)
                return self._list(request, target)
            if request.method == "POST":
                return self._create(request, target)
            raise errors.method_not_allowed()
        if request.method == "GET":
            if verb == "watch":
                return self._watch_plan(request, target)
            return self._get(request, target)
        if request.method == "DELETE" and target.subresource is None:
            return self._delete(request, target)
        if request.method == "PUT":
            return self._update(request, target, self._body(request))
        if request.method == "PATCH":
            return self._patch(request, target)
        raise errors.method_not_allowed()

    # ---- routing -----------------------------------------------------------------------------

    def _static(self, path: str) -> Response | None:
        documents: dict[str, Any] = {
            "/api": discovery.api_versions(self.server_address()),
            "/api/v1": discovery.CORE_RESOURCES,
            "/apis": discovery.GROUP_LIST,
            "/apis/discovery.k8s.io": discovery.DISCOVERY_GROUP,
            "/apis/discovery.k8s.io/v1": discovery.DISCOVERY_RESOURCES,
            "/openapi/v3": discovery.openapi_v3_root(),
        }
        if path in documents:
            return json_response(200, documents[path])
        if path.startswith("/openapi/v3/"):
            document = discovery.openapi_v3_document(path.removeprefix("/openapi/v3/"))
            if document is not None:
                return json_response(200, document)
        return None

    @staticmethod
    def _route(path: str) -> Target | None:
        for pattern, subresource in _ROUTES:
            match = pattern.match(path)
            if match is None:
                continue
            groups = match.groupdict()
            return Target(
                kind=groups["kind"],
                namespace=groups.get("ns"),
                name=groups.get("name"),
                subresource=subresource,
                is_watch_path="/watch/" in path,
            )
        return None

    @staticmethod
    def _verb(request: Request, target: Target) -> str:
        if request.method == "GET":
            if target.is_watch_path or request.flag("watch"):
                return "watch"
            return "list" if target.name is None else "get"
        return _VERB_BY_METHOD.get(request.method, request.method.lower())

    def _authorize(self, verb: str, target: Target) -> None:
        for rule in self.config.forbidden:
            parts = rule.split(":")
            rule_verb, rule_kind = parts[0], parts[1] if len(parts) > 1 else "*"
            rule_ns = parts[2] if len(parts) > 2 else "*"
            if (
                rule_verb in ("*", verb)
                and rule_kind in ("*", target.kind)
                and (rule_ns == "*" or rule_ns == (target.namespace or ""))
            ):
                raise errors.forbidden(verb, target.kind, target.namespace)

    # ---- reads -------------------------------------------------------------------------------

    def _predicate(self, request: Request, kind: str) -> Predicate | None:
        return combine(
            parse_label_selector(request.query.get("labelSelector")),
            parse_field_selector(kind, request.query.get("fieldSelector")),
        )

    def _list(self, request: Request, target: Target) -> Response:
        kind = target.kind
        namespace = target.namespace if kind != "namespaces" else None
        predicate = self._predicate(request, kind)
        limit = _int_param(request, "limit", 0)
        rv_param = request.query.get("resourceVersion", "")
        if request.query.get("resourceVersionMatch") and not rv_param:
            raise errors.invalid(
                kind,
                "",
                [
                    (
                        "resourceVersionMatch",
                        "Forbidden: resourceVersionMatch is forbidden unless "
                        "resourceVersion is provided",
                    )
                ],
            )
        if rv_param and rv_param != "0":
            requested = _parse_rv(rv_param)
            if requested > self.store.resource_version:
                raise errors.ApiError(
                    504,
                    "Timeout",
                    f"Too large resource version: {requested}, current: "
                    f"{self.store.resource_version}",
                )
        page = self.pager.page(
            self.store,
            kind,
            namespace,
            predicate,
            limit=limit,
            continue_token=request.query.get("continue") or None,
        )
        list_meta: dict[str, Any] = {"resourceVersion": str(page.rv)}
        if page.continue_token:
            list_meta["continue"] = page.continue_token
            if page.remaining is not None:
                list_meta["remainingItemCount"] = page.remaining
        if self.recorder is not None:
            for stored in page.items:
                self.recorder(kind, stored.obj)
        table_version = table.requested_table_version(request.headers.get("accept", ""))
        if table_version is not None:
            rendered = table.table(
                kind,
                (stored.obj for stored in page.items),
                now=self.store.clock.now(),
                include_object=table.check_include_object(request.query.get("includeObject")),
                version=table_version,
                list_meta=list_meta,
            )
            return json_response(200, rendered)
        api_version, _ = type_meta(kind)
        list_kind = _LIST_KIND.get(kind, "EndpointSliceList")
        head = orjson.dumps({"kind": list_kind, "apiVersion": api_version, "metadata": list_meta})
        body = b"".join((head[:-1], b',"items":[', b",".join(s.raw for s in page.items), b"]}"))
        return Response(200, body)

    def _get(self, request: Request, target: Target) -> Response:
        stored = self.store.get_stored(target.kind, target.namespace, target.name or "")
        if stored is None:
            raise errors.not_found(target.kind, target.name or "")
        if self.recorder is not None:
            self.recorder(target.kind, stored.obj)
        table_version = table.requested_table_version(request.headers.get("accept", ""))
        if table_version is not None:
            rendered = table.table(
                target.kind,
                [stored.obj],
                now=self.store.clock.now(),
                include_object=table.check_include_object(request.query.get("includeObject")),
                version=table_version,
                list_meta={"resourceVersion": stored.obj["metadata"]["resourceVersion"]},
            )
            return json_response(200, rendered)
        return Response(200, stored.raw)

    def _watch_plan(self, request: Request, target: Target) -> WatchPlan:
        kind = target.kind
        timeout = float(_int_param(request, "timeoutSeconds", 0))
        if timeout <= 0:
            # Unset (or 0): a random time in [min-request-timeout, 2x), as the API server does.
            low, high = self.config.default_watch_timeout
            timeout = random.uniform(low, high)
        rv = request.query.get("resourceVersion", "")
        if rv and rv != "0":
            _parse_rv(rv)
        predicate = self._predicate(request, kind)
        if target.name is not None:
            name = target.name
            predicate = combine(predicate, lambda obj: obj["metadata"]["name"] == name)
        return WatchPlan(
            kind=kind,
            namespace=target.namespace if kind != "namespaces" else None,
            predicate=predicate,
            resource_version=rv,
            timeout=timeout,
            bookmarks=request.flag("allowWatchBookmarks"),
            send_initial_events=request.flag("sendInitialEvents"),
            table_version=table.requested_table_version(request.headers.get("accept", "")),
            include_object=table.check_include_object(request.query.get("includeObject")),
        )

    # ---- writes ------------------------------------------------------------------------------

    @staticmethod
    def _body(request: Request) -> dict[str, Any]:
        try:
            body = orjson.loads(request.body or b"{}")
        except orjson.JSONDecodeError as exc:
            raise errors.bad_request(f"error decoding request body: {exc}") from exc
        if not isinstance(body, dict):
            raise errors.bad_request("the request body must be a JSON object")
        return body

    def _require_namespace(self, namespace: str) -> None:
        if self.store.get("namespaces", None, namespace) is None:
            raise errors.not_found("namespaces", namespace)

    def _create(self, request: Request, target: Target) -> Response:
        obj = self._body(request)
        kind = target.kind
        validation.check_type_meta(kind, obj)
        meta = obj.get("metadata")
        if not isinstance(meta, dict):
            meta = obj["metadata"] = {}
        if kind != "namespaces":
            if target.namespace is None:
                raise errors.method_not_allowed()
            if meta.get("namespace") and meta["namespace"] != target.namespace:
                raise errors.bad_request(
                    "the namespace of the provided object does not match the namespace sent on "
                    "the request"
                )
            meta["namespace"] = target.namespace
            self._require_namespace(target.namespace)
        if request.query.get("fieldValidation") == "Strict":
            validation.check_strict_fields(kind, obj)
        validation.validate(kind, obj)
        if kind == "pods":
            # The API server owns a new pod's status (PodStrategy.PrepareForCreate).
            obj["status"] = {}
        if request.query.get("dryRun"):
            return json_response(201, obj)
        created = self.store.create(kind, obj)
        if self.recorder is not None:
            self.recorder(kind, created)
        return json_response(201, created)

    def _update(self, request: Request, target: Target, obj: dict[str, Any]) -> Response:
        kind, name = target.kind, target.name or ""
        validation.check_type_meta(kind, obj)
        meta = obj.get("metadata")
        if not isinstance(meta, dict):
            raise errors.bad_request("metadata is required")
        if meta.get("name") != name:
            raise errors.bad_request(
                "the name of the object "
                f"({meta.get('name')}) does not match the name on the URL ({name})"
            )
        if target.namespace is not None:
            if meta.get("namespace") and meta["namespace"] != target.namespace:
                raise errors.bad_request(
                    "the namespace of the provided object does not match the namespace sent on "
                    "the request"
                )
            meta["namespace"] = target.namespace
        current = self.store.get(kind, target.namespace, name)
        if current is None:
            raise errors.not_found(kind, name)
        if request.query.get("fieldValidation") == "Strict":
            validation.check_strict_fields(kind, obj)
        validation.validate(kind, obj)
        if kind == "pods":
            obj = self._pod_update(current, obj, status_only=target.subresource == "status")
        api_version, kind_name = type_meta(kind)
        obj["apiVersion"], obj["kind"] = api_version, kind_name
        updated = self.store.update(kind, obj)
        if self.recorder is not None:
            self.recorder(kind, updated)
        return json_response(200, updated)

    @staticmethod
    def _pod_update(
        current: dict[str, Any], obj: dict[str, Any], *, status_only: bool
    ) -> dict[str, Any]:
        if status_only:
            merged = clone(current)
            merged["status"] = obj.get("status") or {}
            rv = obj["metadata"].get("resourceVersion")
            if rv:
                merged["metadata"]["resourceVersion"] = rv
            return merged
        obj["status"] = clone(current.get("status") or {})
        meta, old_meta = obj["metadata"], current["metadata"]
        for key in ("deletionTimestamp", "deletionGracePeriodSeconds", "generation"):
            if key in old_meta:
                meta[key] = old_meta[key]
            else:
                meta.pop(key, None)
        if obj.get("spec") != current.get("spec") and meta.get("generation"):
            meta["generation"] += 1
        return obj

    def _patch(self, request: Request, target: Target) -> Response:
        content_type = request.headers.get("content-type", "").split(";")[0].strip()
        if content_type not in (
            "application/merge-patch+json",
            "application/strategic-merge-patch+json",
        ):
            raise errors.ApiError(
                415,
                "UnsupportedMediaType",
                f"the body of the request was in an unknown format - accepted media types "
                f"include: application/merge-patch+json, application/strategic-merge-patch+json"
                f" (got {content_type!r})",
            )
        current = self.store.get(target.kind, target.namespace, target.name or "")
        if current is None:
            raise errors.not_found(target.kind, target.name or "")
        if content_type == "application/merge-patch+json":
            patched = merge_patch(clone(current), self._body(request))
        else:
            patched = strategic_merge_patch(clone(current), self._body(request))
        if not isinstance(patched, dict):
            raise errors.bad_request("patch must produce an object")
        patch_meta = orjson.loads(request.body).get("metadata") or {}
        if "resourceVersion" not in patch_meta:
            patched["metadata"].pop("resourceVersion", None)
        return self._update(request, target, patched)

    def _evict(self, request: Request, target: Target) -> Response:
        """The eviction subresource without PodDisruptionBudgets: mark, then delete gracefully."""
        body = self._body(request)
        name, namespace = target.name or "", target.namespace or "default"
        if (body.get("metadata") or {}).get("name", name) != name:
            raise errors.bad_request("name in URL does not match name in Eviction object")
        pod = self.store.get("pods", namespace, name)
        if pod is None:
            raise errors.not_found("pods", name)
        options = body.get("deleteOptions") or {}
        if not pod["metadata"].get("deletionTimestamp"):
            marked = clone(pod)
            status = marked.setdefault("status", {})
            status["conditions"] = [
                *(c for c in status.get("conditions") or [] if c.get("type") != "DisruptionTarget"),
                {
                    "type": "DisruptionTarget",
                    "status": "True",
                    "lastProbeTime": None,
                    "lastTransitionTime": format_time(self.store.clock.now()),
                    "reason": "EvictionByEvictionAPI",
                    "message": "Eviction API: evicting",
                },
            ]
            self.store.update("pods", marked)
        grace = options.get("gracePeriodSeconds")
        preconditions = options.get("preconditions") or {}
        request_pod_deletion(
            self.store,
            namespace,
            name,
            None if grace is None else int(grace),
            uid=preconditions.get("uid"),
            resource_version=preconditions.get("resourceVersion"),
        )
        return json_response(
            201,
            {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Success",
                "code": 201,
            },
        )

    def _delete(self, request: Request, target: Target) -> Response:
        kind, name = target.kind, target.name or ""
        options = self._body(request) if request.body.strip() else {}
        grace: int | None = None
        if "gracePeriodSeconds" in request.query:
            grace = _int_param(request, "gracePeriodSeconds", 0)
        elif options.get("gracePeriodSeconds") is not None:
            grace = int(options["gracePeriodSeconds"])
        preconditions = options.get("preconditions") or {}
        if kind == "pods":
            result = request_pod_deletion(
                self.store,
                target.namespace or "default",
                name,
                grace,
                uid=preconditions.get("uid"),
                resource_version=preconditions.get("resourceVersion"),
            )
            if self.recorder is not None:
                self.recorder(kind, result)
            return json_response(200, result)
        current = self.store.get(kind, target.namespace, name)
        if current is None:
            raise errors.not_found(kind, name)
        if preconditions.get("uid") and preconditions["uid"] != current["metadata"]["uid"]:
            raise errors.conflict(kind, name, "Precondition failed: UID mismatch")
        removed = self.store.delete(kind, target.namespace, name)
        if kind == "namespaces" and removed is not None:
            for child_kind in ("pods", "events", "endpointslices"):
                for child in self.store.list(child_kind, name):
                    self.store.delete(child_kind, name, child["metadata"]["name"])
            return json_response(200, removed)
        return json_response(
            200,
            {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Success",
                "details": {"name": name, "kind": kind, "uid": current["metadata"]["uid"]},
            },
        )


def _int_param(request: Request, name: str, default: int) -> int:
    value = request.query.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise errors.bad_request(f"invalid value for {name}: {value!r}") from exc


def _parse_rv(value: str) -> int:
    try:
        return int(value)
    except ValueError as exc:
        raise errors.bad_request(f"invalid resource version: {value!r}") from exc
