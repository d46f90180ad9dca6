"""Helpers for the audit tests: events by action, and raw SQL behind the application's back."""

from __future__ import annotations

import pytest
from django.db import connection

from accounts.audit_models import AuditEvent

TABLE = AuditEvent._meta.db_table


def on_postgresql() -> bool:
    return connection.vendor == "postgresql"


@pytest.fixture
def events():
    """events(action) -> the events recorded with that action, oldest first."""

    def get(action: str) -> list[AuditEvent]:
        return list(AuditEvent.objects.filter(action=action).order_by("seq"))

    return get


@pytest.fixture
def tamper():
    """tamper(sql, params): run raw SQL on the audit table as an intruder with database access would.

    On PostgreSQL the append-only trigger is disabled first (the tests connect as the superuser; the DDL is
    rolled back with the test's transaction)."""

    def run(sql: str, params=()) -> None:
        with connection.cursor() as cursor:
            if on_postgresql():
                cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER accounts_auditevent_append_only")
            cursor.execute(sql.replace("{table}", TABLE), params)
            if on_postgresql():
                cursor.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER accounts_auditevent_append_only")

    return run


# Ready media rows (real generated files) from the jobs tests, for batches and downloads.
from tests.jobs.conftest import make_audio, make_presenter, media_set  # noqa: E402, F401


@pytest.fixture
def one_event():
    """one_event(action, actor=..., department=..., obj=...) -> the single event of that action, checked."""

    def check(action: str, *, actor, department, obj=None) -> AuditEvent:
        found = list(AuditEvent.objects.filter(action=action))
        assert len(found) == 1, f"{action}: {len(found)} events, expected exactly one"
        event = found[0]
        assert event.actor_id == (actor.pk if actor else None), action
        assert event.actor_username == (actor.get_username() if actor else ""), action
        assert event.department_id == (department.pk if department else None), action
        if obj is not None:
            assert (event.object_type, event.object_id) == (obj._meta.label_lower, str(obj.pk)), action
            assert event.object_repr, action
        return event

    return check
