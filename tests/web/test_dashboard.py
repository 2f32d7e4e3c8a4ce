from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model

from lifecycle_dash.ingest.models import PodEvent, TerminationRecord
from lifecycle_dash.web.filters import Sort, encode_cursor, parse_pod_filter
from lifecycle_dash.web.selectors import pod_page, pod_sort_key
from tests.web.dashboard_factories import make_cluster, make_pod

pytestmark = pytest.mark.django_db

HTMX_BODY = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "dash-body"}


@pytest.fixture
def sre(client):
    user = get_user_model().objects.create_user("sre")
    client.force_login(user)
    return client


def row_names(html: str) -> list[str]:
    return re.findall(r'<td class="c-name"><a href="/pods/[^/]+/">([^<]+)</a>', html)


def test_an_anonymous_visitor_is_sent_to_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_the_table_prints_the_kubectl_columns(sre):
    now = datetime.now(UTC)
    cluster = make_cluster("prod")
    make_pod(
        cluster,
        "api-5d8f-x2",
        namespace="shop",
        status="CrashLoopBackOff",
        ready="0/1",
        restarts=5,
        last_restart_at=now - timedelta(minutes=12, seconds=5),
        created_at=now - timedelta(hours=2, minutes=1),
        node_name="node-7",
        owner_name="api-5d8f",
    )
    html = sre.get("/").content.decode()
    row = html[html.index('<tr id="pod-') : html.index("</tr>", html.index('<tr id="pod-'))]
    assert "sev-bad" in row
    assert '<td class="c-ready">0/1</td>' in row
    assert '<span class="status">CrashLoopBackOff</span>' in row
    # RESTARTS is recomputed at render time, as kubectl prints it.
    assert "5 (12m ago)" in row
    assert ">121m</time>" in row
    assert '<td class="c-node">node-7</td>' in row
    assert 'title="ReplicaSet/api-5d8f">api-5d8f</td>' in row
    assert 'href="/pods/' in row
    # The page opens ONE WebSocket, carrying the page's filters.
    assert html.count("ws-connect=") == 1


