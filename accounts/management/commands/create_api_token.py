"""`manage.py create_api_token USERNAME`: print a new API token (shown once, stored hashed)."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts.tokens import issue_token


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
        _token, key = issue_token(user, name=name, days=days or None, read_only=read_only, via="cli")
        self.stdout.write(key)
