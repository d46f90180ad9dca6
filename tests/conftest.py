"""Shared fixtures: departments, one user per role, and the cross-department 404 helper."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from accounts.models import Department, Membership
from accounts.permissions import Role

PASSWORD = "test-pass-123"


@pytest.fixture
def departments(db) -> dict[str, Department]:
    return {
        "hr": Department.objects.create(name="Human Resources", slug="hr"),
        "sales": Department.objects.create(name="Sales", slug="sales"),
    }


@pytest.fixture
def make_user(db):
    """make_user("name", hr="manager", sales="auditor") -> a user with those memberships."""

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


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """PBKDF2 makes every user fixture cost a second; tests do not need real key stretching."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
