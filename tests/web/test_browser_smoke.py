from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

pytestmark = [pytest.mark.browser, pytest.mark.integration]


@pytest.mark.django_db(transaction=True)
def test_signing_in_through_chromium_lands_on_the_dashboard(live_web, browser, artifacts_dir):
    get_user_model().objects.create_user(username="sre", password="correct horse battery")
    page = browser.new_page()
    page.goto(f"{live_web}/")
    assert "/login/" in page.url
    page.fill("#id_username", "sre")
    page.fill("#id_password", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('Pods')")
    assert page.url == f"{live_web}/"
    # htmx comes from django-htmx's bundled copy, not a CDN.
    assert page.evaluate("typeof window.htmx") == "object"
    page.screenshot(path=str(artifacts_dir / "dashboard-signed-in.png"), full_page=True)
    page.close()


@pytest.mark.django_db(transaction=True)
def test_a_wrong_password_is_refused_with_a_message(live_web, browser):
    get_user_model().objects.create_user(username="sre", password="correct horse battery")
    page = browser.new_page()
    page.goto(f"{live_web}/login/")
    page.fill("#id_username", "sre")
    page.fill("#id_password", "wrong")
    page.click("button[type=submit]")
    assert page.locator("[role=alert]").inner_text() == "Your username and password did not match."
    page.close()
