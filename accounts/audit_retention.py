"""Retention: events are kept forever unless settings.AUDIT_RETENTION_DAYS is set; pruning is itself audited.

Pruning deletes the oldest events (a prefix of the chain: times only grow along it), stores the last pruned
event's position and hash as an `AuditAnchor` so verification starts there, and appends an `audit.prune` event
that vouches for the anchor. On PostgreSQL the append-only trigger lets the DELETE through only because this
transaction sets `audit.allow_prune` locally.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connections, router, transaction
from django.utils import timezone

from accounts import audit
from accounts.audit_chain import lock_chain
from accounts.audit_models import AuditAnchor, AuditEvent


@dataclass(frozen=True)
class PruneResult:
    cutoff: datetime
    deleted: int
    anchor: AuditAnchor | None


def retention_days() -> int | None:
    days = getattr(settings, "AUDIT_RETENTION_DAYS", None)
    return days if days and days > 0 else None


def prune(days: int, *, now: datetime | None = None) -> PruneResult:
    """Delete events older than `days`; re-anchor the chain and record the pruning, all in one transaction."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=days)
    using = router.db_for_write(AuditEvent)
    connection = connections[using]
    with transaction.atomic(using=using):
        lock_chain(using)
        last = AuditEvent.objects.using(using).filter(created_at__lt=cutoff).order_by("-seq").first()
        if last is None:
            return PruneResult(cutoff, 0, None)
        count = AuditEvent.objects.using(using).filter(seq__lte=last.seq).count()
        anchor = AuditAnchor(
            seq=last.seq, hash=last.hash, pruned_through=last.created_at, pruned_count=count, created_at=now
        )
        anchor.save(using=using)
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SET LOCAL audit.allow_prune = 'on'")
            table = connection.ops.quote_name(AuditEvent._meta.db_table)
            cursor.execute(f"DELETE FROM {table} WHERE seq <= %s", [last.seq])
            if connection.vendor == "postgresql":
                cursor.execute("SET LOCAL audit.allow_prune = 'off'")
        audit.record(
            audit.AuditAction.AUDIT_PRUNE,
            details={
                "retention_days": days,
                "cutoff": cutoff.isoformat(),
                "deleted": count,
                "anchor_seq": anchor.seq,
                "anchor_hash": anchor.hash,
                "pruned_through": last.created_at.isoformat(),
            },
        )
    return PruneResult(cutoff, count, anchor)
