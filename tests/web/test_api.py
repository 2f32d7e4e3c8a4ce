from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from lifecycle_dash.ingest.models import Cluster, TerminationRecord
from lifecycle_dash.lifecycle import format_rfc3339, parse_rfc3339
from lifecycle_dash.web.models import ApiToken, hash_token
from lifecycle_dash.web.openapi import openapi_document
from tests.lifecycle import podfactory as f
from tests.web import timeline_data as data

pytestmark = pytest.mark.django_db

DOCUMENT = openapi_document()


def validate(body: Any, schema_name: str) -> None:
    """Validate an answer against the served OpenAPI document (formats checked too)."""
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": DOCUMENT["components"],
        "$ref": f"#/components/schemas/{schema_name}",
    }
    Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER).validate(body)


def response_schema(path: str, status: str) -> str:
    ref = DOCUMENT["paths"][path]["get"]["responses"][status]["content"]["application/json"][
        "schema"
    ]["$ref"]
    return str(ref.rsplit("/", 1)[1])


@pytest.fixture
def cluster() -> Cluster:
    return Cluster.objects.create(name="prod-eu", source=Cluster.Source.SIMULATOR)


@pytest.fixture
def sre() -> Any:
    return get_user_model().objects.create_user(username="sre", password="correct horse battery")


@pytest.fixture
def token(sre: Any) -> str:
    out = io.StringIO()
    call_command("api_token", "create", "sre", stdout=out, stderr=io.StringIO())
    return out.getvalue().strip()


@pytest.fixture
def bearer(token: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.fixture
def sigkilled(cluster: Cluster) -> data.PodStory:
    story = data.sigkill_story()
    data.ingest_sigkill_pod(cluster, story)
    return story


# --- authentication -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/api/v1/pods", "/api/v1/pods/some-uid", "/api/v1/pods/some-uid/timeline"]
)
def test_without_credentials_the_api_answers_401_json_not_a_redirect(path: str) -> None:
    response = Client().get(path)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response["WWW-Authenticate"].startswith("Bearer")
    validate(response.json(), "Error")


def test_a_token_is_printed_once_and_only_its_hash_is_stored(token: str, sre: Any) -> None:
    row = ApiToken.objects.get(user=sre)
    assert token.startswith("ld_")
    assert len(token) > 40
    assert row.token_hash == hash_token(token)
    assert token not in (row.token_hash, row.prefix, row.name)


def test_tokens_are_listed_by_prefix_and_shown_read_only_in_the_admin(token: str, sre: Any) -> None:
    out = io.StringIO()
    call_command("api_token", "list", "sre", stdout=out)
    assert token[:10] in out.getvalue()
    assert token not in out.getvalue()
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw-root-123")
    client = Client()
    client.force_login(admin)
    page = client.get("/admin/web/apitoken/")
    assert page.status_code == 200
    assert token[:10] in page.content.decode()
    assert token not in page.content.decode()
    assert client.get("/admin/web/apitoken/add/").status_code == 403


def test_a_bearer_token_authenticates_and_is_marked_used(bearer: Client, sre: Any) -> None:
    response = bearer.get("/api/v1/pods")
    assert response.status_code == 200
    assert ApiToken.objects.get(user=sre).last_used_at is not None


def test_the_session_authenticates_too(sre: Any) -> None:
    client = Client()
    client.force_login(sre)
    assert client.get("/api/v1/pods").status_code == 200


def test_a_wrong_or_revoked_token_is_401(token: str, sre: Any) -> None:
    wrong = Client(HTTP_AUTHORIZATION="Bearer ld_not-a-token").get("/api/v1/pods")
    assert wrong.status_code == 401
    call_command("api_token", "revoke", token[:10], stdout=io.StringIO())
    revoked = Client(HTTP_AUTHORIZATION=f"Bearer {token}").get("/api/v1/pods")
    assert revoked.status_code == 401
    assert revoked.json()["error"] == "invalid or revoked API token"


def test_the_api_is_read_only(bearer: Client) -> None:
    response = bearer.post("/api/v1/pods")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"


