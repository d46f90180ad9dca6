"""The web pages of the integration features: API tokens (per user) and webhooks (department admins)."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.audit_models import AuditEvent
from accounts.models import ApiToken
from jobs.webhook_models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db


def test_token_page_shows_the_key_once_and_revokes(users, login):
    client = login(users["auditor"])
    assert client.get("/tokens/").status_code == 200
    response = client.post("/tokens/", {"name": "BI export", "days": 30, "read_only": "on"})
    token = ApiToken.objects.get(user=users["auditor"])
    key = response.context["new_key"]
    assert key in response.content.decode() and token.read_only and response["Cache-Control"] == "no-store"
    assert key not in client.get("/tokens/").content.decode()
    assert ApiToken.find(key) == token
    client.post(f"/tokens/{token.pk}/revoke/")
    assert ApiToken.find(key) is None
    assert set(AuditEvent.objects.filter(object_id=str(token.pk)).values_list("action", flat=True)) == {
        "api_token.create", "api_token.revoke"}
    other = Client()
    other.force_login(users["manager"])
    assert other.post(f"/tokens/{token.pk}/revoke/").status_code == 404


def test_webhooks_page_for_department_admins_only(users, login, departments):
    assert login(users["manager"]).get("/jobs/webhooks/").status_code == 403
    client = login(users["dept_admin"])
    response = client.post("/jobs/webhooks/", {"name": "LMS", "url": "https://lms.example/hooks",
                                               "events": ["batch.completed", "item.failed"]})
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.department == departments["hr"] and endpoint.secret in response.content.decode()
    assert endpoint.secret not in client.get("/jobs/webhooks/").content.decode()
    client.post(f"/jobs/webhooks/{endpoint.pk}/test/")
    assert WebhookDelivery.objects.get().event == "ping"
    stranger = Client()
    stranger.force_login(users["sales_admin"])
    assert stranger.post(f"/jobs/webhooks/{endpoint.pk}/delete/").status_code == 404
    client.post(f"/jobs/webhooks/{endpoint.pk}/delete/")
    assert not WebhookEndpoint.objects.exists()
    bad = client.post("/jobs/webhooks/", {"url": "ftp://x.example/", "events": ["batch.failed"]})
    assert bad.status_code == 200 and not WebhookEndpoint.objects.exists()
