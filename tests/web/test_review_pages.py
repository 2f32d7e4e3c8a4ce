"""The review page, time travel, saved incidents and exports over the simulator's demo scenario.

The demo plays ~5.5 simulated minutes (3.3 s real) once per module; each test writes it
through the ingest processors into its own transaction.
"""

from __future__ import annotations

import csv
import functools
import io
import re
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from lifecycle_dash.ingest.models import Cluster, ObservationGap, Pod
from lifecycle_dash.lifecycle import format_rfc3339
from lifecycle_dash.web.models import ApiToken, Incident
from tests.web.review_scenario import Played, ingest, play_demo

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

# Demo workload -> the cause its incident must be listed under.
EXPECTED = {
    "cause-oom_killed": "batch/CronJob/nightly-report",
    "cause-crashed-1": "workers/Deployment/queue-worker",
    "cause-sigkill_after_grace": "shop/Deployment/checkout",
    "cause-failed_scheduling": "staging/Pod/ml-trainer",
    "cause-image_pull": "staging/Pod/frontend-preview",
    "cause-replaced": "shop/Deployment/web",
}


@functools.cache
def demo_played() -> Played:
    return play_demo(seconds=330)


@pytest.fixture
def played() -> Played:
    return demo_played()


@pytest.fixture
def cluster(played: Played) -> Cluster:
    cluster = Cluster.objects.create(name="demo", source=Cluster.Source.SIMULATOR)
    ingest(played, cluster=cluster)
    return cluster


@pytest.fixture
def sre(client: Client) -> Client:
    user = get_user_model().objects.create_user(username="sre", password="pw")
    client.force_login(user)
    return client


def window(played: Played) -> str:
    return (
        f"from={format_rfc3339(played.start)}"
        f"&to={format_rfc3339(played.end + timedelta(seconds=5))}"
    )


def section(html: str, dom_id: str) -> str:
    match = re.search(rf'<details class="cause" id="{dom_id}".*?</details>', html, re.S)
    assert match, f"no section {dom_id}"
    return match.group(0)


def test_the_review_lists_each_demo_incident_under_its_cause(
    sre, cluster, played, django_assert_num_queries
):
    # session, user, access grants, 7 review reads, cluster names.
    with django_assert_num_queries(11):
        response = sre.get(f"/review/?{window(played)}")

    assert response.status_code == 200
    html = response.content.decode()
    for dom_id, workload in EXPECTED.items():
        assert workload in section(html, dom_id), dom_id
    # The SIGKILLed pods are linked to their timelines zoomed to the window.
    sigkill = section(html, "cause-sigkill_after_grace")
    for href in re.findall(r'href="(/pods/[^"]+)"', sigkill):
        assert "from=" in href
        assert "to=" in href
    # The window chart has a lane per affected pod, coloured by STATUS class.
    assert html.count('class="lane"') >= 6
    assert "st-crash" in html
    assert "st-terminating" in html


def test_the_review_query_budget_does_not_grow_with_the_window(
    sre, cluster, played, django_assert_num_queries
):
    now = datetime.now(UTC)
    with django_assert_num_queries(11):
        sre.get(f"/review/?from={format_rfc3339(now - timedelta(days=2))}&to=now")


def test_filters_narrow_the_review_to_a_namespace(sre, cluster, played):
    html = sre.get(f"/review/?{window(played)}&namespace=shop").content.decode()

    assert "shop/Deployment/checkout" in html
    assert "queue-worker" not in html
    assert "nightly-report" not in html


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("from=yesterday", "from"),
        ("from=-1h&to=-2h", "to"),
        ("from=-30d", "from"),
        ("selector=app%3D%3D%3D", "selector"),
        ("namespace=Not_Valid", "namespace"),
    ],
)
def test_an_invalid_parameter_is_a_400_naming_it(sre, query, parameter):
    response = sre.get(f"/review/?{query}")

    assert response.status_code == 400
    assert f"Invalid <code>{parameter}</code>" in response.content.decode()


def test_the_review_needs_a_signed_in_user(client):
    assert client.get("/review/").status_code == 302