# --- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params", "parameter"),
    [
        ("/api/v1/pods", {"phase": "Sleeping"}, "phase"),
        ("/api/v1/pods", {"limit": "5"}, "limit"),
        ("/api/v1/pods", {"after": "garbage!"}, "after"),
        ("/api/v1/pods", {"selector": "app in (web"}, "selector"),
        ("/api/v1/pods", {"colour": "red"}, "colour"),
        ("/api/v1/pods/{uid}/timeline", {"from": "yesterday"}, "from"),
        ("/api/v1/pods/{uid}/timeline", {"from": "-1h", "to": "-2h"}, "to"),
        ("/api/v1/pods/{uid}", {"verbose": "1"}, "verbose"),
    ],
)
def test_an_invalid_parameter_is_a_400_naming_it(
    bearer: Client, sigkilled: data.PodStory, path: str, params: dict[str, str], parameter: str
) -> None:
    response = bearer.get(path.format(uid=sigkilled.uid), params)
    assert response.status_code == 400
    body = response.json()
    assert body["parameter"] == parameter
    validate(body, "Error")


@pytest.mark.parametrize("suffix", ["", "/timeline"])
def test_an_unknown_uid_is_a_404_json(bearer: Client, suffix: str) -> None:
    response = bearer.get(f"/api/v1/pods/00000000-dead-4000-8000-000000000000{suffix}")
    assert response.status_code == 404
    validate(response.json(), "Error")


# --- pods ---------------------------------------------------------------------------------


def test_pods_are_paged_with_a_next_link_and_filtered_like_the_dashboard(
    bearer: Client, cluster: Cluster, django_assert_num_queries
) -> None:
    base = (datetime.now(UTC) - timedelta(minutes=1) - f.T0).total_seconds()
    pods = [
        (
            0.1 * i,
            "ADDED",
            f.running_pod(
                uid=f"0000000{i:x}-0000-4000-8000-000000000000",
                name=f"web-7d9f8b6c5-{i:05d}",
                resource_version=str(10 + i),
                created=base,
                labels={"app": "web" if i % 2 else "api"},
            ),
        )
        for i in range(12)
    ]
    data.feed(cluster, "pods", pods, datetime.now(UTC) - timedelta(seconds=30))
    # Token lookup, its last-used stamp, access grants, the page.
    with django_assert_num_queries(4):
        first = bearer.get("/api/v1/pods", {"limit": "10"})
    body = first.json()
    validate(body, response_schema("/api/v1/pods", "200"))
    assert len(body["items"]) == 10
    assert body["next"].startswith("http://testserver/api/v1/pods?")
    with django_assert_num_queries(3):
        second = bearer.get(body["next"]).json()
    assert len(second["items"]) == 2
    assert second["next"] is None
    names = [p["name"] for p in body["items"] + second["items"]]
    assert names == sorted(names)
    assert len(set(names)) == 12
    web = bearer.get("/api/v1/pods", {"selector": "app=web"}).json()
    assert {p["labels"]["app"] for p in web["items"]} == {"web"}
    assert len(web["items"]) == 6


# --- one pod ------------------------------------------------------------------------------


def test_a_pod_answer_has_kubectl_columns_termination_and_startup(
    bearer: Client, sigkilled: data.PodStory, django_assert_num_queries
) -> None:
    # Token lookup + last-used stamp, access grants, pod, transitions, occurrences, events,
    # endpoints, gaps.
    with django_assert_num_queries(9):
        response = bearer.get(f"/api/v1/pods/{sigkilled.uid}")
    body = response.json()
    validate(body, response_schema("/api/v1/pods/{uid}", "200"))
    assert body["kubectl"]["status"] == "Error"
    assert body["kubectl"]["ready"] == "0/1"
    assert body["deleted_at"].endswith("Z")
    term = body["termination"]
    requested = sigkilled.base + timedelta(seconds=40)
    assert term["requested_at"] == format_rfc3339(requested)
    assert term["grace_period_seconds"] == 10
    assert term["endpoint_terminating_at"] is not None
    assert term["endpoint_removed_at"] is not None
    assert term["deleted_at"] is not None
    assert term["sources"]["requested_at"].startswith("api:deletionTimestamp")
    assert term["sources"]["endpoint_removed_at"].startswith("observed:")
    (app,) = term["containers"]
    assert app["name"] == "app"
    assert app["verdict"] == "sigkill_after_grace"
    assert app["verdict_text"] == "SIGKILLed at the end of the grace period"
    assert app["exit_code"] == 137
    assert app["reason"] == "Error"
    assert app["kill_started_at"] == format_rfc3339(requested)
    assert app["sigterm_earliest"] == format_rfc3339(requested)
    assert app["sigterm_latest"] == format_rfc3339(requested + timedelta(seconds=1))
    assert app["finished_at"] == format_rfc3339(requested + timedelta(seconds=10))
    assert app["grace_used_seconds"] == 10.0
    assert app["sources"]["kill_started_at"].startswith("event:Killing")
    assert app["sources"]["sigterm"].startswith("estimate:")
    assert body["startup"]["scheduled_at"] is not None
    assert body["startup"]["sli"]["variant"] == "api"


