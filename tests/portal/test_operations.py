"""Production settings, health endpoint, request ids, logs, API token command, database backend."""

import json
import logging
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args, **env_overrides):
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(env_overrides)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)


def test_check_deploy_has_no_warnings_in_production_settings():
    result = _manage(
        "check", "--deploy", "--fail-level", "WARNING",
        DEBUG="0", SECRET_KEY=secrets.token_urlsafe(64), ALLOWED_HOSTS="portal.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_refuses_to_start_without_secret_key():
    result = _manage("check", DEBUG="0", SECRET_KEY="", ALLOWED_HOSTS="portal.example.com")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_media_has_no_public_url():
    assert not settings.MEDIA_URL


@pytest.mark.django_db
def test_healthz_ok_with_real_services(client):
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["checks"]["database"]["ok"] and body["checks"]["redis"]["ok"]
    assert body["checks"]["disk"]["free_bytes"] > 0
    assert "live" in body["checks"]["workers"]


@pytest.mark.django_db
def test_healthz_503_when_redis_is_down(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["redis"]["ok"] is False and "Connection" in body["checks"]["redis"]["error"]


@pytest.mark.django_db
def test_request_id_returned_and_logged(client, caplog):
    response = client.get("/healthz")
    generated = response["X-Request-ID"]
    assert len(generated) == 32
    response = client.get("/healthz", HTTP_X_REQUEST_ID="abc-123-trace-id")
    assert response["X-Request-ID"] == "abc-123-trace-id"
    response = client.get("/healthz", HTTP_X_REQUEST_ID="bad id\nwith newline")
    assert response["X-Request-ID"] != "bad id\nwith newline"


@pytest.mark.django_db
def test_log_file_lines_carry_the_request_id(client):
    client.get("/nowhere-at-all", HTTP_X_REQUEST_ID="trace-log-check-1")  # a 404 is logged as a warning
    for handler in logging.getLogger().handlers:
        handler.flush()
    log_text = (Path(settings.LOG_DIR) / "portal.log").read_text()
    assert "[trace-log-check-1]" in log_text


@pytest.mark.django_db
def test_create_api_token_prints_a_working_token(users, client, capsys):
    from accounts.models import ApiToken

    call_command("create_api_token", "hr_manager")
    key = capsys.readouterr().out.strip().splitlines()[-1]
    assert key.startswith("lsp_")
    token = ApiToken.find(key)
    assert token is not None and token.user == users["manager"]
    assert token.key_hash != key and key not in json.dumps(list(ApiToken.objects.values("key_hash", "key_hint")))
    token.revoke()
    assert ApiToken.find(key) is None


@pytest.mark.django_db
def test_database_backend_matches_configuration():
    expected = "postgresql" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "sqlite"
    assert connection.vendor == expected
    if os.environ.get("CI"):
        assert connection.vendor == "postgresql", "CI must run the suite against PostgreSQL"
