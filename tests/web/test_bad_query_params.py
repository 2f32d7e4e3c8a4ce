"""Malformed query parameters on every HTML page and htmx fragment: 400 naming the parameter
(or the parameter ignored, 200), never a 500.

Each page gets the malformed values of the parameters it reads, plus the ones every page can
receive (unknown names, NUL bytes, bytes that are not UTF-8, repeated and overlong values).
Data comes through the real ingest processors (``tests/web/timeline_data.py``) so the pages
render real rows, a real timeline and a real termination, not empty tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from lifecycle_dash.ingest.models import Cluster
from lifecycle_dash.web.models_review import Incident
from tests.web import timeline_data as data

pytestmark = pytest.mark.django_db

# (parameter named in the 400, raw query string). Raw, so percent-encodings stay as sent.
TIMES = [
    "yesterday",
    "2026-13-45T99:99:99Z",
    "2026-11-21T05:00:00",
    "9999-12-31T23:59:60Z",
    "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00%2B01:00",
    "-999999d",
    "-9999999999999999999999h",
    "-1h%00",
    "%00",
    "%ff%fe",
    "now%20now",
    "x" * 5000,
]
FILTERS: dict[str, list[str]] = {
    "cluster": ["%00", "x" * 5000, "a%20b", "%ff"],
    "namespace": ["UPPER", "%00", "x" * 300],
    "status": ["%3Cscript%3E%20", "x" * 200],
    "phase": ["Bogus", "running", "%00"],
    "node": ["%00", "x" * 300],
    "owner": ["/", "Kind/", "1Kind/x", "%00", "a/b/c"],
    "selector": [
        "app%20in%20(",
        "!!",
        "a%3Db%3Dc",
        "app%3D%3D",
        "%3D",
        "x" * 5000,
        "app%20notin%20()",
        "a%2Cb%2C%2C",
        "%ff",
    ],
    "q": ["x" * 300],
    "sort": ["bogus", "%00"],
    "deleted": ["2", "-1", "true"],
    "limit": ["-1", "0", "9", "501", "99999999999999999999999", "abc", "1e3", "%00", "1.5"],
    "after": ["garbage", "%ff", "eyJ4IjoxfQ", "=", "x" * 5000],
}
# Every page may receive these; ignoring them (200) is fine, failing on them is not.
ANY_PAGE = [
    "unknown=1",
    "%00=%00",
    "%ff=%fe",
    "a=" + "x" * 10_000,
    "&&&=&",
    "from=-1h&from=garbage",
    "phase=Running&phase=Bogus",
    "selector=app%3Dweb&selector=!!",
]


@dataclass(frozen=True)
class Page:
    path: str
    parameters: tuple[str, ...]
    htmx_target: str | None = None


def _queries(page: Page) -> list[tuple[str | None, str]]:
    out: list[tuple[str | None, str]] = [(None, query) for query in ANY_PAGE]
    for name in page.parameters:
        values = TIMES if name in ("from", "to", "t") else FILTERS[name]
        out.extend((name, f"{name}={value}") for value in values)
    return out


WINDOW = ("from", "to")
REVIEW = ("from", "to", "cluster", "namespace", "selector", "owner")
DASHBOARD = tuple(FILTERS)


@pytest.fixture
def seeded(client: Client) -> dict[str, Any]:
    cluster = Cluster.objects.create(name="prod-eu", source=Cluster.Source.SIMULATOR)
    deleted = data.sigkill_story()
    data.ingest_sigkill_pod(cluster, deleted)
    running = data.running_story()
    data.ingest_running_pod(cluster, running)
    incident = Incident.objects.create(
        name="fuzz", start=deleted.base, end=deleted.base + timedelta(minutes=5)
    )
    return {"uid": deleted.uid, "running": running.uid, "incident": incident.pk}


@pytest.fixture
def client() -> Client:
    client = Client()
    client.force_login(get_user_model().objects.create_user(username="fuzz"))
    return client


def _pages(seeded: dict[str, Any]) -> list[Page]:
    uid = seeded["uid"]
    return [
        Page("/", DASHBOARD),
        Page("/", DASHBOARD, htmx_target="dash-body"),
        Page("/", DASHBOARD, htmx_target="table-region"),
        Page("/", ("cluster",), htmx_target="problems"),
        Page(f"/pods/{uid}/", WINDOW),
        Page(f"/pods/{seeded['running']}/", WINDOW),
        *(
            Page(f"/pods/{uid}/{part}", WINDOW, htmx_target=part)
            for part in ("header", "lanes", "waterfalls", "events")
        ),
        Page("/review/", REVIEW),
        Page("/review/", REVIEW, htmx_target="review-body"),
        Page("/review/diagnoses", REVIEW, htmx_target="review-diagnoses"),
        Page("/review/at/", (*REVIEW, "t", "status", "after", "limit")),
        *(Page(f"/review/export.{fmt}", REVIEW) for fmt in ("md", "json", "csv")),
        Page("/incidents/", ()),
        Page(f"/incidents/{seeded['incident']}/", ()),
    ]


def _failures(client: Client, page: Page) -> list[str]:
    headers: dict[str, str] = {}
    if page.htmx_target is not None:
        headers = {"HX-Request": "true", "HX-Target": page.htmx_target}
    failures = []
    for named, query in _queries(page):
        url = f"{page.path}?{query}"
        try:
            response = client.get(url, headers=headers)
        except Exception as error:  # the test client re-raises what would be a 500
            failures.append(f"{url[:160]} raised {type(error).__name__}: {str(error)[:200]}")
            continue
        status = response.status_code
        body = response.content.decode("utf-8", "replace")
        if status == 400:
            if named is not None and named not in body:
                failures.append(f"{url[:160]}: 400 without naming {named!r}: {body[:200]!r}")
        elif status != 200:
            failures.append(f"{url[:160]}: {status}")
    return failures


PAGE_NAMES = [
    "dashboard",
    "dashboard#dash-body",
    "dashboard#table-region",
    "dashboard#problems",
    "pod (deleted)",
    "pod (running)",
    "pod header",
    "pod lanes",
    "pod waterfalls",
    "pod events",
    "review",
    "review#review-body",
    "review diagnoses",
    "review at",
    "export.md",
    "export.json",
    "export.csv",
    "incidents",
    "incident",
]


@pytest.mark.parametrize("index", range(len(PAGE_NAMES)), ids=PAGE_NAMES)
def test_malformed_parameters_get_a_400_naming_them_never_a_500(
    client: Client, seeded: dict[str, Any], index: int
) -> None:
    page = _pages(seeded)[index]

    failures = _failures(client, page)

    assert not failures, "\n".join(failures)


def test_a_malformed_value_is_named_in_the_400(client: Client, seeded: dict[str, Any]) -> None:
    # Guards the table above: the values really are rejected, not silently ignored everywhere.
    assert client.get("/?phase=Bogus").status_code == 400
    assert client.get("/?limit=-1").status_code == 400
    assert client.get(f"/pods/{seeded['uid']}/?from=yesterday").status_code == 400
    assert client.get("/review/?to=2026-13-45T99:99:99Z").status_code == 400
