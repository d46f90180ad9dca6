"""Issuing and revoking API tokens with their audit event: the one place every front end (CLI, tokens page,
API) should call, so each token action is recorded exactly once, the same way."""

from __future__ import annotations

from django.db import transaction

from accounts import audit
from accounts.models import ApiToken


def issue_token(
    user, *, name: str = "", days: int | None = 90, read_only: bool = False, actor=None, request=None, via: str = "web"
) -> tuple[ApiToken, str]:
    """Create a token for `user` (by `actor`, default the user); returns (row, key): the key is shown once."""
    with transaction.atomic():
        token, key = ApiToken.issue(user, name=name, days=days, read_only=read_only)
        audit.record(
            audit.AuditAction.API_TOKEN_CREATE,
            actor=actor or user,
            obj=token,
            request=request,
            details={"via": via, "name": name, "read_only": read_only, "owner": user.get_username()},
        )
    return token, key


def revoke_token(token: ApiToken, *, actor=None, request=None, via: str = "web") -> None:
    """Revoke a token (by `actor`, default its owner)."""
    with transaction.atomic():
        token.revoke()
        audit.record(
            audit.AuditAction.API_TOKEN_REVOKE,
            actor=actor or token.user,
            obj=token,
            request=request,
            details={"via": via, "name": token.name, "owner": token.user.get_username()},
        )
