"""The single entry point for recording who did what, and the one list of action names.

Every domain action calls `record(...)` exactly once, inside the transaction of the change, so the event and the
change commit or roll back together. Events are append-only rows chained by SHA-256 (accounts.audit_chain).
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from portal.request_context import current_request_id

logger = logging.getLogger("audit")

USER_AGENT_MAX = 300


class AuditAction(models.TextChoices):
    """Every action the portal records (the timeline's filter offers these)."""

    LOGIN = "auth.login", _("Login")
    LOGIN_FAILED = "auth.login_failed", _("Failed login")
    LOGOUT = "auth.logout", _("Logout")
    PERMISSION_DENIED = "permission.denied", _("Permission denied")
    PRESENTER_UPLOAD = "presenter.upload", _("Presenter uploaded")
    PRESENTER_EDIT = "presenter.edit", _("Presenter edited")
    PRESENTER_ARCHIVE = "presenter.archive", _("Presenter archived")
    PRESENTER_DELETE = "presenter.delete", _("Presenter deleted")
    AUDIO_UPLOAD = "audio.upload", _("Audio uploaded")
    AUDIO_TTS = "audio.tts", _("Audio synthesised (text to speech)")
    AUDIO_EDIT = "audio.edit", _("Audio edited")
    AUDIO_ARCHIVE = "audio.archive", _("Audio archived")
    AUDIO_DELETE = "audio.delete", _("Audio deleted")
    MEDIA_DOWNLOAD = "media.download", _("Media file downloaded")
    JOB_CREATE = "job.create", _("Batch launched")
    JOB_DUPLICATE = "job.duplicate", _("Batch duplicated")
    JOB_CANCEL = "job.cancel", _("Batch canceled")
    JOB_RETRY = "job.retry", _("Batch retried")
    JOB_DOWNLOAD_ZIP = "job.download_zip", _("Batch ZIP downloaded")
    ITEM_DOWNLOAD = "item.download", _("Video downloaded")
    MEMBER_ADD = "member.add", _("Member added")
    MEMBER_REMOVE = "member.remove", _("Member removed")
    MEMBER_ROLE_CHANGE = "member.role_change", _("Member role changed")
    API_TOKEN_CREATE = "api_token.create", _("API token created")
    API_TOKEN_REVOKE = "api_token.revoke", _("API token revoked")
    WEBHOOK_CREATE = "webhook.create", _("Webhook created")
    WEBHOOK_EDIT = "webhook.edit", _("Webhook edited")
    WEBHOOK_TEST = "webhook.test", _("Webhook tested")
    WEBHOOK_DELETE = "webhook.delete", _("Webhook deleted")
    AUDIT_EXPORT = "audit.export", _("Audit trail exported")
    AUDIT_PRUNE = "audit.prune", _("Audit trail pruned")


def _trusted_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(net, strict=False) for net in getattr(settings, "TRUSTED_PROXIES", [])]


def _parse_ip(value: str):
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def client_ip(request) -> str | None:
    """REMOTE_ADDR; X-Forwarded-For is believed only hop by hop from settings.TRUSTED_PROXIES."""
    address = _parse_ip(request.META.get("REMOTE_ADDR", ""))
    trusted = _trusted_networks()
    if address is not None and any(address in net for net in trusted):
        for hop in reversed(request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")):
            parsed = _parse_ip(hop)
            if parsed is None:
                break
            address = parsed
            if not any(parsed in net for net in trusted):
                break
    return str(address) if address is not None else None


def user_department(user):
    """The department a user-level event (login, API token) is filed under: the user's first department
    (the one the session starts in); none for platform staff or users without a membership."""
    if user is None or user.is_superuser:
        return None
    from accounts.departments import departments_of

    return departments_of(user).first()


def record(
    action: str,
    *,
    actor=None,
    department=None,
    obj: Any = None,
    request=None,
    details: dict | None = None,
):
    """Append one audit event (dotted action names, see AuditAction) and return it.

    `department` defaults to the object's department, then to the actor's (`user_department`); request id, IP
    and user agent come from `request` (the request id from the request context when no request is passed).
    """
    from accounts.audit_chain import append
    from accounts.audit_models import AuditEvent

    if action not in AuditAction.values:
        logger.warning("audit action %r is not listed in accounts.audit.AuditAction", action)
    user = actor if getattr(actor, "is_authenticated", False) else None
    if department is None:  # the object's department, else the actor's (user-level events: login, API tokens)
        department = getattr(obj, "department", None) if obj is not None else None
        department = department or user_department(user)
    request_id = getattr(request, "request_id", "") or current_request_id()
    event = AuditEvent(
        actor=user,
        actor_username=user.get_username() if user else "",
        department_id=getattr(department, "pk", None),
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None and obj.pk is not None else "",
        object_repr=str(obj)[:200] if obj is not None else "",
        request_id="" if request_id == "-" else request_id[:64],
        ip=client_ip(request) if request is not None else None,
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_MAX] if request is not None else "",
        details=details or {},
    )
    append(event)
    logger.info(
        "audit %s seq=%s actor=%s department=%s object=%s:%s",
        action,
        event.seq,
        event.actor_username or "-",
        event.department_id or "-",
        event.object_type or "-",
        event.object_id or "-",
    )
    return event