@pytest.mark.parametrize(
    ("exit_s", "exit_code", "reason", "verdict"),
    [
        (43.0, 0, "Completed", "clean_exit"),
        (41.0, 143, "Error", "sigterm_default"),
        (45.0, 137, "OOMKilled", "oom_killed"),
        (50.0, 137, "Error", "sigkill_after_grace"),
        (44.0, 2, "Error", "unknown"),
    ],
)
def test_each_way_of_ending_gets_its_verdict(
    bearer: Client,
    cluster: Cluster,
    exit_s: float,
    exit_code: int,
    reason: str,
    verdict: str,
) -> None:
    story = data.sigkill_story(exit_s=exit_s)
    data.ingest_sigkill_pod(cluster, story, exit_code=exit_code, reason=reason)
    body = bearer.get(f"/api/v1/pods/{story.uid}").json()
    validate(body, "PodDetail")
    (app,) = body["termination"]["containers"]
    assert app["verdict"] == verdict
    assert app["exit_code"] == exit_code
    # Recomputed from the history, it agrees with the record the ingest stored.
    record = TerminationRecord.objects.get(pod_uid=story.uid)
    assert record.verdicts == [f"app:{verdict}"]
    assert record.cause == body["termination"]["cause"]
    if verdict == "unknown":
        assert app["verdict_text"].startswith("unknown: ")


def test_a_running_pod_has_no_termination_section(bearer: Client, cluster: Cluster) -> None:
    story = data.running_story()
    data.ingest_running_pod(cluster, story)
    body = bearer.get(f"/api/v1/pods/{story.uid}").json()
    validate(body, "PodDetail")
    assert body["termination"] is None
    assert body["status"] == "Running"


def test_the_timeline_lists_transitions_and_events_in_time_order(
    bearer: Client, sigkilled: data.PodStory, django_assert_num_queries
) -> None:
    with django_assert_num_queries(9):
        response = bearer.get(f"/api/v1/pods/{sigkilled.uid}/timeline")
    body = response.json()
    validate(body, response_schema("/api/v1/pods/{uid}/timeline", "200"))
    times = [parse_rfc3339(item["at"]) for item in body["items"]]
    assert times == sorted(times)
    kinds = {item["type"] for item in body["items"]}
    assert kinds == {"transition", "event"}
    reasons = [item["reason"] for item in body["items"] if item["type"] == "event"]
    assert reasons.count("Killing") == 1
    assert any(item.get("kind") == "deleted" for item in body["items"])
    start = format_rfc3339(sigkilled.base + timedelta(seconds=39))
    window = bearer.get(f"/api/v1/pods/{sigkilled.uid}/timeline", {"from": start}).json()
    assert window["from"] == start
    assert all(parse_rfc3339(item["at"]) >= parse_rfc3339(start) for item in window["items"])
    assert 0 < len(window["items"]) < len(body["items"])


def test_the_openapi_document_is_public_and_describes_every_endpoint(
    django_assert_num_queries,
) -> None:
    with django_assert_num_queries(0):
        response = Client().get("/api/v1/openapi.json")
    document = response.json()
    assert document["openapi"] == "3.1.0"
    assert set(document["paths"]) == {
        "/api/v1/pods",
        "/api/v1/pods/{uid}",
        "/api/v1/pods/{uid}/timeline",
        "/api/v1/review",
        "/api/v1/openapi.json",
    }
    Draft202012Validator.check_schema(
        {"$defs": document["components"]["schemas"], "type": "object"}
    )
    verdicts = document["components"]["schemas"]["ContainerTermination"]["properties"]["verdict"]
    assert set(verdicts["enum"]) == {
        "clean_exit",
        "sigterm_default",
        "sigkill_after_grace",
        "oom_killed",
        "unknown",
    }