def test_gaps_overlapping_the_window_are_shown(sre, cluster, played):
    ObservationGap.objects.create(
        cluster=cluster,
        resource="pods",
        started_at=played.start + timedelta(seconds=60),
        ended_at=played.start + timedelta(seconds=90),
        reason="410 Gone relist",
    )

    html = sre.get(f"/review/?{window(played)}").content.decode()

    assert "History is incomplete" in html
    assert "410 Gone relist" in html


def test_diagnoses_explain_the_sigkilled_workload_and_the_flapping_readiness(
    sre, cluster, played, django_assert_max_num_queries
):
    with django_assert_max_num_queries(15):
        response = sre.get(f"/review/diagnoses?{window(played)}", HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert "shop/Deployment/checkout" in html
    assert "SIGKILLed when the grace period ran out" in html
    assert "shop/Deployment/search" in html
    assert "readiness probe" in html.lower()


def _rows(html: str) -> dict[str, str]:
    """pod name -> STATUS of the dashboard rows in a page."""
    return {
        name: status
        for name, status in re.findall(
            r'<td class="c-name"><a [^>]*>([^<]+)</a></td>.*?<span class="status">([^<]*)</span>',
            html,
            re.S,
        )
    }


@pytest.mark.parametrize("fraction", [0.35, 0.75])
def test_time_travel_shows_the_status_each_pod_had_then(
    sre, cluster, played, fraction, django_assert_num_queries
):
    at = played.start + (played.end - played.start) * fraction
    names = played.names()
    served = {
        names[uid]: status
        for uid in played.served
        if (status := played.status_at(uid, at)) is not None
    }
    assert len(served) >= 8

    # session, user, access grants, the rows, the steps, cluster names.
    with django_assert_num_queries(6):
        response = sre.get(f"/review/at/?{window(played)}&t={format_rfc3339(at)}")

    assert response.status_code == 200
    shown = _rows(response.content.decode())
    assert shown == served


def test_time_travel_steps_to_the_previous_and_next_status_change(sre, cluster, played):
    at = played.start + (played.end - played.start) / 2
    html = sre.get(f"/review/at/?{window(played)}&t={format_rfc3339(at)}").content.decode()

    prev = re.search(r'id="step-prev" class="step" href="\?([^"]+)"', html)
    nxt = re.search(r'id="step-next" class="step" href="\?([^"]+)"', html)
    assert prev
    assert nxt
    t_prev = re.search(r"t=([^&]+)", prev.group(1).replace("&amp;", "&"))
    t_next = re.search(r"t=([^&]+)", nxt.group(1).replace("&amp;", "&"))
    assert t_prev
    assert t_next
    assert (
        t_prev.group(1).replace("%3A", ":")
        < format_rfc3339(at)
        < t_next.group(1).replace("%3A", ":")
    )


def test_time_travel_filters_by_the_status_pods_had_then(sre, cluster, played):
    at = played.start + (played.end - played.start) * 0.75
    html = sre.get(
        f"/review/at/?{window(played)}&t={format_rfc3339(at)}&status=ErrImagePull"
        "&status=ImagePullBackOff"
    )
    assert html.status_code == 400  # repeated parameter
    status = played.status_at(
        next(u for u, n in played.names().items() if n == "frontend-preview"), at
    )
    html = sre.get(
        f"/review/at/?{window(played)}&t={format_rfc3339(at)}&status={status}"
    ).content.decode()
    assert set(_rows(html)) == {"frontend-preview"}


def test_an_instant_outside_retention_shows_no_pods(sre, cluster, played):
    at = played.start - timedelta(days=1)
    html = sre.get(f"/review/at/?t={format_rfc3339(at)}").content.decode()
    assert "No pod was alive at that instant" in html


def test_saving_an_incident_requires_csrf_and_reopens_from_its_permalink(cluster, played):
    user = get_user_model().objects.create_user(username="sre", password="pw")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    form = {
        "from": format_rfc3339(played.start),
        "to": format_rfc3339(played.end + timedelta(seconds=5)),
        "namespace": "shop",
        "name": "checkout SIGKILLs during deploy",
        "notes": "Rollout at 05:41; checkout ignores SIGTERM.",
    }
    assert client.post("/incidents/", form).status_code == 403

    page = client.get(f"/review/?{window(played)}").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token
    response = client.post("/incidents/", {**form, "csrfmiddlewaretoken": token.group(1)})

    incident = Incident.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/incidents/{incident.pk}/"
    assert (incident.namespace, incident.created_by) == ("shop", user)
    html = client.get(response["Location"]).content.decode()
    assert "checkout SIGKILLs during deploy" in html
    assert "Rollout at 05:41; checkout ignores SIGTERM." in html
    assert "shop/Deployment/checkout" in section(html, "cause-sigkill_after_grace")
    assert "queue-worker" not in html
    listing = client.get("/incidents/").content.decode()
    assert f'href="/incidents/{incident.pk}/"' in listing


def test_an_incident_without_a_name_is_refused(sre, played):
    response = sre.post("/incidents/", {"from": "-1h", "to": "now", "name": " "})
    assert response.status_code == 400
    assert Incident.objects.count() == 0


def test_the_permalink_query_budget(sre, cluster, played, django_assert_num_queries):
    incident = Incident.objects.create(
        name="x", start=played.start, end=played.end + timedelta(seconds=5)
    )
    # session, user, incident, access grants, 7 review reads.
    with django_assert_num_queries(11):
        assert sre.get(f"/incidents/{incident.pk}/").status_code == 200


def test_the_markdown_export_names_every_affected_workload(
    sre, cluster, played, django_assert_num_queries
):
    # session, user, access grants, the 7 reads of the window.
    with django_assert_num_queries(10):
        response = sre.get(f"/review/export.md?{window(played)}")

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="review-')
    text = response.content.decode()
    for workload in EXPECTED.values():
        assert workload in text
    assert "SIGKILLed pod shop/checkout-" in text
    assert "verdict sigkill_after_grace" in text
    assert "Crash loop of workers/queue-worker-" in text


def test_the_json_and_csv_exports_carry_the_affected_pods_transitions(
    sre, cluster, played, django_assert_num_queries
):
    with django_assert_num_queries(11):
        document = orjson.loads(sre.get(f"/review/export.json?{window(played)}").content)
    rows = list(csv.DictReader(io.StringIO(sre.get(f"/review/export.csv?{window(played)}").text)))

    affected = {p["uid"] for p in document["pods"]}
    assert {c["cause"] for c in document["causes"]} >= {"oom_killed", "sigkill_after_grace"}
    assert all(p["transitions"] for p in document["pods"] if p.get("name") != "ml-trainer")
    assert {r["pod_uid"] for r in rows} <= affected
    assert any(r["kind"] == "deletion_requested" and "checkout" in r["pod"] for r in rows)


def test_the_api_answers_the_grouped_causes_with_a_token(client, cluster, played):
    user = get_user_model().objects.create_user(username="bot", password="pw")
    _, token = ApiToken.issue(user=user)

    response = client.get(f"/api/v1/review?{window(played)}", HTTP_AUTHORIZATION=f"Bearer {token}")

    assert response.status_code == 200
    body = response.json()
    by_key = {c["key"]: c for c in body["causes"]}
    assert by_key["sigkill_after_grace"]["workloads"][0]["name"] == "checkout"
    assert by_key["crashed-1"]["exit_code"] == 1
    assert body["window"]["from"] == format_rfc3339(played.start)


@pytest.mark.parametrize(("fmt", "queries"), [("md", 10), ("csv", 11), ("json", 11)])
def test_the_api_exports_each_format(sre, cluster, played, fmt, queries, django_assert_num_queries):
    with django_assert_num_queries(queries):
        response = sre.get(f"/api/v1/review?{window(played)}&format={fmt}")
    assert response.status_code == 200
    assert "nightly-report" in response.content.decode()


@pytest.mark.parametrize(
    ("query", "parameter"),
    [("from=bogus", "from"), ("format=xml", "format"), ("colour=red", "colour")],
)
def test_the_api_names_an_invalid_parameter(sre, query, parameter):
    response = sre.get(f"/api/v1/review?{query}")
    assert response.status_code == 400
    assert response.json()["parameter"] == parameter


def test_the_api_needs_authentication(client):
    assert client.get("/api/v1/review").status_code == 401


def test_pods_of_other_clusters_stay_out_of_a_cluster_filtered_review(sre, cluster, played):
    Cluster.objects.create(name="other", source=Cluster.Source.SIMULATOR)
    html = sre.get(f"/review/?{window(played)}&cluster=other").content.decode()
    assert "Nothing happened in this window" in html
    assert Pod.objects.filter(cluster=cluster).exists()
