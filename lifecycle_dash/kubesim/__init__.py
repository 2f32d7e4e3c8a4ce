"""kubesim: a Kubernetes API server simulator for pods, events and endpointslices.

API-server half (this package's top level): ``clock.SimClock``, ``store.Store`` (object store,
global resourceVersion, watch history), ``deletion.request_pod_deletion`` (graceful DELETE
semantics), the HTTP server, the CLI and faults. The scenario engine lives in ``engine/``.
"""
