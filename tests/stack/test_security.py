"""Web hardening: CSP without inline code, CSRF, WebSocket origins, login throttling, secrets."""

from __future__ import annotations

import uuid
from io import StringIO
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from lifecycle_dash.ingest.clusters import cluster_add
from lifecycle_dash.stack.security import DEFAULT_POLICY

PASSWORD = "correct horse battery"


def _user(**extra: Any) -> Any:
    return get_user_model().objects.create_user(
        username=f"sre-{uuid.uuid4().hex[:8]}", password=PASSWORD, **extra
    )


def _directives(policy: str) -> dict[str, list[str]]:
    parts = (part.split() for part in policy.split(";") if part.strip())
    return {words[0]: words[1:] for words in parts}


# --- Content-Security-Policy -------------------------------------------------------------------


def test_the_policy_allows_no_inline_code_and_no_eval():
    directives = _directives(DEFAULT_POLICY)
    for name in ("script-src", "style-src"):
        assert directives[name] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in DEFAULT_POLICY
    assert "'unsafe-eval'" not in DEFAULT_POLICY


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/login/", "/review/", "/incidents/"])
def test_every_html_page_carries_the_policy(path):
    client = Client()
    client.force_login(_user())
    response = client.get(path)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert response["Content-Security-Policy"] == DEFAULT_POLICY


@pytest.mark.django_db
def test_htmx_fragments_and_admin_pages_carry_the_policy_too():
    client = Client()
    client.force_login(_user(is_staff=True, is_superuser=True))
    fragment = client.get("/?namespace=x", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert fragment["Content-Security-Policy"] == DEFAULT_POLICY
    assert client.get("/admin/")["Content-Security-Policy"] == DEFAULT_POLICY


@pytest.mark.django_db
def test_pages_reference_scripts_only_as_files():
    client = Client()
    client.force_login(_user())
    html = client.get("/").content.decode()
    assert "<script>" not in html
    assert "<script " in html
    for tag in html.split("<script")[1:]:
        assert tag.split(">", 1)[0].strip().startswith("src="), tag[:80]
    assert " style=" not in html
    assert " onclick=" not in html
    assert "hx-on" not in html


# --- CSRF ----------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/login/", "/logout/", "/incidents/", "/admin/login/"])
def test_a_post_without_csrf_token_is_refused(path):
    client = Client(enforce_csrf_checks=True)
    client.force_login(_user(is_staff=True))
    response = client.post(path, {"username": "x", "password": "y"})
    assert response.status_code == 403


@pytest.mark.django_db
def test_every_form_of_the_pages_carries_a_csrf_token_when_it_posts():
    client = Client()
    client.force_login(_user())
    for path in ("/", "/review/", "/incidents/"):
        html = client.get(path).content.decode()
        for form in html.split("<form")[1:]:
            head, body = form.split(">", 1)
            if 'method="post"' in head:
                assert 'name="csrfmiddlewaretoken"' in body.split("</form>")[0], (path, head)


# --- WebSocket origin validation -----------------------------------------------------------------


async def _connect(origin: bytes) -> tuple[bool, Any]:
    from lifecycle_dash.asgi import application

    communicator = WebsocketCommunicator(
        application, "/ws/dashboard/", headers=[(b"host", b"127.0.0.1:8000"), (b"origin", origin)]
    )
    connected, code = await communicator.connect(timeout=5)
    await communicator.disconnect()
    return connected, code


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_websocket_from_a_foreign_origin_is_refused_before_the_consumer():
    connected, code = await _connect(b"https://evil.example")
    assert connected is False
    # 4401 would mean the consumer ran (and refused the anonymous user): it must not run.
    assert code != 4401


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_websocket_from_an_allowed_origin_reaches_the_consumer():
    connected, code = await _connect(b"http://127.0.0.1:8000")
    # Past the origin check, the consumer itself refuses the anonymous user with 4401.
    assert connected is False
    assert code == 4401


# --- login throttling ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_five_failed_sign_ins_block_that_username_from_that_address_with_429(settings):
    settings.LOGIN_THROTTLE_FAILURES = 5
    user = _user()
    client = Client(REMOTE_ADDR="203.0.113.7")
    for _ in range(5):
        response = client.post("/login/", {"username": user.username, "password": "wrong"})
        assert response.status_code == 200  # the form again, with its error
    # Even the right password is not checked now.
    blocked = client.post("/login/", {"username": user.username, "password": PASSWORD})
    assert blocked.status_code == 429
    assert b"Too many failed sign-ins" in blocked.content
    assert int(blocked["Retry-After"]) > 0
    assert "_auth_user_id" not in client.session
    # Another address, or another username, is not blocked.
    elsewhere = Client(REMOTE_ADDR="198.51.100.9")
    response = elsewhere.post("/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    other = _user()
    response = client.post("/login/", {"username": other.username, "password": PASSWORD})
    assert response.status_code == 302


@pytest.mark.django_db
def test_a_successful_sign_in_clears_the_failures(settings):
    settings.LOGIN_THROTTLE_FAILURES = 3
    user = _user()
    client = Client(REMOTE_ADDR="203.0.113.8")
    for _ in range(2):
        client.post("/login/", {"username": user.username, "password": "wrong"})
    assert (
        client.post("/login/", {"username": user.username, "password": PASSWORD}).status_code == 302
    )
    client.logout()
    for _ in range(2):
        client.post("/login/", {"username": user.username, "password": "wrong"})
    assert (
        client.post("/login/", {"username": user.username, "password": PASSWORD}).status_code == 302
    )


@pytest.mark.django_db
def test_the_admin_login_is_throttled_as_well(settings):
    settings.LOGIN_THROTTLE_FAILURES = 2
    user = _user(is_staff=True)
    client = Client(REMOTE_ADDR="203.0.113.9")
    for _ in range(2):
        client.post("/admin/login/", {"username": user.username, "password": "wrong"})
    response = client.post("/admin/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 429


# --- stored credentials are never shown ----------------------------------------------------------

TOKEN = "kubeconfig-bearer-9f8e7d6c5b4a39281706f5e4d3c2b1a0"
KUBECONFIG = f"""apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster:
    server: https://prod.example.com:6443
contexts:
- name: prod
  context: {{cluster: prod, user: sre}}
current-context: prod
users:
- name: sre
  user:
    token: {TOKEN}
"""


@pytest.mark.django_db
def test_a_kubeconfig_token_is_stored_encrypted_and_never_rendered_back():
    from lifecycle_dash.ingest.models import Cluster

    cluster = cluster_add(name="prod", source="kubeconfig", kubeconfig=KUBECONFIG)
    row = Cluster.objects.filter(pk=cluster.pk).values().get()
    assert all(TOKEN not in str(value) for value in row.values())
    assert Cluster.objects.get(pk=cluster.pk).kubeconfig == KUBECONFIG  # still usable

    admin = Client()
    admin.force_login(_user(is_staff=True, is_superuser=True))
    for path in (
        f"/admin/ingest/cluster/{cluster.pk}/change/",
        "/admin/ingest/cluster/",
        f"/admin/ingest/cluster/{cluster.pk}/history/",
    ):
        response = admin.get(path)
        assert response.status_code == 200, path
        assert TOKEN not in response.content.decode(), path
        assert TOKEN[:16] not in response.content.decode(), path

    out = StringIO()
    call_command("cluster", "list", stdout=out)
    assert "prod" in out.getvalue()
    assert TOKEN not in out.getvalue()
    assert TOKEN[:16] not in out.getvalue()
