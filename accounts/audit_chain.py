"""The hash chain: how an event is hashed, how appends are serialised, and how the chain is verified.

Each event stores SHA-256 over a canonical JSON of its content (everything auditors see) plus the previous
event's hash, and a contiguous `seq`. Editing a row breaks its hash; deleting one leaves a gap in `seq` and a
dangling link; a row written behind the application's back either fails its hash, links to an event that already
has a successor, or sits out of time order. (An attacker who can write the table *and* recompute SHA-256 could
re-forge the newest events; nothing without a secret or an external copy of the head hash can prevent that.)
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections, router, transaction
from django.utils import timezone

from accounts.audit_models import AuditAnchor, AuditEvent

GENESIS_HASH = "0" * 64
#: pg_advisory_xact_lock key serialising chain appends ("audit" in ASCII)
CHAIN_LOCK_KEY = 0x6175646974

CONTENT_EDITED = "content edited"
EVENT_DELETED = "event deleted"
EVENT_INSERTED = "event inserted"
CHAIN_FORK = "chain fork"
ANCHOR_FORGED = "anchor forged"


# --------------------------------------------------------------------------------------------- hashing
def _timestamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _integral_floats_to_int(value: Any) -> Any:
    """PostgreSQL's jsonb gives 1.0e20 back as an integer: normalise before hashing so both sides agree."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _integral_floats_to_int(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral_floats_to_int(v) for v in value]
    return value


def normalise_details(details: dict | None) -> dict:
    """Details exactly as they will read back from the database (plain JSON types)."""
    return _integral_floats_to_int(json.loads(json.dumps(details or {}, cls=DjangoJSONEncoder)))


def content(event: AuditEvent) -> dict:
    """What the hash covers. The actor link is left out on purpose: deleting a user clears it (the copied
    username stays and is covered)."""
    return {
        "seq": event.seq,
        "created_at": _timestamp(event.created_at),
        "actor": event.actor_username,
        "department": event.department_id,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "object_repr": event.object_repr,
        "request_id": event.request_id,
        "ip": event.ip or "",
        "user_agent": event.user_agent,
        "details": event.details,
        "prev_hash": event.prev_hash,
    }


def compute_hash(event: AuditEvent) -> str:
    canonical = json.dumps(content(event), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------------------------- appending
@dataclass(frozen=True)
class Head:
    seq: int
    hash: str
    created_at: datetime | None


def lock_chain(using: str) -> None:
    """Serialise appends until the surrounding transaction ends (SQLite serialises writers by itself)."""
    connection = connections[using]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])


def chain_head(using: str) -> Head:
    """The newest event, else the anchor pruning left, else the genesis."""
    last = AuditEvent.objects.using(using).order_by("-seq").only("seq", "hash", "created_at").first()
    if last is not None:
        return Head(last.seq, last.hash, last.created_at)
    anchor = AuditAnchor.objects.using(using).order_by("-seq").first()
    if anchor is not None:
        return Head(anchor.seq, anchor.hash, anchor.pruned_through)
    return Head(0, GENESIS_HASH, None)


def append(event: AuditEvent) -> AuditEvent:
    """Link `event` to the head of the chain and insert it, inside the caller's transaction."""
    using = router.db_for_write(AuditEvent)
    with transaction.atomic(using=using):
        lock_chain(using)
        head = chain_head(using)
        now = timezone.now()
        # Time never runs backwards along the chain (a clock step back must not look like an insertion).
        event.created_at = max(now, head.created_at) if head.created_at else now
        event.seq = head.seq + 1
        event.prev_hash = head.hash
        event.details = normalise_details(event.details)
        event.hash = compute_hash(event)
        event.save(using=using)
    return event


# --------------------------------------------------------------------------------------------- verifying
@dataclass(frozen=True)
class Break:
    """The first event (or anchor) where the chain is broken, and why."""

    event_id: int | None
    seq: int
    created_at: datetime | None
    reason: str
    explanation: str

    def __str__(self) -> str:
        when = self.created_at.isoformat() if self.created_at else "-"
        what = f"event id={self.event_id}" if self.event_id is not None else "anchor"
        return f"{what} seq={self.seq} time={when}: {self.reason} ({self.explanation})"


