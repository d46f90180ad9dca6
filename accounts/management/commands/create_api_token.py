"""`manage.py create_api_token USERNAME`: print a new API token (shown once, stored hashed)."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts import audit
from accounts.models import ApiToken


class Command(BaseCommand):
    help = "Create an API token for a user and print it once."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="cli")
        parser.add_argument("--days", type=int, default=90, help="expiry in days (0 = never)")
        parser.add_argument("--read-only", action="store_true")

    def handle(self, username, name, days, read_only, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        with transaction.atomic():
            token, key = ApiToken.issue(user, name=name, days=days or None, read_only=read_only)
            audit.record("api_token.create", actor=user, obj=token, details={"via": "cli", "read_only": read_only})
        self.stdout.write(key)
