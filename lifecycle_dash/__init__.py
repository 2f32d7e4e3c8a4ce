"""lifecycle-dash: a live and historical dashboard of Kubernetes pod lifecycles."""

from __future__ import annotations
