"""Access to the Kubernetes API: authenticated clients and the raw requests the watch needs.

Only ``ingest`` imports the Kubernetes client, and inside ``ingest`` only this module does.
The client is used for what it is good at -- reading kubeconfigs (contexts, exec plugins,
client certificates, token files), in-cluster service accounts with rotating tokens, TLS --
and for nothing on the hot path: every request here is made with ``_preload_content=False``,
so responses are raw ``urllib3`` responses that callers parse with orjson, and no client model
object is ever built.

Failures are translated into the few exceptions the watch loop acts on:

``Unauthorized`` / ``Forbidden``  stop the stream and tell the user (401 / 403)
``Gone``                          410: the resourceVersion or continue token expired: relist
``Transient``                     everything else (connection trouble, 5xx, 429, other codes):
                                  back off and retry
"""

from __future__ import annotations

import contextlib
import socket
from dataclasses import dataclass
from typing import Any, Final

import orjson
import urllib3
import yaml
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

SOURCE_KUBECONFIG: Final = "kubeconfig"
SOURCE_INCLUSTER: Final = "incluster"
SOURCE_SIMULATOR: Final = "simulator"


class KubeError(Exception):
    """A failure talking to the API server, with the server's message when there is one."""

    status: int = 0

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class Unauthorized(KubeError):
    status = 401


class Forbidden(KubeError):
    status = 403


class Gone(KubeError):
    status = 410


class Transient(KubeError):
    """Worth retrying after a back-off: network trouble, timeouts, 5xx, 429, odd codes."""


class Silent(Transient):
    """No data within the client-side read timeout: a stalled server, a half-open connection,
    or just a quiet stream on a server that sends no bookmarks. Reconnect at once."""


class BadConfiguration(KubeError):
    """The cluster's connection settings cannot be used (bad kubeconfig, not in a pod...)."""


@dataclass(frozen=True, slots=True)
class Resource:
    """One watched resource type and the generated client methods that reach it."""

    name: str
    api: str  # "core" or "discovery"
    list_all: str
    list_namespaced: str
    field_selector: str | None = None


RESOURCES: Final[dict[str, Resource]] = {
    "pods": Resource("pods", "core", "list_pod_for_all_namespaces", "list_namespaced_pod"),
    # Only events about pods: the dashboard has no use for the rest, and on a busy cluster
    # Events outnumber everything else.
    "events": Resource(
        "events",
        "core",
        "list_event_for_all_namespaces",
        "list_namespaced_event",
        field_selector="involvedObject.kind=Pod",
    ),
    "endpointslices": Resource(
        "endpointslices",
        "discovery",
        "list_endpoint_slice_for_all_namespaces",
        "list_namespaced_endpoint_slice",
    ),
}


def resource_named(name: str) -> Resource:
    try:
        return RESOURCES[name]
    except KeyError:
        raise BadConfiguration(f"unknown resource {name!r}") from None


def load_kubeconfig(content: str | bytes | dict[str, Any]) -> dict[str, Any]:
    """A kubeconfig as a dict; YAML or JSON text (JSON is YAML) or an already parsed dict."""
    if isinstance(content, dict):
        return content
    try:
        parsed = yaml.safe_load(content)
    except yaml.YAMLError as exc:
        raise BadConfiguration(f"the kubeconfig is not valid YAML: {exc}") from exc
    if not isinstance(parsed, dict):
        raise BadConfiguration("the kubeconfig is not a mapping")
    return parsed


def new_api_client(
    *,
    source: str,
    kubeconfig: str | bytes | dict[str, Any] | None = None,
    context: str | None = None,
) -> k8s_client.ApiClient:
    """An authenticated client for one cluster; never touches the process-wide default config.

    The simulator writes an ordinary kubeconfig, so it is read like any other.
    """
    configuration = type.__call__(k8s_client.Configuration)
    try:
        if source == SOURCE_INCLUSTER:
            k8s_config.load_incluster_config(client_configuration=configuration)
        elif source in (SOURCE_KUBECONFIG, SOURCE_SIMULATOR):
            if not kubeconfig:
                raise BadConfiguration("the cluster has no kubeconfig")
            k8s_config.load_kube_config_from_dict(
                load_kubeconfig(kubeconfig),
                context=context or None,
                client_configuration=configuration,
                persist_config=False,
            )
        else:
            raise BadConfiguration(f"unknown cluster source {source!r}")
    except ConfigException as exc:
        raise BadConfiguration(str(exc)) from exc
    # Retries are the watch loop's business (with back-off and jitter); urllib3's own immediate
    # retries would only hide the failure for a few milliseconds.
    configuration.retries = False
    return k8s_client.ApiClient(configuration)


