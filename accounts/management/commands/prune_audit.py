"""`manage.py prune_audit`: delete audit events older than AUDIT_RETENTION_DAYS (nothing when it is unset)."""

from django.core.management.base import BaseCommand

from accounts.audit_retention import prune, retention_days


class Command(BaseCommand):
    help = "Delete audit events older than the configured retention period; the pruning is itself audited."

    def handle(self, **options):
        days = retention_days()
        if days is None:
            self.stdout.write("AUDIT_RETENTION_DAYS is not set: audit events are kept forever; nothing pruned.")
            return
        result = prune(days)
        if not result.deleted:
            self.stdout.write(f"No audit events older than {result.cutoff:%Y-%m-%d %H:%M} UTC.")
            return
        self.stdout.write(
            f"Pruned {result.deleted} audit events up to seq {result.anchor.seq}; the chain now starts from its hash."
        )