@dataclass(frozen=True)
class Report:
    checked: int
    start_seq: int
    broken: Break | None

    @property
    def ok(self) -> bool:
        return self.broken is None


def _break(event, reason: str, explanation: str) -> Break:
    return Break(event.pk, event.seq, event.created_at, reason, explanation)


def _link_break(event: AuditEvent, expected_seq: int, prev: AuditEvent | None, using: str) -> Break:
    """`event` does not link to the event before it: find out what happened."""
    linked = AuditEvent.objects.using(using).filter(hash=event.prev_hash, seq__lt=event.seq).first()
    if linked is not None:  # it follows an older event, which already has a successor
        successor = AuditEvent.objects.using(using).filter(seq=linked.seq + 1).first()
        if successor is not None and successor.pk != event.pk and successor.pk > event.pk:
            return _break(
                successor,
                EVENT_INSERTED,
                f"written after event id={event.pk} yet placed before it; both claim to follow seq {linked.seq}",
            )
        return _break(event, CHAIN_FORK, f"follows seq {linked.seq}, which seq {linked.seq + 1} already follows")
    if event.seq > expected_seq:
        missing = f"{expected_seq}" if event.seq == expected_seq + 1 else f"{expected_seq}..{event.seq - 1}"
        return _break(event, EVENT_DELETED, f"seq {missing} missing before this event")
    if prev is not None:
        return _break(prev, CONTENT_EDITED, "its hash was recomputed; the next event still links to the original")
    return _break(event, EVENT_DELETED, "the first event does not link to the chain's start (genesis or anchor)")


def _content_break(event: AuditEvent, using: str) -> Break:
    """The row's hash does not match its content: an edited row, or a forged one wedged in before a real one."""
    twin = AuditEvent.objects.using(using).filter(prev_hash=event.prev_hash, pk__lt=event.pk)
    if twin.exists():
        return _break(event, EVENT_INSERTED, "an older event already follows the same predecessor")
    return _break(event, CONTENT_EDITED, "stored content does not match its hash")


def _check_anchor(anchor: AuditAnchor, using: str) -> Break | None:
    """The newest anchor must be vouched for by the `audit.prune` event that pruning appends right after it."""
    prunes = AuditEvent.objects.using(using).filter(action="audit.prune", seq__gt=anchor.seq).order_by("seq")
    for prune in prunes.iterator():
        if prune.details.get("anchor_seq") == anchor.seq and prune.details.get("anchor_hash") == anchor.hash:
            return None
    return Break(None, anchor.seq, anchor.created_at, ANCHOR_FORGED, "no audit.prune event vouches for this anchor")


def verify(using: str = "default") -> Report:
    """Walk the whole chain in order; stop at the first broken event."""
    anchor = AuditAnchor.objects.using(using).order_by("-seq").first()
    start_seq = anchor.seq + 1 if anchor else 1
    expected_seq, expected_prev = start_seq, anchor.hash if anchor else GENESIS_HASH
    prev: AuditEvent | None = None
    checked = 0
    for event in AuditEvent.objects.using(using).order_by("seq").iterator(chunk_size=2000):
        if event.seq < expected_seq:
            return Report(checked, start_seq, _break(event, EVENT_INSERTED, "placed before the chain's anchor"))
        if event.prev_hash != expected_prev:
            return Report(checked, start_seq, _link_break(event, expected_seq, prev, using))
        if compute_hash(event) != event.hash:
            return Report(checked, start_seq, _content_break(event, using))
        if event.seq != expected_seq:
            return Report(checked, start_seq, _break(event, EVENT_DELETED, f"seq {expected_seq} missing"))
        if prev is not None and event.created_at < prev.created_at:
            return Report(checked, start_seq, _break(event, EVENT_INSERTED, "its time is before the previous event's"))
        prev, expected_seq, expected_prev = event, event.seq + 1, event.hash
        checked += 1
    broken = _check_anchor(anchor, using) if anchor else None
    return Report(checked, start_seq, broken)
