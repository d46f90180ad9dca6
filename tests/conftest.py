"""Shared fixtures: departments, one user per role, and the cross-department 404 helper."""

from __future__ import annotations

import pytest

PASSWORD = "test-pass-123"


# Django imports live inside the fixtures: the engine's tests (tests/engine) run without Django.


@pytest.fixture
def departments(db) -> dict:
    from accounts.models import Department

    return {
        "hr": Department.objects.create(name="Human Resources", slug="hr"),
        "sales": Department.objects.create(name="Sales", slug="sales"),
    }


@pytest.fixture
def make_user(db, settings):
    """make_user("name", hr="manager", sales="auditor") -> a user with those memberships."""
    # PBKDF2 would make every user cost a second; tests do not need real key stretching.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

    from django.contrib.auth import get_user_model

    from accounts.models import Department, Membership

    def make(username: str, superuser: bool = False, **roles_by_slug: str):
        user = get_user_model().objects.create_user(username, password=PASSWORD)
        if superuser:
            user.is_staff = user.is_superuser = True
            user.save()
        for slug, role in roles_by_slug.items():
            Membership.objects.create(user=user, department=Department.objects.get(slug=slug), role=role)
        return user

    return make


@pytest.fixture
def users(departments, make_user) -> dict:
    """One user per role in HR, a manager in Sales, a two-department user and platform staff."""
    from accounts.permissions import Role

    return {
        "manager": make_user("hr_manager", hr=Role.MANAGER),
        "hr": make_user("hr_voice", hr=Role.HR),
        "auditor": make_user("hr_auditor", hr=Role.AUDITOR),
        "dept_admin": make_user("hr_admin", hr=Role.DEPT_ADMIN),
        "sales_manager": make_user("sales_manager", sales=Role.MANAGER),
        "sales_admin": make_user("sales_admin", sales=Role.DEPT_ADMIN),
        "two_departments": make_user("both", hr=Role.MANAGER, sales=Role.AUDITOR),
        "staff": make_user("staff", superuser=True),
    }


@pytest.fixture
def login(client):
    """login(user) -> the test client, logged in as that user."""

    def do(user):
        client.force_login(user)
        return client

    return do


# --- Background work: real Redis, real workers -------------------------------------------------


@pytest.fixture
def media_root(settings, tmp_path):
    """A private MEDIA_ROOT (and engine cache) for one test."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SYNTHESIS_CACHE_DIR = tmp_path / "cache"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT


@pytest.fixture
def clean_queues():
    """Empty the test Redis database (tests run on their own index, see scripts/run_tests.sh)."""
    import django_rq

    connection = django_rq.get_connection("default")
    connection.flushdb()
    yield connection
    connection.flushdb()


@pytest.fixture
def burst_worker(clean_queues):
    """run(*queues): process every queued job in this process with the portal's worker class, then return."""
    import django_rq

    from jobs.worker import PortalWorker

    def run(*queue_names: str) -> None:
        worker = django_rq.get_worker(*(queue_names or ("default",)), worker_class=PortalWorker)
        worker.work(burst=True, with_scheduler=False)

    return run


@pytest.fixture
def worker_env(settings):
    """Environment for a worker subprocess that shares this test's database, Redis and media."""
    import os

    from django.db import connection

    env = dict(os.environ)
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        env["DATABASE_URL"] = f"sqlite:///{db['NAME']}"
    else:
        env["DATABASE_URL"] = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
    env["REDIS_URL"] = settings.REDIS_URL
    env["MEDIA_ROOT"] = str(settings.MEDIA_ROOT)
    env["SYNTHESIS_CACHE_DIR"] = str(settings.SYNTHESIS_CACHE_DIR)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


@pytest.fixture
def worker_process(worker_env):
    """start(*queues, burst=True) -> Popen of a real `manage.py rqworker`; killed at teardown."""
    import contextlib
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    started: list[subprocess.Popen] = []
    root = Path(__file__).resolve().parents[1]

    def start(*queue_names: str, burst: bool = True, extra_env: dict | None = None) -> subprocess.Popen:
        args = [sys.executable, "manage.py", "rqworker", *queue_names]
        if burst:
            args.append("--burst")
        # Its own process group: `--with-scheduler` forks a scheduler child that must die with it.
        proc = subprocess.Popen(args, cwd=root, env={**worker_env, **(extra_env or {})}, start_new_session=True)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
