"""The OpenAPI schema is valid, Swagger UI is served without a CDN, and schemathesis finds no 5xx anywhere."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings

from accounts.models import ApiToken
from tests.api.conftest import API

pytestmark = pytest.mark.django_db

EXAMPLES_PER_OPERATION = 25


def test_schema_and_swagger_ui_are_served_offline(users, client):
    assert client.get("/api/schema/").status_code in (401, 403)  # not public
    client.force_login(users["manager"])
    schema = client.get("/api/schema/?format=json").json()
    assert schema["openapi"].startswith("3.") and f"{API}jobs/" in schema["paths"]
    assert "tokenAuth" in schema["components"]["securitySchemes"]
    page = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in page and "cdn" not in page.lower() and "//unpkg" not in page
    assert "/static/drf_spectacular_sidecar/" in page


@pytest.fixture
def keep_test_connection():
    """Calling the WSGI app directly would close the test's database connection at the end of each request
    (Django's own test client disconnects the same signal handler)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_schemathesis_finds_no_server_errors(world, users, clean_queues, keep_test_connection):
    import schemathesis

    from portal.wsgi import application

    _, key = ApiToken.issue(users["dept_admin"], name="schemathesis")
    auth = {"Authorization": f"Token {key}", "X-Department": "hr"}
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application, headers=auth)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 30

    for operation in operations:
        _fuzz(operation, auth, failures)
    assert not failures, "\n".join(failures)


def _fuzz(operation, auth: dict, failures: list[str]) -> None:
    """A few generated requests against one operation: never a 5xx, every error in the {code, message} shape."""

    @hypothesis_settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                         phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def check(case) -> None:
        response = case.call(headers=auth)
        if response.status_code >= 500:
            failures.append(f"{operation.label}: {response.status_code} {response.content[:300]!r}")
        elif response.status_code >= 400 and response.headers.get("Content-Type", "").startswith("application/json"):
            body = response.json()
            assert "code" in body and "message" in body, (operation.label, body)

    check()
