"""`manage.py verify_audit`: walk the audit hash chain; name the first broken event and exit non-zero."""

from django.core.management.base import BaseCommand, CommandError

from accounts.audit_chain import verify


class Command(BaseCommand):
    help = "Verify the audit trail's hash chain (edited, deleted, inserted or forked events)."

    def handle(self, **options):
        report = verify()
        if not report.ok:
            raise CommandError(f"Audit chain BROKEN at {report.broken} after {report.checked} good events.")
        self.stdout.write(f"Audit chain OK: {report.checked} events verified from seq {report.start_seq}.")
