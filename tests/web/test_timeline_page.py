from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from lifecycle_dash.ingest.models import Cluster, Pod
from tests.lifecycle import podfactory as f
from tests.web import timeline_data as data

pytestmark = pytest.mark.django_db

# Session + user, access grants, pod row, transitions, event occurrences, event versions,
# endpoint observations, observation gaps.
PAGE_QUERIES = 9


@pytest.fixture
def cluster() -> Cluster:
    return Cluster.objects.create(name="prod-eu", source=Cluster.Source.SIMULATOR)


@pytest.fixture
def sre_client() -> Client:
    user = get_user_model().objects.create_user(username="sre", password="correct horse battery")
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def sigkilled(cluster: Cluster) -> data.PodStory:
    story = data.sigkill_story()
    data.ingest_sigkill_pod(cluster, story)
    return story


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_a_deleted_pods_timeline_stays_available_with_its_waterfall(
    sre_client: Client, sigkilled: data.PodStory, django_assert_num_queries
) -> None:
    assert Pod.objects.get(uid=sigkilled.uid).deleted_at is not None
    with django_assert_num_queries(PAGE_QUERIES):
        response = sre_client.get(f"/pods/{sigkilled.uid}/")
    assert response.status_code == 200
    html = response.content.decode()
    text = text_of(html)
    assert "app: SIGKILLed at the end of the grace period" in text
    assert "exit 137 (Error)" in text
    assert "API: deletionTimestamp \N{MINUS SIGN} grace" in text
    assert "event Killing" in text
    assert "observed: EndpointSlice receive time" in text
    assert "≈ estimate" in text
    # deletion requested at +40 s, exit at +50 s: the grace of 10 s used completely.
    assert re.search(
        r"deletion to exit \(grace used\)\s*</dt>\s*<dd[^>]*><span class=\"value\">10\.0 s", html
    )
    assert "grace period 10 s" in text
    # The header: kubectl columns of the last state, the explanation, owner link.
    assert re.search(r'<td class="status"[^>]*>Error</td>', html)
    assert "0/1" in text
    assert "?owner=ReplicaSet/web-7d9f8b6c5" in html
    assert "Exited with an error" in text
    # Lanes for the phase, every condition the pod had, its container and endpoint.
    for lane in ("phase", "cond-PodScheduled", "cond-Ready", "ctr-app", "ep-web", "events"):
        assert f'data-lane="{lane}"' in html
    assert "<title>restart" not in html
    # The event table: one row per occurrence.
    assert html.count('<tr class="ev-normal">') == 6
    assert html.count('<tr class="ev-warning">') == 1
    # Live updates through the timeline WebSocket; no inline script.
    assert f'ws-connect="/ws/pods/{sigkilled.uid}/"' in html
    assert "<script>" not in html


def test_a_running_pod_has_no_termination_panel_but_a_startup_waterfall(
    sre_client: Client, cluster: Cluster
) -> None:
    story = data.running_story()
    data.ingest_running_pod(cluster, story)
    html = sre_client.get(f"/pods/{story.uid}/").content.decode()
    assert 'id="waterfall-termination"' not in html
    assert 'id="waterfall-startup"' in html
    assert "pod-startup SLI" in html