def test_the_page_and_fragments_have_fixed_query_budgets(sre, django_assert_num_queries):
    cluster = make_cluster("prod")
    for i in range(30):
        make_pod(cluster, f"web-{i:02}", status="Running" if i % 3 else "Pending")
    # session + user, access grants, page, status counts, clusters, problems (pods,
    # terminations, events)
    with django_assert_num_queries(9):
        assert sre.get("/?sort=age").status_code == 200
    # session + user, access grants, page, counts
    with django_assert_num_queries(5):
        assert sre.get("/?q=web", **HTMX_BODY).status_code == 200
    with django_assert_num_queries(6):
        assert sre.get("/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="problems").status_code == 200


def test_an_htmx_filter_change_returns_the_body_and_the_canonical_url(sre):
    cluster = make_cluster("prod")
    make_pod(cluster, "web-1", namespace="shop")
    make_pod(cluster, "db-1", namespace="data")
    response = sre.get("/?namespace=shop&status=&q=", **HTMX_BODY)
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="dash-body"')
    assert row_names(html) == ["web-1"]
    assert response["HX-Push-Url"] == "/?namespace=shop"
    assert 'ws-connect="/ws/dashboard/?namespace=shop"' in html


def test_status_counts_are_links_that_set_the_filter(sre):
    cluster = make_cluster("prod")
    make_pod(cluster, "a-1", status="Running")
    make_pod(cluster, "a-2", status="Running")
    make_pod(cluster, "a-3", status="OOMKilled")
    html = sre.get("/?status=Running").content.decode()
    assert row_names(html) == ["a-1", "a-2"]
    # Counts ignore the STATUS filter itself, so every status stays clickable.
    assert re.search(r'href="\?status=OOMKilled"[^>]*>.*?chip-n">1<', html, re.S)
    assert re.search(r'chip-label">all</span> <span class="chip-n">3<', html)
    # The active chip clears the filter again.
    assert re.search(r'class="chip sev-ok is-active" href="\?"', html)


def test_label_selectors_filter_through_jsonb(sre):
    cluster = make_cluster("prod")
    make_pod(cluster, "web-1", labels={"app": "web", "env": "a"})
    make_pod(cluster, "web-2", labels={"app": "web", "env": "c", "canary": "true"})
    make_pod(cluster, "web-3", labels={"app": "web", "env": "b", "tier": "db"})
    make_pod(cluster, "api-1", labels={"app": "api", "env": "a"})
    html = sre.get("/", {"selector": "app=web,tier!=db,env in (a,c),!canary"}).content.decode()
    assert row_names(html) == ["web-1"]
    html = sre.get("/", {"selector": "env notin (a)"}).content.decode()
    assert row_names(html) == ["web-2", "web-3"]
    html = sre.get("/", {"selector": "tier"}).content.decode()
    assert row_names(html) == ["web-3"]


def test_free_text_owner_node_and_phase_filters(sre):
    cluster = make_cluster("prod")
    make_pod(cluster, "web-1", node_name="node-a", owner_kind="StatefulSet", owner_name="web")
    make_pod(cluster, "job-1", node_name="node-b", phase="Succeeded", status="Completed")
    assert row_names(sre.get("/?q=NODE-B").content.decode()) == ["job-1"]
    assert row_names(sre.get("/?owner=StatefulSet/web").content.decode()) == ["web-1"]
    assert row_names(sre.get("/?owner=ReplicaSet/web").content.decode()) == []
    assert row_names(sre.get("/?phase=Succeeded").content.decode()) == ["job-1"]
    assert row_names(sre.get("/?cluster=prod&node=node-a").content.decode()) == ["web-1"]


def test_recently_deleted_pods_show_greyed_only_when_asked(sre):
    now = datetime.now(UTC)
    cluster = make_cluster("prod")
    make_pod(cluster, "alive-1")
    make_pod(cluster, "gone-1", deleted_at=now - timedelta(minutes=10))
    make_pod(cluster, "gone-old", deleted_at=now - timedelta(hours=3))
    assert row_names(sre.get("/").content.decode()) == ["alive-1"]
    html = sre.get("/?deleted=1").content.decode()
    assert row_names(html) == ["alive-1", "gone-1"]
    assert "is-deleted" in html
    assert "deleted 10m ago" in html


@pytest.mark.parametrize("sort", list(Sort))
def test_keyset_pages_walk_every_pod_once_in_order(sort):
    now = datetime.now(UTC)
    first = make_cluster("a")
    second = make_cluster("b")
    for i in range(37):
        make_pod(
            first if i % 2 else second,
            f"p-{i % 7}-{i:02}",
            namespace=f"ns-{i % 3}",
            restarts=i % 4,
            status=["Running", "Pending", "Error"][i % 3],
            created_at=now - timedelta(minutes=i % 5),
        )
    seen = []
    query = {"sort": sort.value, "limit": "10"}
    for _ in range(10):
        page = pod_page(pod_filter=parse_pod_filter(query), now=now)
        seen.extend(page.pods)
        if page.next_cursor is None:
            break
        query = {**query, "after": encode_cursor(page.next_cursor)}
    assert len(seen) == 37
    assert len({p.pk for p in seen}) == 37
    keys = [pod_sort_key(p, sort) for p in seen]
    # The SQL order and the consumer's in-memory order agree.
    assert keys == sorted(keys)


def test_the_next_page_link_carries_a_cursor_not_an_offset(sre):
    cluster = make_cluster("prod")
    for i in range(12):
        make_pod(cluster, f"web-{i:02}")
    html = sre.get("/?limit=10").content.decode()
    assert row_names(html)[-1] == "web-09"
    match = re.search(r'class="pager-next" href="\?([^"]+)"', html)
    assert match is not None
    next_href = match.group(1)
    assert "after=" in next_href
    assert "offset" not in next_href
    html = sre.get("/?" + next_href.replace("&amp;", "&")).content.decode()
    assert row_names(html) == ["web-10", "web-11"]
    assert "First page" in html


def test_recent_problems_link_to_the_pod_timeline(sre):
    now = datetime.now(UTC)
    cluster = make_cluster("prod")
    crash = make_pod(cluster, "crash-1", status="CrashLoopBackOff", restarts=7)
    killed = make_pod(cluster, "slow-stop-1")
    pending = make_pod(cluster, "big-1", status="Pending", phase="Pending")
    TerminationRecord.objects.create(
        cluster=cluster,
        pod_uid=killed.uid,
        cause="api_delete",
        verdicts=["app:sigkill_after_grace", "sidecar:clean_exit"],
        started_at=now - timedelta(minutes=3),
        analysis={},
        computed_at=now,
    )
    PodEvent.objects.create(
        cluster=cluster,
        event_uid="e1",
        pod_uid=pending.uid,
        pod_name="big-1",
        pod_namespace="default",
        type="Warning",
        reason="FailedScheduling",
        message="0/3 nodes are available: 3 Insufficient memory.",
        first_received_at=now,
        last_received_at=now,
    )
    html = sre.get("/").content.decode()
    panel = html[html.index('id="problems"') :]
    assert f'href="/pods/{crash.uid}/"' in panel
    assert "CrashLoopBackOff" in panel
    assert f'href="/pods/{killed.uid}/"' in panel
    assert "SIGKILL after grace period" in panel
    assert f'href="/pods/{pending.uid}/"' in panel
    assert "FailedScheduling" in panel
    assert "Insufficient memory" in panel


def test_large_filtered_counts_are_estimated_and_say_so(sre, monkeypatch):
    from lifecycle_dash.web import selectors

    monkeypatch.setattr(selectors, "COUNT_EXACT_LIMIT", 5)
    cluster = make_cluster("prod")
    for i in range(12):
        make_pod(cluster, f"web-{i:02}", status="Running" if i % 4 else "Pending")
    # Without filters the counts stay exact (index-only GROUP BY).
    html = sre.get("/").content.decode()
    assert "≈" not in html
    assert re.search(r'chip-label">all</span> <span class="chip-n">12<', html)
    # A filter matching more than the limit: flagged as an estimate.
    html = sre.get("/?cluster=prod").content.decode()
    assert 'class="counts-note muted"' in html
    assert re.search(r'chip-label">all</span> <span class="chip-n">≈\d+<', html)


def test_the_counts_of_one_cluster_match_the_partial_index_of_live_pods():
    """Deleted pods stay for their history, so a cluster's counts must be answerable from
    ``web_pod_live_cluster`` alone (migration web/0006: 58 ms -> 1 ms at 150,000 live and
    46,000 deleted pods). Which index the planner takes depends on the data; this pins the
    contract both sides must keep: the query filters on the cluster and on live pods, and
    the index covers exactly that."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from lifecycle_dash.web.selectors import pod_status_counts

    cluster = make_cluster("prod")
    make_pod(cluster, "web-0")
    make_pod(cluster, "web-1", deleted_at=datetime.now(UTC))
    pod_filter = parse_pod_filter({"cluster": "prod"})
    with CaptureQueriesContext(connection) as queries:
        counts = pod_status_counts(pod_filter=pod_filter, now=datetime.now(UTC))
    [counted] = [q["sql"] for q in queries.captured_queries if "count(*)" in q["sql"]]
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'web_pod_live_cluster'")
        [(definition,)] = cursor.fetchall()

    assert definition.endswith("(cluster_id, status) WHERE (deleted_at IS NULL)"), definition
    assert f'"ingest_pod"."cluster_id" = {cluster.pk}' in counted, counted
    assert '"ingest_pod"."deleted_at" IS NULL' in counted, counted
    assert counts.total == 1
