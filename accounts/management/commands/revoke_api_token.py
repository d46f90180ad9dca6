"""`manage.py revoke_api_token KEY_HINT`: revoke a token by the hint shown when it was created (audited)."""

from django.core.management.base import BaseCommand, CommandError

from accounts.models import ApiToken
from accounts.tokens import revoke_token


class Command(BaseCommand):
    help = "Revoke an API token, found by its key hint (the first characters of the key)."

    def add_arguments(self, parser):
        parser.add_argument("key_hint")

    def handle(self, key_hint, **options):
        tokens = list(ApiToken.objects.usable().select_related("user").filter(key_hint=key_hint[:10]))
        if len(tokens) != 1:
            raise CommandError(f"{len(tokens)} usable tokens match {key_hint!r}; expected exactly one.")
        revoke_token(tokens[0], via="cli")
        self.stdout.write(f"Revoked {tokens[0]}.")