@pytest.mark.parametrize(
    ("fragment", "section", "queries"),
    [
        ("header", "pod-header", 4),
        ("lanes", "pod-lanes", PAGE_QUERIES),
        ("waterfalls", "pod-waterfalls", PAGE_QUERIES),
        ("events", "pod-events", 5),
    ],
)
def test_each_fragment_renders_only_its_section(
    sre_client: Client,
    sigkilled: data.PodStory,
    django_assert_num_queries,
    fragment: str,
    section: str,
    queries: int,
) -> None:
    with django_assert_num_queries(queries):
        response = sre_client.get(f"/pods/{sigkilled.uid}/{fragment}", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<section id="{section}"')
    assert "<html" not in html


def test_zooming_to_a_window_redraws_the_axis_for_that_window(
    sre_client: Client, sigkilled: data.PodStory
) -> None:
    start = sigkilled.base.strftime("%Y-%m-%dT%H:%M:%SZ")
    html = sre_client.get(
        f"/pods/{sigkilled.uid}/lanes", {"from": start, "to": "now"}
    ).content.decode()
    assert f'data-start="{start}"' in html
    relative = sre_client.get(f"/pods/{sigkilled.uid}/", {"from": "-1h"})
    assert relative.status_code == 200


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"from": "yesterday"}, "from"),
        ({"to": "2026-13-01T00:00:00Z"}, "to"),
        ({"from": "-1h", "to": "-2h"}, "to"),
    ],
)
def test_an_invalid_window_is_a_400_naming_the_parameter(
    sre_client: Client, sigkilled: data.PodStory, params: dict[str, str], parameter: str
) -> None:
    response = sre_client.get(f"/pods/{sigkilled.uid}/", params)
    assert response.status_code == 400
    assert f"'{parameter}'" in response.content.decode()


def test_an_unknown_pod_is_a_404(sre_client: Client) -> None:
    assert sre_client.get("/pods/no-such-uid/").status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in(sigkilled: data.PodStory) -> None:
    response = Client().get(f"/pods/{sigkilled.uid}/")
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_restarts_are_marked_and_an_unobserved_interval_is_shaded(
    sre_client: Client, cluster: Cluster
) -> None:
    story = data.crashloop_story()
    data.ingest_crashloop_with_gap(cluster, story)
    html = sre_client.get(f"/pods/{story.uid}/lanes").content.decode()
    assert "<title>restart #1: exit 1 (Error)" in html
    # Restarts 2 and 3 happened inside the 410 gap: marked, with their exits unknown.
    assert "<title>restart #2 (inside an unobserved interval: exit unknown)" in html
    assert "<title>restart #3: exit 1 (Error)" in html
    assert html.count('class="unobserved"') == 2  # before the first watch, and the gap
    assert "unobserved pods" in html
    assert "410 Gone" in html
    assert "waiting: CrashLoopBackOff" in html


def test_a_kubelet_eviction_gets_a_waterfall_without_a_deletion_request(
    sre_client: Client, cluster: Cluster
) -> None:
    story = data.evicted_story()
    data.ingest_evicted_pod(cluster, story)
    html = sre_client.get(f"/pods/{story.uid}/waterfalls").content.decode()
    text = text_of(html)
    assert "termination started" in text
    assert "kubelet eviction" in text
    assert "event Evicted" in text
    # The kubelet's own grace is not in the API: a 137 is not called a grace-period SIGKILL.
    assert "app: unknown: exit 137 (likely SIGKILL)" in text
    assert "grace period unknown" in text


def test_init_containers_and_sidecars_get_their_own_lanes_before_the_app(
    sre_client: Client, cluster: Cluster
) -> None:
    b = (datetime.now(UTC) - f.T0).total_seconds() - 60
    pod = f.sidecar_pod(
        uid="51dec000-0000-4000-8000-000000000001",
        name="mesh-app-1",
        created=b,
        init_container_statuses=[
            f.terminated("init-db", 0, started_at=b + 1, finished_at=b + 3),
            f.running("istio-proxy", started_at=b + 3),
        ],
        container_statuses=[f.running("app", started_at=b + 5)],
        conditions=f.standard_conditions(at_=b, ready_at=b + 6),
    )
    data.feed(cluster, "pods", [(8.0, "ADDED", pod)], datetime.now(UTC))
    html = sre_client.get("/pods/51dec000-0000-4000-8000-000000000001/lanes").content.decode()
    lanes = re.findall(r'data-lane="(ctr-[^"]+)"', html)
    assert lanes == ["ctr-init-db", "ctr-istio-proxy", "ctr-app"]
    assert '<tspan class="sublabel">init</tspan>' in html
    assert '<tspan class="sublabel">sidecar</tspan>' in html
    assert "exit 0 (Completed)" in html
