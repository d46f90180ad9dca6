"""Auditors cannot change anything anywhere: every URL of the urlconf that changes data answers 403/404 to them
(web pages with the session, API endpoints with the session and with a token), and nothing in the database moves.

Web views are classified below by name; a new URL name fails the test until someone classifies it. API endpoints
are classified from DRF itself (the methods each view or viewset route accepts).
"""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from accounts.audit_models import AuditAnchor, AuditEvent
from accounts.models import ApiToken, Membership
from jobs.models import BatchJob, ItemStatus, JobItem
from jobs.webhook_models import WebhookDelivery, WebhookEndpoint, WebhookEvent

pytestmark = pytest.mark.django_db

UNSAFE = ("post", "put", "patch", "delete")

#: web views that change data when POSTed to
WEB_MUTATING = {
    "media_library:presenter_upload", "media_library:presenter_edit", "media_library:audio_upload",
    "media_library:audio_tts", "media_library:audio_edit", "media_library:remove", "media_library:restore",
    "media_library:reanalyse", "job_create", "job_cancel", "job_retry", "job_duplicate", "webhooks",
    "webhook_test", "webhook_delete", "members", "change_role", "remove_member",
}
#: web views that only read (auditors may open them; an unsafe method must still change nothing)
WEB_READ_ONLY = {
    "healthz", "home", "audit:timeline", "audit:export", "audit:jobs", "media_library:presenters",
    "media_library:presenter_detail", "media_library:presenter_file", "media_library:audio",
    "media_library:audio_detail", "media_library:audio_file", "job_list", "job_export", "job_detail", "job_status",
    "job_zip", "item_download", "item_preview", "api:schema", "api:docs",
}
#: the user's own session and credentials, not department data: every role, auditors included, may use them
SELF_SERVICE = {"login", "logout", "switch_department", "set_language", "api_tokens", "api_token_revoke",
                "api:token-list", "api:token-detail", "api:me"}
STAFF_ONLY_NAMESPACES = ("admin", "django_rq")


def _walk(patterns, namespace: str = ""):
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = f"{namespace}:{p.namespace}" if namespace and p.namespace else (p.namespace or namespace)
            yield from _walk(p.url_patterns, ns)
        elif isinstance(p, URLPattern) and p.name:
            yield (f"{namespace}:{p.name}" if namespace else p.name), p


def _drf_unsafe_methods(callback) -> set[str] | None:
    """Unsafe methods a DRF route accepts, or None for a plain Django view."""
    if hasattr(callback, "actions"):  # a viewset route: {"get": "list", "post": "create"}
        return {m for m in callback.actions if m in UNSAFE}
    view_class = getattr(callback, "cls", None)
    if view_class is not None and hasattr(view_class, "permission_classes"):
        return {m for m in UNSAFE if hasattr(view_class, m)}
    return None


@pytest.fixture
def world(users, departments, media_set, media_root):
    """One HR object of every kind (the auditor's own department, so requests reach the role checks)."""
    hr = departments["hr"]
    batch = BatchJob.objects.create(department=hr, creator=users["manager"], audio=media_set["audio"])
    item = JobItem.objects.create(batch=batch, department=hr, presenter=media_set["presenters"][0],
                                  status=ItemStatus.FAILED)
    endpoint = WebhookEndpoint.objects.create(department=hr, url="http://127.0.0.1:9/hook",
                                              events=[WebhookEvent.BATCH_COMPLETED])
    delivery = WebhookDelivery.objects.create(department=hr, endpoint=endpoint, event="ping")
    return {
        "presenter": media_set["presenters"][0], "audio": media_set["audio"], "job": batch, "item": item,
        "webhook": endpoint, "webhook-delivery": delivery, "department": hr,
        "member": Membership.objects.get(user=users["hr"]),
    }


