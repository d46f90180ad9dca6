"""`manage.py seed_demo`: demo departments and one user per role, credentials printed.

Idempotent: running it twice keeps the same users and resets their demo passwords.
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import Department, Membership
from accounts.permissions import Role

DEMO_PASSWORD = "demo-pass-2026"
DEPARTMENTS = [("Human Resources", "hr"), ("Sales", "sales")]
USERS = [
    ("admin", None, None),
    ("hr_admin", "hr", Role.DEPT_ADMIN),
    ("hr_manager", "hr", Role.MANAGER),
    ("hr_voice", "hr", Role.HR),
    ("hr_auditor", "hr", Role.AUDITOR),
    ("sales_manager", "sales", Role.MANAGER),
]


class Command(BaseCommand):
    help = "Create demo departments and users (one per role) and print their credentials."

    @transaction.atomic
    def handle(self, **options):
        User = get_user_model()
        departments = {}
        for name, slug in DEPARTMENTS:
            departments[slug], _ = Department.objects.get_or_create(slug=slug, defaults={"name": name})
        lines = []
        for username, slug, role in USERS:
            user, _ = User.objects.get_or_create(username=username, defaults={"email": f"{username}@example.com"})
            user.set_password(DEMO_PASSWORD)
            if slug is None:
                user.is_staff = user.is_superuser = True
            user.save()
            if slug is not None:
                Membership.objects.update_or_create(user=user, department=departments[slug], defaults={"role": role})
            lines.append(f"  {username:<15} {DEMO_PASSWORD}   {role or 'platform staff'}{' @ ' + slug if slug else ''}")
        # One user in two departments, to show the department switcher.
        Membership.objects.update_or_create(
            user=User.objects.get(username="hr_manager"),
            department=departments["sales"],
            defaults={"role": Role.AUDITOR},
        )
        self.stdout.write("Demo users (username / password / role):")
        self.stdout.write("\n".join(lines))
        self.stdout.write("  (hr_manager is also auditor @ sales)")
