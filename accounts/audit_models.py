"""The audit trail's rows: append-only events chained by SHA-256, and the anchors pruning leaves behind.

Rows are written only by `accounts.audit.record` (through `accounts.audit_chain.append`). The model and
queryset refuse updates and deletes; on PostgreSQL a trigger (migration 0002) refuses them in the database too.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.tenancy import DepartmentOwned, DepartmentQuerySet


class AppendOnlyError(Exception):
    """Audit rows are never changed or deleted by the application (only `prune_audit` deletes, in SQL)."""


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("audit events cannot be updated")

    def delete(self):
        raise AppendOnlyError("audit events cannot be deleted")

    def bulk_update(self, objs, fields, batch_size=None):
        raise AppendOnlyError("audit events cannot be updated")


class AuditEventQuerySet(AppendOnlyQuerySet, DepartmentQuerySet):
    """Append-only, and scoped with the one tenancy rule (`for_user`)."""


class AppendOnlyModel(models.Model):
    """save() only inserts; delete() refuses."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError(f"{type(self).__name__} rows cannot be updated")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(f"{type(self).__name__} rows cannot be deleted")


class AuditEvent(AppendOnlyModel, DepartmentOwned):
    """One thing someone did. Copies (username, object repr, details) keep it readable after the subject is gone.

    `seq` is the position in the chain (contiguous, so a deleted event leaves a visible gap); `hash` covers every
    field shown to auditors plus `prev_hash` (see accounts.audit_chain). The foreign keys carry no database
    constraint: inserting an event must not take locks on user or department rows that a concurrent transaction
    may hold while it waits for the chain lock. `actor` may be cleared when a user is deleted (the copied username
    stays, and it is what the hash covers).
    """

    seq = models.PositiveBigIntegerField(unique=True, editable=False)
    created_at = models.DateTimeField(db_index=True, editable=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        db_constraint=False,
        related_name="+",
    )
    actor_username = models.CharField(max_length=150, blank=True, db_index=True)
    department = models.ForeignKey(
        "accounts.Department",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        db_constraint=False,
        related_name="+",
    )
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=100, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    request_id = models.CharField(max_length=64, blank=True, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    details = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64, editable=False)
    hash = models.CharField(max_length=64, unique=True, editable=False)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-seq"]
        indexes = [models.Index(fields=["object_type", "object_id"]), models.Index(fields=["department", "seq"])]
        verbose_name = _("audit event")

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} by {self.actor_username or '-'}"


class AuditAnchor(AppendOnlyModel):
    """Where the chain starts after pruning: the position and hash of the last pruned event."""

    seq = models.PositiveBigIntegerField(unique=True, help_text="seq of the last pruned event")
    hash = models.CharField(max_length=64, help_text="hash of the last pruned event")
    pruned_through = models.DateTimeField(help_text="time of the last pruned event")
    pruned_count = models.PositiveBigIntegerField()
    created_at = models.DateTimeField()

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-seq"]

    def __str__(self) -> str:
        return f"anchor at seq {self.seq}"
