"""Tenancy and roles over every API endpoint: other departments' objects are 404 for every method; visible
objects whose department does not grant the action are 403; tokens: read-only, expired, revoked."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import ApiToken
from accounts.permissions import Action, Role, can
from tests.api.conftest import API

pytestmark = pytest.mark.django_db

PREFIX = {"presenter": "presenters", "audio": "audio", "job": "jobs", "item": "items", "webhook": "webhooks",
          "delivery": "webhooks/deliveries", "audit": "audit"}

#: every operation on one object: (kind, sub-path, method, the Action it needs)
OBJECT_OPS = [
    *[("presenter", "", m, Action.MANAGE_PRESENTERS) for m in ("put", "patch", "delete")],
    ("presenter", "", "get", Action.VIEW_MEDIA),
    ("presenter", "archive/", "post", Action.MANAGE_PRESENTERS),
    *[("audio", "", m, Action.MANAGE_AUDIO) for m in ("put", "patch", "delete")],
    ("audio", "", "get", Action.VIEW_MEDIA),
    ("audio", "archive/", "post", Action.MANAGE_AUDIO),
    ("job", "", "get", Action.VIEW_JOBS),
    ("job", "cancel/", "post", Action.RUN_JOBS),
    ("job", "retry/", "post", Action.RUN_JOBS),
    ("job", "download/", "get", Action.DOWNLOAD_OUTPUTS),
    ("item", "", "get", Action.VIEW_JOBS),
    ("item", "download/", "get", Action.DOWNLOAD_OUTPUTS),
    *[("webhook", "", m, Action.MANAGE_INTEGRATIONS) for m in ("get", "put", "patch", "delete")],
    ("webhook", "test/", "post", Action.MANAGE_INTEGRATIONS),
    ("delivery", "", "get", Action.MANAGE_INTEGRATIONS),
    ("audit", "", "get", Action.VIEW_AUDIT),
]

#: operations on collections (list, create): (path, method, Action)
COLLECTION_OPS = [
    ("presenters/", "get", Action.VIEW_MEDIA),
    ("presenters/", "post", Action.MANAGE_PRESENTERS),
    ("audio/", "get", Action.VIEW_MEDIA),
    ("audio/", "post", Action.MANAGE_AUDIO),
    ("audio/tts/", "post", Action.MANAGE_AUDIO),
    ("jobs/", "get", Action.VIEW_JOBS),
    ("jobs/", "post", Action.RUN_JOBS),
    ("webhooks/", "get", Action.MANAGE_INTEGRATIONS),
    ("webhooks/", "post", Action.MANAGE_INTEGRATIONS),
    ("webhooks/deliveries/", "get", Action.MANAGE_INTEGRATIONS),
    ("audit/", "get", Action.VIEW_AUDIT),
]

ROLE_USERS = {Role.MANAGER: "manager", Role.HR: "hr", Role.AUDITOR: "auditor", Role.DEPT_ADMIN: "dept_admin"}


def _url(world_side: dict, kind: str, sub: str) -> str:
    return f"{API}{PREFIX[kind]}/{world_side[kind].pk}/{sub}"


def _call(client, method: str, url: str):
    return getattr(client, method)(url, {}, format="json") if method in ("post", "put", "patch") else getattr(
        client, method
    )(url)


def test_matrix_covers_every_object_operation_of_the_schema():
    """A new endpoint must be added to the matrices above (the schema is the list of endpoints)."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    documented = {
        (path.removeprefix(API), method)
        for path, operations in schema["paths"].items()
        for method in operations
        if "{id}" in path
    }
    documented -= {("departments/{id}/", "get"), ("tokens/{id}/", "delete")}  # not department-owned
    covered = {(f"{PREFIX[kind]}/{{id}}/{sub}", method) for kind, sub, method, _ in OBJECT_OPS}
    assert documented == covered
    collections = {
        (path.removeprefix(API), method)
        for path, operations in schema["paths"].items()
        for method in operations
        if "{id}" not in path
    }
    collections -= {("me/", "get"), ("departments/", "get"), ("tokens/", "get"), ("tokens/", "post")}
    assert collections == {(path, method) for path, method, _ in COLLECTION_OPS}


@pytest.mark.parametrize("who", ["manager", "hr", "auditor", "dept_admin", "sales_manager", "sales_admin"])
def test_other_departments_objects_are_404_for_every_endpoint_and_method(world, users, api, who):
    mine = "sales" if who.startswith("sales") else "hr"
    other = world["hr" if mine == "sales" else "sales"]
    client = api(users[who])
    for kind, sub, method, _ in OBJECT_OPS:
        url = _url(other, kind, sub)
        response = _call(client, method, url)
        assert response.status_code == 404, f"{who}: {method.upper()} {url} -> {response.status_code}"
        assert response.json()["code"] == "not_found"
    response = client.get(f"{API}departments/{other['department'].pk}/")
    assert response.status_code == 404


@pytest.mark.parametrize("who", ["manager", "auditor", "dept_admin", "sales_admin"])
def test_lists_never_show_other_departments(world, users, api, who):
    mine, other = ("sales", "hr") if who.startswith("sales") else ("hr", "sales")
    client = api(users[who])
    for path, kind in [("presenters/", "presenter"), ("audio/", "audio"), ("jobs/", "job"), ("webhooks/", "webhook"),
                       ("webhooks/deliveries/", "delivery"), ("audit/", "audit")]:
        response = client.get(f"{API}{path}")
        if response.status_code == 403:
            continue  # role without the action anywhere (manager: webhooks)
        ids = {row["id"] for row in response.json()["results"]}
        assert world[other][kind].pk not in ids, path
        assert world[mine][kind].pk in ids, path


