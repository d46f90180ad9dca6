"""Append-only and tamper-evident: the model and the PostgreSQL trigger refuse changes, and verify_audit finds
every kind of tampering done behind the application's back (raw SQL)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from accounts import audit
from accounts.audit_chain import (
    ANCHOR_FORGED,
    CHAIN_FORK,
    CONTENT_EDITED,
    EVENT_DELETED,
    EVENT_INSERTED,
    compute_hash,
    verify,
)
from accounts.audit_models import AppendOnlyError, AuditAnchor, AuditEvent
from tests.audit.conftest import on_postgresql

pytestmark = pytest.mark.django_db

COLUMNS = [
    "seq", "created_at", "actor_username", "department_id", "action", "object_type", "object_id", "object_repr",
    "request_id", "ip", "user_agent", "details", "prev_hash", "hash",
]


def make_chain(n: int = 5, department=None) -> list[AuditEvent]:
    return [
        audit.record("job.create", department=department, details={"n": i, "ratio": 0.1, "big": 1e20, "text": "é"})
        for i in range(n)
    ]


def forge(tamper, *, seq: int, prev_hash: str, created_at, valid_hash: bool = True, action="job.create") -> int:
    """Insert an event with raw SQL, hashed correctly when `valid_hash` (an intruder who knows the scheme)."""
    event = AuditEvent(
        seq=seq, created_at=created_at, actor_username="intruder", action=action, details={"forged": True},
        prev_hash=prev_hash,
    )
    event.hash = compute_hash(event) if valid_hash else "f" * 64
    values = [getattr(event, c) for c in COLUMNS]
    values[COLUMNS.index("details")] = json.dumps(event.details)
    placeholders = ", ".join(["%s"] * len(COLUMNS))
    tamper(f"INSERT INTO {{table}} ({', '.join(COLUMNS)}) VALUES ({placeholders})", values)
    return AuditEvent.objects.get(seq=seq).pk


def broken():
    report = verify()
    assert not report.ok, "tampering went unnoticed"
    return report.broken


def test_an_intact_chain_verifies(departments, capsys):
    events = make_chain(5, departments["hr"])
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert events[0].prev_hash == "0" * 64
    assert all(b.prev_hash == a.hash for a, b in zip(events, events[1:], strict=False))
    report = verify()
    assert report.ok and report.checked == 5
    call_command("verify_audit")
    assert "OK: 5 events" in capsys.readouterr().out


def test_editing_an_event_is_detected_and_named(tamper):
    events = make_chain()
    tamper("UPDATE {table} SET details = %s WHERE seq = 3", [json.dumps({"n": 99})])
    found = broken()
    assert (found.event_id, found.seq, found.reason) == (events[2].pk, 3, CONTENT_EDITED)
    with pytest.raises(CommandError) as exc:
        call_command("verify_audit")
    assert exc.value.returncode != 0
    message = str(exc.value)
    assert f"id={events[2].pk}" in message and "seq=3" in message and CONTENT_EDITED in message
    assert events[2].created_at.isoformat() in message


def test_editing_an_event_and_recomputing_its_hash_is_detected(tamper):
    events = make_chain()
    forged = AuditEvent.objects.get(seq=3)
    forged.actor_username = "someone-else"
    tamper("UPDATE {table} SET actor_username = %s, hash = %s WHERE seq = 3", ["someone-else", compute_hash(forged)])
    found = broken()
    assert (found.event_id, found.reason) == (events[2].pk, CONTENT_EDITED)


def test_deleting_an_event_is_detected(tamper):
    events = make_chain()
    tamper("DELETE FROM {table} WHERE seq = 3")
    found = broken()
    assert (found.event_id, found.seq, found.reason) == (events[3].pk, 4, EVENT_DELETED)
    assert "seq 3 missing" in found.explanation


def test_deleting_several_events_is_detected(tamper):
    events = make_chain(6)
    tamper("DELETE FROM {table} WHERE seq IN (2, 3, 4)")
    found = broken()
    assert (found.event_id, found.reason) == (events[4].pk, EVENT_DELETED)
    assert "2..4" in found.explanation


def test_an_event_wedged_into_history_is_detected(tamper):
    """The intruder renumbers the later events and inserts a correctly hashed event in the gap."""
    events = make_chain()
    tamper("UPDATE {table} SET seq = seq + 1000 WHERE seq > 3")
    tamper("UPDATE {table} SET seq = seq - 999 WHERE seq > 1000")
    forged_id = forge(tamper, seq=4, prev_hash=events[2].hash, created_at=events[2].created_at)
    found = broken()
    assert (found.event_id, found.seq, found.reason) == (forged_id, 4, EVENT_INSERTED)


def test_a_forged_event_with_a_made_up_hash_is_detected(tamper):
    events = make_chain()
    forged_id = forge(tamper, seq=6, prev_hash=events[-1].hash, created_at=timezone.now(), valid_hash=False)
    assert broken().event_id == forged_id


def test_a_backdated_event_appended_at_the_end_is_detected(tamper):
    events = make_chain()
    forged_id = forge(tamper, seq=6, prev_hash=events[-1].hash, created_at=events[0].created_at - timedelta(days=3))
    found = broken()
    assert (found.event_id, found.reason) == (forged_id, EVENT_INSERTED)


def test_a_second_branch_from_an_old_event_is_a_fork(tamper):
    events = make_chain()
    forged_id = forge(tamper, seq=6, prev_hash=events[1].hash, created_at=timezone.now())
    found = broken()
    assert (found.event_id, found.reason) == (forged_id, CHAIN_FORK)


# ------------------------------------------------------------------------------------------------ append-only
def test_the_model_refuses_updates_and_deletes():
    event = make_chain(1)[0]
    event.action = "job.cancel"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(action="job.cancel")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.bulk_update([event], ["action"])
    assert AuditEvent.objects.get().action == "job.create"
    assert verify().ok


@pytest.mark.skipif(not on_postgresql(), reason="the append-only trigger exists on PostgreSQL only; SQLite relies "
                    "on the model refusing changes (tested above)")
def test_the_postgresql_trigger_rejects_update_and_delete():
    make_chain(2)
    for sql in (
        "UPDATE accounts_auditevent SET action = 'job.cancel'",
        "UPDATE accounts_auditevent SET actor_username = 'x', actor_id = NULL",
        "DELETE FROM accounts_auditevent",
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    AuditAnchor(seq=1, hash="a" * 64, pruned_through=timezone.now(), pruned_count=1, created_at=timezone.now()).save()
    for sql in ("UPDATE accounts_auditanchor SET hash = 'b'", "DELETE FROM accounts_auditanchor"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    assert AuditEvent.objects.filter(action="job.create").count() == 2


def test_deleting_a_user_keeps_their_events_readable_and_the_chain_intact(users):
    """ON DELETE SET NULL clears only the actor link (the trigger allows exactly that); the copied username stays."""
    user = users["hr"]
    event = audit.record("job.create", actor=user)
    user.delete()
    event = AuditEvent.objects.get(pk=event.pk)
    assert event.actor_id is None and event.actor_username == "hr_voice"
    assert verify().ok


# ------------------------------------------------------------------------------------------------ retention
def _record_at(monkeypatch, when, n: int) -> list[AuditEvent]:
    monkeypatch.setattr(timezone, "now", lambda: when)
    try:
        return make_chain(n)
    finally:
        monkeypatch.undo()


def test_prune_does_nothing_unless_a_retention_period_is_configured(settings, monkeypatch, capsys):
    settings.AUDIT_RETENTION_DAYS = None
    _record_at(monkeypatch, timezone.now() - timedelta(days=5000), 3)
    call_command("prune_audit")
    assert "kept forever" in capsys.readouterr().out
    assert AuditEvent.objects.count() == 3 and not AuditAnchor.objects.exists()


def test_prune_deletes_old_events_reanchors_the_chain_and_is_audited(settings, monkeypatch, capsys, tamper):
    settings.AUDIT_RETENTION_DAYS = 30
    old = _record_at(monkeypatch, timezone.now() - timedelta(days=40), 3)
    recent = make_chain(2)
    call_command("prune_audit")
    assert "Pruned 3 audit events" in capsys.readouterr().out
    assert list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True)) == [4, 5, 6]
    anchor = AuditAnchor.objects.get()
    assert (anchor.seq, anchor.hash, anchor.pruned_count) == (3, old[-1].hash, 3)
    prune_event = AuditEvent.objects.get(action="audit.prune")
    assert prune_event.details["deleted"] == 3 and prune_event.details["anchor_hash"] == old[-1].hash
    assert prune_event.prev_hash == recent[-1].hash
    report = verify()
    assert report.ok and report.checked == 3 and report.start_seq == 4
    call_command("verify_audit")

    call_command("prune_audit")  # nothing older than 30 days is left
    assert "No audit events older" in capsys.readouterr().out
    if on_postgresql():  # the trigger's exception lasted only for the pruning transaction
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM accounts_auditevent")

    tamper("DELETE FROM {table} WHERE seq = 4")  # the chain after the anchor is still protected
    found = broken()
    assert (found.seq, found.reason) == (5, EVENT_DELETED)


def test_a_forged_anchor_is_detected(settings, monkeypatch, tamper):
    """Deleting the oldest events and planting an anchor to hide it: no audit.prune event vouches for it."""
    events = make_chain(4)
    tamper("DELETE FROM {table} WHERE seq <= 2")
    AuditAnchor(seq=2, hash=events[1].hash, pruned_through=events[1].created_at, pruned_count=2,
                created_at=timezone.now()).save()
    found = broken()
    assert (found.seq, found.reason) == (2, ANCHOR_FORGED)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not on_postgresql(), reason="concurrent appends from threads need PostgreSQL's advisory lock; "
                    "SQLite aborts a deferred transaction that cannot upgrade its lock instead of waiting")
def test_concurrent_appends_form_one_chain(departments):
    import threading

    from django.db import connections

    errors: list[BaseException] = []

    def work():
        try:
            for _ in range(10):
                with transaction.atomic():
                    audit.record("job.create", department=departments["hr"])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert AuditEvent.objects.count() == 40
    assert verify().ok
