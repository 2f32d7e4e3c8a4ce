"""kubesim: a Kubernetes API server simulator for pods, events and endpointslices.

API-server half (this package's top level):

* ``clock.SimClock``: simulated time (``--speed``), timers on the running loop, metav1 formats.
* ``store.Store``: objects as dicts, one global resourceVersion, uid/namespace indexes,
  ``subscribe`` for the engine, bounded watch history, ``compact``.
* ``deletion.request_pod_deletion``: the API server's graceful-DELETE rules for pods.
* ``server.ApiServer``: the HTTP server (``api`` routes and handlers, ``watch`` streams,
  ``listing`` paging, ``selectors``, ``table`` printing, ``patch``, ``validation``,
  ``defaults``, ``discovery``, ``errors``, ``httpio``) plus the fault control endpoint.
* ``cli.main``: ``python -m lifecycle_dash.kubesim`` and ``manage.py kubesim``;
  ``kubeconfig`` writes what kubectl and the Python client read.

The scenario engine (scheduler, kubelet, controllers, scenarios) lives in ``engine/``.
"""