def close_api_client(api_client: k8s_client.ApiClient) -> None:
    with contextlib.suppress(Exception):
        api_client.rest_client.pool_manager.clear()
    with contextlib.suppress(Exception):
        api_client.close()


def _status_message(body: bytes | str | None, fallback: str) -> str:
    """The ``message`` of a Kubernetes Status body, else the raw body, else the fallback."""
    if not body:
        return fallback
    try:
        status = orjson.loads(body)
    except orjson.JSONDecodeError:
        text = body.decode(errors="replace") if isinstance(body, bytes) else body
        return text.strip()[:500] or fallback
    if isinstance(status, dict) and isinstance(status.get("message"), str):
        return str(status["message"])
    return fallback


def _translate(exc: ApiException) -> KubeError:
    message = _status_message(exc.body, exc.reason or f"HTTP {exc.status}")
    status = int(exc.status or 0)
    if status == 401:
        return Unauthorized(message)
    if status == 403:
        return Forbidden(message)
    if status == 410:
        return Gone(message)
    return Transient(f"HTTP {status}: {message}" if status else message, status=status)


class KubeApi:
    """Raw list and watch requests for the watched resources of one cluster."""

    def __init__(self, api_client: k8s_client.ApiClient, *, connect_timeout: float = 10.0) -> None:
        self.api_client = api_client
        self.connect_timeout = connect_timeout
        self._apis: dict[str, Any] = {
            "core": k8s_client.CoreV1Api(api_client),
            "discovery": k8s_client.DiscoveryV1Api(api_client),
        }

    @property
    def server(self) -> str:
        return str(self.api_client.configuration.host)

    def close(self) -> None:
        close_api_client(self.api_client)

    def _call(
        self, resource: Resource, namespace: str | None, kwargs: dict[str, Any]
    ) -> urllib3.BaseHTTPResponse:
        api = self._apis[resource.api]
        if resource.field_selector:
            kwargs["field_selector"] = resource.field_selector
        try:
            if namespace is None:
                response = getattr(api, resource.list_all)(_preload_content=False, **kwargs)
            else:
                response = getattr(api, resource.list_namespaced)(
                    namespace, _preload_content=False, **kwargs
                )
        except ApiException as exc:
            raise _translate(exc) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise Transient(f"{type(exc).__name__}: {exc}") from exc
        return response  # type: ignore[no-any-return]

    def list_page(
        self,
        resource: Resource,
        *,
        namespace: str | None,
        limit: int,
        continue_token: str | None,
        read_timeout: float,
    ) -> bytes:
        """The raw body of one LIST page; parsed by the caller with orjson."""
        kwargs: dict[str, Any] = {
            "limit": limit,
            "_request_timeout": (self.connect_timeout, read_timeout),
        }
        if continue_token:
            kwargs["_continue"] = continue_token
        response = self._call(resource, namespace, kwargs)
        try:
            return response.data
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise Transient(f"{type(exc).__name__} reading a list: {exc}") from exc
        finally:
            response.release_conn()

    def open_watch(
        self,
        resource: Resource,
        *,
        namespace: str | None,
        resource_version: str,
        server_timeout: int,
        read_timeout: float,
    ) -> urllib3.BaseHTTPResponse:
        """A streaming watch response (HTTP 200); its body is newline-separated JSON events.

        ``server_timeout`` makes the server end the stream cleanly; ``read_timeout`` bounds
        every socket read on our side, which is what detects a half-open connection or a
        stalled server.
        """
        return self._call(
            resource,
            namespace,
            {
                "watch": True,
                "resource_version": resource_version,
                "allow_watch_bookmarks": True,
                "timeout_seconds": max(1, server_timeout),
                "_request_timeout": (self.connect_timeout, read_timeout),
            },
        )


def abort_response(response: urllib3.BaseHTTPResponse) -> None:
    """Unblock a thread reading ``response`` right now, from any thread or a signal handler.

    Closing a socket another thread is blocked on does not wake it up; shutting it down does.
    """
    sock = _socket_of(response)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _socket_of(response: urllib3.BaseHTTPResponse) -> socket.socket | None:
    connection = getattr(response, "connection", None) or getattr(response, "_connection", None)
    sock = getattr(connection, "sock", None)
    if isinstance(sock, socket.socket):
        return sock
    fp = getattr(response, "_fp", None)  # http.client.HTTPResponse
    raw = getattr(getattr(fp, "fp", None), "raw", None)  # socket.SocketIO
    sock = getattr(raw, "_sock", None)
    return sock if isinstance(sock, socket.socket) else None