@pytest.mark.parametrize("role", list(ROLE_USERS))
@pytest.mark.parametrize(("kind", "sub", "method", "action"), OBJECT_OPS, ids=lambda v: str(v))
def test_role_matrix_on_own_department_objects(world, users, api, role, kind, sub, method, action):
    user = users[ROLE_USERS[role]]
    response = _call(api(user), method, _url(world["hr"], kind, sub))
    if can(user, action, world["hr"]["department"]):
        assert response.status_code not in (401, 403, 404, 405) and response.status_code < 500, response.content
    else:
        assert response.status_code == 403, response.content
        assert response.json()["code"] == "permission_denied"


@pytest.mark.parametrize("role", list(ROLE_USERS))
@pytest.mark.parametrize(("path", "method", "action"), COLLECTION_OPS, ids=lambda v: str(v))
def test_role_matrix_on_collections(world, users, api, role, path, method, action):
    user = users[ROLE_USERS[role]]
    response = _call(api(user), method, f"{API}{path}")
    if can(user, action, world["hr"]["department"]):
        assert response.status_code in (200, 400), response.content  # 400: the empty body of a create
    else:
        assert response.status_code == 403, response.content


def test_two_department_user_sees_the_auditor_department_read_only(world, users, api):
    client = api(users["two_departments"])  # manager in HR, auditor in Sales
    sales = world["sales"]
    assert client.get(_url(sales, "presenter", "")).status_code == 200
    assert client.get(_url(sales, "item", "download/")).status_code == 200
    assert client.patch(_url(sales, "presenter", ""), {"title": "x"}, format="json").status_code == 403
    assert client.post(_url(sales, "job", "cancel/")).status_code == 403
    assert client.post(_url(world["hr"], "job", "cancel/")).status_code == 200


def test_staff_reach_every_department(world, users, api):
    client = api(users["staff"])
    assert client.get(_url(world["sales"], "job", "")).status_code == 200
    assert client.get(_url(world["hr"], "webhook", "")).status_code == 200


# --- tokens -------------------------------------------------------------------------------------------------


def test_read_only_token_allows_safe_methods_only(world, users, api):
    client = api(users["dept_admin"], read_only=True)
    assert client.get(f"{API}presenters/").status_code == 200
    assert client.get(_url(world["hr"], "item", "download/")).status_code == 200
    for method, url in [("post", _url(world["hr"], "job", "cancel/")), ("patch", _url(world["hr"], "audio", "")),
                        ("delete", _url(world["hr"], "presenter", "")), ("post", f"{API}jobs/"),
                        ("post", f"{API}tokens/")]:
        response = _call(client, method, url)
        assert response.status_code == 403, (method, url)
        assert response.json()["code"] == "read_only_token"


@pytest.mark.parametrize("state", ["expired", "revoked", "garbage", "missing"])
def test_unusable_tokens_are_401(users, api, state):
    token, key = ApiToken.issue(users["manager"])
    if state == "expired":
        ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    elif state == "revoked":
        token.revoke()
    elif state == "garbage":
        key = "lsp_not-a-real-key"
    client = api()
    if state != "missing":
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = client.get(f"{API}me/")
    assert response.status_code == 401
    body = response.json()
    assert body["code"] in ("authentication_failed", "not_authenticated") and body["message"]


def test_token_marks_last_use(users, api):
    client = api(users["manager"])
    assert client.get(f"{API}me/").status_code == 200
    assert ApiToken.objects.get(user=users["manager"]).last_used_at is not None


def test_token_endpoints_create_once_list_and_revoke_audited(users, api):
    from accounts.audit_models import AuditEvent

    client = api(users["hr"])
    created = client.post(f"{API}tokens/", {"name": "lms", "read_only": True, "days": 30}, format="json")
    assert created.status_code == 201
    key = created.json()["key"]
    assert key.startswith("lsp_") and created.json()["read_only"] is True
    listed = client.get(f"{API}tokens/").json()["results"]
    assert all("key" not in row for row in listed) and {r["name"] for r in listed} == {"test", "lms"}
    assert client.delete(f"{API}tokens/{created.json()['id']}/").status_code == 204
    fresh = api()
    fresh.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert fresh.get(f"{API}me/").status_code == 401
    other = api(users["manager"])
    assert other.delete(f"{API}tokens/{ApiToken.objects.filter(user=users['hr']).first().pk}/").status_code == 404
    events = AuditEvent.objects.filter(actor=users["hr"], object_id=str(created.json()["id"]))
    assert sorted(events.values_list("action", flat=True)) == ["api_token.create", "api_token.revoke"]
    assert key not in str(list(events.values_list("details", flat=True)))


def test_audit_endpoint_filters_and_is_read_only(world, users, api):
    client = api(users["auditor"])
    rows = client.get(f"{API}audit/?action=job.create").json()["results"]
    assert [r["id"] for r in rows] == [world["hr"]["audit"].pk] and rows[0]["department"] == "hr"
    assert client.post(f"{API}audit/", {}, format="json").status_code == 405
    assert client.delete(f"{API}audit/{world['hr']['audit'].pk}/").status_code == 405


def test_me_lists_departments_roles_and_active(users, api):
    body = api(users["two_departments"], HTTP_X_DEPARTMENT="sales").get(f"{API}me/").json()
    assert body["username"] == "both" and body["active_department"] == "sales"
    roles = {d["slug"]: d["role"] for d in body["departments"]}
    assert roles == {"hr": "manager", "sales": "auditor"}
    departments = api(users["manager"]).get(f"{API}departments/").json()
    assert [d["slug"] for d in departments] == ["hr"]
