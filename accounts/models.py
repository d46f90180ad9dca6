"""Departments (the tenants), memberships with roles, and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.permissions import Role
from accounts.tenancy import DepartmentOwned

GIB = 1024**3


class Department(models.Model):
    name = models.CharField(_("name"), max_length=120, unique=True)
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    active = models.BooleanField(_("active"), default=True)
    storage_quota_bytes = models.BigIntegerField(_("storage quota (bytes)"), default=50 * GIB)
    max_concurrent_items = models.PositiveIntegerField(_("concurrent running items"), default=2)
    monthly_output_minutes = models.PositiveIntegerField(_("output minutes per month"), default=600)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(DepartmentOwned):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["department__name", "user__username"]
        constraints = [models.UniqueConstraint(fields=["user", "department"], name="one_membership_per_department")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.department} ({self.get_role_display()})"


def _hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def usable(self):
        now = timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class ApiToken(models.Model):
    """A personal API token. Only its SHA-256 is stored; the key is shown once at creation."""

    PREFIX = "lsp_"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    key_hint = models.CharField(max_length=12, editable=False, help_text="first characters, to recognise it")
    read_only = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.key_hint}… ({self.user})"

    @classmethod
    def issue(cls, user, name: str = "", days: int | None = 90, read_only: bool = False) -> tuple[ApiToken, str]:
        """Create a token; returns (row, plaintext key). The key cannot be recovered later."""
        key = cls.PREFIX + secrets.token_urlsafe(32)
        token = cls.objects.create(
            user=user,
            name=name,
            key_hash=_hash_key(key),
            key_hint=key[:10],
            read_only=read_only,
            expires_at=timezone.now() + timedelta(days=days) if days else None,
        )
        return token, key

    @classmethod
    def find(cls, key: str) -> ApiToken | None:
        return cls.objects.usable().select_related("user").filter(key_hash=_hash_key(key)).first()

    def revoke(self) -> None:
        self.revoked_at = timezone.now()
        self.save(update_fields=["revoked_at"])


# The audit trail's rows live in their own module; importing them here registers them with the app.
from accounts.audit_models import AuditAnchor, AuditEvent  # noqa: E402, F401