def _kwargs(name: str, pattern: URLPattern, world: dict) -> list[dict]:
    """Arguments pointing at HR objects for this URL (one set per object kind it can address)."""
    keys = set(pattern.pattern.regex.groupindex)
    if "kind" in keys:
        return [{"kind": "presenter", "pk": world["presenter"].pk}, {"kind": "audio", "pk": world["audio"].pk}]
    if not keys:
        return [{}]
    short = name.split(":")[-1]
    if short.startswith("api") or name.startswith("api:"):
        short = short.rsplit("-", 1)[0]
    by_prefix = [
        ("presenter", "presenter"), ("audio", "audio"), ("job", "job"), ("item", "item"),
        ("webhook-delivery", "webhook-delivery"), ("webhook", "webhook"), ("department", "department"),
        ("change_role", "member"), ("remove_member", "member"),
    ]
    target = next((obj for prefix, obj in by_prefix if short.startswith(prefix)), None)
    kwargs = {}
    if "pk" in keys:
        assert target, f"no HR object for {name}"
        kwargs["pk"] = world[target].pk
    if "slug" in keys:
        kwargs["slug"] = "hr"
    if "what" in keys:
        kwargs["what"] = "original"
    return [kwargs]


def _snapshot() -> dict:
    """Every row of every table except the audit trail itself, sessions and token bookkeeping."""
    skip = {AuditEvent, AuditAnchor, Session}
    state = {}
    for model in apps.get_models():
        if model in skip or not model._meta.managed:
            continue
        rows = list(model._base_manager.order_by("pk").values())
        if model is ApiToken:
            rows = [{k: v for k, v in r.items() if k != "last_used_at"} for r in rows]
        state[model._meta.label] = rows
    return state


def _routes():
    for name, pattern in _walk(get_resolver().url_patterns):
        if name.split(":")[0] in STAFF_ONLY_NAMESPACES:
            continue
        yield name, pattern


def test_every_url_is_classified():
    unknown = {
        name for name, pattern in _routes()
        if _drf_unsafe_methods(pattern.callback) is None and name not in WEB_MUTATING | WEB_READ_ONLY | SELF_SERVICE
    }
    assert not unknown, f"classify these URL names in {__name__}: {sorted(unknown)}"


def test_auditors_cannot_change_anything(users, world, clean_queues):
    auditor = users["auditor"]
    session = Client()
    session.force_login(auditor)
    _, key = ApiToken.issue(auditor, name="auditor")
    token = APIClient()
    token.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    before = _snapshot()
    checked, refused = 0, []
    for name, pattern in _routes():
        if name in SELF_SERVICE:
            continue
        drf_methods = _drf_unsafe_methods(pattern.callback)
        if "format" in pattern.pattern.regex.groupindex or drf_methods == set():
            continue  # a format-suffix twin of another route, or a read-only API route
        for kwargs in _kwargs(name, pattern, world):
            url = reverse(name, kwargs=kwargs)
            if drf_methods is not None:
                clients_methods = [(c, m) for c in (session, token) for m in sorted(drf_methods)]
            elif name in WEB_MUTATING:
                clients_methods = [(session, "post")]
            else:
                clients_methods = [(session, m) for m in UNSAFE]  # read-only pages: must simply change nothing
            for client, method in clients_methods:
                response = getattr(client, method)(url, {}, format="json") if client is token else getattr(
                    client, method
                )(url, {})
                checked += 1
                mutating = drf_methods is not None or name in WEB_MUTATING
                if mutating and response.status_code not in (403, 404):
                    refused.append(f"{method.upper()} {url} ({name}) -> {response.status_code}")
                assert response.status_code < 500, f"{method.upper()} {url} -> {response.status_code}"
    assert not refused, "auditor was not refused:\n" + "\n".join(refused)
    assert _snapshot() == before, "an auditor request changed data"
    assert checked > 40


def test_the_staff_only_admin_and_queue_pages_turn_auditors_away(users, world):
    client = Client()
    client.force_login(users["auditor"])
    before = _snapshot()
    for name, pattern in _walk(get_resolver().url_patterns):
        if name.split(":")[0] not in STAFF_ONLY_NAMESPACES or name in ("admin:login", "admin:logout"):
            continue
        kwargs = {key: "1" for key in pattern.pattern.regex.groupindex}
        if "app_label" in kwargs:
            kwargs["app_label"] = "accounts"
        try:
            url = reverse(name, kwargs=kwargs)
        except Exception:  # noqa: BLE001 - patterns with constrained values we cannot fill generically
            continue
        response = client.post(url, {})
        assert response.status_code in (302, 401, 403, 404), f"POST {url} -> {response.status_code}"
        if response.status_code == 302:
            assert "login" in response["Location"], f"POST {url} -> {response['Location']}"
    assert _snapshot() == before
