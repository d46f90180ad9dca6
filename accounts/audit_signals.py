"""Login, failed login and logout reach the audit trail through Django's auth signals (the auth views are
Django's own, so there is no view of ours to put the call in)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from accounts.audit import AuditAction, record, user_department


@receiver(user_logged_in, dispatch_uid="audit_login")
def audit_login(sender, request, user, **kwargs) -> None:
    record(AuditAction.LOGIN, actor=user, request=request)


@receiver(user_login_failed, dispatch_uid="audit_login_failed")
def audit_login_failed(sender, credentials, request=None, **kwargs) -> None:
    """The attempted username goes into details (it may not exist); the event is filed under that user's
    department when it does, so its auditors see attempts on their accounts."""
    username = str(credentials.get(get_user_model().USERNAME_FIELD) or credentials.get("username") or "")[:150]
    target = get_user_model()._default_manager.filter(**{get_user_model().USERNAME_FIELD: username}).first()
    record(
        AuditAction.LOGIN_FAILED,
        department=user_department(target),
        request=request,
        details={"username": username},
    )


@receiver(user_logged_out, dispatch_uid="audit_logout")
def audit_logout(sender, request, user, **kwargs) -> None:
    if user is not None:
        record(AuditAction.LOGOUT, actor=user, request=request)
